import Testing
import GradTrace

/// A program exposes its real graph's structure, whichever engine runs it: a tensor program's three-input
/// `linear` keeps every operand (the scalar outline it replaced kept two), and what reads structure
/// (grouping, names, the layout estimate) sees the same graph the tensor trace ran on.
@Suite struct GraphStructureTests {
    let source = """
        x = [[1, -2, 0.5], [0.3, 0.7, -1]]
        fc.weight = [[0.2, -0.1, 0.4], [0.5, 0.3, -0.2]]
        fc.bias = [0.1, -0.1]
        fc = linear(x, fc.weight, fc.bias)
        L = sum(tanh(fc) * 2)
        """

    @Test func aTensorProgramsStructureIsItsTensorGraph() throws {
        let p = try Program.parse(bytes: Array(source.utf8), values: [:])
        let t = try #require(p.tensor)
        let s = p.structure
        #expect(s.count == t.graph.count)
        let fc = try #require(s.nameIndex.lookup("fc"))
        #expect(s.inputs(of: fc) == t.graph[fc].inputs)
        #expect(s.inputs(of: fc).count == 3)
        #expect(s.inputs(of: fc).compactMap { s.name(of: $0) } == ["x", "fc.weight", "fc.bias"])
        #expect(s.inputIDs.compactMap { s.name(of: $0) } == ["x", "fc.weight", "fc.bias"])
        #expect(!s.isLeaf(fc) && s.isInput(s.inputIDs[0]))
        // Every node the loss depends on, the bias included (through linear's third operand).
        let mask = s.ancestors(of: t.output)
        #expect(mask[try #require(s.nameIndex.lookup("fc.bias"))])
        // The pass is the drawing layer's one source of structure: the same graph.
        let pass = try PassRequest().pass(for: p)
        #expect(pass.structure.count == t.graph.count && pass.tensorTrace != nil)
        // The layout estimate counts the bias edge: x, the weight, the bias, fc, tanh, ·2, sum (the constant 2 drawn
        // in its consumer's title): 6 edges among 7 boxes.
        let e = Scene.layoutEstimate(graph: s, output: t.output)
        #expect(e.nodes == 7 && e.edges == 6, "\(e)")
    }

    @Test func aScalarProgramsStructureIsItsGraph() throws {
        let p = try Program.parse("x = 2\nw = 3\nu = w * x\nL = (u^2 - 10)^2\n")
        #expect(p.tensor == nil)
        #expect(p.structure.count == p.graph.count)
        #expect(p.structure.inputs(of: p.output) == p.graph[p.output].inputs)
        // A constant is named by its number in both tables.
        let c = try #require((0..<p.graph.count).first { p.graph[$0].op == .constant })
        #expect(NameTable(structure: p.structure).name(of: c) == NameTable(graph: p.graph).name(of: c))
    }
}
