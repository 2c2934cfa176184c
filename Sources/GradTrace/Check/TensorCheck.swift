#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks a tensor program's gradients element by element against central finite differences, and
/// reports per input the largest relative error (as Karpathy's backprop exercises print
/// `exact / approximate / maxdiff`). Large inputs are checked on a fixed pseudo-random sample of elements.
public struct TensorCheck: Sendable {
    public struct Row: Sendable {
        public var input: NodeID
        public var name: String
        public var shape: [Int]
        /// The flat indices checked (all, or a sample).
        public var checked: [Int]
        public var count: Int
        /// The largest relative error, where it occurred, and the two values there.
        public var maxError: Double
        public var worstIndex: Int
        public var analytic: Double
        public var numeric: Double
        public var tolerance: Double
        /// Elements excused because a relu, abs or max switched branch within the step.
        public var nearKink: Int
        /// Elements whose difference from the finite difference is within the output's own measured
        /// rounding noise (a large sum loses digits) rather than the ε·|L| model.
        public var roundingLimited: Int = 0
        /// Some element's rounding noise is so large (over 1% of the gradient) that the check cannot tell.
        public var inconclusive: Bool = false
        /// Every checked element is within tolerance or excused.
        public var passed: Bool
        /// Labels of `pick`/`cross_entropy`: whole numbers, not differentiable, not checked.
        public var isLabels: Bool
        public var sampled: Bool { !isLabels && checked.count < count }
    }

    public let rows: [Row]
    public var passed: Bool { rows.allSatisfy(\.passed) }

    /// Elements checked per input before sampling.
    public static let sampleSize = 24

    /// Checks `gradients` (one per node, by id; default: the reverse-mode pass's own) against central differences.
    public init(program p: TensorProgram, sampleSize: Int = TensorCheck.sampleSize, gradients: [Tensor]? = nil) {
        let graph = p.graph, output = p.output
        let grads = gradients ?? TensorTrace.gradients(graph: graph, output: output)
        let base = graph[output].value.scalar
        // Inputs that serve as labels anywhere are whole numbers: moving them by h is meaningless.
        let labelUses = graph.labelUses()
        let kinkNodes = (0...output).filter { id in
            switch graph[id].op {
            case .elementwise(.relu), .elementwise(.abs), .max: return true
            case .call(let c): return c.function.hasKink
            default: return false
            }
        }
        var rows: [Row] = []
        for id in graph.inputIDs {
            let value = graph[id].value
            let name = graph.name(of: id) ?? "v\(id)"
            if labelUses[id] != .none {
                rows.append(Row(input: id, name: name, shape: value.shape, checked: [], count: value.count, maxError: 0, worstIndex: 0,
                                analytic: 0, numeric: 0, tolerance: 0, nearKink: 0, passed: true, isLabels: true))
                continue
            }
            let indices = TensorCheck.sample(count: value.count, size: sampleSize, name: name)
            var worst = (error: -1.0, index: 0, analytic: 0.0, numeric: 0.0, tolerance: 0.0)
            var excused = 0, rounding = 0
            var passed = true, inconclusive = false
            for i in indices {
                let x = value.data[i]
                let h = GradientCheck.cubeRootOfEpsilon * max(1, Swift.abs(x))
                func run(_ v: Double) -> (Double, [Tensor]) {
                    var t = value
                    t.data[i] = v
                    let vals = graph.evaluated(setting: [id: t])
                    return (vals[output].scalar, kinkNodes.map { vals[graph[$0].a] })
                }
                let (plus, kp) = run(x + h), (minus, km) = run(x - h)
                let numeric = (plus - minus) / (2 * h)
                let analytic = grads[id].data[i]
                let scale = max(1, Swift.abs(analytic), Swift.abs(numeric))
                var error = Swift.abs(analytic - numeric) / scale
                if error.isNaN { error = analytic.isNaN && numeric.isNaN ? 0 : .infinity }
                let fScale = max(Swift.abs(plus), Swift.abs(minus), Swift.abs(base))
                let tolerance = max(1e-6, 100 * Double.ulpOfOne * fScale / h / scale)
                if error > tolerance {
                    // Excused when a kink's operand changed which branch (sign, or which element is the max) between x−h and x+h.
                    let kinked = kinkNodes.indices.contains { k in
                        let op = graph[kinkNodes[k]].op
                        if case .max = op { return TensorCheck.argmaxChanged(op, kp[k], km[k]) }
                        return zip(kp[k].data, km[k].data).contains { $0.sign != $1.sign || $0 == 0 || $1 == 0 }
                    }
                    if kinked {
                        excused += 1
                    } else {
                        // The output's own rounding noise, measured (a sum of 10⁶ terms rounds far more than
                        // ε·|L|): fourth differences of f along x, which vanish for a smooth f (h⁴·f⁗), leave
                        // the noise (Moré & Wild's idea). Three windows over x − 3h … x + 3h, the largest taken.
                        let f = [run(x - 3 * h).0, run(x - 2 * h).0, minus, base, plus, run(x + 2 * h).0, run(x + 3 * h).0]
                        let noise = TensorCheck.noiseLevel(f)
                        // A central difference's noise is (e₊ − e₋)/2h, std √2·σ/2h; allow three of those and more.
                        let noiseTolerance = 3 * noise / h / scale
                        if error <= noiseTolerance {
                            rounding += 1
                            if noiseTolerance > 1e-2 { inconclusive = true }
                        } else {
                            passed = false
                        }
                    }
                }
                if error > worst.error { worst = (error, i, analytic, numeric, tolerance) }
            }
            rows.append(Row(input: id, name: name, shape: value.shape, checked: indices, count: value.count, maxError: max(0, worst.error),
                            worstIndex: worst.index, analytic: worst.analytic, numeric: worst.numeric, tolerance: worst.tolerance,
                            nearKink: excused, roundingLimited: rounding, inconclusive: inconclusive, passed: passed, isLabels: false))
        }
        self.rows = rows
    }

