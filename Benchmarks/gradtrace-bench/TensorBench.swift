import Foundation
import GradTrace

/// The tensor benchmark in process: the 2-layer MLP of Benchmarks/tensor/mlp784.grad (batch 64,
/// 784 → 128 → 10, cross-entropy), parse + forward (randn included), then backward alone, best of runs.
/// Compare with Benchmarks/tensor/bench_autograd.py's `autograd_per_iteration` (forward + backward).
func benchTensor() throws {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    let source = try String(contentsOf: here.appendingPathComponent("tensor/mlp784.grad"), encoding: .utf8)
    var program: TensorProgram?
    let parse = try best(5) { program = try Program.parse(source).tensor }
    guard let p = program else { fatalError("not a tensor program") }
    let forward = try best(5) { _ = p.graph.evaluated() }
    let backward = try best(5) { _ = TensorTrace.gradients(graph: p.graph, output: p.output) }
    let recorded = try best(5) { _ = TensorTrace(graph: p.graph, output: p.output) }
    print("tensor_parse_forward_randn \(parse)")
    print("tensor_forward \(forward)")
    print("tensor_backward_gradients \(backward)")
    print("tensor_backward_recorded \(recorded)")
    print("tensor_forward_plus_backward \(forward + backward)")
}
