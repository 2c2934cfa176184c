import Foundation
@testable import GradTrace
import Testing

private let samplesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("samples")

struct NNTests {
    func demo(seed: UInt64 = 1337) -> (Tape, MLP, Value) {
        let tape = Tape()
        let mlp = MLP(inputs: 3, layers: [4, 4, 1], tape: tape, seed: seed)
        let loss = mlp.squaredErrorLoss(xs: MLP.demoInputs, ys: MLP.demoTargets)
        return (tape, mlp, loss)
    }

    /// Built op for op as micrograd builds it, the README demo has micrograd's 394 values and 300 operations.
    @Test func demoHasMicrogradsShape() {
        let (tape, mlp, loss) = demo()
        #expect(mlp.parameters.count == 41)
        #expect(tape.graph.count == 394)
        #expect(tape.graph.nodes.filter { !$0.op.isLeaf }.count == 300)
        #expect(mlp.parameters.map { tape.graph.name(of: $0.id)! }.prefix(5) == ["l1.n0.w0", "l1.n0.w1", "l1.n0.w2", "l1.n0.b", "l1.n1.w0"])
        loss.backward()
        #expect(tape.graph.checkInvariants().isEmpty)
    }

    @Test func initialisationIsSeededAndDeterministic() {
        let a = demo(seed: 7).1.parameters.map(\.data)
        let b = demo(seed: 7).1.parameters.map(\.data)
        let c = demo(seed: 8).1.parameters.map(\.data)
        #expect(a == b)
        #expect(a != c)
        #expect(a.allSatisfy { $0 >= -1 && $0 < 1 })
    }

    /// Every parameter's gradient against a central difference of the loss.
    @Test func gradientsMatchFiniteDifferences() {
        let (tape, mlp, loss) = demo()
        loss.backward()
        let check = GradientCheck(graph: tape.graph, output: loss.id)
        #expect(check.passed)
        #expect(check.rows.count == mlp.parameters.count)
    }

    /// The generated program rebuilds the network node for node: same value, same gradients.
    @Test func programWriterRoundTrip() throws {
        let (tape, _, loss) = demo()
        let text = ProgramWriter.source(of: tape.graph, output: loss.id)
        let p = try Program.parse(text)
        #expect(p.graph.count == tape.graph.count)
        #expect(p.graph[p.output].value == loss.data)
        let a = Trace.gradients(graph: tape.graph, output: loss.id)
        let b = Trace.gradients(graph: p.graph, output: p.output)
        for id in tape.graph.inputIDs {
            let name = tape.graph.name(of: id)!
            let other = try #require(p.graph.input(named: name))
            #expect(a[id] == b[other], "\(name)")
        }
    }

    @Test func programWriterHandlesAwkwardGraphs() throws {
        // Shared subexpressions, negative constants as pow bases, rebinding a name still in use.
        let tape = Tape()
        let x = tape.input("x", 0.5)
        let s = x * x
        let c = (tape.constant(-2).pow(2) + s) * s
        var y = (c + 1).named("y")
        let keep = y
        y = (y * 3).named("y")
        let out = (y + keep).named("out")
        let p = try Program.parse(ProgramWriter.source(of: tape.graph, output: out.id))
        #expect(p.graph[p.output].value == out.data)
        #expect(Trace.gradients(graph: p.graph, output: p.output)[p.graph.input(named: "x")!] == Trace.gradients(graph: tape.graph, output: out.id)[x.id])
    }

    /// samples/mlp-demo.grad is exactly what `gradtrace generate mlp` writes.
    @Test func committedDemoSampleIsCurrent() throws {
        let (tape, _, loss) = demo()
        let committed = try String(contentsOf: samplesDir.appendingPathComponent("mlp-demo.grad"), encoding: .utf8)
        let body = ProgramWriter.source(of: tape.graph, output: loss.id)
        #expect(committed.hasSuffix(body), "regenerate with: gradtrace generate mlp -o samples/mlp-demo.grad")
        let p = try Program.parse(committed)
        #expect(p.graph.count == 394)
    }
}

/// ProgramWriter against hostile graphs (issue 13): deep nesting stays linear, names cannot inject.
struct ProgramWriterSafetyTests {
    @Test func deepChainsWriteAndRoundTrip() throws {
        let tape = Tape()
        var v = tape.input("x", 0.5)
        for _ in 0..<200_000 { v = -v }
        let text = ProgramWriter.source(of: tape.graph, output: v.id)
        // Linear size: a bounded number of characters per node.
        #expect(text.utf8.count < 200_000 * 16)
        let p = try Program.parse(text)
        #expect(p.graph.count == tape.graph.count)
        #expect(p.graph[p.output].value == v.data)
        #expect(Trace.gradients(graph: p.graph, output: p.output)[0] == 1)
    }

    @Test func namesCannotInjectStatements() throws {
        let tape = Tape()
        let x = tape.input("x\ny = 100", 2)
        let w = tape.input("w = 5 # \u{202E}", 3)
        let out = (x * w).named("out\nz = x")
        let text = ProgramWriter.source(of: tape.graph, output: out.id, header: "my net\nevil = 1")
        let p = try Program.parse(text)
        #expect(p.graph.count == tape.graph.count, "\(text)")
        #expect(p.graph[p.output].value == 6)
        #expect(p.graph.input(named: "y") == nil && p.graph.input(named: "evil") == nil, "\(text)")
        #expect(text.split(separator: "\n").allSatisfy { !$0.hasPrefix("y") && !$0.hasPrefix("z") && !$0.hasPrefix("evil") }, "\(text)")
        #expect(ProgramWriter.identifier("x\ny = 3") == "x_y___3")
        #expect(ProgramWriter.identifier("2nd") == "_2nd")
        #expect(ProgramWriter.identifier("l1.n0.w0") == "l1.n0.w0")
        #expect(ProgramWriter.identifier("θ₁") == "θ₁")
    }

    /// One naming rule for unnamed nodes: `t1, t2, …` in reports, check and ProgramWriter alike,
    /// skipping names the graph already uses.
    @Test func unnamedNodesAreTKEverywhere() throws {
        let p = try Program.parse("t1 = 2\nx = 3\nL = (x*x + 1) * (x*x + 1) + t1")
        let table = NameTable(graph: p.graph)
        let temps = (0..<p.graph.count).filter { p.graph.name(of: $0) == nil && !p.graph[$0].op.isLeaf }.map { table.name(of: $0) }
        #expect(temps.first == "t2", "\(temps)")  // t1 is taken by the input
        #expect(Set(temps).count == temps.count)
        let text = ProgramWriter.source(of: p.graph, output: p.output)
        let again = try Program.parse(text)
        let table2 = NameTable(graph: again.graph)
        // Every node is called the same before and after the round trip.
        #expect((0..<p.graph.count).map { table.name(of: $0) } == (0..<again.graph.count).map { table2.name(of: $0) }, "\(text)")
        #expect(!text.contains("_t"))
    }
}
