#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Kernels of the registry's layer functions: linear, axis moves, concat/stack, dropout masks.
/// Each output element is summed in one fixed order (fused multiply-adds), so results are the same bytes everywhere.
enum Layers {
    // MARK: linear

    static func linearShape(_ s: [[Int]], _ o: [Double]) throws(TensorShapeError) -> [Int] {
        let x = s[0], w = s[1]
        guard !x.isEmpty else { throw TensorShapeError("linear takes an input with a last axis of features, not a scalar") }
        guard w.count == 2 else { throw TensorShapeError("linear takes a weight [out, in], not shape \(Shapes.text(w))") }
        guard w[1] == x[x.count - 1] else {
            throw TensorShapeError("linear: input \(Shapes.text(x)) has \(x[x.count - 1]) features, the weight \(Shapes.text(w)) takes \(w[1]) (weights are stored [out, in])")
        }
        if s.count > 2 && s[2] != [w[0]] {
            throw TensorShapeError("linear: the bias has shape \(Shapes.text(s[2])), the weight \(Shapes.text(w)) wants [\(w[0])]")
        }
        return Array(x.dropLast()) + [w[0]]
    }

    static func linear(_ xs: [Tensor], _ o: [Double]) -> Tensor {
        let x = xs[0], w = xs[1]
        let inF = w.shape[1], outF = w.shape[0], m = x.count / inF
        var y = MatrixKernels.nt(x.data, w.data, m: m, n: inF, k: outF)
        if xs.count > 2 { for r in 0..<m { for j in 0..<outF { y[r * outF + j] += xs[2].data[j] } } }
        return Tensor(shape: Array(x.shape.dropLast()) + [outF], data: y)
    }

    static func linearVJP(_ k: Int, _ xs: [Tensor], _ o: [Double], _ z: Tensor, _ g: Tensor) -> (Tensor, reduced: [Int]) {
        let x = xs[0], w = xs[1]
        let inF = w.shape[1], outF = w.shape[0], m = x.count / inF
        switch k {
        case 0: return (Tensor(shape: x.shape, data: MatrixKernels.nn(g.data, w.data, m: m, k: outF, n: inF)), [])
        case 1: return (Tensor(shape: w.shape, data: MatrixKernels.tn(g.data, x.data, m: m, k: outF, n: inF)), [])
        default:
            var b = [Double](repeating: 0, count: outF)
            for r in 0..<m { for j in 0..<outF { b[j] += g.data[r * outF + j] } }
            return (Tensor(shape: [outF], data: b), Array(0..<(g.rank - 1)))
        }
    }

    // MARK: axes

    static func swap(_ rank: Int, _ a: Int, _ b: Int) -> [Int] {
        var p = Array(0..<rank)
        p.swapAt(a, b)
        return p
    }

    static func resolved(_ o: [Double], rank: Int) -> [Int] { o.map { let a = Int($0); return a < 0 ? a + rank : a } }

    static func inverse(_ p: [Int]) -> [Int] {
        var inv = p
        for (i, a) in p.enumerated() { inv[a] = i }
        return inv
    }

    static func permutation(_ o: [Double], rank: Int) throws(TensorShapeError) -> [Int] {
        guard o.count == rank else {
            throw TensorShapeError("permute needs \(rank) axes for a tensor of rank \(rank), got \(o.count)")
        }
        let p = resolved(o, rank: rank)
        guard p.allSatisfy({ $0 >= 0 && $0 < rank }), Set(p).count == rank else {
            throw TensorShapeError("permute: \(o.map { String(Int($0)) }.joined(separator: ", ")) is not an order of the axes 0…\(rank - 1)")
        }
        return p
    }

