/// What every node and edge shows at one step of the backward pass.
///
/// A scene is a pure function of (graph, trace, step): the DOT emitter and the
/// painter both draw scenes, so every rule about "what is shown" lives here once.
/// Step 0 is the forward state (values, no gradients); step k shows the pass
/// after k steps, with step k's node and edges active.
///
/// ```swift
/// let s = Scene(graph: g, trace: t, step: t.steps.count)
/// s.nodes.first { $0.id == w }!.gradText    // "grad 1248"
/// s.caption                                  // "∂L/∂x = ∂L/∂u · ∂u/∂x = 624 · 3 = 1872"
/// ```
public struct Scene: Sendable {
    /// How far a node's gradient has got.
    public enum NodeState: String, Sendable {
        /// Step 0: the forward pass only.
        case forward
        /// No gradient has reached the node yet.
        case pending
        /// Some, not all, of the node's consumers have passed their contribution.
        case accumulating
        /// The gradient is complete.
        case done
        /// The node being processed at this step.
        case active
    }

    /// Whether an edge's contribution has flowed.
    public enum EdgeState: String, Sendable {
        case idle, active, done
    }

    /// How far a node's gradient has got, before the active step is marked: the one rule that
    /// turns "contributions received" against "consumers" into a state, shared by the scalar,
    /// tensor and collapsed scenes.
    enum Progress: Equatable {
        /// Step 0: the forward pass only.
        case forward
        /// Every consumer has passed its contribution (or the node is the output).
        case done
        /// Some, not all, contributions have arrived.
        case accumulating
        /// Not on any path to the output: its gradient is 0 from the start.
        case unused
        /// No contribution has arrived yet.
        case pending

        /// The node state this progress is drawn with (unused nodes are drawn as done).
        var state: NodeState {
            switch self {
            case .forward: return .forward
            case .done, .unused: return .done
            case .accumulating: return .accumulating
            case .pending: return .pending
            }
        }
    }

    /// The gradient text of a node no path to the output reaches.
    static let unusedGradText = "grad 0 (unused)"

    /// The progress of a node at `step` that has received `received` of its `consumers` contributions.
    static func progress(step: Int, isOutput: Bool, received: Int, consumers: Int) -> Progress {
        if step == 0 { return .forward }
        if isOutput || (consumers > 0 && received == consumers) { return .done }
        if received > 0 { return .accumulating }
        return consumers == 0 ? .unused : .pending
    }

    /// One node as drawn.
    public struct NodeView: Sendable {
        /// The node's id in the graph.
        public var id: NodeID
        /// First line: the name and what it computes (`u = w·x`), or the input's name.
        public var title: String
        /// Second line: `data 6`.
        public var valueText: String
        /// Third line: `grad 624`, `grad ?`, `grad 3 + … (1 of 2)`; empty at step 0.
        public var gradText: String
        public var state: NodeState
        /// The value or gradient is NaN or infinite.
        public var nonFinite: Bool
        public var isOutput: Bool
        public var isInput: Bool
        /// The gradient as it stands (nil before any has arrived).
        public var gradient: Double?
        /// A tensor node's value and gradient (nil for scalar graphs).
        public var tensor: TensorPanel?
        /// The lines in drawing order.
        public var lines: [String] { [title, valueText, gradText] }
    }

    /// One edge (operand → consumer) as drawn.
    public struct EdgeView: Sendable {
        /// Index of the edge in ``Scene/edges``: stable across steps.
        public var index: Int
        /// The operand node.
        public var from: NodeID
        /// The consuming node.
        public var to: NodeID
        /// Which operand of `to` this is.
        public var operand: Int
        /// The ledger: `∂u/∂w = x = 2`, then `∂L/∂w = ∂L/∂u · ∂u/∂w = 624 · 2 = 1248`; empty until the edge runs.
        public var lines: [String]
        public var state: EdgeState
        /// A tensor edge's contribution as it stands (nil before it flows, and on scalar graphs).
        public var contribution: Tensor?
        /// The shape the contribution has (tensor graphs; sizes the thumbnail in every step).
        public var contributionShape: [Int]?
    }

