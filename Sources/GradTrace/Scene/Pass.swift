/// Which pass a picture shows: the backward pass (gradients ∂L/∂v, output first) or the
/// forward-mode pass (tangents dv/dx, from one input towards the output), with the graph it ran on.
///
/// A pass is the one thing the drawing layer is given: its graph's structure (``structure``), its
/// scenes, layout texts and captions all come from it, whichever engine traced it.
public enum Pass: Sendable {
    case reverse(Trace, graph: Graph)
    case forward(ForwardTrace, wiggle: Wiggle?, graph: Graph)
    /// The backward pass with neurons or layers drawn as single nodes.
    case collapsed(CollapsedTrace, graph: Graph)
    /// The backward pass of a tensor program: a node per tensor op, heatmaps instead of numbers
    /// (a collapsed view's trace holds its own graph of module nodes).
    case tensor(TensorTrace)

    /// The structure of the graph drawn: the scalar graph, or the tensor trace's own graph.
    public var structure: any GraphStructure {
        switch self {
        case .reverse(_, let g), .forward(_, _, let g), .collapsed(_, let g): return g
        case .tensor(let t): return t.graph
        }
    }

    /// The node the pass is about.
    public var output: NodeID {
        switch self {
        case .reverse(let t, _): return t.output
        case .forward(let f, _, _): return f.output
        case .collapsed(let c, _): return c.trace.output
        case .tensor(let t): return t.output
        }
    }

    /// Number of steps (frames are 0…stepCount).
    public var stepCount: Int {
        switch self {
        case .reverse(let t, _): return t.steps.count
        case .forward(let f, _, _): return f.steps.count
        case .collapsed(let c, _): return c.steps.count
        case .tensor(let t): return t.steps.count
        }
    }

    /// True for a collapsed pass.
    public var isCollapsed: Bool {
        if case .collapsed = self { return true }
        if case .tensor(let t) = self { return t.isCollapsedView }
        return false
    }

    /// The trace of a tensor pass (heatmaps, fused rows, modules); nil for scalar passes.
    public var tensorTrace: TensorTrace? {
        if case .tensor(let t) = self { return t }
        return nil
    }

    /// True for a tensor pass.
    public var isTensor: Bool { tensorTrace != nil }

    /// The same pass with element-wise chains fused into one node each and parameters beside the rows they feed
    /// (a tensor pass, collapsed views included; see ``Scene/TensorStructure``); nil for passes that have no chains to fuse.
    public var fused: Pass? {
        guard var t = tensorTrace else { return nil }
        t.fusesChains = true
        return .tensor(t)
    }

    /// The same pass with every parameter drawn as a node of its own rather than beside the fused row it
    /// feeds (``TensorTrace/placesParametersBeside``): the split-by-module rungs use it. Other passes: itself.
    public var parametersAsNodes: Pass {
        guard var t = tensorTrace else { return self }
        t.placesParametersBeside = false
        return .tensor(t)
    }

    /// The node states a legend names, with the words for them: forward mode speaks of tangents.
    public var legendStates: [(Scene.NodeState, String)] {
        isForward ? [(.forward, "values only"), (.pending, "not reached"), (.done, "tangent known"), (.active, "active")]
            : [(.forward, "forward"), (.pending, "pending"), (.accumulating, "accumulating"), (.done, "done"), (.active, "active")]
    }

    /// What the pass carries through the graph: `tangent` (forward mode) or `gradient`.
    public var derivativeWord: String { isForward ? "tangent" : "gradient" }

    /// `Forward` or `Backward`, as a picture's description names the pass.
    public var directionWord: String { isForward ? "Forward" : "Backward" }

    /// True for forward mode.
    public var isForward: Bool {
        if case .forward = self { return true }
        return false
    }

    /// Every node's final derivative: the gradient ∂L/∂v, or the tangent dv/dx (collapsed: each unit's gradient norm).
    public var finalDerivatives: [Double] {
        switch self {
        case .reverse(let t, _): return t.gradients
        case .forward(let f, _, _): return f.tangents
        case .collapsed(let c, _):
            // Each unit's gradient norm at its representative node (colours compare magnitudes).
            var d = [Double](repeating: 0, count: c.unitOf.count)
            for (u, unit) in c.units.enumerated() { d[unit.id] = c.unitNorms[u] }
            return d
        case .tensor(let t): return t.gradients.map(\.norm)
        }
    }
}

extension Scene {
    /// The scene of `step` of any pass.
    public init(pass: Pass, step: Int, title: String? = nil, summary: Bool = false) {
        switch pass {
        case .reverse(let t, let graph): self.init(graph: graph, trace: t, step: step, title: title, summary: summary)
        case .forward(let f, let w, let graph): self.init(graph: graph, forward: f, wiggle: w, step: step, title: title, summary: summary)
        case .collapsed(let c, let graph): self.init(graph: graph, collapsed: c, step: step, title: title, summary: summary)
        case .tensor(let t): self.init(tensor: t, step: step, title: title, summary: summary)
        }
    }

    /// The widest texts of any pass (see ``layoutText(graph:trace:)``).
    public static func layoutText(pass: Pass) -> (nodes: [[[String]]], edges: [[String]]) {
        switch pass {
        case .reverse(let t, let graph): return layoutText(graph: graph, trace: t)
        case .forward(let f, let w, let graph): return layoutText(graph: graph, forward: f, wiggle: w)
        case .collapsed(let c, let graph): return layoutText(graph: graph, collapsed: c)
        case .tensor(let t): return layoutText(tensor: t)
        }
    }
}
