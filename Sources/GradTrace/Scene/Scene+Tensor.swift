extension Scene {
    /// The nodes a tensor picture draws: the output's ancestors and every input, constants left out
    /// (they are written into their consumer's title), and the edges between them.
    struct TensorStructure {
        var visible: [NodeID]
        var edges: [(from: NodeID, to: NodeID, operand: Int)]
        /// For each edge, its record's index in the trace (nil if it never runs).
        var records: [Int?]
        /// Nodes that serve only as labels (drawn without a gradient).
        var labelsOnly: [Bool]
        /// The node each visible node is drawn in: itself, or the later node its step is fused into (see ``fusion(_:visible:)``).
        var drawnIn: [NodeID]

        /// A fused node holds at most this many steps (its own included).
        static let maxRows = 4

        init(_ t: TensorTrace) {
            let g = t.graph
            labelsOnly = g.labelUses().map { $0 == .only }
            let mask = g.ancestors(of: t.output)
            visible = (0..<g.count).filter { g[$0].op != .constant && (($0 < mask.count && mask[$0]) || g[$0].op == .input) }
            var isVisible = [Bool](repeating: false, count: g.count)
            for id in visible { isVisible[id] = true }
            struct Key: Hashable { var node: NodeID, operand: Int }
            var recordOf: [Key: Int] = [:]
            for (r, e) in t.edges.enumerated() { recordOf[Key(node: e.node, operand: e.operand)] = r }
            edges = []
            records = []
            for id in visible where !g[id].op.isLeaf {
                for (k, input) in g[id].inputs.enumerated() where isVisible[input] {
                    edges.append((input, id, k))
                    records.append(recordOf[Key(node: id, operand: k)])
                }
            }
            drawnIn = TensorStructure.fusion(t, visible: visible)
        }

        /// Element-wise chains fused into one node (when the trace asks for it, ``TensorTrace/fusesChains``): a step without a name of its own whose value
        /// goes to one consumer only is drawn as a row of that consumer (`X @ W1` and `X @ W1 + b1`
        /// inside `h1 = tanh(X @ W1 + b1)`), up to ``maxRows`` steps a node; and a parameter read by one step
        /// only (an input that is not data, see ``isDataOperand(_:_:)``) is drawn beside that step's row (`W1`
        /// beside `X @ W1`), so it takes no rank and no column of its own. A collapsed view fuses the same way,
        /// except across the edge of a module it keeps expanded (the HTML player's expand in place).
        /// Returns, per node id, the node it is drawn in. O(nodes + edges).
        static func fusion(_ t: TensorTrace, visible: [NodeID]) -> [NodeID] {
            let g = t.graph
            var drawnIn = Array(0..<g.count)
            guard t.fusesChains else { return drawnIn }
            var isVisible = [Bool](repeating: false, count: g.count)
            for id in visible { isVisible[id] = true }
            // An expanded module's members stay among themselves (-1: in none).
            var group = [Int](repeating: -1, count: g.count)
            for (k, m) in (t.collapse?.expanded ?? []).enumerated() { for id in m.members where id < g.count { group[id] = k } }
            let labels = g.labelUses()
            // The one consumer of each node consumed once, and the operand it is.
            var consumer = [Int](repeating: -1, count: g.count), operand = consumer, uses = [Int](repeating: 0, count: g.count)
            for id in visible where !g[id].op.isLeaf {
                for (k, input) in g[id].inputs.enumerated() where input >= 0 && input < g.count {
                    uses[input] += 1
                    consumer[input] = id
                    operand[input] = k
                }
            }
            var rows = [Int](repeating: 1, count: g.count)
            // Latest first, so a chain's steps join the node its last step is drawn in.
            for id in visible.reversed() {
                let c = consumer[id]
                guard c >= 0, uses[id] == 1, isVisible[c], id != t.output, !g[id].op.isLeaf, g.name(of: id) == nil,
                      t.consumers[id] == 1, group[id] == group[c] else { continue }
                let target = drawnIn[c]
                guard rows[target] < maxRows else { continue }
                drawnIn[id] = target
                rows[target] += 1
            }
            // Parameters beside the row they feed.
            for id in visible where t.placesParametersBeside && g[id].op == .input {
                let c = consumer[id]
                guard c >= 0, uses[id] == 1, isVisible[c], id < labels.count, labels[id] == .none, t.consumers[id] == 1,
                      group[id] == group[c] else { continue }
                // A module drawn as one node takes its own parameters (`attn.q.weight` into `attn`), not data from outside.
                if case .module(let m, _) = g[c].op {
                    guard g.name(of: id)?.hasPrefix(m + ".") == true else { continue }
                } else if !isParameterOperand(g[c].op, operand[id]) {
                    continue
                }
                drawnIn[id] = drawnIn[c]
            }
            return drawnIn
        }

        /// Whether operand `k` of `op` takes a parameter: not data (``isDataOperand(_:_:)``), and of a registry
        /// function only its `weight` or `bias` (`linear(x, W, b)`; not the target of `mse_loss`). (A collapsed
        /// module's node takes the parameters named inside it, see ``fusion(_:visible:)``.)
        static func isParameterOperand(_ op: TensorOp, _ k: Int) -> Bool {
            if case .call(let c) = op {
                guard k < c.function.parameters.count else { return false }
                switch c.function.parameters[k] {
                case .tensor(let name), .optionalTensor(let name): return name == "weight" || name == "bias"
                default: return false
                }
            }
            return !isDataOperand(op, k)
        }

        /// Whether operand `k` of `op` is data rather than a parameter: the left factor of a matrix product
        /// (`X` in `X @ W`) or what is subtracted from a prediction (`Y` in `out - Y`).
        static func isDataOperand(_ op: TensorOp, _ k: Int) -> Bool {
            switch op {
            case .matmul: return k == 0
            case .elementwise(let e): return e == .sub && k == 1
            default: return false
            }
        }
    }

    /// The scene of step `step` of a tensor backward pass: each node with its value and gradient as
    /// tensors (drawn as heatmaps), each edge with its ledger (VJP formula, shapes, broadcast sum)
    /// and its contribution.
    public init(tensor t: TensorTrace, step: Int, title: String? = nil, summary: Bool = false) {
        precondition(step >= 0 && step <= t.steps.count, "step out of range")
        let g = t.graph
        let words = TensorText(graph: g)
        let structure = TensorStructure(t)
        let ranAll = step > 0 ? t.steps[step - 1].edgeRange.upperBound : 0
        let activeRange = step > 0 ? t.steps[step - 1].edgeRange : 0..<0
        let isSummary = summary && step == t.steps.count
        let active = step > 0 && !isSummary ? t.steps[step - 1].node : nil

        var grad: [Tensor?] = [Tensor?](repeating: nil, count: g.count)
        var received = [Int](repeating: 0, count: g.count)
        if step > 0 { grad[t.output] = t.gradients[t.output] }
        for r in 0..<ranAll {
            let e = t.edges[r]
            received[e.input] += 1
            if !e.isLabels { grad[e.input] = e.accumulated }
        }
        let activeConsumers = Set(activeRange.map { t.edges[$0].node })
        var nodes: [NodeView] = []
        for id in structure.visible {
            let n = g[id]
            let total = t.consumers[id]
            var state: NodeState
            var label = "grad"
            var shown: Tensor?
            let progress = Scene.progress(step: step, isOutput: id == t.output, received: received[id], consumers: total)
            state = progress.state
            switch progress {
            case .forward:
                break
            case .done:
                shown = grad[id] ?? Tensor.zeros(n.value.shape)
                if total > 1 { label = "grad (sum of \(total))" }
            case .accumulating:
                shown = grad[id] ?? Tensor.zeros(n.value.shape)
                label = "grad (\(received[id]) of \(total) arrived)"
            case .unused:
                shown = Tensor.zeros(n.value.shape)
                label = Scene.unusedGradText
            case .pending:
                label = "grad pending"
            }
            let labels = structure.labelsOnly[id]
            if labels { label = "labels: no gradient"; shown = nil; if state == .pending { state = .done } }
            if id == active || (active != nil && activeConsumers.contains(id)) { state = .active }
            let nonFinite = !n.value.isFinite || !(shown?.isFinite ?? true)
            let panel = TensorPanel(shape: n.value.shape, value: n.value, grad: shown, gradLabel: label, isLabels: labels)
            let gradText = shown.map { "grad ‖\(NumberFormat.short($0.norm))‖" } ?? (step == 0 && !labels ? "" : label)
            nodes.append(NodeView(id: id, title: words.title(id), valueText: "data " + Scene.summary(n.value),
                                  gradText: gradText, state: state, nonFinite: nonFinite, isOutput: id == t.output,
                                  isInput: n.op == .input, gradient: shown?.norm, tensor: panel))
        }
        var edges: [EdgeView] = []
        for (k, e) in structure.edges.enumerated() {
            var state: EdgeState = .idle
            var lines: [String] = []
            var contribution: Tensor?
            if let r = structure.records[k], r < ranAll {
                state = activeRange.contains(r) && !isSummary ? .active : .done
                let rec = t.edges[r]
                lines = words.ledger(rec, output: t.output, consumers: t.consumers)
                contribution = rec.isLabels ? nil : rec.contribution
            }
            edges.append(EdgeView(index: k, from: e.from, to: e.to, operand: e.operand, lines: lines, state: state, contribution: contribution,
                                  contributionShape: g[e.to].op.passesGradient(toOperand: e.operand) ? g[e.from].value.shape : nil))
        }
        let caption = TensorCaption(t, words: words, labelsOnly: structure.labelsOnly).caption(step: step, summary: isSummary)
        let drawnIn = structure.drawnIn
        (nodes, edges) = Scene.fused(nodes: nodes, edges: edges, drawnIn: drawnIn)
        self.init(step: step, stepCount: t.steps.count, nodes: nodes, edges: edges, caption: caption,
                  activeNode: active.map { drawnIn[$0] }, title: title)
    }

    /// Folds fused steps into the node they are drawn in (``TensorStructure/fusion(_:visible:)``): each
    /// becomes a row of it, with the edge into the next step as its ledger; a parameter drawn beside a
    /// row becomes a side entry (``TensorPanel/side``), with its own edge as its ledger; edges into a fused
    /// step end at that node. The node is active while any row is, done when every row is, pending or
    /// forward when every row is, and accumulating in between.
    static func fused(nodes: [NodeView], edges: [EdgeView], drawnIn: [NodeID]) -> ([NodeView], [EdgeView]) {
        guard nodes.contains(where: { drawnIn[$0.id] != $0.id }) else { return (nodes, edges) }
        var rows: [NodeID: [TensorRow]] = [:], side: [NodeID: [TensorRow]] = [:]
        var inner: [NodeID: EdgeView] = [:]
        for e in edges where drawnIn[e.from] != e.from && drawnIn[e.from] == drawnIn[e.to] { inner[e.from] = e }
        for n in nodes where drawnIn[n.id] != n.id {
            guard let panel = n.tensor else { continue }
            let e = inner[n.id]
            let row = TensorRow(id: n.id, title: n.title, panel: panel, state: n.state, lines: e?.lines ?? [], edgeState: e?.state ?? .idle)
            if n.isInput {
                var r = row
                r.feeds = e?.to
                side[drawnIn[n.id], default: []].append(r)
            } else {
                rows[drawnIn[n.id], default: []].append(row)
            }
        }
        var out: [NodeView] = []
        for var n in nodes where drawnIn[n.id] == n.id {
            if rows[n.id] != nil || side[n.id] != nil, let panel = n.tensor {
                let r = rows[n.id] ?? []
                n.tensor?.rows = r + [TensorRow(id: n.id, title: Scene.shortName(n.title), panel: panel, state: n.state, lines: [], edgeState: .idle)]
                n.tensor?.side = side[n.id] ?? []
                let states = r.map(\.state) + [n.state]
                if states.contains(.active) { n.state = .active }
                else if states.allSatisfy({ $0 == .done }) { n.state = .done }
                else if states.allSatisfy({ $0 == .forward }) { n.state = .forward }
                else if states.allSatisfy({ $0 == .pending }) { n.state = .pending }
                else { n.state = .accumulating }
                n.nonFinite = n.nonFinite || (r + (side[n.id] ?? [])).contains { !$0.panel.value.isFinite || !($0.panel.grad?.isFinite ?? true) }
            }
            out.append(n)
        }
        var kept: [EdgeView] = []
        for var e in edges where !(drawnIn[e.from] != e.from && drawnIn[e.from] == drawnIn[e.to]) {
            e.index = kept.count
            e.to = drawnIn[e.to]
            kept.append(e)
        }
        return (out, kept)
    }

    /// A title's name: `h1` of `h1 = tanh(X @ W1 + b1)`.
    static func shortName(_ title: String) -> String {
        title.firstRange(of: " = ").map { String(title[..<$0.lowerBound]) } ?? title
    }

    /// `[2, 3] mean 0.5` — a short summary line of a tensor (the DOT text and alt text use it).
    static func summary(_ v: Tensor) -> String {
        if v.isScalar { return NumberFormat.short(v.scalar) }
        if v.count <= 6 {
            var out = ""
            Report.nested(v, axis: 0, offset: 0, into: &out) { NumberFormat.short($0, digits: 3) }
            return out
        }
        return "shape \(v.shapeText), " + Report.stats(v)
    }

    /// The widest texts of a tensor pass: per node the title, value line and every gradient label;
    /// per edge the final ledger.
    public static func layoutText(tensor t: TensorTrace) -> (nodes: [[[String]]], edges: [[String]]) {
        let last = Scene(tensor: t, step: t.steps.count)
        let first = Scene(tensor: t, step: 0)
        var nodes: [[[String]]] = []
        for (k, n) in last.nodes.enumerated() {
            let total = t.consumers[n.id]
            var grads = [n.gradText, "grad pending", n.tensor?.gradLabel ?? ""]
            if total > 1 { grads.append("grad (\(total - 1) of \(total) arrived)") }
            nodes.append([[n.title, first.nodes[k].title], [n.valueText], grads])
        }
        return (nodes, last.edges.map(\.lines))
    }
}

