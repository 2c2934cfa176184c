import GradTrace

/// Options shared by every drawing of a scene.
public struct RenderStyle: Sendable {
    /// Rank direction: `LR`, `TB`, or `auto` (the default: whichever gives the picture closer
    /// to a page's shape, see ``Diagram``).
    public enum RankDir: String, Sendable, CaseIterable { case LR, TB, auto }

    /// How edge labels read: ``LabelMode/compact`` by default.
    public enum LabelMode: String, Sendable, CaseIterable {
        /// The local derivative, then the whole chain with its numbers.
        case full
        /// The numbers first (`624 × 2 = 1248`), the symbolic chain under them in a smaller font.
        case compact
        /// The numbers alone.
        case numbers
    }

    public var rankdir: RankDir = .auto
    /// Edge label wording.
    public var labels: LabelMode = .compact
    /// The widest picture wanted, in points (`--max-width`): ``Diagram`` compacts labels and
    /// switches direction to stay within it before it gives up. Nil: 900 is preferred, not forced.
    public var maxWidth: Double?
    /// Half the usual gaps between nodes and ranks (set by ``Diagram``'s width ladder).
    public var tight = false
    /// Nodes as small labelled boxes (the title and the gradient), edges without labels: each step's
    /// chain is told by the caption. The last rung of ``Diagram``'s width ladder.
    public var outline = false
    /// The graph split by module into bands stacked top to bottom, each within the width (see `Bands`):
    /// the rung of ``Diagram``'s width ladder after small boxes.
    public var bands = false
    /// Every element of a tensor in a cell of its own with its number (`--cells all`); by default
    /// numbers are written up to 16 elements and larger tensors show colours and a stats line.
    public var allCells = false
    public var theme: Theme = .light
    /// Fonts, in points.
    public var nodeFontSize: Double = 12
    public var edgeFontSize: Double = 10
    public var titleFontSize: Double = 16
    public var fontFamily = "DejaVu Sans"
    /// Fill nodes by log₁₀|gradient| (`--color-by grad`), with a legend.
    public var colorByGradient = false
    /// Box every neuron and layer (groups from dotted names such as `l1.n2.w0`) (`--clusters`).
    public var clusters = false
    /// Draw the legend (node states, and the colour bar of `colorByGradient`) under the caption.
    /// A strip of frames draws it once: see ``Diagram/withoutLegend()``.
    public var showsLegend = true

    public init(rankdir: RankDir = .auto, theme: Theme = .light, colorByGradient: Bool = false) {
        self.rankdir = rankdir
        self.theme = theme
        self.colorByGradient = colorByGradient
    }
}

extension Scene {
    /// The DOT id of a node.
    public static func dotID(_ id: NodeID) -> String { "n\(id)" }

    /// The direction DOT asks for: the style's, or under `auto` (no layout to compare) the one
    /// estimated from the ranks, as pictures of big graphs choose it.
    func direction(_ style: RenderStyle) -> RenderStyle.RankDir {
        style.rankdir == .auto ? Diagram.estimatedDirection(self, limit: style.maxWidth ?? 900) : style.rankdir
    }

