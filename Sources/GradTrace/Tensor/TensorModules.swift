/// Modules of a tensor program, from dotted names: `attn.q = linear(x, attn.q.weight)` places the node
/// `attn.q` in module `attn.q`, inside `attn`; `attn.q.weight` sits in `attn.q` too. Unnamed operations
/// join the module of their consumers when all of them agree.
///
/// ```swift
/// let m = TensorModules(graph: p.graph, output: p.output)
/// m.path(of: p.graph.input(named: "attn.q.weight")!)   // ["attn", "q"]
/// ```
public struct TensorModules: Sendable {
    /// Each node's module as name parts (empty: in no module).
    public let paths: [[Substring]]

    /// Computes the modules. O(nodes + edges).
    public init(graph: TensorGraph, output: NodeID) {
        let names = (0..<graph.count).map { graph.name(of: $0) }
        // A name that prefixes another's (`attn.q` of `attn.q.weight`) is a module's own output: it lives in the module.
        var prefixes = Set<Substring>()
        for n in names.compactMap({ $0 }) {
            var s = Substring(n)
            while let dot = s.lastIndex(of: ".") { s = s[..<dot]; prefixes.insert(s) }
        }
        var paths = [[Substring]](repeating: [], count: graph.count)
        for id in 0..<graph.count {
            guard let n = names[id] else { continue }
            let parts = n.split(separator: ".", omittingEmptySubsequences: false)
            paths[id] = prefixes.contains(Substring(n)) ? parts : Array(parts.dropLast())
        }
        // Unnamed operations join their consumers' module when every consumer agrees.
        let mask = graph.ancestors(of: output)
        var consumer = [[Substring]?](repeating: nil, count: graph.count)
        var mixed = [Bool](repeating: false, count: graph.count)
        for id in stride(from: output, through: 0, by: -1) where mask[id] {
            let n = graph[id]
            if names[id] == nil && !n.op.isLeaf && !mixed[id], let c = consumer[id] { paths[id] = c }
            for i in n.inputs {
                if consumer[i] == nil && !mixed[i] { consumer[i] = paths[id] } else if consumer[i] != paths[id] { mixed[i] = true }
            }
        }
        self.paths = paths
    }

    /// The module of `id` cut to `depth` parts (nil: in no module).
    public func module(of id: NodeID, depth: Int) -> String? {
        let p = paths[id]
        return p.isEmpty ? nil : p.prefix(depth).joined(separator: ".")
    }
}