/// The captions of a tensor pass.
struct TensorCaption {
    let t: TensorTrace
    let words: TensorText
    let labelsOnly: [Bool]

    init(_ t: TensorTrace, words: TensorText? = nil, labelsOnly: [Bool]? = nil) {
        self.t = t
        self.words = words ?? TensorText(graph: t.graph)
        self.labelsOnly = labelsOnly ?? t.graph.labelUses().map { $0 == .only }
    }

    /// The inputs in the order a learner looks for them: parameters first, then data (the left factor
    /// of a matrix product, as `X` in `X @ W`, or what is subtracted from a prediction, as `Y` in
    /// `out - Y`); class labels, which take no gradient, are left out.
    var inputsInReadingOrder: (parameters: [NodeID], data: [NodeID]) {
        let g = t.graph
        var dataUse = [Bool](repeating: false, count: g.count), paramUse = dataUse
        for n in g.nodes {
            for (k, i) in n.inputs.enumerated() where i >= 0 && g[i].op == .input {
                if Scene.TensorStructure.isDataOperand(n.op, k) { dataUse[i] = true } else { paramUse[i] = true }
            }
        }
        let inputs = g.inputIDs.filter { !labelsOnly[$0] }
        return (inputs.filter { !dataUse[$0] || paramUse[$0] }, inputs.filter { dataUse[$0] && !paramUse[$0] })
    }

