import GradTrace

/// Splitting by module, the last rung of ``Diagram``'s width ladder: a graph too wide for its column even
/// as small boxes is wrapped at module boundaries, as text wraps at words. Each band holds one or more
/// consecutive top-level modules (`l1`, `l2`; `attn`, `mlp`; `block1`, `block2`), laid out on its own and
/// stacked under the one before, with the modules' names over it. A module still too wide alone is split
/// into its own modules (`block1.attn`, `block1.mlp`), down to ``maxDepth`` name levels.
///
/// Every edge is drawn inside the band of the node it leads to: an edge from a node of another band starts
/// at a proxy, a small box at the head of the band with that node's name (`↑ l1.n0.out`) and state, so the
/// gradient the edge sends back is labelled where the chain rule applies and no line crosses a band.
///
/// Nodes outside every module (inputs, the loss, unnamed constants) go with the module they feed or
/// follow: an operation joins the band of its latest input, an input the band of its first reader.
///
/// ```swift
/// // The scalar MLP demo at --max-width 660: bands l1, l2, l3 (with the loss), each 600 pt wide or less.
/// let layout = try Bands.layout(request, units: { members, depth in … }, limit: 628, proxySize: { _ in (80, 36) })
/// layout?.bands.map(\.label)   // ["l1", "l2", "l3"]
/// ```
enum Bands {
    /// Space between two bands (a rule is drawn in its middle), and the height of a band's label line.
    static let gap = 14.0
    static let labelHeight = 16.0
    /// The deepest name level a module is split to.
    static let maxDepth = 4
    /// The most runs a module without modules inside is wrapped into, at rank boundaries.
    static let maxRuns = 6

    /// A proxy's title: the node's name (its title without the expression) after an arrow pointing to the band it is drawn in.
    static func proxyTitle(_ title: String, above: Bool) -> String { (above ? "↑ " : "↓ ") + name(title) }

    /// A title as a small box of a split graph shows it: the name without its expression
    /// (`l1.n0.out = tanh(l1.n0.sum)` → `l1.n0.out`); the caption tells each step's chain.
    static func name(_ title: String) -> String { Scene.outlineTensorTitle(Scene.outlineTitle(title)) }

    /// `members` cut into `pieces` runs of consecutive ranks (the longest path from the run's first
    /// nodes), for a module too wide alone that has no modules inside it: a node with no input among
    /// `members` (a parameter, an input) goes with its first reader. O(members + edges).
    static func rankRuns(_ members: [Int], edges: [(from: Int, to: Int)], pieces: Int) -> [[Int]] {
        let sorted = members.sorted()
        var inside: [Int: Int] = [:]
        for (i, k) in sorted.enumerated() { inside[k] = i }
        var rank = [Int](repeating: 0, count: sorted.count)
        var hasInput = [Bool](repeating: false, count: sorted.count)
        var readers = [[Int]](repeating: [], count: sorted.count)
        // Scene indices are in creation order: every input comes before its readers.
        for e in edges.sorted(by: { ($0.to, $0.from) < ($1.to, $1.from) }) {
            guard let a = inside[e.from], let b = inside[e.to] else { continue }
            rank[b] = max(rank[b], rank[a] + 1)
            hasInput[b] = true
            readers[a].append(b)
        }
        let top = rank.max() ?? 0
        var piece = rank.map { min(pieces - 1, $0 * pieces / (top + 1)) }
        for i in sorted.indices.reversed() where !hasInput[i] && !readers[i].isEmpty { piece[i] = readers[i].map { piece[$0] }.min()! }
        var runs = [[Int]](repeating: [], count: pieces)
        for (i, k) in sorted.enumerated() { runs[piece[i]].append(k) }
        return runs.filter { !$0.isEmpty }
    }

    /// A run of nodes (scene indices) that stays in one band, with the module name it shows (nil for none).
    struct Unit {
        var label: String?
        var members: [Int]
    }

