import Foundation
import Testing

/// Graph JSON through the command line: tensor graphs both ways, reference gradients, and the reader's limits.
@Suite("graph JSON through the CLI", .serialized)
struct GraphJSONCLITests {
    func folder(_ name: String) throws -> URL {
        let d = try scratchDirectory().appendingPathComponent(name, isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    @Test("a tensor trace --json reads back byte for byte, and grad on it equals grad on the program",
          arguments: ["broadcast-bias", "mlp-demo", "softmax-classifier"])
    func tensorTraceRoundTrips(_ sample: String) throws {
        let d = try folder("json-\(sample)")
        let program = "samples/tensors/\(sample).grad"
        let a = try gradtrace(["trace", program, "--json"])
        #expect(a.status == 0, "\(a.stderr)")
        let file = d.appendingPathComponent("a.json")
        try a.stdout.write(to: file, atomically: true, encoding: .utf8)
        let b = try gradtrace(["trace", file.path, "--json"])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(b.stdout == a.stdout)
        let g1 = try gradtrace(["grad", program, "--json"]), g2 = try gradtrace(["grad", file.path, "--json"])
        #expect(g1.status == 0 && g2.status == 0 && g1.stdout == g2.stdout)
    }

    /// A version-2 file as a bridge writes it: roles, dtype, module, options, and the framework's gradients.
    func bridgeGraph(biasGradient: Double) -> String {
        #"""
        {"format": "gradtrace-graph/2", "output": "loss", "source": {"framework": "hand", "version": "1"},
         "nodes": [
          {"id": 0, "name": "X", "op": "const", "role": "input", "value": {"shape": [2, 2], "data": [[1, 2], [3, -1]]}},
          {"id": 1, "name": "fc.W", "op": "input", "role": "parameter", "module": "fc", "value": {"shape": [2, 3], "data": [[0.5, -1, 2], [1, 0.5, -0.5]]}},
          {"id": 2, "name": "fc.b", "op": "input", "role": "parameter", "module": "fc", "value": {"shape": [3], "data": [0.1, 0.2, 0.3]}},
          {"id": 3, "name": "y", "op": "const", "role": "labels", "dtype": "int", "value": {"shape": [2], "data": [2, 0]}},
          {"id": 4, "op": "matmul", "inputs": [0, 1], "module": "fc", "shape": [2, 3]},
          {"id": 5, "name": "fc", "op": "add", "inputs": [4, 2], "module": "fc"},
          {"id": 6, "op": "log_softmax", "axis": 1, "inputs": [5], "unknown": {"deep": [[[{}]]]}},
          {"id": 7, "name": "loss", "op": "cross_entropy", "inputs": [5, 3]}
         ],
         "reference": {"grads": {"fc.b": {"shape": [3], "data": [\#(biasGradient), 0.5, -0.4]}}, "tolerance": 1e-9}}
        """#
    }

    @Test func referenceGradientsAreComparedByCheck() throws {
        let d = try folder("json-reference")
        // GradTrace's own gradient of fc.b first, then the same file with it as the reference.
        let probe = d.appendingPathComponent("probe.json")
        try bridgeGraph(biasGradient: 0).write(to: probe, atomically: true, encoding: .utf8)
        let g = try gradtrace(["grad", probe.path, "--json"])
        #expect(g.status == 0, "\(g.stderr)")
        let inputs = try #require(try json(g.stdout)["inputs"] as? [String: Any])
        #expect(inputs.keys.sorted() == ["fc.W", "fc.b"])  // X and y are constants
        let b = try #require(((inputs["fc.b"] as? [String: Any])?["grad"] as? [String: Any])?["data"] as? [Double])
        let good = d.appendingPathComponent("good.json"), bad = d.appendingPathComponent("bad.json")
        try bridgeGraph(biasGradient: b[0]).write(to: good, atomically: true, encoding: .utf8)
        var text = try String(contentsOf: good, encoding: .utf8)
        text = text.replacingOccurrences(of: "0.5, -0.4]", with: "\(b[1]), \(b[2])]")
        try text.write(to: good, atomically: true, encoding: .utf8)
        let ok = try gradtrace(["check", good.path])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.contains("all 1 reference gradients (hand 1) agree"), "\(ok.stdout)")
        try text.replacingOccurrences(of: "\(b[1])", with: "\(b[1] + 0.5)").write(to: bad, atomically: true, encoding: .utf8)
        let no = try gradtrace(["check", bad.path])
        #expect(no.status == 1, "\(no.stdout)\(no.stderr)")
        #expect(no.stdout.contains("DIFFERS") && no.stdout.contains("'fc.b'"), "\(no.stdout)")
        // A reference for an input the graph does not have is bad input, not a failed check.
        try text.replacingOccurrences(of: "\"fc.b\": {\"shape\"", with: "\"fc.c\": {\"shape\"").write(to: bad, atomically: true, encoding: .utf8)
        let unknown = try gradtrace(["check", bad.path])
        #expect(unknown.status == 2 && unknown.stdout.isEmpty && unknown.stderr.contains("'fc.c'"), "\(unknown.stderr)")
    }

    @Test func deepNestingIsRefusedQuicklyAndUnknownKeysAreSkipped() throws {
        let d = try folder("json-deep")
        // 500 nested arrays holding 5,000 empty objects under an ignored key: once 44 s (issue 22, point 3).
        let deep = d.appendingPathComponent("deep.json")
        let text = #"{"nodes":[{"id":0,"op":"input","value":1,"x":"# + String(repeating: "[", count: 501)
            + Array(repeating: "{}", count: 5000).joined(separator: ",") + String(repeating: "]", count: 501) + "}]}"
        try text.write(to: deep, atomically: true, encoding: .utf8)
        let start = Date()
        let r = try gradtrace(["grad", deep.path])
        #expect(Date().timeIntervalSince(start) < 5)
        #expect(r.status == 2 && r.stderr.contains("nested more than 64 levels"), "\(r.stderr)")
        // The same breadth, shallow, under an unknown key: skipped without being built.
        let wide = d.appendingPathComponent("wide.json")
        try (#"{"nodes":[{"id":0,"name":"x","op":"input","value":1,"x":[[["# + Array(repeating: "{}", count: 5000).joined(separator: ",")
             + #"]]]}], "steps": [{"a": "\u00e9\n"}]}"#).write(to: wide, atomically: true, encoding: .utf8)
        let w = try gradtrace(["grad", wide.path])
        #expect(w.status == 0 && w.stdout.contains("x = 1"), "\(w.stderr)")
    }

    @Test func atOverridesATensorInputOfAGraphFile() throws {
        let d = try folder("json-at")
        let file = d.appendingPathComponent("g.json")
        try bridgeGraph(biasGradient: 0).write(to: file, atomically: true, encoding: .utf8)
        let r = try gradtrace(["grad", file.path, "--at", "fc.b=[0, 0, 0]", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let wrong = try gradtrace(["grad", file.path, "--at", "fc.b=[0, 0]"])
        #expect(wrong.status == 2 && wrong.stderr.contains("[3]"), "\(wrong.stderr)")
    }
}
