/// The position of a node in its graph's arena: creation order, so stable across runs.
public typealias NodeID = Int

/// One node of a ``Graph``: an op, up to two inputs and its forward value.
public struct Node: Sendable, Hashable {
    /// What the node computes.
    public var op: Op
    /// First input (or -1).
    public var a: NodeID
    /// Second input (or -1).
    public var b: NodeID
    /// The forward value.
    public var value: Double

    /// The node's input ids, in operand order.
    @inlinable public var inputs: [NodeID] {
        switch op.arity {
        case 0: return []
        case 1: return [a]
        default: return [a, b]
        }
    }
}

/// A computational graph: an arena of nodes in creation order, with forward values.
///
/// Inputs of a node always have smaller ids than the node, so creation order is a
/// topological order and nothing ever needs a recursive sort. Names are kept beside
/// the nodes; a node can carry several names (`u = z` names `z`'s node `u` too).
///
/// ```swift
/// var g = Graph()
/// let w = g.addInput("w", 3), x = g.addInput("x", 2)
/// let u = g.add(.mul, w, x, name: "u")
/// g[u].value   // 6
/// ```
public struct Graph: Sendable {
    /// The nodes, indexed by ``NodeID``.
    public private(set) var nodes: [Node] = []
    /// The names of the nodes.
    public private(set) var nameIndex = NameIndex()
    /// The input (leaf) nodes in creation order.
    public private(set) var inputIDs: [NodeID] = []
    /// The nodes named by a program statement, in statement order (reassignment gives new ids).
    public var namedIDs: [NodeID] { nameIndex.namedIDs }

    public init() {}

    /// Number of nodes.
    @inlinable public var count: Int { nodes.count }

    /// The node with id `id`.
    @inlinable public subscript(id: NodeID) -> Node { nodes[id] }

    /// Reserves room for `n` nodes.
    public mutating func reserveCapacity(_ n: Int) { nodes.reserveCapacity(n) }

    /// Adds a named input leaf.
    @discardableResult
    public mutating func addInput(_ name: String, _ value: Double) -> NodeID {
        let id = nodes.count
        nodes.append(Node(op: .input, a: -1, b: -1, value: value))
        inputIDs.append(id)
        setName(name, for: id)
        return id
    }

    /// Adds a constant leaf (a literal inside an expression).
    @discardableResult
    public mutating func addConstant(_ value: Double) -> NodeID {
        let id = nodes.count
        nodes.append(Node(op: .constant, a: -1, b: -1, value: value))
        return id
    }

    /// Adds an operation node and computes its forward value. Inputs must exist.
    @discardableResult
    public mutating func add(_ op: Op, _ a: NodeID, _ b: NodeID = -1, name: String? = nil) -> NodeID {
        precondition(op.arity >= 1 && a >= 0 && a < nodes.count, "unary or binary op with an existing input")
        precondition(op.arity < 2 || (b >= 0 && b < nodes.count), "binary op needs a second existing input")
        let id = nodes.count
        let value = op.apply(nodes[a].value, op.arity == 2 ? nodes[b].value : 0)
        nodes.append(Node(op: op, a: a, b: op.arity == 2 ? b : -1, value: value))
        if let name { setName(name, for: id) }
        return id
    }

    /// Appends every node of `other` after this graph's nodes (input ids shifted), with their names,
    /// and returns the shift: node `i` of `other` is node `i + shift` here. O(other's nodes).
    @discardableResult
    public mutating func append(contentsOf other: Graph) -> NodeID {
        let shift = nodes.count
        nodes.reserveCapacity(nodes.count + other.count)
        for n in other.nodes {
            nodes.append(Node(op: n.op, a: n.a >= 0 ? n.a + shift : -1, b: n.b >= 0 ? n.b + shift : -1, value: n.value))
        }
        inputIDs += other.inputIDs.map { $0 + shift }
        for id in other.namedIDs {
            for name in other.names(of: id) { setName(name, for: id + shift) }
        }
        return shift
    }

    /// Sets the value of a leaf (an input or a constant), as a training step does (`p.data -= lr * p.grad`).
    /// Nodes computed from it before keep their values: build the forward pass again.
    public mutating func setLeafValue(_ value: Double, of id: NodeID) {
        precondition(nodes[id].op.isLeaf, "only a leaf's value can be set; node \(id) is \(nodes[id].op.name)")
        nodes[id].value = value
    }

    /// Gives node `id` a further name.
    public mutating func setName(_ name: String, for id: NodeID) { nameIndex.set(name, for: id) }

    /// The names of node `id` (empty for unnamed nodes), first given first.
    public func names(of id: NodeID) -> [String] { nameIndex.names(of: id) }

    /// The first name of node `id`, if any.
    public func name(of id: NodeID) -> String? { nameIndex.name(of: id) }

    /// The last node named `name` (the current binding after reassignments). O(named nodes).
    public func lookup(_ name: String) -> NodeID? { nameIndex.lookup(name) }

    /// The input leaf named `name`, if any.
    public func input(named name: String) -> NodeID? {
        inputIDs.last { nameIndex.name(of: $0) == name }
    }

    /// The ids that `output` depends on (itself included), as a mask over all nodes. O(n).
    public func ancestors(of output: NodeID) -> [Bool] {
        var mask = [Bool](repeating: false, count: output + 1)
        mask[output] = true
        var id = output
        while id >= 0 {
            if mask[id] {
                let n = nodes[id]
                if n.a >= 0 { mask[n.a] = true }
                if n.b >= 0 { mask[n.b] = true }
            }
            id -= 1
        }
        return mask
    }

    /// The number of consumers of each node among the ancestors of `output`.
    public func consumerCounts(towards output: NodeID) -> [Int] {
        let mask = ancestors(of: output)
        var counts = [Int](repeating: 0, count: nodes.count)
        for id in 0...output where mask[id] {
            let n = nodes[id]
            if n.a >= 0 { counts[n.a] += 1 }
            if n.b >= 0 { counts[n.b] += 1 }
        }
        return counts
    }

    /// Recomputes every forward value, with some leaves set to new values. O(n).
    ///
    /// Used by finite-difference checks and the forward "wiggle" view; the graph's
    /// structure is unchanged.
    public func evaluated(setting overrides: [NodeID: Double]) -> [Double] {
        var values = [Double](repeating: 0, count: nodes.count)
        for id in nodes.indices {
            let n = nodes[id]
            if n.op.isLeaf {
                values[id] = overrides[id] ?? n.value
            } else {
                values[id] = n.op.apply(values[n.a], n.b >= 0 ? values[n.b] : 0)
            }
        }
        return values
    }

    /// Checks the structural invariants: every input exists and precedes its consumer,
    /// arity matches the op, and forward values match a fresh evaluation. Returns the problems found.
    public func checkInvariants() -> [String] {
        var problems: [String] = []
        for (id, n) in nodes.enumerated() {
            let ins = [n.a, n.b].filter { $0 >= 0 }
            if ins.count != n.op.arity { problems.append("node \(id): \(ins.count) inputs for arity \(n.op.arity)") }
            for i in ins where i >= id { problems.append("node \(id): input \(i) does not precede it") }
        }
        if problems.isEmpty {
            let fresh = evaluated(setting: [:])
            for (id, n) in nodes.enumerated() where !(fresh[id] == n.value || (fresh[id].isNaN && n.value.isNaN)) {
                problems.append("node \(id): value \(n.value) but evaluates to \(fresh[id])")
            }
        }
        return problems
    }
}
