/// One node of a graph given as data rather than as program text: what `gradtrace` reads from a
/// JSON graph (the `nodes` of `trace --json`, or what `python/gradtrace_micrograd.py` writes).
/// What ``Program/build(nodes:output:inputs:result:)`` reads of a node: ``NodeDescription`` and the graph-JSON
/// reader's own nodes (read in place, without a copy).
protocol NodeDescribing {
    var id: Int { get }
    var name: String? { get }
    var op: String { get }
    var inputs: [Int] { get }
    /// A leaf's value.
    var leafValue: Double? { get }
    var exponent: Double? { get }
}

extension NodeDescription {
    var leafValue: Double? { value }
}

public struct NodeDescription: Sendable, Equatable, NodeDescribing {
    /// The node's id in the description: any integer, unique; inputs refer to it.
    public var id: Int
    /// The node's name (`"x"`, `"L"`), or nil.
    public var name: String?
    /// The op: GradTrace's names (`input`, `const`, `add`, `sub`, `mul`, `div`, `neg`, `pow`, `exp`, `log`, `sin`,
    /// `cos`, `tan`, `tanh`, `sigmoid`, `relu`, `sqrt`, `abs`) or micrograd's (`""` for a leaf, `+`, `*`, `**N`, `ReLU`).
    public var op: String
    /// The ids of the node's inputs, in operand order.
    public var inputs: [Int]
    /// The forward value: required for leaves; recomputed for operations.
    public var value: Double?
    /// The constant exponent of a one-input `pow` node.
    public var exponent: Double?

    /// Creates a node description.
    public init(id: Int, name: String? = nil, op: String, inputs: [Int] = [], value: Double? = nil, exponent: Double? = nil) {
        self.id = id
        self.name = name
        self.op = op
        self.inputs = inputs
        self.value = value
        self.exponent = exponent
    }
}

/// Which node of a described graph is the result: by id or by name.
public enum OutputReference: Sendable, Equatable {
    case id(Int)
    case name(String)
}

