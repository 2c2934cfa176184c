/// The backward pass with groups (neurons or layers) drawn as single nodes: edges between
/// groups carry the sum of the contributions of the edges they stand for, and a step processes
/// one group at a time. Built from an ordinary ``Trace``, so every number is the trace's own.
public struct CollapsedTrace: Sendable {
    /// A drawn unit: a whole group, or a single node outside any group.
    public struct Unit: Sendable {
        /// The representative node id (the group's last node), used as the unit's id in scenes.
        public var id: NodeID
        /// The group name (`l1.n2`), or nil for a single node.
        public var group: String?
        public var members: [NodeID]
        /// Members read outside the unit (or the output).
        public var exits: [NodeID]
    }

    /// An edge between units, standing for several edges of the graph.
    public struct UnitEdge: Sendable {
        public var from: Int
        public var to: Int
        /// Indices into the trace's `edges` of the records this edge sums.
        public var records: [Int]
        public var contribution: Double
    }

    /// A step: one unit passes its gradient to the units it reads.
    public struct Step: Sendable {
        public var index: Int
        public var unit: Int
        /// Indices into ``edges`` of the unit's incoming edges, in order.
        public var edges: [Int]
    }

    public enum Problem: Error, Sendable, CustomStringConvertible {
        case noGroups
        case cycle(String)
        public var description: String {
            switch self {
            case .noGroups:
                return "nothing to collapse: no two nodes share a group (name parts as l1.n2.w0, or number them as a0, a1, …; see gradtrace generate mlp)"
            case .cycle(let g):
                return "cannot collapse: group '\(g)' both feeds and reads another group"
            }
        }
    }

    public let trace: Trace
    public let units: [Unit]
    public let edges: [UnitEdge]
    public let steps: [Step]
    /// The unit of every node (-1: not drawn).
    public let unitOf: [Int]
    /// The final gradient of every unit: the sum of what its edges carry to other units.
    public let unitGradients: [Double]
    /// The output's unit.
    public let outputUnit: Int
    /// Each unit's gradient norm: √Σ of its exits' gradients squared (|gradient| for a single
    /// node). `--color-by grad` colours by it, so opposite signs cannot cancel.
    public let unitNorms: [Double]

    /// Collapses a trace at `level`. O(nodes + edges).
    public init(graph: Graph, trace: Trace, level: Grouping.Level) throws {
        let grouping = Grouping(graph: graph, output: trace.output, level: level)
        let mask = graph.ancestors(of: trace.output)
        var unitOf = [Int](repeating: -1, count: graph.count)
        var units: [Unit] = []
        var byGroup: [String: Int] = [:]
        for id in 0..<graph.count where graph[id].op != .constant && ((id < mask.count && mask[id]) || graph[id].op == .input) {
            if let g = grouping.groupOf[id] {
                if let u = byGroup[g] {
                    units[u].members.append(id)
                    units[u].id = id
                    unitOf[id] = u
                    continue
                }
                byGroup[g] = units.count
            }
            unitOf[id] = units.count
            units.append(Unit(id: id, group: grouping.groupOf[id], members: [id], exits: []))
        }
        guard units.contains(where: { $0.members.count > 1 }) else { throw Problem.noGroups }
        // Exits: members read by another unit, and the output.
        var isExit = [Bool](repeating: false, count: graph.count)
        isExit[trace.output] = true
        for id in 0..<min(graph.count, mask.count) where mask[id] && unitOf[id] >= 0 {
            for i in graph[id].inputs where unitOf[i] >= 0 && unitOf[i] != unitOf[id] { isExit[i] = true }
        }
        for u in units.indices { units[u].exits = units[u].members.filter { isExit[$0] } }
        // Unit edges, in order of first record.
        var edgeIndex: [Int: Int] = [:]  // from * count + to
        var edges: [UnitEdge] = []
        for (r, e) in trace.edges.enumerated() {
            let consumer = e.node
            let a = unitOf[e.input], b = unitOf[consumer]
            guard a >= 0, b >= 0, a != b else { continue }
            let key = a * units.count + b
            if let k = edgeIndex[key] {
                edges[k].records.append(r)
                edges[k].contribution += e.contribution
            } else {
                edgeIndex[key] = edges.count
                edges.append(UnitEdge(from: a, to: b, records: [r], contribution: e.contribution))
            }
        }
        // Order units so that every unit comes after the units it reads (Kahn's algorithm, iterative).
        var indegree = [Int](repeating: 0, count: units.count)
        var outgoing = [[Int]](repeating: [], count: units.count)
        var incoming = [[Int]](repeating: [], count: units.count)
        for (k, e) in edges.enumerated() {
            indegree[e.to] += 1
            outgoing[e.from].append(k)
            incoming[e.to].append(k)
        }
        var ready = units.indices.filter { indegree[$0] == 0 }.sorted { units[$0].id > units[$1].id }
        var order: [Int] = []
        while let u = ready.popLast() {
            order.append(u)
            for k in outgoing[u] {
                indegree[edges[k].to] -= 1
                if indegree[edges[k].to] == 0 { ready.append(edges[k].to) }
            }
            ready.sort { units[$0].id > units[$1].id }  // deterministic: lowest representative first (popLast)
        }
        guard order.count == units.count else {
            let stuck = units.indices.first { indegree[$0] > 0 }.flatMap { units[$0].group } ?? "?"
            throw Problem.cycle(stuck)
        }
        // Backward: units in reverse order, each with incoming edges.
        var steps: [Step] = []
        for u in order.reversed() where !incoming[u].isEmpty {
            steps.append(Step(index: steps.count + 1, unit: u, edges: incoming[u]))
        }
        self.trace = trace
        self.units = units
        self.edges = edges
        self.steps = steps
        self.unitOf = unitOf
        // A unit's gradient is what flows out of it to other units (the output unit: its seed).
        var unitGradients = [Double](repeating: 0, count: units.count)
        for e in edges { unitGradients[e.from] += e.contribution }
        if unitOf[trace.output] >= 0 { unitGradients[unitOf[trace.output]] = trace.gradients[trace.output] }
        self.unitGradients = unitGradients
        self.outputUnit = unitOf[trace.output]
        self.unitNorms = units.indices.map { u in
            let unit = units[u]
            if unit.members.count == 1 { return Swift.abs(unitGradients[u]) }
            let exits = unit.exits.filter { graph[$0].op != .input }
            return exits.reduce(0.0) { $0 + trace.gradients[$1] * trace.gradients[$1] }.squareRoot()
        }
    }
}

