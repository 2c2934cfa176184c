import Foundation
import Testing

/// Issue 12 through the command line: -o/--output and --result, refused contradictions, suggestions,
/// completion, help texts, --collapse on trace, gradients through NaN, and graphs read as JSON.
@Suite(.serialized)
struct ConventionsCLITests {
    func folder(_ name: String) throws -> URL {
        let d = try scratchDirectory().appendingPathComponent("conventions-" + name, isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    @Test func outputIsTheFileEverywhere() throws {
        let d = try folder("output")
        for (args, file) in [(["render", "samples/loss.grad"], "x.png"), (["render", "samples/loss.grad"], "x.svg"),
                             (["frames", "samples/loss.grad", "--format", "dot"], "fr"), (["animate", "samples/loss.grad"], "a.svg"),
                             (["generate", "mlp"], "m.grad"), (["markdown", "samples/docs/guide.md"], "g.md")] {
            for flag in ["-o", "--output"] {
                let out = d.appendingPathComponent(flag + file)
                let r = try gradtrace(args + [flag, out.path])
                #expect(r.status == 0, "\(args) \(flag): \(r.stderr)")
                #expect(exists(out), "\(args) \(flag) wrote nothing")
            }
        }
        // The old spellings are gone.
        #expect(try gradtrace(["render", "samples/loss.grad", "--output-file", d.appendingPathComponent("o.svg").path]).status == 2)
        #expect(try gradtrace(["markdown", "samples/docs/guide.md", "--out", d.appendingPathComponent("o.md").path]).status == 2)
    }

    @Test func resultPicksTheValue() throws {
        let r = try gradtrace(["grad", "samples/loss.grad", "--result", "u", "--json"])
        #expect(r.status == 0)
        #expect(number(try json(r.stdout)["value"]) == 6)
        let bad = try gradtrace(["trace", "samples/loss.grad", "--result", "nope"])
        #expect(bad.status == 2 && bad.stdout.isEmpty && bad.stderr.contains("--result"))
        // trace has no output file: --output there is a usage error, not a file written.
        #expect(try gradtrace(["trace", "samples/loss.grad", "--output", "u"]).status == 2)
    }

    @Test func contradictingExtensionsAreRefused() throws {
        let d = try folder("contradict")
        for (fmt, file) in [("svg", "y.png"), ("png", "y.svg"), ("dot", "y.pdf"), ("pdf", "y.dot")] {
            let out = d.appendingPathComponent(file)
            let r = try gradtrace(["render", "samples/loss.grad", "-o", out.path, "--format", fmt])
            #expect(r.status == 2, "\(file) --format \(fmt)")
            #expect(r.stdout.isEmpty && r.stderr.contains("--format"))
            #expect(!exists(out), "\(file) written anyway")
        }
        // Agreeing, or an extension that names no format, is fine.
        #expect(try gradtrace(["render", "samples/loss.grad", "-o", d.appendingPathComponent("ok.svg").path, "--format", "svg"]).status == 0)
        #expect(try gradtrace(["render", "samples/loss.grad", "-o", d.appendingPathComponent("ok.txt").path, "--format", "dot"]).status == 0)
        for name in ["fr.png", "fr.svg", "fr.gif"] {
            let out = d.appendingPathComponent(name)
            let r = try gradtrace(["frames", "samples/loss.grad", "-o", out.path])
            #expect(r.status == 2 && r.stdout.isEmpty, "frames -o \(name)")
            #expect(!exists(out), "frames made a folder \(name)")
        }
    }

    @Test func misspeltCommandsGetASuggestion() throws {
        for (typed, meant) in [("rendr", "render"), ("tarce", "trace"), ("grda", "grad"), ("animat", "animate"), ("markdwn", "markdown")] {
            let r = try gradtrace([typed, "samples/loss.grad"])
            #expect(r.status == 2 && r.stdout.isEmpty)
            #expect(r.stderr.contains("did you mean '\(meant)'"), "\(typed): \(r.stderr)")
        }
        let help = try gradtrace(["help", "rendr"])
        #expect(help.status == 2 && help.stderr.contains("did you mean 'render'"))
        #expect(try gradtrace(["help", "render"]).status == 0)
        let far = try gradtrace(["zzzzzzzz"])
        #expect(far.status == 2 && far.stderr.contains("the commands are"))
    }

    @Test func bashCompletionOffersFiles() throws {
        let r = try gradtrace(["--generate-completion-script", "bash"])
        #expect(r.status == 0)
        for command in ["render", "trace", "animate", "markdown"] {
            let start = try #require(r.stdout.range(of: "_gradtrace_\(command)() {"))
            let body = String(r.stdout[start.upperBound...].prefix { _ in true }.split(separator: "\n}\n", maxSplits: 1)[0])
            #expect(body.contains("1)\n        __gradtrace_add_completions -f"), "\(command): INPUT completes file names")
            if command != "trace" {
                let o = try #require(body.range(of: "'-o'|'--output')"), "\(command) has no -o completion")
                #expect(body[o.upperBound...].prefix(120).contains("__gradtrace_add_completions") && body[o.upperBound...].prefix(120).contains("f"))
            }
        }
    }

    @Test func helpMatchesTheCode() throws {
        let t = try gradtrace(["trace", "--help"])
        #expect(t.stdout.contains("per layer"))
        let r = try gradtrace(["render", "--help"])
        #expect(r.stdout.contains("per layer") && r.stdout.contains("--output <file>") && r.stdout.contains("--result"))
        let g = try gradtrace(["generate", "--help"])
        #expect(g.stdout.contains("linear"))
        #expect(try gradtrace(["generate", "mlp", "--activation", "linear"]).status == 0)
        let c = try gradtrace(["trace", "samples/mlp-demo.grad", "--collapse", "neuron"])
        #expect(c.status == 2 && c.stdout.isEmpty && c.stderr.contains("--collapse"))
    }

    @Test func gradientsThroughNaNAreFlagged() throws {
        let program = "x = -1\ny = log(x) * 2\n"
        let g = try gradtrace(["grad", "-e", program])
        #expect(g.status == 0)
        #expect(g.stdout.contains("dy/dx = -2\nwarning: dy/dx passed through a NaN or an infinity"))
        let t = try gradtrace(["trace", "-e", program])
        #expect(t.stdout.contains("warning: dy/dx passed through a NaN"))
        for command in ["grad", "trace"] {
            let j = try json(try gradtrace([command, "-e", program, "--json"]).stdout)
            let x = try #require((j["inputs"] as? [String: Any])?["x"] as? [String: Any])
            #expect(x["nonfinite"] as? Bool == true)
            #expect((j["warnings"] as? [String])?.count == 1)
        }
        // Infinity too, and only the inputs it touched.
        let inf = try json(try gradtrace(["grad", "-e", "a = 0\nb = 2\nc = 1/a + b*b\n", "--json"]).stdout)
        let ins = try #require(inf["inputs"] as? [String: [String: Any]])
        #expect(ins["a"]?["nonfinite"] as? Bool == true)
        // b's path passes through c = inf as well: flagged.
        #expect(ins["b"]?["nonfinite"] as? Bool == true)
        let clean = try gradtrace(["grad", "samples/loss.grad", "--json"])
        #expect(!clean.stdout.contains("nonfinite") && !clean.stdout.contains("warning"))
    }

    @Test func jsonGraphRoundTrip() throws {
        let d = try folder("json")
        let traced = try gradtrace(["trace", "samples/loss.grad", "--json"])
        let file = d.appendingPathComponent("loss.json")
        try Data(traced.stdoutBytes).write(to: file)
        let again = try gradtrace(["trace", file.path, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == traced.stdout, "trace --json of its own output differs")
        let piped = try gradtrace(["grad", "-", "--from", "json"], stdin: traced.stdoutBytes)
        #expect(piped.stdout == "L = 676\ndL/dx = 1872\ndL/dw = 1248\ndL/dtarget = -52\n")
        let at = try gradtrace(["grad", file.path, "--at", "w=4", "--result", "u"])
        #expect(at.stdout.hasPrefix("u = 8\n"), "\(at.stdout) \(at.stderr)")
        #expect(try gradtrace(["render", file.path, "-o", d.appendingPathComponent("loss.svg").path]).status == 0)
        #expect(try gradtrace(["check", file.path]).status == 0)
    }

    @Test func micrograds_opNames() throws {
        // o = tanh(x·w + b), a − b as a + b·(−1), a ** 2, ReLU, and leaves with op "".
        let graph = """
            {"output": 9, "nodes": [
             {"id": 0, "name": "x", "op": "", "inputs": [], "value": 2},
             {"id": 1, "name": "w", "op": "", "inputs": [], "value": -3},
             {"id": 2, "name": "b", "op": "", "inputs": [], "value": 6.8813735870195432},
             {"id": 3, "name": null, "op": "*", "inputs": [0, 1], "value": -6},
             {"id": 4, "name": "n", "op": "+", "inputs": [3, 2], "value": 0.8813735870195432},
             {"id": 5, "name": "o", "op": "tanh", "inputs": [4]},
             {"id": 6, "name": null, "op": "", "inputs": [], "value": -1},
             {"id": 7, "name": null, "op": "*", "inputs": [5, 6]},
             {"id": 8, "name": null, "op": "**2", "inputs": [7]},
             {"id": 9, "name": "r", "op": "ReLU", "inputs": [8]}
            ]}
            """
        let r = try gradtrace(["grad", "-", "--from", "json", "--json"], stdin: Data(graph.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        let ins = try #require(j["inputs"] as? [String: [String: Any]])
        let o = 0.7071067811865476, dr = 2 * o * (1 - o * o)  // d(o²)/dn
        #expect(abs((number(ins["w"]?["grad"]) ?? 0) - dr * 2) < 1e-12)
        #expect(abs((number(ins["x"]?["grad"]) ?? 0) + dr * 3) < 1e-12)
        #expect(j["output"] as? String == "r")
    }

    @Test("hostile JSON graphs: exit 2, nothing on stdout, the node named", arguments: [
        (#"{"nodes": [{"id": 0, "op": "input", "value": 1}, {"id": 1, "op": "frobnicate", "inputs": [0]}]}"#, "node 1: unknown op 'frobnicate'"),
        (#"{"nodes": [{"id": 0, "op": "add", "inputs": [1, 1]}, {"id": 1, "op": "neg", "inputs": [0]}]}"#, "cycle"),
        (#"{"nodes": [{"id": 0, "op": "input", "value": 1}, {"id": 1, "name": "y", "op": "neg", "inputs": [7]}]}"#, "node 1 ('y'): input 7 is not the id of any node"),
        (#"{"nodes": [{"id": 0, "op": "input", "value": 1}, {"id": 0, "op": "input", "value": 2}]}"#, "node id 0 appears twice"),
        (#"{"nodes": [{"id": 0, "op": "input", "value": 1}, {"id": 1, "op": "mul", "inputs": [0]}]}"#, "node 1: 'mul' takes 2 inputs, but 1 is given"),
        (#"{"nodes": [{"id": 0, "name": "x", "op": "input", "value": "two"}]}"#, "node 0 ('x'): \"value\" \"two\" is not a number"),
        (#"{"nodes": [{"id": 0, "name": "x", "op": "input", "value": true}]}"#, "node 0 ('x'): \"value\" must be a number or {\"shape\", \"data\"}, not a boolean"),
        (#"{"nodes": [{"id": 0, "name": "x", "op": "input"}]}"#, "node 0 ('x'): a leaf needs a numeric \"value\""),
        (#"{"nodes": [{"id": 0.5, "op": "input", "value": 1}]}"#, "nodes[0]: \"id\" 0.5 must be a whole number"),
        (#"{"nodes": [{"id": 0, "op": "input", "value": 1}, {"id": 1, "op": "**x", "inputs": [0]}]}"#, "node 1: '**x' needs a finite number"),
        (#"{"nodes": [{"id": 0, "op": "input", "value": 1, "inputs": [0]}]}"#, "node 0: a leaf takes 0 inputs"),
        (#"{"nodes": [{"id": 0, "op": "input", "value": 1}], "output": 5}"#, "\"output\": 5 is not the id of any node"),
        (#"{"nodes": []}"#, "no nodes"),
        (#"{"nodes": {}}"#, "\"nodes\""),
        (#"[1, 2]"#, "JSON object"),
        (#"{"nodes": [ {"id": 0, "#, "expected a key (a string in double quotes), found the end of the input"),
        (#"{"nodes": [{"id": 0, "op": "input", "value": 1e400}]}"#, "node 0: \"value\" 1e400 is out of range"),
        (#"{"nodes": [{"id": 0, "name": "\ud800", "op": "input", "value": 1}]}"#, "a lone UTF-16 surrogate \\uD800"),
        (#"{"nodes": [{"id": 0, "name": "a\nL = 0", "op": "input", "value": 1}]}"#, "node 0: \"name\": the name 'a\\u{A}L = 0' contains U+000A"),
        (#"{"nodes": [{"id": 0, "name": "x\u202e", "op": "input", "value": 1}]}"#, "contains U+202E RIGHT-TO-LEFT OVERRIDE"),
        (#"{"format": "gradtrace-graph/2", "nodes": [{"id": 0, "name": "W", "op": "input", "value": {"shape": [2, 3], "data": [[1, 2], [3, 4]]}}]}"#, "node 0 ('W'): \"value\": \"shape\" says [2, 3], but \"data\" holds rows of shape [2, 2]"),
        (#"{"format": "gradtrace-graph/2", "nodes": [{"id": 0, "name": "W", "op": "input", "value": {"shape": [2], "data": [1, 2]}}, {"id": 1, "op": "sum", "shape": [3], "inputs": [0]}]}"#, "node 1: \"shape\" says [3], but 'sum' of [2] gives []"),
        (#"{"format": "gradtrace-graph/2", "nodes": [{"id": 0, "name": "W", "op": "input", "value": {"shape": [2], "data": [1, 2]}}, {"id": 1, "op": "sum", "axis": 3, "inputs": [0]}]}"#, "node 1: \"axis\": 3 is out of range for shape [2]"),
        (#"{"format": "gradtrace-graph/2", "nodes": [{"id": 0, "name": "W", "op": "input", "value": {"shape": [2], "data": [1, 2]}}, {"id": 1, "op": "matmul", "axis": 0, "inputs": [0, 0]}]}"#, "node 1: 'matmul' takes no option \"axis\""),
        (#"{"format": "gradtrace-graph/2", "nodes": [{"id": 0, "name": "W", "op": "input", "value": {"shape": [2], "data": [1, 2]}}, {"id": 1, "op": "reshape", "to": [65536, 65536, 65536, 65536], "inputs": [0]}]}"#, "node 1: \"to\": [65536, 65536, 65536, 65536] has more than 16777216 elements"),
        (#"{"format": "gradtrace-graph/2", "nodes": [{"id": 0, "name": "W", "op": "input", "value": {"shape": [2], "data": [1, 2]}}, {"id": 1, "op": "fft", "inputs": [0]}]}"#, "node 1: unknown op 'fft'"),
        (#"{"format": "gradtrace-graph/2", "nodes": [{"id": 0, "name": "y", "op": "const", "dtype": "int", "value": {"shape": [2], "data": [0.5, 1]}}]}"#, "node 0 ('y'): \"value\" holds 0.5, but an integer tensor"),
        (#"{"format": "gradtrace-graph/2", "nodes": [{"id": 0, "name": "W", "op": "input", "value": {"shape": [2], "data": [1, 2]}}, {"id": 1, "op": "sum", "inputs": [1]}]}"#, "node 1: it is part of a cycle"),
        (#"{"format": "gradtrace-graph/9", "nodes": []}"#, "unknown \"format\" \"gradtrace-graph/9\""),
    ])
    func hostileJSON(text: String, message: String) throws {
        let r = try gradtrace(["trace", "-", "--from", "json"], stdin: Data(text.utf8))
        #expect(r.status == 2, "\(text)")
        #expect(r.stdout.isEmpty)
        // Errors of the JSON text are located (line:column, an excerpt, a caret); errors of the graph name the node.
        #expect(r.stderr.hasPrefix("gradtrace: error: <stdin>: ") || r.stderr.hasPrefix("<stdin>:1:"), "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }
}

/// Markdown authoring: src=, id=/ref=, width=, and the legend drawn once in a strip.
@Suite(.serialized)
struct MarkdownReuseCLITests {
    let fm = FileManager.default

    func docs() throws -> URL {
        let d = try scratchDirectory().appendingPathComponent("markdown-reuse", isDirectory: true)
        try? fm.removeItem(at: d)
        try fm.createDirectory(at: d.appendingPathComponent("docs/pages"), withIntermediateDirectories: true)
        try fm.createDirectory(at: d.appendingPathComponent("elsewhere"), withIntermediateDirectories: true)
        try Data(contentsOf: samples.appendingPathComponent("neuron.grad")).write(to: d.appendingPathComponent("docs/neuron.grad"))
        try Data("x = 1\ny = x\n".utf8).write(to: d.appendingPathComponent("elsewhere/secret.grad"))
        return d
    }

    @Test func srcRefAndWidth() throws {
        let d = try docs()
        let page = """
            # The neuron
            ```gradtrace src=../neuron.grad id=neuron width=480 alt="the neuron"
            ```
            Step 1 of the same program, at another input:
            ```gradtrace ref=neuron step=1 at="x1=1" width=60%
            ```
            ```gradtrace ref=neuron step=all
            ```

            """
        try Data(page.utf8).write(to: d.appendingPathComponent("docs/pages/neuron.md"))
        let r = try gradtrace(["markdown", d.appendingPathComponent("docs").path, "-o", d.appendingPathComponent("site").path])
        #expect(r.status == 0, "\(r.stderr)")
        let md = try String(contentsOf: d.appendingPathComponent("site/pages/neuron.md"), encoding: .utf8)
        let lines = md.split(separator: "\n").map(String.init)
        #expect(lines[1].hasPrefix("<img src=\"../assets/gradtrace-") && lines[1].hasSuffix("\" alt=\"the neuron\" width=\"480\">"), "\(lines[1])")
        #expect(lines[3].hasPrefix("<img src=\"../assets/gradtrace-") && lines[3].hasSuffix("width=\"60%\">"))
        #expect(lines.filter { $0.hasPrefix("<img ") && $0.contains("-step-") }.count > 3)
        // The src= image is exactly `gradtrace render` of that file within the column (a fence's default max-width).
        let still = try #require(lines[1].split(separator: "\"").dropFirst().first)
        let rendered = d.appendingPathComponent("neuron.svg")
        #expect(try gradtrace(["render", "samples/neuron.grad", "-o", rendered.path, "--max-width", "660"]).status == 0)
        #expect(try Data(contentsOf: rendered) == Data(contentsOf: d.appendingPathComponent("site/pages").appendingPathComponent(String(still))))
    }

    /// A `src=` file ending in .json is a graph as JSON (what the Python bridges write): the image is exactly
    /// `gradtrace render` of that file, and a broken one is refused at the fence.
    @Test func srcReadsGraphJSON() throws {
        let d = try docs()
        let graph = #"{"output": "L", "nodes": [{"id": 0, "name": "a", "op": "input", "value": 2}, {"id": 1, "name": "b", "op": "input", "value": -3}, {"id": 2, "name": "L", "op": "mul", "inputs": [0, 1]}]}"#
        try Data(graph.utf8).write(to: d.appendingPathComponent("docs/g.json"))
        try Data("```gradtrace src=../g.json\n```\n".utf8).write(to: d.appendingPathComponent("docs/pages/g.md"))
        let r = try gradtrace(["markdown", d.appendingPathComponent("docs").path, "-o", d.appendingPathComponent("site").path])
        #expect(r.status == 0, "\(r.stderr)")
        let md = try String(contentsOf: d.appendingPathComponent("site/pages/g.md"), encoding: .utf8)
        let image = try #require(md.split(separator: "(").dropFirst().first?.split(separator: ")").first)
        let rendered = d.appendingPathComponent("g.svg")
        #expect(try gradtrace(["render", d.appendingPathComponent("docs/g.json").path, "-o", rendered.path]).status == 0)
        #expect(try Data(contentsOf: rendered) == Data(contentsOf: d.appendingPathComponent("site/pages").appendingPathComponent(String(image))))
        try Data(#"{"nodes": [{"id": 0, "op": "mul", "inputs": [0]}]}"#.utf8).write(to: d.appendingPathComponent("docs/g.json"))
        try? fm.removeItem(at: d.appendingPathComponent("site"))
        let bad = try gradtrace(["markdown", d.appendingPathComponent("docs").path, "-o", d.appendingPathComponent("site").path])
        #expect(bad.status == 2 && bad.stderr.contains("pages/g.md:1:") && bad.stderr.contains("src=../g.json"), "\(bad.stderr)")
    }

    @Test("broken src= and ref=: located at the fence, exit 2, nothing written", arguments: [
        ("```gradtrace src=../../elsewhere/secret.grad\n```\n", "leaves the docs root"),
        ("```gradtrace src=missing.grad\n```\n", "cannot read"),
        ("```gradtrace ref=nope\n```\n", "no earlier block in this file has id=nope"),
        ("```gradtrace ref=later\n```\n```gradtrace id=later\nx = 1\n```\n", "no earlier block"),
        ("```gradtrace id=a\nx = 1\n```\n```gradtrace id=a\nx = 2\n```\n", "id=a is given twice"),
        ("```gradtrace src=../neuron.grad\nx = 1\n```\n", "leave the block's body empty"),
        ("```gradtrace src=../neuron.grad ref=a\n```\n", "either src= or ref="),
        ("```gradtrace width=wide\nx = 1\n```\n", "width=wide"),
    ])
    func brokenReuse(page: String, message: String) throws {
        let d = try docs()
        try Data(page.utf8).write(to: d.appendingPathComponent("docs/pages/bad.md"))
        let out = d.appendingPathComponent("site")
        let r = try gradtrace(["markdown", d.appendingPathComponent("docs").path, "-o", out.path])
        #expect(r.status == 2 && r.stdout.isEmpty)
        #expect(r.stderr.contains("pages/bad.md:") && r.stderr.contains(": error: ") && r.stderr.contains(message), "\(r.stderr)")
        #expect(!fm.fileExists(atPath: out.path))
    }

    @Test func rootWidensTheDocsRoot() throws {
        let d = try docs()
        try Data("```gradtrace src=../../elsewhere/secret.grad\n```\n".utf8).write(to: d.appendingPathComponent("docs/pages/up.md"))
        let r = try gradtrace(["markdown", d.appendingPathComponent("docs").path, "-o", d.appendingPathComponent("site").path, "--root", d.path])
        #expect(r.status == 0, "\(r.stderr)")
    }
}
