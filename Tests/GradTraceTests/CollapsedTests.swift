import Foundation
@testable import GradTrace
import Testing

struct CollapsedTests {
    func demo() -> (Graph, Trace) {
        let tape = Tape()
        let mlp = MLP(inputs: 3, layers: [4, 4, 1], tape: tape, seed: 1337)
        let loss = mlp.squaredErrorLoss(xs: MLP.demoInputs, ys: MLP.demoTargets)
        return (tape.graph, loss.backward())
    }

    @Test func neuronsBecomeUnitsAndGradientsAddUp() throws {
        let (g, t) = demo()
        let c = try CollapsedTrace(graph: g, trace: t, level: .neuron)
        let groups = c.units.filter { $0.members.count > 1 }.compactMap(\.group).filter { $0 != "loss" }
        #expect(Set(groups) == Set(["l1.n0", "l1.n1", "l1.n2", "l1.n3", "l2.n0", "l2.n1", "l2.n2", "l2.n3", "l3.n0"]))
        // A unit's gradient is what its outgoing edges carry back: the sum of its exits' gradients.
        for (u, unit) in c.units.enumerated() where u != c.outputUnit {
            let carried = c.edges.filter { $0.from == u }.reduce(0) { $0 + $1.contribution }
            #expect(abs(carried - c.unitGradients[u]) <= 1e-12 * max(1, abs(carried)), "\(unit.group ?? "?")")
        }
        // Every visible node is in exactly one unit; every unit edge sums real trace edges.
        let members = c.units.flatMap(\.members)
        #expect(Set(members).count == members.count)
        #expect(c.edges.allSatisfy { !$0.records.isEmpty && $0.from != $0.to })
        #expect(c.steps.count == Set(c.edges.map(\.to)).count)
        // Steps run from the output back: a unit is processed after every unit it feeds.
        var position = [Int: Int]()
        for s in c.steps { position[s.unit] = s.index }
        for e in c.edges { if let a = position[e.from], let b = position[e.to] { #expect(b < a) } }
    }

    @Test func layersAndStems() throws {
        let (g, t) = demo()
        let layers = try CollapsedTrace(graph: g, trace: t, level: .layer)
        #expect(Set(layers.units.compactMap(\.group)).isSuperset(of: ["l1", "l2", "l3"]))
        // Numbered plain names share a stem at layer level.
        let p = try Program.parse("x = 1\na0 = x * 2\na1 = x * 3\na2 = x * 4\ns = tanh(a0) + tanh(a1) + tanh(a2)\n")
        let c = try CollapsedTrace(graph: p.graph, trace: Trace(graph: p.graph, output: p.output), level: .layer)
        #expect(c.units.count == 3)  // x, a…, s
        #expect(c.units.contains { $0.group == "a…" && $0.members.count == 3 })
        let scene = Scene(graph: p.graph, collapsed: c, step: c.steps.count, summary: true)
        #expect(scene.nodes.count == 3 && scene.edges.count == 2)
    }

    @Test func nothingToCollapseIsAnError() throws {
        let p = try Program.parse("x = 1\ny = x * 2\n")
        let t = Trace(graph: p.graph, output: p.output)
        #expect(throws: CollapsedTrace.Problem.self) { _ = try CollapsedTrace(graph: p.graph, trace: t, level: .layer) }
    }
}

struct LayerGranularityTests {
    @Test func layerStepsMergeConsecutiveNodeSteps() throws {
        let tape = Tape()
        let mlp = MLP(inputs: 3, layers: [4, 4, 1], tape: tape, seed: 1337)
        let loss = mlp.squaredErrorLoss(xs: MLP.demoInputs, ys: MLP.demoTargets)
        let nodeTrace = Trace(graph: tape.graph, output: loss.id)
        let layerTrace = Trace(graph: tape.graph, output: loss.id, granularity: .layer)
        #expect(layerTrace.steps.count < nodeTrace.steps.count / 10)
        // The same records in the same order, only cut differently; the same gradients.
        #expect(layerTrace.edges == nodeTrace.edges)
        #expect(layerTrace.gradients == nodeTrace.gradients)
        #expect(layerTrace.steps.map(\.edgeRange.count).reduce(0, +) == nodeTrace.edges.count)
        // A layer step activates every node it runs.
        let big = try #require(layerTrace.steps.max { $0.edgeRange.count < $1.edgeRange.count })
        let scene = Scene(graph: tape.graph, trace: layerTrace, step: big.index)
        #expect(scene.nodes.filter { $0.state == .active }.count > 1)
        #expect(scene.caption.contains("edges in this step"))
    }
}

struct ReviewRegressionTests {
    /// An exit that also feeds its own unit is not counted twice: the unit's gradient is what it sends out.
    @Test func unitGradientIsWhatFlowsOut() throws {
        let p = try Program.parse("x = 1\na0 = x * 2\na1 = a0 * 3\ns = a0 + a1\n")
        let c = try CollapsedTrace(graph: p.graph, trace: Trace(graph: p.graph, output: p.output), level: .layer)
        let a = try #require(c.units.firstIndex { $0.group == "a…" })
        let out = c.edges.filter { $0.from == a }.reduce(0) { $0 + $1.contribution }
        #expect(c.unitGradients[a] == out)
        #expect(out == 2)  // a0 → s and a1 → s carry 1 each; a0 → a1 stays inside the unit
    }

    /// Layer steps draw every consumer's edges, with the right formulas in the table.
    @Test func layerStepsDrawAllTheirEdges() throws {
        let tape = Tape()
        let mlp = MLP(inputs: 3, layers: [4, 4, 1], tape: tape, seed: 1337)
        let loss = mlp.squaredErrorLoss(xs: MLP.demoInputs, ys: MLP.demoTargets)
        let t = Trace(graph: tape.graph, output: loss.id, granularity: .layer)
        let final = Scene(graph: tape.graph, trace: t, step: t.steps.count)
        #expect(final.edges.allSatisfy { $0.state != .idle && !$0.lines.isEmpty })
        var table = ""
        Report.traceTable(graph: tape.graph, trace: t, outputName: "loss", to: &table)
        var nodeTable = ""
        Report.traceTable(graph: tape.graph, trace: Trace(graph: tape.graph, output: loss.id), outputName: "loss", to: &nodeTable)
        // Same rows apart from the step numbers.
        func rows(_ s: String) -> [String] { s.split(separator: "\n").filter { $0.contains("→") }.map { String($0.drop { $0 == " " || $0.isNumber }) } }
        #expect(rows(table) == rows(nodeTable))
    }

    @Test func powCallIsAlwaysTwoInputs() throws {
        let p = try Program.parse("x = 3\ny = pow(x, 2)\nz = x^2\n", output: "y")
        #expect(p.graph[p.output].op == .pow)
        #expect(p.graph[p.graph.lookup("z")!].op == .powConst(2))
        // A graph with such a node round-trips through the writer node for node.
        let again = try Program.parse(ProgramWriter.source(of: p.graph, output: p.output))
        #expect(again.graph[again.output].op == .pow)
        #expect(again.graph.count == 3)  // x, the constant 2, pow
        #expect(again.graph[again.output].value == 9)
    }

    @Test func negativeZeroRoundTrips() throws {
        var g = Graph()
        let x = g.addInput("x", -0.0)
        let y = g.add(.div, g.addConstant(1), x, name: "y")
        let p = try Program.parse(ProgramWriter.source(of: g, output: y))
        #expect(p.graph[p.output].value == -.infinity)
    }

    @Test func collapsedNeuronsTeach() throws {
        #expect(["l1.n10", "l1.n2", "l1.n0", "a", "l1.n02"].sorted(by: Grouping.naturalLess) == ["a", "l1.n0", "l1.n2", "l1.n02", "l1.n10"])
        let (g, t) = CollapsedTests().demo()
        let c = try CollapsedTrace(graph: g, trace: t, level: .neuron)
        let final = Scene(graph: g, collapsed: c, step: c.steps.count, summary: true)
        // Parameter gradients are listed inside the neuron, weights first, then the bias.
        let neuron = try #require(final.nodes.first { $0.title.hasPrefix("l1.n0 ") })
        #expect(neuron.gradText.contains(" · w0 ") && neuron.gradText.contains(", b "))
        #expect(neuron.gradText.range(of: "w2")!.lowerBound < neuron.gradText.range(of: ", b ")!.lowerBound)
        // The caption lists every unit, in natural order, none left out (the picture wraps it).
        #expect(final.caption.contains("∂loss/∂l1.n0 = ") && final.caption.contains("∂loss/∂l3.n0 = ") && !final.caption.contains("…"))
        // Colours compare magnitudes: the norm is never negative.
        #expect(c.unitNorms.allSatisfy { $0 >= 0 })
    }
}
