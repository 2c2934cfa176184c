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
