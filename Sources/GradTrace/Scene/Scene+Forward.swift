extension Scene {
    /// The forward-mode scene of `step`: step 0 is the plain forward pass, step k has given
    /// tangents to the first k nodes downstream of x. Edges show their amplification factor
    /// (`×3`); with a wiggle, nodes show the actual value at x + h beside the linear prediction.
    public init(graph: Graph, forward f: ForwardTrace, wiggle: Wiggle?, step: Int, title: String? = nil, summary: Bool = false) {
        precondition(step >= 0 && step <= f.steps.count, "step out of range")
        let structure = SceneStructure(graph: graph, output: f.output)
        let text = ForwardText(graph: graph, forward: f, wiggle: wiggle)
        let isSummary = summary && step == f.steps.count
        // The step at which each node gets its tangent (x itself at step 1's start).
        var stepOf = [Int](repeating: .max, count: graph.count)
        for s in f.steps { stepOf[s.node] = s.index }
        stepOf[f.wrt] = 0
        let active = step > 0 && !isSummary ? f.steps[step - 1].node : nil
        var nodes: [NodeView] = []
        for id in structure.visible {
            let n = graph[id]
            var state: NodeState
            var tangentText = ""
            var tangent: Double?
            var valueText = text.valueLine(id, known: false)
            if step == 0 {
                state = .forward
            } else if stepOf[id] <= step {
                state = .done
                tangent = f.tangents[id]
                tangentText = text.tangentLine(id)
                valueText = text.valueLine(id, known: true)
            } else if stepOf[id] == .max {
                // Does not depend on x: its tangent is 0 throughout.
                state = .forward
                tangent = 0
                tangentText = text.zeroLine(id)
            } else {
                state = .pending
                tangentText = text.pendingLine(id)
            }
            if id == active { state = .active }
            let nonFinite = !n.value.isFinite || (tangent.map { !$0.isFinite } ?? false)
            nodes.append(NodeView(id: id, title: text.title(id), valueText: valueText, gradText: tangentText, state: state,
                                  nonFinite: nonFinite, isOutput: id == f.output, isInput: n.op == .input, gradient: tangent))
        }
        // Edge k of the structure: the forward edge record of its consumer, if the input depends on x.
        var edges: [EdgeView] = []
        var byNode: [NodeID: ForwardTrace.Step] = [:]
        for s in f.steps { byNode[s.node] = s }
        for (k, e) in structure.edges.enumerated() {
            var state: EdgeState = .idle
            var lines: [String] = []
            if let s = byNode[e.to], s.index <= step, let rec = s.edges.first(where: { $0.operand == e.operand }) {
                state = s.index == step && !isSummary ? .active : .done
                lines = text.ledger(rec, consumer: e.to)
            }
            edges.append(EdgeView(index: k, from: e.from, to: e.to, operand: e.operand, lines: lines, state: state))
        }
        let caption = text.caption(step: step, summary: isSummary)
        self.init(step: step, stepCount: f.steps.count, nodes: nodes, edges: edges, caption: caption, activeNode: active, title: title)
    }

    /// Widest texts of a forward pass, for the layout.
    public static func layoutText(graph: Graph, forward f: ForwardTrace, wiggle: Wiggle?) -> (nodes: [[[String]]], edges: [[String]]) {
        let structure = SceneStructure(graph: graph, output: f.output)
        let text = ForwardText(graph: graph, forward: f, wiggle: wiggle)
        var depends = [Bool](repeating: false, count: graph.count)
        depends[f.wrt] = true
        for s in f.steps { depends[s.node] = true }
        let nodes: [[[String]]] = structure.visible.map { id in
            [[text.title(id)],
             [text.valueLine(id, known: false), text.valueLine(id, known: true)],
             depends[id] ? [text.pendingLine(id), text.tangentLine(id)] : [text.zeroLine(id)]]
        }
        var byNode: [NodeID: ForwardTrace.Step] = [:]
        for s in f.steps { byNode[s.node] = s }
        let edges: [[String]] = structure.edges.map { e in
            guard let s = byNode[e.to], let rec = s.edges.first(where: { $0.operand == e.operand }) else { return [] }
            return text.ledger(rec, consumer: e.to)
        }
        return (nodes, edges)
    }
}

/// The wording of forward mode.
struct ForwardText {
    let graph: Graph
    let forward: ForwardTrace
    let wiggle: Wiggle?
    let names: NameTable

