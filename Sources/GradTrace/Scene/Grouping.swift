/// Groups of nodes taken from names: `l1.n2.w0` belongs to neuron `l1.n2` of layer `l1`.
///
/// Named nodes belong to the group their dotted name spells; a name without enough dots is a
/// group of its own at neuron level (a statement with its unnamed parts), and at layer level
/// numbered names share their stem (`a0`, `a1`, … form `a…`). Unnamed operations belong to the
/// group of the node they feed, when all their consumers agree. This is how the nn helpers and
/// `gradtrace generate mlp` name things, and it works for any program that names its parts
/// `group.part`.
public struct Grouping: Sendable {
    /// How much to merge.
    public enum Level: String, Sendable, CaseIterable {
        /// `l1.n2`: a neuron (its weights, bias, weighted sum and activation).
        case neuron
        /// `l1`: a whole layer.
        case layer
        /// A module of a tensor program (`attn`, from `attn.q.weight`); on scalar programs, a layer.
        case module

        var depth: Int { self == .neuron ? 2 : 1 }
        /// The grouping rule: a module groups as a layer does.
        var rule: Level { self == .module ? .layer : self }
    }

    /// The group name of every node (nil: the node stays on its own).
    public let groupOf: [String?]

    /// Groups the nodes the output depends on. O(nodes).
    public init(graph: Graph, output: NodeID, level requested: Level) {
        let level = requested.rule
        var group = [String?](repeating: nil, count: graph.count)
        for id in 0..<graph.count {
            guard let name = graph.name(of: id) else { continue }
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count > level.depth {
                group[id] = parts.prefix(level.depth).joined(separator: ".")
            } else if level == .neuron {
                // A plain name is a statement: its unnamed parts gather under it.
                group[id] = name
            } else {
                // At layer level, numbered names share their stem: a0, a1, … make one group `a…`.
                var stem = Substring(parts[0])
                while let last = stem.last, last.isNumber || last == "_" { stem.removeLast() }
                group[id] = stem.isEmpty || stem.count == name.count ? name : stem + "…"
            }
        }
        // Unnamed operations join the group of their consumers when every consumer is in the same one.
        let mask = graph.ancestors(of: output)
        var consumerGroup = [String?](repeating: nil, count: graph.count)
        var mixed = [Bool](repeating: false, count: graph.count)
        var id = output
        while id >= 0 {
            defer { id -= 1 }
            guard mask[id] else { continue }
            let n = graph[id]
            if graph.name(of: id) == nil && !n.op.isLeaf && !mixed[id] { group[id] = consumerGroup[id] }
            for i in n.inputs {
                if let g = group[id] {
                    if consumerGroup[i] == nil && !mixed[i] { consumerGroup[i] = g } else if consumerGroup[i] != g { mixed[i] = true }
                } else {
                    mixed[i] = true
                }
            }
        }
        groupOf = group
    }

    /// True when no node is in a group.
    public var isEmpty: Bool { !groupOf.contains { $0 != nil } }
}

extension Grouping {
    /// Natural order of names: runs of digits compare as numbers (`l1.n2` before `l1.n10`).
    ///
    /// ```swift
    /// ["l1.n10", "l1.n2", "l1.n0"].sorted(by: Grouping.naturalLess)   // ["l1.n0", "l1.n2", "l1.n10"]
    /// ```
    public static func naturalLess(_ a: String, _ b: String) -> Bool {
        var i = a.unicodeScalars.makeIterator(), j = b.unicodeScalars.makeIterator()
        var x = i.next(), y = j.next()
        func isDigit(_ c: Unicode.Scalar?) -> Bool { c.map { $0 >= "0" && $0 <= "9" } ?? false }
        while let p = x, let q = y {
            if isDigit(p) && isDigit(q) {
                var m = "", n = ""
                while let c = x, isDigit(c) { m.unicodeScalars.append(c); x = i.next() }
                while let c = y, isDigit(c) { n.unicodeScalars.append(c); y = j.next() }
                let mm = m.drop { $0 == "0" }, nn = n.drop { $0 == "0" }
                if mm.count != nn.count { return mm.count < nn.count }
                if mm != nn { return mm < nn }
                if m.count != n.count { return m.count < n.count }
                continue
            }
            if p != q { return p.value < q.value }
            x = i.next()
            y = j.next()
        }
        return x == nil && y != nil
    }
}
