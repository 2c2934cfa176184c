// Throughput and render-time measurements. Run: swift run -c release gradtrace-bench [trace|render|all]
// Prints a table; figures are quoted in the issue notes. Not a test: nothing here asserts.
import Foundation
import GradTrace
import GradTraceRender

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Best of `n` runs.
func best(_ n: Int, _ body: () throws -> Void) rethrows -> Double {
    var b = Double.infinity
    for _ in 0..<n { b = min(b, try seconds(body)) }
    return b
}

func fmt(_ x: Double, _ digits: Int = 3) -> String { NumberFormat.short(x, digits: digits) }

/// y = y * 0.999999 + 0.000001, n times.
func chain(_ n: Int) -> (Graph, NodeID) {
    var g = Graph()
    g.reserveCapacity(4 * n + 1)
    var y = g.addInput("x", 0.5)
    for _ in 0..<n {
        let c = g.addConstant(0.999999)
        let m = g.add(.mul, y, c)
        let d = g.addConstant(0.000001)
        y = g.add(.add, m, d)
    }
    return (g, y)
}

/// A micrograd-style MLP(3, [4, 4, 1]) on four samples with squared-error loss, built with the Value API.
/// micrograd's README demo through the nn helpers (394 values): its graph and its loss.
func mlpDemo() -> (Graph, Value) {
    let tape = Tape()
    let loss = MLP(inputs: 3, layers: [4, 4, 1], tape: tape, seed: 1337).squaredErrorLoss(xs: MLP.demoInputs, ys: MLP.demoTargets)
    return (tape.graph, loss)
}

func mlpGraph() -> (Graph, NodeID) {
    let tape = Tape()
    var state: UInt64 = 42
    func rnd() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53) * 2 - 1
    }
    let sizes = [3, 4, 4, 1]
    var layers: [[([Value], Value)]] = []
    for l in 0..<3 {
        var neurons: [([Value], Value)] = []
        for n in 0..<sizes[l + 1] {
            let w = (0..<sizes[l]).map { tape.input("l\(l)n\(n)w\($0)", rnd()) }
            neurons.append((w, tape.input("l\(l)n\(n)b", rnd())))
        }
        layers.append(neurons)
    }
    let xs: [[Double]] = [[2, 3, -1], [3, -1, 0.5], [0.5, 1, 1], [1, 1, -1]]
    let ys: [Double] = [1, -1, -1, 1]
    var loss: Value?
    for (x, y) in zip(xs, ys) {
        var act = x.map { tape.constant($0) }
        for (l, layer) in layers.enumerated() {
            act = layer.map { (w, b) in
                var s = b
                for (wi, xi) in zip(w, act) { s = s + wi * xi }
                return l == 2 ? s : s.tanh()
            }
        }
        let d = act[0] - y
        let sq = d * d
        loss = loss.map { $0 + sq } ?? sq
    }
    return (tape.graph, loss!.named("loss").id)
}

/// A layered DAG of about `n` nodes (≈1.4 edges a node) for render timing.
func dag(_ n: Int) -> (Graph, NodeID) {
    var g = Graph()
    var ids: [NodeID] = []
    for i in 0..<8 { ids.append(g.addInput("x\(i)", Double(i) * 0.1 + 0.1)) }
    var state: UInt64 = 7
    func pick(_ k: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int(state >> 33) % k
    }
    while g.count < n {
        let window = min(ids.count, 24)
        let a = ids[ids.count - 1 - pick(window)]
        if pick(10) < 4 {
            ids.append(g.add(.tanh, a))
        } else {
            let b = ids[ids.count - 1 - pick(window)]
            ids.append(g.add(pick(2) == 0 ? .add : .mul, a, b))
        }
    }
    // The output sums the last 20 nodes (a long sum of early nodes would make Graphviz's
    // network simplex crawl: every long edge becomes a chain of virtual nodes).
    var out = ids[ids.count - 1]
    for id in ids.suffix(20).dropLast() { out = g.add(.add, out, id) }
    return (g, out)
}