    /// `t` with output axis k taken from input axis `perm[k]`.
    static func permute(_ t: Tensor, _ perm: [Int]) -> Tensor {
        let shape = perm.map { t.shape[$0] }
        let inStrides = Tensor.strides(t.shape)
        let strides = perm.map { inStrides[$0] }
        var out = [Double](repeating: 0, count: t.count)
        var idx = [Int](repeating: 0, count: shape.count)
        var offset = 0
        for i in 0..<t.count {
            out[i] = t.data[offset]
            var k = shape.count - 1
            while k >= 0 {
                idx[k] += 1
                offset += strides[k]
                if idx[k] < shape[k] { break }
                offset -= strides[k] * shape[k]
                idx[k] = 0
                k -= 1
            }
        }
        return Tensor(shape: shape, data: out)
    }

    // MARK: concat and stack

    static func concatShape(_ s: [[Int]], _ o: [Double]) throws(TensorShapeError) -> [Int] {
        let axis = Int(o[0])
        var out = s[0]
        for t in s.dropFirst() {
            guard t.count == out.count, t.indices.allSatisfy({ $0 == axis || t[$0] == s[0][$0] }) else {
                throw TensorShapeError("concat along axis \(axis): shapes \(s.map(Shapes.text).joined(separator: ", ")) differ off that axis")
            }
            out[axis] += t[axis]
        }
        return out
    }

    static func concat(_ xs: [Tensor], _ o: [Double]) -> Tensor {
        let axis = Int(o[0])
        let shape = (try? concatShape(xs.map(\.shape), o)) ?? []
        let (outer, _, inner) = Tensor.split(shape, axis: axis)
        var out: [Double] = []
        out.reserveCapacity(Shapes.count(shape))
        for r in 0..<outer {
            for x in xs {
                let block = x.shape[axis] * inner
                out += x.data[(r * block)..<((r + 1) * block)]
            }
        }
        return Tensor(shape: shape, data: out)
    }

    static func concatVJP(_ k: Int, _ xs: [Tensor], _ o: [Double], _ z: Tensor, _ g: Tensor) -> (Tensor, reduced: [Int]) {
        let axis = Int(o[0])
        let (outer, total, inner) = Tensor.split(z.shape, axis: axis)
        let start = xs[..<k].reduce(0) { $0 + $1.shape[axis] }, len = xs[k].shape[axis]
        var out: [Double] = []
        out.reserveCapacity(xs[k].count)
        for r in 0..<outer {
            let base = (r * total + start) * inner
            out += g.data[base..<(base + len * inner)]
        }
        return (Tensor(shape: xs[k].shape, data: out), [])
    }

    static func stackShape(_ s: [[Int]], _ o: [Double]) throws(TensorShapeError) -> [Int] {
        guard s.allSatisfy({ $0 == s[0] }) else {
            throw TensorShapeError("stack takes tensors of one shape, not \(s.map(Shapes.text).joined(separator: ", "))")
        }
        var out = s[0]
        out.insert(s.count, at: Int(o[0]))
        return out
    }

    static func stack(_ xs: [Tensor], _ o: [Double]) -> Tensor {
        let axis = Int(o[0])
        let inner = Shapes.count(Array(xs[0].shape[axis...])), outer = xs[0].count / Swift.max(inner, 1)
        var out: [Double] = []
        out.reserveCapacity(xs.count * xs[0].count)
        for r in 0..<outer { for x in xs { out += x.data[(r * inner)..<((r + 1) * inner)] } }
        var shape = xs[0].shape
        shape.insert(xs.count, at: axis)
        return Tensor(shape: shape, data: out)
    }

    static func stackVJP(_ k: Int, _ xs: [Tensor], _ o: [Double], _ z: Tensor, _ g: Tensor) -> (Tensor, reduced: [Int]) {
        let axis = Int(o[0])
        let inner = Shapes.count(Array(xs[0].shape[axis...])), outer = xs[0].count / Swift.max(inner, 1)
        var out: [Double] = []
        out.reserveCapacity(xs[k].count)
        for r in 0..<outer {
            let base = (r * xs.count + k) * inner
            out += g.data[base..<(base + inner)]
        }
        return (Tensor(shape: xs[k].shape, data: out), [])
    }

