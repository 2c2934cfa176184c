/// Groups of nodes taken from names: `l1.n2.w0` belongs to neuron `l1.n2` of layer `l1`.
///
/// Named nodes belong to the group their dotted name spells; a name without enough dots is a
/// group of its own at neuron level (a statement with its unnamed parts), and at layer level
/// numbered names share their stem (`a0`, `a1`, … form `a…`). Unnamed operations belong to the
/// group of the node they feed, when all their consumers agree. This is how the nn helpers and
/// `gradtrace generate mlp` name things, and it works for any program that names its parts
/// `group.part`.
public struct Grouping: Sendable {
    /// How much to merge: `neuron` (two name levels), `layer` (one), or `module:N` (N name levels;
    /// `module` is `module:1`). The same text everywhere: `--collapse module:2`, `collapse=module:2`.
    ///
    /// ```swift
    /// Grouping.Level("module:2")?.depth   // 2
    /// Grouping.Level("layer") == .layer    // true
    /// ```
    public struct Level: Sendable, Hashable, CustomStringConvertible {
        /// The three words of the option.
        public enum Kind: String, Sendable, CaseIterable {
            /// `l1.n2`: a neuron (its weights, bias, weighted sum and activation).
            case neuron
            /// `l1`: a whole layer.
            case layer
            /// A module of a tensor program (`attn`, from `attn.q.weight`) to a depth; on scalar programs, name levels.
            case module
        }
        public let kind: Kind
        /// How many name levels a group keeps (`attn.q` is depth 2).
        public let depth: Int

        /// The deepest module level the option takes.
        public static let maxDepth = 16
        public static let neuron = Level(kind: .neuron, depth: 2)
        public static let layer = Level(kind: .layer, depth: 1)
        /// `module` (= `module:1`): the top-level modules.
        public static let module = Level(kind: .module, depth: 1)
        /// `module:N`: modules to `depth` name parts (1…``maxDepth``).
        public static func module(depth: Int) -> Level { Level(kind: .module, depth: depth) }

        /// The option's spellings, for help and completions.
        public static let spellings = ["neuron", "layer", "module", "module:N"]

        init(kind: Kind, depth: Int) {
            self.kind = kind
            self.depth = depth
        }

        /// Reads `neuron`, `layer`, `module` or `module:N` (N from 1 to ``maxDepth``); nil otherwise.
        public init?(_ text: String) {
            if let k = Kind(rawValue: text) {
                self = k == .neuron ? .neuron : k == .layer ? .layer : .module
                return
            }
            guard text.hasPrefix("module:"), let n = Int(text.dropFirst(7)), n >= 1, n <= Level.maxDepth,
                  text.dropFirst(7).allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            self = .module(depth: n)
        }

        /// The option's text: `neuron`, `layer`, `module`, `module:2`.
        public var description: String {
            kind == .module && depth > 1 ? "module:\(depth)" : kind.rawValue
        }

        /// The scalar grouping rule: at one level, numbered names share their stem (`a0`, `a1` → `a…`);
        /// deeper, a name with fewer parts is a group of its own, as a neuron is.
        var sharesStems: Bool { depth == 1 && kind != .neuron }
    }

    /// The group name of every node (nil: the node stays on its own).
    public let groupOf: [String?]

    /// Groups the nodes the output depends on. O(nodes).
    public init(graph: some GraphStructure, output: NodeID, level: Level) {
        var group = [String?](repeating: nil, count: graph.count)
        for id in 0..<graph.count {
            guard let name = graph.name(of: id) else { continue }
            let parts = Grouping.levels(of: name)
            if parts.count > level.depth {
                group[id] = String(name[parts[0].startIndex..<parts[level.depth - 1].endIndex])
            } else if !level.sharesStems || parts[0].contains(".") {
                // A plain name is a statement (and `layers.0` a module of its own): its unnamed parts gather under it.
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
            if graph.name(of: id) == nil && !graph.isLeaf(id) && !mixed[id] { group[id] = consumerGroup[id] }
            for i in graph.inputs(of: id) {
                if let g = group[id] {
                    if consumerGroup[i] == nil && !mixed[i] { consumerGroup[i] = g } else if consumerGroup[i] != g { mixed[i] = true }
                } else {
                    mixed[i] = true
                }
            }
        }
        groupOf = group
    }

    /// The levels of a dotted name: its parts, except that a number joins the part before it, as
    /// PyTorch names the items of a list of modules (`layers.0.neurons.1.w.2` has the levels
    /// `layers.0`, `neurons.1`, `w.2`; `l1.n2.w0` has `l1`, `n2`, `w0`).
    public static func levels(of name: String) -> [Substring] {
        var out: [Substring] = []
        var start = name.startIndex
        var i = name.startIndex
        func flush(_ end: String.Index) {
            let part = name[start..<end]
            if !out.isEmpty, !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }) {
                out[out.count - 1] = name[out[out.count - 1].startIndex..<end]
            } else {
                out.append(part)
            }
        }
        while i < name.endIndex {
            if name[i] == "." { flush(i); start = name.index(after: i) }
            i = name.index(after: i)
        }
        flush(name.endIndex)
        return out
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
