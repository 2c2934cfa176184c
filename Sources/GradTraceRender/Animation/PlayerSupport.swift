import GradTrace

/// What the HTML player and the animated SVG need beyond the drawing: where each step's active node
/// is (to scroll it into view), and the accessibility and reduced-motion additions of the SVG.
enum PlayerSupport {
    /// For each step 0…N, the active region's box in the SVG's user units `[x, y, width, height]`, or nil:
    /// the active node, the nodes its active edges come from, and those edges' labels. The player
    /// zooms so that every step's region fits the window and scrolls each into view.
    static func focusBoxes(_ diagram: Diagram) -> [[Double]?] {
        let size = diagram.canvasSize
        let ox = (size.width - diagram.layout.graphWidth) / 2
        let oy = diagram.metrics.margin + diagram.metrics.headerHeight
        let visible = diagram.scene(step: 0).nodes.map(\.id)
        var index: [NodeID: Int] = [:]
        for (k, id) in visible.enumerated() { index[id] = k }
        return (0...diagram.stepCount).map { k -> [Double]? in
            let scene = diagram.scene(step: k)
            guard let active = scene.activeNode, let i = index[active], i < diagram.layout.nodes.count else { return nil }
            var x0 = Double.infinity, y0 = Double.infinity, x1 = -Double.infinity, y1 = -Double.infinity
            func add(_ cx: Double, _ cy: Double, _ w: Double, _ h: Double) {
                x0 = min(x0, cx - w / 2); x1 = max(x1, cx + w / 2); y0 = min(y0, cy - h / 2); y1 = max(y1, cy + h / 2)
            }
            let b = diagram.layout.nodes[i]
            add(b.x, b.y, b.width, b.height)
            for e in scene.edges where e.state == .active && e.index < diagram.layout.edges.count {
                // An edge from another band of a graph split by module starts at its proxy: the region stays in one band.
                let proxy = e.index < diagram.layout.edgeProxy.count ? diagram.layout.edgeProxy[e.index] : -1
                if proxy >= 0 {
                    let n = diagram.layout.proxies[proxy].box
                    add(n.x, n.y, n.width, n.height)
                } else if let j = index[e.from], j < diagram.layout.nodes.count {
                    let n = diagram.layout.nodes[j]
                    add(n.x, n.y, n.width, n.height)
                }
                let path = diagram.layout.edges[e.index]
                if let c = path.labelCenter { add(c.x, c.y, path.labelSize.width, path.labelSize.height) }
            }
            if diagram.focus != nil {
                // The focus view: the region is the panel area under the map, where the step's nodes are drawn in full.
                let m = diagram.metrics
                return [m.margin, oy + diagram.layout.graphHeight + m.margin, size.width - 2 * m.margin, m.focusHeight]
            }
            return [ox + x0, oy + y0, x1 - x0, y1 - y0]
        }
    }

    /// The JSON of ``focusBoxes(_:)``: `[[x,y,w,h],null,…]` with two decimals.
    static func focusJSON(_ boxes: [[Double]?]) -> String {
        "[" + boxes.map { b in
            b.map { "[" + $0.map { DOTEscaping.number($0, decimals: 2) }.joined(separator: ",") + "]" } ?? "null"
        }.joined(separator: ",") + "]"
    }

    /// The player's SVG with `data-focus="[[x,y,w,h],null,…]"` on its root element, for the player's script.
    static func withFocus(_ svg: String, _ boxes: [[Double]?]) -> String {
        guard let open = svg.range(of: "<svg ") else { return svg }
        var out = svg
        out.replaceSubrange(open, with: "<svg data-focus=\"" + focusJSON(boxes) + "\" ")
        return out
    }

    /// A place on a picture of a collapsed tensor pass that a click changes: a module drawn as one node
    /// (`expand`: its node's box) or an expanded module (its cluster's box, and the boxes of the nodes in it,
    /// which keep their own hover texts: a click on the box outside them collapses the module).
    struct ModuleTarget {
        var module: String
        var expand: Bool
        /// `[x, y, width, height]` in the SVG's user units.
        var box: [Double]
        /// The box a switch of views keeps in place: the module's node, or the expanded module's exit node.
        var anchor: [Double]
        var inner: [[Double]] = []
    }