    /// What a tensor node shows: its shape, value and gradient.
    public struct TensorPanel: Sendable, Hashable {
        public var shape: [Int]
        public var value: Tensor
        /// The gradient as it stands; nil while pending.
        public var grad: Tensor?
        /// `grad`, `grad (1 of 2 arrived)`, `grad pending`, `grad 0 (unused)`.
        public var gradLabel: String
        /// Class labels of `pick`/`cross_entropy`: whole numbers, drawn without colour and without a gradient.
        public var isLabels: Bool = false
        /// A fused node's steps in forward order, its own last, each drawn as a row: `h1 = tanh(X @ W1 + b1)`
        /// has the rows `X @ W1`, `X @ W1 + b1` and `h1` (see ``TensorRow``); empty for a node of one step.
        public var rows: [TensorRow] = []
    }

    /// One step of a fused chain drawn inside the node it leads to: its value and gradient, its own
    /// progress, and the vector-Jacobian product that brings its gradient from the next step.
    public struct TensorRow: Sendable, Hashable {
        public var id: NodeID
        /// What the step computes (`X @ W1`).
        public var title: String
        public var panel: TensorPanel
        public var state: NodeState
        /// The ledger of the edge into the next step (empty until it runs, and for the last row), and that edge's state.
        public var lines: [String]
        public var edgeState: EdgeState
    }

    /// The step shown (0 = forward state).
    public let step: Int
    /// The number of steps in the trace.
    public let stepCount: Int
    /// The nodes drawn: the output's ancestors and every input, in id order.
    public let nodes: [NodeView]
    /// The edges drawn, in (consumer id, operand) order.
    public let edges: [EdgeView]
    /// One line saying what this step does (usable as alt text).
    public let caption: String
    /// The node active at this step, if any.
    public let activeNode: NodeID?
    /// An optional title drawn above the graph.
    public let title: String?

    /// Assembles a scene from its parts (used by the forward-mode scene builder).
    init(step: Int, stepCount: Int, nodes: [NodeView], edges: [EdgeView], caption: String, activeNode: NodeID?, title: String?) {
        self.step = step
        self.stepCount = stepCount
        self.nodes = nodes
        self.edges = edges
        self.caption = caption
        self.activeNode = activeNode
        self.title = title
    }

    /// Builds the scene of `step` (0…`trace.steps.count`). O(nodes + edges).
    ///
    /// With `summary`, the last step is drawn as the final state: nothing active, and a caption
    /// listing every input's gradient.
    public init(graph: Graph, trace: Trace, step: Int, title: String? = nil, summary: Bool = false) {
        precondition(step >= 0 && step <= trace.steps.count, "step out of range")
        let structure = SceneStructure(graph: graph, trace: trace)
        let text = SceneText(graph: graph, trace: trace, consumers: structure.consumers)
        self.step = step
        self.stepCount = trace.steps.count
        self.title = title

        // Which edge records have run by this step: record k belongs to the step that holds it.
        let ranAll = step > 0 ? trace.steps[step - 1].edgeRange.upperBound : 0
        let activeRange = step > 0 ? trace.steps[step - 1].edgeRange : 0..<0
        let isSummary = summary && step == trace.steps.count
        activeNode = step > 0 && !isSummary ? trace.steps[step - 1].node : nil

        // Running gradients and how many contributions each node has received.
        var grad = [Double](repeating: 0, count: graph.count)
        var received = [Int](repeating: 0, count: graph.count)
        var contributions = [[Double]](repeating: [], count: graph.count)
        if step > 0 { grad[trace.output] = 1 }
        for r in 0..<ranAll {
            let e = trace.edges[r]
            grad[e.input] = e.accumulated
            received[e.input] += 1
            if structure.consumers[e.input] <= 3 { contributions[e.input].append(e.contribution) }
        }

        // A layer step runs several nodes at once: all of them are active.
        let activeConsumers = Set(activeRange.map { trace.edges[$0].node })
        var nodes: [NodeView] = []
        nodes.reserveCapacity(structure.visible.count)
        for id in structure.visible {
            let n = graph[id]
            let total = structure.consumers[id]
            var state: NodeState
            var gradText = ""
            var gradient: Double?
            let progress = Scene.progress(step: step, isOutput: id == trace.output, received: received[id], consumers: total)
            state = progress.state
            switch progress {
            case .forward, .pending:
                gradText = progress == .pending ? "grad ?" : ""
            case .done:
                gradient = grad[id]
                gradText = text.finalGrad(grad[id], contributions: contributions[id], total: total)
            case .accumulating:
                gradient = grad[id]
                gradText = text.partialGrad(grad[id], received: received[id], total: total)
            case .unused:
                gradient = 0
                gradText = Scene.unusedGradText
            }
            if id == activeNode || (activeNode != nil && activeConsumers.contains(id)) { state = .active }
            let nonFinite = !n.value.isFinite || (gradient.map { !$0.isFinite } ?? false)
            nodes.append(NodeView(id: id, title: text.title(id), valueText: text.valueLine(n.value),
                                  gradText: gradText, state: state, nonFinite: nonFinite,
                                  isOutput: id == trace.output, isInput: n.op == .input, gradient: gradient))
        }
        self.nodes = nodes

        var edges: [EdgeView] = []
        edges.reserveCapacity(structure.edges.count)
        for (k, e) in structure.edges.enumerated() {
            let record = structure.recordIndex[k]
            var state: EdgeState = .idle
            var lines: [String] = []
            if let r = record, r < ranAll {
                state = activeRange.contains(r) && !isSummary ? .active : .done
                lines = text.ledger(trace.edges[r], consumer: e.to)
            }
            edges.append(EdgeView(index: k, from: e.from, to: e.to, operand: e.operand, lines: lines, state: state))
        }
        self.edges = edges

        caption = text.caption(step: step, summary: isSummary)
    }

