/// Forward-mode differentiation as values: the tangent dv/dx of every node with respect to one
/// input, propagated from that input towards the output, step by step.
///
/// This is its own tangent propagation (dv/dx = Σ ∂v/∂uᵢ · duᵢ/dx in creation order), not a
/// reuse of the reverse pass, so the two can check each other: the output's tangent equals
/// the reverse-mode gradient ∂L/∂x.
///
/// ```swift
/// // x = 1; u = 3*x; v = u + 1; h = v^2
/// let f = ForwardTrace(graph: g, output: h, wrt: x)
/// f.tangents[h]   // 24
/// ```
public struct ForwardTrace: Sendable {
    /// One input edge of a forward step.
    public struct Edge: Sendable, Hashable {
        public var input: NodeID
        public var operand: Int
        /// ∂node/∂input at the forward values: the amplification factor.
        public var local: Double
        /// d input/dx.
        public var inputTangent: Double
        /// local × inputTangent.
        public var contribution: Double
    }

    /// One step: a node receives its tangent from its inputs.
    public struct Step: Sendable, Hashable {
        public var index: Int
        public var node: NodeID
        public var tangent: Double
        public var edges: [Edge]
    }

    /// The input the tangents are taken with respect to.
    public let wrt: NodeID
    public let output: NodeID
    /// dv/dx for every node (0 for nodes that do not depend on x).
    public let tangents: [Double]
    /// Steps in topological order from x towards the output, over the nodes that depend on x
    /// and on which the output depends.
    public let steps: [Step]

    /// Propagates tangents from `wrt`. O(nodes).
    public init(graph: Graph, output: NodeID, wrt: NodeID) {
        precondition(wrt >= 0 && wrt <= output, "the input must precede the output")
        let mask = graph.ancestors(of: output)
        var t = [Double](repeating: 0, count: graph.count)
        var depends = [Bool](repeating: false, count: graph.count)
        t[wrt] = 1
        depends[wrt] = true
        var steps: [Step] = []
        if wrt + 1 < graph.count {
            for id in (wrt + 1)..<graph.count {
                let n = graph[id]
                if n.op.isLeaf { continue }
                let ins = n.inputs
                guard ins.contains(where: { depends[$0] }) else { continue }
                depends[id] = true
                let (la, lb) = n.op.localGradients(graph[n.a].value, n.b >= 0 ? graph[n.b].value : 0, output: n.value)
                var edges: [Edge] = []
                var sum = 0.0
                for (k, input) in ins.enumerated() where depends[input] {
                    let local = k == 0 ? la : lb
                    let c = local * t[input]
                    sum += c
                    edges.append(Edge(input: input, operand: k, local: local, inputTangent: t[input], contribution: c))
                }
                t[id] = sum
                if id < mask.count && mask[id] {
                    steps.append(Step(index: steps.count + 1, node: id, tangent: sum, edges: edges))
                }
            }
        }
        self.wrt = wrt
        self.output = output
        self.tangents = t
        self.steps = steps
    }
}

/// The finite "wiggle" beside the linear prediction: x moved by h, every node re-evaluated.
public struct Wiggle: Sendable {
    public let h: Double
    /// Every node's value with x at x + h.
    public let values: [Double]

    /// Re-runs the graph with input `wrt` moved by `h`. O(nodes).
    public init(graph: Graph, wrt: NodeID, h: Double) {
        self.h = h
        self.values = graph.evaluated(setting: [wrt: graph[wrt].value + h])
    }

    /// The actual change of node `id`.
    public func actualChange(_ id: NodeID, graph: Graph) -> Double { values[id] - graph[id].value }
}

