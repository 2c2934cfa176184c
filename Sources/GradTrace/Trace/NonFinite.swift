extension Trace {
    /// For every node: true when its gradient passed through a NaN or an infinity on its way from `output`
    /// (a forward value or a local gradient that is not finite), or is itself not finite.
    ///
    /// `y = log(x)·2` at x = −1 gives dy/dx = −2 from finite numbers, but through log(−1) = NaN: flagged.
    /// - Complexity: O(nodes up to `output`).
    public static func nonFinitePaths(graph: Graph, output: NodeID, gradients: [Double]) -> [Bool] {
        var flagged = [Bool](repeating: false, count: graph.count)
        let mask = graph.ancestors(of: output)
        var id = output
        while id >= 0 {
            defer { id -= 1 }
            guard mask[id] else { continue }
            let n = graph[id]
            let tainted = flagged[id] || !n.value.isFinite || (id < gradients.count && !gradients[id].isFinite)
            flagged[id] = tainted
            guard !n.op.isLeaf else { continue }
            let a = graph[n.a].value, b = n.b >= 0 ? graph[n.b].value : 0
            let (la, lb) = n.op.localGradients(a, b, output: n.value)
            flagged[n.a] = flagged[n.a] || tainted || !la.isFinite
            if n.b >= 0 { flagged[n.b] = flagged[n.b] || tainted || !lb.isFinite }
        }
        return flagged
    }
}

extension Report {
    /// The warning lines for inputs whose gradient passed through a NaN or an infinity (empty when none did).
    ///
    /// `warning: dy/dx passed through a NaN or an infinity (log(x) = nan): do not trust it`
    public static func nonFiniteWarnings(graph: Graph, output: NodeID, outputName: String, gradients: [Double]) -> [String] {
        let flagged = Trace.nonFinitePaths(graph: graph, output: output, gradients: gradients)
        // Nothing flagged (the common case): no names needed.
        guard graph.inputIDs.contains(where: { $0 <= output && flagged[$0] }) else { return [] }
        let mask = graph.ancestors(of: output)
        let labels = NameTable(graph: graph)
        var culprits: [String] = []
        for id in 0...output where mask[id] && !graph[id].value.isFinite {
            culprits.append("\(labels.name(of: id)) = \(NumberFormat.exact(graph[id].value))")
            if culprits.count == 3 { culprits.append("…"); break }
        }
        var lines: [String] = []
        for id in graph.inputIDs where id <= output && flagged[id] {
            let name = graph.name(of: id) ?? "v\(id)"
            let why = culprits.isEmpty ? "a local gradient is not finite" : culprits.joined(separator: ", ")
            lines.append("warning: d\(outputName)/d\(name) passed through a NaN or an infinity (\(why)): do not trust it")
        }
        return lines
    }
}
