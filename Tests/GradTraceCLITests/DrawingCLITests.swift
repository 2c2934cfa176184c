import Foundation
import Testing
#if canImport(FoundationXML)
import FoundationXML
#endif

/// render, frames and animate through the command line, as a user runs them.
@Suite(.serialized)
struct DrawingCLITests {
    func folder(_ name: String) throws -> URL {
        let d = try scratchDirectory().appendingPathComponent(name, isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func bytes(_ url: URL) throws -> Data { try Data(contentsOf: url) }

    @Test func renderEveryFormatTwiceGivesTheSameBytes() throws {
        let d = try folder("render")
        for f in ["dot", "svg", "png", "pdf"] {
            let a = d.appendingPathComponent("a.\(f)"), b = d.appendingPathComponent("b.\(f)")
            for u in [a, b] {
                let r = try gradtrace(["render", "samples/loss.grad", "-o", u.path, "--title", #"Loss & "gradient" <demo> \ back"#])
                #expect(r.status == 0, "\(f): \(r.stderr)")
            }
            #expect(try bytes(a) == bytes(b), "\(f) differs between runs")
        }
        let dot = String(decoding: try bytes(d.appendingPathComponent("a.dot")), as: UTF8.self)
        for n in ["676", "52", "624", "1248"] { #expect(dot.contains(n)) }
        _ = try XMLDocument(data: bytes(d.appendingPathComponent("a.svg")))
    }

    @Test func renderToStandardOutput() throws {
        let r = try gradtrace(["render", "samples/loss.grad", "-o", "-", "--format", "dot"])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("digraph"))
        let bad = try gradtrace(["render", "samples/loss.grad", "-o", "-"])
        #expect(bad.status == 2 && bad.stdout.isEmpty && bad.stderr.contains("--format"))
    }

    @Test func stepsAndTheirLimits() throws {
        let d = try folder("steps")
        var outs: [Data] = []
        for s in ["0", "1", "3"] {
            let u = d.appendingPathComponent("s\(s).dot")
            #expect(try gradtrace(["render", "samples/micrograd-chain.grad", "-o", u.path, "--step", s]).status == 0)
            outs.append(try bytes(u))
        }
        #expect(Set(outs).count == 3)
        let r = try gradtrace(["render", "samples/micrograd-chain.grad", "-o", d.appendingPathComponent("x.png").path, "--step", "99"])
        #expect(r.status == 2 && r.stderr.contains("out of range"))
        #expect(!FileManager.default.fileExists(atPath: d.appendingPathComponent("x.png").path))
    }

    @Test func neverWritesOverTheInputAndLeavesUnchangedFilesAlone() throws {
        let d = try folder("safety")
        let input = d.appendingPathComponent("prog.svg")
        try Data("x = 2\ny = x * 3\n".utf8).write(to: input)
        let r = try gradtrace(["render", input.path, "-o", input.path])
        #expect(r.status == 2 && r.stderr.contains("input"))
        #expect(String(decoding: try bytes(input), as: UTF8.self) == "x = 2\ny = x * 3\n")
        let out = d.appendingPathComponent("out.png")
        #expect(try gradtrace(["render", "samples/pipeline.grad", "-o", out.path]).status == 0)
        let t1 = try FileManager.default.attributesOfItem(atPath: out.path)[.modificationDate] as! Date
        Thread.sleep(forTimeInterval: 1.1)
        #expect(try gradtrace(["render", "samples/pipeline.grad", "-o", out.path]).status == 0)
        let t2 = try FileManager.default.attributesOfItem(atPath: out.path)[.modificationDate] as! Date
        #expect(t1 == t2, "an unchanged file was rewritten")
    }

    @Test func framesInEveryFormatShareOneLayout() throws {
        let d = try folder("frames")
        let steps = 5  // the neuron sample: tanh, +, +, ×, ×
        for f in ["dot", "png", "svg"] {
            let r = try gradtrace(["frames", "samples/neuron.grad", "-o", d.appendingPathComponent(f).path, "--format", f])
            #expect(r.status == 0, "\(f): \(r.stderr)")
            let files = try FileManager.default.contentsOfDirectory(atPath: d.appendingPathComponent(f).path).sorted()
            #expect(files.filter { $0.hasSuffix("." + f) }.count == steps + 1)
            #expect(files.contains("step-000.\(f)") && files.contains("step-005.\(f)"))
            let manifest = try json(String(decoding: bytes(d.appendingPathComponent("\(f)/manifest.json")), as: UTF8.self))
            let frames = try #require(manifest["frames"] as? [[String: Any]])
            #expect(frames.count == steps + 1)
            #expect(frames.dropFirst().allSatisfy { ($0["caption"] as? String)?.isEmpty == false })
        }
        // DOT frames: node positions identical in every frame.
        func positions(_ k: Int) throws -> [String] {
            let text = String(decoding: try bytes(d.appendingPathComponent("dot/step-00\(k).dot")), as: UTF8.self)
            return text.split(separator: "\n").filter { $0.contains("pos=\"") && !$0.contains("->") }.map { line in
                let name = line.split(separator: " ").first.map(String.init) ?? ""
                let pos = line.components(separatedBy: "pos=\"")[1].split(separator: "\"")[0]
                return name + " " + pos
            }
        }
        let p0 = try positions(0)
        #expect(p0.count == 10)
        for k in 1...steps { #expect(try positions(k) == p0) }
        // PNG frames: one pixel size.
        let sizes = try Set((0...steps).map { k in try bytes(d.appendingPathComponent("png/step-00\(k).png")).subdata(in: 16..<24) })
        #expect(sizes.count == 1)
        // neato -n2 reproduces a frame from its pinned positions.
        let frame = d.appendingPathComponent("dot/step-003.dot").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["neato", "-n2", "-Tsvg", frame, "-o", d.appendingPathComponent("neato.svg").path]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    @Test func multiPagePDF() throws {
        let d = try folder("pdf")
        let u = d.appendingPathComponent("slides.pdf")
        #expect(try gradtrace(["frames", "samples/micrograd-chain.grad", "-o", u.path]).status == 0)
        let text = String(decoding: try bytes(u), as: UTF8.self)
        #expect(text.hasPrefix("%PDF-"))
        #expect(text.contains("/Count 4"), "one page per frame: steps 0…3")
    }

    @Test func animations() throws {
        let d = try folder("animate")
        for f in ["gif", "svg", "html"] {
            let r = try gradtrace(["animate", "samples/micrograd-chain.grad", "-o", d.appendingPathComponent("a.\(f)").path])
            #expect(r.status == 0, "\(f): \(r.stderr)")
        }
        let gif = try bytes(d.appendingPathComponent("a.gif"))
        #expect(gif.prefix(6) == Data("GIF89a".utf8))
        var count = 0
        let g = [UInt8](gif)
        for i in 0..<(g.count - 2) where g[i] == 0x21 && g[i + 1] == 0xF9 && g[i + 2] == 0x04 { count += 1 }
        #expect(count >= 4)  // 3 steps + the forward state
        let svg = String(decoding: try bytes(d.appendingPathComponent("a.svg")), as: UTF8.self)
        _ = try XMLDocument(data: Data(svg.utf8))
        #expect(svg.contains("@keyframes") && !svg.lowercased().contains("<script"))
        let html = String(decoding: try bytes(d.appendingPathComponent("a.html")), as: UTF8.self)
        // Self-contained: nothing loaded by URL (the SVG namespace is a name, not a request).
        #expect(html.range(of: #"(src|href)\s*=\s*["']?(https?:)?//"#, options: .regularExpression) == nil)
        #expect(!html.contains("<link") && !html.contains("@import") && !html.contains("url("))
        let unknown = try gradtrace(["animate", "samples/loss.grad", "-o", d.appendingPathComponent("a.mp4").path])
        #expect(unknown.status == 2)
    }

    /// A raster animation past the pixel budget (frames × pixels a frame) is refused at once with advice,
    /// and writes nothing; `--force` is the way past it. (Before the budget, this GIF tried to hold 301
    /// frames of 43 Mpx in memory.)
    @Test func animationPastThePixelBudgetIsRefusedWithAdvice() throws {
        let d = try folder("animate-budget")
        for f in ["big.gif", "big.png"] {
            let out = d.appendingPathComponent(f)
            let r = try gradtrace(["animate", "samples/mlp-demo.grad", "--scale", "1", "-o", out.path], timeout: 30)
            #expect(r.status == 2, "\(f): \(r.stderr)")
            #expect(r.stderr.contains("301 frames") && r.stderr.contains("--scale 0.") && r.stderr.contains("--force"), "\(r.stderr)")
            #expect(r.stdout.isEmpty && !FileManager.default.fileExists(atPath: out.path))
        }
    }

    /// The HTML player in a real browser: headless Chromium loads `#step=3`, runs the script,
    /// and the dumped DOM shows step 3 and its caption.
    @Test func htmlPlayerInChromium() throws {
        let d = try folder("browser")
        let html = d.appendingPathComponent("player.html")
        #expect(try gradtrace(["animate", "samples/micrograd-chain.grad", "-o", html.path]).status == 0)
        let caption = try gradtrace(["frames", "samples/micrograd-chain.grad", "-o", d.appendingPathComponent("f").path, "--format", "dot"])
        #expect(caption.status == 0)
        let manifest = try json(String(decoding: bytes(d.appendingPathComponent("f/manifest.json")), as: UTF8.self))
        let step3 = try #require((manifest["frames"] as? [[String: Any]])?[3]["caption"] as? String)
        let browser = ["chromium", "chromium-browser", "google-chrome"].first { name in
            (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
        }
        let found = try #require(browser, "no Chromium: scripts/test.sh installs Debian's chromium package")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [found, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                       "--user-data-dir=\(d.appendingPathComponent("profile").path)", "--dump-dom", html.absoluteString + "#step=3"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(dom.contains("data-step=\"3\""), "the player did not open at step 3")
        #expect(dom.contains(step3.replacingOccurrences(of: "&", with: "&amp;")), "step 3's caption is not shown")
        #expect(dom.contains("step 3 / 3"))
    }
}

/// Forward mode and gradient colouring through the command line.
@Suite(.serialized)
struct ForwardCLITests {
    @Test func forwardJSONTangents() throws {
        let r = try gradtrace(["trace", "-e", "x = 1; u = 3*x; v = u + 1; h = v^2", "--mode", "forward", "--wrt", "x", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let d = try json(r.stdout)
        let nodes = try #require(d["nodes"] as? [[String: Any]])
        func t(_ n: String) -> Double? { number(nodes.first { $0["name"] as? String == n }?["tangent"]) }
        #expect(t("u") == 3 && t("v") == 3 && t("h") == 24)
        let g = try gradtrace(["grad", "-e", "x = 1; u = 3*x; v = u + 1; h = v^2"])
        #expect(g.stdout.contains("dh/dx = 24"))
    }

    @Test func wiggleTable() throws {
        let r = try gradtrace(["trace", "samples/wiggle.grad", "--mode", "forward", "--wrt", "x", "--wiggle", "0.01"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("from 9 to 9.1204") && r.stdout.contains("predicted 9.12"))
    }

    @Test func forwardModeErrors() throws {
        #expect(try gradtrace(["trace", "samples/loss.grad", "--mode", "forward"]).status == 2)
        #expect(try gradtrace(["trace", "samples/loss.grad", "--mode", "forward", "--wrt", "nope"]).status == 2)
        #expect(try gradtrace(["trace", "samples/loss.grad", "--wiggle", "0.1"]).status == 2)
    }

    @Test func forwardDrawingsAndGradientColours() throws {
        let d = try scratchDirectory().appendingPathComponent("forward", isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        for (args, file) in [(["render", "--mode", "forward", "--wrt", "x", "--wiggle", "0.01"], "w.svg"),
                             (["frames", "--mode", "forward", "--wrt", "x", "--format", "dot"], "fr"),
                             (["animate", "--mode", "forward", "--wrt", "x"], "a.html"),
                             (["render", "--color-by", "grad"], "c.png"),
                             (["render", "--color-by", "grad"], "c.pdf"),
                             (["render", "--color-by", "grad"], "c.dot")] {
            let r = try gradtrace([args[0], "samples/wiggle.grad", "-o", d.appendingPathComponent(file).path] + args.dropFirst())
            #expect(r.status == 0, "\(args) \(r.stderr)")
        }
        let svg = try String(contentsOf: d.appendingPathComponent("w.svg"), encoding: .utf8)
        #expect(svg.contains("from 9 to 9.1204 (predicted 9.12)"), "the caption (the SVG's desc) shows actual and predicted")
        let manifest = try json(String(contentsOf: d.appendingPathComponent("fr/manifest.json"), encoding: .utf8))
        let caps = (manifest["frames"] as? [[String: Any]])?.compactMap { $0["caption"] as? String } ?? []
        #expect(caps.last == "dy/dx = 2u · du/dx = 6 · 2 = 12")
        let dot = try String(contentsOf: d.appendingPathComponent("c.dot"), encoding: .utf8)
        // |grad| runs from 1 (y, the bottom of the scale: viridis purple) to 12 (x, higher up).
        let yLine = dot.split(separator: "\n").first { $0.contains("label=\"y = u²") } ?? ""
        let xLine = dot.split(separator: "\n").first { $0.contains("label=\"x\\n") } ?? ""
        #expect(yLine.contains("fillcolor=\"#440154\""))
        #expect(!xLine.contains("#440154") && xLine.contains("fillcolor=\"#"))
    }
}

/// Networks: the generator, the committed demo, the Swift example, and the large-graph guard.
@Suite(.serialized)
struct NetworkCLITests {
    @Test func generatorWritesTheCommittedDemo() throws {
        let r = try gradtrace(["generate", "mlp"])
        #expect(r.status == 0)
        let committed = try String(contentsOf: samples.appendingPathComponent("mlp-demo.grad"), encoding: .utf8)
        #expect(r.stdout == committed, "regenerate with: gradtrace generate mlp -o samples/mlp-demo.grad")
        #expect(try gradtrace(["generate", "mlp", "--layers", "4,x"]).status == 2)
        #expect(try gradtrace(["generate", "net"]).status == 2)
    }

    @Test func demoChecksRendersAndAnimates() throws {
        let d = try scratchDirectory().appendingPathComponent("mlp", isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        let check = try gradtrace(["check", "samples/mlp-demo.grad"])
        #expect(check.status == 0 && check.stdout.contains("41 of 41 gradients"))
        let trace = try json(try gradtrace(["trace", "samples/mlp-demo.grad", "--json"]).stdout)
        #expect((trace["nodes"] as? [Any])?.count == 394)
        #expect((trace["steps"] as? [Any])?.count == 300)
        #expect(try gradtrace(["render", "samples/mlp-demo.grad", "-o", d.appendingPathComponent("m.svg").path]).status == 0)
        #expect(try gradtrace(["animate", "samples/mlp-demo.grad", "-o", d.appendingPathComponent("m.html").path]).status == 0)
        let frames = try gradtrace(["frames", "samples/mlp-demo.grad", "-o", d.appendingPathComponent("f").path, "--format", "dot"])
        #expect(frames.status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: d.appendingPathComponent("f").path).count == 302)
    }

    @Test func swiftExampleRuns() throws {
        let exe = try gradtraceURL.get().deletingLastPathComponent().appendingPathComponent("gradtrace-example-mlp")
        let out = try scratchDirectory().appendingPathComponent("example-mlp.svg")
        let p = Process()
        p.executableURL = exe
        p.arguments = [out.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(text.contains("loss = 6.894784969625063"))
        #expect(text.contains("394 values, 300 backward steps, 41 parameters"))
        #expect(FileManager.default.fileExists(atPath: out.path))
    }

    /// A 20,000-node graph is refused before Graphviz, fast, with advice.
    @Test func largeGraphGuard() throws {
        var lines = ["x = 0.3"]
        for i in 0..<5000 { lines.append("a\(i) = x * \(1 + i % 7) + \(i % 3)") }
        lines.append("s = " + (0..<5000).map { "tanh(a\($0))" }.joined(separator: " + "))
        let file = try scratchDirectory().appendingPathComponent("big.grad")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        let start = Date()
        let r = try gradtrace(["render", file.path, "-o", try scratchDirectory().appendingPathComponent("big.svg").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--force"))
        #expect(Date().timeIntervalSince(start) < 10)
        let dot = try gradtrace(["render", file.path, "-o", "-", "--format", "dot"])
        #expect(dot.status == 0, "DOT needs no layout, so it is not refused")
    }

    /// The guard estimates dot's seconds: a 957-node MLP (about 2 s of dot) is drawn; a 3,053-node one
    /// (12 s measured) and a 10,001-node chain (16 s) are refused, the message giving the estimate in seconds.
    @Test func largeGraphGuardEstimatesSeconds() throws {
        let d = try scratchDirectory()
        for (layers, refused) in [("8,8,1", false), ("16,16,1", true)] {
            let file = d.appendingPathComponent("mlp-\(layers).grad")
            #expect(try gradtrace(["generate", "mlp", "--layers", layers, "-o", file.path]).status == 0)
            let r = try gradtrace(["render", file.path, "-o", d.appendingPathComponent("mlp-\(layers).svg").path])
            #expect(r.status == (refused ? 2 : 0), "\(layers): \(r.stderr)")
            if refused {
                #expect(r.stderr.range(of: #"would take Graphviz about [0-9.]+ s"#, options: .regularExpression) != nil, "\(r.stderr)")
            }
        }
        let chain = d.appendingPathComponent("chain.grad")
        try Data((["x0 = 0.5"] + (1...10_000).map { "x\($0) = x\($0 - 1) * 1.0001" }).joined(separator: "\n").utf8).write(to: chain)
        let c = try gradtrace(["render", chain.path, "-o", d.appendingPathComponent("chain.svg").path])
        #expect(c.status == 2 && c.stderr.contains("--force"), "\(c.stderr)")
    }
}

@Suite(.serialized)
struct CollapseCLITests {
    @Test func collapsedDrawings() throws {
        let d = try scratchDirectory().appendingPathComponent("collapse", isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        // DOT words edge labels as pictures do: the full ledger (with its "edges summed" line) under --labels full.
        let r = try gradtrace(["render", "samples/mlp-demo.grad", "--collapse", "neuron", "--labels", "full", "-o", d.appendingPathComponent("n.dot").path])
        #expect(r.status == 0, "\(r.stderr)")
        let dot = try String(contentsOf: d.appendingPathComponent("n.dot"), encoding: .utf8)
        #expect(dot.contains("l2.n3 · 41 nodes, 5 parameters") && dot.contains("edges summed"))
        for args in [["frames", "--format", "svg"], ["animate"]] {
            let out = d.appendingPathComponent(args[0] == "frames" ? "f" : "a.html").path
            #expect(try gradtrace([args[0], "samples/mlp-demo.grad", "--collapse", "layer", "-o", out] + args.dropFirst()).status == 0)
        }
        #expect(try gradtrace(["render", "samples/loss.grad", "--collapse", "neuron", "-o", d.appendingPathComponent("x.svg").path, "--mode", "forward", "--wrt", "x"]).status == 2)
    }

    /// The 20,000-node graph that the guard refuses draws collapsed.
    @Test func bigGraphCollapsed() throws {
        var lines = ["x = 0.3"]
        for i in 0..<5000 { lines.append("a\(i) = x * \(1 + i % 7) + \(i % 3)") }
        lines.append("s = " + (0..<5000).map { "tanh(a\($0))" }.joined(separator: " + "))
        let file = try scratchDirectory().appendingPathComponent("big-collapse.grad")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        let out = try scratchDirectory().appendingPathComponent("big-collapse.svg")
        let r = try gradtrace(["render", file.path, "--collapse", "layer", "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.path))
    }
}
