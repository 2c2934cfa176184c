// One training step of micrograd's README demo, with GradTrace's Swift API:
// MLP(3, [4, 4, 1]) on four samples, sum of squared errors, backward, then the picture.
//
//   swift run gradtrace-example-mlp [OUT.svg]
import GradTrace
import GradTraceRender
#if canImport(Glibc)
import Glibc
#endif

let tape = Tape()
let model = MLP(inputs: 3, layers: [4, 4, 1], tape: tape, seed: 1337)
let loss = model.squaredErrorLoss(xs: MLP.demoInputs, ys: MLP.demoTargets)
let trace = loss.backward()

print("loss = \(NumberFormat.exact(loss.data))")
print("\(tape.graph.count) values, \(trace.steps.count) backward steps, \(model.parameters.count) parameters")
for p in model.parameters.prefix(4) {
    print("dloss/d\(tape.graph.name(of: p.id)!) = \(NumberFormat.exact(p.grad))")
}

// One step of gradient descent, as micrograd's training loop does after backward().
let learningRate = 0.05
let updated = model.parameters.map { $0.data - learningRate * $0.grad }
print("after one step with learning rate \(learningRate): l1.n0.w0 = \(NumberFormat.exact(updated[0]))")

if CommandLine.arguments.count > 1 {
    let path = CommandLine.arguments[1]
    do {
        let diagram = try Diagram(graph: tape.graph, trace: trace, style: RenderStyle(), title: "MLP(3, [4, 4, 1]): one backward pass")
        try Writer().write(try diagram.render(step: diagram.stepCount, format: .svg, summary: true), to: path)
        print("wrote \(path)")
    } catch {
        print("error: \(error)")
        exit(1)
    }
}
