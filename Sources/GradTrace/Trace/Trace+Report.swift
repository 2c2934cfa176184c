/// Text and JSON reports of a traced graph: what `gradtrace trace` and `gradtrace grad` print.
public enum Report {
    /// Writes the JSON of DESIGN.md: output, value, every input with value and grad, nodes and steps.
    ///
    /// Keys come in a fixed order and inputs in creation order, so the bytes are stable.
    public static func traceJSON(graph: Graph, trace: Trace, outputName: String, to out: inout some TextOutputStream) {
        let g = trace.gradients
        out.write("{\"output\": \(jsonString(outputName)), \"value\": \(NumberFormat.json(graph[trace.output].value)),\n")
        out.write(" \"granularity\": \"\(trace.granularity.rawValue)\",\n")
        writeInputs(graph: graph, gradients: g, output: trace.output, outputName: outputName, to: &out)
        out.write(",\n \"nodes\": [\n")
        for id in 0..<graph.count {
            let n = graph[id]
            writeNodeHead(id: id, names: graph.nameIndex, op: n.op.name, to: &out)
            if case .powConst(let c) = n.op { out.write(", \"exponent\": \(NumberFormat.json(c))") }
            out.write(", \"inputs\": [" + n.inputs.map(String.init).joined(separator: ", ") + "]")
            out.write(", \"value\": \(NumberFormat.json(n.value)), \"grad\": \(NumberFormat.json(g[id]))}")
            out.write(id + 1 < graph.count ? ",\n" : "\n")
        }
        out.write(" ],\n \"steps\": [\n")
        for (k, s) in trace.steps.enumerated() {
            out.write("  {\"step\": \(s.index), \"node\": \(s.node), \"upstream\": \(NumberFormat.json(s.upstream)), \"edges\": [")
            var first = true
            for e in trace.edges(of: s) {
                if !first { out.write(", ") }
                first = false
                out.write("{\"input\": \(e.input), \"node\": \(e.node), \"local\": \(NumberFormat.json(e.local)), \"upstream\": \(NumberFormat.json(e.upstream)), \"contribution\": \(NumberFormat.json(e.contribution)), \"accumulated\": \(NumberFormat.json(e.accumulated))}")
            }
            out.write("]}")
            out.write(k + 1 < trace.steps.count ? ",\n" : "\n")
        }
        out.write(" ]}\n")
    }

    /// A trace JSON node's first keys: `{"id": 3, "name": "u"` (and `"names"` when it has several), `"op"`.
    static func writeNodeHead(id: NodeID, names: NameIndex, op: String, to out: inout some TextOutputStream) {
        out.write("  {\"id\": \(id), \"name\": " + (names.name(of: id).map(jsonString) ?? "null"))
        let all = names.names(of: id)
        if all.count > 1 { out.write(", \"names\": [" + all.map(jsonString).joined(separator: ", ") + "]") }
        out.write(", \"op\": \"\(op)\"")
    }

    /// Writes `{"output", "value", "inputs"}` only.
    public static func gradJSON(graph: Graph, output: NodeID, outputName: String, gradients: [Double],
                                to out: inout some TextOutputStream) {
        out.write("{\"output\": \(jsonString(outputName)), \"value\": \(NumberFormat.json(graph[output].value)),\n")
        writeInputs(graph: graph, gradients: gradients, output: output, outputName: outputName, to: &out)
        out.write("}\n")
    }

