import Foundation
import Testing

/// `gradtrace markdown` through the command line, as a user runs it.
@Suite(.serialized)
struct MarkdownCLITests {
    let fm = FileManager.default

    func folder(_ name: String) throws -> URL {
        let d = try scratchDirectory().appendingPathComponent("markdown-" + name, isDirectory: true)
        try? fm.removeItem(at: d)
        try fm.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func text(_ url: URL) throws -> String { String(decoding: try Data(contentsOf: url), as: UTF8.self) }

    /// The `(alt, path)` of every Markdown image in a text, in order.
    /// The images of converted Markdown in order: `![alt](path)`, and `<img src="path" alt="alt" …>`
    /// (PNG and GIF images carry their display size).
    func images(_ markdown: String) -> [(alt: String, path: String)] {
        var out: [(String, String)] = []
        var rest = Substring(markdown)
        while true {
            let md = rest.range(of: "![")
            let html = rest.range(of: "<img src=\"")
            if let h = html, md == nil || h.lowerBound < md!.lowerBound {
                rest = rest[h.upperBound...]
                guard let q = rest.firstIndex(of: "\"") else { break }
                let path = String(rest[..<q])
                rest = rest[q...]
                guard let a = rest.range(of: "alt=\""), let e = rest[a.upperBound...].firstIndex(of: "\"") else { break }
                out.append((String(rest[a.upperBound..<e]), path))
                rest = rest[e...]
                continue
            }
            guard let start = md else { break }
            rest = rest[start.upperBound...]
            guard let close = rest.range(of: "](") else { break }
            let alt = String(rest[..<close.lowerBound])
            rest = rest[close.upperBound...]
            guard let end = rest.firstIndex(of: ")") else { break }
            out.append((alt, String(rest[..<end])))
            rest = rest[end...]
        }
        return out
    }

    /// Path → (bytes, modification time) of every file under a folder.
    func snapshot(_ dir: URL) throws -> [String: (Data, Date)] {
        var out: [String: (Data, Date)] = [:]
        let e = fm.enumerator(atPath: dir.path)
        while let rel = e?.nextObject() as? String {
            let p = dir.appendingPathComponent(rel).path
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: p, isDirectory: &isDir), !isDir.boolValue else { continue }
            let date = try fm.attributesOfItem(atPath: p)[.modificationDate] as! Date
            out[rel] = (try Data(contentsOf: URL(fileURLWithPath: p)), date)
        }
        return out
    }

    static let acceptance = """
        # Backprop notes

        Some text.

        ```gradtrace alt="a neuron"
        x1 = 2
        w1 = -3
        b = 6.8813735870195432
        o = tanh(x1*w1 + b)
        ```

        ```python
        print("leave me")
        ```

        ```gradtrace format=png step=all
        a = 2
        b = -3
        L = a * b
        ```

        """

    @Test func theAcceptanceScenario() throws {
        let d = try folder("acceptance")
        try Data(Self.acceptance.utf8).write(to: d.appendingPathComponent("in.md"))
        let out = d.appendingPathComponent("out.md")
        let r = try gradtrace(["markdown", d.appendingPathComponent("in.md").path, "-o", out.path, "--assets", d.appendingPathComponent("assets").path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("2 blocks, 3 images") && r.stdout.contains("3 drawn"), "\(r.stdout)")
        let md = try text(out)
        #expect(!md.contains("```gradtrace"))
        #expect(md.contains("```python\nprint(\"leave me\")\n```\n"))
        #expect(md.hasPrefix("# Backprop notes\n\nSome text.\n\n![a neuron](assets/gradtrace-"))
        let imgs = images(md)
        #expect(imgs.count == 3)
        #expect(imgs.map(\.alt) == ["a neuron", "forward pass: L = -6", "∂L/∂a = b = -3; ∂L/∂b = a = 2"])
        #expect(imgs[1].path.hasSuffix("-step-000.png") && imgs[2].path.hasSuffix("-step-001.png"))
        for i in imgs {
            #expect(fm.fileExists(atPath: d.appendingPathComponent(i.path).path), "\(i.path)")
        }
        let png = try Data(contentsOf: d.appendingPathComponent(imgs[1].path))
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])

