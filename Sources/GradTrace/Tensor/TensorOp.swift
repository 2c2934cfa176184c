#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A shape mistake: operands whose shapes do not fit an op, an axis out of range, a label out of range.
public struct TensorShapeError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An operation on tensors, as data: shape rule, forward value, vector-Jacobian product and its formula.
///
/// Every element-wise op is a scalar ``Op`` applied per element with NumPy broadcasting, so its numbers
/// are exactly the scalar engine's. Axes are stored non-negative (the parser resolves `-1`).
public enum TensorOp: Sendable, Hashable {
    /// A named leaf (`X = [[1, 2], [3, 4]]`, `W = randn(3, 2)`).
    case input
    /// A literal inside an expression (`2` in `2 * x`).
    case constant
    /// A scalar op applied element by element (one or two inputs; two broadcast).
    case elementwise(Op)
    /// NumPy's `matmul` for ranks 1 and 2 (`@`).
    case matmul
    /// Σ over one axis, kept with size 1, or over everything (nil) to a scalar.
    case sum(axis: Int?)
    case mean(axis: Int?)
    /// The maximum; the gradient goes to the first maximal element.
    case max(axis: Int?)
    case logsumexp(axis: Int)
    case softmax(axis: Int)
    case logSoftmax(axis: Int)
    /// A matrix's transpose.
    case transpose
    /// The same elements in another shape.
    case reshape([Int])
    /// Integer indices into the leading axes (`x[1]`, `x[0, 2]`), non-negative.
    case index([Int])
    /// Slices of the leading axes (`x[:, 0:2]`, `x[1:]`, `x[::2]`, `x[0, 1:]`), bounds resolved.
    case slice([SliceAxis])
    /// A function of the registry (``TensorFunctions``) with its options (`linear`, `conv2d`, `lt`, …).
    case call(TensorCall)
    /// A module drawn as one node (``TensorTrace/collapsedModules(depth:)``): a picture's node with its
    /// value given, never evaluated (its forward returns the first operand, its VJPs are zero).
    case module(String, arity: Int)
    /// `pick(x, labels)`: `x[i, labels[i]]` for each row `i`.
    case pick
    /// Mean over the rows of `−log_softmax(logits)` at the labels.
    case crossEntropy

    /// Number of inputs.
    public var arity: Int {
        switch self {
        case .input, .constant: return 0
        case .elementwise(let op): return op.arity
        case .call(let c): return c.arity
        case .module(_, let n): return n
        case .matmul, .pick, .crossEntropy: return 2
        default: return 1
        }
    }

    public var isLeaf: Bool { arity == 0 }

    /// True for ops whose second operand holds integer labels (no gradient flows into it).
    public var takesLabels: Bool { self == .pick || self == .crossEntropy }

    /// Whether a gradient flows into operand `k` (not into the labels of `pick` and `cross_entropy`).
    public func passesGradient(toOperand k: Int) -> Bool {
        if case .call(let c) = self { return !c.function.integerOperands.contains(k) }
        return !(takesLabels && k == 1)
    }

    /// A short machine-readable name (`"matmul"`, `"sum"`), used in JSON.
    public var name: String {
        switch self {
        case .input: return "input"
        case .constant: return "const"
        case .elementwise(let op): return op.name
        case .matmul: return "matmul"
        case .sum: return "sum"
        case .mean: return "mean"
        case .max: return "max"
        case .logsumexp: return "logsumexp"
        case .softmax: return "softmax"
        case .logSoftmax: return "log_softmax"
        case .transpose: return "transpose"
        case .reshape: return "reshape"
        case .index: return "index"
        case .slice: return "slice"
        case .call(let c): return c.function.name
        case .module: return "module"
        case .pick: return "pick"
        case .crossEntropy: return "cross_entropy"
        }
    }

    /// The axis argument, if the op has one.
    public var axis: Int? {
        switch self {
        case .sum(let a), .mean(let a), .max(let a): return a
        case .logsumexp(let a), .softmax(let a), .logSoftmax(let a): return a
        default: return nil
        }
    }

    // MARK: shapes

