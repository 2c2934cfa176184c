extension Graph {
    /// The part of the graph that `output` depends on, as a graph of its own (ids renumbered in the same
    /// order, names kept), and the output's id in it. O(output).
    public func subgraph(towards output: NodeID) -> (graph: Graph, output: NodeID) {
        let mask = ancestors(of: output)
        var g = Graph()
        var map = [NodeID](repeating: -1, count: output + 1)
        for id in 0...output where mask[id] {
            let n = self[id]
            let names = self.names(of: id)
            switch n.op {
            case .input:
                map[id] = g.addInput(names.first ?? "v\(id)", n.value)
                for extra in names.dropFirst() { g.setName(extra, for: map[id]) }
            case .constant:
                map[id] = g.addConstant(n.value)
                for name in names { g.setName(name, for: map[id]) }
            default:
                map[id] = g.add(n.op, map[n.a], n.b >= 0 ? map[n.b] : -1)
                for name in names { g.setName(name, for: map[id]) }
            }
        }
        return (g, map[output])
    }
}

extension Value {
    /// The graph this value depends on (and nothing else its tape holds), with this value's id in it.
    public var graph: (graph: Graph, output: NodeID) { tape.graph.subgraph(towards: id) }
}

extension ProgramWriter {
    /// The program text of the graph `output` depends on, so a graph built in Swift can be given to the CLI.
    ///
    /// ```swift
    /// let x = Value(2, "x"), w = Value(3, "w")
    /// let L = ((w * x) ** 2).named("L")
    /// print(ProgramWriter.source(of: L))   // x = 2 … L = (w*x)^2
    /// ```
    public static func source(of output: Value, header: String = "") -> String {
        source(of: output.tape.graph, output: output.id, header: header)
    }

    /// The program text of `graph` up to `output`, a value recorded in it.
    public static func source(of graph: Graph, output: Value, header: String = "") -> String {
        source(of: graph, output: output.id, header: header)
    }
}
