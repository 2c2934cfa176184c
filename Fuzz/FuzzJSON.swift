// libFuzzer harness for graph JSON (gradtrace-graph/1 and /2): built by scripts/fuzz.sh with every source
// of Sources/GradTrace and Sources/GradTraceRender as one module (`swiftc -sanitize=fuzzer,address`).
//
// For each input: read it as a graph (hostile files must be refused, never crash or run away); on small
// graphs, trace the backward pass, write the trace JSON, read that back and trace again: the two JSON
// texts must be equal byte for byte (what `trace FILE.json --json` promises), and the gradients-only
// sweep must agree with the trace; check the gradients against finite differences on tiny graphs.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let program = try? GraphJSON.read(bytes: bytes, file: "<fuzz>") else { return 0 }
    if let t = program.tensor {
        guard t.graph.count <= 48, t.graph.nodes.allSatisfy({ $0.value.count <= 256 }) else { return 0 }
        let trace = TensorTrace(graph: t.graph, output: t.output, granularity: .node)
        var first = ""
        Report.traceJSON(tensor: trace, outputName: t.outputName, to: &first)
        let again: Program
        do { again = try GraphJSON.read(bytes: Array(first.utf8), file: "<written>") } catch {
            fatalError("the trace JSON we wrote is refused: \(error)\n\(first.prefix(2000))")
        }
        guard let t2 = again.tensor else { fatalError("a tensor graph read back as scalar") }
        var second = ""
        Report.traceJSON(tensor: TensorTrace(graph: t2.graph, output: t2.output, granularity: .node), outputName: t2.outputName, to: &second)
        if first != second { fatalError("trace JSON does not round-trip:\n\(first.prefix(1500))\n---\n\(second.prefix(1500))") }
        if t.graph.count <= 12 { _ = TensorCheck(program: t, sampleSize: 4).passed }
    } else {
        let graph = program.graph
        guard graph.count <= 400 else { return 0 }
        let trace = Trace(graph: graph, output: program.output, granularity: .node)
        var first = ""
        Report.traceJSON(graph: graph, trace: trace, outputName: program.outputName, to: &first)
        let again: Program
        do { again = try GraphJSON.read(bytes: Array(first.utf8), file: "<written>") } catch {
            fatalError("the trace JSON we wrote is refused: \(error)\n\(first.prefix(2000))")
        }
        var second = ""
        Report.traceJSON(graph: again.graph, trace: Trace(graph: again.graph, output: again.output, granularity: .node),
                         outputName: again.outputName, to: &second)
        if first != second { fatalError("scalar trace JSON does not round-trip:\n\(first.prefix(1500))\n---\n\(second.prefix(1500))") }
        if graph.count <= 60 { _ = GradientCheck(graph: graph, output: program.output) }
    }
    return 0
}