    /// The output shape for operand shapes, or the mistake, naming the shapes.
    public func outputShape(_ shapes: [[Int]]) throws(TensorShapeError) -> [Int] {
        let a = shapes.first ?? [], b = shapes.count > 1 ? shapes[1] : []
        let ta = Tensor.text(shape: a), tb = Tensor.text(shape: b)
        switch self {
        case .input, .constant: return a
        case .elementwise(let op):
            if op.arity == 1 { return a }
            guard let s = Tensor.broadcastShape(a, b) else {
                throw TensorShapeError("shapes \(ta) and \(tb) do not broadcast (aligned on the right, each axis must be equal or 1)")
            }
            return s
        case .matmul:
            if a.count >= 3 || b.count >= 3 { return try TensorOp.batchedShape(a, b) }
            guard (1...2).contains(a.count), (1...2).contains(b.count) else {
                throw TensorShapeError("@ takes vectors and matrices, not shapes \(ta) and \(tb)")
            }
            let inner = a[a.count - 1], innerB = b[0]
            guard inner == innerB else {
                throw TensorShapeError("shapes \(ta) and \(tb) do not multiply: the inner sizes \(inner) and \(innerB) differ")
            }
            switch (a.count, b.count) {
            case (2, 2): return [a[0], b[1]]
            case (2, 1): return [a[0]]
            case (1, 2): return [b[1]]
            default: return []
            }
        case .sum(let axis), .mean(let axis), .max(let axis):
            guard let axis else { return [] }
            return Tensor.keptShape(a, axis: axis)
        case .logsumexp(let axis):
            return Tensor.keptShape(a, axis: axis)
        case .softmax, .logSoftmax:
            return a
        case .transpose:
            guard a.count == 2 else { throw TensorShapeError("transpose takes a matrix, not shape \(ta)") }
            return [a[1], a[0]]
        case .reshape(let s):
            guard let from = Tensor.elementCount(a), let to = Tensor.elementCount(s), from == to else {
                throw TensorShapeError("cannot reshape \(ta) (\(Tensor.elementCountText(a)) elements) to \(Tensor.text(shape: s)) (\(Tensor.elementCountText(s)) elements)")
            }
            return s
        case .index(let idx):
            return Array(a[idx.count...])
        case .slice(let axes):
            return SliceAxis.shape(a, axes)
        case .call(let c):
            return try c.function.shape(shapes, c.options)
        case .module:
            return a
        case .pick, .crossEntropy:
            guard a.count == 2 else { throw TensorShapeError("\(name) takes a matrix [rows, classes], not shape \(ta)") }
            guard b == [a[0]] else {
                throw TensorShapeError("\(name) needs one label per row: shapes \(ta) and \(tb) (want [\(a[0])])")
            }
            return self == .pick ? [a[0]] : []
        }
    }

    /// Checks values that shapes cannot: labels must be whole numbers in range.
    public func checkValues(_ xs: [Tensor]) throws(TensorShapeError) {
        if case .call(let c) = self { try c.function.checkValues(xs, c.options); return }
        guard takesLabels, xs.count == 2 else { return }
        let a = xs[0], b = xs[1]
        let classes = a.shape[1]
        for (i, y) in b.data.enumerated() {
            guard y == y.rounded(), y >= 0, y < Double(classes) else {
                throw TensorShapeError("label \(NumberFormat.exact(y)) (row \(i)) is out of range for \(classes) classes of shape \(a.shapeText): labels are whole numbers 0…\(classes - 1)")
            }
        }
    }

    // MARK: forward

