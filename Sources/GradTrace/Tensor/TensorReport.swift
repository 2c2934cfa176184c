/// Text and JSON reports of tensor programs: what `gradtrace grad` and `gradtrace trace` print for them.
extension Report {
    /// A tensor as JSON: a plain number for a scalar, else `{"shape": [2, 3], "data": [[…], […]]}`.
    public static func json(_ t: Tensor) -> String {
        if t.isScalar { return NumberFormat.json(t.scalar) }
        var out = "{\"shape\": [" + t.shape.map(String.init).joined(separator: ", ") + "], \"data\": "
        nested(t, axis: 0, offset: 0, into: &out) { NumberFormat.json($0) }
        out += "}"
        return out
    }

    /// Nested row-major brackets: `[[1, 2], [3, 4]]`.
    static func nested(_ t: Tensor, axis: Int, offset: Int, into out: inout String, _ f: (Double) -> String) {
        out += "["
        let size = t.shape[axis]
        let inner = t.shape[(axis + 1)...].reduce(1, *)
        for i in 0..<size {
            if i > 0 { out += ", " }
            if axis == t.rank - 1 { out += f(t.data[offset + i]) } else { nested(t, axis: axis + 1, offset: offset + i * inner, into: &out, f) }
        }
        out += "]"
    }

    /// A tensor as text for a terminal: full-precision elements in brackets up to `limit` elements, else a summary.
    /// Elements are rounded to 12 significant digits, and those within 1e-12 of the tensor's largest
    /// magnitude print as 0 (``NumberFormat/text(_:)``, ``NumberFormat/denoised(_:scale:relative:)``).
    public static func text(_ t: Tensor, limit: Int = 64) -> String {
        if t.isScalar { return NumberFormat.text(t.scalar) }
        if t.count > limit { return "shape \(t.shapeText): \(stats(t)) (all elements with --json)" }
        var out = ""
        let scale = t.maxMagnitude
        nested(t, axis: 0, offset: 0, into: &out) { NumberFormat.text(NumberFormat.denoised($0, scale: scale)) }
        return out
    }

    /// `mean 0.01, std 0.2, max |x| 0.5`: how terminals and pictures sum up a tensor too large to list.
    public static func stats(_ t: Tensor, digits: Int = 3, separator: String = ", ") -> String {
        let scale = t.maxMagnitude
        return ["mean \(NumberFormat.short(NumberFormat.denoised(t.mean, scale: scale), digits: digits))",
         "std \(NumberFormat.short(NumberFormat.denoised(t.standardDeviation, scale: scale), digits: digits))",
         "max |x| \(NumberFormat.short(t.maxMagnitude, digits: digits))"].joined(separator: separator)
    }

    static func tensorInputs(_ graph: TensorGraph, output: NodeID, outputName: String, gradients: [Tensor], to out: inout some TextOutputStream) {
        let (flagged, warnings) = nonFinite(graph, output: output, outputName: outputName, gradients: gradients)
        out.write(" \"inputs\": {")
        var first = true
        for id in graph.inputIDs {
            out.write(first ? "\n" : ",\n")
            first = false
            out.write("  \(jsonString(graph.name(of: id) ?? "v\(id)")): {\"value\": \(json(graph[id].value)), \"grad\": \(json(gradients[id]))")
            out.write(flagged.contains(id) ? ", \"nonfinite\": true}" : "}")
        }
        out.write(first ? "}" : "\n }")
        if !warnings.isEmpty { out.write(",\n \"warnings\": [" + warnings.map(jsonString).joined(separator: ", ") + "]") }
    }

