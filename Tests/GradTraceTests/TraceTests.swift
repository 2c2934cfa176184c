import Foundation
import Testing
import GradTrace

private struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * Double(next() >> 11) * 0x1.0p-53 }
}

/// The samples folder, three levels up from this file (Tests/GradTraceTests/ → package root).
private let samplesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("samples")

private func samplePrograms() throws -> [(name: String, program: Program)] {
    let files = try FileManager.default.contentsOfDirectory(atPath: samplesDirectory.path)
        .filter { $0.hasSuffix(".grad") }.sorted()
    return try files.map { f in
        let text = try String(contentsOf: samplesDirectory.appendingPathComponent(f), encoding: .utf8)
        return (f, try Program.parse(text, file: f))
    }
}

/// A random DAG built through the Graph API: a few inputs and constants, then `n` ops over earlier nodes.
private func randomGraph(seed: UInt64, ops n: Int) -> Graph {
    var rng = SplitMix64(state: seed)
    var g = Graph()
    for i in 0..<3 { g.addInput("x\(i)", rng.uniform(-1, 1)) }
    g.addConstant(0.5)
    let opTable: [Op] = [.add, .sub, .mul, .tanh, .sin, .neg, .powConst(2), .sigmoid]
    for _ in 0..<n {
        let op = opTable[rng.below(opTable.count)]
        // Prefer recent nodes so the graph is deep, but reach back sometimes so nodes are shared.
        func pick() -> NodeID { rng.below(4) == 0 ? rng.below(g.count) : max(0, g.count - 1 - rng.below(4)) }
        let a = pick()
        let id = g.add(op, a, op.arity == 2 ? pick() : -1)
        // Keep values bounded (no overflow to inf/NaN), which also adds more shared structure.
        if abs(g[id].value) > 10 { g.add(.tanh, id) }
    }
    return g
}

/// Test graphs: every sample plus random DAGs, each with an output.
private func allCases() throws -> [(label: String, graph: Graph, output: NodeID)] {
    var cases = try samplePrograms().map { ($0.name, $0.program.graph, $0.program.output) }
    for seed in 1...20 {
        let g = randomGraph(seed: UInt64(seed), ops: 40)
        // The last node, and one in the middle (which leaves later nodes unreached).
        cases.append(("random \(seed) (last)", g, g.count - 1))
        cases.append(("random \(seed) (middle)", g, g.count / 2 + 3))
    }
    return cases
}

/// Independent reference: which nodes `output` depends on, found by a worklist from the output.
private func reachable(_ g: Graph, from output: NodeID) -> Set<NodeID> {
    var seen: Set<NodeID> = [output]
    var work = [output]
    while let n = work.popLast() {
        for i in g[n].inputs where !seen.contains(i) {
            seen.insert(i)
            work.append(i)
        }
    }
    return seen
}

