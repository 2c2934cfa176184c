/// One node of a ``TensorGraph``: an op, up to two inputs and its forward value.
public struct TensorNode: Sendable, Hashable {
    public var op: TensorOp
    /// The input ids, in operand order.
    public var inputs: [NodeID]
    public var value: Tensor

    /// First input (or -1).
    public var a: NodeID { inputs.first ?? -1 }
    /// Second input (or -1).
    public var b: NodeID { inputs.count > 1 ? inputs[1] : -1 }

    public init(op: TensorOp, inputs: [NodeID], value: Tensor) {
        self.op = op
        self.inputs = inputs
        self.value = value
    }
}

/// A computational graph of tensors: an arena of nodes in creation order (a topological order),
/// with forward values and names, as ``Graph`` is for scalars.
///
/// ```swift
/// var g = TensorGraph()
/// let x = g.addInput("X", Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))
/// let w = g.addInput("W", Tensor(shape: [3, 1], data: [1, 0, -1]))
/// let z = try g.add(.matmul, x, w, name: "Z")
/// g[z].value.shape   // [2, 1]
/// ```
public struct TensorGraph: Sendable {
    public private(set) var nodes: [TensorNode] = []
    /// The names of the nodes.
    public private(set) var nameIndex = NameIndex()
    /// The input leaves in creation order.
    public private(set) var inputIDs: [NodeID] = []
    /// Named nodes in naming order.
    public var namedIDs: [NodeID] { nameIndex.namedIDs }
    /// The most bytes the graph may hold through a traced backward pass (values, gradients, edge
    /// contributions, broadcast index maps); ``add(_:_:_:name:)`` refuses a node that would cross it.
    public var memoryBudget: Int
    /// What the nodes so far will hold, by the same count as the budget.
    public private(set) var estimatedBytes = 0

    public init(memoryBudget: Int = TensorGraph.defaultMemoryBudget) {
        self.memoryBudget = memoryBudget
    }

    /// The refusal when the leaves and nodes so far are past the budget (a leaf, such as a large literal
    /// or `--at` value, is counted when added and refused here or at the next operation).
    public func checkBudget() throws(TensorShapeError) {
        if estimatedBytes > memoryBudget { throw budgetError(adding: 0) }
    }

    public var count: Int { nodes.count }
    public subscript(id: NodeID) -> TensorNode { nodes[id] }

    /// Adds a named input leaf.
    @discardableResult
    public mutating func addInput(_ name: String, _ value: Tensor) -> NodeID {
        let id = nodes.count
        estimatedBytes = TensorGraph.saturatingAdd(estimatedBytes, TensorGraph.footprint(output: value.shape, operands: []))
        nodes.append(TensorNode(op: .input, inputs: [], value: value))
        inputIDs.append(id)
        setName(name, for: id)
        return id
    }

    /// Adds a constant leaf.
    @discardableResult
    public mutating func addConstant(_ value: Tensor) -> NodeID {
        let id = nodes.count
        estimatedBytes = TensorGraph.saturatingAdd(estimatedBytes, TensorGraph.footprint(output: value.shape, operands: []))
        nodes.append(TensorNode(op: .constant, inputs: [], value: value))
        return id
    }

    /// Adds an operation node after checking its operands' shapes (and labels), and computes its value.
    @discardableResult
    public mutating func add(_ op: TensorOp, _ a: NodeID, _ b: NodeID = -1, name: String? = nil) throws(TensorShapeError) -> NodeID {
        try add(op, inputs: op.arity >= 2 ? [a, b] : [a], name: name)
    }