func benchTrace() {
    print("## trace throughput (best of 3)")
    print("| graph | nodes | record graph | backward, steps recorded | nodes/s | gradients only | nodes/s |")
    print("|---|---|---|---|---|---|---|")
    for n in [1_000, 100_000, 1_000_000] {
        var g = Graph(), out = 0
        let build = best(1) { (g, out) = chain(n) }
        let t = best(3) { _ = Trace(graph: g, output: out) }
        let q = best(3) { _ = Trace.gradients(graph: g, output: out) }
        print("| chain of \(n) steps | \(g.count) | \(fmt(build * 1000)) ms | \(fmt(t * 1000)) ms | \(fmt(Double(g.count) / t)) | \(fmt(q * 1000)) ms | \(fmt(Double(g.count) / q)) |")
    }
    let (g, out) = mlpGraph()
    let reps = 200
    let t = best(3) { for _ in 0..<reps { _ = Trace(graph: g, output: out) } } / Double(reps)
    let q = best(3) { for _ in 0..<reps { _ = Trace.gradients(graph: g, output: out) } } / Double(reps)
    let build = best(3) { for _ in 0..<20 { _ = mlpGraph() } } / 20
    print("| MLP(3,[4,4,1]) × 4 samples | \(g.count) | \(fmt(build * 1e6)) µs | \(fmt(t * 1e6)) µs | \(fmt(Double(g.count) / t)) | \(fmt(q * 1e6)) µs | \(fmt(Double(g.count) / q)) |")
    let text = (["x = 0.5", "y = x"] + Array(repeating: "y = y * 0.999999 + 0.000001", count: 1_000_000)).joined(separator: "\n")
    let parse = best(1) { _ = try? Program.parse(text) }
    print("\nparse + evaluate a 10⁶-line program: \(fmt(parse)) s (\(fmt(Double(text.utf8.count) / parse / 1e6)) MB/s)")
}

func benchRender() throws {
    print("\n## render of a DAG of ~1,000 nodes (best of 3)")
    let (g, out) = dag(1000)
    let trace = Trace(graph: g, output: out)
    var diagram: Diagram?
    let layout = try best(3) { diagram = try Diagram(graph: g, trace: trace, style: RenderStyle()) }
    let d = diagram!
    let svg = try best(3) { _ = try d.render(step: d.stepCount, format: .svg) }
    let pngScale = d.fittingScale(0.5)
    let png = try best(3) { _ = try d.render(step: d.stepCount, format: .png(scale: pngScale)) }
    let dotText = d.dot(step: d.stepCount, pinned: false)
    let path = NSTemporaryDirectory() + "gradtrace-bench.dot"
    try dotText.write(toFile: path, atomically: true, encoding: .utf8)
    let dotCLI = try best(3) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["dot", "-Tsvg", path, "-o", "/dev/null"]
        try p.run()
        p.waitUntilExit()
    }
    let size = d.canvasSize
    print("| step | time |")
    print("|---|---|")
    print("| nodes | \(g.count) (\(d.scene(step: 0).nodes.count) drawn, \(d.scene(step: 0).edges.count) edges), canvas \(Int(size.width)) × \(Int(size.height)) pt |")
    print("| measure text + Graphviz layout (libgvc, in process) | \(fmt(layout * 1000)) ms |")
    print("| draw + write SVG (own writer, real text) from that layout | \(fmt(svg * 1000)) ms |")
    print("| paint + encode PNG at scale \(fmt(pngScale)) | \(fmt(png * 1000)) ms |")
    print("| GradTrace total, SVG (layout + paint) | \(fmt((layout + svg) * 1000)) ms |")
    print("| `dot -Tsvg` on the DOT GradTrace emits | \(fmt(dotCLI * 1000)) ms |")
}

