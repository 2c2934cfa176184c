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
        // Wider than asked: the warning gives the tensor remedy, not the scalar one.
        if c.width > 660.5 { #expect(d.fitWarning?.contains("--collapse module)") == true, "\(d.fitWarning ?? "no warning")") }
        #expect(f.height > 0)
        func id(_ n: String) throws -> NodeID { try #require((0..<p.structure.count).first { p.structure.name(of: $0) == n }) }
        // A step of `attn.q = linear(ln1.out, attn.q.weight)`: the map names it, the panels show it and its two inputs whole.
        let q = try id("attn.q")
        let step = try #require((1...d.stepCount).first { d.scene(step: $0).activeNode == q })
        let drawing = d.drawing(step: step)
        let texts = drawing.textRuns.map(\.text)
        #expect(texts.contains("attn.q = linear(ln1.out, attn.q.weight)"))
        #expect(texts.contains("attn.q.weight = randn(4, 4)") || texts.contains { $0.hasPrefix("attn.q.weight") })
        #expect(texts.contains("ln1.out = layer_norm(x, ln1.weight, ln1.bias)"))
        // The map's boxes: attn.q, and the attention's parameters (boxes of their own when split by module, else
        // listed in the box of the step each feeds).
        #expect(texts.contains("attn.q") && (texts.contains("attn.v.weight") || texts.contains { $0.hasPrefix("+ attn.v.weight  [4, 4]") }), "\(texts)")
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

    /// A four-layer tanh MLP: drawn unfused it is more than 2.5 times as tall as wide.
    static let deepMLP = """
        X = randn(4, 3); Y = randn(4, 1)
        W1 = randn(3, 4); b1 = randn(4); h1 = tanh(X @ W1 + b1)
        W2 = randn(4, 4); b2 = randn(4); h2 = tanh(h1 @ W2 + b2)
        W3 = randn(4, 4); b3 = randn(4); h3 = tanh(h2 @ W3 + b3)
        W4 = randn(4, 1); b4 = randn(1); out = h3 @ W4 + b4
        loss = sum((out - Y)^2)
        """

    /// Fusing: `h1 = tanh(X @ W1 + b1)` is one node with the rows `X @ W1`, `X @ W1 + b1`, `h1`; the edges of
    /// X, W1 and b1 end at it; the rows' own edges become their ledgers; every step's active node is drawn.
    @Test func elementwiseChainsFuseIntoOneNodeWithARowPerStep() throws {
        let p = try Program.parse(Self.deepMLP)
        let t = try #require(p.tensor)
        var trace = TensorTrace(graph: t.graph, output: t.output)
        let plain = Scene(tensor: trace, step: trace.steps.count, summary: true)
        trace.fusesChains = true
        let last = Scene(tensor: trace, step: trace.steps.count, summary: true)
        // 10 inputs and 14 operations; fused, the operations are 5 nodes: h1, h2, h3, out, loss, and the 8 parameters
        // sit beside them: X and Y (data) are the only inputs left on their own.
        #expect(plain.nodes.count == 24 && last.nodes.count == 7, "\(plain.nodes.count) → \(last.nodes.count)")
        let h1 = try #require(last.nodes.first { $0.title == "h1 = tanh(X @ W1 + b1)" })
        let rows = try #require(h1.tensor?.rows)
        #expect(rows.map(\.title) == ["X @ W1", "X @ W1 + b1", "h1"])
        #expect(rows[0].lines.first == "∂loss/∂(X @ W1) = ∂loss/∂(X @ W1 + b1)")
        #expect(rows[1].lines.first == "∂loss/∂(X @ W1 + b1) = ∂loss/∂h1 ⊙ (1 − h1²)")
        #expect(rows.allSatisfy { $0.state == .done } && h1.state == .done)
        let into = last.edges.filter { $0.to == h1.id }.map { t.graph.name(of: $0.from) ?? "?" }
        #expect(into == ["X"])
        // W1 beside the row X @ W1 and b1 beside X @ W1 + b1, each with the VJP of its own edge.
        let side = try #require(h1.tensor?.side)
        #expect(side.map(\.title) == ["W1", "b1"])
        #expect(side.map(\.feeds) == [rows[0].id, rows[1].id])
        #expect(side[0].lines.first == "∂loss/∂W1 = Xᵀ · ∂loss/∂(X @ W1)" && side.allSatisfy { $0.state == .done })
        #expect(last.nodes.filter { $0.isInput }.map(\.title) == ["X", "Y"])
        #expect(last.edges.enumerated().allSatisfy { $0.offset == $0.element.index })
        let loss = try #require(last.nodes.first { $0.isOutput })
        #expect(loss.tensor?.rows.map(\.title) == ["out − Y", "(out − Y)²", "loss"])
        // Every step: the active node is drawn, and a node is active exactly while one of its rows is.
        for k in 1...trace.steps.count {
            let s = Scene(tensor: trace, step: k)
            let active = try #require(s.activeNode)
            let drawn = try #require(s.nodes.first { $0.id == active })
            #expect(drawn.state == .active)
            #expect(s.nodes.filter { $0.state == .active }.count == 1)
            if let r = drawn.tensor?.rows, !r.isEmpty { #expect(r.filter { $0.state == .active }.count == 1) }
        }
        // The numbers are the trace's: the row of X @ W1 holds its value and final gradient.
        let xw = try #require(t.graph.nodes.indices.first { TensorText(graph: t.graph).title($0) == "X @ W1" })
        #expect(rows[0].panel.value == t.graph[xw].value && rows[0].panel.grad == trace.gradients[xw])
    }

    /// The fitting ladder fuses a picture that would be taller than 2.5:1, draws each row with its
    /// heatmaps and ledger, keeps one canvas for every frame, and writes the same bytes every time.
    @Test func aDeepMLPIsDrawnFusedWithinTwoAndAHalfToOne() throws {
        let p = try Program.parse(Self.deepMLP)
        let t = try #require(p.tensor)
        let trace = TensorTrace(graph: t.graph, output: t.output)
        let d = try Diagram(tensor: trace, style: RenderStyle(rankdir: .TB))
        guard case .tensor(let drawn) = d.pass else { Issue.record("not a tensor pass"); return }
        #expect(drawn.fusesChains)
        let c = d.canvasSize
        #expect(c.height <= 2.5 * c.width, "\(c.width) × \(c.height)")
        let texts = d.drawing(step: d.stepCount, summary: true).textRuns.map(\.text)
        #expect(texts.contains("↑ ∂loss/∂(X @ W1) = ∂loss/∂(X @ W1 + b1)"))
        #expect(texts.contains("X @ W1  [4, 4]") && texts.contains("h3  [4, 4]"))
        // Value and gradient grids: 3 rows of 16 cells per hidden layer (3 layers), and out's and loss's rows.
        #expect(cells(d.drawing(step: d.stepCount, summary: true)).filter { $0.width >= 24 }.count >= 2 * 3 * 3 * 16)
        let sizes = Set((0...d.stepCount).map { k -> String in let x = d.drawing(step: k); return "\(x.width)x\(x.height)" })
        #expect(sizes.count == 1)
        for format in [Diagram.Format.png(scale: 1), .svg, .pdf] {
            #expect(try d.render(step: 7, format: format) == d.render(step: 7, format: format))
        }
        // The MLP demo in a 660-pt column: a fused map, each step's panels unfused under it, at most 2.5:1.
        let demo = try Fixtures.program("tensors/mlp-demo")
        let dt = try #require(demo.tensor)
        var style = RenderStyle()
        style.maxWidth = 660
        let narrow = try Diagram(tensor: TensorTrace(graph: dt.graph, output: dt.output), style: style)
        let n = narrow.canvasSize
        #expect(narrow.focus != nil && n.width <= 660 && n.height <= 2.5 * n.width, "\(n.width) × \(n.height)")
        // X, Y and the four fused steps h1, h2, out, loss (the parameters listed in the boxes they feed).
        #expect(narrow.scene(step: 0).nodes.count == 6)
        let step = try #require((1...narrow.stepCount).first { narrow.scene(step: $0).caption.hasPrefix("∂loss/∂(h1 @ W2 + b2) =") })
        let panels = narrow.drawing(step: step).textRuns.map(\.text)
        #expect(panels.contains("h1 @ W2 + b2") && panels.contains("h2 = tanh(h1 @ W2 + b2)"))
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

    /// Stacked repeated blocks line up: in the two-block sample every node of block2 (operations, parameters and
    /// the unnamed `q @ kᵀ` steps) sits on its block1 counterpart's line, in both directions, where Graphviz alone
    /// left 8 of 24 named pairs aligned (mean offset 21 pt in TB); no two boxes overlap after the move.
    @Test(arguments: [RenderStyle.RankDir.TB, .LR])
    func stackedBlocksLineUp(_ rankdir: RenderStyle.RankDir) throws {
        let p = try Fixtures.program("tensors/two-blocks")
        let t = try #require(p.tensor)
        let d = try Diagram(tensor: TensorTrace(graph: t.graph, output: t.output), style: RenderStyle(rankdir: rankdir))
        let visible = d.scene(step: 0).nodes.map(\.id)
        let boxes = d.layout.nodes
        func cross(_ b: Layout.Box) -> Double { rankdir == .TB ? b.x : b.y }
        var pairs = 0, aligned: [String] = [], off: [String] = []
        for (k, id) in visible.enumerated() {
            guard let name = t.graph.name(of: id), name.hasPrefix("block1.") else { continue }
            guard let j = visible.firstIndex(where: { t.graph.name(of: $0) == "block2." + name.dropFirst(7) }) else { continue }
            pairs += 1
            if Swift.abs(cross(boxes[k]) - cross(boxes[j])) < 0.5 { aligned.append(name) } else { off.append(name) }
        }
        #expect(pairs == 24)
        #expect(aligned.count >= 22, "lined up \(aligned.count) of \(pairs); off: \(off)")
        // The unnamed steps of attention line up too (by the operands of their named consumers).
        let repeats = Diagram.repeats(graph: d.structure, visible: visible)
        #expect(repeats.contains { r in r.stacked && r.nodes.allSatisfy { t.graph.name(of: visible[$0]) == nil } })
        for a in boxes.indices {
            for b in boxes.indices where b > a {
                let (p, q) = (boxes[a], boxes[b])
                let apart = Swift.abs(p.x - q.x) >= (p.width + q.width) / 2 || Swift.abs(p.y - q.y) >= (p.height + q.height) / 2
                #expect(apart, "boxes \(a) and \(b) overlap")
            }
        }
    }

    /// Parameters beside the row they feed: the deep MLP's default picture loses the column of weights and
    /// biases each layer had beside the previous one (1198 pt wide before, 6.2 px text in an 880 px column),
    /// so it is narrow enough for 9 px text at 880 px and still at most 2.5:1.
    @Test func parametersSitBesideTheRowTheyFeed() throws {
        let p = try Program.parse(Self.deepMLP)
        let t = try #require(p.tensor)
        let d = try Diagram(tensor: TensorTrace(graph: t.graph, output: t.output), style: RenderStyle())
        let c = d.canvasSize
        let smallest = try #require(d.drawing(step: d.stepCount, summary: true).textRuns.map(\.size).min())
        // Text height in CSS px in an 880 px column (4/3 px a point, never enlarged).
        let px = smallest * 4 / 3 * min(1, 880 / (c.width * 4 / 3))
        #expect(px >= 9 && c.height <= 2.5 * c.width, "\(c.width) × \(c.height), \(px) px")
        // h1's parameters: W1 framed beside the row X @ W1, b1 beside X @ W1 + b1, right of the rows, within their rows' height.
        let h1 = try #require(d.scene(step: 0).nodes.first { $0.title == "h1 = tanh(X @ W1 + b1)" })
        let rows = try #require(d.tensorRows[h1.id])
        #expect(rows.side.map(\.row) == [0, 1] && rows.sideWidth > 0)
        for s in rows.side {
            #expect(s.top >= rows.tops[s.row] - 1e-9 && s.top + s.height <= rows.tops[s.row] + rows.heights[s.row] + 1e-9)
        }
        #expect(rows.rowWidth + Heatmap.Rows.sideGap + rows.sideWidth + 2 * Heatmap.Rows.inset <= rows.width + 1e-9)
        let texts = d.drawing(step: d.stepCount, summary: true).textRuns.map(\.text)
        #expect(texts.contains("W1  [3, 4]") && texts.contains("∂loss/∂W1 = Xᵀ · ∂loss/∂(X @ W1)") && texts.contains("Σ over rows: [4, 4] → [4]"))
        // While W1's gradient is computed its ledger is bold; before, its frame is pending and its grid empty.
        let step = try #require((1...d.stepCount).first { d.scene(step: $0).caption.contains("∂loss/∂W1 =") })
        let active = d.drawing(step: step).textRuns.first { $0.text == "∂loss/∂W1 = Xᵀ · ∂loss/∂(X @ W1)" }
        #expect(active?.bold == true)
    }

    /// A collapsed view fuses too: the transformer block with `--collapse module` in a 660 pt column is a
    /// map of one column (each module's and layer norm's parameters listed in its box) over the focus
    /// view's panels, within the width (870 pt and 8.6 px text before) and 2.5:1, and says nothing.
    @Test func aCollapsedTransformerFitsAColumn() throws {
        let p = try Fixtures.program("tensors/transformer-block")
        let t = try #require(p.tensor)
        let view = try #require(TensorTrace(graph: t.graph, output: t.output).collapsedModules(depth: 1))
        var style = RenderStyle()
        style.maxWidth = 660
        let d = try Diagram(tensor: view, style: style)
        let c = d.canvasSize
        #expect(c.width <= 660 && c.height <= 2.5 * c.width, "\(c.width) × \(c.height)")
        #expect(d.fitWarning == nil, "\(d.fitWarning ?? "")")
        guard case .tensor(let drawn) = d.pass else { Issue.record("not a tensor pass"); return }
        #expect(drawn.isCollapsedView && drawn.fusesChains)
        let drawing = d.drawing(step: d.stepCount, summary: true)
        #expect((drawing.textRuns.map(\.size).min() ?? 0) >= 8.5)
        let texts = drawing.textRuns.map(\.text)
        #expect(texts.contains("module attn") && texts.contains { $0.hasPrefix("+ attn.out.weight  [4, 4]  grad ‖") })
        // The map keeps the data and the residual stream: x, target and every operation, no parameter box.
        let names = d.scene(step: 0).nodes.map { view.graph.name(of: $0.id) ?? "?" }
        #expect(names == ["x", "target", "ln1.out", "attn", "h", "ln2.out", "mlp", "out", "L"], "\(names)")
        // Drawn whole, the collapsed view is as before: one node per parameter.
        let whole = try Diagram(tensor: view, style: RenderStyle())
        guard case .tensor(let plain) = whole.pass else { Issue.record("not a tensor pass"); return }
        #expect(!plain.fusesChains && whole.scene(step: 0).nodes.count == 21)
    }

    /// Fusing a view with a module expanded (the HTML player's expand in place) keeps the module's nodes among
    /// themselves: a parameter from outside stays its own node, the module's own weight joins its step, and
    /// the collapsed view lists the module's weight beside the module's node (data and outside inputs stay nodes).
    @Test func fusingKeepsAnExpandedModulesNodesInIt() throws {
        let p = try Program.parse("""
            x = [[1, -2], [0.3, 0.7]]
            scale = [0.5, 2]
            attn.w = [[0.2, -0.1], [0.5, 0.3]]
            attn.q = linear(x, attn.w) * scale
            L = sum(tanh(attn.q))
            """)
        let t = try #require(p.tensor)
        let full = TensorTrace(graph: t.graph, output: t.output)
        var open = try #require(full.collapsedModules(depth: 1, expanding: ["attn"]))
        open.fusesChains = true
        let g = open.graph
        let s = Scene(tensor: open, step: open.steps.count)
        func node(_ name: String) throws -> Scene.NodeView { try #require(s.nodes.first { g.name(of: $0.id) == name }, "\(name)") }
        #expect(try node("attn.q").tensor?.side.map(\.title) == ["attn.w"])
        #expect(try node("scale").tensor?.rows.isEmpty == true)
        let members = try #require(open.collapse?.expanded.first?.members)
        for n in s.nodes { for r in (n.tensor?.rows ?? []) + (n.tensor?.side ?? []) { #expect(members.contains(r.id) == members.contains(n.id)) } }
        var closed = try #require(full.collapsedModules(depth: 1))
        closed.fusesChains = true
        let c = Scene(tensor: closed, step: closed.steps.count)
        let module = try #require(c.nodes.first { if case .module = closed.graph[$0.id].op { return true } else { return false } })
        #expect(module.tensor?.side.map(\.title) == ["attn.w"])
        #expect(c.nodes.contains { closed.graph.name(of: $0.id) == "scale" } && c.nodes.contains { closed.graph.name(of: $0.id) == "x" })
    }
}
