import Foundation
@testable import GradTrace
@testable import GradTraceRender
import Testing

/// Splitting by module, the last rung of the width ladder (``Bands``), and the focus view's caption
/// placed right under each step's panels.
struct BandsTests {
    func tensorDiagram(_ sample: String, maxWidth: Double?) throws -> Diagram {
        let p = try Fixtures.program(sample)
        let t = try #require(p.tensor)
        var style = RenderStyle()
        style.maxWidth = maxWidth
        return try Diagram(tensor: TensorTrace(graph: t.graph, output: t.output), style: style)
    }

    /// Every edge drawn inside one band: from its node when both ends share the band, else from a proxy of
    /// its source at the head of the target's band; no node box outside its band.
    func checkBands(_ d: Diagram, _ label: String) {
        let l = d.layout
        func band(_ y: Double) -> Int? { l.bands.firstIndex { y >= $0.y - 0.5 && y <= $0.y + $0.height + 0.5 } }
        let scene = d.scene(step: 0)
        var index: [NodeID: Int] = [:]
        for (k, n) in scene.nodes.enumerated() { index[n.id] = k }
        for (k, b) in l.nodes.enumerated() { #expect(band(b.y - b.height / 2) != nil && band(b.y - b.height / 2) == band(b.y + b.height / 2), "\(label): node \(k)") }
        for e in scene.edges {
            let to = index[e.to]!, from = index[e.from]!
            let path = l.edges[e.index]
            #expect(!path.curves.isEmpty, "\(label): edge \(e.index) has no path")
            let head = band(l.nodes[to].y)
            let proxy = l.edgeProxy[e.index]
            if band(l.nodes[from].y) == head {
                #expect(proxy < 0, "\(label): edge \(e.index) inside a band drawn from a proxy")
            } else {
                #expect(proxy >= 0 && l.proxies[proxy].node == from && band(l.proxies[proxy].box.y) == head, "\(label): edge \(e.index) across bands")
            }
            for p in path.curves.joined() { #expect(band(p.y) == head, "\(label): edge \(e.index) leaves its band") }
        }
    }

    /// The scalar MLP demo (300 operations) is 4510 pt wide even as small boxes; split into its layers it
    /// fits a 660-pt column, deterministically, with one canvas for every frame.
    @Test func theScalarMLPDemoSplitByModuleFitsAColumn() throws {
        var style = RenderStyle()
        style.maxWidth = 660
        let d = try Fixtures.diagram("mlp-demo", style: style)
        let c = d.canvasSize
        #expect(c.width <= 660, "\(c.width) × \(c.height)")
        // It fits as a long strip (634 × 12269 pt): the warning says so and advises collapsing it.
        #expect(d.fitWarning?.contains("bands to fit") == true && d.fitWarning?.contains("--collapse neuron") == true, "\(d.fitWarning ?? "")")
        #expect(d.style.bands && d.layout.bands.count >= 2)
        let labels = d.layout.bands.map(\.label).joined(separator: ", ")
        #expect(labels.contains("l1") && labels.contains("l2") && labels.contains("l3"), "\(labels)")
        #expect(!d.layout.proxies.isEmpty)
        checkBands(d, "mlp-demo")
        // Proxies are drawn with the source's name after an arrow, in the source's state.
        let final = d.drawing(step: d.stepCount, summary: true)
        #expect(final.textRuns.contains { $0.text.hasPrefix("↑ l1.n0.out") })
        #expect(final.textRuns.contains { $0.text.hasPrefix("l1.n0") && $0.bold })
        #expect(try d.render(step: 40, format: .svg) == d.render(step: 40, format: .svg))
        let again = try Fixtures.diagram("mlp-demo", style: style)
        #expect(again.layout == d.layout)
        let sizes = Set([0, 1, 57, d.stepCount].map { k -> String in let x = d.drawing(step: k); return "\(x.width)x\(x.height)" })
        #expect(sizes.count == 1)
    }

    /// Two transformer blocks (962 pt wide as a focus view's map) fit a 660-pt column split into blocks (3.7:1, with a warning).
    @Test func twoTransformerBlocksSplitByModuleFitAColumn() throws {
        let d = try tensorDiagram("tensors/two-blocks", maxWidth: 660)
        let c = d.canvasSize
        #expect(c.width <= 660, "\(c.width) × \(c.height)")
        // 660 × 2462 pt is past the 2.5:1 shape of tensor pictures: the warning says so and advises collapsing.
        #expect(d.fitWarning?.contains("times as tall as it is wide: collapse it (--collapse module)") == true, "\(d.fitWarning ?? "")")
        #expect(d.layout.bands.count >= 2)
        let labels = d.layout.bands.map(\.label)
        #expect(labels.first?.hasPrefix("block1") == true && labels.last?.hasPrefix("block2") == true, "\(labels)")
        checkBands(d, "two-blocks")
        let animated = DrawingBuilder(diagram: d).drawing(Timeline(diagram: d))
        #expect(animated.width == c.width && animated.height == c.height)
        // DOT honours the rung: positions pinned, the proxies named, the bands in the comment.
        let dot = d.dot(step: 5, pinned: false)
        #expect(dot.contains("split by module into bands: block1") && dot.contains("_proxy0") && dot.contains("pos=\""))
    }

    /// The bands are modules: x joins the first block it feeds, the target and loss the last block.
    @Test func unitsAreModulesWithTheirInputs() throws {
        let p = try Fixtures.program("tensors/two-blocks")
        let t = try #require(p.tensor)
        let pass = Pass.tensor(TensorTrace(graph: t.graph, output: t.output))
        let scene = Scene(pass: pass, step: 0)
        let visible = scene.nodes.map(\.id)
        var index: [NodeID: Int] = [:]
        for (k, id) in visible.enumerated() { index[id] = k }
        let ends = scene.edges.map { (from: index[$0.from]!, to: index[$0.to]!) }
        let g = pass.structure
        let units = Bands.units(graph: g, output: t.output, visible: visible, members: Array(visible.indices), depth: 1, edges: ends)
        #expect(units.map(\.label) == ["block1", "block2"])
        func unit(_ name: String) -> Int? { units.firstIndex { $0.members.contains { g.name(of: visible[$0]) == name } } }
        #expect(unit("x") == 0 && unit("block1.attn.q.weight") == 0 && unit("target") == 1 && unit("L") == 1)
        let inner = Bands.units(graph: g, output: t.output, visible: visible, members: units[0].members, depth: 2, edges: ends)
        #expect(inner.map(\.label).starts(with: ["block1.ln1", "block1.attn"]), "\(inner.map(\.label))")
        // No modules (plain names only): nothing to split, and the warning says so.
        let plain = try Fixtures.diagram("micrograd-more-ops", style: { var s = RenderStyle(); s.maxWidth = 120; return s }())
        #expect(plain.layout.bands.isEmpty && plain.fitWarning?.contains("no modules to split it by") == true, "\(plain.fitWarning ?? "")")
    }

    /// The note under a tensor picture explains the squares beside edges only where edges carry them: the
    /// focus view's map has none.
    @Test func theNoteExplainsEdgeSquaresOnlyWhenDrawn() throws {
        let full = try tensorDiagram("tensors/mlp-demo", maxWidth: nil)
        #expect(full.focus == nil && full.note?.contains("Squares beside an edge") == true, "\(full.note ?? "")")
        let focus = try tensorDiagram("tensors/mlp-demo", maxWidth: 660)
        #expect(focus.focus != nil && focus.note?.contains("Squares beside an edge") == false, "\(focus.note ?? "")")
        #expect(focus.note?.contains("log scale") == true)
    }

    /// The focus view keeps one canvas per animation, with the caption right under each step's panels (the
    /// spare room falls below the legend); a single picture of a step is as tall as that step needs.
    @Test func theFocusViewCaptionSitsUnderTheStepsPanels() throws {
        let d = try tensorDiagram("tensors/mlp-demo", maxWidth: 660)
        let f = try #require(d.focus)
        let m = d.metrics
        let areaTop = m.margin + m.headerHeight + d.layout.graphHeight + m.margin + FocusView.top
        var smaller = 0
        for k in 0...d.stepCount {
            let scene = d.scene(step: k)
            let drawing = d.drawing(step: k)
            #expect(drawing.height == d.canvasSize.height)
            let caption = try #require(drawing.textRuns.first { $0.text.hasPrefix("step \(k) of") })
            let panelsEnd = areaTop + f.usedHeight(f.panelScene(for: scene)) + FocusView.bottom
            #expect(caption.y - panelsEnd >= 0 && caption.y - panelsEnd <= 8, "step \(k): caption at \(caption.y), panels end at \(panelsEnd)")
            let still = d.still(step: k)
            #expect(still.canvasSize.height <= d.canvasSize.height)
            if still.canvasSize.height < d.canvasSize.height - 20 { smaller += 1 }
            // The still is the same picture, cut below its legend.
            let sc = try #require(still.drawing(step: k).textRuns.first { $0.text.hasPrefix("step \(k) of") })
            #expect(sc.y == caption.y)
        }
        #expect(smaller > 0)
        // A picture without a focus view is its own still.
        let plain = try tensorDiagram("tensors/mlp-demo", maxWidth: nil)
        #expect(plain.focus == nil && plain.still(step: 3).canvasSize == plain.canvasSize)
    }
}
