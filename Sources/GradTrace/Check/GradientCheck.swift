#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every input's gradient against a central finite difference, as `gradtrace check` reports it.
public struct GradientCheck: Sendable {
    /// One input's comparison.
    public struct Row: Sendable {
        public var input: NodeID
        public var name: String
        public var value: Double
        public var analytic: Double
        public var numeric: Double
        /// The finite-difference step used.
        public var step: Double
        /// |analytic − numeric| / max(1, |analytic|, |numeric|).
        public var error: Double
        /// The tolerance applied.
        public var tolerance: Double
        /// True when x ± step moves some relu or abs across its kink, where a difference quotient is meaningless.
        public var nearKink: Bool
        /// True when the output is a number at x but not at x ± step (the edge of a domain, as
        /// `sqrt(x − 1)` at x = 1): a difference quotient cannot be taken there.
        public var atDomainEdge: Bool = false
        /// Passed, or excused by a kink.
        public var passed: Bool { error <= tolerance || nearKink || atDomainEdge || (analytic.isNaN && numeric.isNaN) }
    }

    /// ∛ε ≈ 6.06e-6, the step of the central differences (relative to max(1, |x|)).
    static let cubeRootOfEpsilon: Double = cbrt(Double.ulpOfOne)

    /// One row per input checked, in creation order.
    public let rows: [Row]

    /// How many inputs the graph has; more than `rows.count` when only a sample was checked.
    public let inputCount: Int

    /// True when only an even sample of the inputs was checked (see ``init(graph:output:budget:)``).
    public var sampled: Bool { rows.count < inputCount }

    /// The default work budget: node evaluations for all central differences together (about
    /// two seconds here).
    public static let defaultBudget = 200_000_000

    /// True when every row passed.
    public var passed: Bool { rows.allSatisfy(\.passed) }

    /// Compares reverse-mode gradients with central differences `(f(x+h) − f(x−h)) / 2h`.
    ///
    /// The step `h = ∛ε · max(1, |x|)` balances truncation error (O(h²)) against rounding
    /// (O(ε/h)); the tolerance grows with the output's magnitude relative to the gradient,
    /// since the rounding error of the difference is about ε·|f| / h.
    /// Each difference re-evaluates only the nodes after the input, up to the output (ids are
    /// in topological order), in one reused buffer.
    ///
    /// When checking every input would evaluate more than `budget` nodes in all (a sum of
    /// 100,000 inputs needs 10¹⁰), an even sample of the inputs is checked instead, every k-th in
    /// creation order, and ``sampled`` says so.
    /// - Complexity: O(Σ over checked inputs of (output − input)), at most about `budget`.
    public init(graph: Graph, output: NodeID, budget: Int = GradientCheck.defaultBudget) {
        let grads = Trace.gradients(graph: graph, output: output)
        let eps = Double.ulpOfOne
        // Only the relus and abs the output depends on can excuse a mismatch, and (below) only
        // for the inputs that move their operand.
        let mask = graph.ancestors(of: output)
        let kinks = (0...output).filter { mask[$0] && graph[$0].op.hasKink }
        let inputs = graph.inputIDs
        // The work of checking all: two sweeps from each input to the output.
        var work = 0
        for id in inputs where id < output { work += 2 * (output - id) }
        let stride = work > budget ? (work + budget - 1) / max(1, budget) : 1
        var base = [Double](repeating: 0, count: output + 1)
        for id in 0...output { base[id] = graph[id].value }
        var buffer = base
        var kinkPlus = [Double](repeating: 0, count: kinks.count)
        var kinkMinus = [Double](repeating: 0, count: kinks.count)
        /// The output with input `id` set to `v`; kink operands into `kinkValues`.
        func evaluate(_ id: NodeID, _ v: Double, _ kinkValues: inout [Double]) -> Double {
            guard id <= output else { return base[output] }
            buffer[id] = v
            if id < output {
                for j in (id + 1)...output {
                    let n = graph[j]
                    if !n.op.isLeaf { buffer[j] = n.op.apply(buffer[n.a], n.b >= 0 ? buffer[n.b] : 0) }
                }
            }
            for (i, k) in kinks.enumerated() { kinkValues[i] = buffer[graph[k].a] }
            let y = buffer[output]
            for j in id...output { buffer[j] = base[j] }
            return y
        }
        let names = NameTable(graph: graph)
        var rows: [Row] = []
        for (index, id) in inputs.enumerated() where index % stride == 0 {
            let x = graph[id].value
            let h = Self.cubeRootOfEpsilon * max(1, Swift.abs(x))  // ≈ 6.06e-6·max(1,|x|)
            let plus = evaluate(id, x + h, &kinkPlus)
            let minus = evaluate(id, x - h, &kinkMinus)
            let numeric = (plus - minus) / (2 * h)
            let analytic = grads[id]
            let scale = max(1, Swift.abs(analytic), Swift.abs(numeric))
            let error = Swift.abs(analytic - numeric) / scale
            let fScale = max(Swift.abs(plus), Swift.abs(minus), Swift.abs(graph[output].value))
            let tolerance = max(1e-6, 100 * eps * fScale / h / scale)
            var nearKink = false
            for (i, k) in kinks.enumerated() {
                let s0 = graph[graph[k].a].value, sp = kinkPlus[i], sm = kinkMinus[i]
                if sp == s0 && sm == s0 { continue }  // this input does not reach the kink
                if s0 == 0 || s0.sign != sp.sign || s0.sign != sm.sign || sp == 0 || sm == 0 {
                    nearKink = true
                    break
                }
            }
            rows.append(Row(input: id, name: names.name(of: id), value: x, analytic: analytic,
                            numeric: numeric, step: h, error: error.isNaN ? (analytic.isNaN && numeric.isNaN ? 0 : .infinity) : error,
                            tolerance: tolerance, nearKink: nearKink && error > tolerance,
                            atDomainEdge: graph[output].value.isFinite && !(plus.isFinite && minus.isFinite)))
        }
        self.rows = rows
        self.inputCount = inputs.count
    }

