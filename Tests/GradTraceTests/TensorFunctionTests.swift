import Foundation
@testable import GradTrace
import Testing

/// The registry of layer functions: every function has a finite-difference case, hand-derived values
/// for the cases differences cannot judge (ties, masks, repeated ids), and located errors for bad calls.
struct TensorFunctionTests {
    func program(_ s: String) throws -> TensorProgram {
        try #require(try Program.parse(bytes: Array(s.utf8), values: [:]).tensor, "a tensor program")
    }

    func grads(_ p: TensorProgram) -> [String: Tensor] {
        let g = TensorTrace.gradients(graph: p.graph, output: p.output)
        var out: [String: Tensor] = [:]
        for id in p.graph.inputIDs { out[p.graph.name(of: id)!] = g[id] }
        return out
    }

    /// One finite-difference program per registry function (options and edge cases included). A function
    /// added to ``TensorFunctions/table`` without an entry here fails ``everyFunctionHasACase``.
    static let cases: [String: [String]] = [
        "gelu": ["x = [[-2, -0.5, 0.1], [0.7, 1.5, 3]]; L = sum(gelu(x) * [1, -2, 3])"],
        "erf": ["x = [[-2, -0.5, 0.1], [0.7, 1.5, 3]]; L = sum(erf(x) * [1, -2, 3]) + sum(erf(x * 0.5) ^ 2)"],
        "silu": ["x = [[-2, -0.5, 0.1], [0.7, 1.5, 3]]; L = sum(silu(x) ^ 2)"],
        "softplus": ["x = [[-30, -0.5, 0.1], [0.7, 1.5, 40]]; L = sum(softplus(x) * x)"],
        "leaky_relu": ["x = [[-2, -0.5, 0.1], [0.7, 1.5, 3]]; L = sum(leaky_relu(x) ^ 2 + leaky_relu(x, negative_slope=0.3) * x)"],
        "lt": ["x = [0.5, -1, 2]; L = sum((x < 1) * x ^ 2)"],
        "le": ["x = [0.5, -1, 2]; L = sum((x <= 0.75) * x ^ 2 + ([1, 2, 3] <= 2) * x)"],
        "gt": ["x = [0.5, -1, 2]; r = [[0], [1]]; L = sum((x > r) * x * r)"],
        "ge": ["x = [0.5, -1, 2]; L = sum((x >= 0.75) * x ^ 2 + ([1, 2, 3] >= 2) * x)"],
        "eq": ["x = [0.5, -1, 2]; L = sum(([1, 2, 3] == 2) * x ^ 2)"],
        "ne": ["x = [0.5, -1, 2]; L = sum(([1, 2, 3] != 2) * x ^ 2)"],
        "where": ["x = [[1, -2, 3], [-0.5, 2, -1]]; r = [0.5, 1, -3]; L = sum(where(x > 0, x * r, r ^ 2) * [[1], [2]])"],
        "maximum": ["a = [[1, -2, 3], [-0.5, 2, -1]]; b = [0.5, 1, -3]; L = sum(maximum(a, b) ^ 2)"],
        "minimum": ["a = [[1, -2, 3], [-0.5, 2, -1]]; b = [[0.5], [1]]; L = sum(minimum(a, b) * a)"],
        "clamp": ["x = [[1, -2, 3], [-0.5, 2, -1.25]]; L = sum(clamp(x, -1, 2.5) ^ 2 + clamp(x, min=0) * x + clamp(x, max=0.5))"],
        "linear": [
            "x = [[1, -2, 3], [0.5, 1, -1]]; W = [[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]]; b = [0.1, -0.2]; L = sum(tanh(linear(x, W, b)))",
            "v = [1, -2, 3]; W = [[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]]; L = sum(linear(v, W) ^ 2)",
            "t = randn(2, 2, 3); W = randn(4, 3); b = randn(4); L = sum(linear(t, W, bias=b) ^ 2)",
        ],
        "transpose": ["x = randn(2, 3, 4); c = randn(4, 3, 2); L = sum(transpose(x, 0, -1) * c) + sum(transpose(x) ^ 2 * arange(3))"],
        "permute": ["x = randn(2, 3, 4); c = randn(4, 2, 3); L = sum(permute(x, 2, 0, 1) * c)"],
        "flatten": ["x = randn(2, 2, 3); L = sum(flatten(x) * arange(6))"],
        "concat": ["a = randn(2, 3); b = randn(2, 1); c = randn(1, 3); L = sum(concat(a, b, axis=-1) ^ 2 * arange(4)) + sum(concat(a, c, a) * 2)"],
        "stack": ["a = randn(2, 3); b = randn(2, 3); L = sum(stack(a, b) ^ 2 * [[[1]], [[2]]]) + sum(stack(a, b, axis=-1) * [1, -1])"],
        "embedding": ["T = randn(4, 3); ids = [[1, 3, 1], [0, 1, 2]]; w = [1, -2, 0.5]; L = sum(tanh(embedding(T, ids)) * w)"],
        "layer_norm": ["x = randn(2, 3, 4); g = randn(4); b = randn(4); c = randn(2, 3, 4); L = sum(layer_norm(x, g, b) * c) + sum(layer_norm(x, eps=0.5) ^ 3)"],
        "batch_norm": ["x = randn(4, 3); z = randn(2, 3, 2, 2); g = randn(3); b = randn(3); L = sum(batch_norm(x, g, b) * arange(3)) + sum(batch_norm(z, g, b) ^ 3)"],
        "conv2d": [
            "x = randn(2, 2, 5, 4); W = randn(3, 2, 3, 2); b = randn(3); L = sum(tanh(conv2d(x, W, b, stride=2, padding=1)))",
            "x = randn(1, 1, 3, 3); W = randn(2, 1, 2, 2); L = sum(conv2d(x, W, padding=2, stride=3) ^ 2)",
        ],
        "max_pool2d": ["x = randn(2, 2, 5, 5); L = sum(max_pool2d(x, 2) ^ 2) + sum(max_pool2d(x, 3, stride=1) * 0.5)"],
        "avg_pool2d": ["x = randn(2, 5, 5); L = sum(avg_pool2d(x, 2) ^ 2) + sum(avg_pool2d(x, 3, stride=2) * 0.5)"],
        "dropout": ["x = randn(4, 5); L = sum(dropout(x, 0.4) ^ 2)"],
        "mse_loss": ["a = randn(2, 3); t = randn(2, 3); L = mse_loss(a, t)"],
        "nll_loss": ["z = randn(3, 4); y = [3, 0, 3]; L = nll_loss(log_softmax(z), y)"],
        "binary_cross_entropy": ["p = [0.2, 0.7, 0.45]; q = [0, 1, 0.3]; L = binary_cross_entropy(p, q)"],
    ]