extension Report {
    /// The JSON of forward mode: every node's `"tangent"` (and `"wiggled"` value with a wiggle),
    /// and the steps in forward order.
    public static func forwardJSON(graph: Graph, forward f: ForwardTrace, outputName: String, wiggle: Wiggle?,
                                   to out: inout some TextOutputStream) {
        let names = NameTable(graph: graph)
        out.write("{\"mode\": \"forward\", \"output\": \(jsonString(outputName)), \"value\": \(NumberFormat.json(graph[f.output].value)),\n")
        out.write(" \"wrt\": \(jsonString(names.name(of: f.wrt))), \"tangent\": \(NumberFormat.json(f.tangents[f.output])),\n")
        if let w = wiggle {
            out.write(" \"wiggle\": {\"h\": \(NumberFormat.json(w.h)), \"wiggled\": \(NumberFormat.json(w.values[f.output])), \"actual_change\": \(NumberFormat.json(w.actualChange(f.output, graph: graph))), \"predicted_change\": \(NumberFormat.json(f.tangents[f.output] * w.h))},\n")
        }
        out.write(" \"nodes\": [\n")
        for id in 0..<graph.count {
            let n = graph[id]
            out.write("  {\"id\": \(id), \"name\": " + (graph.name(of: id).map(jsonString) ?? "null"))
            out.write(", \"op\": \"\(n.op.name)\", \"inputs\": [" + n.inputs.map(String.init).joined(separator: ", ") + "]")
            out.write(", \"value\": \(NumberFormat.json(n.value)), \"tangent\": \(NumberFormat.json(f.tangents[id]))")
            if let w = wiggle {
                out.write(", \"wiggled\": \(NumberFormat.json(w.values[id])), \"predicted\": \(NumberFormat.json(n.value + f.tangents[id] * w.h))")
            }
            out.write("}" + (id + 1 < graph.count ? ",\n" : "\n"))
        }
        out.write(" ],\n \"steps\": [\n")
        for (k, s) in f.steps.enumerated() {
            out.write("  {\"step\": \(s.index), \"node\": \(s.node), \"tangent\": \(NumberFormat.json(s.tangent)), \"edges\": [")
            out.write(s.edges.map { "{\"input\": \($0.input), \"local\": \(NumberFormat.json($0.local)), \"tangent\": \(NumberFormat.json($0.inputTangent)), \"contribution\": \(NumberFormat.json($0.contribution))}" }.joined(separator: ", "))
            out.write("]}" + (k + 1 < f.steps.count ? ",\n" : "\n"))
        }
        out.write(" ]}\n")
    }

    /// The forward step table: `step node  d/dx = Σ local × input tangent`.
    public static func forwardTable(graph: Graph, forward f: ForwardTrace, outputName: String, wiggle: Wiggle?,
                                    to out: inout some TextOutputStream) {
        let names = NameTable(graph: graph)
        let x = names.name(of: f.wrt)
        out.write("\(outputName) = \(NumberFormat.short(graph[f.output].value, digits: 8)), forward mode with respect to \(x)\n\n")
        var rows: [[String]] = [["step", "node", "edge", "local (×)", "×", "d input/d\(x)", "=", "contribution", "d node/d\(x)"]]
        for s in f.steps {
            for e in s.edges {
                rows.append([String(s.index), names.name(of: s.node), "\(names.name(of: e.input)) → \(names.name(of: s.node))",
                             NumberFormat.short(e.local, digits: 6), "×", NumberFormat.short(e.inputTangent, digits: 6), "=",
                             NumberFormat.short(e.contribution, digits: 6), NumberFormat.short(s.tangent, digits: 6)])
            }
        }
        writeTable(rows, rightAligned: [0, 3, 5, 7, 8], to: &out)
        out.write("\nd\(outputName)/d\(x) = \(NumberFormat.short(f.tangents[f.output], digits: 10))\n")
        if let w = wiggle {
            let actual = w.actualChange(f.output, graph: graph)
            out.write("wiggle \(x) by \(NumberFormat.short(w.h, digits: 6)): \(outputName) goes from \(NumberFormat.short(graph[f.output].value, digits: 10)) to \(NumberFormat.short(w.values[f.output], digits: 10)) (change \(NumberFormat.short(actual, digits: 6)); predicted \(NumberFormat.short(graph[f.output].value + f.tangents[f.output] * w.h, digits: 10)), change \(NumberFormat.short(f.tangents[f.output] * w.h, digits: 6)))\n")
        }
    }
}