    /// The op's value (shapes already checked).
    public func forward(_ xs: [Tensor]) -> Tensor {
        let a = xs[0], b: Tensor? = xs.count > 1 ? xs[1] : nil
        switch self {
        case .input, .constant: return a
        case .elementwise(let op):
            if op.arity == 1 {
                return Tensor(shape: a.shape, data: ElementwiseKernels.map(a.data, costly: op.callsMathLibrary) { op.apply($0) })
            }
            let b = b!
            let shape = a.shape == b.shape ? a.shape : Tensor.broadcastShape(a.shape, b.shape)!
            let fast: [Double]?
            switch op {
            case .add: fast = ElementwiseKernels.combine(a, b, shape: shape, costly: false) { $0 + $1 }
            case .sub: fast = ElementwiseKernels.combine(a, b, shape: shape, costly: false) { $0 - $1 }
            case .mul: fast = ElementwiseKernels.combine(a, b, shape: shape, costly: false) { $0 * $1 }
            case .div: fast = ElementwiseKernels.combine(a, b, shape: shape, costly: false) { $0 / $1 }
            default: fast = ElementwiseKernels.combine(a, b, shape: shape, costly: op.callsMathLibrary) { op.apply($0, $1) }
            }
            if let fast { return Tensor(shape: shape, data: fast) }
            let ma = Tensor.broadcastMap(from: a.shape, to: shape), mb = Tensor.broadcastMap(from: b.shape, to: shape)
            var out = [Double](repeating: 0, count: ma.count)
            for i in out.indices { out[i] = op.apply(a.data[ma[i]], b.data[mb[i]]) }
            return Tensor(shape: shape, data: out)
        case .matmul:
            let b = b!
            if a.rank >= 3 || b.rank >= 3 { return TensorOp.batchedProduct(a, b) }
            let shape = (try? outputShape([a.shape, b.shape])) ?? []
            switch (a.rank, b.rank) {
            case (2, 2): return Tensor(shape: shape, data: MatrixKernels.nn(a.data, b.data, m: a.shape[0], k: a.shape[1], n: b.shape[1]))
            case (2, 1): return Tensor(shape: shape, data: MatrixKernels.nn(a.data, b.data, m: a.shape[0], k: a.shape[1], n: 1))
            case (1, 2): return Tensor(shape: shape, data: MatrixKernels.nn(a.data, b.data, m: 1, k: a.shape[0], n: b.shape[1]))
            default:
                return Tensor(MatrixKernels.dot(a.data, b.data))
            }
        case .sum(let axis), .mean(let axis):
            let isMean = { if case .mean = self { return true } else { return false } }()
            guard let axis else {
                let s = a.data.reduce(0, +)
                return Tensor(isMean ? s / Double(a.count) : s)
            }
            let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
            var out = [Double](repeating: 0, count: outer * inner)
            for o in 0..<outer { for i in 0..<len { for n in 0..<inner { out[o * inner + n] += a.data[(o * len + i) * inner + n] } } }
            if isMean { for k in out.indices { out[k] /= Double(len) } }
            return Tensor(shape: Tensor.keptShape(a.shape, axis: axis), data: out)
        case .max(let axis):
            guard let axis else { return Tensor(a.data[TensorOp.argmax(a.data, 0, a.count, 1)]) }
            let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
            var out = [Double](repeating: 0, count: outer * inner)
            for o in 0..<outer { for n in 0..<inner { out[o * inner + n] = a.data[TensorOp.argmax(a.data, o * len * inner + n, len, inner)] } }
            return Tensor(shape: Tensor.keptShape(a.shape, axis: axis), data: out)
        case .logsumexp(let axis):
            let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
            var out = [Double](repeating: 0, count: outer * inner)
            for o in 0..<outer { for n in 0..<inner { out[o * inner + n] = TensorOp.lse(a.data, o * len * inner + n, len, inner) } }
            return Tensor(shape: Tensor.keptShape(a.shape, axis: axis), data: out)
        case .softmax(let axis), .logSoftmax(let axis):
            let log = self == .logSoftmax(axis: axis)
            let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
            var out = a.data
            for o in 0..<outer {
                for n in 0..<inner {
                    let start = o * len * inner + n
                    let l = TensorOp.lse(a.data, start, len, inner)
                    for i in 0..<len {
                        let k = start + i * inner
                        out[k] = log ? a.data[k] - l : Glibc.exp(a.data[k] - l)
                    }
                }
            }
            return Tensor(shape: a.shape, data: out)
        case .transpose:
            return TensorOp.transposed(a)
        case .reshape(let s):
            return a.reshaped(s)
        case .index(let idx):
            let (offset, shape) = TensorOp.block(a.shape, idx)
            let count = shape.reduce(1, *)
            return Tensor(shape: shape, data: Array(a.data[offset..<(offset + count)]))
        case .slice(let axes):
            let map = SliceAxis.offsets(a.shape, axes)
            return Tensor(shape: SliceAxis.shape(a.shape, axes), data: map.map { a.data[$0] })
        case .call(let c):
            return c.function.forward(xs, c.options)
        case .module:
            return a
        case .pick:
            let k = a.shape[1]
            return Tensor(shape: [a.shape[0]], data: (0..<a.shape[0]).map { a.data[$0 * k + Int(b!.data[$0])] })
        case .crossEntropy:
            let n = a.shape[0], k = a.shape[1]
            var s = 0.0
            for i in 0..<n { s += TensorOp.lse(a.data, i * k, k, 1) - a.data[i * k + Int(b!.data[i])] }
            return Tensor(s / Double(n))
        }
    }