    /// The widest text every node and edge will ever show, per line: what a layout must make room for.
    ///
    /// Node entries hold three lines (title, value, the longest of all gradient texts the node
    /// takes over the pass); edge entries the ledger of the final state. O(nodes + edges).
    public static func layoutText(graph: Graph, trace: Trace) -> (nodes: [[[String]]], edges: [[String]]) {
        let structure = SceneStructure(graph: graph, trace: trace)
        let text = SceneText(graph: graph, trace: trace, consumers: structure.consumers)
        // Every gradient text a node shows: pending, each partial sum, the final one.
        var partials = [[String]](repeating: [], count: graph.count)
        var received = [Int](repeating: 0, count: graph.count)
        var contributions = [[Double]](repeating: [], count: graph.count)
        for e in trace.edges {
            received[e.input] += 1
            let total = structure.consumers[e.input]
            if total <= 3 { contributions[e.input].append(e.contribution) }
            if received[e.input] < total {
                partials[e.input].append(text.partialGrad(e.accumulated, received: received[e.input], total: total))
            }
        }
        var nodes: [[[String]]] = []
        for id in structure.visible {
            let total = structure.consumers[id]
            var grads = ["grad ?"] + partials[id]
            if id == trace.output || total > 0 {
                grads.append(text.finalGrad(trace.gradients[id], contributions: contributions[id], total: total))
            } else {
                grads.append(Scene.unusedGradText)
            }
            nodes.append([[text.title(id)], [text.valueLine(graph[id].value)], grads])
        }
        var edges: [[String]] = []
        for (k, e) in structure.edges.enumerated() {
            if let r = structure.recordIndex[k] {
                edges.append(text.ledger(trace.edges[r], consumer: e.to))
            } else {
                edges.append([])
            }
        }
        return (nodes, edges)
    }
}

extension Scene {
    /// A step's caption spells out at most this many edges (a layer step may run dozens).
    static let captionEdges = 6

    /// The tail of a caption that spelt out `captionEdges` of `count` edges: no ellipsis, a count.
    static func moreEdges(_ count: Int) -> String {
        count > captionEdges ? "; and \(count - captionEdges) more edges in this step" : ""
    }