    /// `:, 2:5` (count > 0) or `:, 2` (count 0: one index).
    static func sliceText(axis: Int, start: Int, count: Int) -> String {
        let head = Array(repeating: ":", count: axis)
        return (head + [count > 0 ? "\(start):\(start + count)" : "\(start)"]).joined(separator: ", ")
    }

    // MARK: dropout and labels

    /// 0 or 1/(1 − p) per element, from SplitMix64 seeded by the seed and the stream (the statement's name).
    static func dropoutMask(count: Int, _ o: [Double]) -> [Double] {
        let p = o[0]
        var rng = SeededGenerator(seed: UInt64(bitPattern: Int64(o[1])) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: Int64(o[2])))
        let keep = 1 / (1 - p)
        return (0..<count).map { _ in Double(rng.next() >> 11) / Double(1 << 53) >= p ? keep : 0 }
    }

    static func checkLabels(_ y: Tensor, classes: Int, of x: Tensor) throws(TensorShapeError) {
        for (i, v) in y.data.enumerated() where !(v == v.rounded() && v >= 0 && v < Double(classes)) {
            throw TensorShapeError("label \(NumberFormat.exact(v)) (row \(i)) is out of range for \(classes) classes of shape \(x.shapeText): labels are whole numbers 0…\(classes - 1)")
        }
    }
}

/// Layer and batch normalisation as one plan: which statistics group and which parameter each element uses.
enum Norms {
    struct Plan {
        var groupOf: [Int]
        var paramOf: [Int]
        var groups: Int
        var params: Int
        /// Axes of the input summed for the weight's and bias's gradients.
        var reduced: [Int]
    }

    static func layerPlan(_ shape: [Int]) -> Plan {
        let d = Swift.max(shape.last ?? 1, 1), n = Shapes.count(shape)
        return Plan(groupOf: (0..<n).map { $0 / d }, paramOf: (0..<n).map { $0 % d }, groups: n / d, params: d,
                    reduced: Array(0..<Swift.max(shape.count - 1, 0)))
    }

    static func batchPlan(_ shape: [Int]) -> Plan {
        let c = shape[1], hw = Shapes.count(Array(shape.dropFirst(2))), n = Shapes.count(shape)
        let ch = (0..<n).map { ($0 / hw) % c }
        return Plan(groupOf: ch, paramOf: ch, groups: c, params: c, reduced: [0] + Array(2..<shape.count))
    }

    static func shape(_ name: String, _ s: [[Int]], _ o: [Double], channels: Int) throws(TensorShapeError) -> [Int] {
        guard !s[0].isEmpty else { throw TensorShapeError("\(name) takes a tensor, not a scalar") }
        for (k, what) in [(1, "weight"), (2, "bias")] where k < s.count && s[k] != [channels] {
            throw TensorShapeError("\(name): the \(what) has shape \(Shapes.text(s[k])); for x of shape \(Shapes.text(s[0])) it must be [\(channels)]")
        }
        guard o[0] >= 0 else { throw TensorShapeError("\(name): eps = \(NumberFormat.short(o[0])) must not be negative") }
        return s[0]
    }

    /// Per group: mean and 1/√(var + eps); per element x̂.
    static func normalize(_ x: Tensor, eps: Double, plan p: Plan) -> (xhat: [Double], inv: [Double]) {
        var sum = [Double](repeating: 0, count: p.groups), size = sum
        for i in x.data.indices { sum[p.groupOf[i]] += x.data[i]; size[p.groupOf[i]] += 1 }
        let mean = (0..<p.groups).map { sum[$0] / size[$0] }
        var sq = [Double](repeating: 0, count: p.groups)
        for i in x.data.indices { let d = x.data[i] - mean[p.groupOf[i]]; sq[p.groupOf[i]] = sq[p.groupOf[i]].addingProduct(d, d) }
        let inv = (0..<p.groups).map { 1 / (sq[$0] / size[$0] + eps).squareRoot() }
        return (x.data.indices.map { (x.data[$0] - mean[p.groupOf[$0]]) * inv[p.groupOf[$0]] }, inv)
    }

