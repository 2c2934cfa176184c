import Foundation
import Testing

/// Tensor programs through the command line: every command a user runs on them.
@Suite("tensor programs through the CLI", .serialized)
struct TensorCLITests {
    let classifier = "samples/tensors/softmax-classifier.grad"
    let bias = "samples/tensors/broadcast-bias.grad"

    func folder(_ name: String) throws -> URL {
        let d = try scratchDirectory().appendingPathComponent(name, isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    @Test(arguments: [
        ("A = [[1, 2, 3], [4, 5, 6]]; b = [1, 2]; L = sum(A + b)", ["<expr>:1:51: error", "[2, 3]", "[2]"]),
        ("A = [[1, 2, 3], [4, 5, 6]]; B = [[1, 2], [3, 4]]; L = sum(A @ B)", ["[2, 3]", "[2, 2]", "inner sizes 3 and 2"]),
        ("A = [[1, 2], [3]]; L = sum(A)", ["ragged", "[1]", "[2]"]),
        ("A = [[1, 2], [3, 4]]; L = sum(sum(A, 2))", ["axis 2", "[2, 2]"]),
        ("A = [[1, 2], [3, 4]]; y = [0, 5]; L = cross_entropy(A, y)", ["label 5", "2 classes"]),
        ("A = [[1, 2], [3, 4]]; L = sum(reshape(A, 3, 2))", ["[2, 2] (4 elements)", "[3, 2] (6 elements)"]),
        ("A = [[1, 2], [3, 4]]; L = A[2, 0]", ["index 2", "[2, 2]"]),
        ("A = [[1, 2], [3, 4]]; L = A * 2", ["has shape [2, 2]", "sum(L)"]),
        ("A = [[1, 2], [3, 4]]; L = sum(pick(A, [0, 1, 1]))", ["one label per row", "[3]"]),
        ("A = [[1, 2]; L = sum(A)", ["expected ',' or ']'"]),
        ("W = randn(3, 0); L = sum(W)", ["sizes are 1"]),
        ("A = [[1, 2], [3, 4]]; L = sum(softmax(A, -3))", ["axis -3", "[2, 2]"]),
    ])
    func shapeMistakesExit2WithLocatedMessages(_ program: String, _ words: [String]) throws {
        let r = try gradtrace(["grad", "-e", program])
        #expect(r.status == 2, "\(program): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("<expr>:1:"), "not located: \(r.stderr)")
        #expect(r.stderr.contains("^"), "no caret: \(r.stderr)")
        for w in words { #expect(r.stderr.contains(w), "'\(w)' missing from: \(r.stderr)") }
    }

    @Test func atTakesATensorOfTheInputsShape() throws {
        let ok = try gradtrace(["grad", "-e", "b = [0, 0]; L = sum(b * b)", "--at", "b=[1, -2]", "--json"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let grad = try #require((try json(ok.stdout)["inputs"] as? [String: Any])?["b"] as? [String: Any])
        #expect((grad["grad"] as? [String: Any])?["data"] as? [Double] == [2, -4])
        let bad = try gradtrace(["grad", "-e", "b = [0, 0]; L = sum(b * 3)", "--at", "b=[1, 2, 3]"])
        #expect(bad.status == 2 && bad.stdout.isEmpty && bad.stderr.contains("[2]") && bad.stderr.contains("[3]"), "\(bad.stderr)")
        let ragged = try gradtrace(["grad", "-e", "b = [0, 0]; L = sum(b * 3)", "--at", "b=[1, 2"])
        #expect(ragged.status == 2 && ragged.stderr.contains("--at b"), "\(ragged.stderr)")
        let scalar = try gradtrace(["grad", "-e", "x = 2; L = x * x", "--at", "x=[1, 2]"])
        #expect(scalar.status == 2 && scalar.stderr.contains("[2]"), "\(scalar.stderr)")
    }

    @Test func nonFiniteGradientsAreFlaggedAsForScalars() throws {
        let program = "x = [[1, 2], [3, 4]]; w = [1, 2]; v = [5]; L = sum(relu(log(x - 2)) * w) + sum(v)"   // relu(NaN) = 0: L stays finite
        let text = try gradtrace(["grad", "-e", program])
        #expect(text.status == 0)
        #expect(text.stdout.contains("warning: dL/dx passed through a NaN or an infinity"))
        #expect(!text.stdout.contains("dL/dv passed"))
        let j = try json(gradtrace(["grad", "-e", program, "--json"]).stdout)
        let inputs = try #require(j["inputs"] as? [String: Any])
        #expect((inputs["x"] as? [String: Any])?["nonfinite"] as? Bool == true)
        #expect((inputs["v"] as? [String: Any])?["nonfinite"] == nil)
        #expect((j["warnings"] as? [String])?.count == 1)   // x only: relu(NaN) is 0, so w and v never meet the NaN
    }

    @Test func traceJSONCarriesShapesFormulasAndReducedAxes() throws {
        let r = try gradtrace(["trace", bias, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        let nodes = try #require(j["nodes"] as? [[String: Any]])
        let b = try #require(nodes.first { $0["name"] as? String == "b" })
        #expect(b["shape"] as? [Int] == [3])
        let bg = try #require((b["grad"] as? [String: Any])?["data"] as? [Double])
        #expect(zip(bg, [3.2, -3.1, 8.1]).allSatisfy { abs($0 - $1) < 1e-12 } && bg.count == 3, "\(bg)")
        let edges = (j["steps"] as? [[String: Any]] ?? []).flatMap { $0["edges"] as? [[String: Any]] ?? [] }
        let bEdge = try #require(edges.first { ($0["input"] as? Int) == (b["id"] as? Int) })
        #expect(bEdge["reduced"] as? [Int] == [0])
        #expect(bEdge["local"] as? String == "∂L/∂b = ∂L/∂Z")
        let w = try #require(nodes.first { $0["name"] as? String == "W" })
        let wEdge = try #require(edges.first { ($0["input"] as? Int) == (w["id"] as? Int) })
        #expect(wEdge["local"] as? String == "∂L/∂W = Xᵀ · ∂L/∂(X @ W)")
        #expect(wEdge["shapes"] as? String == "[2, 3] = [2, 2]ᵀ · [2, 3]")
        #expect(((wEdge["contribution"] as? [String: Any])?["shape"] as? [Int]) == [2, 3])
        // Scalars stay numbers.
        #expect(abs((number(j["value"]) ?? 0) - 32.99) < 1e-9)
        let text = try gradtrace(["trace", bias])
        #expect(text.stdout.contains("Σ over rows: [2, 3] → [3]"))
    }

    @Test func checkReportsTheLargestErrorPerInputAndSamplesLargeTensors() throws {
        let r = try gradtrace(["check", classifier])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("3 of 3 inputs of L agree"))
        #expect(r.stdout.contains("not differentiable"))   // the labels
        let big = try gradtrace(["check", "-e", "W = randn(20, 30); x = randn(30); L = sum(tanh(W @ x))", "--seed", "3"])
        #expect(big.status == 0, "\(big.stdout)")
        #expect(big.stdout.contains("24 of 600") && big.stdout.contains("a fixed sample"))
    }

    @Test func everyDrawingCommandWorksOnATensorProgram() throws {
        let d = try folder("tensor-draw")
        for f in ["png", "svg", "pdf", "dot"] {
            let out = d.appendingPathComponent("b.\(f)").path
            let r = try gradtrace(["render", bias, "-o", out, "--rankdir", "TB"])
            #expect(r.status == 0, "\(f): \(r.stderr)")
            let again = d.appendingPathComponent("b2.\(f)").path
            _ = try gradtrace(["render", bias, "-o", again, "--rankdir", "TB"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: again)), "\(f) differs between runs")
        }
        let svg = try String(contentsOf: d.appendingPathComponent("b.svg"), encoding: .utf8)
        for w in ["Σ over rows: [2, 3] → [3]", "∂L/∂W = Xᵀ · ∂L/∂(X @ W)", "[2, 3] = [2, 2]ᵀ · [2, 3]", "value", "gradient", "8.1"] {
            #expect(svg.contains(w), "SVG lacks \(w)")
        }
        let frames = try gradtrace(["frames", classifier, "-o", d.appendingPathComponent("frames").path, "--format", "png"])
        #expect(frames.status == 0, "\(frames.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: d.appendingPathComponent("frames").path).filter { $0.hasSuffix(".png") }
        #expect(files.count == 4)   // steps 0…3
        for (name, args) in [("a.html", [String]()), ("a.svg", []), ("a.gif", ["--scale", "1"]), ("a.png", [])] {
            let r = try gradtrace(["animate", classifier, "-o", d.appendingPathComponent(name).path] + args)
            #expect(r.status == 0, "\(name): \(r.stderr)")
        }
        // The animated PNG holds every step: acTL says 4 frames (steps 0…3).
        let apng = [UInt8](try Data(contentsOf: d.appendingPathComponent("a.png")))
        let actl = try #require((0..<(apng.count - 12)).first { apng[$0..<($0 + 4)].elementsEqual("acTL".utf8) })
        #expect(apng[actl + 4..<actl + 8].elementsEqual([0, 0, 0, 4]))
        let grad = try gradtrace(["render", classifier, "-o", d.appendingPathComponent("c.png").path, "--color-by", "grad", "--theme", "dark"])
        #expect(grad.status == 0, "\(grad.stderr)")
        let refused = try gradtrace(["render", classifier, "-o", d.appendingPathComponent("x.png").path, "--collapse", "layer"])
        #expect(refused.status == 2 && refused.stderr.contains("tensor"), "\(refused.stderr)")
    }

    @Test func markdownFencesDrawTensorPrograms() throws {
        let d = try folder("tensor-md")
        let page = d.appendingPathComponent("page.md")
        try """
            # Bias

            ```gradtrace
            X = [[1, 2], [3, -1]]
            b = [0.5, -0.5]
            L = sum((X + b) ^ 2)
            ```
            """.write(to: page, atomically: true, encoding: .utf8)
        let out = d.appendingPathComponent("out/page.md")
        let r = try gradtrace(["markdown", page.path, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let md = try String(contentsOf: out, encoding: .utf8)
        #expect(md.contains(".svg") || md.contains(".png"))
        // at= takes tensor literals (commas inside brackets belong to the literal), of the input's shape.
        let withAt = d.appendingPathComponent("at.md")
        try "```gradtrace at=\"b=[1, -2], s=3\"\nb = [0, 0]\ns = 1\nL = sum(b * b) * s\n```\n\n```gradtrace at=\"b=[1, 2, 3]\"\nb = [0, 0]\nL = sum(b)\n```\n"
            .write(to: withAt, atomically: true, encoding: .utf8)
        let a = try gradtrace(["markdown", withAt.path, "-o", d.appendingPathComponent("out/at.md").path])
        #expect(a.status == 2 && a.stderr.contains("at.md:7:") && a.stderr.contains("shape [3] for 'b', which has shape [2]"), "\(a.stderr)")
        // Blocks that differ only in a tensor value's later elements, or in seed=, draw different images.
        let keyed = d.appendingPathComponent("keyed.md")
        let blocks = ["at=\"b=[1, 2]\"", "at=\"b=[1, 3]\"", "seed=1", "seed=2"].map { opts in
            "```gradtrace \(opts)\nb = [0, 0]\nW = randn(2, 2)\nL = sum(W @ b)\n```\n"
        }
        try blocks.joined(separator: "\n").write(to: keyed, atomically: true, encoding: .utf8)
        let k = try gradtrace(["markdown", keyed.path, "-o", d.appendingPathComponent("out/keyed.md").path])
        #expect(k.status == 0, "\(k.stderr)")
        let keyedOut = try String(contentsOf: d.appendingPathComponent("out/keyed.md"), encoding: .utf8)
        let names = Set(keyedOut.split(separator: "\n").filter { $0.hasPrefix("![") })
        #expect(names.count == 4, "\(keyedOut)")
        let bad = d.appendingPathComponent("bad.md")
        try "# x\n\n```gradtrace\nA = [[1, 2], [3, 4]]\nb = [1, 2, 3]\nL = sum(A + b)\n```\n".write(to: bad, atomically: true, encoding: .utf8)
        let e = try gradtrace(["markdown", bad.path, "-o", d.appendingPathComponent("out/bad.md").path])
        #expect(e.status != 0 && e.stderr.contains("bad.md:6:") && e.stderr.contains("[2, 2] and [3]"), "\(e.stderr)")
    }

    @Test func generateMLPTensorMatchesTheScalarDemo() throws {
        let s = try gradtrace(["generate", "mlp"])
        let t = try gradtrace(["generate", "mlp", "--tensor"])
        #expect(s.status == 0 && t.status == 0)
        #expect(t.stdout.contains("h1 = tanh(X @ W1 + b1)"))
        let d = try folder("tensor-gen")
        let sf = d.appendingPathComponent("s.grad"), tf = d.appendingPathComponent("t.grad")
        try s.stdout.write(to: sf, atomically: true, encoding: .utf8)
        try t.stdout.write(to: tf, atomically: true, encoding: .utf8)
        let sg = try json(gradtrace(["grad", sf.path, "--json"]).stdout)
        let tg = try json(gradtrace(["grad", tf.path, "--json"]).stdout)
        // The tensor product takes one fused multiply-add per term (the scalar engine rounds product and sum
        // separately), so the loss agrees to the last bits, not in every bit.
        let (sv, tv) = (try #require(number(sg["value"])), try #require(number(tg["value"])))
        #expect(abs(sv - tv) <= 1e-12 * max(1, abs(sv)), "\(sv) vs \(tv)")
        let w1 = try #require(((tg["inputs"] as? [String: Any])?["W1"] as? [String: Any])?["grad"] as? [String: Any])
        let rows = try #require(w1["data"] as? [[Double]])
        let scalar = try #require(sg["inputs"] as? [String: Any])
        for i in 0..<3 {
            for j in 0..<4 {
                let g = try #require(number((scalar["l1.n\(j).w\(i)"] as? [String: Any])?["grad"]))
                #expect(abs(rows[i][j] - g) <= 1e-12 * max(1, abs(g)), "W1[\(i), \(j)]")
            }
        }
    }
}