    // MARK: backward

    /// The vector-Jacobian product for operand `k`: the gradient `g` (of the output's shape) carried back
    /// to the operand's shape, and the output axes summed because the operand was broadcast along them.
    public func vjp(operand k: Int, _ xs: [Tensor], output z: Tensor, upstream g: Tensor) -> (Tensor, reduced: [Int]) {
        let a = xs[0], b: Tensor? = xs.count > 1 ? xs[1] : nil
        switch self {
        case .input, .constant:
            return (Tensor.zeros(a.shape), [])
        case .elementwise(let op):
            if op.arity == 1 {
                var out = g
                out.data.withUnsafeMutableBufferPointer { o in a.data.withUnsafeBufferPointer { av in z.data.withUnsafeBufferPointer { zv in
                    switch op {
                    case .tanh: for i in o.indices { o[i] *= 1 - zv[i] * zv[i] }
                    case .exp: for i in o.indices { o[i] *= zv[i] }
                    case .relu: for i in o.indices { o[i] *= av[i] > 0 ? 1 : 0 }
                    default:
                        nonisolated(unsafe) let (op_, ov, a_, z_) = (op, o.baseAddress!, av.baseAddress!, zv.baseAddress!)
                        ElementwiseKernels.chunks(o.count, parallel: op.callsMathLibrary) { range in
                            for i in range { ov[i] *= op_.localGradients(a_[i], 0, output: z_[i]).0 }
                        }
                    }
                } } }
                return (out, [])
            }
            let b = b!
            let target = k == 0 ? a.shape : b.shape
            if let fast = Self.binaryVJP(op, operand: k, a, b, output: z, upstream: g) { return fast }
            var full = g
            if a.shape == b.shape {
                full.data.withUnsafeMutableBufferPointer { o in a.data.withUnsafeBufferPointer { av in b.data.withUnsafeBufferPointer { bv in
                    z.data.withUnsafeBufferPointer { zv in
                        for i in o.indices {
                            let (la, lb) = op.localGradients(av[i], bv[i], output: zv[i])
                            o[i] *= k == 0 ? la : lb
                        }
                    }
                } } }
            } else {
                let ma = Tensor.broadcastMap(from: a.shape, to: z.shape), mb = Tensor.broadcastMap(from: b.shape, to: z.shape)
                for i in full.data.indices {
                    let (la, lb) = op.localGradients(a.data[ma[i]], b.data[mb[i]], output: z.data[i])
                    full.data[i] *= k == 0 ? la : lb
                }
            }
            return Tensor.unbroadcast(full, to: target)
        case .matmul:
            let b = b!
            if a.rank >= 3 || b.rank >= 3 { return TensorOp.batchedVJP(operand: k, a, b, upstream: g) }
            switch (a.rank, b.rank) {
            case (2, 2):
                let m = a.shape[0], kk = a.shape[1], n = b.shape[1]
                return k == 0 ? (Tensor(shape: a.shape, data: MatrixKernels.nt(g.data, b.data, m: m, n: n, k: kk)), [])
                              : (Tensor(shape: b.shape, data: MatrixKernels.tn(a.data, g.data, m: m, k: kk, n: n)), [])
            case (2, 1):
                let m = a.shape[0], kk = a.shape[1]
                return k == 0 ? (Tensor(shape: a.shape, data: MatrixKernels.tn(g.data, b.data, m: 1, k: m, n: kk)), [])
                              : (Tensor(shape: b.shape, data: MatrixKernels.tn(a.data, g.data, m: m, k: kk, n: 1)), [])
            case (1, 2):
                let kk = a.shape[0], n = b.shape[1]
                return k == 0 ? (Tensor(shape: a.shape, data: MatrixKernels.nt(g.data, b.data, m: 1, n: n, k: kk)), [])
                              : (Tensor(shape: b.shape, data: MatrixKernels.tn(a.data, g.data, m: 1, k: kk, n: n)), [])
            default:
                let s = g.scalar
                return (k == 0 ? b.map { $0 * s } : a.map { $0 * s }, [])
            }
        case .sum(let axis), .mean(let axis):
            var scale = 1.0
            if case .mean = self { scale = 1 / Double(axis.map { a.shape[$0] } ?? a.count) }
            let spread = axis == nil ? Tensor(repeating: g.scalar, shape: a.shape) : g.broadcast(to: a.shape)
            return (scale == 1 ? spread : spread.map { $0 * scale }, [])
        case .max(let axis):
            var out = Tensor.zeros(a.shape)
            guard let axis else {
                out.data[TensorOp.argmax(a.data, 0, a.count, 1)] = g.scalar
                return (out, [])
            }
            let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
            for o in 0..<outer { for n in 0..<inner { out.data[TensorOp.argmax(a.data, o * len * inner + n, len, inner)] = g.data[o * inner + n] } }
            return (out, [])
        case .logsumexp(let axis):
            let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
            var out = a
            for o in 0..<outer { for n in 0..<inner {
                let r = o * inner + n
                for i in 0..<len { let idx = (o * len + i) * inner + n; out.data[idx] = g.data[r] * Glibc.exp(a.data[idx] - z.data[r]) }
            } }
            return (out, [])
        case .softmax(let axis):
            // ∂L/∂x = y ⊙ (g − Σ_axis g ⊙ y)
            let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
            var out = a
            for o in 0..<outer { for n in 0..<inner {
                var dot = 0.0
                for i in 0..<len { let idx = (o * len + i) * inner + n; dot += g.data[idx] * z.data[idx] }
                for i in 0..<len { let idx = (o * len + i) * inner + n; out.data[idx] = z.data[idx] * (g.data[idx] - dot) }
            } }
            return (out, [])
        case .logSoftmax(let axis):
            // ∂L/∂x = g − softmax(x) ⊙ Σ_axis g
            let (outer, len, inner) = Tensor.split(a.shape, axis: axis)
            var out = a
            for o in 0..<outer { for n in 0..<inner {
                var s = 0.0
                for i in 0..<len { s += g.data[(o * len + i) * inner + n] }
                for i in 0..<len { let idx = (o * len + i) * inner + n; out.data[idx] = g.data[idx] - Glibc.exp(z.data[idx]) * s }
            } }
            return (out, [])
        case .transpose:
            return (TensorOp.transposed(g), [])
        case .reshape:
            return (g.reshaped(a.shape), [])
        case .index(let idx):
            var out = Tensor.zeros(a.shape)
            let (offset, _) = TensorOp.block(a.shape, idx)
            for i in g.data.indices { out.data[offset + i] = g.data[i] }
            return (out, [])
        case .slice(let axes):
            var out = Tensor.zeros(a.shape)
            for (i, o) in SliceAxis.offsets(a.shape, axes).enumerated() { out.data[o] += g.data[i] }
            return (out, [])
        case .call(let c):
            return c.function.vjp(k, xs, c.options, z, g)
        case .module:
            return (Tensor.zeros(xs[k].shape), [])
        case .pick:
            if k == 1 { return (Tensor.zeros(b!.shape), []) }
            var out = Tensor.zeros(a.shape)
            let c = a.shape[1]
            for i in 0..<a.shape[0] { out.data[i * c + Int(b!.data[i])] = g.data[i] }
            return (out, [])
        case .crossEntropy:
            if k == 1 { return (Tensor.zeros(b!.shape), []) }
            let n = a.shape[0], c = a.shape[1]
            var out = a
            let scale = g.scalar / Double(n)
            for i in 0..<n {
                let l = TensorOp.lse(a.data, i * c, c, 1)
                for j in 0..<c { out.data[i * c + j] = (Glibc.exp(a.data[i * c + j] - l) - (j == Int(b!.data[i]) ? 1 : 0)) * scale }
            }
            return (out, [])
        }
    }