    /// The caption of step `step` (0: the forward pass; `summary`: every input's gradient norm,
    /// parameters first, none left out).
    func caption(step: Int, summary: Bool) -> String {
        let g = t.graph
        let out = words.name(t.output)
        if summary {
            let (parameters, data) = inputsInReadingOrder
            func norms(_ ids: [NodeID]) -> String {
                ids.map { "‖∂\(out)/∂\(words.name($0))‖ = \(NumberFormat.short(t.gradients[$0].norm))" }.joined(separator: ", ")
            }
            if parameters.isEmpty && data.isEmpty { return "all gradients: no inputs" }
            var text = "all gradients: " + norms(parameters.isEmpty ? data : parameters)
            if !parameters.isEmpty && !data.isEmpty { text += "; data: " + norms(data) }
            return text
        }
        if step == 0 { return "forward pass: \(out) = \(NumberFormat.short(g[t.output].value.scalar))" }
        let s = t.steps[step - 1]
        let shown = t.edges(of: s).filter { g[$0.input].op != .constant && !$0.isLabels }
        if shown.isEmpty { return "∂\(out)/∂\(words.name(s.node)) is complete (its inputs are constants or labels)" }
        return shown.prefix(Scene.captionEdges).map { e in
            words.formulaLine(e, output: t.output, consumers: t.consumers) + (words.reductionLine(e).map { " (\($0))" } ?? "")
        }.joined(separator: "; ") + Scene.moreEdges(shown.count)
    }
}

extension Scene {
    /// The inputs of a tensor pass in the order a learner looks for them: parameters, then data
    /// (class labels, which take no gradient, left out). Empty for scalar passes.
    public static func inputsInReadingOrder(pass: Pass) -> [NodeID] {
        guard let t = pass.tensorTrace else { return [] }
        let (parameters, data) = TensorCaption(t).inputsInReadingOrder
        return parameters + data
    }
}
