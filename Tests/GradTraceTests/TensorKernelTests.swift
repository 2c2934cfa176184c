import Foundation
@testable import GradTrace
import Testing

private let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The matrix kernels' promise: every instruction-set path and every thread count gives the same bytes,
/// those of one chain of fused multiply-adds per output element; and the element-wise fast loops give
/// the bytes of the general index-map loops. Serialized: the tests change the process-wide settings.
@Suite(.serialized)
struct TensorKernelTests {
    /// Every kernel path this CPU runs, and the thread counts to try.
    static let paths = TensorKernels.Path.allCases.filter { $0.rawValue <= TensorKernels.best.rawValue }
    static let threadCounts = [1, 2, 4]

    /// Runs `body` under every path and thread count, restoring the automatic settings after.
    func everySetting<T>(_ body: (TensorKernels.Path, Int) throws -> T) rethrows -> [T] {
        defer { TensorKernels.force(nil); TensorKernels.setThreads(nil) }
        if Self.paths.count < TensorKernels.Path.allCases.count {
            // Not silent: say which paths this machine cannot run.
            print("note: this CPU runs only the \(Self.paths.map(\.description).joined(separator: ", ")) kernel paths; the others are not tested here")
        }
        var out: [T] = []
        for path in Self.paths {
            for t in Self.threadCounts {
                #expect(TensorKernels.force(path) == path)
                #expect(TensorKernels.setThreads(t) == t)
                out.append(try body(path, t))
            }
        }
        return out
    }

    static func bits(_ x: [Double]) -> [UInt64] { x.map(\.bitPattern) }

