import CCairo
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GradTrace
@testable import GradTraceRender
import Testing

/// One scene through every backend: the SVG writer, Cairo (PNG pixels), DOT and PDF all show
/// the Drawing's label strings and node rectangles.
struct BackendTests {
    /// The picture's text with minus signs as hyphens, to compare with DOT's plain text.
    static func plain(_ s: String) -> String { s.replacingOccurrences(of: "−", with: "-") }

    /// An attribute's value (looked up by local name: corelibs' `attribute(forName:)` misses them in a namespaced document).
    static func attr(_ e: XMLElement, _ name: String) -> String? {
        e.attributes?.first { ($0.localName ?? $0.name) == name }?.stringValue
    }

    @Test func everyBackendShowsTheSameLabelsAndBoxes() throws {
        let d = try Fixtures.diagram("loss")
        let drawing = d.drawing(step: d.stepCount, summary: true)
        let runs = drawing.textRuns
        let nodeBoxes = drawing.boxes.filter { $0.radius == DrawingBuilder.nodeRadius }
        #expect(nodeBoxes.count == d.layout.nodes.count)
        #expect(runs.contains { $0.text == "624 × 2 = 1248" })
        #expect(runs.contains { $0.text == "52 × (−1) = −52" })

        // SVG: the same strings as <text>, pinned to the measured widths, and the same rectangles.
        var w = SVGWriter(drawing)
        let svg = try XMLDocument(data: Data(w.document().utf8))
        let texts = try svg.nodes(forXPath: "//*[local-name()='text']").compactMap { $0 as? XMLElement }
        #expect(texts.map { $0.stringValue ?? "" } == runs.map(\.text))
        for (t, r) in zip(texts, runs) {
            #expect(Self.attr(t, "textLength") == SVGWriter.num(r.width))
            #expect(Self.attr(t, "x") == SVGWriter.num(r.x))
        }
        let rects = try svg.nodes(forXPath: "//*[local-name()='rect'][@rx='7']").compactMap { $0 as? XMLElement }
        #expect(rects.count == nodeBoxes.count)
        for (e, b) in zip(rects, nodeBoxes) {
            for (name, v) in [("x", b.x), ("y", b.y), ("width", b.width), ("height", b.height)] {
                #expect(Self.attr(e, name) == SVGWriter.num(v))
            }
        }

        // DOT (pinned): every node at the drawing's box (less the graph's origin), every label string there.
        let dot = d.dot(step: d.stepCount, pinned: true, summary: true)
        let origin = DrawingBuilder(diagram: d).origin
        for b in nodeBoxes {
            let cx = b.x + b.width / 2 - origin.x, cy = d.layout.graphHeight - (b.y + b.height / 2 - origin.y)
            #expect(dot.contains("pos=\"\(DOTEscaping.number(cx)),\(DOTEscaping.number(cy))!\""), "node at \(cx), \(cy) missing from DOT")
        }
        let scene = d.scene(step: d.stepCount, summary: true)
        for n in scene.nodes {
            for line in n.lines where !line.isEmpty {
                #expect(runs.contains { Self.plain($0.text) == Self.plain(line) }, "\(line) not drawn")
                #expect(dot.contains(line), "\(line) not in DOT")
            }
        }

        // Cairo: the PNG's pixels carry each node's border colour on the box's top edge.
        let painter = Painter(diagram: d)
        let surface = try painter.image(drawing, scale: 2)
        let stride = Int(cairo_image_surface_get_stride(surface.pointer))
        let data = try #require(cairo_image_surface_get_data(surface.pointer))
        let border = d.style.theme.style(.done).border
        for b in nodeBoxes {
            let x = Int(((b.x + b.width / 2) * 2).rounded()), y = Int((b.y * 2).rounded())
            let p = data + y * stride + 4 * x
            let rgb = (Double(p[2]) / 255, Double(p[1]) / 255, Double(p[0]) / 255)
            #expect(abs(rgb.0 - border.r) < 0.2 && abs(rgb.1 - border.g) < 0.2 && abs(rgb.2 - border.b) < 0.2,
                    "no border at the top of the box at \(b.x), \(b.y)")
        }

        // PDF: one page of the drawing's size.
        let pdf = String(decoding: try d.render(step: d.stepCount, format: .pdf, summary: true), as: UTF8.self)
        #expect(pdf.hasPrefix("%PDF") && pdf.contains("/MediaBox [ 0 0 \(DOTEscaping.number(drawing.width)) \(DOTEscaping.number(drawing.height)) ]"))
    }

    @Test func svgIsValidStableAndCarriesText() throws {
        let d = try Fixtures.diagram("micrograd-more-ops", style: RenderStyle(theme: .dark, colorByGradient: true), title: "a < b & \"c\"")
        let a = try d.render(step: 3, format: .svg), b = try d.render(step: 3, format: .svg)
        #expect(a == b)
        let doc = try XMLDocument(data: Data(a))
        let texts = try doc.nodes(forXPath: "//*[local-name()='text']")
        #expect(texts.count > 30)
        #expect(texts.contains { $0.stringValue == "a < b & \"c\"" })
        let html = Animation.html(d, fps: 2, title: "t")
        #expect(String(decoding: html, as: UTF8.self).contains("data-from="))
        let css = Animation.svg(d, fps: 2)
        #expect(try XMLDocument(data: Data(css)).rootElement() != nil)
    }

    @Test func labelModes() throws {
        #expect(EdgeLabel.split("∂L/∂w = ∂L/∂u · ∂u/∂w = 624 · 2 = 1248") == ("∂L/∂w = ∂L/∂u · ∂u/∂w", "624 × 2 = 1248"))
        #expect(EdgeLabel.split("∂L/∂t1 = 2t1 = 52") == ("∂L/∂t1 = 2t1", "52"))
        #expect(Typography.picture("52 × (-1) = -52, 1e-3, x1w1") == "52 × (−1) = −52, 1e−3, x1w1")
        var s = RenderStyle()
        s.labels = .numbers
        #expect(EdgeLabel.lines(["a = 2", "∂L/∂w = ∂L/∂u · ∂u/∂w = 624 · 2 = 1248"], style: s).map(\.text) == ["624 × 2 = 1248"])
        s.labels = .full
        #expect(EdgeLabel.lines(["a = 2", "b"], style: s).map(\.text) == ["a = 2", "b"])
    }

    @Test func autoDirectionKeepsSmallSamplesReadable() throws {
        for name in ["loss", "neuron", "micrograd-chain", "wiggle"] {
            let d = try Fixtures.diagram(name)
            let c = d.canvasSize
            #expect(c.width <= 900 && c.width / c.height >= 1.0 / 3 && c.width / c.height <= 3, "\(name): \(c.width) × \(c.height)")
        }
        var narrow = RenderStyle()
        narrow.maxWidth = 500
        narrow.labels = .full
        #expect(try Fixtures.diagram("neuron", style: narrow).canvasSize.width <= 800)
    }
}
