/// Writes a graph as a program in the GradTrace language that rebuilds it node for node:
/// the same ops, the same inputs and constants, the same names, so a network built in Swift
/// can be traced, drawn and animated from the command line.
///
/// Unnamed operations used once are written inline (`l1.n0.b + l1.n0.w0*2 + …`); unnamed
/// operations used more than once get a name `_tN`. Inputs are written with full precision.
///
/// ```swift
/// let text = ProgramWriter.source(of: tape.graph, output: loss.id, header: "# my network")
/// try Program.parse(text).graph.count == tape.graph.count   // true
/// ```
public enum ProgramWriter {
    /// The program text. O(nodes).
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
        var name = [String?](repeating: nil, count: graph.count)
        for id in emitted {
            let n = graph[id]
            if let o = graph.name(of: id) { name[id] = o } else if !n.op.isLeaf && (consumers[id] > 1 || id == output) { name[id] = "_t\(id)" }
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
        var lines: [String] = []
        if !header.isEmpty { lines.append(header) }
        for id in emitted {
            let n = graph[id]
            if let o = name[id] {
                if n.op.isLeaf {
                    lines.append("\(o) = \(literal(n.value))")
                } else {
                    lines.append("\(o) = \(expression(id, graph, name, written, top: true))")
                }
            } else if n.op == .constant {
                written[id] = literal(n.value)
            } else {
                written[id] = expression(id, graph, name, written, top: false)
            }
        }
        if name[output] == nil { lines.append("result = \(written[output])") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func operand(_ id: NodeID, _ names: [String?], _ written: [String]) -> String {
        names[id] ?? written[id]
    }

    /// The text of node `id` over its operands; subexpressions are parenthesised where precedence needs it.
    static func expression(_ id: NodeID, _ graph: Graph, _ names: [String?], _ written: [String], top: Bool) -> String {
        let n = graph[id]
        let a = n.a >= 0 ? operand(n.a, names, written) : ""
        let b = n.b >= 0 ? operand(n.b, names, written) : ""
        func p(_ s: String) -> String { atomic(s) ? s : "(\(s))" }
        // Sums keep their left operand bare (left-associative), so chains read `a + b + c`.
        switch n.op {
        case .add: return "\(names[n.a] != nil || isSum(n.a, graph, names) ? a : p(a)) + \(p(b))"
        case .sub: return "\(names[n.a] != nil || isSum(n.a, graph, names) ? a : p(a)) - \(p(b))"
        case .mul: return "\(p(a))*\(p(b))"
        case .div: return "\(p(a))/\(p(b))"
        case .neg: return "-\(p(a))"
        case .powConst(let c): return "\(a.hasPrefix("-") ? "(\(a))" : p(a))^\(literal(c))"
        case .pow: return "pow(\(a), \(b))"
        case .input, .constant: return literal(n.value)
        default: return "\(n.op.name)(\(a))"
        }
    }

    static func isSum(_ id: NodeID, _ graph: Graph, _ names: [String?]) -> Bool {
        names[id] == nil && (graph[id].op == .add || graph[id].op == .sub)
    }

    /// True for a name, a number or a call: no parentheses needed around it.
    static func atomic(_ s: String) -> Bool {
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