    @Test func everyFunctionHasACase() {
        for f in TensorFunctions.table {
            #expect(Self.cases[f.name] != nil, "registry function \(f.name) has no finite-difference case in TensorFunctionTests.cases")
        }
        for name in Self.cases.keys { #expect(TensorFunctions.named(name) != nil, "case for \(name), which the registry lacks") }
    }

    @Test(arguments: cases.sorted { $0.key < $1.key }.flatMap { c in c.value.map { (c.key, $0) } })
    func gradientsAgreeWithCentralDifferences(_ name: String, _ source: String) throws {
        let p = try program(source)
        #expect(p.graph.nodes.contains { if case .call(let c) = $0.op { return c.function.name == name } else { return false } },
                "\(name): the case does not call it")
        let check = TensorCheck(program: p)
        for r in check.rows where !r.isLabels {
            #expect(r.passed && r.maxError < 1e-6 && r.nearKink == 0, "\(name) \(r.name): max error \(r.maxError) at \(r.worstIndex)")
        }
    }

    // MARK: hand-derived values where differences cannot judge

    @Test func maxPoolSendsTheGradientToTheFirstMaximumAtTies() throws {
        let p = try program("x = [[[[1, 3], [3, 2]]]]; L = sum(max_pool2d(x, 2)) * 5")
        #expect(grads(p)["x"]!.data == [0, 5, 0, 0])
    }

    @Test func maximumSplitsTiesInHalf() throws {
        let p = try program("a = [1, 2, 3]; b = [1, 5, 0]; L = sum(maximum(a, b) * [2, 2, 2])")
        #expect(grads(p)["a"]!.data == [1, 0, 2])
        #expect(grads(p)["b"]!.data == [1, 2, 0])
    }

    @Test func repeatedIdsAddUpInTheEmbeddingGradient() throws {
        let p = try program("T = [[1, 2], [3, 4], [5, 6]]; ids = [2, 0, 2, 2]; L = sum(embedding(T, ids) * [[1, 10], [100, 1000], [1, 10], [1, 10]])")
        #expect(grads(p)["T"]!.data == [100, 1000, 0, 0, 3, 30])
        #expect(p.graph[p.output].value.scalar == 5 + 60 + 100 + 2000 + 5 + 60 + 5 + 60)
    }

