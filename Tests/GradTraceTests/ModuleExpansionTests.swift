import Foundation
import Testing
import GradTrace

/// A collapsed tensor view with one module expanded (what the HTML player shows when a module is clicked):
/// its operations come back with the full pass's own steps and gradients, the other modules stay one node,
/// and every view says which full steps each of its steps stands for.
@Suite struct ModuleExpansionTests {
    /// attn (two linear layers and a tanh) and mlp (two operations) read one after the other.
    let source = """
        x = [[1, -2, 0.5], [0.3, 0.7, -1]]
        attn.q.weight = [[0.2, -0.1, 0.4], [0.5, 0.3, -0.2], [-0.3, 0.1, 0.6]]
        attn.v.weight = [[0.1, 0.2, -0.3], [0.4, -0.5, 0.2], [0.3, 0.3, 0.1]]
        attn.q = linear(x, attn.q.weight)
        attn.out = linear(tanh(attn.q), attn.v.weight)
        mlp.fc = linear(attn.out, attn.q.weight)
        mlp.act = gelu(mlp.fc)
        L = sum(mlp.act * mlp.act)
        """

    func traces() throws -> (full: TensorTrace, collapsed: TensorTrace, attn: TensorTrace) {
        let p = try Program.parse(source)
        let t = try #require(p.tensor)
        let full = TensorTrace(graph: t.graph, output: t.output)
        let collapsed = try #require(full.collapsedModules(depth: 1))
        let attn = try #require(full.collapsedModules(depth: 1, expanding: ["attn"]))
        return (full, collapsed, attn)
    }

    @Test func expandedModuleKeepsItsOwnSteps() throws {
        let (full, collapsed, attn) = try traces()
        let view = try #require(collapsed.collapse)
        #expect(view.merged == ["attn", "mlp"])
        #expect(view.expanded.isEmpty)
        let open = try #require(attn.collapse)
        #expect(open.merged == ["mlp"])
        #expect(open.expanded.map(\.name) == ["attn"])
        // attn's three operations (q, tanh, out) are steps of their own again: two more than the collapsed view.
        #expect(attn.steps.count == collapsed.steps.count + 2)
        #expect(full.steps.count == attn.steps.count + 1)   // mlp's two operations are still one step
        // The expanded module lists its drawn nodes: three operations and its two weights.
        let members = open.expanded[0].members.map { attn.graph.name(of: $0) ?? "(unnamed)" }
        #expect(Set(members) == ["attn.q", "attn.q.weight", "attn.v.weight", "attn.out", "(unnamed)"], "\(members)")
        // The expanded operations carry the full pass's gradients, element for element.
        for name in ["attn.q", "attn.out"] {
            let a = try #require(attn.graph.input(named: name) ?? (0..<attn.graph.count).first { attn.graph.name(of: $0) == name })
            let f = try #require((0..<full.graph.count).first { full.graph.name(of: $0) == name })
            #expect(attn.gradients[a] == full.gradients[f], "\(name)")
        }
    }

    @Test func stepsMapBetweenViews() throws {
        let (full, collapsed, attn) = try traces()
        let c = try #require(collapsed.collapse).sourceSteps, a = try #require(attn.collapse).sourceSteps
        #expect(c.count == collapsed.steps.count + 1 && a.count == attn.steps.count + 1)
        #expect(c[0] == 0 && a[0] == 0)
        // Strictly increasing, and within the full pass's steps 1…N.
        for s in [c, a] {
            #expect(zip(s.dropFirst(), s.dropFirst(2)).allSatisfy { $0 < $1 })
            #expect(s.dropFirst().allSatisfy { $0 >= 1 && $0 <= full.steps.count })
        }
        // The collapsed attn step stands for three full steps; expanded, each of them is a step.
        let attnNode = try #require((0..<collapsed.graph.count).first { collapsed.graph.name(of: $0) == "attn" })
        let k = try #require(collapsed.steps.firstIndex { $0.node == attnNode })
        let range = c[k + 1]..<(k + 2 < c.count ? c[k + 2] : full.steps.count + 1)
        #expect(range.count == 3)
        #expect(range.allSatisfy { a.contains($0) })
        // Nothing to expand that is not collapsed: a module name that is not merged changes nothing.
        #expect(full.collapsedModules(depth: 1, expanding: ["nothing"])?.collapse?.merged == ["attn", "mlp"])
    }
}