    /// Every caption a pass shows: steps 0…N, then the summary of the final state. Cheaper than
    /// building each step's scene (no node or edge views): what a picture's footer is sized by.
    public static func captions(pass: Pass) -> [String] {
        let text: any StepCaptions
        switch pass {
        case .reverse(let t, let graph): text = SceneText(graph: graph, trace: t, consumers: SceneStructure(graph: graph, trace: t).consumers)
        case .forward(let f, let w, let graph): text = ForwardText(graph: graph, forward: f, wiggle: w)
        case .collapsed(let c, let graph): text = CollapsedText(graph: graph, collapsed: c)
        case .tensor(let t): text = TensorCaption(t)
        }
        let n = pass.stepCount
        return (0...n).map { text.caption(step: $0, summary: false) } + [text.caption(step: n, summary: true)]
    }
}

/// What writes a pass's captions, one per step (each trace kind has one).
protocol StepCaptions {
    /// The caption of `step`; `summary` at the last step: the final state, every input's gradient.
    func caption(step: Int, summary: Bool) -> String
}

extension SceneText: StepCaptions {}
extension ForwardText: StepCaptions {}
extension CollapsedText: StepCaptions {}
extension TensorCaption: StepCaptions {}

extension Scene {
    /// A node's gradient line shortened to its number, for nodes drawn as small boxes:
    /// `grad −2 + 4 = 2` → `grad 2`, `grad 8 (sum of 5)` → `grad 8`, `grad 3 + … (1 of 2)` → `grad 3 + …`.
    /// A collapsed unit keeps its total: `grad Σ 0.86 · w0 0.02, …` → `grad Σ 0.86`.
    public static func outlineGrad(_ line: String) -> String {
        var s = Substring(line)
        if let r = s.firstRange(of: " (") { s = s[..<r.lowerBound] }
        if let r = s.firstRange(of: " · ") { s = s[..<r.lowerBound] }
        if s.hasPrefix("grad "), let r = s.ranges(of: " = ").last { s = "grad " + s[r.upperBound...] }
        return String(s)
    }

    /// A node's title for a small box: a collapsed unit's name without its counts
    /// (`l1.n2 · 32 nodes, 4 parameters` → `l1.n2`); other titles whole.
    public static func outlineTitle(_ title: String) -> String {
        guard let r = title.firstRange(of: " · ") else { return title }
        return String(title[..<r.lowerBound])
    }

    /// A tensor node's title in a small box (the focus view's map): its name without the expression
    /// (`attn.q = linear(ln1.out, attn.q.weight)` → `attn.q`); an unnamed node keeps its expression.
    public static func outlineTensorTitle(_ title: String) -> String {
        guard let r = title.firstRange(of: " = ") else { return title }
        return String(title[..<r.lowerBound])
    }

    /// A tensor node's second line in a small box: its shape and the size of its gradient as it
    /// stands (`[3, 4]  grad ‖2.1‖`, `[4]  grad pending`; at step 0 the shape alone).
    public static func outlineTensorLine(shape: [Int], gradText: String) -> String {
        let shapeText = Tensor.text(shape: shape)
        if gradText.isEmpty { return shapeText }
        let grad = gradText.hasPrefix("labels") ? "labels" : outlineGrad(gradText)
        return shapeText + "  " + grad
    }

    /// The two lines of a node drawn as a small box (the last rung of the width ladder): one rule
    /// for the picture, its layout and its DOT text.
    public static func outlineLines(_ n: NodeView) -> [String] {
        if let p = n.tensor { return [outlineTensorTitle(n.title), outlineTensorLine(shape: p.shape, gradText: n.gradText)] }
        return [outlineTitle(n.title), outlineGrad(n.gradText.isEmpty ? n.valueText : n.gradText)]
    }
}

/// The nodes and edges a scene draws, and where each edge's record sits in the trace.
struct SceneStructure {
    struct Edge { var from: NodeID; var to: NodeID; var operand: Int }
    /// Visible node ids in ascending order.
    var visible: [NodeID]
    var edges: [Edge]
    /// For each edge, the index of its record in `trace.edges` (nil if it never runs).
    var recordIndex: [Int?]
    /// Consumers of each node among the output's ancestors.
    var consumers: [Int]

    init(graph: Graph, trace: Trace) {
        // Where each consumer's records start (a layer step holds several consumers, so go by record).
        var firstRecord = [Int](repeating: -1, count: graph.count)
        for (r, e) in trace.edges.enumerated() where firstRecord[e.node] < 0 { firstRecord[e.node] = r }
        self.init(graph: graph, output: trace.output, firstRecord: firstRecord)
    }