    /// Adds an operation node over any number of inputs (registry functions such as `linear(x, W, b)`).
    @discardableResult
    public mutating func add(_ op: TensorOp, inputs: [NodeID], name: String? = nil) throws(TensorShapeError) -> NodeID {
        precondition(op.arity >= 1 && inputs.count == op.arity && inputs.allSatisfy { $0 >= 0 && $0 < nodes.count }, "an op with existing inputs")
        let xs = inputs.map { nodes[$0].value }
        let va = xs[0], vb: Tensor? = xs.count > 1 ? xs[1] : nil
        let shape = try op.outputShape(xs.map(\.shape))
        if shape.count > Tensor.maxRank {
            throw TensorShapeError("the result would have rank \(shape.count) (shape \(Tensor.text(shape: shape))); tensors have rank 4 at most")
        }
        if Tensor.saturatingCount(shape) > Tensor.maxElements {
            throw TensorShapeError("the result would have shape \(Tensor.text(shape: shape)), \(Tensor.elementCountText(shape)) elements; the limit is \(Tensor.maxElements)")
        }
        let footprint = TensorGraph.footprint(output: shape, operands: xs.map(\.shape))
        if TensorGraph.saturatingAdd(estimatedBytes, footprint) > memoryBudget { throw budgetError(adding: footprint) }
        if op == .matmul, let vb {
            let work = Shapes.product([Tensor.saturatingCount(shape), va.shape.last ?? 1])
            if work > Tensor.maxProductWork {
                throw TensorShapeError("the product of \(va.shapeText) and \(vb.shapeText) needs \(work) multiply-adds; the limit is \(Tensor.maxProductWork)")
            }
        }
        if case .call(let c) = op {
            let work = c.function.work(xs.map(\.shape), c.options)
            if work > Tensor.maxProductWork {
                throw TensorShapeError("\(c.function.name) of \(xs.map(\.shapeText).joined(separator: " and ")) needs \(work) multiply-adds; the limit is \(Tensor.maxProductWork)")
            }
        }
        try op.checkValues(xs)
        estimatedBytes += footprint
        let id = nodes.count
        nodes.append(TensorNode(op: op, inputs: inputs, value: op.forward(xs)))
        if let name { setName(name, for: id) }
        return id
    }

    public mutating func setName(_ name: String, for id: NodeID) { nameIndex.set(name, for: id) }

    /// Appends a node as it is (no checks, nothing evaluated): for derived graphs such as the collapsed view.
    mutating func appendNode(_ node: TensorNode) { nodes.append(node) }

    /// Lists a node as an input leaf.
    mutating func registerInput(_ id: NodeID) { inputIDs.append(id) }

    /// The input leaf named `name`, if any.
    public func input(named name: String) -> NodeID? { inputIDs.last { nameIndex.name(of: $0) == name } }

    /// Sets a leaf's value (same shape); nodes computed from it keep their values until ``reevaluated()``.
    public mutating func setLeafValue(_ value: Tensor, of id: NodeID) {
        precondition(nodes[id].op.isLeaf && nodes[id].value.shape == value.shape, "a leaf's value, same shape")
        nodes[id].value = value
    }

    /// Every node's value recomputed from the leaves, with some leaves replaced (same shapes). O(work of a forward pass).
    public func evaluated(setting overrides: [NodeID: Tensor] = [:]) -> [Tensor] {
        var values: [Tensor] = []
        values.reserveCapacity(nodes.count)
        for (id, n) in nodes.enumerated() {
            if n.op.isLeaf { values.append(overrides[id] ?? n.value) }
            else { values.append(n.op.forward(n.inputs.map { values[$0] })) }
        }
        return values
    }

    /// How a node serves as class labels (the second operand of `pick` and `cross_entropy`).
    public enum LabelUse: Sendable, Equatable {
        /// Never as labels.
        case none
        /// Only as labels: it takes no gradient.
        case only
        /// As labels and as an ordinary operand too.
        case also
    }

    /// Every node's ``LabelUse``. O(nodes).
    public func labelUses() -> [LabelUse] {
        var labels = [Bool](repeating: false, count: nodes.count), other = labels
        for n in nodes {
            for (k, i) in n.inputs.enumerated() {
                if n.op.passesGradient(toOperand: k) { other[i] = true } else { labels[i] = true }
            }
        }
        return (0..<nodes.count).map { labels[$0] ? (other[$0] ? .also : .only) : .none }
    }

    /// The ancestors of `output` (itself included) as a mask.
    public func ancestors(of output: NodeID) -> [Bool] {
        var mask = [Bool](repeating: false, count: output + 1)
        mask[output] = true
        for id in stride(from: output, through: 0, by: -1) where mask[id] {
            for i in nodes[id].inputs { mask[i] = true }
        }
        return mask
    }
}