    static func forward(_ xs: [Tensor], eps: Double, plan p: Plan) -> Tensor {
        let (xhat, _) = normalize(xs[0], eps: eps, plan: p)
        var out = xs[0]
        for i in out.data.indices {
            var y = xhat[i]
            if xs.count > 1 { y *= xs[1].data[p.paramOf[i]] }
            if xs.count > 2 { y += xs[2].data[p.paramOf[i]] }
            out.data[i] = y
        }
        return out
    }

    static func vjp(_ k: Int, _ xs: [Tensor], eps: Double, g: Tensor, plan p: Plan) -> (Tensor, reduced: [Int]) {
        let (xhat, inv) = normalize(xs[0], eps: eps, plan: p)
        switch k {
        case 0:
            let dxhat = g.data.indices.map { xs.count > 1 ? g.data[$0] * xs[1].data[p.paramOf[$0]] : g.data[$0] }
            var m1 = [Double](repeating: 0, count: p.groups), m2 = m1, size = m1
            for i in dxhat.indices {
                m1[p.groupOf[i]] += dxhat[i]
                m2[p.groupOf[i]] = m2[p.groupOf[i]].addingProduct(dxhat[i], xhat[i])
                size[p.groupOf[i]] += 1
            }
            var out = xs[0]
            for i in out.data.indices {
                let q = p.groupOf[i]
                out.data[i] = (dxhat[i] - m1[q] / size[q] - xhat[i] * (m2[q] / size[q])) * inv[q]
            }
            return (out, [])
        default:
            var out = [Double](repeating: 0, count: p.params)
            for i in g.data.indices {
                if k == 1 { out[p.paramOf[i]] = out[p.paramOf[i]].addingProduct(g.data[i], xhat[i]) } else { out[p.paramOf[i]] += g.data[i] }
            }
            return (Tensor(shape: [p.params], data: out), p.reduced)
        }
    }

    static func formula(_ k: Int, _ c: FormulaContext, over: String) -> String {
        let x = c.operand(0)
        let gg = c.operands.count > 1 ? "\(c.operand(1)) ⊙ \(c.G)" : c.g
        switch k {
        case 0: return "(\(gg) − mean(\(gg)) − x̂ ⊙ mean(\(gg) ⊙ x̂))/σ, x̂ = (\(x) − μ)/σ, means over \(over)"
        case 1: return "Σ \(c.G) ⊙ x̂ over all but \(over == "the last axis" ? "the last axis" : "the channel axis")"
        default: return "Σ \(c.g) over all but \(over == "the last axis" ? "the last axis" : "the channel axis")"
        }
    }
}

/// 2-D convolution (cross-correlation, as PyTorch's) with stride and zero padding.
enum Conv {
    /// Padding above this is refused (it only adds zeros).
    static let maxPadding = 1 << 12