    /// `firstRecord[id]`: where node `id`'s edge records start in the reverse trace (-1: none).
    init(graph: some GraphStructure, output: NodeID, firstRecord: [Int]? = nil) {
        let mask = graph.ancestors(of: output)
        var visible: [NodeID] = []
        // Constants are drawn inside their consumer's title (`3·x`), not as boxes of their own.
        for id in 0..<graph.count where !graph.isConstant(id) && ((id < mask.count && mask[id]) || graph.isInput(id)) {
            visible.append(id)
        }
        var isVisible = [Bool](repeating: false, count: graph.count)
        for id in visible { isVisible[id] = true }
        var edges: [Edge] = []
        var records: [Int?] = []
        var consumers = [Int](repeating: 0, count: graph.count)
        for id in visible where !graph.isLeaf(id) {
            for (k, input) in graph.inputs(of: id).enumerated() where isVisible[input] {
                edges.append(Edge(from: input, to: id, operand: k))
                if let f = firstRecord?[id], f >= 0 { records.append(f + k) } else { records.append(nil) }
                if id < mask.count && mask[id] { consumers[input] += 1 }
            }
        }
        self.visible = visible
        self.edges = edges
        self.recordIndex = records
        self.consumers = consumers
    }
}

/// The wording of labels, ledgers and captions.
struct SceneText {
    let graph: Graph
    let trace: Trace
    /// Consumers of each node among the output's ancestors.
    let consumers: [Int]

    let names: NameTable

    init(graph: Graph, trace: Trace, consumers: [Int], names: NameTable? = nil) {
        self.graph = graph
        self.trace = trace
        self.consumers = consumers
        self.names = names ?? NameTable(graph: graph)
    }

    func name(_ id: NodeID) -> String { names.name(of: id) }

    /// `∂L/∂w`, with non-trivial names in parentheses (`∂L/∂(output − target)`).
    func partial(_ of: NodeID, _ wrt: NodeID) -> String {
        "∂\(Op.wrap(name(of)))/∂\(Op.wrap(name(wrt)))"
    }

    func title(_ id: NodeID) -> String { names.title(of: id, in: graph) }

    func valueLine(_ v: Double) -> String { "data " + NumberFormat.short(v) }

    func finalGrad(_ g: Double, contributions: [Double], total: Int) -> String {
        if total >= 2 && contributions.count == total {
            return "grad " + contributions.map { NumberFormat.short($0) }.joined(separator: " + ") + " = " + NumberFormat.short(g)
        }
        if total > 3 { return "grad \(NumberFormat.short(g)) (sum of \(total))" }
        return "grad " + NumberFormat.short(g)
    }

    func partialGrad(_ g: Double, received: Int, total: Int) -> String {
        "grad \(NumberFormat.short(g)) + … (\(received) of \(total))"
    }

    /// What step `step` does, in one line that the picture wraps (also the alt text); with `summary` the
    /// final state: every input's gradient, none left out.
    func caption(step: Int, summary: Bool) -> String {
        if summary {
            let out = name(trace.output)
            let parts = graph.inputIDs.map { "∂\(out)/∂\(name($0)) = \(NumberFormat.short(trace.gradients[$0]))" }
            return "all gradients: " + (parts.isEmpty ? "no inputs" : parts.joined(separator: ", "))
        }
        if step == 0 { return "forward pass: \(name(trace.output)) = \(NumberFormat.short(graph[trace.output].value))" }
        let s = trace.steps[step - 1]
        let shown = trace.edges(of: s).filter { graph[$0.input].op != .constant }
        if shown.isEmpty {
            return "∂\(name(trace.output))/∂\(name(s.node)) = \(NumberFormat.short(s.upstream)) (its inputs are constants)"
        }
        let lines = shown.prefix(Scene.captionEdges).map { chainLine($0, consumer: $0.node) }
        return lines.joined(separator: "; ") + Scene.moreEdges(shown.count)
    }