/// Machine-readable figures for scripts/bench-vs-micrograd.sh: one `key value` per line (seconds).
func benchMLP() throws {
    let (g, loss) = mlpDemo()
    let reps = 2000
    let backward = best(5) { for _ in 0..<reps { _ = Trace(graph: g, output: loss.id) } } / Double(reps)
    print("mlp_backward_steps \(backward)")
    let gradOnly = best(5) { for _ in 0..<reps { _ = Trace.gradients(graph: g, output: loss.id) } } / Double(reps)
    print("mlp_backward_gradients \(gradOnly)")
    for n in [1_000, 10_000, 100_000, 1_000_000] {
        let (cg, out) = chain(n)
        print("chain_\(n) \(best(3) { _ = Trace(graph: cg, output: out) })")
    }
    // Frames of the MLP demo: PNG at the CLI's default frame size, all cores.
    let diagram = try Diagram(graph: g, trace: Trace(graph: g, output: loss.id), style: RenderStyle())
    let scale = diagram.fittingScale(2, maxSide: 16000, maxPixels: 8_000_000)
    let px = diagram.pixelSize(scale: scale)
    print("frames_count \(diagram.stepCount + 1)")
    print("frames_width \(px.width)")
    print("frames_height \(px.height)")
    let frames = FrameSet(diagram: diagram, format: .png, scale: scale)
    let total = try seconds { try frames.renderAll(sink: { _, _ in }) }
    print("frames_png_total \(total)")
    // The floor: PNG encoding alone (same level as frames), times frames, over cores.
    var encode = Double.infinity
    for _ in 0..<3 {
        encode = min(encode, try diagram.pngEncodeTime(step: 150, scale: scale, compression: 1))
    }
    print("frames_png_encode_one \(encode)")
    print("cores \(ProcessInfo.processInfo.activeProcessorCount)")
    let svg = try best(3) {
        let d = try Diagram(graph: g, trace: Trace(graph: g, output: loss.id), style: RenderStyle())
        _ = try d.render(step: d.stepCount, format: .svg)
    }
    print("render_svg \(svg)")
}

/// The encode table: one frame of the MLP demo (the last step, and step 150) encoded with each PNG method.
func benchEncode() throws {
    let (g, loss) = mlpDemo()
    let diagram = try Diagram(graph: g, trace: Trace(graph: g, output: loss.id), style: RenderStyle())
    let scale = diagram.fittingScale(2, maxSide: 16000, maxPixels: 8_000_000)
    let px = diagram.pixelSize(scale: scale)
    // samples/loss.grad before its pass (step 0): 256 colours, where the exact palette applies.
    let lossProgram = try Program.parse("x = 2\nw = 3\ntarget = 10\nu = w * x\noutput = u^2\nL = (output - target)^2")
    let lossDiagram = try Diagram(graph: lossProgram.graph, trace: Trace(graph: lossProgram.graph, output: lossProgram.output), style: RenderStyle())
    let lossScale = lossDiagram.fittingScale(2, maxSide: 16000, maxPixels: 8_000_000)
    let lpx = lossDiagram.pixelSize(scale: lossScale)
    let (lossColors, lossRows) = try lossDiagram.pngEncodeTable(step: 0, scale: lossScale, repeats: 9)
    print("\n## PNG encode, loss example step 0, \(lpx.width) × \(lpx.height) px, \(lossColors.map { "\($0) colours" } ?? "over 256 colours") (best of 9, one thread)")
    print("| method | ms per megapixel | ms per frame | bytes |")
    print("|---|---|---|---|")
    for r in lossRows {
        print("| \(r.method) | \(fmt(r.seconds * 1000 / r.megapixels)) | \(fmt(r.seconds * 1000)) | \(r.bytes) |")
    }
    for step in [150, diagram.stepCount] {
        let (colors, rows) = try diagram.pngEncodeTable(step: step, scale: scale)
        print("\n## PNG encode, MLP demo step \(step) of \(diagram.stepCount), \(px.width) × \(px.height) px, \(colors.map { "\($0) colours" } ?? "over 256 colours") (best of 3, one thread)")
        print("| method | ms per megapixel | ms per frame | bytes |")
        print("|---|---|---|---|")
        for r in rows {
            print("| \(r.method) | \(fmt(r.seconds * 1000 / r.megapixels)) | \(fmt(r.seconds * 1000)) | \(r.bytes) |")
        }
    }
}