    /// The inputs whose gradient passed through a NaN or an infinity (a value on a path to the output, or
    /// the gradient itself), and the warning lines, as for scalar programs.
    static func nonFinite(_ graph: TensorGraph, output: NodeID, outputName: String, gradients: [Tensor]) -> (Set<NodeID>, [String]) {
        let mask = graph.ancestors(of: output)
        let words = TensorText(graph: graph)
        var culprits: [String] = []
        var bad = [Bool](repeating: false, count: output + 1)
        for id in 0...output where mask[id] && !graph[id].value.isFinite {
            bad[id] = true
            if culprits.count < 3 { culprits.append("\(words.name(id)) holds \(graph[id].value.data.contains { $0.isNaN } ? "NaN" : "an infinity")") }
        }
        var flagged = Set<NodeID>()
        var lines: [String] = []
        for id in graph.inputIDs where id <= output && mask[id] {
            // Does a non-finite value lie downstream of this input, on the way to the output?
            var reach = [Bool](repeating: false, count: output + 1)
            reach[id] = true
            var hit = bad[id] || !gradients[id].isFinite
            if !hit && id < output {
                for j in (id + 1)...output where mask[j] && graph[j].inputs.contains(where: { reach[$0] }) {
                    reach[j] = true
                    if bad[j] { hit = true; break }
                }
            }
            guard hit else { continue }
            flagged.insert(id)
            let why = culprits.isEmpty ? "a local gradient is not finite" : culprits.joined(separator: ", ")
            lines.append("warning: d\(outputName)/d\(graph.name(of: id) ?? "v\(id)") passed through a NaN or an infinity (\(why)): do not trust it")
        }
        return (flagged, lines)
    }

    /// `{"output", "value", "inputs"}` of a tensor program; inputs carry `{"shape", "data"}` values and gradients.
    public static func gradJSON(tensor p: TensorProgram, gradients: [Tensor], to out: inout some TextOutputStream) {
        out.write("{\"output\": \(jsonString(p.outputName)), \"value\": \(json(p.graph[p.output].value)),\n")
        tensorInputs(p.graph, output: p.output, outputName: p.outputName, gradients: gradients, to: &out)
        out.write("}\n")
    }

    /// `L = …` then `dL/dW = [[…]]`, one line per input.
    public static func gradText(tensor p: TensorProgram, gradients: [Tensor], to out: inout some TextOutputStream) {
        out.write("\(p.outputName) = \(text(p.graph[p.output].value))\n")
        // Class labels carry no gradient: they are data the loss indexes with, not numbers it varies.
        let labelUses = p.graph.labelUses()
        for id in p.graph.inputIDs where labelUses[id] != .only {
            out.write("d\(p.outputName)/d\(p.graph.name(of: id) ?? "v\(id)") = \(text(gradients[id]))\n")
        }
        for w in nonFinite(p.graph, output: p.output, outputName: p.outputName, gradients: gradients).1 { out.write(w + "\n") }
    }