    @Test func clampPassesTheGradientInsideAndOnItsBounds() throws {
        let p = try program("x = [-2, -1, 0, 1, 2]; L = sum(clamp(x, -1, 1) * [1, 2, 3, 4, 5])")
        #expect(grads(p)["x"]!.data == [0, 2, 3, 4, 0])
    }

    @Test func comparisonsGiveMasksWithoutGradient() throws {
        let p = try program("x = [0.5, -1, 2]; L = sum((x > 0) + (x == 2) * 3)")
        #expect(p.graph[p.output].value.scalar == 5)
        #expect(grads(p)["x"]!.data == [0, 0, 0])
    }

    @Test func convolutionOfAKnownImage() throws {
        // A 3×3 image of 1…9 and a 2×2 kernel [[1, 0], [0, -1]]: each output is x[i][j] − x[i+1][j+1] = −4.
        let p = try program("x = [[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]; W = [[[[1, 0], [0, -1]]]]; y = conv2d(x, W); L = sum(y)")
        #expect(p.graph[p.output].value.scalar == -16)
        // ∂L/∂W[a, b] = Σ over the 2×2 outputs of x[i + a][j + b]: the correlation of x with a gradient of ones.
        #expect(grads(p)["W"]!.data == [12, 16, 24, 28])
    }

    @Test func slicesTakeStepsAndNegativeBounds() throws {
        let p = try program("x = [[1, 2, 3, 4], [5, 6, 7, 8]]; y = x[-1:, ::2]; L = sum(y * [10, 100])")
        #expect(p.graph[p.output].value.scalar == 50 + 700)
        #expect(grads(p)["x"]!.data == [0, 0, 0, 0, 10, 0, 100, 0])
    }

    @Test func batchedProductBroadcastsTheBatchBothWays() throws {
        // [2, 1, 2] @ [2, 1]: the matrix is shared by both batches, so its gradient sums over them.
        let p = try program("A = [[[1, 2]], [[3, 4]]]; B = [[1], [-1]]; L = sum(A @ B)")
        #expect(p.graph[p.output].value.scalar == -2)
        #expect(grads(p)["B"]!.data == [4, 6])
        #expect(grads(p)["A"]!.data == [1, -1, 1, -1])
    }

    @Test func linearFormulaReadsWithoutADoubleTranspose() throws {
        let p = try program("X = [[1, 0], [0, 1]]; K = [[1, 2], [3, 4]]; Q = X @ K; S = Q @ transpose(K); L = sum(S)")
        let t = TensorTrace(graph: p.graph, output: p.output)
        let words = TensorText(graph: p.graph)
        let lines = t.edges.map { words.formulaLine($0, output: p.output, consumers: t.consumers) }
        #expect(lines.contains("∂L/∂Q = ∂L/∂S · K"), "\(lines)")
        #expect(!lines.contains { $0.contains("ᵀᵀ") })
    }

    @Test func scalarProgramsStayOnTheScalarEngine() throws {
        #expect(try Program.parse("x = 2\ny = x * 3 + sin(x)\n").tensor == nil)
        #expect(try Program.parse("x = 2\ny = gelu(x)\n").tensor != nil)
        #expect(try Program.parse("x = 2\ny = (x > 1) * x\n").tensor != nil)
    }

    // MARK: bad calls are located and name the shapes

