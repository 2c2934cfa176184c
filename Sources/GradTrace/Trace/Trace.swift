/// How finely the backward pass is cut into steps.
public enum Granularity: String, Sendable, CaseIterable {
    /// One step per node: the node's gradient is complete and flows into all its inputs at once.
    case node
    /// One step per edge: each input receives its contribution in a step of its own.
    case edge
    /// One step per layer: consecutive node steps within one layer (`l1.…`, see ``Grouping``) form one step.
    case layer
}

/// What one edge received in one backward step.
public struct EdgeRecord: Sendable, Hashable {
    // Stored compactly (40 bytes instead of 64): a 10⁶-step trace holds millions of these. The node id
    // keeps the operand (0 or 1) in its top bit.
    private var input32: Int32
    private var nodeAndOperand: UInt32
    /// ∂out/∂input at the forward values.
    public var local: Double
    /// ∂L/∂out, the consumer's completed gradient.
    public var upstream: Double
    /// local × upstream.
    public var contribution: Double
    /// The input's gradient after adding the contribution.
    public var accumulated: Double

    /// The node the edge leaves from (the op's operand).
    public var input: NodeID {
        get { NodeID(input32) }
        set { input32 = Int32(newValue) }
    }
    /// The node the edge goes into (the consumer whose step this is).
    public var node: NodeID {
        get { NodeID(nodeAndOperand & 0x7FFF_FFFF) }
        set { nodeAndOperand = nodeAndOperand & 0x8000_0000 | UInt32(newValue) }
    }
    /// Which operand of the consumer this edge is (0 or 1).
    public var operand: Int {
        get { Int(nodeAndOperand >> 31) }
        set { nodeAndOperand = nodeAndOperand & 0x7FFF_FFFF | UInt32(newValue) << 31 }
    }

    public init(input: NodeID, node: NodeID, operand: Int, local: Double, upstream: Double,
                contribution: Double, accumulated: Double) {
        input32 = Int32(truncatingIfNeeded: input)
        precondition(node >= 0 && node <= 0x7FFF_FFFF && (operand == 0 || operand == 1), "a node id below 2³¹ and operand 0 or 1")
        nodeAndOperand = UInt32(node) | UInt32(operand) << 31
        self.local = local
        self.upstream = upstream
        self.contribution = contribution
        self.accumulated = accumulated
    }
}

/// One step of the backward pass: a node passes its completed gradient to its inputs.
public struct Step: Sendable, Hashable {
    // Stored compactly (24 bytes instead of 40): a 10⁶-step trace holds millions of these.
    private var index32: Int32
    private var node32: Int32
    private var edgeStart: Int32
    private var edgeEnd: Int32
    /// The node's completed gradient ∂L/∂node.
    public var upstream: Double

    /// 1-based step number (step 0 is the forward state, before any gradient).
    public var index: Int {
        get { Int(index32) }
        set { index32 = Int32(newValue) }
    }
    /// The node being processed.
    public var node: NodeID {
        get { NodeID(node32) }
        set { node32 = Int32(newValue) }
    }
    /// Range of this step's edges in ``Trace/edges``.
    public var edgeRange: Range<Int> {
        get { Int(edgeStart)..<Int(edgeEnd) }
        set { edgeStart = Int32(newValue.lowerBound); edgeEnd = Int32(newValue.upperBound) }
    }