    /// The trace JSON of a tensor program: as for scalars, with tensors as `{"shape", "data"}`, each
    /// edge's `local` the VJP formula and `reduced` the broadcast axes summed.
    public static func traceJSON(tensor trace: TensorTrace, outputName: String, to out: inout some TextOutputStream) {
        let graph = trace.graph
        let words = TensorText(graph: graph)
        out.write("{\"output\": \(jsonString(outputName)), \"value\": \(json(graph[trace.output].value)),\n")
        out.write(" \"granularity\": \"\(trace.granularity.rawValue)\",\n")
        tensorInputs(graph, output: trace.output, outputName: outputName, gradients: trace.gradients, to: &out)
        out.write(",\n \"nodes\": [\n")
        for id in 0..<graph.count {
            let n = graph[id]
            writeNodeHead(id: id, names: graph.nameIndex, op: n.op.name, to: &out)
            switch n.op {
            case .elementwise(.powConst(let c)): out.write(", \"exponent\": \(NumberFormat.json(c))")
            case .reshape(let s): out.write(", \"to\": [" + s.map(String.init).joined(separator: ", ") + "]")
            case .index(let i): out.write(", \"index\": [" + i.map(String.init).joined(separator: ", ") + "]")
            case .slice(let axes):
                out.write(", \"slices\": [" + axes.map { $0.drops ? "\($0.start)" : "[\($0.start), \($0.start + ($0.count - 1) * $0.step + 1), \($0.step)]" }.joined(separator: ", ") + "]")
            case .call(let c):
                var lists: [(String, [Double])] = []
                for (key, v) in c.namedOptions {
                    if case .integers? = c.function.parameters.first(where: { $0.name == key }) {
                        if let i = lists.firstIndex(where: { $0.0 == key }) { lists[i].1.append(v) } else { lists.append((key, [v])) }
                    } else {
                        out.write(", \(jsonString(key)): \(NumberFormat.json(v))")
                    }
                }
                for (key, vs) in lists { out.write(", \(jsonString(key)): [" + vs.map { NumberFormat.json($0) }.joined(separator: ", ") + "]") }
            default: if let a = n.op.axis { out.write(", \"axis\": \(a)") }
            }
            out.write(", \"inputs\": [" + n.inputs.map(String.init).joined(separator: ", ") + "]")
            out.write(", \"shape\": [" + n.value.shape.map(String.init).joined(separator: ", ") + "]")
            out.write(", \"value\": \(json(n.value)), \"grad\": \(json(trace.gradients[id]))}")
            out.write(id + 1 < graph.count ? ",\n" : "\n")
        }
        out.write(" ],\n \"steps\": [\n")
        for (k, s) in trace.steps.enumerated() {
            out.write("  {\"step\": \(s.index), \"node\": \(s.node), \"upstream\": \(json(upstream(trace, s))), \"edges\": [")
            var first = true
            for e in trace.edges(of: s) {
                if !first { out.write(", ") }
                first = false
                out.write("{\"input\": \(e.input), \"node\": \(e.node), \"local\": \(jsonString(words.formulaLine(e, output: trace.output, consumers: trace.consumers)))")
                out.write(", \"shapes\": \(jsonString(words.shapeLine(e)))")
                out.write(", \"reduced\": [" + e.reduced.map(String.init).joined(separator: ", ") + "]")
                if e.isLabels { out.write(", \"labels\": true") }
                out.write(", \"upstream\": \(json(e.upstream)), \"contribution\": \(json(e.contribution)), \"accumulated\": \(json(e.accumulated))}")
            }
            out.write("]}")
            out.write(k + 1 < trace.steps.count ? ",\n" : "\n")
        }
        out.write(" ]}\n")
    }

    static func upstream(_ trace: TensorTrace, _ s: TensorStep) -> Tensor {
        trace.edges(of: s).first?.upstream ?? trace.gradients[s.node]
    }

    /// The readable step table of a tensor trace: per edge the VJP formula, the shapes, and the norms.
    public static func traceTable(tensor trace: TensorTrace, outputName: String, to out: inout some TextOutputStream) {
        let graph = trace.graph
        let words = TensorText(graph: graph)
        out.write("\(outputName) = \(text(graph[trace.output].value))\n\n")
        var rows: [[String]] = [["step", "edge", "vector-Jacobian product", "shapes", "‖contribution‖", "‖input grad‖"]]
        for s in trace.steps {
            for e in trace.edges(of: s) where graph[e.input].op != .constant {
                var shapes = words.shapeLine(e)
                if let r = words.reductionLine(e) { shapes += "; " + r }
                rows.append([String(s.index), "\(words.name(e.input)) → \(words.name(e.node))",
                             words.formulaLine(e, output: trace.output, consumers: trace.consumers), e.isLabels ? "" : shapes,
                             e.isLabels ? "" : NumberFormat.short(e.contribution.norm, digits: 6),
                             e.isLabels ? "" : NumberFormat.short(e.accumulated.norm, digits: 6)])
            }
        }
        writeTable(rows, rightAligned: [0, 4, 5], to: &out)
        out.write("\n")
        for id in graph.inputIDs {
            out.write("d\(outputName)/d\(graph.name(of: id) ?? "v\(id)") = \(text(trace.gradients[id]))\n")
        }
        for w in nonFinite(graph, output: trace.output, outputName: outputName, gradients: trace.gradients).1 { out.write(w + "\n") }
    }
}
