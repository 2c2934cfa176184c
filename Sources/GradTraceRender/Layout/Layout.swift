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

    /// A stand-in, at the head of a band of a layout split by module, for a node laid out in another band
    /// (the last rung of ``Diagram``'s width ladder): every edge is drawn, with its label, inside the band of
    /// the node it leads to, from the node itself or from its proxy (a small box with its name and state).
    public struct Proxy: Sendable, Hashable {
        /// The node it stands for (an index into ``Layout/nodes``).
        public var node: Int
        public var box: Box
        /// Whether that node is in a band above this one (else below).
        public var above: Bool
    }

    /// One band of a layout split by module: the modules it holds, and its top and height (with its label).
    public struct Band: Sendable, Hashable {
        public var label: String
        public var y: Double
        public var height: Double
    }

    public var nodes: [Box]
    public var edges: [Path]
    public var clusters: [Cluster] = []
    /// Bands, top to bottom, when the graph is split by module (else empty), and their proxies.
    public var bands: [Band] = []
    public var proxies: [Proxy] = []
    /// Per edge, the proxy (index into ``proxies``) it is drawn from, or -1 (empty when not split).
    public var edgeProxy: [Int] = []
    /// The size of the graph drawing (Graphviz's bounding box), in points.
    public var graphWidth: Double
    public var graphHeight: Double
}

extension Layout {
    /// Lines up stacked repeated blocks (``Diagram/repeats(graph:visible:)``, `block2` reading `block1`): each
    /// node of a later block moves across the rank direction (x in TB, y in LR) to its counterpart in the
    /// first block, when the place is free (no other node or edge label within a gap, inside the picture).
    /// Edges follow: each point of a spline moves by its share of the moves of its two ends (by its place
    /// along the path), the arrow tip and label with the head or with their place. Graphviz cannot do this
    /// itself: invisible edges or groups tying the blocks together pull whole blocks off their lines.
    /// `edges` are the (from, to) node indices of ``edges``. O(chains × nodes + edges × points).
    mutating func lineUp(_ chains: [[Int]], edges ends: [(from: Int, to: Int)], rankdir: RenderStyle.RankDir) {
        let across = rankdir == .LR   // true: the cross axis is y
        func cross(_ b: Box) -> Double { across ? b.y : b.x }
        let gap = 8.0
        var shift = [Double](repeating: 0, count: nodes.count)
        // Edge labels that do not move with a node (their edge's ends are not moved), as obstacles.
        func overlaps(_ a: (x0: Double, y0: Double, x1: Double, y1: Double), _ b: (x0: Double, y0: Double, x1: Double, y1: Double)) -> Bool {
            a.x0 < b.x1 + gap && b.x0 < a.x1 + gap && a.y0 < b.y1 + gap && b.y0 < a.y1 + gap
        }
        func rect(_ b: Box) -> (x0: Double, y0: Double, x1: Double, y1: Double) {
            (b.x - b.width / 2, b.y - b.height / 2, b.x + b.width / 2, b.y + b.height / 2)
        }
        /// Moves node `k` by `d` across if its new place is free; false (and nothing moved) if not.
        func move(_ k: Int, by d: Double) -> Bool {
            guard Swift.abs(d) >= 0.5 else { return true }
            var moved = nodes[k]
            if across { moved.y += d } else { moved.x += d }
            let r = rect(moved)
            guard r.x0 >= 0, r.y0 >= 0, r.x1 <= graphWidth, r.y1 <= graphHeight else { return false }
            let blocked = nodes.indices.contains { $0 != k && overlaps(r, rect(nodes[$0])) }
                || edges.indices.contains { e in
                    guard e < ends.count, ends[e].from != k, ends[e].to != k, let c = edges[e].labelCenter, edges[e].labelSize.width > 0 else { return false }
                    let s = edges[e].labelSize
                    return overlaps(r, (c.x - s.width / 2, c.y - s.height / 2, c.x + s.width / 2, c.y + s.height / 2))
                }
            guard !blocked else { return false }
            nodes[k] = moved
            shift[k] += d
            return true
        }
        for chain in chains where chain.count >= 2 && chain.allSatisfy({ $0 >= 0 && $0 < nodes.count }) {
            // The line: the first block's place if every other node can move there, else the next block's, …;
            // if none works for all, as many as can move to the first block's.
            let places = chain.map { cross(nodes[$0]) }
            var done = false
            for target in places {
                let (savedNodes, savedShift) = (nodes, shift)
                if chain.allSatisfy({ move($0, by: target - cross(nodes[$0])) }) { done = true; break }
                (nodes, shift) = (savedNodes, savedShift)
            }
            if !done { for k in chain.dropFirst() { _ = move(k, by: places[0] - cross(nodes[k])) } }
        }
        guard shift.contains(where: { $0 != 0 }) else { return }
        for e in edges.indices where e < ends.count {
            let (a, b) = ends[e]
            guard a >= 0, b >= 0, a < shift.count, b < shift.count else { continue }
            let da = shift[a], db = shift[b]
            guard da != 0 || db != 0 else { continue }
            var path = edges[e]
            let total = path.curves.reduce(0) { $0 + $1.count }
            guard total > 0 else { continue }
            func moved(_ p: Point, _ t: Double) -> Point {
                let d = da * (1 - t) + db * t
                return across ? Point(p.x, p.y + d) : Point(p.x + d, p.y)
            }
            // The label moves with the path point nearest it.
            var labelT = 0.5, nearest = Double.infinity
            var i = 0
            for (c, curve) in path.curves.enumerated() {
                for (j, p) in curve.enumerated() {
                    let t = total > 1 ? Double(i) / Double(total - 1) : 0
                    if let l = path.labelCenter {
                        let dist = (p.x - l.x) * (p.x - l.x) + (p.y - l.y) * (p.y - l.y)
                        if dist < nearest { nearest = dist; labelT = t }
                    }
                    path.curves[c][j] = moved(p, t)
                    i += 1
                }
            }
            if let tip = path.arrowTip { path.arrowTip = moved(tip, 1) }
            if let l = path.labelCenter { path.labelCenter = moved(l, labelT) }
            edges[e] = path
        }
    }
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
    /// rank, stacked ones are lined up across the ranks after the layout (``Layout/lineUp(_:edges:rankdir:)``);
    /// neither when clusters are drawn (Graphviz cannot rank nodes of different clusters together).
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
        // Side-by-side repeated blocks (neurons of a layer, heads) share ranks, node for node. (Stacked blocks are
        // lined up after the layout: invisible edges or groups pulling them together made Graphviz move whole
        // blocks off their lines, 20 → 670 pt apart on two transformer blocks.)
        for (k, r) in repeats.enumerated() where r.nodes.count >= 2 && !r.stacked && clusters.isEmpty {
            g.statements.append(.subgraph("repeat_\(k)", [DOTAttribute("rank", "same")], r.nodes.map { .node("n\($0)", []) }))
        }
        return g
    }
}
