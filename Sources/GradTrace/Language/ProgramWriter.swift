/// Writes a graph as a program in the GradTrace language that rebuilds it node for node:
/// the same ops, the same inputs and constants, the same names, so a network built in Swift
/// can be traced, drawn and animated from the command line.
///
/// Unnamed operations used once are written inline (`l1.n0.b + l1.n0.w0*2 + …`); unnamed
/// operations used more than once, or nested deeper than ``maxInlineDepth``, and unnamed inputs,
/// get the name reports give them (`t1`, `t2`, …: ``NameTable``).
/// Inputs are written with full precision.
///
/// Names that are not identifiers of the language (a library user may name a `Value`
/// anything, newlines included) are written with every other character replaced by `_`
/// (``identifier(_:)``), so a name can never inject a statement. Header lines that are not
/// comments are made comments.
///
/// ```swift
/// let text = ProgramWriter.source(of: tape.graph, output: loss.id, header: "# my network")
/// try Program.parse(text).graph.count == tape.graph.count   // true
/// ```
public enum ProgramWriter {
    /// How deep an inline expression may nest before a node gets a statement of its own: keeps
    /// the writer linear (each node's text is copied into at most this many enclosing ones).
    public static let maxInlineDepth = 64

    /// The program text. O(nodes × maxInlineDepth) at worst, O(nodes + text) in practice.
    public static func source(of graph: Graph, output: NodeID, header: String = "") -> String {
        let mask = graph.ancestors(of: output)
        var consumers = [Int](repeating: 0, count: graph.count)
        var consumer = [Int](repeating: -1, count: graph.count)
        for id in 0...output where mask[id] {
            for i in graph[id].inputs {
                consumers[i] += 1
                consumer[i] = id
            }
        }
        let emitted = (0...output).filter { mask[$0] || graph[$0].op == .input }
        // Which nodes get a statement of their own: named nodes, inputs, and operations used more than once.
        let table = NameTable(graph: graph)
        var name = [String?](repeating: nil, count: graph.count)
        var inputNames = Set<String>()
        for id in emitted {
            let n = graph[id]
            if let o = graph.name(of: id) {
                // Inputs cannot be redefined: two names that become one identifier get `_ID`.
                var w = identifier(o)
                if n.op == .input { if !inputNames.insert(w).inserted { w += "_\(id)"; inputNames.insert(w) } }
                name[id] = w
            } else if n.op == .input || (!n.op.isLeaf && (consumers[id] > 1 || id == output)) {
                name[id] = table.name(of: id)
            }
        }
        // Inline expressions nest at most maxInlineDepth deep (a chain of 10⁵ negations would
        // otherwise be copied 10⁵ times over).
        var depth = [Int](repeating: 0, count: graph.count)
        for id in emitted where name[id] == nil && !graph[id].op.isLeaf {
            let d = 1 + (graph[id].inputs.map { depth[$0] }.max() ?? 0)
            if d > maxInlineDepth { name[id] = table.name(of: id) } else { depth[id] = d }
        }
        // Where each node's text is written: its own statement, or (inlined) its consumer's.
        var emitAt = [Int](repeating: -1, count: graph.count)
        for id in emitted.reversed() { emitAt[id] = name[id] != nil || consumer[id] < 0 ? id : emitAt[consumer[id]] }
        var lastUse = [Int](repeating: -1, count: graph.count)
        for id in emitted { for i in graph[id].inputs { lastUse[i] = max(lastUse[i], emitAt[id]) } }
        // A name assigned again while its earlier node is still to be read would make later
        // references read the wrong node: such earlier nodes are written as `name_ID`.
        var binding: [String: NodeID] = [:]
        for id in emitted {
            guard let o = name[id] else { continue }
            if let previous = binding[o], lastUse[previous] > id { name[previous] = "\(o)_\(previous)" }
            binding[o] = id
        }
        var written = [String](repeating: "", count: graph.count)  // inline text of unnamed nodes
        var atomic = [Bool](repeating: true, count: graph.count)  // inline text needs no parentheses
        var lines: [String] = []
        if !header.isEmpty {
            for line in header.split(separator: "\n", omittingEmptySubsequences: false) {
                lines.append(line.hasPrefix("#") ? String(line) : "# " + line)
            }
        }
        for id in emitted {
            let n = graph[id]
            if let o = name[id] {
                if n.op.isLeaf {
                    lines.append("\(o) = \(literal(n.value))")
                } else {
                    lines.append("\(o) = \(expression(id, graph, name, written, atomic))")
                }
            } else if n.op == .constant {
                written[id] = literal(n.value)
                atomic[id] = isAtomic(written[id])
            } else {
                written[id] = expression(id, graph, name, written, atomic)
                atomic[id] = rendersAsCall(n.op)
            }
        }
        if name[output] == nil { lines.append("result = \(written[output])") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func operand(_ id: NodeID, _ names: [String?], _ written: [String]) -> String {
        names[id] ?? written[id]
    }

    /// True for ops written as a call (`tanh(a)`, `pow(a, b)`): their text needs no parentheses.
    static func rendersAsCall(_ op: Op) -> Bool {
        switch op {
        case .add, .sub, .mul, .div, .neg, .powConst: return false
        default: return true
        }
    }

    /// The text of node `id` over its operands; subexpressions are parenthesised where precedence
    /// needs it, decided from `atomic` (known per node) rather than by scanning the text.
    static func expression(_ id: NodeID, _ graph: Graph, _ names: [String?], _ written: [String], _ atomic: [Bool]) -> String {
        let n = graph[id]
        let a = n.a >= 0 ? operand(n.a, names, written) : ""
        let b = n.b >= 0 ? operand(n.b, names, written) : ""
        func p(_ s: String, _ operand: NodeID) -> String { names[operand] != nil || atomic[operand] ? s : "(\(s))" }
        // Sums keep their left operand bare (left-associative), so chains read `a + b + c`.
        switch n.op {
        case .add: return "\(names[n.a] != nil || isSum(n.a, graph, names) ? a : p(a, n.a)) + \(p(b, n.b))"
        case .sub: return "\(names[n.a] != nil || isSum(n.a, graph, names) ? a : p(a, n.a)) - \(p(b, n.b))"
        case .mul: return "\(p(a, n.a))*\(p(b, n.b))"
        case .div: return "\(p(a, n.a))/\(p(b, n.b))"
        case .neg: return "-\(p(a, n.a))"
        case .powConst(let c): return "\(a.hasPrefix("-") ? "(\(a))" : p(a, n.a))^\(literal(c))"
        case .pow: return "pow(\(a), \(b))"
        case .input, .constant: return literal(n.value)
        default: return "\(n.op.name)(\(a))"
        }
    }

    static func isSum(_ id: NodeID, _ graph: Graph, _ names: [String?]) -> Bool {
        names[id] == nil && (graph[id].op == .add || graph[id].op == .sub)
    }

    /// A name as an identifier of the language: letters, digits (not first), `_` and `.` kept,
    /// letters, marks and digits of other scripts kept, anything else (spaces, operators,
    /// newlines, quotes, invisible characters) replaced by `_`.
    ///
    /// ```swift
    /// ProgramWriter.identifier("l1.n0.w0")        // "l1.n0.w0"
    /// ProgramWriter.identifier("x\ny = 3")        // "x_y___3"
    /// ProgramWriter.identifier("2nd")             // "_2nd"
    /// ```
    public static func identifier(_ name: String) -> String {
        var out = ""
        for u in name.unicodeScalars {
            let v = u.value
            let ascii = (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || (v >= 48 && v <= 57) || v == 95 || v == 46
            var keep = ascii
            if v >= 0x80 {
                switch u.properties.generalCategory {
                case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                     .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber:
                    keep = true
                default: keep = false
                }
            }
            out.unicodeScalars.append(keep ? u : "_")
        }
        if let first = out.unicodeScalars.first, (first.value >= 48 && first.value <= 57) || first == "." || first.properties.generalCategory == .nonspacingMark {
            out = "_" + out
        }
        return out.isEmpty ? "_" : out
    }

    /// True for a name, a number or a call: no parentheses needed around it.
    static func isAtomic(_ s: String) -> Bool {
        var depth = 0
        for (i, ch) in s.enumerated() {
            if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }
            if depth == 0 && " +-*/^".contains(ch) && !(i == 0 && ch == "-") { return false }
        }
        return !s.hasPrefix("-") || Double(s) != nil
    }

    /// A number that reads back as the same double.
    static func literal(_ x: Double) -> String {
        if x == 0 && x.sign == .minus { return "-0" }
        if x.isNaN { return "(0/0)" }
        if x.isInfinite { return x < 0 ? "(-1/0)" : "(1/0)" }
        return NumberFormat.exact(x)
    }
}
