import Foundation
@testable import GradTrace
import Testing

private let samplesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("samples")

struct ForwardTests {
    @Test func seedThreePipelineTangents() throws {
        let p = try Program.parse("x = 1\nu = 3*x\nv = u + 1\nh = v^2\n")
        let x = try #require(p.graph.input(named: "x"))
        let f = ForwardTrace(graph: p.graph, output: p.output, wrt: x)
        let t = { (n: String) in f.tangents[p.graph.lookup(n)!] }
        #expect(t("u") == 3 && t("v") == 3 && t("h") == 24)
        #expect(f.steps.map(\.node) == f.steps.map(\.node).sorted(), "forward steps run in topological order")
        #expect(f.steps.last?.node == p.output)
        let scene = Scene(graph: p.graph, forward: f, wiggle: nil, step: f.steps.count)
        #expect(scene.caption == "dh/dx = 2v · dv/dx = 8 · 3 = 24")
        #expect(scene.edges.contains { $0.lines.first?.hasPrefix("×8") == true })
    }

    /// Forward mode is its own propagation; it must agree with reverse mode on every sample and input.
    @Test func forwardEqualsReverseOnEverySample() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: samplesDir.path).filter { $0.hasSuffix(".grad") }.sorted()
        #expect(files.count >= 10)
        var checked = 0
        for file in files {
            let text = try String(contentsOf: samplesDir.appendingPathComponent(file), encoding: .utf8)
            let p = try Program.parse(text, file: file)
            let reverse = Trace.gradients(graph: p.graph, output: p.output)
            for x in p.graph.inputIDs where x <= p.output {
                let f = ForwardTrace(graph: p.graph, output: p.output, wrt: x)
                let want = reverse[x], got = f.tangents[p.output]
                #expect(abs(got - want) <= 1e-12 * max(1, abs(want)), "\(file) wrt \(p.graph.name(of: x)!): \(got) vs \(want)")
                checked += 1
            }
        }
        #expect(checked >= 20)
    }

    @Test func wiggleSeedTwo() throws {
        let p = try Program.parse("x = 1\ny = (2*x + 1)^2\n")
        let x = try #require(p.graph.input(named: "x"))
        let w = Wiggle(graph: p.graph, wrt: x, h: 0.01)
        let f = ForwardTrace(graph: p.graph, output: p.output, wrt: x)
        #expect(abs(w.values[p.output] - 9.1204) < 1e-12)
        #expect(abs(p.graph[p.output].value + f.tangents[p.output] * 0.01 - 9.12) < 1e-12)
        var out = ""
        Report.forwardJSON(graph: p.graph, forward: f, outputName: "y", wiggle: w, to: &out)
        let json = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        let nodes = json["nodes"] as! [[String: Any]]
        let y = nodes.first { $0["name"] as? String == "y" }!
        #expect(abs((y["wiggled"] as! NSNumber).doubleValue - 9.1204) < 1e-9)
        #expect((y["tangent"] as! NSNumber).doubleValue == 12)
    }

    @Test func nodesOffThePathHaveZeroTangentAndNoStep() throws {
        let p = try Program.parse("x = 1\ny = 2\na = x * 3\nb = y * 4\nz = a + b\n")
        let y = try #require(p.graph.input(named: "y"))
        let f = ForwardTrace(graph: p.graph, output: p.output, wrt: y)
        #expect(f.tangents[p.graph.lookup("a")!] == 0)
        #expect(!f.steps.contains { $0.node == p.graph.lookup("a")! })
        #expect(f.tangents[p.output] == 4)
        let s = Scene(graph: p.graph, forward: f, wiggle: nil, step: 1)
        #expect(s.nodes.first { $0.id == p.graph.lookup("a")! }?.gradText.contains("no path") == true)
    }
}
