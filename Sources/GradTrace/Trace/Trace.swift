/// How finely the backward pass is cut into steps.
public enum Granularity: String, Sendable, CaseIterable {
    /// One step per node: the node's gradient is complete and flows into all its inputs at once.
    case node
    /// One step per edge: each input receives its contribution in a step of its own.
    case edge
}

/// What one edge received in one backward step.
public struct EdgeRecord: Sendable, Hashable {
    /// The node the edge leaves from (the op's operand).
    public var input: NodeID
    /// Which operand of the consumer this edge is (0 or 1).
    public var operand: Int
    /// ∂out/∂input at the forward values.
    public var local: Double
    /// ∂L/∂out, the consumer's completed gradient.
    public var upstream: Double
    /// local × upstream.
    public var contribution: Double
    /// The input's gradient after adding the contribution.
    public var accumulated: Double
}

/// One step of the backward pass: a node passes its completed gradient to its inputs.
public struct Step: Sendable, Hashable {
    /// 1-based step number (step 0 is the forward state, before any gradient).
    public var index: Int
    /// The node being processed.
    public var node: NodeID
    /// The node's completed gradient ∂L/∂node.
    public var upstream: Double
    /// Range of this step's edges in ``Trace/edges``.
    public var edgeRange: Range<Int>
}

/// The backward pass as values: ordered steps, each with its edge ledger.
///
/// Steps run in reverse creation order, which is a reverse topological order,
/// over the nodes the output depends on; leaves take no step. The pass is
/// iterative, so a chain of 10⁶ nodes needs no stack.
///
/// ```swift
/// let t = Trace(graph: g, output: L)
/// t.gradients[w]       // 1248
/// t.steps.count        // one per operation node
/// ```
public struct Trace: Sendable {
    /// The node the pass starts from (seeded with ∂L/∂L = 1).
    public let output: NodeID
    /// The granularity the steps were cut at.
    public let granularity: Granularity
    /// The steps in order; `steps[k-1]` is step `k`.
    public let steps: [Step]
    /// Every edge record, step by step; a step's records are `edges[step.edgeRange]`.
    public let edges: [EdgeRecord]
    /// The final gradient of every node (0 for nodes the output does not depend on).
    public let gradients: [Double]
    /// For each node, the step at which its gradient became complete (its consumers all ran):
    /// 0 for the output, `Int.max` for nodes the output does not depend on.
    public let completedAt: [Int]

    /// Runs the backward pass from `output` and records every step. O(nodes + edges).
    public init(graph: Graph, output: NodeID, granularity: Granularity = .node) {
        precondition(output >= 0 && output < graph.count, "output must be a node of the graph")
        let mask = graph.ancestors(of: output)
        var grad = [Double](repeating: 0, count: graph.count)
        var remaining = graph.consumerCounts(towards: output)
        var completed = [Int](repeating: .max, count: graph.count)
        grad[output] = 1
        completed[output] = 0
        var steps: [Step] = []
        var edges: [EdgeRecord] = []
        var id = output
        while id >= 0 {
            defer { id -= 1 }
            guard mask[id] else { continue }
            let n = graph[id]
            if n.op.isLeaf { continue }
            let upstream = grad[id]
            let av = graph[n.a].value
            let bv = n.b >= 0 ? graph[n.b].value : 0
            let (la, lb) = n.op.localGradients(av, bv, output: n.value)
            let operands = n.op.arity == 2 ? [(n.a, la), (n.b, lb)] : [(n.a, la)]
            var stepStart = edges.count
            for (k, (input, local)) in operands.enumerated() {
                let contribution = local * upstream
                grad[input] += contribution
                edges.append(EdgeRecord(input: input, operand: k, local: local, upstream: upstream,
                                        contribution: contribution, accumulated: grad[input]))
                if granularity == .edge {
                    steps.append(Step(index: steps.count + 1, node: id, upstream: upstream, edgeRange: stepStart..<edges.count))
                    stepStart = edges.count
                }
                remaining[input] -= 1
                if remaining[input] == 0 { completed[input] = steps.count + (granularity == .node ? 1 : 0) }
            }
            if granularity == .node {
                steps.append(Step(index: steps.count + 1, node: id, upstream: upstream, edgeRange: stepStart..<edges.count))
            }
        }
        self.output = output
        self.granularity = granularity
        self.steps = steps
        self.edges = edges
        self.gradients = grad
        self.completedAt = completed
    }

    /// The edge records of step `step` (1-based).
    public func edges(of step: Step) -> ArraySlice<EdgeRecord> { edges[step.edgeRange] }

    /// The gradient of every node as it stands after `step` steps (0 = before any, all zero but… the output's seed).
    ///
    /// O(edges up to that step). Step 0 has no gradients at all (the forward state).
    public func gradients(afterStep step: Int) -> [Double] {
        var g = [Double](repeating: 0, count: gradients.count)
        guard step > 0 else { return g }
        g[output] = 1
        for s in steps.prefix(step) {
            for e in edges[s.edgeRange] { g[e.input] = e.accumulated }
        }
        return g
    }

    /// Gradients only, without recording steps: the fast path behind `gradtrace grad`. O(nodes).
    public static func gradients(graph: Graph, output: NodeID) -> [Double] {
        let mask = graph.ancestors(of: output)
        var grad = [Double](repeating: 0, count: output + 1)
        grad[output] = 1
        var id = output
        while id >= 0 {
            defer { id -= 1 }
            guard mask[id] else { continue }
            let n = graph[id]
            if n.op.isLeaf { continue }
            let (la, lb) = n.op.localGradients(graph[n.a].value, n.b >= 0 ? graph[n.b].value : 0, output: n.value)
            grad[n.a] += la * grad[id]
            if n.b >= 0 { grad[n.b] += lb * grad[id] }
        }
        grad.append(contentsOf: repeatElement(0, count: graph.count - grad.count))
        return grad
    }
}
