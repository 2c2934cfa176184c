// libFuzzer harness for the GradTrace core: built by scripts/fuzz.sh together with every source of
// Sources/GradTrace as one module (`swiftc -sanitize=fuzzer,address`), so it sees internals too.
//
// For each input: parse it as a program; then, on graphs small enough to stay fast, trace the
// backward pass at every granularity, run forward mode from the first input, collapse by neuron
// and layer, build the first and last scenes, check gradients against finite differences, and
// write the graph back as a program with ProgramWriter, parse that, and compare node counts,
// values and gradients. A broken invariant stops the fuzzer with a message (a crash).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let program = try? Program.parse(bytes: bytes, file: "<fuzz>") else { return 0 }
    if let t = program.tensor {
        fuzzTensor(t)
        return 0
    }
    let graph = program.graph, output = program.output
    guard graph.count <= 3000 else { return 0 }
    let problems = graph.checkInvariants()
    if !problems.isEmpty { fatalError("invariants: \(problems.prefix(3))") }

    let gradients = Trace.gradients(graph: graph, output: output)
    for granularity in Granularity.allCases {
        let trace = Trace(graph: graph, output: output, granularity: granularity)
        // The recorded trace ends with the same gradients as the gradients-only sweep.
        let final = trace.steps.isEmpty ? trace.gradients : trace.gradients(afterStep: trace.steps.count)
        for id in 0..<graph.count where !same(final[id], gradients[id]) {
            fatalError("\(granularity) trace: gradient of node \(id) is \(final[id]), the sweep says \(gradients[id])")
        }
        _ = Scene(graph: graph, trace: trace, step: 0)
        _ = Scene(graph: graph, trace: trace, step: trace.steps.count, summary: true)
        if granularity == .node {
            for level in [Grouping.Level.neuron, .layer] {
                if let c = try? CollapsedTrace(graph: graph, trace: trace, level: level) { _ = c.units.count }
            }
        }
    }
    if let x = graph.inputIDs.first(where: { $0 <= output }) {
        let f = ForwardTrace(graph: graph, output: output, wrt: x)
        // Forward mode's tangent at the output is the reverse-mode gradient of that input.
        // Both sum the same path products in different orders: they agree to rounding, measured
        // against the sum of the products' magnitudes (terms of 1e70 may cancel to 0 either way).
        let t = f.tangents[output], g = gradients[x]
        let scale = absoluteGradients(graph, output)[x]
        if t.isFinite && g.isFinite && scale.isFinite && Swift.abs(t - g) > 1e-9 * Swift.max(1, scale) {
            fatalError("forward tangent \(t) but reverse gradient \(g) for input \(x) (path magnitudes \(scale))")
        }
        _ = Wiggle(graph: graph, wrt: x, h: 0.1)
    }
    _ = GradientCheck(graph: graph, output: output, budget: 200_000)

    // ProgramWriter round trip.
    let text = ProgramWriter.source(of: graph, output: output)
    let again: Program
    do { again = try Program.parse(text, file: "<written>") } catch {
        fatalError("ProgramWriter wrote a program that does not parse: \(error)\n\(text)")
    }
    let written = graph.ancestors(of: output)
    let expectedCount = (0...output).filter { written[$0] || graph[$0].op == .input }.count
    guard again.graph.count == expectedCount else {
        fatalError("round trip: \(again.graph.count) nodes, expected \(expectedCount)\n\(text)")
    }
    guard same(again.graph[again.output].value, graph[output].value) else {
        fatalError("round trip: output \(again.graph[again.output].value), expected \(graph[output].value)\n\(text)")
    }
    let g2 = Trace.gradients(graph: again.graph, output: again.output)
    let inputs1 = graph.inputIDs.filter { $0 <= output }.map { gradients[$0] }
    let inputs2 = again.graph.inputIDs.map { g2[$0] }
    guard inputs1.count == inputs2.count, zip(inputs1, inputs2).allSatisfy({ same($0, $1) }) else {
        fatalError("round trip: input gradients \(inputs2.prefix(5)) expected \(inputs1.prefix(5))\n\(text)")
    }
    return 0
}

/// Reverse sweep of |local gradient|: for each node, the sum over paths of |product of locals|.
private func absoluteGradients(_ graph: Graph, _ output: NodeID) -> [Double] {
    var g = [Double](repeating: 0, count: graph.count)
    g[output] = 1
    for id in stride(from: output, through: 0, by: -1) where g[id] != 0 {
        let n = graph[id]
        guard !n.op.isLeaf else { continue }
        let l = n.op.localGradients(graph[n.a].value, n.b >= 0 ? graph[n.b].value : 0, output: n.value)
        g[n.a] += Swift.abs(l.0) * g[id]
        if n.b >= 0 { g[n.b] += Swift.abs(l.1) * g[id] }
    }
    return g
}

/// Equal, or both NaN.
private func same(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }

/// Tensor programs: the recorded trace ends with the gradients-only sweep's gradients, at both
/// granularities; every gradient has its input's shape; scenes, ledgers, reports and the check run.
private func fuzzTensor(_ p: TensorProgram) {
    let graph = p.graph, output = p.output
    guard graph.count <= 400, graph.nodes.allSatisfy({ $0.value.count <= 4096 }) else { return }
    let fast = TensorTrace.gradients(graph: graph, output: output)
    for id in graph.inputIDs where fast[id].shape != graph[id].value.shape {
        fatalError("gradient of input \(id) has shape \(fast[id].shapeText), its value \(graph[id].value.shapeText)")
    }
    for granularity in [Granularity.node, .edge] {
        let trace = TensorTrace(graph: graph, output: output, granularity: granularity)
        for id in graph.inputIDs {
            let a = trace.gradients[id].data, b = fast[id].data
            guard a.count == b.count, zip(a, b).allSatisfy({ same($0, $1) }) else {
                fatalError("\(granularity) tensor trace: gradient of input \(id) is \(a.prefix(4)), the sweep says \(b.prefix(4))")
            }
        }
        for e in trace.edges where e.contribution.shape != graph[e.input].value.shape {
            fatalError("edge \(e.input) → \(e.node): contribution of shape \(e.contribution.shapeText) for an input of \(graph[e.input].value.shapeText)")
        }
        let words = TensorText(graph: graph)
        for e in trace.edges { _ = words.ledger(e, output: output, consumers: trace.consumers) }
        _ = Scene(tensor: trace, step: 0)
        _ = Scene(tensor: trace, step: trace.steps.count, summary: true)
        if granularity == .node {
            var text = ""
            Report.traceJSON(tensor: trace, outputName: p.outputName, to: &text)
            Report.traceTable(tensor: trace, outputName: p.outputName, to: &text)
        }
    }
    if graph.count <= 60 && graph.nodes.allSatisfy({ $0.value.count <= 64 }) {
        _ = TensorCheck(program: p, sampleSize: 4)
    }
}