    /// The rounding noise σ of `f` sampled at seven equally spaced points: the largest of the three fourth
    /// differences over √70 (for independent noise of deviation σ, a fourth difference has deviation √70·σ).
    static func noiseLevel(_ f: [Double]) -> Double {
        precondition(f.count == 7, "seven samples")
        var worst = 0.0
        for k in 0..<3 {
            let d4 = f[k] - 4 * f[k + 1] + 6 * f[k + 2] - 4 * f[k + 3] + f[k + 4]
            worst = max(worst, Swift.abs(d4))
        }
        return worst / 70.0.squareRoot()
    }

    static func argmaxChanged(_ op: TensorOp, _ a: Tensor, _ b: Tensor) -> Bool {
        guard let axis = op.axis else { return TensorOp.argmax(a.data, 0, a.count, 1) != TensorOp.argmax(b.data, 0, b.count, 1) }
        let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
        for o in 0..<outer { for n in 0..<inner {
            let s = o * len * inner + n
            if TensorOp.argmax(a.data, s, len, inner) != TensorOp.argmax(b.data, s, len, inner) { return true }
        } }
        return false
    }

    /// All indices when `count ≤ size`, else `size` distinct indices drawn from a generator seeded by the name, sorted.
    static func sample(count: Int, size: Int, name: String) -> [Int] {
        guard count > size else { return Array(0..<count) }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var rng = SeededGenerator(seed: h)
        var chosen = Set<Int>()
        while chosen.count < size { chosen.insert(Int(rng.next() % UInt64(count))) }
        return chosen.sorted()
    }

    /// The report: per input the largest relative error, where, and the two values there.
    public func write(outputName: String, to out: inout some TextOutputStream) {
        var table: [[String]] = [["input", "shape", "checked", "max rel. error", "at", "reverse mode", "finite difference", ""]]
        for r in rows {
            if r.isLabels {
                table.append([r.name, Tensor.text(shape: r.shape), "labels", "", "", "", "", "not differentiable"])
                continue
            }
            let at = r.shape.isEmpty ? "" : Tensor.text(shape: TensorCheck.unflatten(r.worstIndex, r.shape))
            var notes: [String] = []
            if r.nearKink > 0 { notes.append("\(r.nearKink) near a kink") }
            if r.roundingLimited > 0 { notes.append("\(r.roundingLimited) within the output's rounding noise") }
            let verdict = !r.passed ? "FAIL" : r.inconclusive ? "inconclusive (\(notes.joined(separator: ", ")))"
                : notes.isEmpty ? "ok" : "ok (\(notes.joined(separator: ", ")))"
            table.append([r.name, Tensor.text(shape: r.shape), r.sampled ? "\(r.checked.count) of \(r.count)" : "all \(r.count)",
                          NumberFormat.short(r.maxError, digits: 2), at, NumberFormat.short(r.analytic, digits: 10),
                          NumberFormat.short(r.numeric, digits: 10), verdict])
        }
        Report.writeTable(table, rightAligned: [3, 5, 6], to: &out)
        for r in rows where r.sampled {
            let shown = r.checked.prefix(12).map { Tensor.text(shape: TensorCheck.unflatten($0, r.shape)) }.joined(separator: " ")
            out.write("\(r.name): checked the elements \(shown)\(r.checked.count > 12 ? " …" : "") (a fixed sample)\n")
        }
        let checked = rows.filter { !$0.isLabels }
        let failed = checked.filter { !$0.passed }.count
        out.write("\n\(checked.count - failed) of \(checked.count) inputs of \(outputName) agree with central finite differences, element by element")
        out.write(failed == 0 ? "\n" : "; \(failed) disagree\n")
        for r in rows where r.inconclusive {
            out.write("\(r.name): the output's rounding noise is over 1% of the gradient at some elements, so finite differences cannot confirm them (a smaller program, or inputs of smaller magnitude, can)\n")
        }
    }

    /// The full index of flat offset `i` in `shape`.
    static func unflatten(_ i: Int, _ shape: [Int]) -> [Int] {
        var out = [Int](repeating: 0, count: shape.count)
        var r = i
        for k in stride(from: shape.count - 1, through: 0, by: -1) {
            out[k] = r % shape[k]
            r /= shape[k]
        }
        return out
    }
}