/// Why a described graph cannot be built; the message names the node.
public struct GraphDescriptionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, naming the node (`node 3 ('x'): …`).
    public var message: String
    /// Creates the error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension Program {
    /// Builds a program from a graph given as nodes (in any order: they are sorted so inputs come first).
    ///
    /// Leaves take their `value`; operations are evaluated again from their inputs. A leaf without a
    /// name becomes an input named `v<id>`.
    ///
    /// ```swift
    /// let p = try Program.build(nodes: [
    ///     NodeDescription(id: 0, name: "x", op: "input", value: 2),
    ///     NodeDescription(id: 1, name: "y", op: "**2", inputs: [0]),
    /// ])
    /// p.graph[p.output].value   // 4
    /// ```
    ///
    /// - Parameters:
    ///   - nodes: the nodes; ids unique, inputs existing, no cycles, arity matching the op.
    ///   - output: the result node (default: the last node listed that no node uses).
    ///   - inputs: values that override named inputs (`--at`).
    ///   - result: a name that picks the result instead (`--result`).
    /// - Throws: ``GraphDescriptionError`` naming the node at fault, or ``Problem`` for bad `inputs` or `result` names.
    /// - Complexity: O(nodes + edges), without recursion.
    public static func build(nodes: [NodeDescription], output: OutputReference? = nil,
                             inputs overrides: [String: Double] = [:], result: String? = nil) throws -> Program {
        try build(described: nodes, output: output, inputs: overrides, result: result)
    }

    /// ``build(nodes:output:inputs:result:)`` for any kind of node description.
    static func build<Node: NodeDescribing>(described nodes: [Node], output: OutputReference?,
                                            inputs overrides: [String: Double], result: String?) throws -> Program {
        guard !nodes.isEmpty else { throw GraphDescriptionError("the graph has no nodes") }
        func label(_ n: Node) -> String {
            n.name.map { "node \(n.id) ('\($0)')" } ?? "node \(n.id)"
        }
        // Ids → positions.
        var position = IDPositions(count: nodes.count)
        for (i, n) in nodes.enumerated() where !position.insert(n.id, at: i) {
            throw GraphDescriptionError("node id \(n.id) appears twice")
        }
        // Ops and arity.
        var ops: [Op?] = []  // nil: a named input leaf
        ops.reserveCapacity(nodes.count)
        for n in nodes {
            let op = try resolveOp(n, label: label(n))
            for i in n.inputs where position[i] == nil {
                throw GraphDescriptionError("\(label(n)): input \(i) is not the id of any node")
            }
            ops.append(op)
        }
        // Topological order (a graph already in order keeps it).
        let order: [Int]
        switch TopologicalOrder.sort(count: nodes.count, position: position, inputs: { nodes[$0].inputs }) {
        case .order(let o): order = o
        case .cycle(let node, let through):
            throw GraphDescriptionError("\(label(nodes[node])) is part of a cycle (through \(label(nodes[through])))")
        }
        // Build.
        var graph = Graph()
        graph.reserveCapacity(nodes.count)
        var newID = [Int](repeating: -1, count: nodes.count)
        var inputNames: Set<String> = []
        var knownInputs: [String] = []
        for i in order {
            let n = nodes[i]
            switch ops[i] {
            case nil, .some(.constant):
                guard let v = n.leafValue else { throw GraphDescriptionError("\(label(n)): a leaf needs a numeric \"value\"") }
                if ops[i] == .constant && n.name == nil {
                    newID[i] = graph.addConstant(v)
                } else {
                    let name = n.name ?? "v\(n.id)"
                    if !inputNames.insert(name).inserted {
                        throw GraphDescriptionError("\(label(n)): a second input named '\(name)' (input names must be unique)")
                    }
                    knownInputs.append(name)
                    newID[i] = graph.addInput(name, overrides[name] ?? v)
                }
            case .some(let op):
                // Inputs were checked to exist and, in this order, come first.
                var ids = (-1, -1)
                for (k, input) in n.inputs.enumerated() {
                    guard k < op.arity, let p = position[input], newID[p] >= 0 else {
                        throw GraphDescriptionError("\(label(n)): its inputs could not be resolved")
                    }
                    if k == 0 { ids.0 = newID[p] } else { ids.1 = newID[p] }
                }
                guard n.inputs.count == op.arity else { throw GraphDescriptionError("\(label(n)): its inputs could not be resolved") }
                newID[i] = graph.add(op, ids.0, ids.1, name: n.name)
            }
        }
        for name in overrides.keys.sorted() where !inputNames.contains(name) {
            throw Problem.unknownInput(name, known: knownInputs)
        }
        // The result.
        let out: NodeID
        var outName: String?
        if let result {
            guard let id = graph.lookup(result) else {
                throw Problem.unknownOutput(result, known: graph.namedIDs.compactMap { graph.name(of: $0) })
            }
            out = id
            outName = result
        } else if let output {
            switch output {
            case .id(let id):
                guard let p = position[id] else { throw GraphDescriptionError("\"output\": \(id) is not the id of any node") }
                out = newID[p]
            case .name(let name):
                guard let id = graph.lookup(name) else { throw GraphDescriptionError("\"output\": no node is named '\(name)'") }
                out = id
                outName = name
            }
        } else {
            var used = [Bool](repeating: false, count: nodes.count)
            for n in nodes { for i in n.inputs { if let p = position[i] { used[p] = true } } }
            let last = nodes.indices.last { !used[$0] } ?? nodes.count - 1
            out = newID[last]
        }
        let bindings = graph.namedIDs.compactMap { id in graph.name(of: id).map { (name: $0, node: id) } }
        return Program(graph: graph, output: out, outputName: outName ?? graph.name(of: out) ?? "output", bindings: bindings)
    }

    /// The op of a described node (nil for a named input leaf), checking its arity.
    static func resolveOp(_ n: some NodeDescribing, label labelText: @autoclosure () -> String) throws -> Op? {
        var label: String { labelText() }
        let raw = n.op
        var op: Op?
        var isInput = false
        switch raw {
        case "input", "", "leaf": isInput = true
        case "const", "constant": op = .constant
        case "add", "+": op = .add
        case "sub", "-": op = .sub
        case "mul", "*": op = .mul
        case "div", "/": op = .div
        case "neg": op = .neg
        case "ReLU": op = .relu
        case "pow", "**", "^":
            if n.inputs.count == 2 {
                op = .pow
            } else {
                guard let c = n.exponent, c.isFinite else {
                    throw GraphDescriptionError("\(label): a one-input pow needs a finite \"exponent\"")
                }
                op = .powConst(c)
            }
        default:
            if let f = Op.namedFunctions.first(where: { $0.name == raw }) {
                op = f.op
            } else if raw.hasPrefix("**") || raw.hasPrefix("^") {
                let text = raw.drop { $0 == "*" || $0 == "^" }
                guard let c = Double(text), c.isFinite else {
                    throw GraphDescriptionError("\(label): '\(raw)' needs a finite number after \(raw.hasPrefix("^") ? "^" : "**")")
                }
                op = .powConst(c)
            } else {
                throw GraphDescriptionError("\(label): unknown op '\(raw)' (known: input, const, add, sub, mul, div, neg, pow, "
                    + Op.namedFunctions.map(\.name).joined(separator: ", ") + "; micrograd's '', '+', '*', '**N', 'ReLU')")
            }
        }
        let arity = isInput ? 0 : (op?.arity ?? 0)
        if n.inputs.count != arity {
            let what = isInput ? "a leaf" : "'\(raw)'"
            throw GraphDescriptionError("\(label): \(what) takes \(arity) input\(arity == 1 ? "" : "s"), but \(n.inputs.count) \(n.inputs.count == 1 ? "is" : "are") given")
        }
        return isInput ? nil : op
    }
}

/// Node id → position in a described graph's node list: an array when the ids are small non-negative
/// numbers (as every writer makes them), a dictionary for the rest. O(1) per look-up.
struct IDPositions {
    private var dense: [Int32]
    private var sparse: [Int: Int] = [:]

    /// Room for `count` nodes; ids below 4 × count (and below 2³¹) take the array.
    init(count: Int) { dense = [Int32](repeating: -1, count: Swift.min(4 * count + 16, Int(Int32.max))) }

    /// Records `id` at `position`; false when the id was recorded already.
    mutating func insert(_ id: Int, at position: Int) -> Bool {
        if id >= 0 && id < dense.count && position < Int32.max {
            if dense[id] >= 0 { return false }
            dense[id] = Int32(position)
            return true
        }
        return sparse.updateValue(position, forKey: id) == nil
    }

    subscript(id: Int) -> Int? {
        if id >= 0 && id < dense.count { let p = dense[id]; return p >= 0 ? Int(p) : nil }
        return sparse[id]
    }
}
