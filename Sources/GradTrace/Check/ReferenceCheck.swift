/// Compares GradTrace's gradients with a framework's own (a graph file's `"reference": {"grads": …}`):
/// per input the largest relative difference, where it is, and both values there.
///
/// The difference of two elements is taken relative to the larger of them, or, where both are smaller,
/// to the input's largest gradient times the tolerance (a millionth at least), so that rounding noise
/// around an exact zero is not called a disagreement: a float32 framework (tolerance 1e-3) is held to
/// float32 rounding of its largest gradient, not to relative agreement in elements a million times smaller.
/// Every input is also held to a millionth of the largest gradient of the whole graph: a gradient that is
/// exactly zero in theory (an attention key's bias: softmax ignores a shift of its row) comes out of both
/// sides as float64 rounding noise (1e-19 against gradients of 0.1), which is agreement, not a difference.
///
/// ```text
/// input  shape   max rel. difference  at      gradtrace  torch
/// b      [3]     0                    [0]     3.2        3.2       ok
/// ```
public struct ReferenceCheck: Sendable {
    public struct Row: Sendable {
        public var name: String
        public var shape: [Int]
        public var maxDifference: Double
        public var worstIndex: Int
        public var ours: Double
        public var theirs: Double
        public var passed: Bool
    }

    /// Why a reference cannot be compared: it names no input, or its shape is not the input's.
    public struct Mismatch: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public let rows: [Row]
    public let tolerance: Double
    public let source: String?
    public var passed: Bool { rows.allSatisfy(\.passed) }

    /// Compares `reference` with GradTrace's `gradients` (input name → gradient). O(elements).
    public init(reference: ReferenceGradients, gradients: [(name: String, value: Tensor)]) throws(Mismatch) {
        var index: [String: Tensor] = [:]
        for g in gradients { index[g.name] = g.value }
        var rows: [Row] = []
        // The graph's largest gradient, on either side: its millionth is the noise floor of every input.
        var largest = 0.0
        for (name, theirs) in reference.grads {
            largest = max(largest, theirs.maxMagnitude.isFinite ? theirs.maxMagnitude : 0)
            if let ours = index[name], ours.maxMagnitude.isFinite { largest = max(largest, ours.maxMagnitude) }
        }
        for (name, theirs) in reference.grads {
            guard let ours = index[name] else {
                throw Mismatch(description: "\"reference\" has a gradient for '\(name.escapedForMessage)', but the graph has no input of that name (its inputs: "
                               + gradients.prefix(8).map { "'\($0.name)'" }.joined(separator: ", ") + (gradients.count > 8 ? ", …" : "") + ")")
            }
            guard ours.shape == theirs.shape || (ours.count == 1 && theirs.count == 1) else {
                throw Mismatch(description: "\"reference\" gradient of '\(name)' has shape \(theirs.shapeText), but the input has shape \(ours.shapeText)")
            }
            let scale = max(max(ours.maxMagnitude, theirs.maxMagnitude) * max(1e-6, reference.tolerance), largest * 1e-6)
            var worst = 0.0, at = 0
            for i in 0..<ours.count {
                let a = ours.data[i], b = theirs.data[i]
                let d: Double
                if a == b { d = 0 } else if a.isNaN || b.isNaN || a.isInfinite || b.isInfinite { d = .infinity } else {
                    d = Swift.abs(a - b) / max(Swift.abs(a), Swift.abs(b), scale)
                }
                if d > worst || (d.isNaN && !worst.isNaN) { worst = d; at = i }
            }
            rows.append(Row(name: name, shape: ours.shape, maxDifference: worst, worstIndex: at, ours: ours.data[at], theirs: theirs.data[at],
                            passed: worst <= reference.tolerance))
        }
        self.rows = rows
        self.tolerance = reference.tolerance
        self.source = reference.source
    }

    /// The table, then a summary line naming the inputs that disagree.
    public func write(to out: inout some TextOutputStream) {
        let them = source.map { String($0.split(separator: " ").first ?? "reference") } ?? "reference"
        var table: [[String]] = [["input", "shape", "max rel. difference", "at", "gradtrace", them, ""]]
        for r in rows {
            table.append([r.name, Tensor.text(shape: r.shape), NumberFormat.short(r.maxDifference, digits: 2),
                          r.shape.isEmpty ? "" : Tensor.text(shape: TensorCheck.unflatten(r.worstIndex, r.shape)),
                          NumberFormat.short(r.ours, digits: 12), NumberFormat.short(r.theirs, digits: 12), r.passed ? "ok" : "DIFFERS"])
        }
        Report.writeTable(table, rightAligned: [2, 4, 5], to: &out)
        let bad = rows.filter { !$0.passed }.map(\.name)
        let from = source.map { " (\($0))" } ?? ""
        if bad.isEmpty {
            out.write("\nall \(rows.count) reference gradients\(from) agree within \(NumberFormat.short(tolerance, digits: 3)) relative\n")
        } else {
            out.write("\n\(bad.count) of \(rows.count) reference gradients\(from) differ by more than \(NumberFormat.short(tolerance, digits: 3)) relative: "
                      + bad.map { "'\($0)'" }.joined(separator: ", ") + "\n")
        }
    }
}