    /// The scene as a DOT graph a user can run through `dot`; with a layout, every node is
    /// pinned at its position (`pos="x,y!"`) so that `neato -n2` redraws exactly that picture.
    ///
    /// Edge labels follow `style.labels` as pictures word them (``EdgeLabel``); `style.outline` draws
    /// nodes as their title and gradient and leaves edges unlabelled.
    /// `clusters` (scene node indices, as ``Diagram/clusters(graph:output:visible:)`` gives them) nest the
    /// nodes in labelled `cluster_K` subgraphs: the module boxes of `--clusters`.
    public func dot(style: RenderStyle, layout: Layout? = nil, colorScale: ColorScale? = nil,
                    clusters: [(name: String, members: [Int])] = []) -> DOTGraph {
        let theme = style.theme
        var g = DOTGraph(id: "gradtrace")
        g.attributes = [
            DOTAttribute("rankdir", direction(style).rawValue),
            DOTAttribute("bgcolor", theme.background.hex),
            DOTAttribute("fontname", style.fontFamily),
            DOTAttribute("fontcolor", theme.text.hex),
        ]
        if let title, !title.isEmpty {
            g.attributes += [DOTAttribute("label", title), DOTAttribute("labelloc", "t"),
                             DOTAttribute("fontsize", DOTEscaping.number(style.titleFontSize))]
        }
        if let layout {
            g.attributes.append(DOTAttribute("bb", "0,0,\(DOTEscaping.number(layout.graphWidth)),\(DOTEscaping.number(layout.graphHeight))"))
        }
        var comment = "step \(step) of \(stepCount): \(caption)"
        if let layout, !layout.bands.isEmpty {
            comment += "; split by module into bands: " + layout.bands.map { $0.label.isEmpty ? "-" : $0.label }.joined(separator: " | ")
                + " (positions pinned: draw with neato -n2)"
        }
        g.attributes.append(DOTAttribute("comment", comment))
        g.nodeDefaults = [
            DOTAttribute("shape", "box"), DOTAttribute("fontname", style.fontFamily),
            DOTAttribute("fontsize", DOTEscaping.number(style.nodeFontSize)), DOTAttribute("fontcolor", theme.text.hex),
        ]
        g.edgeDefaults = [
            DOTAttribute("fontname", style.fontFamily), DOTAttribute("fontsize", DOTEscaping.number(style.edgeFontSize)),
        ]
        g.statements += LayoutRequest.clusterSkeleton(clusters, nodeCount: nodes.count, label: { $0 }) { Scene.dotID(nodes[$0].id) }
        let tensor = nodes.contains { $0.tensor != nil }
        for (k, n) in nodes.enumerated() {
            let s = theme.style(n.state)
            let colors = style.nodeColors(n, scale: colorScale)
            var styles = ["rounded", "filled"]
            if s.dashed { styles.append("dashed") }
            if n.isOutput { styles.append("bold") }
            var attrs = [
                DOTAttribute("label", (style.outline ? Scene.outlineLines(n).enumerated().map { style.bands && $0.offset == 0 ? Bands.name($0.element) : $0.element } : n.lines)
                    .filter { !$0.isEmpty }.joined(separator: "\n")),
                DOTAttribute("style", styles.joined(separator: ",")),
                DOTAttribute("fillcolor", colors.fill.hex),
                DOTAttribute("fontcolor", colors.text.hex),
                DOTAttribute("color", n.nonFinite ? theme.warning.hex : s.border.hex),
                DOTAttribute("penwidth", DOTEscaping.number(n.nonFinite ? 3 : s.borderWidth)),
                DOTAttribute("class", n.state.rawValue),
            ]
            if let layout {
                let box = layout.nodes[k]
                attrs += [
                    DOTAttribute("pos", "\(DOTEscaping.number(box.x)),\(DOTEscaping.number(layout.graphHeight - box.y))!"),
                    DOTAttribute("width", DOTEscaping.number(box.width / 72, decimals: 4)),
                    DOTAttribute("height", DOTEscaping.number(box.height / 72, decimals: 4)),
                    DOTAttribute("fixedsize", "true"),
                ]
            }
            g.statements.append(.node(Scene.dotID(n.id), attrs))
        }
        if let layout, !layout.bands.isEmpty {
            // Split by module: each band's modules, and the proxies that edges from other bands start at.
            for (k, p) in layout.proxies.enumerated() where p.node < nodes.count {
                let n = nodes[p.node]
                let lines = Scene.outlineLines(n)
                let title = Bands.proxyTitle(n.title, above: p.above)
                let s = theme.style(n.state)
                g.statements.append(.node(Scene.dotID(n.id) + "_proxy\(k)", [
                    DOTAttribute("label", ([title] + lines.dropFirst()).filter { !$0.isEmpty }.joined(separator: "\n")),
                    DOTAttribute("style", "rounded,filled,dashed"),
                    DOTAttribute("fillcolor", style.nodeColors(n, scale: colorScale).fill.hex),
                    DOTAttribute("color", s.border.hex),
                    DOTAttribute("class", "proxy " + n.state.rawValue),
                    DOTAttribute("pos", "\(DOTEscaping.number(p.box.x)),\(DOTEscaping.number(layout.graphHeight - p.box.y))!"),
                    DOTAttribute("width", DOTEscaping.number(p.box.width / 72, decimals: 4)),
                    DOTAttribute("height", DOTEscaping.number(p.box.height / 72, decimals: 4)),
                    DOTAttribute("fixedsize", "true"),
                ]))
            }
        }
        for e in edges {
            let s = theme.style(e.state)
            var attrs = [
                DOTAttribute("color", s.line.hex),
                DOTAttribute("penwidth", DOTEscaping.number(s.width)),
                DOTAttribute("fontcolor", s.text.hex),
                DOTAttribute("class", e.state.rawValue),
            ]
            let label = style.outline ? [] : EdgeLabel.lines(e.lines, style: style, whole: tensor).map(\.text)
            if !label.isEmpty { attrs.insert(DOTAttribute("label", label.joined(separator: "\n")), at: 0) }
            if let layout, e.index < layout.edges.count {
                let path = layout.edges[e.index]
                func pt(_ p: Point) -> String { "\(DOTEscaping.number(p.x)),\(DOTEscaping.number(layout.graphHeight - p.y))" }
                var spline = path.curves.first.map { $0.map(pt).joined(separator: " ") } ?? ""
                if let tip = path.arrowTip { spline = "e,\(pt(tip)) " + spline }
                if !spline.isEmpty { attrs.append(DOTAttribute("pos", spline)) }
                if let lp = path.labelCenter { attrs.append(DOTAttribute("lp", pt(lp))) }
            }
            // An edge from another band starts at its proxy there.
            let proxy = layout.map { e.index < $0.edgeProxy.count ? $0.edgeProxy[e.index] : -1 } ?? -1
            g.statements.append(.edge(proxy >= 0 ? Scene.dotID(e.from) + "_proxy\(proxy)" : Scene.dotID(e.from), Scene.dotID(e.to), attrs))
        }
        return g
    }
}
