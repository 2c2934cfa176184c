#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// A tensor value: a shape (`[]` for a scalar, up to rank 4) and its elements in row-major order.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])
/// x[1, 2]          // 6
/// x.shapeText      // "[2, 3]"
/// ```
public struct Tensor: Sendable, Hashable {
    /// The size of each axis; empty for a scalar.
    public var shape: [Int]
    /// The elements, row-major (the last axis varies fastest).
    public var data: [Double]

    /// The largest rank a tensor may have.
    public static let maxRank = 4
    /// The most elements one tensor may hold (2²⁴: 128 MB of doubles), so hostile input cannot exhaust memory.
    public static let maxElements = 1 << 24
    /// The most multiply-adds one matrix product may take (a few seconds' work).
    public static let maxProductWork = 4_000_000_000

    public init(shape: [Int], data: [Double]) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == data.count, "data count must match the shape")
        self.shape = shape
        self.data = data
    }

    /// A scalar (shape `[]`).
    public init(_ scalar: Double) {
        shape = []
        data = [scalar]
    }

    /// A tensor of one repeated value.
    public init(repeating value: Double, shape: [Int]) {
        self.shape = shape
        data = [Double](repeating: value, count: shape.reduce(1, *))
    }

    /// Zeros of a shape.
    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(repeating: 0, shape: shape) }

    /// The number of axes.
    @inlinable public var rank: Int { shape.count }
    /// The number of elements.
    @inlinable public var count: Int { data.count }
    /// True for a scalar (shape `[]`).
    @inlinable public var isScalar: Bool { shape.isEmpty }
    /// The value of a one-element tensor (a scalar, or `[1]`, `[1, 1]`, …); the first element otherwise.
    public var scalar: Double { data.first ?? 0 }

    /// The element at a full index.
    public subscript(_ index: Int...) -> Double {
        data[Tensor.offset(of: index, in: shape)]
    }

    /// Row-major strides of a shape.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for k in stride(from: shape.count - 1, through: 0, by: -1) {
            s[k] = acc
            acc *= shape[k]
        }
        return s
    }

    static func offset(of index: [Int], in shape: [Int]) -> Int {
        var o = 0
        for k in 0..<shape.count { o = o * shape[k] + index[k] }
        return o
    }

    /// `[2, 3]`, or `[]` for a scalar.
    public var shapeText: String { Tensor.text(shape: shape) }

    /// `[2, 3]`.
    public static func text(shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }

    /// The same elements with another shape of the same count.
    public func reshaped(_ newShape: [Int]) -> Tensor { Tensor(shape: newShape, data: data) }

    /// Applies `f` to every element.
    @inlinable public func map(_ f: (Double) -> Double) -> Tensor {
        var t = self
        t.data.withUnsafeMutableBufferPointer { b in for i in b.indices { b[i] = f(b[i]) } }
        return t
    }

    /// The mean of the elements.
    public var mean: Double { data.reduce(0, +) / Double(Swift.max(count, 1)) }
    /// The (population) standard deviation of the elements.
    public var standardDeviation: Double {
        let m = mean
        return (data.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(Swift.max(count, 1))).squareRoot()
    }
    /// Σ x².
    public var sumOfSquares: Double { data.reduce(0) { $0 + $1 * $1 } }
    /// The Euclidean (Frobenius) norm.
    public var norm: Double { sumOfSquares.squareRoot() }
    /// The largest magnitude (0 for an empty tensor; NaN if an element is NaN).
    public var maxMagnitude: Double {
        var m = 0.0
        for x in data { if x.isNaN { return .nan }; m = Swift.max(m, Swift.abs(x)) }
        return m
    }
    /// True when every element is finite.
    public var isFinite: Bool { data.allSatisfy(\.isFinite) }

    /// Element-wise sum (equal shapes).
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "equal shapes")
        var t = a
        t.data.withUnsafeMutableBufferPointer { d in b.data.withUnsafeBufferPointer { s in for i in d.indices { d[i] += s[i] } } }
        return t
    }

    /// Adds `b` (same shape) into this tensor.
    public mutating func add(_ b: Tensor) {
        precondition(shape == b.shape, "equal shapes")
        data.withUnsafeMutableBufferPointer { d in b.data.withUnsafeBufferPointer { s in for i in d.indices { d[i] += s[i] } } }
    }
}

// MARK: - Broadcasting

