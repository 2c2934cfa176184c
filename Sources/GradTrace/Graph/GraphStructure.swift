/// The structure of a recorded graph, whichever engine recorded it: how many nodes, which node
/// reads which, what kind of leaf a node is, and the names. What layout, grouping, clusters,
/// repeated blocks, frame names and the size guard need, and no more: both ``Graph`` and
/// ``TensorGraph`` are one, so the drawing layer reads the real graph of a tensor program (every
/// operand of a three-input `linear`, a module's every input) instead of a scalar stand-in.
///
/// ```swift
/// func leaves(_ g: some GraphStructure) -> Int { (0..<g.count).filter(g.isLeaf).count }
/// leaves(program.structure)   // the same for a scalar and a tensor program of one shape
/// ```
public protocol GraphStructure: Sendable {
    /// Number of nodes; ids are 0..<count in creation (topological) order.
    var count: Int { get }
    /// The names of the nodes.
    var nameIndex: NameIndex { get }
    /// The input leaves in creation order.
    var inputIDs: [NodeID] { get }
    /// Node `id`'s operands in operand order (every one: a tensor op may read three or more).
    func inputs(of id: NodeID) -> [NodeID]
    /// Node `id` is an input or a constant.
    func isLeaf(_ id: NodeID) -> Bool
    /// Node `id` is an input leaf (a name the program gives a value).
    func isInput(_ id: NodeID) -> Bool
    /// The number a constant leaf holds, as names and titles show it (nil: not a constant, or a
    /// constant of more than one element, which is named as operations are).
    func constantNumber(_ id: NodeID) -> Double?
    /// The ids that `output` depends on (itself included), as a mask. O(nodes + edges).
    func ancestors(of output: NodeID) -> [Bool]
}

extension GraphStructure {
    /// The first name of node `id`, if any.
    public func name(of id: NodeID) -> String? { nameIndex.name(of: id) }
    /// The names of node `id` (empty for unnamed nodes), first given first.
    public func names(of id: NodeID) -> [String] { nameIndex.names(of: id) }
    /// Node `id` is a constant leaf.
    public func isConstant(_ id: NodeID) -> Bool { isLeaf(id) && !isInput(id) }
}

extension Graph: GraphStructure {
    @inlinable public func inputs(of id: NodeID) -> [NodeID] { self[id].inputs }
    @inlinable public func isLeaf(_ id: NodeID) -> Bool { self[id].op.isLeaf }
    @inlinable public func isInput(_ id: NodeID) -> Bool { self[id].op == .input }
    @inlinable public func constantNumber(_ id: NodeID) -> Double? { self[id].op == .constant ? self[id].value : nil }
}

extension TensorGraph: GraphStructure {
    public func inputs(of id: NodeID) -> [NodeID] { self[id].inputs }
    public func isLeaf(_ id: NodeID) -> Bool { self[id].op.isLeaf }
    public func isInput(_ id: NodeID) -> Bool { self[id].op == .input }
    public func constantNumber(_ id: NodeID) -> Double? {
        self[id].op == .constant && self[id].value.count == 1 ? self[id].value.scalar : nil
    }
}