    @Test(arguments: [
        ("x = randn(1, 1, 4, 4); W = randn(2, 1, 3, 3); L = sum(conv2d(x, W, stride=0))", "1:55", "stride=0"),
        ("x = randn(1, 1, 2, 2); W = randn(2, 1, 5, 5); L = sum(conv2d(x, W, padding=1))", "1:55", "larger than the padded input [4, 4]"),
        ("x = randn(1, 3, 4, 4); W = randn(2, 1, 3, 3); L = sum(conv2d(x, W))", "1:55", "[1, 3, 4, 4] has 3 channels"),
        ("x = randn(1, 1, 4, 4); W = randn(2, 1, 3, 3); L = sum(conv2d(x, W, strid=2))", "1:68", "unknown keyword 'strid'"),
        ("a = randn(2, 3); b = randn(3, 3); L = sum(concat(a, b, axis=1))", "1:43", "[2, 3], [3, 3]"),
        ("T = randn(4, 2); L = sum(embedding(T, [1, 4]))", "1:26", "id 4"),
        ("x = [1, 2, 3]; L = sum(x[1:5])", "1:26", "slice 1:5 is out of range"),
        ("x = [1, 2, 3]; L = sum(x[::0])", "1:26", "step is 1 or more"),
        ("x = [1, 2, 3]; L = sum(x[2:1])", "1:26", "is empty"),
        ("x = randn(2, 3); W = randn(4, 2); L = sum(linear(x, W))", "1:43", "[2, 3] has 3 features"),
        ("x = randn(1, 1, 3, 3); L = sum(max_pool2d(x, 4))", "1:32", "larger than the input"),
        ("x = randn(2, 3); L = sum(permute(x, 0, 0))", "1:26", "not an order"),
        ("x = randn(2, 3); L = sum(sum(x, axis=2))", "1:33", "axis 2 is out of range"),
        ("A = randn(2, 3, 4); B = randn(3, 4, 2); L = sum(A @ B)", "1:51", "batch axes [2] and [3]"),
        ("x = randn(2, 3); L = sum(dropout(x, p=1))", "1:26", "p is a probability"),
        ("x = randn(2, 3); L = sum(layer_norm(x, [1, 2]))", "1:26", "must be [3]"),
    ])
    func badCallsAreLocated(_ source: String, _ at: String, _ words: String) throws {
        do {
            _ = try Program.parse(source)
            Issue.record("no error for \(source)")
        } catch let d as Diagnostic {
            #expect("\(d.line):\(d.column)" == at, "\(d.description)")
            #expect(d.message.contains(words), "\(d.message)")
        }
    }

    @Test func hugeConvolutionsAreRefusedBeforeTheyRun() throws {
        do {
            _ = try Program.parse("x = zeros(16, 64, 64, 64); W = zeros(64, 64, 9, 9); L = sum(conv2d(x, W, padding=4))")
            Issue.record("no error")
        } catch let d as Diagnostic {
            #expect(d.message.contains("multiply-adds"), "\(d.message)")
        }
    }
}

extension TensorFunctionTests {
    /// The fuzzer's dictionary knows every registry function and every option key.
    @Test func fuzzDictionaryHoldsEveryFunctionAndKey() throws {
        let dict = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/grad.dict")
        let text = try String(contentsOf: dict, encoding: .utf8)
        for f in TensorFunctions.table {
            #expect(text.contains("\"\(f.name)(\""), "Fuzz/grad.dict lacks \(f.name)(")
            for p in f.parameters where !p.isTensor && p.name != "stream" {
                if case .integers = p { continue }
                #expect(text.contains("\"\(p.name)=\""), "Fuzz/grad.dict lacks \(p.name)=")
            }
        }
    }
}

extension TensorFunctionTests {
    /// A graph reader builds the same node from the op name and option keys as the parser from the call.
    @Test func readersBuildOpsByNameAndOptionKeys() throws {
        let p = try program("x = randn(1, 2, 5, 5); W = randn(3, 2, 3, 3); b = randn(3); L = sum(conv2d(x, W, b, padding=1, stride=2))")
        var g = TensorGraph()
        let ids = ["x", "W", "b"].map { n in g.addInput(n, p.graph[p.graph.input(named: n)!].value) }
        let op = try TensorFunctions.op(named: "conv2d", operandShapes: ids.map { g[$0].value.shape }, options: ["padding": [1], "stride": [2]])
        let y = try g.add(op, inputs: ids)
        let parsed = try #require(p.graph.nodes.first { if case .call = $0.op { return true } else { return false } })
        #expect(op == parsed.op)
        #expect(g[y].value == parsed.value)
        if case .call(let c) = op { #expect(c.namedOptions.map(\.key) == ["stride", "padding"]) }
        #expect(throws: TensorShapeError.self) { try TensorFunctions.op(named: "conv2d", operandShapes: [[1, 2, 5, 5], [3, 2, 3, 3]], options: ["strides": [2]]) }
        #expect(throws: TensorShapeError.self) { try TensorFunctions.op(named: "sum_all", operandShapes: [[2]], options: [:]) }
    }
}

extension TensorFunctionTests {
    /// The work of a product counts its output's elements (not the graph's nodes).
    @Test func hugeProductsAreRefusedBeforeTheyRun() throws {
        do {
            _ = try Program.parse("A = zeros(2048, 2048); B = zeros(2048, 2048); L = sum(A @ B)")
            Issue.record("no error")
        } catch let d as Diagnostic {
            #expect(d.message.contains("multiply-adds"), "\(d.message)")
        }
    }
}