    /// The modules of `members` (scene indices of `visible`) at name depth `depth`, in the order their
    /// first operations run; nodes outside every module join a neighbouring one (see ``Bands``). Fewer
    /// than two modules: nothing to split, an empty list. O(members + edges).
    static func units(graph: any GraphStructure, output: NodeID, visible: [NodeID], members: [Int], depth: Int,
                      edges: [(from: Int, to: Int)]) -> [Unit] {
        let grouping = Grouping(graph: graph, output: output, level: .module(depth: depth))
        let sorted = members.sorted()
        var inside = [Bool](repeating: false, count: visible.count)
        for k in sorted { inside[k] = true }
        var inputs = [[Int]](repeating: [], count: visible.count), readers = [[Int]](repeating: [], count: visible.count)
        for e in edges where e.from >= 0 && e.to >= 0 && inside[e.from] && inside[e.to] {
            inputs[e.to].append(e.from)
            readers[e.from].append(e.to)
        }
        func group(_ k: Int) -> String? { visible[k] < grouping.groupOf.count ? grouping.groupOf[visible[k]] : nil }
        // A module: a group some drawn node's dotted name spells (`l1` of `l1.n0.w0`), not a plain statement name.
        var modules = Set<String>()
        for k in sorted {
            if let g = group(k), let name = graph.name(of: visible[k]), name.hasPrefix(g + ".") { modules.insert(g) }
        }
        var unitOf = [Int](repeating: -1, count: visible.count)
        var labels: [String] = []
        var index: [String: Int] = [:]
        for k in sorted where !inputs[k].isEmpty {
            guard let g = group(k), modules.contains(g) else { continue }
            if index[g] == nil { index[g] = labels.count; labels.append(g) }
            unitOf[k] = index[g]!
        }
        guard labels.count >= 2 else { return [] }
        for k in sorted where inputs[k].isEmpty { if let g = group(k), let u = index[g] { unitOf[k] = u } }
        // Operations outside a module follow their latest input; what is left (inputs, constants) goes with its first reader.
        for k in sorted where unitOf[k] < 0 && !inputs[k].isEmpty {
            if let u = inputs[k].map({ unitOf[$0] }).filter({ $0 >= 0 }).max() { unitOf[k] = u }
        }
        var changed = true
        while changed {
            changed = false
            for k in sorted.reversed() where unitOf[k] < 0 {
                if let u = readers[k].map({ unitOf[$0] }).filter({ $0 >= 0 }).min() { unitOf[k] = u; changed = true }
            }
            for k in sorted where unitOf[k] < 0 {
                if let u = inputs[k].map({ unitOf[$0] }).filter({ $0 >= 0 }).max() { unitOf[k] = u; changed = true }
            }
        }
        var units = labels.map { Unit(label: $0, members: []) }
        for k in sorted { units[max(0, unitOf[k])].members.append(k) }
        return units
    }

    /// The request's graph split into bands no wider than `limit` where the modules allow (see ``Bands``):
    /// nil when the graph has fewer than two modules. `units(members, depth)` gives the modules of some
    /// nodes at a name depth; `proxySize(k)` the size of node `k`'s proxy. Cost: about two Graphviz
    /// layouts of a band per module.
    static func layout(_ request: LayoutRequest, units: ([Int], Int) -> [Unit], limit: Double,
                       proxySize: (Int) -> (width: Double, height: Double),
                       lay: (LayoutRequest) throws(RenderError) -> Layout) throws(RenderError) -> Layout? {
        let all = Array(request.nodeSizes.indices)
        let ends = request.edges.map { (from: $0.from, to: $0.to) }
        let top = units(all, 1)
        guard top.count >= 2 else { return nil }
        typealias Band = (members: [Int], labels: [String], layout: Layout, proxies: [Int], edges: [Int])
        func layBand(_ members: [Int]) throws(RenderError) -> Band {
            let (sub, proxies, edges) = subRequest(request, members: members, proxySize: proxySize)
            return (members, [], try lay(sub), proxies, edges)
        }
        var bands: [Band] = []
        func place(_ list: [Unit], depth: Int) throws(RenderError) {
            var current: Band?
            for u in list {
                if let c = current {
                    var merged = try layBand((c.members + u.members).sorted())
                    if merged.layout.graphWidth <= limit + 0.5 {
                        merged.labels = c.labels + (u.label.map { [$0] } ?? [])
                        current = merged
                        continue
                    }
                    bands.append(c)
                    current = nil
                }
                var alone = try layBand(u.members)
                if alone.layout.graphWidth > limit + 0.5 && depth < maxDepth {
                    let inner = units(u.members, depth + 1)
                    if inner.count >= 2 {
                        try place(inner, depth: depth + 1)
                        continue
                    }
                }
                if alone.layout.graphWidth > limit + 0.5 {
                    // No modules inside: wrap the module itself, at rank boundaries, into the fewest runs that fit.
                    var best: [Band]?
                    for pieces in 2...maxRuns {
                        let runs = rankRuns(u.members, edges: ends, pieces: pieces)
                        guard runs.count == pieces else { break }
                        var laid: [Band] = []
                        for (i, run) in runs.enumerated() {
                            var b = try layBand(run)
                            b.labels = u.label.map { ["\($0) (\(i + 1) of \(runs.count))"] } ?? []
                            laid.append(b)
                        }
                        func widest(_ bs: [Band]) -> Double { bs.map { $0.layout.graphWidth }.max() ?? 0 }
                        if best == nil || widest(laid) < widest(best!) - 0.5 { best = laid }
                        if widest(laid) <= limit + 0.5 { break }
                    }
                    if let best, (best.map { $0.layout.graphWidth }.max() ?? 0) < alone.layout.graphWidth {
                        bands += best
                        continue
                    }
                }
                alone.labels = u.label.map { [$0] } ?? []
                current = alone
            }
            if let c = current { bands.append(c) }
        }
        try place(top, depth: 1)
        guard bands.count >= 2 else { return nil }

        // Stack the bands: each laid out from its own top left, moved under the one before.
        var bandOf = [Int](repeating: 0, count: request.nodeSizes.count)
        for (b, band) in bands.enumerated() { for k in band.members { bandOf[k] = b } }
        var out = Layout(nodes: [Layout.Box](repeating: Layout.Box(x: 0, y: 0, width: 0, height: 0), count: request.nodeSizes.count),
                         edges: [Layout.Path](repeating: Layout.Path(curves: [], arrowTip: nil, labelCenter: nil, labelSize: (0, 0)), count: request.edges.count),
                         graphWidth: bands.map { $0.layout.graphWidth }.max() ?? 0, graphHeight: 0)
        out.edgeProxy = [Int](repeating: -1, count: request.edges.count)
        var y = 0.0
        for (b, band) in bands.enumerated() {
            let label = band.labels.joined(separator: ", ")
            let oy = y + labelHeight
            func moved(_ p: Point) -> Point { Point(p.x, p.y + oy) }
            func moved(_ box: Layout.Box) -> Layout.Box { var m = box; m.y += oy; return m }
            let l = band.layout
            for (i, k) in band.members.enumerated() { out.nodes[k] = moved(l.nodes[i]) }
            var proxyIndex: [Int] = []
            for (j, k) in band.proxies.enumerated() {
                proxyIndex.append(out.proxies.count)
                out.proxies.append(Layout.Proxy(node: k, box: moved(l.nodes[band.members.count + j]), above: bandOf[k] < b))
            }
            for (i, e) in band.edges.enumerated() {
                let p = l.edges[i]
                out.edges[e] = Layout.Path(curves: p.curves.map { $0.map(moved) }, arrowTip: p.arrowTip.map(moved),
                                           labelCenter: p.labelCenter.map(moved), labelSize: p.labelSize)
                let from = request.edges[e].from
                if bandOf[from] != b, let j = band.proxies.firstIndex(of: from) { out.edgeProxy[e] = proxyIndex[j] }
            }
            for c in l.clusters {
                var m = c
                m.y += oy
                out.clusters.append(m)
            }
            out.bands.append(Layout.Band(label: label, y: y, height: labelHeight + l.graphHeight))
            y = oy + l.graphHeight + gap
        }
        out.graphHeight = y - gap
        return out
    }