let what = CommandLine.arguments.dropFirst().first ?? "all"
if what == "encode" || what == "all" { try benchEncode() }
if what == "mlp" { try benchMLP() }
if what == "tensor" { try benchTensor(file: CommandLine.arguments.dropFirst(2).first) }
if what == "guard" {
    // The large-graph guard's estimate for each program (scripts/bench-guard.sh puts dot's real time beside it).
    for path in CommandLine.arguments.dropFirst(2) {
        let p = try Program.parse(String(contentsOfFile: path, encoding: .utf8), file: path)
        let e = Scene.layoutEstimate(graph: p.graph, output: p.output)
        print("\(path) nodes \(e.nodes) edges \(e.edges) virtual \(e.virtualNodes) ranks \(e.ranks) estimate_seconds \(fmt(e.seconds))")
    }
}
if what == "backward" {
    // The MLP demo's backward pass alone: with steps recorded (node, edge, layer) and gradients only.
    let (g, loss) = mlpDemo()
    let reps = 2000
    for gr in Granularity.allCases {
        let t = best(7) { for _ in 0..<reps { _ = Trace(graph: g, output: loss.id, granularity: gr) } } / Double(reps)
        print("mlp_backward_steps_\(gr.rawValue) \(t)")
    }
    let q = best(7) { for _ in 0..<reps { _ = Trace.gradients(graph: g, output: loss.id) } } / Double(reps)
    print("mlp_backward_gradients \(q)")
    let (cg, out) = chain(1_000_000)
    print("chain_1000000 \(best(3) { _ = Trace(graph: cg, output: out) })")
}
if what == "apng" {
    // The MLP demo's frames as one animated PNG (frame differences), against the frame files.
    // gradtrace-bench apng [OUT.png [FRAME-FOLDER]] also writes the APNG and the frame files.
    let (g, loss) = mlpDemo()
    let diagram = try Diagram(graph: g, trace: Trace(graph: g, output: loss.id), style: RenderStyle())
    let scale = diagram.fittingScale(2, maxSide: 16000, maxPixels: 8_000_000)
    let frames = FrameSet(diagram: diagram, format: .png, scale: scale)
    var bytes: [UInt8] = []
    let t = try seconds { bytes = try frames.animatedPNG() }
    final class Total: @unchecked Sendable { var bytes = 0; let lock = NSLock() }
    let total = Total()
    let folder = CommandLine.arguments.dropFirst(3).first
    try frames.renderAll(jobs: 2, sink: { k, b in
        total.lock.lock(); total.bytes += b.count; total.lock.unlock()
        if let folder { FileManager.default.createFile(atPath: folder + "/" + frames.fileName(step: k), contents: Data(b)) }
    })
    print("APNG of \(diagram.stepCount + 1) frames: \(fmt(t)) s on one thread, \(bytes.count) bytes (the frame files: \(total.bytes) bytes)")
    if let path = CommandLine.arguments.dropFirst(2).first { FileManager.default.createFile(atPath: path, contents: Data(bytes)) }
}
if what == "frames-check" {
    // Incremental repainting against full repaints, every frame of the MLP demo at frame size.
    let (g, loss) = mlpDemo()
    let diagram = try Diagram(graph: g, trace: Trace(graph: g, output: loss.id), style: RenderStyle())
    let scale = diagram.fittingScale(2, maxSide: 16000, maxPixels: 8_000_000)
    let frames = FrameSet(diagram: diagram, format: .png, scale: scale)
    let stride = Int(CommandLine.arguments.dropFirst(2).first ?? "1") ?? 1
    let order = Swift.stride(from: 0, through: diagram.stepCount, by: stride).map { $0 }
    let r = try frames.repaintCheck(order: order)
    print("frames \(order.count), painted incrementally \(r.partial), differing from a full paint: \(r.mismatched)")
}
if what == "smoke" {
    // CI's smoke run (scripts/test.sh, debug build): every benchmark path once, small, in seconds.
    // Prints figures but asserts no timing; fails only when incremental frames differ from full paints.
    let (cg, cout) = chain(1_000)
    let ct = best(2) { _ = Trace(graph: cg, output: cout) }
    let cq = best(2) { _ = Trace.gradients(graph: cg, output: cout) }
    print("chain of 1,000 steps: backward with steps \(fmt(ct * 1e6)) µs, gradients only \(fmt(cq * 1e6)) µs")
    let (g, loss) = mlpDemo()
    for gr in Granularity.allCases {
        let t = best(2) { for _ in 0..<5 { _ = Trace(graph: g, output: loss.id, granularity: gr) } } / 5
        print("MLP demo backward with steps (\(gr.rawValue)): \(fmt(t * 1e6)) µs")
    }
    let diagram = try Diagram(graph: g, trace: Trace(graph: g, output: loss.id), style: RenderStyle())
    let scale = 0.2
    let (colors, rows) = try diagram.pngEncodeTable(step: diagram.stepCount / 2, scale: scale, repeats: 1)
    print("encode table at scale \(scale) (\(colors.map { "\($0)" } ?? "> 256") colours):")
    for r in rows { print("  \(r.method): \(fmt(r.seconds * 1000 / r.megapixels)) ms/Mpx, \(r.bytes) bytes") }
    // All frames of micrograd's neuron (small), then MLP-demo frames painted over one another.
    let neuron = try Program.parse("x1 = 2; x2 = 0; w1 = -3; w2 = 1; b = 6.8813735870195432\nn = x1*w1 + x2*w2 + b\no = tanh(n)")
    let neuronDiagram = try Diagram(graph: neuron.graph, trace: Trace(graph: neuron.graph, output: neuron.output), style: RenderStyle())
    let t = try seconds { try FrameSet(diagram: neuronDiagram, format: .png, scale: 1).renderAll(jobs: 2, sink: { _, _ in }) }
    print("\(neuronDiagram.stepCount + 1) PNG frames of the neuron at scale 1 on 2 workers: \(fmt(t)) s")
    var apng: [UInt8] = []
    let ta = try seconds { apng = try FrameSet(diagram: neuronDiagram, format: .png, scale: 1).animatedPNG() }
    print("the same frames as one animated PNG: \(fmt(ta)) s, \(apng.count) bytes")
    let frames = FrameSet(diagram: diagram, format: .png, scale: scale)
    let last = diagram.stepCount
    let check = try frames.repaintCheck(order: [0, 1, 2, 3, last / 2, last / 2 + 1, last - 1, last, 7])
    print("incremental repaint, MLP demo at scale \(scale): \(check.partial) frames painted incrementally, \(check.mismatched.count) differ from a full paint")
    if !check.mismatched.isEmpty { print("error: frames \(check.mismatched) differ from their full paint"); exit(1) }
    try smokeTensor()
}
if what == "frames" {
    // All PNG frames of the MLP demo at frame size, on N workers (default 1), for profilers.
    let (g, loss) = mlpDemo()
    let diagram = try Diagram(graph: g, trace: Trace(graph: g, output: loss.id), style: RenderStyle())
    let scale = diagram.fittingScale(2, maxSide: 16000, maxPixels: 8_000_000)
    let jobs = Int(CommandLine.arguments.dropFirst(2).first ?? "1") ?? 1
    let t = try seconds { try FrameSet(diagram: diagram, format: .png, scale: scale).renderAll(jobs: jobs, sink: { _, _ in }) }
    print("\(diagram.stepCount + 1) frames on \(jobs) workers: \(fmt(t)) s, \(fmt(t / Double(diagram.stepCount + 1) * 1000)) ms a frame")
}
if what == "mlp-trace" {
    // For profilers: the MLP backward pass in a loop.
    let (g, loss) = mlpDemo()
    var steps = 0
    for _ in 0..<400_000 { steps &+= Trace(graph: g, output: loss.id).steps.count }
    print(steps)
}
if what == "trace" || what == "all" { benchTrace() }
if what == "render" || what == "all" { try benchRender() }
