import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GradTrace
@testable import GradTraceRender
import Testing

/// Names a library user can give a `Value` (the language refuses most of them): each goes through
/// every output format, which must stay well-formed, carry no markup of the name's, and keep
/// the name readable where the format has text.
struct HostileNameTests {
    static let names: [(label: String, name: String)] = [
        ("quotes", #"say "hi" 'there'"#),
        ("backslashes", #"a\b\\c\n\N\G"#),
        ("angle brackets", "<b>bold</b>"),
        ("ampersand", "a & b &amp; &#60;"),
        ("script end", "</script><img src=x onerror=alert(1)>"),
        ("CDATA end", "]]><x/>"),
        ("newlines", "line1\nline2\r\nline3"),
        ("BOM", "\u{FEFF}x"),
        ("right-to-left", "a\u{202E}b\u{2066}c"),
        ("line separators", "a\u{2028}b\u{2029}c"),
        ("100 kB", String(repeating: "W", count: 100_000)),
    ]

    /// y = tanh(name·2 + 1): one hostile input name, one hostile operation name.
    static func diagram(_ name: String, title: String? = nil) throws -> (Diagram, Graph, Trace, NodeID) {
        let tape = Tape()
        let x = tape.input(name, 0.5)
        let y = (x * 2 + 1).tanh().named(name + "·out")
        let trace = y.backward()
        let d = try Diagram(graph: tape.graph, trace: trace, style: RenderStyle(), title: title ?? name)
        return (d, tape.graph, trace, y.id)
    }

    @Test(arguments: names.map(\.label))
    func everyFormatStaysWellFormed(_ label: String) throws {
        let name = try #require(Self.names.first { $0.label == label }?.name)
        let (d, graph, trace, _) = try Self.diagram(name)
        let (benign, _, _, _) = try Self.diagram(String(repeating: "n", count: name.unicodeScalars.count))
        let last = d.stepCount

        // DOT: Graphviz reads it back.
        let dot = d.dot(step: last, pinned: false, summary: true)
        let canon = try Fixtures.run("dot", ["-Tcanon"], input: Data(dot.utf8))
        #expect(canon.status == 0, "\(label): dot -Tcanon failed: \(canon.err.prefix(300))")

        // SVG: an XML parser reads it (Cairo draws text as glyph outlines: no name in it as text).
        let svg = try d.render(step: last, format: .svg, summary: true)
        #expect((try? XMLDocument(data: Data(svg))) != nil, "\(label): SVG is not XML")

        // Animated SVG (text as text): XML, with as many elements as with a plain name.
        let anim = Animation.svg(d, fps: 1)
        let animDoc = try XMLDocument(data: Data(anim))
        let animPlain = try XMLDocument(data: Data(Animation.svg(benign, fps: 1)))
        // Captions wrap by measured width, so a name may take another line: compare all but <text> lines.
        #expect(Self.elementCount(animDoc.rootElement()) - Self.textCount(anim) == Self.elementCount(animPlain.rootElement()) - Self.textCount(Animation.svg(benign, fps: 1)),
                "\(label): animated SVG element count differs")

        // HTML player: the name adds no tag, and no `</script` appears before the player's own.
        let html = String(decoding: Animation.html(d, fps: 1, title: name), as: UTF8.self)
        let htmlPlain = String(decoding: Animation.html(benign, fps: 1, title: String(repeating: "n", count: name.unicodeScalars.count)), as: UTF8.self)
        #expect(html.filter { $0 == "<" }.count - 2 * html.components(separatedBy: "<text").count
                == htmlPlain.filter { $0 == "<" }.count - 2 * htmlPlain.components(separatedBy: "<text").count, "\(label): the HTML player gained markup")
        #expect(html.components(separatedBy: "</script").count == 2, "\(label): a second </script in the page")
        #expect(!html.contains("\u{2028}") || !Self.scriptBody(html).contains("\u{2028}"), "\(label): raw U+2028 inside the script")

        // PNG and PDF: valid signatures and a trailer.
        let png = try d.render(step: last, format: .png(scale: min(1, d.fittingScale(1))), summary: true)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "\(label): PNG signature")
        #expect(Array(png.suffix(8)) == [0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82], "\(label): PNG IEND")
        let pdf = try d.render(step: last, format: .pdf, summary: true)
        #expect(String(decoding: pdf.prefix(5), as: UTF8.self) == "%PDF-", "\(label): PDF header")
        #expect(String(decoding: pdf.suffix(8), as: UTF8.self).contains("%%EOF"), "\(label): PDF trailer")

        // JSON: a JSON parser reads the trace, and the names come back exactly.
        var json = ""
        Report.traceJSON(graph: graph, trace: trace, outputName: name + "·out", to: &json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["nodes"] is [[String: Any]], "\(label): JSON has no nodes")
        #expect(json.contains("\"output\": " + Report.jsonString(name + "·out")), "\(label): JSON output name")
        #expect(json.contains(Report.jsonString(name)), "\(label): JSON lost the input name")
    }

    @Test func scriptSafeJSONStrings() {
        #expect(Report.jsonString("</script>", inScript: true) == #""\u003c/script\u003e""#)
        #expect(Report.jsonString("a&b", inScript: true) == #""a\u0026b""#)
        #expect(Report.jsonString("a\u{2028}b") == #""a\u2028b""#)
        #expect(Report.jsonString("<b>") == #""<b>""#)
    }

    /// The `<text>` elements of an SVG document.
    static func textCount(_ svg: [UInt8]) -> Int { String(decoding: svg, as: UTF8.self).components(separatedBy: "<text").count - 1 }

    static func elementCount(_ e: XMLElement?) -> Int {
        guard let e else { return 0 }
        return 1 + (e.children ?? []).compactMap { $0 as? XMLElement }.map(elementCount).reduce(0, +)
    }

    static func scriptBody(_ html: String) -> String {
        guard let a = html.range(of: "<script>"), let b = html.range(of: "</script>") else { return "" }
        return String(html[a.upperBound..<b.lowerBound])
    }
}
