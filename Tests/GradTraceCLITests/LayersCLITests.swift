import Foundation
import Testing

/// The layer functions and modules through the command line: hostile calls exit 2 with located messages
/// naming the shapes and write nothing on stdout; the samples render with module boxes and collapse.
@Suite("layers and modules through the CLI", .serialized)
struct LayersCLITests {
    @Test(arguments: [
        ("x = randn(1, 1, 4, 4); W = randn(2, 1, 3, 3); L = sum(conv2d(x, W, stride=0))", ["stride=0"]),
        ("x = randn(1, 1, 2, 2); W = randn(2, 1, 5, 5); L = sum(conv2d(x, W, padding=1))", ["[2, 1, 5, 5]", "padded input [4, 4]", "[1, 1, 2, 2]"]),
        ("x = randn(1, 1, 4, 4); W = randn(2, 1, 3, 3); L = sum(conv2d(x, W, strid=2))", ["unknown keyword 'strid'", "stride, padding"]),
        ("x = randn(1, 1, 4, 4); W = randn(2, 1, 3, 3); L = sum(conv2d(x, W, padding=100000))", ["padding=100000"]),
        ("x = zeros(16, 64, 64, 64); W = zeros(64, 64, 9, 9); L = sum(conv2d(x, W, padding=4))", ["multiply-adds", "[16, 64, 64, 64]"]),
        ("a = randn(2, 3); b = randn(3, 3); L = sum(concat(a, b, axis=1))", ["[2, 3], [3, 3]"]),
        ("a = zeros(4096, 4096); L = sum(concat(a, a, a, a))", ["16777216"]),
        ("T = randn(4, 2); L = sum(embedding(T, [1, 4]))", ["id 4", "[4, 2]"]),
        ("T = randn(4, 2); L = sum(embedding(T, [0.5]))", ["id 0.5"]),
        ("x = [1, 2, 3]; L = sum(x[1:5])", ["slice 1:5", "[3]"]),
        ("x = [1, 2, 3]; L = sum(x[::0])", ["step is 1 or more"]),
        ("x = randn(2, 3); L = sum(x[:, 7:])", ["slice 7:", "[2, 3]"]),
        ("x = randn(1, 1, 3, 3); L = sum(max_pool2d(x, 2, stride=0))", ["stride=0"]),
        ("x = randn(1, 1, 3, 3); L = sum(max_pool2d(x, 4))", ["[4, 4]", "[3, 3]"]),
        ("x = randn(2, 3); L = sum(linear(x, randn(4, 2)))", ["[2, 3] has 3 features", "[4, 2]"]),
        ("x = randn(2, 3); L = sum(leaky_relu(x, slope=0.1))", ["unknown keyword 'slope'", "negative_slope"]),
        ("x = randn(2, 3); L = sum(layer_norm(x, eps=0.1, [1, 2, 3]))", ["positional argument after a keyword"]),
    ])
    func hostileCallsExit2WithLocatedMessages(_ program: String, _ words: [String]) throws {
        let r = try gradtrace(["grad", "-e", program])
        #expect(r.status == 2, "\(program): \(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("<expr>:1:"), "not located: \(r.stderr)")
        #expect(r.stderr.contains("^"), "no caret: \(r.stderr)")
        for w in words { #expect(r.stderr.contains(w), "'\(w)' missing from: \(r.stderr)") }
    }

    @Test func transformerBoxesItsModulesAndCollapsesThem() throws {
        let f = "samples/tensors/transformer-block.grad"
        let boxed = try gradtrace(["render", f, "--clusters", "-f", "dot", "-o", "-"])
        #expect(boxed.status == 0, "\(boxed.stderr)")
        for m in ["attn", "attn.q", "mlp.fc1", "ln1"] { #expect(boxed.stdout.contains("label=\"\(m)\""), "no box \(m)") }
        let full = try gradtrace(["render", f, "-f", "dot", "-o", "-"])
        let collapsed = try gradtrace(["render", f, "--collapse", "module", "-f", "dot", "-o", "-"])
        #expect(collapsed.status == 0, "\(collapsed.stderr)")
        let edges = { (s: String) in s.components(separatedBy: " -> ").count - 1 }
        #expect(edges(collapsed.stdout) < edges(full.stdout))
        #expect(collapsed.stdout.contains("module attn") && collapsed.stdout.contains("module mlp"))
        // The collapsed view's edges into a module carry the sum of what they stand for: ln1.out feeds q, k and v.
        #expect(collapsed.stdout.contains("∂L/∂ln1.out = ∂L/∂attn carried back through attn"))
    }

    /// The player of a collapsed pass carries each module expanded too: one picture per module (both
    /// directions), click targets on the module nodes and on each expanded module's box, a module picker,
    /// and the step map between views. Same bytes on every run.
    @Test func playerCarriesEachModuleExpanded() throws {
        let dir = try scratchDirectory().appendingPathComponent("player-modules", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let html = dir.appendingPathComponent("tb.html").path
        let r = try gradtrace(["animate", "samples/tensors/transformer-block.grad", "--collapse", "module", "-o", html])
        #expect(r.status == 0, "\(r.stderr)")
        let first = try String(contentsOfFile: html, encoding: .utf8)
        #expect(try gradtrace(["animate", "samples/tensors/transformer-block.grad", "--collapse", "module", "-o", html]).status == 0)
        #expect(try String(contentsOfFile: html, encoding: .utf8) == first, "the player is not the same bytes run to run")
        func count(_ s: String) -> Int { first.components(separatedBy: s).count - 1 }
        // Three views (all collapsed, attn expanded, mlp expanded), each in both directions.
        for v in 0..<3 { #expect(count("data-view=\"\(v)\"") == 2, "view \(v)") }
        #expect(count("data-view=\"3\"") == 0)
        #expect(first.contains("<option value=\"\">all collapsed</option><option value=\"attn\">attn expanded</option><option value=\"mlp\">mlp expanded</option>"))
        // Targets: attn and mlp expand from view 0; in view 1 attn's box (9 operations, 4 weights) collapses and mlp expands.
        let layouts: [String] = Array(first.components(separatedBy: "<div class=\"layout\"").dropFirst())
        func targets(_ layout: String) -> [String] {
            layout.components(separatedBy: "<g class=\"gt-").dropFirst().filter { !$0.hasPrefix("modules") }.map { part in
                let kind = part.prefix { $0 != "\"" }
                let module = part.components(separatedBy: "data-module=\"")[1].prefix { $0 != "\"" }
                let inner = part.prefix { $0 != ">" }.components(separatedBy: "data-inner=\"").dropFirst().first?.prefix { $0 != "\"" }
                return "\(kind) \(module)" + (inner.map { " \($0.split(separator: ";").count)" } ?? "")
            }
        }
        #expect(targets(layouts[0]) == ["expand attn", "expand mlp"])
        #expect(targets(layouts[2]) == ["collapse attn 13", "expand mlp"])
        #expect(targets(layouts[4]) == ["collapse mlp 7", "expand attn"])
        // The expanded module is boxed with its name.
        #expect(layouts[2].contains(">attn</text>"))
        // Step maps: the collapsed attn step (full steps 8…16) opens as nine steps.
        #expect(first.contains("\"source\":[0,1,2,3,6,7,8,17]"))
        #expect(first.contains("\"source\":[0,1,2,3,6,7,8,9,10,11,12,13,14,15,16,17]"))
        // Without --collapse: one view, no targets, no picker.
        #expect(try gradtrace(["animate", "samples/tensors/transformer-block.grad", "-o", html]).status == 0)
        let plain = try String(contentsOfFile: html, encoding: .utf8)
        #expect(!plain.contains("class=\"gt-expand") && !plain.contains("<select") && !plain.contains("data-view=\"1\""))
    }

    /// `--collapse module:2` merges one level deeper: attn's output projection becomes its own node, the MLP's
    /// single-operation modules stay drawn, and the parameters keep their gradient heatmaps on the edges into it.
    @Test func collapseToADepth() throws {
        let f = "samples/tensors/transformer-block.grad"
        let one = try gradtrace(["render", f, "--collapse", "module", "-f", "dot", "-o", "-"])
        let two = try gradtrace(["render", f, "--collapse", "module:2", "-f", "dot", "-o", "-"])
        #expect(two.status == 0, "\(two.stderr)")
        #expect(one.stdout == (try gradtrace(["render", f, "--collapse", "module:1", "-f", "dot", "-o", "-"])).stdout)
        #expect(two.stdout.contains("module attn.out\\n") && two.stdout.contains("module attn\\n"))
        #expect(!two.stdout.contains("module mlp") && two.stdout.contains("mlp.fc1 = linear"))
        #expect(two.stdout.contains("∂L/∂attn.out.weight = ∂L/∂attn.out carried back through attn.out"))
        // Deeper than any module: nothing merges beyond depth 2's modules, still a picture.
        let deep = try gradtrace(["render", f, "--collapse", "module:3", "-f", "dot", "-o", "-"])
        #expect(deep.status == 0 && deep.stdout.contains("module attn.out"))
        for bad in ["module:0", "module:17", "module:", "module:x", "modules"] {
            let r = try gradtrace(["render", f, "--collapse", bad, "-f", "dot", "-o", "-"])
            #expect(r.status == 2 && r.stdout.isEmpty && r.stderr.contains("--collapse <neuron|layer|module|module:N>"), "\(bad): \(r.stderr)")
        }
        // On a scalar network, module:2 groups two name levels, as neuron does.
        let mlp = "samples/mlp-demo.grad"
        let neuron = try gradtrace(["render", mlp, "--collapse", "neuron", "-f", "dot", "-o", "-"])
        let module2 = try gradtrace(["render", mlp, "--collapse", "module:2", "-f", "dot", "-o", "-"])
        #expect(neuron.status == 0 && neuron.stdout == module2.stdout)
        // The fences take the same text: a Markdown block with collapse=module:2 draws the same picture.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gradtrace-collapse-\(getpid())", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let md = dir.appendingPathComponent("c.md")
        let source = try String(contentsOfFile: f, encoding: .utf8)
        try "```gradtrace collapse=module:2 format=svg\n\(source)```\n\n```gradtrace collapse=module:9 format=svg\nx = 2\nL = x * x\n```\n".write(to: md, atomically: true, encoding: .utf8)
        let r = try gradtrace(["markdown", md.path, "-o", dir.appendingPathComponent("out.md").path])
        #expect(r.status == 2 && r.stderr.contains("c.md:40:14:") && r.stderr.contains("nothing to collapse"), "\(r.stderr)")
        try "```gradtrace collapse=module:2 format=svg\n\(source)```\n".write(to: md, atomically: true, encoding: .utf8)
        let ok = try gradtrace(["markdown", md.path, "-o", dir.appendingPathComponent("out.md").path])
        #expect(ok.status == 0, "\(ok.stderr)")
        let svg = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".svg") }
        #expect(svg.count == 1)
        if let s = svg.first {
            let text = try String(contentsOfFile: dir.appendingPathComponent(s).path, encoding: .utf8)
            #expect(text.contains("module attn.out"))
        }
    }
}

extension LayersCLITests {
    /// `gradtrace functions` lists every registry function with its options, read from the table.
    @Test func functionsListsTheRegistry() throws {
        let r = try gradtrace(["functions"])
        #expect(r.status == 0, "\(r.stderr)")
        for usage in ["conv2d(x, weight, [bias], stride=1, padding=0)", "max_pool2d(x, kernel_size, stride=kernel_size)",
                      "leaky_relu(x, negative_slope=0.01)", "embedding(weight, ids)", "softmax(x, axis=-1)", "concat(tensors…, axis=0)"] {
            #expect(r.stdout.contains(usage), "missing \(usage)")
        }
        let one = try gradtrace(["functions", "gelu"])
        #expect(one.stdout.hasPrefix("gelu(x)") && !one.stdout.contains("conv2d"))
        let bad = try gradtrace(["functions", "gelux"])
        #expect(bad.status == 2 && bad.stdout.isEmpty && bad.stderr.contains("unknown function 'gelux'"))
    }
}