    /// The reference: one fused multiply-add chain per element, p ascending, from +0.
    static func fusedProduct(_ a: [Double], _ b: [Double], m: Int, k: Int, n: Int) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s = s.addingProduct(a[i * k + p], b[p * n + j]) }
            c[i * n + j] = s
        } }
        return c
    }

    static func transpose(_ x: [Double], rows: Int, columns: Int) -> [Double] {
        var t = [Double](repeating: 0, count: x.count)
        for r in 0..<rows { for c in 0..<columns { t[c * rows + r] = x[r * columns + c] } }
        return t
    }

    @Test(arguments: [(1, 1, 1), (3, 5, 2), (7, 9, 17), (13, 1, 33), (1, 40, 1), (70, 150, 110), (64, 784, 30), (9, 0, 4)])
    func everyPathAndThreadCountGivesTheFusedLoopsBytes(_ size: (Int, Int, Int)) {
        let (m, k, n) = size
        var rng = SeededGenerator(seed: UInt64(m * 10_000 + k * 100 + n))
        let a = (0..<(m * k)).map { _ in rng.uniform() * 2 - 1 }, b = (0..<(k * n)).map { _ in rng.uniform() * 2 - 1 }
        let g = (0..<(m * n)).map { _ in rng.uniform() * 2 - 1 }
        let nn = Self.fusedProduct(a, b, m: m, k: k, n: n)
        // Gᵀ-products as plain products of explicit transposes.
        let nt = Self.fusedProduct(g, Self.transpose(b, rows: k, columns: n), m: m, k: n, n: k)
        let tn = Self.fusedProduct(Self.transpose(a, rows: m, columns: k), g, m: k, k: m, n: n)
        _ = everySetting { path, threads in
            #expect(Self.bits(MatrixKernels.nn(a, b, m: m, k: k, n: n)) == Self.bits(nn), "nn \(path) \(threads) threads")
            #expect(Self.bits(MatrixKernels.nt(g, b, m: m, n: n, k: k)) == Self.bits(nt), "nt \(path) \(threads) threads")
            #expect(Self.bits(MatrixKernels.tn(a, g, m: m, k: k, n: n)) == Self.bits(tn), "tn \(path) \(threads) threads")
        }
        // Against the former unfused loops (one rounding per product and per sum): within 1e-12 of the scale.
        var old = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for p in 0..<k { for j in 0..<n { old[i * n + j] += a[i * k + p] * b[p * n + j] } } }
        let scale = max(1, old.map(abs).max() ?? 0)
        #expect(zip(old, nn).allSatisfy { abs($0 - $1) <= 1e-12 * scale })
    }

    /// Special values go through every path alike (an infinity times zero is NaN everywhere).
    @Test func specialValuesGiveTheSameBytesOnEveryPath() {
        let a: [Double] = [.infinity, 0, -0.0, 1e308, .nan, 2, -.infinity, 1e-320, 3]
        let b: [Double] = [0, 1, -1, 1e308, 1, -0.0, 1e-320, 5, .greatestFiniteMagnitude]
        let ref = Self.fusedProduct(a, b, m: 3, k: 3, n: 3)
        _ = everySetting { path, t in #expect(Self.bits(MatrixKernels.nn(a, b, m: 3, k: 3, n: 3)) == Self.bits(ref), "\(path) \(t)") }
    }

    /// Programs exercising every op, broadcast and product shape.
    static let programs = [
        "X = randn(5, 7); W = randn(7, 3); b = randn(3); L = sum(tanh(X @ W + b) * 2 - 1 / ((X @ W) * (X @ W) + 1))",
        "x = randn(6); A = randn(4, 6); L = sum(exp(A @ x / 3))",
        "x = randn(6); B = randn(6, 9); L = sum(sigmoid(x @ B))",
        "x = randn(33); y = randn(33); L = x @ y",
        "X = randn(17, 33); W = randn(33, 19); y = [1, 0, 2, 3, 1, 0, 2, 2, 1, 0, 3, 3, 1, 0, 2, 1, 0]; L = cross_entropy(X @ W, y)",
        "X = randn(8, 5); c = randn(8, 1); r = randn(1, 5); s = randn(1); L = sum((X - c) * r / (s * s + 1) + log(X * X + 1))",
        "X = randn(4, 6); L = sum(softmax(X, 1) * log_softmax(X, 0)) + sum(logsumexp(X, 1)) + sum(max(X, 0))",
        "A = randn(2, 3, 4); b = randn(3, 1); L = sum(relu(A * b) + abs(A) - sqrt(A * A + 1))",
        "A = randn(2, 3, 4); b = randn(2, 1, 4); L = mean(A / (b * b + 1)) + sum(transpose(reshape(A, 6, 4)) @ randn(6, 2))",
    ]

    static func programSources() throws -> [(String, String)] {
        var list = programs.enumerated().map { ("program \($0.offset)", $0.element) }
        let files = ["samples/tensors/broadcast-bias.grad", "samples/tensors/mlp-demo.grad",
                     "samples/tensors/softmax-classifier.grad", "Benchmarks/tensor/mlp784.grad"]
        let dir = root.appendingPathComponent("samples/tensors")
        let more = (try? FileManager.default.contentsOfDirectory(atPath: dir.path))?.sorted().map { "samples/tensors/" + $0 } ?? []
        for f in (files + more.filter { !files.contains($0) }) where f.hasSuffix(".grad") {
            list.append((f, try String(contentsOf: root.appendingPathComponent(f), encoding: .utf8)))
        }
        return list
    }

    /// Values and gradients of every sample and test program: the same bytes under every setting.
    @Test func everySampleGivesTheSameBytesUnderEverySetting() throws {
        for (name, source) in try Self.programSources() {
            guard let p = try Program.parse(source).tensor else { continue }
            let results = try everySetting { _, _ -> [UInt64] in
                let q = try #require(try Program.parse(source).tensor)
                let values = q.graph.evaluated().flatMap(\.data)
                let grads = TensorTrace.gradients(graph: q.graph, output: q.output).flatMap(\.data)
                return Self.bits(values + grads)
            }
            #expect(Set(results).count == 1, "\(name): results differ between kernel settings")
            #expect(!results[0].isEmpty && p.graph.count > 0)
        }
    }

    /// The element-wise fast loops give the general index-map loops' bytes (forward and VJP, every broadcast kind).
    @Test(arguments: [([4, 5], [4, 5]), ([4, 5], [5]), ([4, 5], [1, 5]), ([4, 5], [4, 1]), ([4, 5], []), ([], [4, 5]),
                      ([5], [4, 5]), ([4, 1], [4, 5]), ([2, 3, 4], [3, 1]), ([2, 3, 4], [2, 1, 4]), ([2, 1, 4], [1, 3, 1])])
    func elementwiseFastLoopsEqualTheIndexMapLoops(_ shapes: ([Int], [Int])) {
        var rng = SeededGenerator(seed: 11)
        func t(_ s: [Int]) -> Tensor { Tensor(shape: s, data: (0..<s.reduce(1, *)).map { _ in rng.uniform() * 4 - 2 }) }
        let a = t(shapes.0), b = t(shapes.1)
        let shape = Tensor.broadcastShape(a.shape, b.shape)!
        let ma = Tensor.broadcastMap(from: a.shape, to: shape), mb = Tensor.broadcastMap(from: b.shape, to: shape)
        let g = t(shape)
        for op in [Op.add, .sub, .mul, .div, .pow] {
            let z = TensorOp.elementwise(op).forward([a, b])
            #expect(Self.bits(z.data) == Self.bits(ma.indices.map { op.apply(a.data[ma[$0]], b.data[mb[$0]]) }), "\(op.name) \(shapes)")
            for k in 0...1 {
                let (c, reduced) = TensorOp.elementwise(op).vjp(operand: k, [a, b], output: z, upstream: g)
                let target = k == 0 ? a.shape : b.shape
                var full = g.data
                for i in full.indices {
                    let (la, lb) = op.localGradients(a.data[ma[i]], b.data[mb[i]], output: z.data[i])
                    full[i] *= k == 0 ? la : lb
                }
                let map = Tensor.broadcastMap(from: target, to: shape)
                var want = [Double](repeating: 0, count: target.reduce(1, *))
                for i in full.indices { want[map[i]] += full[i] }
                if target == shape { want = full }
                #expect(Self.bits(c.data) == Self.bits(want), "\(op.name) operand \(k) \(shapes)")
                #expect(reduced == Tensor.reducedAxes(shape, to: target))
            }
        }
    }
}
