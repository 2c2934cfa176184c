import CGraphviz
import Foundation
import GradTrace

/// The one owner of every Graphviz call in the process.
///
/// libgvc is not thread-safe (two threads with their own contexts crash), so all work goes
/// through this lock, with one `GVC_t` for the whole process, and only plain Swift values
/// come out.
public final class Graphviz: @unchecked Sendable {
    public static let shared = Graphviz()

    private let lock = NSLock()
    private var context: OpaquePointer?

    private init() {}

    /// Lays out a request with the `dot` engine. Cost: Graphviz's own (about 40 ms for a
    /// 1,000-node chain, seconds for DAGs of thousands of nodes).
    public func layout(_ request: LayoutRequest) throws(RenderError) -> Layout {
        lock.lock()
        defer { lock.unlock() }
        if context == nil { context = gvContext() }
        guard let gvc = context else { throw RenderError.graphviz("could not create a Graphviz context") }
        let text = request.dot().text
        // Read with object ids counted in the order objects are made (gt_read_dot), not cgraph's default
        // ids (the addresses of interned names), by which dot orders cluster members: clustered layouts
        // otherwise changed with the heap, from run to run and from one call to the next.
        var utf8 = text
        guard let g = utf8.withUTF8({ u in u.withMemoryRebound(to: CChar.self) { gt_read_dot($0.baseAddress, $0.count) } }) else {
            throw RenderError.graphviz("Graphviz could not read the layout graph")
        }
        defer { agclose(g) }
        let rc = "dot".withCString { gvLayout(gvc, g, UnsafeMutablePointer(mutating: $0)) }
        guard rc == 0 else {
            throw RenderError.graphviz("Graphviz's dot layout failed (is the graphviz package installed? apt-get install graphviz)")
        }
        defer { gvFreeLayout(gvc, g) }

        let llx = gt_bb_llx(g), lly = gt_bb_lly(g), urx = gt_bb_urx(g), ury = gt_bb_ury(g)
        func flip(_ x: Double, _ y: Double) -> Point { Point(x - llx, ury - y) }

        var boxes: [Layout.Box] = []
        boxes.reserveCapacity(request.nodeSizes.count)
        for i in request.nodeSizes.indices {
            guard let n = "n\(i)".withCString({ agnode(g, UnsafeMutablePointer(mutating: $0), 0) }) else {
                throw RenderError.graphviz("node n\(i) vanished from the layout")
            }
            let p = flip(gt_node_x(n), gt_node_y(n))
            boxes.append(Layout.Box(x: p.x, y: p.y, width: gt_node_width(n) * 72, height: gt_node_height(n) * 72))
        }

        var paths = [Layout.Path?](repeating: nil, count: request.edges.count)
        var node = agfstnode(g)
        while let n = node {
            var edge = agfstout(g, n)
            while let e = edge {
                let idText = "id".withCString { agget(UnsafeMutableRawPointer(e), UnsafeMutablePointer(mutating: $0)) }
                if let idText, let k = Int(String(cString: idText).dropFirst()), k >= 0, k < paths.count {
                    var curves: [[Point]] = []
                    var tip: Point?
                    for b in 0..<gt_edge_bezier_count(e) {
                        var pts: [Point] = []
                        for i in 0..<gt_edge_point_count(e, b) { pts.append(flip(gt_edge_point_x(e, b, i), gt_edge_point_y(e, b, i))) }
                        curves.append(pts)
                        if gt_edge_has_end(e, b) != 0 { tip = flip(gt_edge_end_x(e, b), gt_edge_end_y(e, b)) }
                    }
                    let label = gt_edge_has_label(e) != 0 ? flip(gt_edge_label_x(e), gt_edge_label_y(e)) : nil
                    let r = request.edges[k]
                    paths[k] = Layout.Path(curves: curves, arrowTip: tip, labelCenter: label,
                                           labelSize: (r.labelWidth, r.labelHeight))
                }
                edge = agnxtout(g, e)
            }
            node = agnxtnode(g, n)
        }
        let edges = try paths.enumerated().map { (k, p) throws(RenderError) -> Layout.Path in
            guard let p else { throw RenderError.graphviz("edge e\(k) vanished from the layout") }
            return p
        }
        // Cluster boxes, read from every subgraph named cluster_K.
        var clusters: [Layout.Cluster] = []
        var stack: [(UnsafeMutablePointer<Agraph_t>, Int)] = []
        var sub = agfstsubg(g)
        while let s = sub { stack.append((s, 1)); sub = agnxtsubg(s) }
        while let (s, depth) = stack.popLast() {
            if let cname = agnameof(UnsafeMutableRawPointer(s)), let k = Int(String(cString: cname).dropFirst("cluster_".count)),
               k >= 0, k < request.clusters.count {
                let lo = flip(gt_bb_llx(s), gt_bb_ury(s)), hi = flip(gt_bb_urx(s), gt_bb_lly(s))
                clusters.append(Layout.Cluster(name: request.clusters[k].name, x: lo.x, y: lo.y, width: hi.x - lo.x,
                                               height: hi.y - lo.y, depth: depth))
            }
            var inner = agfstsubg(s)
            while let t = inner { stack.append((t, depth + 1)); inner = agnxtsubg(t) }
        }
        clusters.sort { ($0.depth, $0.name) < ($1.depth, $1.name) }
        var layout = Layout(nodes: boxes, edges: edges, graphWidth: urx - llx, graphHeight: ury - lly)
        layout.clusters = clusters
        if clusters.isEmpty {
            layout.lineUp(request.repeats.filter(\.stacked).map(\.nodes), edges: request.edges.map { ($0.from, $0.to) }, rankdir: request.rankdir)
        }
        return layout
    }
}