extension TensorTrace {
    /// The pass with each module (to `depth` name parts) drawn as one node: its operations become one node
    /// carrying the module's output value and gradient, its parameters stay drawn (with their gradient
    /// heatmaps), and each edge into the module carries the sum of the contributions of the edges it stands
    /// for. A step processes a whole module. Every number is this trace's own.
    ///
    /// A module is left expanded when more than one of its nodes is read outside it, or when an outside
    /// node both reads it and feeds it (it would be a cycle). Nil when no module has two operations to merge.
    ///
    /// Modules named in `expanding` stay drawn node by node, with their own steps, and are listed with their
    /// drawn nodes in ``CollapsedView/expanded`` (the HTML player's "expand in place": one view per module).
    public func collapsedModules(depth: Int, expanding: Set<String> = []) -> TensorTrace? {
        let g = graph
        let modules = TensorModules(graph: g, output: output)
        let mask = g.ancestors(of: output)
        // Candidate members: operations in a module (leaves stay drawn).
        var members: [String: [NodeID]] = [:]
        var order: [String] = []
        for id in 0...output where mask[id] && !g[id].op.isLeaf {
            guard let m = modules.module(of: id, depth: depth) else { continue }
            if members[m] == nil { order.append(m) }
            members[m, default: []].append(id)
        }
        var unit = [String?](repeating: nil, count: g.count)
        var merged: [String] = []
        var expandedOrder: [String] = []
        for m in order {
            let ms = members[m]!
            guard ms.count >= 2 else { continue }
            if expanding.contains(m) { expandedOrder.append(m); continue }
            var inside = [Bool](repeating: false, count: g.count)
            for id in ms { inside[id] = true }
            // Exits: members read outside the module (or the output).
            var exits = Set<NodeID>()
            for id in 0...output where mask[id] && !inside[id] { for i in g[id].inputs where inside[i] { exits.insert(i) } }
            if inside[output] { exits.insert(output) }
            guard exits.count == 1 else { continue }
            // No outside node between members: nothing that depends on a member may feed one.
            var depends = inside
            var cycle = false
            for id in 0...output where mask[id] && !inside[id] {
                if g[id].inputs.contains(where: { depends[$0] }) { depends[id] = true }
            }
            for id in ms where g[id].inputs.contains(where: { !inside[$0] && depends[$0] }) { cycle = true }
            guard !cycle else { continue }
            for id in ms { unit[id] = m }
            merged.append(m)
        }
        guard !merged.isEmpty || !expandedOrder.isEmpty else { return nil }

        // The collapsed graph: one node per drawn node, a module at its exit's place.
        var newID = [Int](repeating: -1, count: g.count)
        var collapsed = TensorGraph()
        var exitOf: [String: NodeID] = [:]
        for m in merged { exitOf[m] = members[m]!.last { id in id == output || (0...output).contains { mask[$0] && unit[$0] != m && g[$0].inputs.contains(id) } } }
        var moduleInputs: [String: [NodeID]] = [:]
        for id in 0..<g.count {
            if let m = unit[id] {
                for i in g[id].inputs where unit[i] != m && !(moduleInputs[m]?.contains(i) ?? false) { moduleInputs[m, default: []].append(i) }
                guard id == exitOf[m] else { continue }
                let ins = moduleInputs[m] ?? []
                newID[id] = collapsed.appendDrawn(.module(m, arity: ins.count), inputs: ins.map { newID[$0] }, value: g[id].value, name: m)
                for other in members[m]! { newID[other] = newID[id] }
                continue
            }
            let n = g[id]
            newID[id] = collapsed.appendDrawn(n.op, inputs: n.inputs.map { newID[$0] }, value: n.value, name: nil)
            for name in g.names(of: id) { collapsed.setName(name, for: newID[id]) }
            if n.op == .input { collapsed.registerInput(newID[id]) }
        }

        // Steps: consecutive steps of one module merge; edges inside a module vanish; edges from one node
        // into a module in one step combine.
        var steps: [TensorStep] = []
        var edges: [TensorEdgeRecord] = []
        var sourceSteps = [0]
        var k = 0
        while k < self.steps.count {
            let node = newID[self.steps[k].node]
            var end = k + 1
            while end < self.steps.count && newID[self.steps[end].node] == node && unit[self.steps[k].node] != nil { end += 1 }
            let start = edges.count
            var slot: [NodeID: Int] = [:]
            for r in self.steps[k].edgeRange.lowerBound..<self.steps[end - 1].edgeRange.upperBound {
                let e = self.edges[r]
                let from = newID[e.input]
                guard from != node, from >= 0 else { continue }
                let operand = collapsed[node].inputs.firstIndex(of: from) ?? e.operand
                if let s = slot[from], case .module = collapsed[node].op {
                    edges[s].contribution.add(e.contribution)
                    edges[s].accumulated = e.accumulated
                    edges[s].isLabels = edges[s].isLabels && e.isLabels
                    continue
                }
                slot[from] = edges.count
                let upstream = unit[e.node] != nil ? gradients[exitOf[unit[e.node]!]!] : e.upstream
                edges.append(TensorEdgeRecord(input: from, node: node, operand: operand, upstream: upstream, contribution: e.contribution,
                                              accumulated: e.accumulated, reduced: unit[e.node] != nil ? [] : e.reduced, isLabels: e.isLabels))
            }
            steps.append(TensorStep(index: steps.count + 1, node: node, edgeRange: start..<edges.count))
            sourceSteps.append(k + 1)
            k = end
        }
        var grads = [Tensor](repeating: Tensor(0), count: collapsed.count)
        for id in 0..<g.count where newID[id] >= 0 && (unit[id] == nil || id == exitOf[unit[id]!]) { grads[newID[id]] = gradients[id] }
        var consumers = [Int](repeating: 0, count: collapsed.count)
        var completed = [Int](repeating: .max, count: collapsed.count)
        completed[newID[output]] = 0
        for s in steps { for e in edges[s.edgeRange] { consumers[e.input] += 1; completed[e.input] = s.index } }
        // An expanded module's drawn nodes: its operations and parameters (each drawn node once, in graph order).
        var expanded: [(name: String, members: [NodeID], exit: NodeID)] = []
        for m in expandedOrder {
            var seen = Set<NodeID>(), drawn: [NodeID] = []
            for id in 0...output where mask[id] && modules.module(of: id, depth: depth) == m && newID[id] >= 0 && seen.insert(newID[id]).inserted {
                drawn.append(newID[id])
            }
            // Its exit: the operation read outside it (where the collapsed node stands).
            let inside = Set(members[m]!)
            let exit = members[m]!.last { id in id == output || (0...output).contains { mask[$0] && !inside.contains($0) && g[$0].inputs.contains(id) } }
            expanded.append((m, drawn, newID[exit ?? members[m]!.last!]))
        }
        let view = CollapsedView(depth: depth, merged: merged, expanded: expanded, sourceSteps: sourceSteps)
        return TensorTrace(graph: collapsed, output: newID[output], granularity: granularity, steps: steps, edges: edges,
                           gradients: grads, completedAt: completed, consumers: consumers, collapse: view)
    }
}

/// How a collapsed view relates to the full trace it was made from (``TensorTrace/collapsedModules(depth:expanding:)``).
public struct CollapsedView: Sendable {
    /// Name parts a module keeps (`module:2`: 2).
    public let depth: Int
    /// The modules drawn as one node each, in order of their first operation.
    public let merged: [String]
    /// The modules asked to stay expanded, each with its drawn nodes (operations and parameters) and its
    /// exit (the operation read outside it, drawn where the collapsed module's node would be).
    public let expanded: [(name: String, members: [NodeID], exit: NodeID)]
    /// For step 0…N of the view, the first step of the full trace it stands for (0 for step 0): a view's
    /// step `s` covers full steps `sourceSteps[s]..<sourceSteps[s + 1]`. Maps a step between views.
    public let sourceSteps: [Int]
}

extension TensorGraph {
    /// Appends a node as drawn (value given, nothing evaluated): the collapsed view's nodes.
    mutating func appendDrawn(_ op: TensorOp, inputs: [NodeID], value: Tensor, name: String?) -> NodeID {
        let id = count
        appendNode(TensorNode(op: op, inputs: inputs, value: value))
        if let name { setName(name, for: id) }
        return id
    }
}
