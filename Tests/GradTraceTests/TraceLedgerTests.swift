import Foundation
import Testing
@testable import GradTrace

/// The backward pass as it was recorded before the single-sweep ledger (issue 14): a marking
/// sweep that counts each node's consumers, then the recording sweep, completing a node when its
/// count reaches zero. Kept here, verbatim in behaviour, as the reference the new pass must match
/// (layer steps are the node steps merged by the one merging rule, Step.mergingLayerRuns).
private func referenceTrace(graph: Graph, output: NodeID, granularity: Granularity)
    -> (steps: [Step], edges: [EdgeRecord], gradients: [Double], completedAt: [Int]) {
    let n = output + 1
    var mask = [Bool](repeating: false, count: n)
    var remaining = [Int](repeating: 0, count: n)
    mask[output] = true
    for id in stride(from: output, through: 0, by: -1) where mask[id] {
        let node = graph.nodes[id]
        for input in node.inputs { mask[input] = true; remaining[input] += 1 }
    }
    var grad = [Double](repeating: 0, count: graph.count)
    var completed = [Int](repeating: .max, count: graph.count)
    grad[output] = 1
    completed[output] = 0
    var steps: [Step] = [], edges: [EdgeRecord] = []
    for id in stride(from: output, through: 0, by: -1) where mask[id] {
        let node = graph.nodes[id]
        if node.op.isLeaf { continue }
        let upstream = grad[id]
        let binary = node.b >= 0
        let (la, lb) = node.op.localGradients(graph.nodes[node.a].value, binary ? graph.nodes[node.b].value : 0, output: node.value)
        var stepStart = edges.count
        for (k, input) in node.inputs.enumerated() {
            let local = k == 0 ? la : lb
            let contribution = local * upstream
            grad[input] += contribution
            edges.append(EdgeRecord(input: input, node: id, operand: k, local: local, upstream: upstream,
                                    contribution: contribution, accumulated: grad[input]))
            if granularity == .edge {
                steps.append(Step(index: steps.count + 1, node: id, upstream: upstream, edgeRange: stepStart..<edges.count))
                stepStart = edges.count
            }
            remaining[input] -= 1
            if remaining[input] == 0 { completed[input] = steps.count + (granularity == .edge ? 0 : 1) }
        }
        if granularity != .edge {
            steps.append(Step(index: steps.count + 1, node: id, upstream: upstream, edgeRange: stepStart..<edges.count))
        }
    }
    if granularity == .layer {
        // Layer steps are node steps merged by Step.mergingLayerRuns (tested in CollapsedTests), apart from the sweep.
        steps = Step.mergingLayerRuns(steps, graph: graph, output: output, completedAt: &completed)
    }
    return (steps, edges, grad, completed)
}

private func ledgerCases() throws -> [(label: String, graph: Graph, output: NodeID)] {
    var cases: [(String, Graph, NodeID)] = []
    let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples")
    for f in try FileManager.default.contentsOfDirectory(atPath: samples.path).filter({ $0.hasSuffix(".grad") }).sorted() {
        let p = try Program.parse(String(contentsOf: samples.appendingPathComponent(f), encoding: .utf8), file: f)
        cases.append((f, p.graph, p.output))
        cases.append((f + " (first op)", p.graph, p.graph.nodes.firstIndex { !$0.op.isLeaf } ?? 0))
    }
    // micrograd's demo MLP (layer groups l0.…, l1.…), a leaf as the output, x·x (one input twice).
    let tape = Tape()
    let mlp = MLP(inputs: 3, layers: [4, 4, 1], tape: tape, seed: 1337)
    let loss = mlp.squaredErrorLoss(xs: MLP.demoInputs, ys: MLP.demoTargets)
    cases.append(("MLP demo", tape.graph, loss.id))
    var g = Graph()
    let x = g.addInput("x", 3)
    let sq = g.add(.mul, x, x)
    let y = g.add(.add, sq, x)
    _ = g.add(.tanh, y)
    cases.append(("x·x + x, leaf output", g, x))
    cases.append(("x·x + x, middle output", g, y))
    cases.append(("x·x + x, unreached tail", g, g.count - 1))
    // A chain past 2¹⁶ nodes: the pass counts its records exactly there.
    var c = Graph()
    var v = c.addInput("x", 0.5)
    for _ in 0..<20_000 {
        let k = c.addConstant(0.999999)
        v = c.add(.add, c.add(.mul, v, k), c.addConstant(0.000001))
    }
    cases.append(("chain of 80,001 nodes", c, v))
    return cases
}

/// A record as exact text (bit patterns, so NaN equals NaN).
private func key(_ e: EdgeRecord) -> String {
    "\(e.input) \(e.node) \(e.operand) \(e.local.bitPattern) \(e.upstream.bitPattern) \(e.contribution.bitPattern) \(e.accumulated.bitPattern)"
}

@Suite("Trace: the single-sweep ledger records what the two-sweep pass recorded")
struct TraceLedgerTests {
    @Test("steps, edge records, gradients and completion steps are identical, at every granularity")
    func identicalToReference() throws {
        for (label, g, out) in try ledgerCases() {
            for gr in Granularity.allCases {
                let t = Trace(graph: g, output: out, granularity: gr)
                let r = referenceTrace(graph: g, output: out, granularity: gr)
                #expect(t.steps == r.steps, "\(label) \(gr): steps")
                #expect(t.edges.map(key) == r.edges.map(key), "\(label) \(gr): edge records")
                #expect(t.gradients.map(\.bitPattern) == r.gradients.map(\.bitPattern), "\(label) \(gr): gradients")
                #expect(t.completedAt == r.completedAt, "\(label) \(gr): completedAt")
            }
        }
    }

    @Test("the record arrays hold no more than their records for big graphs")
    func exactCapacityForBigGraphs() {
        var c = Graph()
        var v = c.addInput("x", 0.5)
        for _ in 0..<20_000 { v = c.add(.add, c.add(.mul, v, c.addConstant(0.5)), c.addConstant(0.25)) }
        let t = Trace(graph: c, output: v)
        #expect(t.edges.count == 80_000)
        #expect(t.edges.capacity < 80_000 + 80_000 / 8)
        #expect(t.steps.capacity < 40_000 + 40_000 / 8)
    }
}