    // MARK: helpers

    /// The VJP of the four arithmetic ops for simple broadcasts (see ``ElementwiseKernels``): the same
    /// expressions as ``Op/localGradients(_:_:output:)``, times the upstream, summed back in the same order.
    static func binaryVJP(_ op: Op, operand k: Int, _ a: Tensor, _ b: Tensor, output z: Tensor, upstream g: Tensor) -> (Tensor, reduced: [Int])? {
        let target = k == 0 ? a.shape : b.shape
        // The upstream times the local gradient at every output element.
        let full: [Double]?
        switch (op, k) {
        case (.add, _): full = g.data
        case (.sub, 0): full = g.data
        case (.sub, _): full = ElementwiseKernels.map(g.data, costly: false) { $0 * -1 }
        case (.mul, 0): full = ElementwiseKernels.combine(g, b, shape: g.shape, costly: false) { $0 * $1 }
        case (.mul, _): full = ElementwiseKernels.combine(g, a, shape: g.shape, costly: false) { $0 * $1 }
        case (.div, 0): full = ElementwiseKernels.combine(g, b, shape: g.shape, costly: false) { $0 * (1 / $1) }
        case (.div, _):
            guard let q = ElementwiseKernels.combine(a, b, shape: g.shape, costly: false, { -$0 / ($1 * $1) }) else { return nil }
            full = ElementwiseKernels.combine(g, Tensor(shape: g.shape, data: q), shape: g.shape, costly: false) { $0 * $1 }
        default: return nil
        }
        guard let full else { return nil }
        if target == g.shape { return (Tensor(shape: target, data: full), []) }
        guard let summed = ElementwiseKernels.unbroadcast(full, from: g.shape, to: target) else { return nil }
        return (Tensor(shape: target, data: summed), Tensor.reducedAxes(g.shape, to: target))
    }

