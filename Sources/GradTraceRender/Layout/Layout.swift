import GradTrace

/// A point in layout space: points (1/72 inch), origin at the top left, y pointing down.
public struct Point: Sendable, Hashable {
    public var x: Double, y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// The geometry of a scene, computed once per graph and shared by every frame.
///
/// Arrays run parallel to ``Scene/nodes`` and ``Scene/edges`` (the same for every step of a trace).
public struct Layout: Sendable, Hashable {
    /// A node's box: centre and size.
    public struct Box: Sendable, Hashable {
        public var x: Double, y: Double, width: Double, height: Double
    }

    /// An edge's path: cubic Bézier pieces (3k+1 points each), the arrow tip, and the label's centre.
    public struct Path: Sendable, Hashable {
        public var curves: [[Point]]
        public var arrowTip: Point?
        public var labelCenter: Point?
        public var labelSize: (width: Double, height: Double)

        public static func == (a: Path, b: Path) -> Bool {
            a.curves == b.curves && a.arrowTip == b.arrowTip && a.labelCenter == b.labelCenter
                && a.labelSize.width == b.labelSize.width && a.labelSize.height == b.labelSize.height
        }

        public func hash(into h: inout Hasher) {
            h.combine(curves)
            h.combine(arrowTip)
            h.combine(labelCenter)
        }
    }

    /// A cluster's box (a neuron or a layer), with its name; outer clusters come first.
    public struct Cluster: Sendable, Hashable {
        public var name: String
        public var x: Double, y: Double, width: Double, height: Double
        /// 1 for a layer, 2 for a neuron inside it.
        public var depth: Int
    }

    public var nodes: [Box]
    public var edges: [Path]
    public var clusters: [Cluster] = []
    /// The size of the graph drawing (Graphviz's bounding box), in points.
    public var graphWidth: Double
    public var graphHeight: Double
}

/// Sizes of everything a layout must make room for, measured from the widest text ever shown.
public struct LayoutRequest: Sendable {
    public var nodeSizes: [(width: Double, height: Double)]
    /// (from index, to index) into the node list, and the label size (0×0 for none).
    public var edges: [(from: Int, to: Int, labelWidth: Double, labelHeight: Double)]
    public var rankdir: RenderStyle.RankDir
    /// Nested groups to box: a name (`l1`, `l1.n2`) and its member node indices. A group whose
    /// name extends another's (`l1.n2` in `l1`) is drawn inside it.
    public var clusters: [(name: String, members: [Int])] = []
    /// Node indices to keep on one straight line (Graphviz's `group`): the spine of a tensor network.
    public var spine: [Int] = []
    /// Corresponding nodes of repeated blocks (``Diagram/repeats(graph:visible:)``): side-by-side ones share a
    /// rank (unless clusters are drawn, as Graphviz cannot rank nodes of different clusters together).
    public var repeats: [(nodes: [Int], stacked: Bool)] = []
    /// Half the usual gaps between nodes and between ranks (a rung of ``Diagram``'s width ladder).
    public var tight = false

    public init(nodeSizes: [(width: Double, height: Double)], edges: [(from: Int, to: Int, labelWidth: Double, labelHeight: Double)],
                rankdir: RenderStyle.RankDir) {
        self.nodeSizes = nodeSizes
        self.edges = edges
        self.rankdir = rankdir
    }

    /// Nested `cluster_K` subgraphs holding their member nodes (attributes come with the nodes'
    /// own statements): layers contain their neurons, `attn` contains `attn.q`, and a node belongs
    /// to its innermost cluster. Graphviz layouts and the DOT a user reads both nest this way.
    public static func clusterSkeleton(_ clusters: [(name: String, members: [Int])], nodeCount: Int,
                                       label: (String) -> String, nodeID: (Int) -> String) -> [DOTStatement] {
        guard !clusters.isEmpty else { return [] }
        var innermost = [Int](repeating: -1, count: nodeCount)
        let sorted = clusters.indices.sorted { clusters[$0].name.count < clusters[$1].name.count }
        for c in sorted { for m in clusters[c].members where m < innermost.count { innermost[m] = c } }
        func parent(_ c: Int) -> Int? {
            let name = clusters[c].name
            return clusters.indices.filter { $0 != c && name.hasPrefix(clusters[$0].name + ".") }
                .max { clusters[$0].name.count < clusters[$1].name.count }
        }
        func body(_ c: Int?) -> [DOTStatement] {
            var out: [DOTStatement] = []
            for k in clusters.indices where parent(k) == c {
                out.append(.subgraph("cluster_\(k)", [DOTAttribute("label", label(clusters[k].name)), DOTAttribute("margin", "10")], body(k)))
            }
            if let c {
                for (i, owner) in innermost.enumerated() where owner == c { out.append(.node(nodeID(i), [])) }
            }
            return out
        }
        return body(nil)
    }

    /// The DOT handed to Graphviz: fixed-size boxes and fixed-size label cells, no text,
    /// so Graphviz's own font metrics play no part.
    func dot() -> DOTGraph {
        var g = DOTGraph(id: "layout")
        g.attributes = [
            DOTAttribute("rankdir", rankdir == .TB ? "TB" : "LR"),
            DOTAttribute("nodesep", tight ? "0.12" : "0.3"),
            DOTAttribute("ranksep", tight ? "0.25" : "0.45"),
        ]
        g.nodeDefaults = [DOTAttribute("shape", "box"), DOTAttribute("fixedsize", "true"), DOTAttribute("label", "")]
        g.edgeDefaults = [DOTAttribute("arrowsize", "0.9")]
        g.statements += LayoutRequest.clusterSkeleton(clusters, nodeCount: nodeSizes.count, label: { _ in "" }) { "n\($0)" }
        let onSpine = Set(spine)
        for (i, s) in nodeSizes.enumerated() {
            var attrs = [
                DOTAttribute("width", DOTEscaping.number(s.width / 72, decimals: 4)),
                DOTAttribute("height", DOTEscaping.number(s.height / 72, decimals: 4)),
            ]
            if onSpine.contains(i) { attrs.append(DOTAttribute("group", "spine")) }
            g.statements.append(.node("n\(i)", attrs))
        }
        for (k, e) in edges.enumerated() {
            var attrs = [DOTAttribute("id", "e\(k)")]
            if e.labelWidth > 0 {
                let w = Int(e.labelWidth.rounded(.up)), h = Int(e.labelHeight.rounded(.up))
                attrs.append(DOTAttribute("label", html: "<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"0\"><TR><TD FIXEDSIZE=\"TRUE\" WIDTH=\"\(w)\" HEIGHT=\"\(h)\"></TD></TR></TABLE>"))
            }
            g.statements.append(.edge("n\(e.from)", "n\(e.to)", attrs))
        }
        // Side-by-side repeated blocks (neurons of a layer, heads) share ranks, node for node. (Stacked blocks
        // line up under Graphviz's own layout already; invisible edges pulling them together were tried and
        // moved the first block off the line.)
        for (k, r) in repeats.enumerated() where r.nodes.count >= 2 && !r.stacked && clusters.isEmpty {
            g.statements.append(.subgraph("repeat_\(k)", [DOTAttribute("rank", "same")], r.nodes.map { .node("n\($0)", []) }))
        }
        return g
    }
}
