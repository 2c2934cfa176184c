/// The names beside an arena of nodes (``Graph`` and ``TensorGraph`` share it): a first name per
/// node, further names given later (`u = z` names `z`'s node `u` too), and the named nodes in the
/// order they were first named.
public struct NameIndex: Sendable {
    private var primary: [NodeID: String] = [:]
    /// Further names of a node, in the order given; rare.
    private var aliases: [NodeID: [String]] = [:]
    /// The named nodes, in naming order.
    public private(set) var namedIDs: [NodeID] = []

    public init() {}

    /// Gives node `id` a name (its first, or a further one).
    public mutating func set(_ name: String, for id: NodeID) {
        if primary[id] == nil {
            primary[id] = name
            namedIDs.append(id)
        } else {
            aliases[id, default: []].append(name)
        }
    }

    /// Every name of node `id`, first given first (empty for unnamed nodes).
    public func names(of id: NodeID) -> [String] {
        guard let first = primary[id] else { return [] }
        return [first] + (aliases[id] ?? [])
    }

    /// Calls `body` with every named node and its first name, in no particular order (no lookups: a
    /// table of all names is built in one sweep).
    public func forEachFirstName(_ body: (NodeID, String) -> Void) {
        for (id, name) in primary { body(id, name) }
    }

    /// True when node `id` has names besides its first (no array made).
    public func hasFurtherNames(_ id: NodeID) -> Bool { !aliases.isEmpty && aliases[id] != nil }

    /// Calls `body` with every name of every node, in no particular order (no lookups, no arrays).
    public func forEachName(_ body: (NodeID, String) -> Void) {
        for (id, name) in primary { body(id, name) }
        for (id, names) in aliases { for name in names { body(id, name) } }
    }

    /// The first name of node `id`, if any.
    public func name(of id: NodeID) -> String? { primary[id] }

    /// True when `name` is one of node `id`'s names.
    public func node(_ id: NodeID, isNamed name: String) -> Bool {
        primary[id] == name || aliases[id]?.contains(name) == true
    }

    /// The last node named `name` (the current binding after reassignments). O(named nodes).
    public func lookup(_ name: String) -> NodeID? {
        namedIDs.last { node($0, isNamed: name) }
    }
}
