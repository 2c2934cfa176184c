import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import GradTrace
@testable import GradTraceRender
import Testing

struct RenderTests {
    @Test func dotSnapshots() throws {
        let d = try Fixtures.diagram("loss")
        try Snapshot.check(d.dot(step: 0, pinned: false), named: "loss-step0.dot")
        try Snapshot.check(d.dot(step: 2, pinned: false), named: "loss-step2.dot")
        try Snapshot.check(d.dot(step: d.stepCount, pinned: false, summary: true), named: "loss-final.dot")
        try Snapshot.check(d.dot(step: d.stepCount, pinned: true, summary: true), named: "loss-final-pinned.dot")
    }

    @Test func svgSnapshot() throws {
        let d = try Fixtures.diagram("micrograd-chain", title: "dL/dc = -2")
        let svg = String(decoding: try d.render(step: 3, format: .svg), as: UTF8.self)
        try Snapshot.check(svg, named: "micrograd-chain-step3.svg")
    }

    @Test func lossLabelsCarryTheSeedNumbers() throws {
        let d = try Fixtures.diagram("loss")
        let dot = d.dot(step: d.stepCount, pinned: false, summary: true)
        for n in ["676", "52", "624", "1248", "1872", "∂L/∂w = ∂L/∂u · ∂u/∂w = 624 · 2 = 1248"] {
            #expect(dot.contains(n), "\(n) missing from the labels")
        }
    }

    @Test func sameBytesTwiceInOneProcess() throws {
        for format in [Diagram.Format.png(scale: 1), .svg, .pdf] {
            let a = try Fixtures.diagram("neuron", title: "t").render(step: 2, format: format)
            let b = try Fixtures.diagram("neuron", title: "t").render(step: 2, format: format)
            #expect(a == b, "\(format) differs between two renders")
            #expect(a.count > 1000)
        }
    }

    @Test func formatsAreWhatTheySay() throws {
        let d = try Fixtures.diagram("loss", title: #"Loss & "gradient" <demo> \ back"#)
        let png = try d.render(step: 1, format: .png(scale: 2))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let pdf = try d.render(step: 1, format: .pdf)
        #expect(String(decoding: pdf.prefix(5), as: UTF8.self) == "%PDF-")
        let svg = try d.render(step: 1, format: .svg)
        let doc = try XMLDocument(data: Data(svg))
        #expect(doc.rootElement()?.name == "svg")
        #expect(String(decoding: svg, as: UTF8.self).contains("&quot;gradient&quot; &lt;demo&gt;"))
    }

    @Test func stepsDiffer() throws {
        let d = try Fixtures.diagram("micrograd-chain")
        let frames = try (0...d.stepCount).map { try d.render(step: $0, format: .png(scale: 1)) }
        #expect(Set(frames).count == frames.count, "two steps drew the same picture")
        let s0 = d.scene(step: 0)
        #expect(s0.nodes.allSatisfy { $0.gradText.isEmpty && $0.state == .forward })
        #expect(s0.edges.allSatisfy { $0.lines.isEmpty })
    }

    @Test func pngSizeIsTheSameForEveryStep() throws {
        let d = try Fixtures.diagram("neuron")
        var sizes = Set<[UInt8]>()
        for k in 0...d.stepCount {
            let png = try d.render(step: k, format: .png(scale: 1.5))
            sizes.insert(Array(png[16..<24]))
        }
        #expect(sizes.count == 1)
    }

    /// Nodes never overlap each other, and every edge label sits inside the canvas.
    @Test func layoutLeavesRoomForText() throws {
        for sample in ["loss", "neuron", "micrograd-more-ops", "multivariable"] {
            let d = try Fixtures.diagram(sample)
            let boxes = d.layout.nodes
            for i in boxes.indices {
                for j in boxes.indices where j > i {
                    let a = boxes[i], b = boxes[j]
                    let apart = abs(a.x - b.x) >= (a.width + b.width) / 2 - 0.5 || abs(a.y - b.y) >= (a.height + b.height) / 2 - 0.5
                    #expect(apart, "\(sample): nodes \(i) and \(j) overlap")
                }
            }
            for e in d.layout.edges {
                if let c = e.labelCenter {
                    #expect(c.x - e.labelSize.width / 2 >= -1 && c.x + e.labelSize.width / 2 <= d.layout.graphWidth + 1)
                }
            }
        }
    }

    @Test func darkThemeAndTopToBottom() throws {
        let light = try Fixtures.diagram("loss").render(step: 2, format: .svg)
        let dark = try Fixtures.diagram("loss", style: RenderStyle(rankdir: .TB, theme: .dark)).render(step: 2, format: .svg)
        #expect(light != dark)
        let tb = try Fixtures.diagram("loss", style: RenderStyle(rankdir: .TB))
        let lr = try Fixtures.diagram("loss")
        #expect(tb.layout.graphHeight > lr.layout.graphHeight)
        #expect(tb.layout.graphWidth < lr.layout.graphWidth)
    }

    @Test func nonFiniteValuesAreMarked() throws {
        let p = try Program.parse("x = -1\ny = log(x)\nz = y * 2\n")
        let d = try Diagram(graph: p.graph, trace: Trace(graph: p.graph, output: p.output), style: RenderStyle())
        let s = d.scene(step: d.stepCount)
        #expect(s.nodes.filter(\.nonFinite).count >= 2)
        _ = try d.render(step: d.stepCount, format: .png(scale: 1))
    }
}