    /// The report: a table of the worst mismatches first, then a verdict line.
    public func write(outputName: String, limit: Int = 20, to out: inout some TextOutputStream) {
        let sorted = rows.enumerated().sorted { l, r in
            l.element.error != r.element.error ? l.element.error > r.element.error : l.offset < r.offset
        }.map(\.element)
        var table: [[String]] = [["input", "value", "reverse mode", "finite difference", "rel. error", "tolerance", ""]]
        for r in sorted.prefix(limit) {
            let verdict = r.error <= r.tolerance ? "ok"
                : r.nearKink ? "near a kink (relu/abs): not a failure"
                : r.atDomainEdge ? "at the edge of a function's domain (undefined at x ± step): not checkable" : "FAIL"
            table.append([r.name, NumberFormat.short(r.value, digits: 6), NumberFormat.short(r.analytic, digits: 10),
                          NumberFormat.short(r.numeric, digits: 10), NumberFormat.short(r.error, digits: 2),
                          NumberFormat.short(r.tolerance, digits: 2), verdict])
        }
        Report.writeTable(table, rightAligned: [1, 2, 3, 4, 5], to: &out)
        if rows.count > limit { out.write("(\(rows.count - limit) more inputs, all with smaller errors)\n") }
        let failed = rows.filter { !$0.passed }.count
        let kinked = rows.filter { $0.nearKink }.count
        let edges = rows.filter { $0.atDomainEdge && $0.error > $0.tolerance && !$0.nearKink }.count
        let agree = rows.count - failed - kinked - edges
        if sampled {
            out.write("\nChecked an even sample of \(rows.count) of the \(inputCount) inputs: checking every one would evaluate too many nodes (pass --all-inputs to wait for it).")
        }
        out.write("\n\(agree) of \(rows.count) gradients of \(outputName) agree with central finite differences")
        if kinked > 0 { out.write("; \(kinked) excused near a relu/abs kink") }
        if edges > 0 { out.write("; \(edges) not checkable at the edge of a domain") }
        out.write(failed == 0 ? ".\n" : "; \(failed) FAILED.\n")
    }
}
