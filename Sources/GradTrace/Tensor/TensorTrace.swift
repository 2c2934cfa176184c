/// What one edge of a tensor graph received in one backward step.
public struct TensorEdgeRecord: Sendable, Hashable {
    /// The operand node the gradient flows into.
    public var input: NodeID
    /// The consumer whose step this is.
    public var node: NodeID
    /// Which operand of the consumer (0 or 1).
    public var operand: Int
    /// ∂L/∂node, of the node's shape.
    public var upstream: Tensor
    /// The vector-Jacobian product: ∂L/∂input's share from this edge, of the input's shape.
    public var contribution: Tensor
    /// The input's gradient after adding the contribution.
    public var accumulated: Tensor
    /// Axes of the node's shape summed because the input was broadcast along them (empty: none).
    public var reduced: [Int]
    /// True on the labels operand of `pick` and `cross_entropy`: no gradient flows.
    public var isLabels: Bool
}

/// One step of a tensor backward pass.
public struct TensorStep: Sendable, Hashable {
    /// 1-based step number (step 0 is the forward state).
    public var index: Int
    /// The node processed.
    public var node: NodeID
    /// Range of this step's records in ``TensorTrace/edges``.
    public var edgeRange: Range<Int>
}

/// The backward pass of a tensor graph as values: steps in reverse creation order over the output's
/// ancestors, each edge carrying its contribution tensor, as ``Trace`` does for scalars.
///
/// The output must hold one element (a loss); its seed is 1.
public struct TensorTrace: Sendable {
    public let graph: TensorGraph
    public let output: NodeID
    public let granularity: Granularity
    public let steps: [TensorStep]
    public let edges: [TensorEdgeRecord]
    /// The final gradient of every node (zeros for nodes the output does not depend on).
    public let gradients: [Tensor]
    /// For each node, the step at which its gradient became complete (0 for the output, `Int.max` if never).
    public let completedAt: [Int]
    /// Consumers of each node among the output's ancestors.
    public let consumers: [Int]
    /// How a collapsed view (``collapsedModules(depth:expanding:)``) was made from the full trace; nil for a full trace.
    public let collapse: CollapsedView?
    /// True for a view with modules drawn as single nodes (``collapsedModules(depth:expanding:)``).
    public var isCollapsedView: Bool { collapse != nil }
    /// Pictures draw each element-wise chain as one node with a row per step (`h1 = tanh(X @ W1 + b1)`
    /// with the rows `X @ W1`, `X @ W1 + b1`, `h1`): a rung of the renderer's fitting ladder. Numbers are unchanged.
    public var fusesChains = false
    /// With ``fusesChains``: a parameter read by one step is drawn beside that step's row instead of as a node of
    /// its own. The split-by-module rungs turn it off (a band keeps its module's parameters as nodes).
    public var placesParametersBeside = true

    /// A trace assembled from its parts (the collapsed view).
    init(graph: TensorGraph, output: NodeID, granularity: Granularity, steps: [TensorStep], edges: [TensorEdgeRecord],
         gradients: [Tensor], completedAt: [Int], consumers: [Int], collapse: CollapsedView) {
        self.graph = graph
        self.output = output
        self.granularity = granularity
        self.steps = steps
        self.edges = edges
        self.gradients = gradients
        self.completedAt = completedAt
        self.consumers = consumers
        self.collapse = collapse
    }

    /// Runs and records the backward pass. `layer` granularity is the same as `node` here: a tensor node is a layer's op already.
    public init(graph: TensorGraph, output: NodeID, granularity: Granularity = .node) {
        precondition(output >= 0 && output < graph.count && graph[output].value.count == 1, "the output is one element")
        let mask = graph.ancestors(of: output)
        var consumers = [Int](repeating: 0, count: graph.count)
        for id in 0...output where mask[id] { for i in graph[id].inputs { consumers[i] += 1 } }
        var remaining = consumers
        var grad = graph.nodes.map { Tensor.zeros($0.value.shape) }
        grad[output] = Tensor(repeating: 1, shape: graph[output].value.shape)
        var completed = [Int](repeating: .max, count: graph.count)
        completed[output] = 0
        var steps: [TensorStep] = []
        var edges: [TensorEdgeRecord] = []
        for id in stride(from: output, through: 0, by: -1) where mask[id] {
            let n = graph[id]
            if n.op.isLeaf { continue }
            let upstream = grad[id]
            var start = edges.count
            for (k, input) in n.inputs.enumerated() {
                let labels = !n.op.passesGradient(toOperand: k)
                let (c, reduced) = n.op.vjp(operand: k, n.inputs.map { graph[$0].value }, output: n.value, upstream: upstream)
                if !labels { grad[input].add(c) }
                edges.append(TensorEdgeRecord(input: input, node: id, operand: k, upstream: upstream, contribution: c,
                                              accumulated: grad[input], reduced: reduced, isLabels: labels))
                if granularity == .edge {
                    steps.append(TensorStep(index: steps.count + 1, node: id, edgeRange: start..<edges.count))
                    start = edges.count
                }
                remaining[input] -= 1
                if remaining[input] == 0 { completed[input] = steps.count + (granularity == .edge ? 0 : 1) }
            }
            if granularity != .edge { steps.append(TensorStep(index: steps.count + 1, node: id, edgeRange: start..<edges.count)) }
        }
        self.graph = graph
        self.output = output
        self.granularity = granularity
        self.steps = steps
        self.edges = edges
        self.gradients = grad
        self.completedAt = completed
        self.consumers = consumers
        self.collapse = nil
    }

    public func edges(of step: TensorStep) -> ArraySlice<TensorEdgeRecord> { edges[step.edgeRange] }

    /// Gradients only, without records: the fast path behind `gradtrace grad`. Every node's final
    /// gradient, as ``gradients`` of a recorded trace (zeros where the output does not depend on it).
    public static func gradients(graph: TensorGraph, output: NodeID) -> [Tensor] {
        let mask = graph.ancestors(of: output)
        var grad: [Tensor?] = [Tensor?](repeating: nil, count: graph.count)
        grad[output] = Tensor(repeating: 1, shape: graph[output].value.shape)
        for id in stride(from: output, through: 0, by: -1) where mask[id] {
            let n = graph[id]
            guard !n.op.isLeaf, let g = grad[id] else { continue }
            for (k, input) in n.inputs.enumerated() where n.op.passesGradient(toOperand: k) {
                let (c, _) = n.op.vjp(operand: k, n.inputs.map { graph[$0].value }, output: n.value, upstream: g)
                if grad[input] == nil { grad[input] = c } else { grad[input]!.add(c) }
            }
        }
        return (0..<graph.count).map { grad[$0] ?? Tensor.zeros(graph[$0].value.shape) }
    }
}