        // The second run draws nothing and touches no file: same bytes, same modification times.
        let before = try snapshot(d)
        Thread.sleep(forTimeInterval: 1.0)
        let again = try gradtrace(["markdown", d.appendingPathComponent("in.md").path, "-o", out.path, "--assets", d.appendingPathComponent("assets").path])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("0 drawn, 3 already there"), "\(again.stdout)")
        let after = try snapshot(d)
        #expect(before.keys.sorted() == after.keys.sorted())
        for (k, v) in before {
            #expect(after[k]?.0 == v.0, "\(k) changed")
            #expect(after[k]?.1 == v.1, "\(k) was written again")
        }

        // --refresh draws everything again and writes only what changed.
        let damaged = d.appendingPathComponent(imgs[0].path)
        try Data("stale".utf8).write(to: damaged)
        let refreshed = try gradtrace(["markdown", d.appendingPathComponent("in.md").path, "-o", out.path,
                                       "--assets", d.appendingPathComponent("assets").path, "--refresh"])
        #expect(refreshed.status == 0 && refreshed.stdout.contains("3 drawn again, 1 changed"), "\(refreshed.stdout)")
        #expect(try Data(contentsOf: damaged) == before[imgs[0].path]?.0)
        let untouched = try snapshot(d)
        for (k, v) in before where k != imgs[0].path { #expect(untouched[k]?.1 == v.1, "\(k) was written again") }

        // A broken block: located in the Markdown file, exit 2, nothing written.
        let bad = d.appendingPathComponent("bad.md")
        try Data("# t\n\n```gradtrace\nx = 2\ny = x +\n```\n".utf8).write(to: bad)
        let b = try gradtrace(["markdown", bad.path, "-o", d.appendingPathComponent("bad.out.md").path,
                               "--assets", d.appendingPathComponent("a2").path])
        #expect(b.status == 2)
        #expect(b.stderr.contains("bad.md:5:8: error: expected an operand after '+'"), "\(b.stderr)")
        #expect(b.stdout.isEmpty)
        #expect(!fm.fileExists(atPath: d.appendingPathComponent("bad.out.md").path))
        #expect(!fm.fileExists(atPath: d.appendingPathComponent("a2").path))
    }

    @Test func relativePathsAsTheUserGivesThem() throws {
        // Paths relative to the working folder (the package root here), as in the README.
        let d = try folder("relative")
        let rel = d.path.replacingOccurrences(of: packageRoot.path + "/", with: "")
        try Data(Self.acceptance.utf8).write(to: d.appendingPathComponent("in.md"))
        let r = try gradtrace(["markdown", rel + "/in.md", "-o", rel + "/docs/out.md", "--assets", rel + "/img"])
        #expect(r.status == 0, "\(r.stderr)")
        let md = try text(d.appendingPathComponent("docs/out.md"))
        let imgs = images(md)
        #expect(imgs.count == 3 && imgs.allSatisfy { $0.path.hasPrefix("../img/gradtrace-") })
        for i in imgs { #expect(fm.fileExists(atPath: d.appendingPathComponent("docs").appendingPathComponent(i.path).path)) }
        // The default assets folder is OUT's folder.
        let r2 = try gradtrace(["markdown", rel + "/in.md", "-o", rel + "/here/out.md"])
        #expect(r2.status == 0, "\(r2.stderr)")
        let imgs2 = images(try text(d.appendingPathComponent("here/out.md")))
        #expect(imgs2.allSatisfy { !$0.path.contains("/") })
        for i in imgs2 { #expect(fm.fileExists(atPath: d.appendingPathComponent("here").appendingPathComponent(i.path).path)) }
    }

    @Test func parallelJobsGiveTheSameBytesAsOne() throws {
        let d = try folder("jobs")
        let guide = packageRoot.appendingPathComponent("samples/docs/guide.md").path
        for j in ["1", "4"] {
            let r = try gradtrace(["markdown", guide, "-o", d.appendingPathComponent("j\(j)/guide.md").path, "--jobs", j])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let one = try snapshot(d.appendingPathComponent("j1")), four = try snapshot(d.appendingPathComponent("j4"))
        #expect(one.count > 10)
        #expect(one.keys.sorted() == four.keys.sorted())
        for (k, v) in one { #expect(four[k]?.0 == v.0, "\(k) differs between --jobs 1 and --jobs 4") }
    }

    @Test func pruneDeletesOnlyUnreferencedAssets() throws {
        let d = try folder("prune")
        let assets = d.appendingPathComponent("assets")
        try fm.createDirectory(at: assets, withIntermediateDirectories: true)
        let stale = ["gradtrace-0123456789abcdef.svg", "gradtrace-0123456789abcdef-step-000.png", "gradtrace-fedcba9876543210.gif"]
        let kept = ["gradtrace-notes.txt", "logo.png", "gradtrace-0123456789abcdef.md"]
        for n in stale + kept { try Data("x".utf8).write(to: assets.appendingPathComponent(n)) }
        try Data(Self.acceptance.utf8).write(to: d.appendingPathComponent("in.md"))
        let args = ["markdown", d.appendingPathComponent("in.md").path, "-o", d.appendingPathComponent("out.md").path, "--assets", assets.path]
        let noPrune = try gradtrace(args)
        #expect(noPrune.status == 0)
        for n in stale { #expect(fm.fileExists(atPath: assets.appendingPathComponent(n).path)) }
        let r = try gradtrace(args + ["--prune"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("3 pruned"), "\(r.stdout)")
        for n in stale { #expect(!fm.fileExists(atPath: assets.appendingPathComponent(n).path), "\(n) not pruned") }
        for n in kept { #expect(fm.fileExists(atPath: assets.appendingPathComponent(n).path), "\(n) pruned") }
        for i in images(try text(d.appendingPathComponent("out.md"))) {
            #expect(fm.fileExists(atPath: d.appendingPathComponent(i.path).path))
        }
        #expect(try fm.contentsOfDirectory(atPath: assets.path).filter { $0.hasPrefix("gradtrace-") && $0.contains("-step-") }.count == 2)
    }

    @Test func standardInput() throws {
        let d = try folder("stdin")
        let out = d.appendingPathComponent("site/page.md")
        let r = try gradtrace(["markdown", "-", "-o", out.path, "--assets", d.appendingPathComponent("img").path],
                              stdin: Data("Intro\n\n```gradtrace format=png\nx = 3\ny = x * x\n```\nEnd".utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let md = try text(out)
        // A PNG is linked with its display size (the SVG's points), so it shows as large as the SVG would.
        #expect(md.hasPrefix("Intro\n\n<img src=\"../img/gradtrace-") && md.contains(".png\" alt=\"all gradients: ∂y/∂x = 6\" width=\"")
                && md.hasSuffix("\">\nEnd"), "\(md)")
        for i in images(md) { #expect(fm.fileExists(atPath: d.appendingPathComponent("site").appendingPathComponent(i.path).path)) }

        let bad = try gradtrace(["markdown", "-", "-o", d.appendingPathComponent("bad.md").path], stdin: Data("```gradtrace\ny = q\n```\n".utf8))
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("<stdin>:2:5: error: undefined name 'q'"), "\(bad.stderr)")
        #expect(!fm.fileExists(atPath: d.appendingPathComponent("bad.md").path))

        let noOut = try gradtrace(["markdown", "-"], stdin: Data())
        #expect(noOut.status == 2 && noOut.stderr.contains("-o"))
    }

    @Test func aFolderOfMarkdownFiles() throws {
        let d = try folder("folder")
        let src = d.appendingPathComponent("src")
        try fm.createDirectory(at: src.appendingPathComponent("sub/deeper"), withIntermediateDirectories: true)
        try fm.createDirectory(at: src.appendingPathComponent(".hidden"), withIntermediateDirectories: true)
        let block = "```gradtrace\nx = 2\ny = x * 3\n```\n"
        try Data(("# A\n\n" + block).utf8).write(to: src.appendingPathComponent("a.md"))
        try Data(("# B\r\n\r\n" + block + "```gradtrace theme=dark\nz = 1\nw = z + z\n```").utf8).write(to: src.appendingPathComponent("sub/b.md"))
        try Data("# C, no blocks  \n".utf8).write(to: src.appendingPathComponent("sub/deeper/c.md"))
        try Data(block.utf8).write(to: src.appendingPathComponent(".hidden/h.md"))
        try Data("not markdown".utf8).write(to: src.appendingPathComponent("notes.txt"))
        let out = d.appendingPathComponent("out")
        let r = try gradtrace(["markdown", src.path, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("3 files: 3 blocks, 2 images"), "\(r.stdout)")
        let a = try text(out.appendingPathComponent("a.md")), b = try text(out.appendingPathComponent("sub/b.md"))
        #expect(try text(out.appendingPathComponent("sub/deeper/c.md")) == "# C, no blocks  \n")
        #expect(!fm.fileExists(atPath: out.appendingPathComponent(".hidden").path))
        #expect(!fm.fileExists(atPath: out.appendingPathComponent("notes.txt").path))
        #expect(images(a).map(\.path).allSatisfy { $0.hasPrefix("assets/gradtrace-") })
        #expect(images(b).map(\.path).allSatisfy { $0.hasPrefix("../assets/gradtrace-") })
        #expect(images(a)[0].path == "assets/" + images(b)[0].path.dropFirst("../assets/".count))  // one asset for both
        #expect(b.hasPrefix("# B\r\n\r\n![") && !b.hasSuffix("\n"))
        for i in images(a) { #expect(fm.fileExists(atPath: out.appendingPathComponent(i.path).path)) }
        for i in images(b) { #expect(fm.fileExists(atPath: out.appendingPathComponent("sub").appendingPathComponent(i.path).path)) }

        // Again: nothing changes; with --link-style docc the links are bare file names.
        let before = try snapshot(out)
        #expect(try gradtrace(["markdown", src.path, "-o", out.path]).stdout.contains("0 files written"))
        let after = try snapshot(out)
        for (k, v) in before { #expect(after[k]?.1 == v.1, "\(k) was written again") }
        let docc = d.appendingPathComponent("Cat.docc")
        let r2 = try gradtrace(["markdown", src.path, "-o", docc.path, "--assets", docc.appendingPathComponent("Resources").path, "--link-style", "docc"])
        #expect(r2.status == 0, "\(r2.stderr)")
        for i in images(try text(docc.appendingPathComponent("sub/b.md"))) {
            #expect(i.path.hasPrefix("gradtrace-") && !i.path.contains("/"))
            #expect(fm.fileExists(atPath: docc.appendingPathComponent("Resources").appendingPathComponent(i.path).path))
        }

        // A broken file anywhere: nothing is written, every problem is listed.
        try Data("```gradtrace step=7\nx = 1\n```\n```gradtrace nope\nx = 1\n```\n".utf8).write(to: src.appendingPathComponent("sub/deeper/bad.md"))
        let out2 = d.appendingPathComponent("out2")
        let bad = try gradtrace(["markdown", src.path, "-o", out2.path])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("sub/deeper/bad.md:1:14: error: step=7 is out of range"), "\(bad.stderr)")
        #expect(bad.stderr.contains("sub/deeper/bad.md:4:14: error: unknown option 'nope'"), "\(bad.stderr)")
        #expect(bad.stderr.contains("2 errors; nothing was written"))
        #expect(!fm.fileExists(atPath: out2.path))
    }

    @Test func refusals() throws {
        let d = try folder("refusals")
        let input = d.appendingPathComponent("in.md")
        try Data("```gradtrace\nx = 1\n```\n".utf8).write(to: input)
        let same = try gradtrace(["markdown", input.path, "-o", input.path])
        #expect(same.status == 2 && same.stderr.contains("input file itself"))
        #expect(try text(input) == "```gradtrace\nx = 1\n```\n")
        #expect(try fm.contentsOfDirectory(atPath: d.path) == ["in.md"])
        let sameFolder = try gradtrace(["markdown", d.path, "-o", d.path])
        #expect(sameFolder.status == 2 && sameFolder.stderr.contains("input folder itself"))
        let missing = try gradtrace(["markdown", d.appendingPathComponent("nope.md").path, "-o", d.appendingPathComponent("x.md").path])
        #expect(missing.status == 2 && missing.stderr.contains("nope.md"))
        let unclosed = d.appendingPathComponent("unclosed.md")
        try Data("text\n````gradtrace\nx = 1\n```\n".utf8).write(to: unclosed)
        let u = try gradtrace(["markdown", unclosed.path, "-o", d.appendingPathComponent("u.md").path])
        #expect(u.status == 2 && u.stderr.contains("unclosed.md:2:1: error: this gradtrace block is never closed: end it with a line of ````"), "\(u.stderr)")
    }

    /// samples/docs/guide.md uses every option: each image must be exactly what the equivalent
    /// `gradtrace render`, `frames` or `animate` command draws.
    @Test func theGuideUsesEveryOptionToEffect() throws {
        let d = try folder("guide")
        let guide = packageRoot.appendingPathComponent("samples/docs/guide.md")
        let source = try text(guide)
        for option in ["format=svg", "format=png", "step=2", "step=final", "step=all", "animate", "alt=", "title=", "at=",
                       "rankdir=TB", "theme=dark", "mode=forward", "wrt=", "wiggle=", "color=grad"] {
            #expect(source.contains(option), "the guide does not use \(option)")
        }
        let out = d.appendingPathComponent("guide.md")
        let r = try gradtrace(["markdown", guide.path, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let md = try text(out)
        #expect(!md.contains("```gradtrace title") && !md.contains("~~~gradtrace"))
        #expect(md.contains("```python\nfrom micrograd.engine import Value\n"))
        #expect(md.contains("````markdown\n```gradtrace step=1\nx = 2\ny = x * x\n```\n````\n"))
        // Everything but the blocks is the same, line for line.
        let kept = source.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        let outLines = Set(md.split(separator: "\n", omittingEmptySubsequences: false))
        let fenced = try blockLines(source)
        for line in kept where !fenced.contains(line) { #expect(outLines.contains(line), "lost: \(line)") }

        let imgs = images(md)
        #expect(imgs.count == 10)
        for i in imgs { #expect(fm.fileExists(atPath: d.appendingPathComponent(i.path).path), "\(i.path)") }
        let ext = imgs.map { ($0.path as NSString).pathExtension }
        #expect(ext == ["svg", "png", "svg", "svg", "svg", "svg", "svg", "gif", "svg", "svg"])
        #expect(imgs[0].alt == "The loss example: dL/dw = 1248, dL/dx = 1872")
        #expect(imgs[1].alt.hasPrefix("∂L/∂output = ∂L/∂t1"))
        #expect(imgs[2].alt.hasPrefix("all gradients: ∂L/∂a = 6"))
        #expect(imgs[3].alt == "forward pass: f = 6" && imgs[5].alt.hasPrefix("∂f/∂x = ∂f/∂g · ∂g/∂x"))
        #expect((3...5).map { imgs[$0].path.hasSuffix("-step-00\($0 - 3).svg") } == [true, true, true])
        #expect(imgs[6].alt.hasPrefix("animation of every step; all gradients: ∂y/∂x = 24"))
        #expect(imgs[7].alt == "y = (x² + 1)³, step by step")
        #expect(imgs[9].alt.contains("dy/dx = 12") && imgs[9].alt.contains("9.1204"))

        let loss = "x = 2\nw = 3\ntarget = 10\nu = w * x\noutput = u^2\nL = (output - target)^2\n"
        let micro = "a = 2\nb = -3\nc = 10\ne = a * b\nd = e + c\nf = -2\nL = d * f\n"
        let chain = "x = 1\ng = 2*x\nf = 3*g\n"
        let cube = "x = 1\nu = x^2 + 1\ny = u^3\n"
        let wiggle = "x = 1\nu = 2*x + 1\ny = u^2\n"
        let cli = d.appendingPathComponent("cli", isDirectory: true)
        try fm.createDirectory(at: cli, withIntermediateDirectories: true)
        func same(_ image: Int, _ args: [String], file: String) throws {
            let r = try gradtrace(args + ["-o", cli.appendingPathComponent(file).path])
            #expect(r.status == 0, "\(args): \(r.stderr)")
            let expected = try Data(contentsOf: cli.appendingPathComponent(file))
            let actual = try Data(contentsOf: d.appendingPathComponent(imgs[image].path))
            #expect(expected == actual, "image \(image) (\(imgs[image].path)) is not what gradtrace \(args) draws")
        }
        try same(0, ["render", "-e", loss, "--title", "L = ((w·x)² − 10)²"], file: "0.svg")
        try same(1, ["render", "-e", loss, "--step", "2"], file: "1.png")
        try same(2, ["render", "-e", micro, "--rankdir", "TB", "--theme", "dark"], file: "2.svg")
        let frames = cli.appendingPathComponent("frames")
        #expect(try gradtrace(["frames", "-e", chain, "--format", "svg", "-o", frames.path]).status == 0)
        // The strip draws the legend once, under its last frame: that frame is the size of what `frames`
        // draws, with every state the strip shows in its legend (a lone frame names only its own states);
        // the others are the same picture with a shorter footer.
        let lone = try text(frames.appendingPathComponent("step-002.svg")), stripLast = try text(d.appendingPathComponent(imgs[5].path))
        func size(_ svg: String) -> String? { svg.range(of: #"width="[0-9.]+pt" height="[0-9.]+pt""#, options: .regularExpression).map { String(svg[$0]) } }
        #expect(size(lone) != nil && size(lone) == size(stripLast))
        #expect(stripLast.contains(">forward<") && !lone.contains(">forward<"))
        func height(_ url: URL) throws -> Double {
            let svg = try text(url)
            let r = try #require(svg.range(of: #"height="[0-9.]+"#, options: .regularExpression))
            return Double(svg[r].dropFirst(8)) ?? 0
        }
        for k in 0...1 {
            let strip = try height(d.appendingPathComponent(imgs[3 + k].path)), full = try height(frames.appendingPathComponent("step-00\(k).svg"))
            #expect(strip < full - 10, "frame \(k) of the strip still has the legend (\(strip) vs \(full) pt)")
        }
        try same(6, ["animate", "-e", cube], file: "6.svg")
        // GIF frames are quantised in parallel under one lock (giflib's quantiser has static state),
        // so the markdown GIF and `gradtrace animate` agree byte for byte.
        let gif = try Data(contentsOf: d.appendingPathComponent(imgs[7].path))
        #expect(try gradtrace(["animate", "-e", cube, "-o", cli.appendingPathComponent("7.gif").path]).status == 0)
        #expect(try Data(contentsOf: cli.appendingPathComponent("7.gif")) == gif, "image 7 (\(imgs[7].path)) is not what gradtrace animate draws")
        try same(8, ["render", "-e", loss, "--at", "x=3", "--at", "w=-1"], file: "8.svg")
        try same(9, ["render", "-e", wiggle, "--mode", "forward", "--wrt", "x", "--wiggle", "0.01", "--color-by", "grad"], file: "9.svg")
        // The options changed the pictures: none of them is the plain final state.
        let plain = try gradtrace(["render", "-e", loss, "-o", cli.appendingPathComponent("plain.svg").path])
        #expect(plain.status == 0)
        let plainBytes = try Data(contentsOf: cli.appendingPathComponent("plain.svg"))
        for i in [0, 8] { #expect(try Data(contentsOf: d.appendingPathComponent(imgs[i].path)) != plainBytes) }
        let anim = try text(d.appendingPathComponent(imgs[6].path))
        #expect(anim.contains("@keyframes"))
        #expect(try Data(contentsOf: d.appendingPathComponent(imgs[7].path)).prefix(6) == Data("GIF89a".utf8))
    }

    /// The lines inside gradtrace fences of a guide (they are the ones replaced).
    func blockLines(_ source: String) throws -> Set<Substring> {
        var inside = false
        var out = Set<Substring>()
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if !inside && (line.hasPrefix("```gradtrace") || line.hasPrefix("~~~gradtrace")) { inside = true; out.insert(line); continue }
            if inside { out.insert(line); if line == "```" || line == "~~~" { inside = false } }
        }
        return out
    }

    /// The DocC articles in the catalog are what `gradtrace markdown` makes of docs/ (every *.md there; `src=` may
    /// read the package's samples, as the gradtrace-docs plugin allows), and every image they link to is in the
    /// catalog's Resources.
    @Test func theDocCArticlesAreCurrent() throws {
        let d = try folder("docc")
        let catalog = packageRoot.appendingPathComponent("Sources/GradTrace/GradTrace.docc")
        let r = try gradtrace(["markdown", "docs", "-o", d.path, "--root", ".",
                               "--assets", d.appendingPathComponent("Resources").path, "--link-style", "docc"])
        #expect(r.status == 0, "\(r.stderr)")
        let articles = try fm.contentsOfDirectory(atPath: packageRoot.appendingPathComponent("docs").path).filter { $0.hasSuffix(".md") }.sorted()
        #expect(articles.count >= 11, "\(articles)")
        for name in articles {
            let made = try text(d.appendingPathComponent(name))
            let committed = try text(catalog.appendingPathComponent(name))
            #expect(made == committed, "\(name) is stale; run: swift package --allow-writing-to-package-directory gradtrace-docs")
        }
        // Every image the articles link to (drawn afresh into d/Resources) is in the catalog. (Names hash the program,
        // the options and the version, not the drawing code: after drawing changes, `gradtrace-docs --refresh`.)
        let drawn = try fm.contentsOfDirectory(atPath: d.appendingPathComponent("Resources").path).sorted()
        #expect(drawn.count >= 4)
        for name in drawn {
            #expect(fm.fileExists(atPath: catalog.appendingPathComponent("Resources").appendingPathComponent(name).path), "Resources/\(name) is missing")
        }
        let neuron = try text(catalog.appendingPathComponent("TracingANeuron.md"))
        #expect(images(neuron).count == 3)
        #expect(neuron.contains("o = 0.7071") && neuron.contains("do/dx1 = -1.5") && neuron.contains("do/db = 0.5"))
    }
}