    /// The part of `request` one band lays out: its members, then a proxy for each node outside it that
    /// an edge into it comes from (in the order of those edges), and every edge into its members. Returns
    /// the request, the proxies' nodes and the edges' indices in `request`.
    static func subRequest(_ request: LayoutRequest, members: [Int], proxySize: (Int) -> (width: Double, height: Double))
        -> (request: LayoutRequest, proxies: [Int], edges: [Int]) {
        var local = [Int](repeating: -1, count: request.nodeSizes.count)
        for (i, k) in members.enumerated() { local[k] = i }
        var proxies: [Int] = []
        var proxyLocal: [Int: Int] = [:]
        var edges: [(from: Int, to: Int, labelWidth: Double, labelHeight: Double)] = []
        var edgeIndex: [Int] = []
        for (e, edge) in request.edges.enumerated() where local[edge.to] >= 0 {
            var from = local[edge.from]
            if from < 0 {
                if let p = proxyLocal[edge.from] {
                    from = p
                } else {
                    from = members.count + proxies.count
                    proxyLocal[edge.from] = from
                    proxies.append(edge.from)
                }
            }
            edges.append((from, local[edge.to], edge.labelWidth, edge.labelHeight))
            edgeIndex.append(e)
        }
        var sub = LayoutRequest(nodeSizes: members.map { request.nodeSizes[$0] } + proxies.map(proxySize), edges: edges, rankdir: request.rankdir)
        sub.tight = request.tight
        sub.clusters = request.clusters.compactMap { c in
            let ms = c.members.compactMap { local[$0] >= 0 ? local[$0] : nil }
            return ms.isEmpty ? nil : (c.name, ms)
        }
        sub.spine = request.spine.compactMap { local[$0] >= 0 ? local[$0] : nil }
        sub.repeats = request.repeats.compactMap { r in
            let ns = r.nodes.compactMap { local[$0] >= 0 ? local[$0] : nil }
            return ns.count >= 2 ? (ns, r.stacked) : nil
        }
        return (sub, proxies, edgeIndex)
    }
}
