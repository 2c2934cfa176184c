#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import CKernels

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

    /// The axes of `outShape` that a tensor of `shape` was broadcast along (stretched from 1, or missing).
    static func reducedAxes(_ outShape: [Int], to shape: [Int]) -> [Int] {
        let n = outShape.count
        var reduced: [Int] = []
        for k in 0..<n {
            let j = k - (n - shape.count)
            if j < 0 || (shape[j] == 1 && outShape[k] != 1) { reduced.append(k) }
        }
        return reduced
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
        let reduced = reducedAxes(g.shape, to: shape)
        if let fast = ElementwiseKernels.unbroadcast(g.data, from: g.shape, to: shape) {
            return (Tensor(shape: shape, data: fast), reduced)
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

/// The matrix-product kernels' settings: which instruction set runs them and on how many threads.
///
/// Every path computes each output element as one chain of fused multiply-adds over the inner index in
/// ascending order, starting from +0, so the path and the thread count never change a result's bytes;
/// they are settings for speed and for tests that pin that promise. The defaults: the best path the CPU
/// runs (CPUID), on every online core; the environment variables `GRADTRACE_KERNEL` (`portable`,
/// `avx2`, `avx512`) and `GRADTRACE_THREADS` override them.
public enum TensorKernels {
    /// An instruction-set path of the matrix kernels.
    public enum Path: Int32, Sendable, CaseIterable, CustomStringConvertible {
        /// C with `fma()`: any CPU.
        case portable = 0
        /// AVX2 with FMA: 6 × 8 register tiles.
        case avx2 = 1
        /// AVX-512: 8 × 16 register tiles.
        case avx512 = 2

        public var description: String {
            switch self {
            case .portable: return "portable"
            case .avx2: return "avx2"
            case .avx512: return "avx512"
            }
        }
    }

    /// The best path this CPU runs.
    public static var best: Path { Path(rawValue: gt_kernel_best_path()) ?? .portable }

    /// The path products use now.
    public static var path: Path { Path(rawValue: gt_kernel_path()) ?? .portable }

    /// Forces a path (nil: automatic); a path the CPU cannot run is lowered to the best it can. Returns the path in use.
    @discardableResult
    public static func force(_ path: Path?) -> Path {
        Path(rawValue: gt_kernel_set_path(path.map { Int32($0.rawValue) } ?? -1)) ?? .portable
    }

    /// The threads a product may use.
    public static var threads: Int { gt_kernel_threads() }

    /// Sets the threads a product may use (nil: every online core). Returns the count in use.
    @discardableResult
    public static func setThreads(_ count: Int?) -> Int { gt_kernel_set_threads(count ?? 0) }
}

/// The dense kernels of the matrix product and its two vector-Jacobian products, on raw row-major
/// buffers: packed panels and a register-blocked micro-kernel in C (`CKernels`), per instruction set.
/// Large products split their output blocks among threads; each output element is still summed by
/// one micro-kernel in one fixed order (see ``TensorKernels``), so results are the same bytes on every
/// machine, kernel path and thread count.
enum MatrixKernels {
    /// C[m×n] = Σ_p A(i,p)·B(p,j), with A(i,p) = a[i·ars + p·acs] and B(p,j) = b[p·brs + j·bcs].
    static func product(_ a: [Double], ars: Int, acs: Int, _ b: [Double], brs: Int, bcs: Int, m: Int, k: Int, n: Int) -> [Double] {
        guard m > 0, n > 0 else { return [] }
        let path = gt_kernel_path()
        let parts = gt_gemm_parts(m, n, k, gt_kernel_threads())
        return [Double](unsafeUninitializedCapacity: m * n) { c, initialized in
            a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in
                let ap = a.baseAddress, bp = b.baseAddress
                nonisolated(unsafe) let cp = c.baseAddress!
                if parts <= 1 {
                    gt_gemm_part(path, m, n, k, ap, ars, acs, bp, brs, bcs, cp, n, 0, 1)
                } else {
                    nonisolated(unsafe) let (sa, sb) = (ap, bp)
                    // Each part writes its own blocks of C only.
                    DispatchQueue.concurrentPerform(iterations: parts) { part in
                        gt_gemm_part(path, m, n, k, sa, ars, acs, sb, brs, bcs, cp, n, part, parts)
                    }
                }
            } }
            initialized = m * n
        }
    }

    /// C[m×n] = A[m×k] · B[k×n].
    static func nn(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        product(a, ars: k, acs: 1, b, brs: n, bcs: 1, m: m, k: k, n: n)
    }

    /// C[m×k] = G[m×n] · Bᵀ where B is k×n.
    static func nt(_ g: [Double], _ b: [Double], m: Int, n: Int, k: Int) -> [Double] {
        product(g, ars: n, acs: 1, b, brs: 1, bcs: n, m: m, k: n, n: k)
    }

    /// C[k×n] = Aᵀ · G where A is m×k and G is m×n.
    static func tn(_ a: [Double], _ g: [Double], m: Int, k: Int, n: Int) -> [Double] {
        product(a, ars: 1, acs: k, g, brs: n, bcs: 1, m: k, k: m, n: n)
    }

    /// Σ a[i]·b[i] in the kernels' order (one fused multiply-add per element, ascending).
    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for i in a.indices { s = s.addingProduct(a[i], b[i]) }
        return s
    }
}
