import Foundation
import GradTrace
@testable import GradTraceRender
import Testing

/// The table is the spec of DOT quoting: every hostile string, what it becomes, and that
/// Graphviz reads it back as the same label.
struct DOTEscapingTests {
    static let table: [(text: String, quoted: String)] = [
        ("plain", #""plain""#),
        (#"say "hi""#, #""say \"hi\"""#),
        (#"back\slash"#, #""back\\slash""#),
        (#"ends with \"#, #""ends with \\""#),
        (#"\N \G \E \L \n"#, #""\\N \\G \\E \\L \\n""#),
        ("two\nlines", #""two\nlines""#),
        ("cr\r\nlf", #""cr\nlf""#),
        ("<html> & tags", #""<html> & tags""#),
        ("∂L/∂w = 1248 · ×²⁻¹ ∇ ≈ ∞ → αβγ", #""∂L/∂w = 1248 · ×²⁻¹ ∇ ≈ ∞ → αβγ""#),
        (#"Loss & "gradient" <demo> \ back"#, #""Loss & \"gradient\" <demo> \\ back""#),
        ("", #""""#),
        ("tab\there", #""tabhere""#),
        ("{}[];=,", #""{}[];=,""#),
    ]

    @Test func quotingTable() {
        for row in Self.table {
            #expect(DOTEscaping.quoted(row.text) == row.quoted, "quoting \(row.text.debugDescription)")
        }
    }

    @Test func identifiers() {
        #expect(DOTEscaping.id("n12") == "n12")
        #expect(DOTEscaping.id("_a") == "_a")
        #expect(DOTEscaping.id("12n") == #""12n""#)
        #expect(DOTEscaping.id("node") == #""node""#)
        #expect(DOTEscaping.id("Graph") == #""Graph""#)
        #expect(DOTEscaping.id("a b") == #""a b""#)
        #expect(DOTEscaping.id("") == #""""#)
    }

    @Test func html() {
        #expect(DOTEscaping.html(#"a < b & "c" > d"#) == "a &lt; b &amp; &quot;c&quot; &gt; d")
    }

    @Test func numbersAreLocaleFree() {
        #expect(DOTEscaping.number(1.5) == "1.5")
        #expect(DOTEscaping.number(-0.001) == "0")
        #expect(DOTEscaping.number(123.456) == "123.46")
        #expect(DOTEscaping.number(2, decimals: 4) == "2")
        #expect(DOTEscaping.number(-7.125, decimals: 2) == "-7.13")
    }

    /// Every hostile label, as node label, edge label and graph title, survives `dot -Tcanon`
    /// and comes back as the same text.
    @Test func graphvizReadsEveryLabelBack() throws {
        var g = DOTGraph(id: "t")
        g.attributes = [DOTAttribute("label", Self.table.map(\.text).joined(separator: " | "))]
        for (k, row) in Self.table.enumerated() {
            g.statements.append(.node("n\(k)", [DOTAttribute("label", row.text)]))
            if k > 0 { g.statements.append(.edge("n\(k - 1)", "n\(k)", [DOTAttribute("label", row.text)])) }
        }
        let r = try Fixtures.run("dot", ["-Tcanon"], input: Data(g.text.utf8))
        #expect(r.status == 0, "dot rejected the DOT: \(r.err)")
        // -Tcanon re-quotes strings the same way (folding long ones with a backslash-newline, and
        // leaving plain identifiers bare), so every label reappears verbatim.
        let canon = String(decoding: r.out, as: UTF8.self).replacingOccurrences(of: "\\\n", with: "")
        for (k, row) in Self.table.enumerated() where !row.text.isEmpty {
            let found = canon.contains("label=\(DOTEscaping.quoted(row.text))") || canon.contains("label=\(row.quoted.dropFirst().dropLast())]")
            #expect(found, "label \(k) \(row.text.debugDescription) did not survive")
        }
    }

    /// Graphviz refuses quoted strings over 16,384 bytes: long ones are split with `+`.
    @Test(arguments: [16 * 1024, 1 << 20])
    func longStringsStayReadable(_ length: Int) throws {
        let text = String(repeating: #"A"\"#, count: length / 3)
        let quoted = DOTEscaping.quoted(text)
        #expect(quoted.contains(#"" + ""#))
        let dot = "digraph { a [label=\(quoted)] }"
        let canon = try Fixtures.run("dot", ["-Tcanon"], input: Data(dot.utf8))
        #expect(canon.status == 0, "dot -Tcanon: \(canon.err.prefix(200))")
        // Read back: the label is the text, whole.
        let xdot = try Fixtures.run("dot", ["-Tjson0"], input: Data(dot.utf8))
        let object = try JSONSerialization.jsonObject(with: xdot.out) as? [String: Any]
        let label = ((object?["objects"] as? [[String: Any]])?.first?["label"] as? String)
        // Graphviz reads `\"` as `"` and keeps `\\` for its label escapes: the pieces join without a seam.
        let joined = text.replacingOccurrences(of: #"\"#, with: #"\\"#)
        #expect(label == joined, "label read back has \(label?.count ?? -1) characters, want \(joined.count)")
    }
}