    public init(index: Int, node: NodeID, upstream: Double, edgeRange: Range<Int>) {
        index32 = Int32(index)
        node32 = Int32(node)
        edgeStart = Int32(edgeRange.lowerBound)
        edgeEnd = Int32(edgeRange.upperBound)
        self.upstream = upstream
    }
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
        // One sweep in reverse creation order (a reverse topological order) does everything: a
        // node is reached when a consumer's edge wrote its completion step, which is also how the
        // sweep skips the nodes the output does not depend on; the last consumer to run writes
        // last, so `completed` ends as the step at which every consumer had run. No consumer
        // counts, no separate marking pass.
        var grad = [Double](repeating: 0, count: graph.count)
        var completed = [Int](repeating: .max, count: graph.count)
        grad[output] = 1
        completed[output] = 0
        // Room for every edge and step: counted for big graphs (their records dominate memory),
        // bounded for small ones (two operands a node), where a counting pass would cost more
        // than the memory it saves.
        let (edgeRoom, stepRoom) = Self.room(graph: graph, output: output, granularity: granularity)
        var stepCount = 0
        let edgeGranularity = granularity == .edge
        var steps: [Step] = []
        // The hot loop works on raw buffers: steps and edge records are written in place, once each.
        let edges = [EdgeRecord](unsafeUninitializedCapacity: edgeRoom) { records, initializedEdges in
            var e = 0
            steps = [Step](unsafeUninitializedCapacity: stepRoom) { stepBuffer, initializedSteps in
            let stepBase = stepBuffer.baseAddress!
            let recordBase = records.baseAddress!
            grad.withUnsafeMutableBufferPointer { grad in
            completed.withUnsafeMutableBufferPointer { completed in
            graph.nodes.withUnsafeBufferPointer { nodes in
                var id = output
                while id >= 0 {
                    defer { id -= 1 }
                    guard completed[id] != .max else { continue }
                    let node = nodes[id]
                    if node.op.isLeaf { continue }
                    let upstream = grad[id]
                    let a = node.a, b = node.b
                    let binary = b >= 0
                    let (la, lb) = node.op.localGradients(nodes[a].value, binary ? nodes[b].value : 0, output: node.value)
                    let stepStart = e
                    // Operand a.
                    let ca = la * upstream
                    let ga = grad[a] + ca
                    grad[a] = ga
                    (recordBase + e).initialize(to: EdgeRecord(input: a, node: id, operand: 0, local: la, upstream: upstream,
                                                               contribution: ca, accumulated: ga))
                    e += 1
                    if edgeGranularity {
                        (stepBase + stepCount).initialize(to: Step(index: stepCount + 1, node: id, upstream: upstream, edgeRange: stepStart..<e))
                        stepCount += 1
                        completed[a] = stepCount
                    } else {
                        completed[a] = stepCount + 1
                    }
                    if binary {
                        let cb = lb * upstream
                        let gb = grad[b] + cb
                        grad[b] = gb
                        (recordBase + e).initialize(to: EdgeRecord(input: b, node: id, operand: 1, local: lb, upstream: upstream,
                                                                   contribution: cb, accumulated: gb))
                        e += 1
                        if edgeGranularity {
                            (stepBase + stepCount).initialize(to: Step(index: stepCount + 1, node: id, upstream: upstream, edgeRange: (e - 1)..<e))
                            stepCount += 1
                            completed[b] = stepCount
                        } else {
                            completed[b] = stepCount + 1
                        }
                    }
                    if !edgeGranularity {
                        (stepBase + stepCount).initialize(to: Step(index: stepCount + 1, node: id, upstream: upstream, edgeRange: stepStart..<e))
                        stepCount += 1
                    }
                }
            }
            }
            }
            initializedSteps = stepCount
            }
            initializedEdges = e
        }
        if granularity == .layer {
            steps = Step.mergingLayerRuns(steps, graph: graph, output: output, completedAt: &completed)
        }
        self.output = output
        self.granularity = granularity
        self.steps = steps
        self.edges = edges
        self.gradients = grad
        self.completedAt = completed
    }

    /// Capacities for the edge records and steps of a pass: exact (one counting sweep) for graphs
    /// of more than 2¹⁶ nodes, else an upper bound (two operands a node).
    static func room(graph: Graph, output: NodeID, granularity: Granularity) -> (edges: Int, steps: Int) {
        let n = output + 1
        if n <= 1 << 16 { return (2 * n, granularity == .edge ? 2 * n : n) }
        var reached = [Bool](repeating: false, count: n)
        reached[output] = true
        var edgeCount = 0, opCount = 0
        graph.nodes.withUnsafeBufferPointer { nodes in
            reached.withUnsafeMutableBufferPointer { reached in
                var id = output
                while id >= 0 {
                    if reached[id] {
                        let node = nodes[id]
                        if node.a >= 0 { reached[node.a] = true; edgeCount += 1 }
                        if node.b >= 0 { reached[node.b] = true; edgeCount += 1 }
                        if !node.op.isLeaf { opCount += 1 }
                    }
                    id -= 1
                }
            }
        }
        return (max(1, edgeCount), max(1, granularity == .edge ? edgeCount : opCount))
    }

    /// The edge records of step `step` (1-based).
    public func edges(of step: Step) -> ArraySlice<EdgeRecord> { edges[step.edgeRange] }

    /// The gradient of every node as it stands after `step` steps. O(edges up to that step).
    ///
    /// Step 0 is the forward state, before the pass: every entry is 0, the output's seed of 1
    /// included (the seed is shown from step 1 on, as in the pictures).
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
        var grad = [Double](repeating: 0, count: graph.count)
        var reached = [Bool](repeating: false, count: output + 1)
        grad[output] = 1
        reached[output] = true
        graph.nodes.withUnsafeBufferPointer { nodes in
            var id = output
            while id >= 0 {
                defer { id -= 1 }
                guard reached[id] else { continue }
                let n = nodes[id]
                if n.op.isLeaf { continue }
                let (la, lb) = n.op.localGradients(nodes[n.a].value, n.b >= 0 ? nodes[n.b].value : 0, output: n.value)
                grad[n.a] += la * grad[id]
                reached[n.a] = true
                if n.b >= 0 {
                    grad[n.b] += lb * grad[id]
                    reached[n.b] = true
                }
            }
        }
        return grad
    }
}

extension Step {
    /// Node steps merged into layer steps: each run of consecutive steps whose nodes share a layer group (and
    /// whose edge records are contiguous) becomes one step, renumbered from 1; `completedAt` is renumbered to match.
    static func mergingLayerRuns(_ steps: [Step], graph: Graph, output: NodeID, completedAt completed: inout [Int]) -> [Step] {
        let groups = Grouping(graph: graph, output: output, level: .layer).groupOf
        var merged: [Step] = []
        var newIndex = [Int](repeating: 0, count: steps.count + 1)
        var lastKey: String?
        for s in steps {
            let key = groups[s.node] ?? "#\(s.node)"
            if let last = merged.last, key == lastKey, last.edgeRange.upperBound == s.edgeRange.lowerBound {
                merged[merged.count - 1].edgeRange = last.edgeRange.lowerBound..<s.edgeRange.upperBound
            } else {
                merged.append(Step(index: merged.count + 1, node: s.node, upstream: s.upstream, edgeRange: s.edgeRange))
            }
            newIndex[s.index] = merged.count
            lastKey = key
        }
        for i in completed.indices where completed[i] != .max && completed[i] > 0 { completed[i] = newIndex[completed[i]] }
        return merged
    }
}