    /// The `"inputs"` object; an input whose gradient passed through a NaN or an infinity carries `"nonfinite": true`,
    /// and a `"warnings"` array of the text warnings follows.
    static func writeInputs(graph: Graph, gradients: [Double], output: NodeID, outputName: String, to out: inout some TextOutputStream) {
        let flagged = Trace.nonFinitePaths(graph: graph, output: output, gradients: gradients)
        out.write(" \"inputs\": {")
        var first = true
        for id in graph.inputIDs {
            out.write(first ? "\n" : ",\n")
            first = false
            out.write("  \(jsonString(graph.name(of: id) ?? "v\(id)")): {\"value\": \(NumberFormat.json(graph[id].value)), \"grad\": \(NumberFormat.json(gradients[id]))")
            out.write(id <= output && flagged[id] ? ", \"nonfinite\": true}" : "}")
        }
        out.write(first ? "}" : "\n }")
        let warnings = nonFiniteWarnings(graph: graph, output: output, outputName: outputName, gradients: gradients)
        if !warnings.isEmpty {
            out.write(",\n \"warnings\": [" + warnings.map(jsonString).joined(separator: ", ") + "]")
        }
    }

    /// The gradient lines of `gradtrace grad`: `L = 676` then `dL/dw = 1248`, one per input.
    public static func gradText(graph: Graph, output: NodeID, outputName: String, gradients: [Double],
                                to out: inout some TextOutputStream) {
        out.write("\(outputName) = \(NumberFormat.text(graph[output].value))\n")
        for id in graph.inputIDs {
            let name = graph.name(of: id) ?? "v\(id)"
            out.write("d\(outputName)/d\(name) = \(NumberFormat.text(gradients[id]))\n")
        }
        for w in nonFiniteWarnings(graph: graph, output: output, outputName: outputName, gradients: gradients) { out.write(w + "\n") }
    }

    /// The readable step table of `gradtrace trace`.
    ///
    /// ```text
    /// step  node  edge          ∂node/∂input   upstream  ×  local  =  contribution   input grad
    ///    1  L     v5 → L        2(v5)                 1  ×     52  =            52           52
    ///
    /// The order is the pictures' and captions' (`upstream × local`), and a formula's minus sign is
    /// the numbers' ASCII hyphen (terminal text).
    /// ```
    public static func traceTable(graph: Graph, trace: Trace, outputName: String, to out: inout some TextOutputStream) {
        let labels = NameTable(graph: graph)
        out.write("\(outputName) = \(NumberFormat.short(graph[trace.output].value, digits: 8))\n\n")
        let counts = graph.consumerCounts(towards: trace.output)
        var table = TextTable(columns: 11, rightAligned: [0, 4, 6, 8, 9], expectedRows: trace.edges.count + 1, bytesPerRow: 96)
        var number = ShortFormatCache(digits: 6)
        for h in ["step", "node", "edge", "∂node/∂input", "upstream", "×", "local", "=", "contribution", "input grad", ""] { table.cell(h) }
        for s in trace.steps {
            let step = String(s.index)
            for e in trace.edges(of: s) {
                let node = graph[e.node]
                let nodeName = labels.name(of: e.node)
                table.cell(step)
                table.cell(nodeName)
                table.cell(labels.name(of: e.input), " → ", nodeName)
                table.cell(node.op.derivativeFormula(wrt: e.operand, operands: node.inputs.map(labels.name)).replacingMinus)
                table.cell(number(e.upstream))
                table.cell("×")
                table.cell(number(e.local))
                table.cell("=")
                table.cell(number(e.contribution))
                table.cell(number(e.accumulated))
                table.cell(counts[e.input] > 1 && e.accumulated != e.contribution ? "(sum)" : "")
            }
        }
        table.write(to: &out)
        out.write("\n")
        for id in graph.inputIDs {
            let name = graph.name(of: id) ?? "v\(id)"
            out.write("d\(outputName)/d\(name) = \(NumberFormat.short(trace.gradients[id], digits: 8))\n")
        }
        for w in nonFiniteWarnings(graph: graph, output: trace.output, outputName: outputName, gradients: trace.gradients) {
            out.write(w + "\n")
        }
    }

    /// Formats of recent numbers, `NumberFormat.short(x, digits:)` remembered by bit pattern in a small
    /// direct-mapped table: a long trace repeats its values (one step's contribution is the next one's
    /// upstream), and formatting is most of a row's work.
    struct ShortFormatCache {
        let digits: Int
        private var keys = [UInt64](repeating: 0, count: 4096)
        private var texts = [String](repeating: "", count: 4096)