extension Scene {
    /// The collapsed scene of `step`: groups as single nodes, edges summing their contributions.
    public init(graph: Graph, collapsed c: CollapsedTrace, step: Int, title: String? = nil, summary: Bool = false) {
        precondition(step >= 0 && step <= c.steps.count, "step out of range")
        let text = CollapsedText(graph: graph, collapsed: c)
        let isSummary = summary && step == c.steps.count
        var stepOfEdge = [Int](repeating: .max, count: c.edges.count)
        for s in c.steps { for k in s.edges { stepOfEdge[k] = s.index } }
        var total = [Int](repeating: 0, count: c.units.count)
        var received = [Int](repeating: 0, count: c.units.count)
        var partial = [Double](repeating: 0, count: c.units.count)
        for (k, e) in c.edges.enumerated() {
            total[e.from] += 1
            if stepOfEdge[k] <= step {
                received[e.from] += 1
                partial[e.from] += e.contribution
            }
        }
        let active = step > 0 && !isSummary ? c.steps[step - 1].unit : nil
        var nodes: [NodeView] = []
        for (u, unit) in c.units.enumerated() {
            var state: NodeState
            var grad: String
            var gradient: Double?
            let progress = Scene.progress(step: step, isOutput: u == c.outputUnit, received: received[u], consumers: total[u])
            state = progress.state
            switch progress {
            case .forward:
                grad = ""
            case .done:
                gradient = c.unitNorms[u]
                grad = text.gradLine(u, value: c.unitGradients[u], partialOf: nil)
            case .accumulating:
                gradient = partial[u]
                grad = text.gradLine(u, value: partial[u], partialOf: (received[u], total[u]))
            case .unused:
                gradient = 0
                grad = Scene.unusedGradText
            case .pending:
                grad = "grad ?"
            }
            if u == active { state = .active }
            let value = unit.members.count == 1 ? graph[unit.id].value : graph[unit.exits.last ?? unit.id].value
            nodes.append(NodeView(id: unit.id, title: text.title(u), valueText: text.valueLine(u), gradText: grad, state: state,
                                  nonFinite: !value.isFinite || (gradient.map { !$0.isFinite } ?? false),
                                  isOutput: u == c.outputUnit, isInput: unit.members.count == 1 && graph[unit.id].op == .input,
                                  gradient: gradient))
        }
        var edges: [EdgeView] = []
        for (k, e) in c.edges.enumerated() {
            let s = stepOfEdge[k]
            let state: EdgeState = s > step ? .idle : (s == step && !isSummary ? .active : .done)
            edges.append(EdgeView(index: k, from: c.units[e.from].id, to: c.units[e.to].id, operand: 0,
                                  lines: state == .idle ? [] : text.ledger(k), state: state))
        }
        let caption = text.caption(step: step, summary: isSummary)
        self.init(step: step, stepCount: c.steps.count, nodes: nodes, edges: edges, caption: caption, activeNode: active.map { c.units[$0].id }, title: title)
    }

