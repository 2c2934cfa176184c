import Foundation
@testable import GradTrace
import Testing

struct TensorTests {
    func program(_ s: String, at values: [String: Tensor] = [:], seed: UInt64 = 0) throws -> TensorProgram {
        let p = try Program.parse(bytes: Array(s.utf8), values: values, seed: seed)
        return try #require(p.tensor, "a tensor program")
    }

    func grads(_ p: TensorProgram) -> [String: Tensor] {
        let g = TensorTrace.gradients(graph: p.graph, output: p.output)
        var out: [String: Tensor] = [:]
        for id in p.graph.inputIDs { out[p.graph.name(of: id)!] = g[id] }
        return out
    }

    static func close(_ a: [Double], _ b: [Double], _ tol: Double = 1e-12) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tol * max(1, abs($0), abs($1)) }
    }

    // MARK: the scalar engine as a reference

    @Test func tensorMLPDemoHasTheScalarDemosGradients() throws {
        let tape = Tape()
        let mlp = MLP(inputs: 3, layers: [4, 4, 1], tape: tape, seed: 1337)
        let loss = mlp.squaredErrorLoss(xs: MLP.demoInputs, ys: MLP.demoTargets)
        loss.backward()
        let p = try program(mlp.tensorSource(xs: MLP.demoInputs, ys: MLP.demoTargets))
        let g = grads(p)
        #expect(p.graph.count <= 20)
        #expect(Self.close([p.graph[p.output].value.scalar], [loss.data]))
        for (l, layer) in mlp.layers.enumerated() {
            let w = try #require(g["W\(l + 1)"]), b = try #require(g["b\(l + 1)"])
            for (j, neuron) in layer.neurons.enumerated() {
                for (i, wi) in neuron.weights.enumerated() {
                    #expect(Self.close([w[i, j]], [wi.grad]), "W\(l + 1)[\(i), \(j)]")
                }
                #expect(Self.close([b[j]], [neuron.bias.grad]), "b\(l + 1)[\(j)]")
            }
        }
    }

    /// Every element-wise op on a [2, 3] tensor against the scalar engine on each element.
    @Test func elementwiseOpsMatchTheScalarEngineElementByElement() throws {
        let x: [Double] = [0.3, 1.7, 0.9, 2.2, 0.45, 1.1]
        for (name, _) in Op.namedFunctions {
            let p = try program("x = [[0.3, 1.7, 0.9], [2.2, 0.45, 1.1]]; L = sum(\(name)(x) * [1, 2, 3])")
            let g = try #require(grads(p)["x"])
            for (i, xi) in x.enumerated() {
                let s = try Program.parse("x = \(xi)\nL = \(name)(x) * \(Double(i % 3 + 1))")
                let sg = Trace.gradients(graph: s.graph, output: s.output)[s.graph.input(named: "x")!]
                #expect(Self.close([g.data[i]], [sg]), "\(name) element \(i)")
            }
        }
    }

    // MARK: finite differences over every op

    @Test(arguments: [
        "A = [[1, 2, 3], [4, 5, 6]]; b = [0.5, -1, 2]; L = sum((A + b) * (A - b))",          // broadcast a row
        "A = [[1, 2, 3], [4, 5, 6]]; c = [[0.5], [-2]]; L = sum(A / (c * c + 1))",            // broadcast a column
        "a = [1, -2, 3]; B = [[0.5], [1.5]]; L = sum(a * B ^ 2)",                                // both ways: [3] with [2, 1]
        "A = [[1, 2], [3, 4], [5, 6]]; B = [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]; L = sum(tanh(A @ B))",
        "A = [[1, 2], [3, 4]]; v = [0.5, -1]; L = sum(A @ v) + v @ A @ v + sum(v @ A)",
        "x = [[1, 2, 3], [4, 0.5, 6]]; L = sum(x - max(x, 1)) + sum(mean(x, 0) * [1, 2, 3]) + max(x)",
        "x = [[1, 2, 3], [4, 0.5, 6]]; L = sum(softmax(x, -1) * [[1, 2, 3], [3, 1, 2]]) + sum(log_softmax(x, 0) * x)",
        "x = [[1, 2, 3], [4, 0.5, 6]]; L = sum(logsumexp(x, 1) * [[2], [-1]]) + mean(x ^ 3)",
        "x = [[1, 2, 3], [4, 0.5, 6]]; L = sum(transpose(x) @ x) + sum(reshape(x, 3, 2) * [1, -1])",
        "x = [[1, 2, 3], [4, 0.5, 6]]; L = x[1, 2] * x[0, -1] + sum(x[-1] * x[0])",
        "x = [[1, 2, 3], [4, 0.5, 6], [0, 1, -1]]; y = [2, 0, 1]; L = sum(pick(log_softmax(x, 1), y) * [1, 2, 3])",
        "X = [[1, 2], [0.5, -1], [-1.5, 0.5]]; W = [[0.2, -0.3, 0.1], [0.4, 0.1, -0.2]]; y = [2, 0, 1]; L = cross_entropy(X @ W, y)",
        "x = [0.5, 1.5]; y = [2, 3]; L = sum(pow(x, y) + exp(-x) + sqrt(y) / x)",
        "x = [[1, 2], [3, 4]]; L = sum(sum(x, 0) * sum(x, 1))",  // [1, 2] * [2, 1] broadcasts to [2, 2]
    ])
    func gradientsAgreeWithCentralDifferences(_ source: String) throws {
        let p = try program(source)
        let check = TensorCheck(program: p)
        for r in check.rows where !r.isLabels {
            #expect(r.passed && r.maxError < 1e-6, "\(r.name): max error \(r.maxError) at \(r.worstIndex)")
        }
        #expect(check.rows.contains { !$0.isLabels })
    }

    // MARK: hand-derived values

    @Test func biasGradientIsTheUpstreamSummedOverRows() throws {
        let p = try program("X = [[1, 2], [3, -1]]; W = [[0.5, -1, 2], [1, 0.5, -0.5]]; b = [0.1, 0.2, 0.3]; Z = X @ W + b; L = sum(Z * Z) / 2")
        // Z = [[2.6, 0.2, 1.3], [0.6, -3.3, 6.8]]; ∂L/∂Z = Z; ∂L/∂b = column sums.
        let g = grads(p)
        #expect(Self.close(g["b"]!.data, [3.2, -3.1, 8.1]))
        // ∂L/∂W = Xᵀ Z: row 0 is 1·Z[0] + 3·Z[1], row 1 is 2·Z[0] − 1·Z[1].
        let expectedW: [Double] = [4.4, -9.7, 21.7, 4.6, 3.7, -4.2]
        #expect(Self.close(g["W"]!.data, expectedW, 1e-9))
        let t = TensorTrace(graph: p.graph, output: p.output)
        let words = TensorText(graph: p.graph)
        let bEdge = try #require(t.edges.first { $0.input == p.graph.input(named: "b") })
        #expect(bEdge.reduced == [0])
        #expect(words.reductionLine(bEdge) == "Σ over rows: [2, 3] → [3]")
        let wEdge = try #require(t.edges.first { $0.input == p.graph.input(named: "W") })
        #expect(words.formulaLine(wEdge, output: p.output, consumers: t.consumers) == "∂L/∂W = Xᵀ · ∂L/∂(X @ W)")
        #expect(words.shapeLine(wEdge) == "[2, 3] = [2, 2]ᵀ · [2, 3]")
    }

    @Test func crossEntropyGradientIsSoftmaxMinusOneHotOverN() throws {
        let p = try program("z = [[1, 2, 3], [1, 1, 1]]; y = [2, 0]; L = cross_entropy(z, y)")
        let e: [Double] = [exp(1.0), exp(2.0), exp(3.0)]
        let s: Double = e[0] + e[1] + e[2]
        let third: Double = 1.0 / 3
        let row0: [Double] = [e[0] / s, e[1] / s, e[2] / s - 1]
        let row1: [Double] = [third - 1, third, third]
        let expected: [Double] = (row0 + row1).map { $0 / 2 }
        #expect(Self.close(grads(p)["z"]!.data, expected))
        #expect(Self.close([p.graph[p.output].value.scalar], [(log(s) - 3 + log(3.0)) / 2]))
    }

    // MARK: shapes and errors

    @Test(arguments: [
        ("A = [[1, 2, 3], [4, 5, 6]]; b = [1, 2]; L = sum(A + b)", "1:51", "shapes [2, 3] and [2] do not broadcast"),
        ("A = [[1, 2, 3], [4, 5, 6]]; B = [[1, 2], [3, 4]]; L = sum(A @ B)", "1:61", "shapes [2, 3] and [2, 2] do not multiply"),
        ("A = [[1, 2], [3]]; L = sum(A)", "1:14", "ragged literal"),
        ("A = [[1, 2], [3, 4]]; L = sum(sum(A, 2))", "1:38", "axis 2 is out of range"),
        ("A = [[1, 2], [3, 4]]; y = [0, 5]; L = cross_entropy(A, y)", "1:39", "label 5"),
        ("A = [[1, 2], [3, 4]]; L = sum(reshape(A, 3, 2))", "1:31", "[2, 2] (4 elements)"),
        ("A = [[1, 2], [3, 4]]; L = A[2, 0]", "1:28", "index 2 is out of range"),
        ("A = [[1, 2], [3, 4]]; L = A * 2", "1:23", "has shape [2, 2]"),
    ])
    func shapeMistakesAreLocatedWithBothShapes(_ source: String, _ at: String, _ words: String) throws {
        do {
            _ = try Program.parse(source)
            Issue.record("no error for \(source)")
        } catch let d as Diagnostic {
            #expect("\(d.line):\(d.column)" == at, "\(d.description)")
            #expect(d.message.contains(words), "\(d.message)")
        }
    }

    @Test func atTakesTensorLiteralsOfTheInputsShape() throws {
        let p = try program("b = [0, 0]; L = sum(b * 3)", at: ["b": Tensor(shape: [2], data: [1, 2])])
        #expect(p.graph[p.output].value.scalar == 9)
        #expect(throws: Program.Problem.wrongShape(name: "b", given: "[3]", expected: "[2]")) {
            _ = try Program.parse(bytes: Array("b = [0, 0]; L = sum(b * 3)".utf8), values: ["b": Tensor(shape: [3], data: [1, 2, 3])])
        }
        #expect(try Tensor.literal("[[1, 2], [3, -4.5]]") == Tensor(shape: [2, 2], data: [1, 2, 3, -4.5]))
    }

    @Test func scalarProgramsStayScalar() throws {
        let p = try Program.parse("x = 2; w = 3; L = (w*x - 10)^2")
        #expect(p.tensor == nil)
        #expect(Trace.gradients(graph: p.graph, output: p.output)[p.graph.input(named: "w")!] == -16)
    }

    @Test func randnIsSeededByTheSeedAndTheName() throws {
        let a = try program("W = randn(3, 2); L = sum(W)", seed: 7)
        let b = try program("W = randn(3, 2); L = sum(W)", seed: 7)
        let c = try program("W = randn(3, 2); L = sum(W)", seed: 8)
        let d = try program("V = randn(3, 2); L = sum(V)", seed: 7)
        let w = { (p: TensorProgram) in p.graph[p.graph.inputIDs[0]].value }
        #expect(w(a) == w(b))
        #expect(w(a) != w(c) && w(a) != w(d))
        let mean = w(try program("W = randn(100, 100); L = sum(W)")).data.reduce(0, +) / 10_000
        #expect(abs(mean) < 0.05)
    }

    // MARK: the Swift API

    @Test func tensorValueRecordsTheSameGraphAsTheLanguage() throws {
        let src = "X = [[1, 2, 3], [0.5, -1, 2]]; W = [[0.1, -0.2], [0.4, 0.3], [-0.5, 0.2]]; b = [0.1, -0.1]; y = [1, 0]; L = cross_entropy(tanh(X @ W + b), y)"
        let p = try program(src)
        let tape = TensorTape()
        let X = tape.input("X", p.graph[p.graph.input(named: "X")!].value)
        let W = tape.input("W", p.graph[p.graph.input(named: "W")!].value)
        let b = tape.input("b", p.graph[p.graph.input(named: "b")!].value)
        let y = tape.input("y", p.graph[p.graph.input(named: "y")!].value)
        let loss = (X.matmul(W) + b).tanh().crossEntropy(labels: y).named("L")
        let trace = loss.backward()
        #expect(loss.data == p.graph[p.output].value)
        #expect(W.grad == grads(p)["W"]!)
        #expect(b.grad.shape == [2])
        #expect(trace.steps.count == 4)
        #expect(X.sum(axis: -1).shape == [2, 1])
        #expect(X[1].shape == [3])
    }
}