extension Tensor {
    /// The NumPy broadcast of two shapes (aligned on the right; a 1 or a missing axis stretches), or nil.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let n = Swift.max(a.count, b.count)
        var out = [Int](repeating: 0, count: n)
        for k in 0..<n {
            let da = k < n - a.count ? 1 : a[k - (n - a.count)]
            let db = k < n - b.count ? 1 : b[k - (n - b.count)]
            if da == db || db == 1 { out[k] = da } else if da == 1 { out[k] = db } else { return nil }
        }
        return out
    }

    /// For each element of `outShape`, the offset of the element of `shape` it reads when broadcast.
    static func broadcastMap(from shape: [Int], to outShape: [Int]) -> [Int] {
        let n = outShape.count
        let total = outShape.reduce(1, *)
        if shape == outShape { return Array(0..<total) }
        // The input's stride per output axis (0 where it is stretched or missing).
        let inStrides = strides(shape)
        var s = [Int](repeating: 0, count: n)
        for k in 0..<n {
            let j = k - (n - shape.count)
            if j >= 0 && shape[j] != 1 { s[k] = inStrides[j] }
        }
        var map = [Int](repeating: 0, count: total)
        if total == 0 { return map }
        var index = [Int](repeating: 0, count: n)
        var o = 0
        for i in 0..<total {
            map[i] = o
            // Odometer increment.
            var k = n - 1
            while k >= 0 {
                index[k] += 1
                o += s[k]
                if index[k] < outShape[k] { break }
                o -= s[k] * outShape[k]
                index[k] = 0
                k -= 1
            }
        }
        return map
    }

    /// This tensor stretched to `outShape` (which must be a broadcast of its shape).
    public func broadcast(to outShape: [Int]) -> Tensor {
        if shape == outShape { return self }
        let map = Tensor.broadcastMap(from: shape, to: outShape)
        return Tensor(shape: outShape, data: map.map { data[$0] })
    }

    /// A gradient of shape `outShape` summed back to `shape` over every broadcast axis; also the
    /// axes of `outShape` that were summed (stretched from 1, or missing).
    public static func unbroadcast(_ g: Tensor, to shape: [Int]) -> (Tensor, reduced: [Int]) {
        if g.shape == shape { return (g, []) }
        let n = g.shape.count
        var reduced: [Int] = []
        for k in 0..<n {
            let j = k - (n - shape.count)
            if j < 0 || (shape[j] == 1 && g.shape[k] != 1) { reduced.append(k) }
        }
        let map = broadcastMap(from: shape, to: g.shape)
        var out = [Double](repeating: 0, count: shape.reduce(1, *))
        for i in 0..<g.data.count { out[map[i]] += g.data[i] }
        return (Tensor(shape: shape, data: out), reduced)
    }
}

// MARK: - Axis helpers

extension Tensor {
    /// `(outer, length, inner)` of a row-major tensor around `axis`: element `(o, i, n)` sits at `(o·length + i)·inner + n`.
    static func split(_ shape: [Int], axis: Int) -> (outer: Int, length: Int, inner: Int) {
        let outer = shape[..<axis].reduce(1, *)
        let inner = shape[(axis + 1)...].reduce(1, *)
        return (outer, shape[axis], inner)
    }

    /// The shape with `axis` kept at size 1.
    static func keptShape(_ shape: [Int], axis: Int) -> [Int] {
        var s = shape
        s[axis] = 1
        return s
    }
}

// MARK: - Matrix products

/// The dense kernels of the matrix product and its two vector-Jacobian products, on raw row-major
/// buffers. Loops run over blocks of `block` rows of the right-hand factor, so the rows being reused stay
/// in cache while every row of the left factor passes over them; the innermost loops run over contiguous
/// rows (vectorised by the compiler). Large products split their output rows among the cores; each
/// output element is still summed by one thread in one fixed order, so results are the same bytes on
/// every machine and with any number of cores.
enum MatrixKernels {
    static let block = 64
    /// Below this many multiply-adds a product runs on one thread (the hand-off costs more).
    static let parallelWork = 1 << 20

    /// Runs `body` over `0..<rows` in contiguous chunks, on every core when `work` is large.
    static func rows(_ rows: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        let chunks = work >= parallelWork && cores > 1 ? Swift.min(Int(cores), rows) : 1
        if chunks <= 1 { body(0..<rows); return }
        // Each chunk writes its own output rows only: sharing the closure across threads is safe.
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let shared = body
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                shared((c * rows / chunks)..<((c + 1) * rows / chunks))
            }
        }
    }

    /// C[m×n] = A[m×k] · B[k×n].
    static func nn(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            let ap = a.baseAddress!, bp = b.baseAddress!, cp = c.baseAddress!
            rows(m, work: m * k * n) { range in
                for p0 in stride(from: 0, to: k, by: block) {
                    let p1 = Swift.min(k, p0 + block)
                    for i in range {
                        let crow = cp + i * n
                        for p in p0..<p1 {
                            let x = ap[i * k + p]
                            let brow = bp + p * n
                            for j in 0..<n { crow[j] += x * brow[j] }
                        }
                    }
                }
            }
        } } }
        return c
    }

    /// C[m×k] = G[m×n] · Bᵀ where B is k×n.
    static func nt(_ g: [Double], _ b: [Double], m: Int, n: Int, k: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * k)
        g.withUnsafeBufferPointer { g in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            let gp = g.baseAddress!, bp = b.baseAddress!, cp = c.baseAddress!
            rows(m, work: m * k * n) { range in
                for p0 in stride(from: 0, to: k, by: block) {
                    let p1 = Swift.min(k, p0 + block)
                    for i in range {
                        let grow = gp + i * n
                        for p in p0..<p1 {
                            let brow = bp + p * n
                            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
                            var j = 0
                            while j + 4 <= n {
                                s0 += grow[j] * brow[j]; s1 += grow[j + 1] * brow[j + 1]
                                s2 += grow[j + 2] * brow[j + 2]; s3 += grow[j + 3] * brow[j + 3]
                                j += 4
                            }
                            var s = (s0 + s1) + (s2 + s3)
                            while j < n { s += grow[j] * brow[j]; j += 1 }
                            cp[i * k + p] = s
                        }
                    }
                }
            }
        } } }
        return c
    }

    /// C[k×n] = Aᵀ · G where A is m×k and G is m×n.
    static func tn(_ a: [Double], _ g: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: k * n)
        a.withUnsafeBufferPointer { a in g.withUnsafeBufferPointer { g in c.withUnsafeMutableBufferPointer { c in
            let ap = a.baseAddress!, gp = g.baseAddress!, cp = c.baseAddress!
            // Each output row (one column of A) is finished while it sits in L1; G's rows are reused from L2.
            rows(k, work: m * k * n) { range in
                for p in range {
                    let crow = cp + p * n
                    for i in 0..<m {
                        let x = ap[i * k + p]
                        let grow = gp + i * n
                        for j in 0..<n { crow[j] += x * grow[j] }
                    }
                }
            }
        } } }
        return c
    }
}