    /// The first index of the largest of `len` elements starting at `start`, `step` apart (NaN wins, as in NumPy).
    static func argmax(_ d: [Double], _ start: Int, _ len: Int, _ step: Int) -> Int {
        var best = start
        for i in 1..<Swift.max(len, 1) {
            let k = start + i * step
            if d[best].isNaN { break }
            if d[k] > d[best] || d[k].isNaN { best = k }
        }
        return best
    }

    /// log Σ exp over `len` elements `step` apart, shifted by their maximum for stability.
    static func lse(_ d: [Double], _ start: Int, _ len: Int, _ step: Int) -> Double {
        var m = -Double.infinity
        for i in 0..<len { m = Swift.max(m, d[start + i * step]) }
        if !m.isFinite { return m == -.infinity ? -.infinity : m }
        var s = 0.0
        for i in 0..<len { s += Glibc.exp(d[start + i * step] - m) }
        return m + Glibc.log(s)
    }

    static func transposed(_ a: Tensor) -> Tensor {
        let r = a.shape[0], c = a.shape[1]
        var out = [Double](repeating: 0, count: a.count)
        for i in 0..<r { for j in 0..<c { out[j * r + i] = a.data[i * c + j] } }
        return Tensor(shape: [c, r], data: out)
    }

    /// Where the block `x[idx…]` starts, and its shape.
    static func block(_ shape: [Int], _ idx: [Int]) -> (offset: Int, shape: [Int]) {
        let strides = Tensor.strides(shape)
        var offset = 0
        for (k, i) in idx.enumerated() { offset += i * strides[k] }
        return (offset, Array(shape[idx.count...]))
    }
}