    /// Widest texts of a collapsed pass.
    public static func layoutText(graph: Graph, collapsed c: CollapsedTrace) -> (nodes: [[[String]]], edges: [[String]]) {
        let text = CollapsedText(graph: graph, collapsed: c)
        var partials = [[String]](repeating: [], count: c.units.count)
        var total = [Int](repeating: 0, count: c.units.count)
        for e in c.edges { total[e.from] += 1 }
        var received = [Int](repeating: 0, count: c.units.count)
        var sum = [Double](repeating: 0, count: c.units.count)
        for s in c.steps {
            for k in s.edges {
                let e = c.edges[k]
                received[e.from] += 1
                sum[e.from] += e.contribution
                if received[e.from] < total[e.from] {
                    partials[e.from].append(text.gradLine(e.from, value: sum[e.from], partialOf: (received[e.from], total[e.from])))
                }
            }
        }
        let nodes: [[[String]]] = c.units.indices.map { u in
            [[text.title(u)], [text.valueLine(u)], ["grad ?", text.gradLine(u, value: c.unitGradients[u], partialOf: nil)] + partials[u]]
        }
        return (nodes, c.edges.indices.map { text.ledger($0) })
    }
}

/// The wording of collapsed pictures.
struct CollapsedText {
    let graph: Graph
    let c: CollapsedTrace
    let names: NameTable

    init(graph: Graph, collapsed: CollapsedTrace) {
        self.graph = graph
        self.c = collapsed
        self.names = NameTable(graph: graph)
    }

    var out: String { Op.wrap(names.name(of: c.trace.output)) }

    /// The caption of step `step` (0: the forward pass; `summary`: every group's gradient, none left out).
    func caption(step: Int, summary: Bool) -> String {
        if summary {
            let groups = c.units.indices.filter { c.units[$0].group != nil }.sorted { Grouping.naturalLess(unitName($0), unitName($1)) }
            return "all gradients, collapsed: "
                + groups.map { "∂\(out)/∂\(unitName($0)) = \(NumberFormat.short(c.unitGradients[$0]))" }.joined(separator: ", ")
        }
        if step == 0 {
            return "forward pass: \(out) = \(NumberFormat.short(graph[c.trace.output].value)), \(c.units.count) units"
        }
        let all = c.steps[step - 1].edges
        return all.prefix(Scene.captionEdges).map { chainLine($0) }.joined(separator: "; ") + Scene.moreEdges(all.count)
    }

    func unitName(_ u: Int) -> String { c.units[u].group ?? names.name(of: c.units[u].id) }

    func title(_ u: Int) -> String {
        let unit = c.units[u]
        guard let g = unit.group, unit.members.count > 1 else {
            return names.title(of: unit.id, in: graph)
        }
        let params = unit.members.filter { graph[$0].op == .input }.count
        return "\(g) · \(unit.members.count) nodes, \(params) parameters"
    }

    func valueLine(_ u: Int) -> String {
        let unit = c.units[u]
        if unit.group == nil || unit.members.count == 1 { return "data " + NumberFormat.short(graph[unit.id].value) }
        let outs = unit.exits.filter { graph[$0].op != .input }
        if outs.count == 1 { return "out " + NumberFormat.short(graph[outs[0]].value) }
        return "\(outs.count) outputs"
    }

    func gradLine(_ u: Int, value: Double, partialOf: (Int, Int)?) -> String {
        let sigma = c.units[u].exits.count > 1 ? "Σ " : ""
        if let (r, t) = partialOf { return "grad \(sigma)\(NumberFormat.short(value)) + … (\(r) of \(t))" }
        return "grad \(sigma)\(NumberFormat.short(value))" + parameterGrads(u)
    }

    /// ` · w0 −0.41, w1 0.2, b 0.3`: the final gradients of a group's parameters, in natural
    /// order, at most five (then `…` and how many more).
    func parameterGrads(_ u: Int) -> String {
        let unit = c.units[u]
        guard let g = unit.group, unit.members.count > 1 else { return "" }
        var params = unit.members.filter { graph[$0].op == .input }.map { id -> (String, NodeID) in
            let name = names.name(of: id)
            return (name.hasPrefix(g + ".") ? String(name.dropFirst(g.count + 1)) : name, id)
        }
        guard !params.isEmpty else { return "" }
        // Weights first, then the bias and anything else, each in natural order (w2 before w10).
        func rank(_ s: String) -> Int { s.hasPrefix("w") ? 0 : 1 }
        params.sort { rank($0.0) != rank($1.0) ? rank($0.0) < rank($1.0) : Grouping.naturalLess($0.0, $1.0) }
        let shown = params.prefix(5).map { "\($0.0) \(NumberFormat.short(c.trace.gradients[$0.1], digits: 2))" }
        return " · " + shown.joined(separator: ", ") + (params.count > 5 ? ", … (\(params.count - 5) more)" : "")
    }

    func ledger(_ k: Int) -> [String] {
        let e = c.edges[k]
        let paths = e.records.count
        return ["\(paths) edge\(paths == 1 ? "" : "s") summed", chainLine(k)]
    }

    func chainLine(_ k: Int) -> String {
        let e = c.edges[k]
        return "∂\(out)/∂\(Op.wrap(unitName(e.from))) += Σ via \(Op.wrap(unitName(e.to))) = \(NumberFormat.short(e.contribution))"
    }
}
