import Foundation
import GradTrace
import GradTraceRender

/// The tensor benchmark in process: a tensor program (default Benchmarks/tensor/mlp784.grad, the 2-layer
/// MLP with batch 64, 784 → 128 → 10, cross-entropy), parse + forward (randn included), then forward alone
/// and backward alone, best of 5 each. `tensor_forward_plus_backward` is the figure to compare with
/// Benchmarks/tensor/bench_autograd.py's `autograd_per_iteration` (forward + backward).
func benchTensor(file: String?) throws {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    let url = file.map { URL(fileURLWithPath: $0) } ?? here.appendingPathComponent("tensor/mlp784.grad")
    let source = try String(contentsOf: url, encoding: .utf8)
    var program: TensorProgram?
    let parse = try best(5) { program = try Program.parse(source).tensor }
    guard let p = program else {
        FileHandle.standardError.write(Data("gradtrace-bench: \(url.path) is not a tensor program\n".utf8))
        exit(2)
    }
    let forward = try best(5) { _ = p.graph.evaluated() }
    let backward = try best(5) { _ = TensorTrace.gradients(graph: p.graph, output: p.output) }
    let both = try best(5) {
        _ = p.graph.evaluated()
        _ = TensorTrace.gradients(graph: p.graph, output: p.output)
    }
    let recorded = try best(5) { _ = TensorTrace(graph: p.graph, output: p.output) }
    print("tensor_kernel_path \(TensorKernels.path) threads \(TensorKernels.threads)")
    print("tensor_parse_forward_randn \(parse)")
    print("tensor_forward \(forward)")
    print("tensor_backward_gradients \(backward)")
    print("tensor_backward_recorded \(recorded)")
    print("tensor_forward_plus_backward \(both)")
}

/// The tensor part of CI's smoke run: the benchmark program once, and a tensor picture's frames
/// painted incrementally against full paints (fails when one differs).
func smokeTensor() throws {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    let source = try String(contentsOf: here.appendingPathComponent("tensor/mlp784.grad"), encoding: .utf8)
    var program: TensorProgram?
    let parse = try seconds { program = try Program.parse(source).tensor }
    guard let p = program else { fatalError("not a tensor program") }
    let backward = try seconds { _ = TensorTrace.gradients(graph: p.graph, output: p.output) }
    print("tensor MLP 784-128-10, batch 64: parse + forward \(fmt(parse * 1000)) ms, backward \(fmt(backward * 1000)) ms")
    let small = try Program.parse("X = [[1, 2], [3, -1]]; W = [[0.5, -1, 2], [1, 0.5, -0.5]]; b = [0.1, 0.2, 0.3]; Z = X @ W + b; L = sum(Z * Z) / 2").tensor!
    let diagram = try Diagram(tensor: TensorTrace(graph: small.graph, output: small.output), style: RenderStyle())
    let frames = FrameSet(diagram: diagram, format: .png, scale: 0.5)
    let check = try frames.repaintCheck(order: Array(0...diagram.stepCount) + [2, 1])
    print("tensor frames: \(check.partial) painted incrementally, \(check.mismatched.count) differ from a full paint")
    if !check.mismatched.isEmpty { print("error: tensor frames \(check.mismatched) differ from their full paint"); exit(1) }
}
