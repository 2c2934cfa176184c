import Foundation
@testable import GradTrace
@testable import GradTraceRender
import Testing

struct TensorRenderTests {
    let source = "X = [[1, 2], [3, -1]]; W = [[0.5, -1, 2], [1, 0.5, -0.5]]; b = [0.1, 0.2, 0.3]; Z = X @ W + b; L = sum(Z * Z) / 2"

    func diagram() throws -> Diagram {
        let p = try Program.parse(source)
        let t = try #require(p.tensor)
        return try Diagram(tensor: TensorTrace(graph: t.graph, output: t.output), style: RenderStyle(rankdir: .TB))
    }

    func cells(_ d: Drawing) -> [Drawing.Cell] {
        var out: [Drawing.Cell] = []
        func walk(_ items: [Drawing.Item]) {
            for i in items {
                switch i {
                case .cell(let c): out.append(c)
                case .group(let g): walk(g.items)
                default: break
                }
            }
        }
        walk(d.items)
        return out
    }

    @Test func finalStateShowsHeatmapsNumbersAndTheBroadcastSum() throws {
        let d = try diagram()
        let drawing = d.drawing(step: d.stepCount, summary: true)
        let texts = Set(drawing.textRuns.map(\.text))
        for t in ["Σ over rows: [2, 3] → [3]", "∂L/∂W = Xᵀ · ∂L/∂(X @ W)", "[2, 3] = [2, 2]ᵀ · [2, 3]", "8.1", "−3.1", "21.7", "grad (sum of 2)"] {
            #expect(texts.contains(t), "missing text \(t)")
        }
        // Value and gradient grids of every visible node (6 nodes of ≤ 12 elements) plus thumbnails and the two scale bars.
        let grids = cells(drawing).filter { $0.width >= 24 }
        #expect(grids.count == 2 * (4 + 6 + 3 + 6 + 6 + 6 + 1 + 1))
        let zeroCell = Heatmap.color(0.0, scale: 1)
        #expect(zeroCell == RGB(0xF7F7F7))
        #expect(Heatmap.color(-1.0, scale: 1) == RGB(0x2166AC) && Heatmap.color(1.0, scale: 1) == RGB(0xB2182B))
        // √ spacing: a tenth of the scale is still 32% of the way to full colour.
        #expect(Heatmap.color(0.1, scale: 1) != Heatmap.color(0.1 / 4, scale: 1))
    }

    @Test func pendingGradientsAreEmptyDashedGridsAndEveryStepSharesTheCanvas() throws {
        let d = try diagram()
        let first = d.drawing(step: 1)
        #expect(first.textRuns.contains { $0.text == "grad pending" })
        let sizes = Set((0...d.stepCount).map { k -> String in let x = d.drawing(step: k); return "\(x.width)x\(x.height)" })
        #expect(sizes.count == 1)
    }

    /// The last rung of the width ladder: a transformer block (2363 pt wide drawn whole) fits a 660-pt
    /// column as a map of small boxes, with each step's nodes at full size in the panel area under it.
    @Test func aTransformerBlockFitsAColumnAsAFocusView() throws {
        let p = try Fixtures.program("tensors/transformer-block")
        let t = try #require(p.tensor)
        var style = RenderStyle()
        style.maxWidth = 660
        let d = try Diagram(tensor: TensorTrace(graph: t.graph, output: t.output), style: style)
        let f = try #require(d.focus)
        #expect(d.style.outline)
        let c = d.canvasSize
        #expect(c.width <= 760 && c.height / c.width <= 2.5, "\(c.width) × \(c.height)")
        #expect(f.height > 0)
        func id(_ n: String) throws -> NodeID { try #require((0..<p.graph.count).first { p.graph.name(of: $0) == n }) }
        // A step of `attn.q = linear(ln1.out, attn.q.weight)`: the map names it, the panels show it and its two inputs whole.
        let q = try id("attn.q")
        let step = try #require((1...d.stepCount).first { d.scene(step: $0).activeNode == q })
        let drawing = d.drawing(step: step)
        let texts = drawing.textRuns.map(\.text)
        #expect(texts.contains("attn.q = linear(ln1.out, attn.q.weight)"))
        #expect(texts.contains("attn.q.weight = randn(4, 4)") || texts.contains { $0.hasPrefix("attn.q.weight") })
        #expect(texts.contains("ln1.out = layer_norm(x, ln1.weight, ln1.bias)"))
        #expect(texts.contains("attn.q") && texts.contains("attn.v.weight"))
        #expect(texts.contains { $0.hasPrefix("[3, 4]  grad ‖") })
        // 3 panels of value and gradient: [3, 4], [4, 4] and [3, 4] numbers.
        #expect(cells(drawing).filter { $0.width >= 24 }.count >= 2 * (12 + 16 + 12))
        #expect((drawing.textRuns.map(\.size).min() ?? 0) >= 8)
        // Every frame has the same canvas, and the final state shows the parameters' panels.
        let sizes = Set((0...d.stepCount).map { k -> String in let x = d.drawing(step: k); return "\(x.width)x\(x.height)" })
        #expect(sizes.count == 1)
        let final = d.drawing(step: d.stepCount, summary: true).textRuns.map(\.text)
        #expect(final.contains("ln1.weight") && final.contains("value"))
        // Drawn whole (no width asked), the picture keeps its full-size nodes.
        let whole = try Diagram(tensor: TensorTrace(graph: t.graph, output: t.output), style: RenderStyle())
        #expect(whole.focus == nil && !whole.style.outline)
    }

    @Test func tensorValueDrawsToEveryFormatByteStably() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gradtrace-tensor-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tape = TensorTape()
        let x = tape.input("x", Tensor(shape: [3], data: [1, -2, 0.5]))
        let w = tape.input("w", Tensor(shape: [3], data: [0.3, 0.1, -0.2]))
        let loss = ((x * w).sum() - 1).pow(2).named("loss")
        loss.backward()
        for ext in ["svg", "png", "pdf", "dot"] {
            let a = dir.appendingPathComponent("a.\(ext)").path, b = dir.appendingPathComponent("b.\(ext)").path
            try loss.draw(to: a)
            try loss.draw(to: b)
            #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)), "\(ext)")
        }
        let svg = try String(contentsOf: dir.appendingPathComponent("a.svg"), encoding: .utf8)
        #expect(svg.contains("∂loss/∂w"))
    }
}