    init(graph: Graph, forward: ForwardTrace, wiggle: Wiggle?) {
        self.graph = graph
        self.forward = forward
        self.wiggle = wiggle
        self.names = NameTable(graph: graph)
    }

    func name(_ id: NodeID) -> String { names.name(of: id) }

    func title(_ id: NodeID) -> String { names.title(of: id, in: graph) }

    var x: String { Op.wrap(name(forward.wrt)) }

    /// `dh/dx`
    func d(_ id: NodeID) -> String { "d\(Op.wrap(name(id)))/d\(x)" }

    func valueLine(_ id: NodeID, known: Bool) -> String {
        let v = graph[id].value
        guard known, let w = wiggle else { return "data " + NumberFormat.short(v) }
        return "data \(NumberFormat.short(v)) → \(NumberFormat.short(w.values[id], digits: 6))"
    }

    func tangentLine(_ id: NodeID) -> String {
        let t = forward.tangents[id]
        guard let w = wiggle else { return "\(d(id)) = \(NumberFormat.short(t))" }
        return "\(d(id)) = \(NumberFormat.short(t)) · predicted Δ \(NumberFormat.short(t * w.h, digits: 4)), actual Δ \(NumberFormat.short(w.actualChange(id, graph: graph), digits: 4))"
    }

    func pendingLine(_ id: NodeID) -> String { "\(d(id)) = ?" }
    func zeroLine(_ id: NodeID) -> String { "\(d(id)) = 0 (no path from \(x))" }

    /// `×8  (∂h/∂v = 2v)` then `dh/dx += ∂h/∂v · dv/dx = 8 · 3 = 24`.
    func ledger(_ e: ForwardTrace.Edge, consumer: NodeID) -> [String] {
        let n = graph[consumer]
        let formula = n.op.derivativeFormula(wrt: e.operand, operands: n.inputs.map(name))
        let local = NumberFormat.short(e.local)
        let partial = "∂\(Op.wrap(name(consumer)))/∂\(Op.wrap(name(e.input)))"
        let first = "×\(local)  (\(partial) = \(formula.replacingMinus == local ? local : formula))"
        let several = (forward.steps.first { $0.node == consumer }?.edges.count ?? 1) > 1
        let second = d(consumer) + (several ? " += " : " = ") + partial + " · " + d(e.input) + " = "
            + NumberFormat.short(e.local) + " · " + NumberFormat.short(e.inputTangent) + " = " + NumberFormat.short(e.contribution)
        return [first, second]
    }

    /// The caption of step `step` (0: the forward pass; `summary`: the final state).
    func caption(step: Int, summary: Bool) -> String {
        if summary { return self.summary() }
        if step == 0 {
            return "forward pass: \(name(forward.output)) = \(NumberFormat.short(graph[forward.output].value)); tangents start at d\(name(forward.wrt))/d\(name(forward.wrt)) = 1"
        }
        return caption(forward.steps[step - 1])
    }

    /// `dh/dx = 2v · dv/dx = 8 · 3 = 24`; several paths are summed.
    func caption(_ s: ForwardTrace.Step) -> String {
        let n = graph[s.node]
        let operands = n.inputs.map(name)
        let terms = s.edges.map { e -> String in
            let f = n.op.derivativeFormula(wrt: e.operand, operands: operands)
            return (f == "1" ? "" : Op.wrap(f) + " · ") + d(e.input)
        }
        let numbers = s.edges.map { e in
            e.local == 1 ? NumberFormat.short(e.inputTangent) : NumberFormat.short(e.local) + " · " + NumberFormat.short(e.inputTangent)
        }
        return d(s.node) + " = " + terms.joined(separator: " + ") + " = " + numbers.joined(separator: " + ") + " = " + NumberFormat.short(s.tangent)
    }

    func summary() -> String {
        var text = "\(d(forward.output)) = \(NumberFormat.short(forward.tangents[forward.output]))"
        if let w = wiggle {
            let out = forward.output
            text += "; \(x) + \(NumberFormat.short(w.h)): \(name(out)) goes from \(NumberFormat.short(graph[out].value, digits: 8)) to \(NumberFormat.short(w.values[out], digits: 8)) (predicted \(NumberFormat.short(graph[out].value + forward.tangents[out] * w.h, digits: 8)))"
        }
        return text
    }
}
