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
        // Nodes and steps are written as bytes into 64 KiB chunks (a million-step trace makes no
        // string per row); the text is what string interpolation of the same parts gave.
        var w = ChunkWriter()
        for id in 0..<graph.count {
            let n = graph[id]
            w.append("  {\"id\": "); w.append(id)
            w.append(", \"name\": ")
            if let name = graph.nameIndex.name(of: id) { w.append(jsonString(name)) } else { w.append("null") }
            if graph.nameIndex.hasFurtherNames(id) {
                w.append(", \"names\": [" + graph.nameIndex.names(of: id).map(jsonString).joined(separator: ", ") + "]")
            }
            w.append(", \"op\": \""); w.append(n.op.name); w.append("\"")
            if case .powConst(let c) = n.op { w.append(", \"exponent\": "); w.json(c) }
            w.append(", \"inputs\": [")
            let arity = n.op.arity
            if arity >= 1 { w.append(n.a) }
            if arity >= 2 { w.append(", "); w.append(n.b) }
            w.append("], \"value\": "); w.json(n.value)
            w.append(", \"grad\": "); w.json(g[id])
            w.append(id + 1 < graph.count ? "},\n" : "}\n")
            w.flushIfFull(to: &out)
        }
        w.append(" ],\n \"steps\": [\n")
        for (k, s) in trace.steps.enumerated() {
            w.append("  {\"step\": "); w.append(s.index)
            w.append(", \"node\": "); w.append(s.node)
            w.append(", \"upstream\": "); w.json(s.upstream)
            w.append(", \"edges\": [")
            var first = true
            for e in trace.edges(of: s) {
                if !first { w.append(", ") }
                first = false
                w.append("{\"input\": "); w.append(e.input)
                w.append(", \"node\": "); w.append(e.node)
                w.append(", \"local\": "); w.json(e.local)
                w.append(", \"upstream\": "); w.json(e.upstream)
                w.append(", \"contribution\": "); w.json(e.contribution)
                w.append(", \"accumulated\": "); w.json(e.accumulated)
                w.append("}")
                w.flushIfFull(to: &out)
            }
            w.append(k + 1 < trace.steps.count ? "]},\n" : "]}\n")
        }
        w.append(" ]}\n")
        w.finish(to: &out)
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
        let shared = sharedInputs(graph: graph, towards: trace.output)
        let headers = ["step", "node", "edge", "∂node/∂input", "upstream", "×", "local", "=", "contribution", "input grad", ""]
        let right = (0..<headers.count).map { [0, 4, 6, 8, 9].contains($0) }
        let numbers = ShortFormatCache(digits: 6)
        func formula(_ e: EdgeRecord) -> String {
            let node = graph[e.node]
            return node.op.derivativeFormula(wrt: e.operand, first: node.a >= 0 ? labels.name(of: node.a) : nil,
                                             second: node.b >= 0 ? labels.name(of: node.b) : nil)
        }
        func summed(_ e: EdgeRecord) -> Bool { shared[e.input] && e.accumulated != e.contribution }

        // Rows are streamed, never kept: a first sweep finds each column's width (a number is formatted only
        // when its length bound could widen its column), the second writes the padded rows.
        var widths = headers.map(textWidth)
        func widen(_ column: Int, _ x: Double) {
            if NumberFormat.shortLengthBound(x, digits: 6) > widths[column] { widths[column] = max(widths[column], numbers(x).count) }
        }
        for s in trace.steps {
            widths[0] = max(widths[0], NumberFormat.shortLengthBound(Double(s.index), digits: 1))
            for e in trace.edges(of: s) {
                let nodeWidth = textWidth(labels.name(of: e.node))
                widths[1] = max(widths[1], nodeWidth)
                widths[2] = max(widths[2], textWidth(labels.name(of: e.input)) + 3 + nodeWidth)
                widths[3] = max(widths[3], textWidth(formula(e)))
                widen(4, e.upstream)
                widen(6, e.local)
                widen(8, e.contribution)
                widen(9, e.accumulated)
                if summed(e) { widths[10] = max(widths[10], 5) }
            }
        }

        var rows = RowWriter(widths: widths, right: right)
        for h in headers { rows.cell(h, width: textWidth(h), to: &out) }
        var stepDigits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &stepDigits) { raw in
            let digits = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            for s in trace.steps {
                let stepCount = NumberFormat.writeInteger(UInt64(s.index), to: digits)
                for e in trace.edges(of: s) {
                    rows.cell(digits, count: stepCount, width: stepCount, to: &out)
                    let nodeName = labels.name(of: e.node), inputName = labels.name(of: e.input)
                    let nodeWidth = textWidth(nodeName), edgeWidth = textWidth(inputName) + 3 + nodeWidth
                    rows.cell(nodeName, width: nodeWidth, to: &out)
                    rows.begin(width: edgeWidth)
                    rows.append(inputName)
                    rows.append(" → ")
                    rows.append(nodeName)
                    rows.end(width: edgeWidth, to: &out)
                    let f = formula(e)
                    let fw = textWidth(f)
                    rows.begin(width: fw)
                    rows.append(f, asciiMinus: true)
                    rows.end(width: fw, to: &out)
                    rows.number(numbers(e.upstream), to: &out)
                    rows.cell("×", width: 1, to: &out)
                    rows.number(numbers(e.local), to: &out)
                    rows.cell("=", width: 1, to: &out)
                    rows.number(numbers(e.contribution), to: &out)
                    rows.number(numbers(e.accumulated), to: &out)
                    if summed(e) { rows.cell("(sum)", width: 5, to: &out) } else { rows.cell("", width: 0, to: &out) }
                }
            }
        }
        rows.finish(to: &out)
        out.write("\n")
        for id in graph.inputIDs {
            let name = graph.name(of: id) ?? "v\(id)"
            out.write("d\(outputName)/d\(name) = \(NumberFormat.short(trace.gradients[id], digits: 8))\n")
        }
        for w in nonFiniteWarnings(graph: graph, output: trace.output, outputName: outputName, gradients: trace.gradients) {
            out.write(w + "\n")
        }
    }

    /// For each node, whether more than one operand slot on the way to `output` reads it (the trace marks
    /// its running sums); one bit of what `Graph.consumerCounts(towards:)` counts.
    static func sharedInputs(graph: Graph, towards output: NodeID) -> [Bool] {
        let mask = graph.ancestors(of: output)
        var seen = [Bool](repeating: false, count: graph.count)
        var shared = [Bool](repeating: false, count: graph.count)
        for id in 0...output where mask[id] {
            let n = graph[id]
            if n.a >= 0 { if seen[n.a] { shared[n.a] = true } else { seen[n.a] = true } }
            if n.b >= 0 { if seen[n.b] { shared[n.b] = true } else { seen[n.b] = true } }
        }
        return shared
    }

    /// A text's width in a table: its number of characters (its byte count when it is ASCII).
    static func textWidth(_ s: String) -> Int {
        var s = s
        let ascii = s.withUTF8 { u -> Bool in
            var high: UInt8 = 0
            for x in u { high |= x }
            return high < 0x80
        }
        return ascii ? s.utf8.count : s.count
    }

    /// Formats of recent numbers, `NumberFormat.short(x, digits:)` as ASCII, remembered by bit pattern in a
    /// small direct-mapped table: a long trace repeats its values (one step's contribution is the next one's
    /// upstream), and formatting is most of a row's work.
    final class ShortFormatCache {
        let digits: Int
        private static let slots = 4096
        private let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: slots)
        private let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: slots)
        private let texts = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * NumberFormat.shortCapacity)

        init(digits: Int) {
            self.digits = digits
            lengths.initialize(repeating: 0, count: Self.slots)
            keys.initialize(repeating: 0, count: Self.slots)
        }

        deinit {
            keys.deallocate()
            lengths.deallocate()
            texts.deallocate()
        }

        /// The text of `x`, valid until the next call.
        func callAsFunction(_ x: Double) -> UnsafeBufferPointer<UInt8> {
            let k = x.bitPattern
            let slot = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 52)
            let text = texts + slot * NumberFormat.shortCapacity
            if keys[slot] != k || lengths[slot] == 0 {
                lengths[slot] = UInt8(NumberFormat.short(x, digits: digits, into: text))
                keys[slot] = k
            }
            return UnsafeBufferPointer(start: text, count: Int(lengths[slot]))
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
    public init(graph: Graph) { self.init(structure: graph) }

    /// The table of any graph's structure (a tensor graph's constants of more than one element are
    /// named as operations are).
    public init(structure graph: some GraphStructure) {
        var given = Set<String>()
        graph.nameIndex.forEachName { _, n in if n.hasPrefix("t") { given.insert(n) } }
        var names = [String](repeating: "", count: graph.count)
        var named = [Bool](repeating: false, count: graph.count)
        graph.nameIndex.forEachFirstName { id, name in
            names[id] = name
            named[id] = true
        }
        var temps = 0
        // Constants repeat (a chain's 0.999999 a million times): their texts by bit pattern, direct-mapped.
        var constantKeys = [UInt64](repeating: 0, count: 64), constantTexts = [String?](repeating: nil, count: 64)
        for id in 0..<graph.count where !named[id] {
            if let v = graph.constantNumber(id) {
                let slot = Int(truncatingIfNeeded: (v.bitPattern &* 0x9E37_79B9_7F4A_7C15) >> 58)
                if constantKeys[slot] != v.bitPattern || constantTexts[slot] == nil {
                    constantKeys[slot] = v.bitPattern
                    constantTexts[slot] = NumberFormat.short(v)
                }
                names[id] = constantTexts[slot]!
            } else {
                repeat { temps += 1 } while !given.isEmpty && given.contains("t\(temps)")
                names[id] = "t" + String(temps)
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