        init(digits: Int) { self.digits = digits }

        mutating func callAsFunction(_ x: Double) -> String {
            let k = x.bitPattern
            let slot = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 52)
            if keys[slot] == k && !texts[slot].isEmpty { return texts[slot] }
            let t = NumberFormat.short(x, digits: digits)
            keys[slot] = k
            texts[slot] = t
            return t
        }
    }

    static func writeTable(_ rows: [[String]], rightAligned: Set<Int>, to out: inout some TextOutputStream) {
        guard let width = rows.first?.count else { return }
        var table = TextTable(columns: width, rightAligned: rightAligned)
        for r in rows { for c in r { table.cell(c) } }
        table.write(to: &out)
    }

    /// A JSON string literal with every needed escape.
    ///
    /// U+2028 and U+2029 are always escaped (JavaScript before ES2019 ends a line at them).
    /// With `inScript`, `<`, `>` and `&` are escaped too (`\u003c` …), so that the literal can
    /// stand inside an HTML `<script>` element: a name holding `</script><img …>` stays text.
    public static func jsonString(_ s: String) -> String { jsonString(s, inScript: false) }

    /// A JSON string literal; with `inScript`, also safe inside an HTML `<script>` element.
    public static func jsonString(_ s: String, inScript: Bool) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            case "\u{2028}": o += "\\u2028"
            case "\u{2029}": o += "\\u2029"
            case "<" where inScript: o += "\\u003c"
            case ">" where inScript: o += "\\u003e"
            case "&" where inScript: o += "\\u0026"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    o += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    o.unicodeScalars.append(u)
                }
            }
        }
        return o + "\""
    }
}

/// How nodes are called in text: their first name; a constant by its value; an unnamed
/// operation as a temporary `t1`, `t2`, … numbered in creation order.
///
/// ```swift
/// // x = 2; w = 3; u = w*x; L = (u^2 - 10)^2
/// NameTable(graph: g).name(of: 4)   // "t1" (the unnamed u²; "t2" is u² − 10)
/// ```
public struct NameTable: Sendable {
    private let names: [String]

    /// Builds the table. O(nodes).
    ///
    /// The one rule for unnamed nodes, used by reports, `check`, pictures and ``ProgramWriter``:
    /// an unnamed operation (or input) is `t1`, `t2`, … in creation order, skipping any `tK`
    /// the graph already uses as a name, so a temporary never looks like a named node, and a
    /// graph written by ``ProgramWriter`` and parsed again keeps every node's name.
    public init(graph: Graph) {
        var given = Set<String>()
        for id in 0..<graph.count { for n in graph.names(of: id) where n.hasPrefix("t") { given.insert(n) } }
        var names: [String] = []
        names.reserveCapacity(graph.count)
        var temps = 0
        for id in 0..<graph.count {
            if let n = graph.name(of: id) {
                names.append(n)
            } else if graph[id].op == .constant {
                names.append(NumberFormat.short(graph[id].value))
            } else {
                repeat { temps += 1 } while given.contains("t\(temps)")
                names.append("t\(temps)")
            }
        }
        self.names = names
    }

    /// The display name of node `id`.
    public func name(of id: NodeID) -> String { names[id] }

    /// A node's box title: the input's name, or `u = w·x` (its names, then what it computes).
    public func title(of id: NodeID, in graph: Graph) -> String {
        let n = graph[id]
        switch n.op {
        case .input: return graph.names(of: id).joined(separator: " = ")
        case .constant: return "const"
        default:
            let expr = n.op.expression(n.inputs.map(name(of:)))
            let given = graph.names(of: id)
            return (given.isEmpty ? name(of: id) : given.joined(separator: " = ")) + " = " + expr
        }
    }
}