    static func shape(_ s: [[Int]], _ o: [Double]) throws(TensorShapeError) -> [Int] {
        let x = s[0], w = s[1]
        guard x.count == 4 else { throw TensorShapeError("conv2d takes an input [N, C, H, W], not shape \(Shapes.text(x))") }
        guard w.count == 4 else { throw TensorShapeError("conv2d takes a weight [O, C, kH, kW], not shape \(Shapes.text(w))") }
        guard w[1] == x[1] else {
            throw TensorShapeError("conv2d: the input \(Shapes.text(x)) has \(x[1]) channels, the weight \(Shapes.text(w)) takes \(w[1])")
        }
        if s.count > 2 && s[2] != [w[0]] {
            throw TensorShapeError("conv2d: the bias has shape \(Shapes.text(s[2])), the weight \(Shapes.text(w)) wants [\(w[0])]")
        }
        let stride = Int(o[0]), pad = Int(o[1])
        guard stride >= 1 else { throw TensorShapeError("conv2d: stride=\(stride); the stride is 1 or more") }
        guard pad >= 0 && pad <= maxPadding else { throw TensorShapeError("conv2d: padding=\(pad); the padding is 0…\(maxPadding)") }
        let h = x[2] + 2 * pad, wd = x[3] + 2 * pad
        guard w[2] <= h && w[3] <= wd else {
            throw TensorShapeError("conv2d: the kernel [\(w[2]), \(w[3])] of weight \(Shapes.text(w)) is larger than the padded input [\(h), \(wd)] (x \(Shapes.text(x)), padding \(pad))")
        }
        return [x[0], w[0], (h - w[2]) / stride + 1, (wd - w[3]) / stride + 1]
    }

    static func work(_ s: [[Int]], _ o: [Double]) -> Int {
        guard let out = try? shape(s, o) else { return 0 }
        return Shapes.product(out + Array(s[1].dropFirst()))
    }

    /// Calls `body(n, o, oh, ow, c, i, j, xIndex, wIndex, yIndex)` for every in-range product term, in one fixed order.
    @inline(__always)
    static func each(_ x: [Int], _ w: [Int], _ y: [Int], stride: Int, pad: Int, _ body: (Int, Int, Int) -> Void) {
        let (n, cin, h, wd) = (x[0], x[1], x[2], x[3]), (co, kh, kw) = (w[0], w[2], w[3]), (ho, wo) = (y[2], y[3])
        for b in 0..<n { for o in 0..<co { for oh in 0..<ho { for ow in 0..<wo {
            let yi = ((b * co + o) * ho + oh) * wo + ow
            for c in 0..<cin { for i in 0..<kh {
                let ih = oh * stride - pad + i
                if ih < 0 || ih >= h { continue }
                for j in 0..<kw {
                    let iw = ow * stride - pad + j
                    if iw < 0 || iw >= wd { continue }
                    body(((b * cin + c) * h + ih) * wd + iw, ((o * cin + c) * kh + i) * kw + j, yi)
                }
            } }
        } } } }
    }

    static func forward(_ xs: [Tensor], _ o: [Double]) -> Tensor {
        let x = xs[0], w = xs[1]
        let shape = (try? Conv.shape(xs.map(\.shape), o)) ?? []
        var y = [Double](repeating: 0, count: Shapes.count(shape))
        if xs.count > 2 {
            let hw = shape[2] * shape[3]
            for i in y.indices { y[i] = xs[2].data[(i / hw) % shape[1]] }
        }
        x.data.withUnsafeBufferPointer { xd in w.data.withUnsafeBufferPointer { wd in y.withUnsafeMutableBufferPointer { yd in
            each(x.shape, w.shape, shape, stride: Int(o[0]), pad: Int(o[1])) { xi, wi, yi in yd[yi] = yd[yi].addingProduct(xd[xi], wd[wi]) }
        } } }
        return Tensor(shape: shape, data: y)
    }

    static func vjp(_ k: Int, _ xs: [Tensor], _ o: [Double], _ z: Tensor, _ g: Tensor) -> (Tensor, reduced: [Int]) {
        let x = xs[0], w = xs[1]
        switch k {
        case 0, 1:
            var out = [Double](repeating: 0, count: k == 0 ? x.count : w.count)
            x.data.withUnsafeBufferPointer { xd in w.data.withUnsafeBufferPointer { wd in g.data.withUnsafeBufferPointer { gd in
                out.withUnsafeMutableBufferPointer { od in
                    if k == 0 {
                        each(x.shape, w.shape, z.shape, stride: Int(o[0]), pad: Int(o[1])) { xi, wi, yi in od[xi] = od[xi].addingProduct(wd[wi], gd[yi]) }
                    } else {
                        each(x.shape, w.shape, z.shape, stride: Int(o[0]), pad: Int(o[1])) { xi, wi, yi in od[wi] = od[wi].addingProduct(xd[xi], gd[yi]) }
                    }
                }
            } } }
            return (Tensor(shape: k == 0 ? x.shape : w.shape, data: out), [])
        default:
            let co = z.shape[1], hw = z.shape[2] * z.shape[3]
            var b = [Double](repeating: 0, count: co)
            for i in g.data.indices { b[(i / hw) % co] += g.data[i] }
            return (Tensor(shape: [co], data: b), [0, 2, 3])
        }
    }
}