@Suite("Trace: the backward pass step by step")
struct TraceTests {
    @Test("steps run in reverse topological order: a node steps only after all its consumers did")
    func reverseTopologicalOrder() throws {
        for (label, g, out) in try allCases() {
            for granularity in Granularity.allCases {
                let t = Trace(graph: g, output: out, granularity: granularity)
                let reach = reachable(g, from: out)
                // Last step at which each node was processed.
                var lastStepOf: [NodeID: Int] = [:]
                var firstStepOf: [NodeID: Int] = [:]
                // The nodes a step runs: the consumers of its edges (several in a layer step).
                func ran(_ s: Step) -> Set<NodeID> { Set(t.edges(of: s).map(\.node)) }
                for s in t.steps {
                    #expect(ran(s).contains(s.node), "\(label): a step's node is one of the nodes it runs")
                    for n in ran(s) {
                        lastStepOf[n] = s.index
                        if firstStepOf[n] == nil { firstStepOf[n] = s.index }
                    }
                }
                for s in t.steps {
                    // every consumer (within the reachable part) of a node this step runs finished before it
                    for n in ran(s) {
                        for c in reach where g[c].inputs.contains(n) && !ran(s).contains(c) {
                            let done = lastStepOf[c] ?? .max
                            #expect(done < s.index, "\(label) [\(granularity)]: node \(n) steps at \(s.index) before its consumer \(c) (step \(done))")
                        }
                    }
                }
                // A node's steps are contiguous (edge granularity) and each node steps once (node granularity).
                for (n, first) in firstStepOf {
                    let count = t.steps.filter { ran($0).contains(n) }.count
                    #expect(lastStepOf[n]! - first + 1 == count, "\(label): steps of node \(n) are not contiguous")
                    if granularity == .node { #expect(count == 1) }
                }
            }
        }
    }

    @Test("step indices are 1…n and each step's upstream is its node's final gradient")
    func stepIndicesAndUpstream() throws {
        for (label, g, out) in try allCases() {
            for granularity in [Granularity.node, .edge] { // .layer: see LayerGranularityTests
                let t = Trace(graph: g, output: out, granularity: granularity)
                #expect(t.steps.map(\.index) == (0..<t.steps.count).map { $0 + 1 }, "\(label)")
                for s in t.steps {
                    #expect(s.upstream == t.gradients[s.node], "\(label): step \(s.index)")
                    for e in t.edges(of: s) {
                        #expect(e.upstream == s.upstream)
                        #expect(e.contribution == e.local * e.upstream)
                        #expect(e.input == g[s.node].inputs[e.operand])
                    }
                }
                // The edge ledger is exactly the steps' ranges, in order, with no gaps.
                var next = 0
                for s in t.steps {
                    #expect(s.edgeRange.lowerBound == next)
                    next = s.edgeRange.upperBound
                }
                #expect(next == t.edges.count)
            }
        }
    }

    @Test("step count = number of op nodes the output depends on (node); = their inputs (edge)")
    func stepCount() throws {
        for (label, g, out) in try allCases() {
            let reach = reachable(g, from: out)
            let opNodes = reach.filter { !g[$0].op.isLeaf }
            let edgeCount = opNodes.reduce(0) { $0 + g[$1].op.arity }
            let byNode = Trace(graph: g, output: out, granularity: .node)
            let byEdge = Trace(graph: g, output: out, granularity: .edge)
            #expect(byNode.steps.count == opNodes.count, "\(label)")
            #expect(Set(byNode.steps.map(\.node)) == opNodes, "\(label)")
            #expect(byNode.edges.count == edgeCount, "\(label)")
            #expect(byEdge.steps.count == edgeCount, "\(label)")
            #expect(byEdge.steps.allSatisfy { $0.edgeRange.count == 1 }, "\(label)")
            // Edge granularity cuts the same ledger finer: same records, same order, same gradients.
            #expect(byEdge.edges == byNode.edges, "\(label)")
            #expect(byEdge.gradients == byNode.gradients, "\(label)")
        }
    }

    @Test("final gradients equal the fast path Trace.gradients(graph:output:) and the last step's state")
    func finalGradients() throws {
        for (label, g, out) in try allCases() {
            for granularity in [Granularity.node, .edge] { // .layer: see LayerGranularityTests
                let t = Trace(graph: g, output: out, granularity: granularity)
                let fast = Trace.gradients(graph: g, output: out)
                #expect(t.gradients.count == g.count)
                #expect(fast.count == g.count)
                #expect(zip(t.gradients, fast).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(label)")
                #expect(t.gradients[out] == 1)
                if !t.steps.isEmpty {
                    let last = t.gradients(afterStep: t.steps.count)
                    #expect(zip(t.gradients, last).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(label)")
                }
            }
        }
    }

    @Test("gradients(afterStep: 0) is the forward state: all zero")
    func stepZeroIsAllZero() throws {
        for (label, g, out) in try allCases() {
            let t = Trace(graph: g, output: out)
            let g0 = t.gradients(afterStep: 0)
            #expect(g0.count == g.count)
            #expect(g0.allSatisfy { $0 == 0 }, "\(label)")
        }
    }

    @Test("gradients(afterStep:) grows one step at a time")
    func intermediateStates() throws {
        let p = try Program.parse("x = 2\ny = x*3 + x*4\n")
        let x = p.graph.input(named: "x")!
        let t = Trace(graph: p.graph, output: p.output)
        #expect(t.steps.count == 3)
        #expect(t.gradients(afterStep: 1)[x] == 0)
        #expect(t.gradients(afterStep: 1)[p.output] == 1)
        #expect(t.gradients(afterStep: 2)[x] == 4)
        #expect(t.gradients(afterStep: 3)[x] == 7)
    }

    @Test("a node fed by several paths shows running sums: x = 2; y = x*3 + x*4 → 4 then 7")
    func runningSumsTwoPaths() throws {
        let p = try Program.parse("x = 2\ny = x*3 + x*4\n")
        let x = p.graph.input(named: "x")!
        for granularity in [Granularity.node, .edge] { // .layer: see LayerGranularityTests
            let t = Trace(graph: p.graph, output: p.output, granularity: granularity)
            let intoX = t.edges.filter { $0.input == x }
            #expect(intoX.map(\.local) == [4, 3], "\(granularity)")
            #expect(intoX.map(\.contribution) == [4, 3], "\(granularity)")
            #expect(intoX.map(\.accumulated) == [4, 7], "\(granularity)")
            #expect(t.gradients[x] == 7)
            // x is complete only after its second consumer ran.
            let stepsIntoX = t.steps.filter { s in t.edges(of: s).contains { $0.input == x } }.map(\.index)
            #expect(stepsIntoX.count == 2)
            #expect(t.completedAt[x] == stepsIntoX.last)
            #expect(granularity == .node ? t.completedAt[x] == 3 : t.completedAt[x] == 5)
        }
    }

    @Test("a = 3; b = a*a: both operands are the same node, accumulated 3 then 6")
    func runningSumsSameNodeTwice() throws {
        let p = try Program.parse("a = 3; b = a*a")
        let a = p.graph.input(named: "a")!
        let byNode = Trace(graph: p.graph, output: p.output, granularity: .node)
        #expect(byNode.steps.count == 1)
        #expect(byNode.edges.map(\.operand) == [0, 1])
        #expect(byNode.edges.map(\.accumulated) == [3, 6])
        #expect(byNode.completedAt[a] == 1)
        let byEdge = Trace(graph: p.graph, output: p.output, granularity: .edge)
        #expect(byEdge.steps.count == 2)
        #expect(byEdge.steps.map(\.node) == [p.output, p.output])
        #expect(byEdge.gradients(afterStep: 1)[a] == 3)
        #expect(byEdge.gradients(afterStep: 2)[a] == 6)
        #expect(byEdge.completedAt[a] == 2)
    }

    @Test("nodes the output does not depend on get gradient 0, no step, completedAt = Int.max")
    func unreachedNodes() throws {
        let p = try Program.parse("x = 1\ny = 2\nz = x*3\nw = y*5 + z\n", output: "z")
        let g = p.graph
        let y = g.input(named: "y")!, w = g.lookup("w")!
        let t = Trace(graph: g, output: p.output)
        #expect(t.gradients[y] == 0)
        #expect(t.gradients[w] == 0)
        #expect(t.gradients[g.input(named: "x")!] == 3)
        #expect(t.steps.map(\.node) == [p.output])
        #expect(!t.edges.contains { $0.input == y })
        #expect(t.completedAt[y] == .max)
        #expect(t.completedAt[w] == .max)
        #expect(t.gradients(afterStep: 1)[y] == 0)
        for id in (p.output + 1)..<g.count {
            #expect(t.gradients[id] == 0 && t.completedAt[id] == .max, "node \(id) after the output")
        }
    }

    @Test("completedAt: 0 for the output, the step of the last consumer for the others, and the gradient is final then")
    func completedAtSemantics() throws {
        for (label, g, out) in try allCases() {
            for granularity in [Granularity.node, .edge] { // .layer: see LayerGranularityTests
                let t = Trace(graph: g, output: out, granularity: granularity)
                let reach = reachable(g, from: out)
                #expect(t.completedAt.count == g.count)
                #expect(t.completedAt[out] == 0, "\(label)")
                // Independent recomputation from the ledger: the last step delivering an edge into the node.
                var lastInto = [Int](repeating: .max, count: g.count)
                for s in t.steps { for e in t.edges(of: s) { lastInto[e.input] = s.index } }
                for id in 0..<g.count where id != out {
                    if reach.contains(id) {
                        #expect(t.completedAt[id] == lastInto[id], "\(label) [\(granularity)]: node \(id)")
                        #expect(t.completedAt[id] >= 1 && t.completedAt[id] <= t.steps.count)
                        let at = t.gradients(afterStep: t.completedAt[id])[id]
                        #expect(at == t.gradients[id] || (at.isNaN && t.gradients[id].isNaN), "\(label): node \(id)")
                        // A node's own step(s) come after its gradient is complete.
                        if let own = t.steps.first(where: { $0.node == id }) {
                            #expect(own.index > t.completedAt[id], "\(label): node \(id)")
                        }
                    } else {
                        #expect(t.completedAt[id] == .max, "\(label): unreached node \(id)")
                        #expect(t.gradients[id] == 0)
                    }
                }
            }
        }
    }

    @Test("an output that is a leaf takes no step and has gradient 1")
    func leafOutput() throws {
        let p = try Program.parse("x = 4\ny = x*x\n", output: "x")
        let t = Trace(graph: p.graph, output: p.output)
        #expect(t.steps.isEmpty)
        #expect(t.gradients[p.output] == 1)
        #expect(t.gradients[p.graph.lookup("y")!] == 0)
        #expect(t.completedAt[p.output] == 0)
    }

    @Test("Graph.checkInvariants() finds nothing on every sample and random graph")
    func invariants() throws {
        let cases = try allCases()
        #expect(cases.count >= 10)
        for (label, g, _) in cases {
            #expect(g.checkInvariants().isEmpty, "\(label): \(g.checkInvariants())")
        }
    }

    @Test("ancestors and consumer counts match a worklist search")
    func ancestorsAndConsumers() throws {
        for (label, g, out) in try allCases() {
            let reach = reachable(g, from: out)
            let mask = g.ancestors(of: out)
            #expect(Set(mask.indices.filter { mask[$0] }) == reach, "\(label)")
            let counts = g.consumerCounts(towards: out)
            for id in 0..<g.count {
                let expected = reach.filter { $0 <= out }.reduce(0) { n, c in n + g[c].inputs.filter { $0 == id }.count }
                #expect(counts[id] == expected, "\(label): node \(id)")
            }
        }
    }

    @Test("a 10⁵-node chain built through the Value API traces without recursion")
    func longChain() {
        let n = 100_000
        let tape = Tape()
        let x = tape.input("x", 0.5)
        var v = x
        for _ in 0..<n { v = v * 1.00001 }
        let t = v.backward()
        // Oracle: the same product computed directly.
        var value = 0.5, derivative = 1.0
        for _ in 0..<n { value *= 1.00001; derivative *= 1.00001 }
        #expect(v.data == value)
        #expect(abs(x.grad - derivative) <= 1e-12 * derivative)
        #expect(abs(x.grad - Foundation.pow(1.00001, Double(n))) <= 1e-9 * x.grad)
        #expect(t.steps.count == n)
        #expect(Trace.gradients(graph: tape.graph, output: v.id)[x.id] == x.grad)
        let byEdge = Trace(graph: tape.graph, output: v.id, granularity: .edge)
        #expect(byEdge.steps.count == 2 * n)
    }
}