    /// `∂u/∂w = x = 2`, then the chain line.
    func ledger(_ e: EdgeRecord, consumer: NodeID) -> [String] {
        let n = graph[consumer]
        let formula = n.op.derivativeFormula(wrt: e.operand, operands: n.inputs.map(name))
        let local = NumberFormat.short(e.local)
        let same = formula.replacingMinus == local
        let first = partial(consumer, e.input) + " = " + (same ? local : "\(formula) = \(local)")
        // Next to the output the chain has one link: the local derivative is the whole story.
        if consumer == trace.output { return [first] }
        return [first, chainLine(e, consumer: consumer)]
    }

    /// `∂L/∂c = ∂L/∂d · ∂d/∂c = -2 · 1 = -2` (`+=` when the input has several consumers).
    func chainLine(_ e: EdgeRecord, consumer: NodeID) -> String {
        let out = trace.output
        if consumer == out {
            let n = graph[consumer]
            let formula = n.op.derivativeFormula(wrt: e.operand, operands: n.inputs.map(name))
            let local = NumberFormat.short(e.local)
            let accumulates = e.accumulated != e.contribution || consumers[e.input] > 1
            return partial(out, e.input) + (accumulates ? " += " : " = ")
                + (formula.replacingMinus == local ? local : "\(formula) = \(local)")
        }
        let accumulates = e.accumulated != e.contribution || consumers[e.input] > 1
        return partial(out, e.input) + (accumulates ? " += " : " = ") + partial(out, consumer) + " · " + partial(consumer, e.input)
            + " = " + NumberFormat.short(e.upstream) + " · " + NumberFormat.short(e.local) + " = " + NumberFormat.short(e.contribution)
    }
}

extension String {
    /// The text with the typographic minus `−` as an ASCII hyphen, to compare formulas with numbers.
    var replacingMinus: String {
        String(unicodeScalars.map { $0 == "−" ? "-" : Character($0) })
    }
}

extension Scene {
    /// What a layered layout of the drawn graph will have to place: nodes, edges, and the
    /// virtual nodes that edges spanning several ranks become (Graphviz's `dot` routes a long
    /// edge through one virtual node per rank it crosses, and its cost grows with them).
    public struct LayoutEstimate: Sendable {
        public var nodes: Int
        public var edges: Int
        public var virtualNodes: Int
        /// The ranks of the longest path (the layered layout's depth).
        public var ranks: Int = 1
        /// What `dot` places once every labelled edge has its label node (edge labels double the ranks,
        /// so a virtual node stands on two ranks): nodes + edges + 2 × virtual nodes.
        public var placed: Int { nodes + edges + 2 * virtualNodes }
        /// A unitless cost: drawn nodes plus virtual nodes, doubled for edge labels (which take ranks of their own).
        public var cost: Int { nodes + 2 * virtualNodes }
        /// The estimated seconds of `dot`'s layout: 0.1 + 2.2·10⁻⁶ · placed^1.5 + 5·10⁻⁸ · placed · ranks.
        /// Calibrated against `dot -Tsvg` on chains (1,000–10,000 nodes: the ranks term, which makes long
        /// chains quadratic) and MLPs (341–6,301 nodes: the first term), on a 2-core machine; within a factor
        /// of 2.6 of every measurement (Benchmarks/README.md has the table).
        public var seconds: Double {
            let p = Double(placed)
            return 0.1 + 2.2e-6 * p * p.squareRoot() + 5e-8 * p * Double(ranks)
        }
    }

    /// Estimates the layout work for the drawn graph. O(nodes + edges).
    public static func layoutEstimate(graph: some GraphStructure, output: NodeID) -> LayoutEstimate {
        let structure = SceneStructure(graph: graph, output: output)
        var rank = [Int](repeating: 0, count: graph.count)
        // Creation order is topological, and edges are listed by consumer in id order.
        for e in structure.edges { rank[e.to] = max(rank[e.to], rank[e.from] + 1) }
        var virtual = 0, depth = 0
        for e in structure.edges {
            virtual += max(0, rank[e.to] - rank[e.from] - 1)
            depth = max(depth, rank[e.to])
        }
        return LayoutEstimate(nodes: structure.visible.count, edges: structure.edges.count, virtualNodes: virtual, ranks: depth + 1)
    }
}