/// Max and average pooling over the last two axes, windows `kernel_size` wide, `stride` apart (default: the kernel size).
enum Pool {
    static func stride(_ o: [Double]) -> Int { o[1] == -1 ? Int(o[0]) : Int(o[1]) }

    static func shape(_ name: String, _ x: [Int], _ o: [Double]) throws(TensorShapeError) -> [Int] {
        guard x.count >= 3 else { throw TensorShapeError("\(name) takes [N, C, H, W] or [C, H, W], not shape \(Shapes.text(x))") }
        let k = Int(o[0]), s = stride(o)
        guard k >= 1 else { throw TensorShapeError("\(name): kernel_size=\(k); the kernel size is 1 or more") }
        guard s >= 1 else { throw TensorShapeError("\(name): stride=\(Int(o[1])); the stride is 1 or more") }
        let h = x[x.count - 2], w = x[x.count - 1]
        guard k <= h && k <= w else {
            throw TensorShapeError("\(name): the window [\(k), \(k)] is larger than the input's last two axes [\(h), \(w)] (x \(Shapes.text(x)))")
        }
        return Array(x.dropLast(2)) + [(h - k) / s + 1, (w - k) / s + 1]
    }

    /// Calls `body(output index, input indices of the window in row-major order)`.
    static func windows(_ x: [Int], _ o: [Double], _ body: (Int, [Int]) -> Void) {
        let k = Int(o[0]), s = stride(o)
        let h = x[x.count - 2], w = x[x.count - 1], ho = (h - k) / s + 1, wo = (w - k) / s + 1
        let planes = Shapes.count(Array(x.dropLast(2)))
        var window = [Int](repeating: 0, count: k * k)
        for p in 0..<planes { for oh in 0..<ho { for ow in 0..<wo {
            for i in 0..<k { for j in 0..<k { window[i * k + j] = (p * h + oh * s + i) * w + ow * s + j } }
            body((p * ho + oh) * wo + ow, window)
        } } }
    }

    static func forward(_ x: Tensor, _ o: [Double], max: Bool) -> Tensor {
        let shape = (try? Pool.shape("pool", x.shape, o)) ?? []
        var y = [Double](repeating: 0, count: Shapes.count(shape))
        windows(x.shape, o) { yi, win in
            if max { y[yi] = x.data[first(x.data, win)] } else { y[yi] = win.reduce(0) { $0 + x.data[$1] } / Double(win.count) }
        }
        return Tensor(shape: shape, data: y)
    }

    /// The first index of the window's maximum (NaN wins, as in PyTorch).
    static func first(_ d: [Double], _ win: [Int]) -> Int {
        var best = win[0]
        for i in win.dropFirst() where d[i] > d[best] || (d[i].isNaN && !d[best].isNaN) { best = i }
        return best
    }

    static func vjp(_ x: Tensor, _ o: [Double], _ g: Tensor, max: Bool) -> Tensor {
        var out = Tensor.zeros(x.shape)
        windows(x.shape, o) { yi, win in
            if max { out.data[first(x.data, win)] += g.data[yi] } else { for i in win { out.data[i] += g.data[yi] / Double(win.count) } }
        }
        return out
    }
}