    /// The module targets of a picture, in drawing order (none unless the pass is a collapsed tensor view).
    static func moduleTargets(_ diagram: Diagram) -> [ModuleTarget] {
        guard let t = diagram.pass.tensorTrace, let view = t.collapse else { return [] }
        let size = diagram.canvasSize
        let ox = (size.width - diagram.layout.graphWidth) / 2
        let oy = diagram.metrics.margin + diagram.metrics.headerHeight
        let nodes = diagram.scene(step: 0).nodes
        func box(_ k: Int) -> [Double] {
            let b = diagram.layout.nodes[k]
            return [ox + b.x - b.width / 2, oy + b.y - b.height / 2, b.width, b.height]
        }
        var out: [ModuleTarget] = []
        for c in diagram.layout.clusters {
            guard let m = view.expanded.first(where: { $0.name == c.name }) else { continue }
            let drawn = nodes.indices.filter { $0 < diagram.layout.nodes.count }
            let inner = drawn.filter { m.members.contains(nodes[$0].id) }.map(box)
            let exit = drawn.first { nodes[$0].id == m.exit }.map(box) ?? [ox + c.x, oy + c.y, c.width, c.height]
            out.append(ModuleTarget(module: c.name, expand: false, box: [ox + c.x, oy + c.y, c.width, c.height], anchor: exit, inner: inner))
        }
        for (k, n) in nodes.enumerated() where k < diagram.layout.nodes.count {
            guard case .module(let name, _) = t.graph[n.id].op, view.merged.contains(name) else { continue }
            out.append(ModuleTarget(module: name, expand: true, box: box(k), anchor: box(k)))
        }
        return out
    }

    /// The player's SVG with its module targets (``moduleTargets(_:)``) drawn on top: an outline the page
    /// shows on hover, and a ⊕ (expand) or ⊖ (collapse) badge in the corner. They take no pointer events
    /// (the heatmap cells under them keep their hover texts); the page's script hit-tests the boxes.
    static func withModuleTargets(_ svg: String, _ targets: [ModuleTarget], theme: Theme) -> String {
        guard !targets.isEmpty, let close = svg.range(of: "</svg>", options: .backwards) else { return svg }
        func n(_ v: Double) -> String { DOTEscaping.number(v, decimals: 2) }
        func list(_ b: [Double]) -> String { b.map(n).joined(separator: ",") }
        var g = "<g class=\"gt-modules\">\n"
        for t in targets {
            let b = t.box
            g += "<g class=\"\(t.expand ? "gt-expand" : "gt-collapse")\" data-module=\"\(SVGNormalizer.xml(t.module))\" data-box=\"\(list(b))\" data-anchor=\"\(list(t.anchor))\""
            if !t.inner.isEmpty { g += " data-inner=\"\(t.inner.map(list).joined(separator: ";"))\"" }
            g += "><rect x=\"\(n(b[0]))\" y=\"\(n(b[1]))\" width=\"\(n(b[2]))\" height=\"\(n(b[3]))\" rx=\"8\"/>"
            g += "<text x=\"\(n(b[0] + b[2] - 4))\" y=\"\(n(b[1] + 14))\" text-anchor=\"end\" font-size=\"14\" font-weight=\"bold\" fill=\"\(theme.mutedText.hex)\">\(t.expand ? "⊕" : "⊖")</text></g>\n"
        }
        g += "</g>\n"
        var out = svg
        out.insert(contentsOf: g, at: close.lowerBound)
        return out
    }

    /// The animated SVG made accessible: `role="img"` with an `aria-label` naming every step's caption,
    /// and a `prefers-reduced-motion` rule that stops the animation on the final state.
    static func animatedSVG(_ svg: String, captions: [String]) -> String {
        var out = svg
        let steps = captions.enumerated().map { "step \($0.offset): \($0.element)" }.joined(separator: "; ")
        let label = "Backward pass in \(max(0, captions.count - 1)) steps. " + steps
        if let open = out.range(of: "<svg ") {
            out.replaceSubrange(open, with: "<svg role=\"img\" aria-label=\"" + SVGNormalizer.xml(label).replacingOccurrences(of: "\n", with: " ") + "\" ")
        }
        // Without motion the elements keep their base style, which is the final state.
        let reduce = "@media (prefers-reduced-motion: reduce){*{animation:none!important}}\n"
        if let close = out.range(of: "</style>") {
            out.insert(contentsOf: reduce, at: close.lowerBound)
        }
        return out
    }
}
