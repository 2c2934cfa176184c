import Dispatch

/// Fast loops for element-wise ops with NumPy broadcasting, and for summing a gradient back over the
/// axes an operand was broadcast along.
///
/// The output is viewed as a matrix of `rows × columns` (the leading axes, then the trailing ones), and
/// each operand as one of four strides over it: the whole output (`full`), a row repeated down the rows
/// (`row`, a bias), a column repeated across (`column`, a kept-dimension reduction), or one element
/// (`scalar`). That covers the broadcasts of real programs; anything else takes the index map. Every
/// element is computed by the same expression as the scalar engine, and every sum runs in the order the
/// index-map loop did, so results are bit for bit those of the general path.
enum ElementwiseKernels {
    /// How an operand's elements spread over the output viewed as `rows × columns`.
    struct Operand: Equatable {
        /// Element of output (r, c) is `data[r * rowStride + c * columnStride]`.
        var rowStride: Int
        var columnStride: Int
    }

    /// The output as `rows × columns` and each operand's strides over it, or nil when some operand
    /// does not spread in one of the four simple ways.
    struct View {
        var rows: Int
        var columns: Int
        var operands: [Operand]

        init?(output: [Int], operands shapes: [[Int]]) {
            let n = output.count
            // For each operand and axis: equal to the output's (true) or stretched from 1 or missing (false).
            let equal: [[Bool?]] = shapes.map { s in
                (0..<n).map { k in
                    let j = k - (n - s.count)
                    let d = j >= 0 ? s[j] : 1
                    if output[k] == 1 { return nil }  // either way
                    return d == output[k]
                }
            }
            // A split point t: axes < t are rows, axes ≥ t columns; each operand must be uniform on each side.
            for t in 0...n {
                var ops: [Operand] = []
                var ok = true
                let columns = output[t...].reduce(1, *)
                for e in equal {
                    let lead = Set(e[..<t].compactMap { $0 }), trail = Set(e[t...].compactMap { $0 })
                    guard lead.count <= 1, trail.count <= 1 else { ok = false; break }
                    let l = lead.first ?? true, r = trail.first ?? true
                    ops.append(Operand(rowStride: l ? (r ? columns : 1) : 0, columnStride: r ? 1 : 0))
                }
                if ok {
                    rows = output[..<t].reduce(1, *)
                    self.columns = columns
                    operands = ops
                    return
                }
            }
            return nil
        }
    }

    /// Elements past which an op that calls the maths library runs on every core.
    static let parallelElements = 1 << 15

    /// Runs `body` over `0..<count` in contiguous chunks, on every core when `parallel` and `count` is large.
    @inline(__always)
    static func chunks(_ count: Int, parallel: Bool, _ body: (Range<Int>) -> Void) {
        let threads = TensorKernels.threads
        let parts = parallel && count >= parallelElements ? Swift.min(threads, count / (parallelElements / 2)) : 1
        if parts <= 1 { body(0..<count); return }
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let shared = body
            DispatchQueue.concurrentPerform(iterations: parts) { c in shared((c * count / parts)..<((c + 1) * count / parts)) }
        }
    }

    /// `f` of every element (one input), split over cores when `costly`.
    @inline(__always)
    static func map(_ a: [Double], costly: Bool, _ f: (Double) -> Double) -> [Double] {
        [Double](unsafeUninitializedCapacity: a.count) { out, initialized in
            a.withUnsafeBufferPointer { a in
                nonisolated(unsafe) let (o, s) = (out.baseAddress!, a.baseAddress!)
                chunks(a.count, parallel: costly) { range in for i in range { o[i] = f(s[i]) } }
            }
            initialized = a.count
        }
    }

    /// `f(a, b)` of broadcast operands into `shape`, or nil when the broadcast is not a simple one.
    @inline(__always)
    static func combine(_ a: Tensor, _ b: Tensor, shape: [Int], costly: Bool,
                        _ f: (Double, Double) -> Double) -> [Double]? {
        guard let v = View(output: shape, operands: [a.shape, b.shape]) else { return nil }
        let count = v.rows * v.columns
        let (pa, pb) = (v.operands[0], v.operands[1])
        return [Double](unsafeUninitializedCapacity: count) { out, initialized in
            a.data.withUnsafeBufferPointer { ab in b.data.withUnsafeBufferPointer { bb in
                nonisolated(unsafe) let (o, x, y) = (out.baseAddress!, ab.baseAddress!, bb.baseAddress!)
                let cols = v.columns
                chunks(v.rows, parallel: costly && count >= parallelElements) { rows in
                    for r in rows {
                        let orow = o + r * cols, xrow = x + r * pa.rowStride, yrow = y + r * pb.rowStride
                        switch (pa.columnStride, pb.columnStride) {
                        case (1, 1): for c in 0..<cols { orow[c] = f(xrow[c], yrow[c]) }
                        case (1, 0): let t = yrow[0]; for c in 0..<cols { orow[c] = f(xrow[c], t) }
                        case (0, 1): let t = xrow[0]; for c in 0..<cols { orow[c] = f(t, yrow[c]) }
                        default: let s = f(xrow[0], yrow[0]); for c in 0..<cols { orow[c] = s }
                        }
                    }
                }
            } }
            initialized = count
        }
    }

    /// `g` (of the output's shape) summed back to `shape`, the operand's shape, when the broadcast is a
    /// simple one (nil otherwise). Each sum runs over the output's elements in ascending order.
    static func unbroadcast(_ g: [Double], from output: [Int], to shape: [Int]) -> [Double]? {
        guard let v = View(output: output, operands: [shape]) else { return nil }
        let p = v.operands[0], cols = v.columns
        var out = [Double](repeating: 0, count: shape.reduce(1, *))
        out.withUnsafeMutableBufferPointer { o in g.withUnsafeBufferPointer { gb in
            let (o, s) = (o.baseAddress!, gb.baseAddress!)
            switch (p.rowStride != 0, p.columnStride != 0) {
            case (true, true):
                for i in 0..<(v.rows * cols) { o[i] = 0 + s[i] }
            case (false, true):
                for r in 0..<v.rows { let row = s + r * cols; for c in 0..<cols { o[c] += row[c] } }
            case (true, false):
                for r in 0..<v.rows { let row = s + r * cols; var t = o[r]; for c in 0..<cols { t += row[c] }; o[r] = t }
            case (false, false):
                var t = 0.0
                for i in 0..<(v.rows * cols) { t += s[i] }
                o[0] = t
            }
        } }
        return out
    }
}
