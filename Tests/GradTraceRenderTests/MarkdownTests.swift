import Foundation
import GradTrace
import GradTraceRender
import Testing

/// A Markdown text and the fences the scanner must find in it.
struct FenceCase: Sendable, CustomTestStringConvertible {
    struct Expected: Sendable {
        var language: String
        var info: String
        var content: String
        var closed = true
        var markerCount = 3
        var openingLine = 1
    }

    var name: String
    var source: String
    var fences: [Expected]
    var testDescription: String { name }
}

private let fenceCases: [FenceCase] = [
    FenceCase(name: "backticks", source: "text\n```gradtrace\nx = 1\n```\nafter\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\n", openingLine: 2)]),
    FenceCase(name: "tildes", source: "~~~gradtrace step=1\nx = 1\n~~~\n",
              fences: [.init(language: "gradtrace", info: "gradtrace step=1", content: "x = 1\n")]),
    FenceCase(name: "a longer fence holds a shorter one", source: "````markdown\n```gradtrace\nx = 1\n```\n````\n",
              fences: [.init(language: "markdown", info: "markdown", content: "```gradtrace\nx = 1\n```\n", markerCount: 4)]),
    FenceCase(name: "a closing fence may be longer", source: "```gradtrace\nx = 1\n`````\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\n")]),
    FenceCase(name: "backticks do not close tildes", source: "~~~gradtrace\nx = 1\n```\ny = x\n~~~\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\n```\ny = x\n")]),
    FenceCase(name: "a shorter fence does not close", source: "````gradtrace\nx = 1\n```\n````\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\n```\n", markerCount: 4)]),
    FenceCase(name: "indented fence: content loses as many spaces", source: "  ```gradtrace\n  x = 1\n    y = x\n z = y\n  ```\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\n  y = x\nz = y\n")]),
    FenceCase(name: "four spaces: an indented code block, not a fence", source: "    ```gradtrace\n    x = 1\n    ```\n", fences: []),
    FenceCase(name: "a tab is four columns: not a fence", source: "\t```gradtrace\nx = 1\n```\n",
              fences: [.init(language: "", info: "", content: "", closed: false, openingLine: 3)]),
    FenceCase(name: "unclosed at the end of the file", source: "# t\n```gradtrace\nx = 1\ny = x",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\ny = x\n", closed: false, openingLine: 2)]),
    FenceCase(name: "a backtick in a backtick info string: not a fence", source: "```gradtrace `x`\nx = 1\n", fences: []),
    FenceCase(name: "a backtick in a tilde info string is fine", source: "~~~gradtrace alt=`x`\nx = 1\n~~~\n",
              fences: [.init(language: "gradtrace", info: "gradtrace alt=`x`", content: "x = 1\n")]),
    FenceCase(name: "closing fence with trailing spaces", source: "```gradtrace\nx = 1\n```   \t\nafter\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\n")]),
    FenceCase(name: "text after a closing fence: not a closing fence", source: "```gradtrace\nx = 1\n``` no\n```\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\n``` no\n")]),
    FenceCase(name: "two backticks: not a fence", source: "``gradtrace\nx = 1\n``\n", fences: []),
    FenceCase(name: "other languages are fences too", source: "```python\nprint(1)\n```\n\n```gradtrace\nx = 1\n```\n",
              fences: [.init(language: "python", info: "python", content: "print(1)\n"),
                       .init(language: "gradtrace", info: "gradtrace", content: "x = 1\n", openingLine: 5)]),
    FenceCase(name: "surrounding spaces of the info string", source: "```   gradtrace  step=2  \nx = 1\n```\n",
              fences: [.init(language: "gradtrace", info: "gradtrace  step=2", content: "x = 1\n")]),
    FenceCase(name: "CRLF line endings", source: "a\r\n```gradtrace\r\nx = 1\r\ny = x\r\n```\r\nb\r\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\ny = x\n", openingLine: 2)]),
    FenceCase(name: "CR line endings", source: "```gradtrace\rx = 1\r```\r",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "x = 1\n")]),
    FenceCase(name: "an empty block", source: "```gradtrace\n```\n",
              fences: [.init(language: "gradtrace", info: "gradtrace", content: "")]),
    FenceCase(name: "a gradtrace-like word is another language", source: "```gradtraces\nx\n```\n",
              fences: [.init(language: "gradtraces", info: "gradtraces", content: "x\n")]),
]

/// An info string and what it parses to (or where the error is).
struct OptionCase: Sendable, CustomTestStringConvertible {
    var info: String
    var check: @Sendable (MarkdownBlockOptions) -> Bool
    var testDescription: String { info }
}

private let optionCases: [OptionCase] = [
    OptionCase(info: "gradtrace", check: { $0 == MarkdownBlockOptions() }),
    OptionCase(info: "gradtrace format=png step=3", check: { $0.format == .png && $0.step == .number(3) }),
    OptionCase(info: "gradtrace step=all", check: { $0.step == .all }),
    OptionCase(info: "gradtrace step=final format=SVG", check: { $0.step == .final && $0.format == .svg }),
    OptionCase(info: "gradtrace animate", check: { $0.animate && $0.step == .final }),
    OptionCase(info: #"gradtrace alt="a neuron, drawn" title='o = tanh(n)'"#, check: { $0.alt == "a neuron, drawn" && $0.title == "o = tanh(n)" }),
    OptionCase(info: #"gradtrace alt="say \"hi\" \\ bye""#, check: { $0.alt == #"say "hi" \ bye"# }),
    OptionCase(info: #"gradtrace alt="a \n b""#, check: { $0.alt == #"a \n b"# }),
    OptionCase(info: #"gradtrace alt="""#, check: { $0.alt == "" }),
    OptionCase(info: #"gradtrace title=it's"#, check: { $0.title == "it's" }),
    OptionCase(info: #"gradtrace at="x=2, w = -3""#, check: { $0.at == [.init(name: "x", value: 2), .init(name: "w", value: -3)] }),
    OptionCase(info: "gradtrace at=x=1e-3", check: { $0.at == [.init(name: "x", value: 0.001)] }),
    OptionCase(info: "gradtrace rankdir=TB theme=dark color=grad", check: { $0.rankdir == .TB && $0.theme == .dark && $0.colorByGradient }),
    OptionCase(info: "gradtrace rankdir=tb", check: { $0.rankdir == .TB }),
    OptionCase(info: "gradtrace mode=forward wrt=x wiggle=0.01", check: { $0.mode == .forward && $0.wrt == "x" && $0.wiggle == 0.01 }),
    OptionCase(info: "gradtrace collapse=module:2", check: { $0.collapse == .module(depth: 2) }),
    OptionCase(info: "gradtrace collapse=neuron", check: { $0.collapse == .neuron }),
    OptionCase(info: "gradtrace\tstep=1\t\tformat=png", check: { $0.step == .number(1) && $0.format == .png }),
]

/// An info string that must be refused, the 0-based offset of the error, and a fragment of its message.
struct BadOptionCase: Sendable, CustomTestStringConvertible {
    var info: String
    var offset: Int
    var fragment: String
    var testDescription: String { info }
}

private let badOptionCases: [BadOptionCase] = [
    BadOptionCase(info: "gradtrace colour=grad", offset: 10, fragment: "unknown option 'colour'"),
    BadOptionCase(info: "gradtrace step=1 step=2", offset: 17, fragment: "given twice"),
    BadOptionCase(info: #"gradtrace alt="open"#, offset: 14, fragment: "no closing"),
    BadOptionCase(info: #"gradtrace alt="a"b"#, offset: 17, fragment: "expected a space"),
    BadOptionCase(info: "gradtrace format=jpg", offset: 10, fragment: "expected svg or png"),
    BadOptionCase(info: "gradtrace format", offset: 10, fragment: "needs a value"),
    BadOptionCase(info: "gradtrace step=-1", offset: 10, fragment: "expected a step number"),
    BadOptionCase(info: "gradtrace step=last", offset: 10, fragment: "final or all"),
    BadOptionCase(info: "gradtrace animate=yes", offset: 10, fragment: "takes no value"),
    BadOptionCase(info: "gradtrace animate step=all", offset: 18, fragment: "leave out step="),
    BadOptionCase(info: "gradtrace wrt=x", offset: 10, fragment: "belongs to mode=forward"),
    BadOptionCase(info: "gradtrace format=png wiggle=0.1", offset: 21, fragment: "belongs to mode=forward"),
    BadOptionCase(info: "gradtrace mode=forward", offset: 10, fragment: "needs wrt=NAME"),
    BadOptionCase(info: "gradtrace mode=forward wrt=x wiggle=0", offset: 29, fragment: "non-zero"),
    BadOptionCase(info: "gradtrace at=x", offset: 10, fragment: "NAME=VALUE"),
    BadOptionCase(info: "gradtrace at=x=two", offset: 10, fragment: "'two' is not a number"),
    BadOptionCase(info: "gradtrace at=x=1,x=2", offset: 10, fragment: "given twice"),
    BadOptionCase(info: "gradtrace theme=blue", offset: 10, fragment: "light or dark"),
    BadOptionCase(info: "gradtrace color=red", offset: 10, fragment: "state or grad"),
    BadOptionCase(info: "gradtrace collapse=module:0", offset: 10, fragment: "module:N (N from 1 to 16)"),
    BadOptionCase(info: "gradtrace collapse=modules", offset: 10, fragment: "neuron, layer, module or module:N"),
    BadOptionCase(info: "gradtrace mode=forward wrt=x collapse=layer", offset: 29, fragment: "does not combine with mode=forward"),
    BadOptionCase(info: "gradtrace =3", offset: 10, fragment: "option name"),
    BadOptionCase(info: "gradtrace α=1", offset: 10, fragment: "unknown option 'α'"),
    BadOptionCase(info: "gradtrace alt=\"αβ\" bogus", offset: 19, fragment: "unknown option 'bogus'"),
]

struct MarkdownFenceTests {
    @Test(arguments: fenceCases)
    func scanner(_ c: FenceCase) {
        let found = MarkdownFences.scan(Array(c.source.utf8))
        #expect(found.count == c.fences.count, "\(found.map(\.info))")
        for (f, e) in zip(found, c.fences) {
            #expect(f.language == e.language)
            #expect(f.info == e.info)
            #expect(String(decoding: f.content, as: UTF8.self) == e.content)
            #expect(f.closed == e.closed)
            #expect(f.markerCount == e.markerCount)
            #expect(f.openingLine == e.openingLine)
        }
    }

    @Test func rangesAndLineEndings() {
        let crlf = Array("a\r\n```gradtrace\r\nx = 1\r\n```\r\nb\r\n".utf8)
        let f = MarkdownFences.scan(crlf)[0]
        #expect(Array(crlf[f.range]) == Array("```gradtrace\r\nx = 1\r\n```\r\n".utf8))
        #expect(f.trailingLineEnding == [13, 10])
        #expect(f.openingLineEnding == [13, 10])
        #expect(f.lines.map(\.text) == ["x = 1"])

        let noNewline = Array("```gradtrace\nx = 1\n```".utf8)
        let g = MarkdownFences.scan(noNewline)[0]
        #expect(g.range == 0..<noNewline.count)
        #expect(g.trailingLineEnding.isEmpty)
        #expect(g.openingLineEnding == [10])

        let indented = MarkdownFences.scan(Array("  ```gradtrace step=1\n   x = 1\n```\n".utf8))[0]
        #expect(indented.indent == 2)
        #expect(indented.infoColumn == 6)
        #expect(indented.lines == [.init(text: "   x = 1", strippedIndent: 2)])
        #expect(String(decoding: indented.content, as: UTF8.self) == " x = 1\n")
    }

    @Test(arguments: optionCases)
    func options(_ c: OptionCase) throws {
        let o = try MarkdownBlockOptions.parse(c.info)
        #expect(c.check(o), "\(o)")
    }

    @Test(arguments: badOptionCases)
    func badOptions(_ c: BadOptionCase) {
        do {
            let o = try MarkdownBlockOptions.parse(c.info)
            Issue.record("accepted: \(o)")
        } catch {
            #expect(error.offset == c.offset, "\(error.message)")
            #expect(error.message.contains(c.fragment), "\(error.message)")
        }
    }

    @Test func everyOptionNameIsKnown() throws {
        let info = #"gradtrace format=png step=2 alt="a" title="t" at="x=1" rankdir=TB theme=dark color=grad"#
        let o = try MarkdownBlockOptions.parse(info)
        #expect(Set(o.positions.keys) == ["format", "step", "alt", "title", "at", "rankdir", "theme", "color"])
        #expect(MarkdownBlockOptions.names.count == 20)
        let tensor = try MarkdownBlockOptions.parse(#"gradtrace at="b=[1, -2], s=3" seed=7"#)
        #expect(tensor.at.map(\.name) == ["b", "s"] && tensor.at[0].tensor?.shape == [2] && tensor.seed == 7)
        let sized = try MarkdownBlockOptions.parse("gradtrace labels=numbers max-width=600")
        #expect(sized.labels == .numbers && sized.maxWidth == 600)
        _ = try MarkdownBlockOptions.parse("gradtrace animate mode=forward wrt=x wiggle=1")
    }

    /// One table (``OptionSchema``) names a fence's options and builds its image key: the key of every
    /// block written before the table existed is unchanged, and every keyed option changes it.
    @Test func theOptionSchemaKeepsImageKeysAndKeysEveryDrawingOption() throws {
        #expect(MarkdownBlockOptions.names == OptionSchema.fenceNames)
        let plain = try MarkdownBlockOptions.parse("gradtrace")
        #expect(plain.normalized(defaultFormat: .svg) == "format=svg\nstep=final\nanimate=false\ntitle=-\nat=\nrankdir=auto\ntheme=light\n"
                + "mode=reverse\nwrt=-\nwiggle=-\ncolor=state\nlabels=compact\nmax-width=660.0\n")
        // A fence draws within the column unless told otherwise: max-width=660 is the same picture, none has no limit.
        #expect(try MarkdownBlockOptions.parse("gradtrace max-width=660").normalized(defaultFormat: .svg) == plain.normalized(defaultFormat: .svg))
        let unlimited = try MarkdownBlockOptions.parse("gradtrace max-width=none")
        #expect(unlimited.effectiveMaxWidth == nil && unlimited.normalized(defaultFormat: .svg).hasSuffix("max-width=none\n"))
        #expect(plain.effectiveMaxWidth == MarkdownTransform.column)
        let all = try MarkdownBlockOptions.parse(#"gradtrace step=all title="t" at="x=2" seed=3 rankdir=TB theme=dark color=grad labels=full max-width=600"#)
        #expect(all.normalized(defaultFormat: .png) == "format=png\nstep=all\nlegend=last\nanimate=false\ntitle=1:t\nat=x=2.0\nseed=3\nrankdir=TB\n"
                + "theme=dark\nmode=reverse\nwrt=-\nwiggle=-\ncolor=grad\nlabels=full\nmax-width=600.0\n")
        // Each option with a key line changes the key when given; the others (alt, width, id, ref, src) do not.
        let base = plain.normalized(defaultFormat: .svg)
        for spec in OptionSchema.all {
            guard let name = spec.fence else { continue }
            let value: String
            switch name {
            case "animate": value = "animate"
            case "wrt", "wiggle": value = "mode=forward wrt=x" + (name == "wiggle" ? " wiggle=0.5" : "")
            case "mode": value = "mode=forward wrt=x"
            case "format": value = "format=png"
            case "step": value = "step=2"  // its example, final, is the default
            default: value = "\(name)=\(spec.example)"
            }
            let o = try MarkdownBlockOptions.parse("gradtrace " + value)
            #expect((o.normalized(defaultFormat: .svg) != base) == spec.changesPicture, "\(name)")
        }
        // The command line's help comes from the same table.
        #expect(OptionSchema.spec(cli: "color-by")?.fence == "color")
        #expect(OptionSchema.help(cli: "max-width").contains("small boxes"))
    }

    @Test func normalizedOptionsIgnoreAltAndOrder() throws {
        let a = try MarkdownBlockOptions.parse(#"gradtrace at="x=2,w=3" alt="one" theme=dark"#)
        let b = try MarkdownBlockOptions.parse(#"gradtrace theme=dark at="w=3.0, x=2" alt="two""#)
        #expect(a.normalized(defaultFormat: .svg) == b.normalized(defaultFormat: .svg))
        #expect(a.normalized(defaultFormat: .svg) != a.normalized(defaultFormat: .png))
        let c = try MarkdownBlockOptions.parse(#"gradtrace at="x=2,w=3" theme=dark format=svg"#)
        #expect(c.normalized(defaultFormat: .png) == a.normalized(defaultFormat: .svg))
    }
}

struct MarkdownTransformTests {
    let transform = MarkdownTransform(version: "test")

    func doc(_ text: String, name: String = "notes.md", prefix: String = "assets/") -> MarkdownTransform.Document {
        .init(name: name, bytes: Array(text.utf8), assetLinkPrefix: prefix)
    }

    func failure(_ text: String) -> [Diagnostic] {
        do {
            _ = try transform.plan([doc(text)])
            Issue.record("no error for \(text.debugDescription)")
            return []
        } catch {
            return error.diagnostics
        }
    }

    @Test func everythingElseIsCopiedByteForByte() throws {
        let before = "# Title  \r\n\r\nText with trailing spaces   \r\n```python\r\nprint(1)  \r\n```\r\n\t~~~\r\n"
        let block = "```gradtrace alt=\"x times two\"\r\nx = 2\r\ny = x * 2\r\n```\r\n"
        let after = "tail without a newline  "
        let plan = try transform.plan([doc(before + block + after)])
        let out = String(decoding: plan.outputs[0], as: UTF8.self)
        #expect(plan.blocks.count == 1)
        let name = plan.assetNames[0]
        #expect(out == before + "![x times two](assets/\(name))\r\n" + after)
        #expect(MarkdownTransform.isAssetName(name) && name.hasSuffix(".svg"))

        // No gradtrace block: the output is the input, whatever its bytes.
        let plain: [UInt8] = Array("```python\nx\n```\n\u{00}\u{FF}".utf8) + [0xFF, 0xFE, 13]
        let p2 = try transform.plan([.init(name: "p.md", bytes: plain, assetLinkPrefix: "")])
        #expect(p2.outputs[0] == plain)
        #expect(p2.assetNames.isEmpty)
    }

    /// PNG and SVG of one block display at one size: the PNG's <img> carries the SVG's points in CSS pixels.
    @Test func rasterImagesCarryTheSVGsSize() throws {
        var t = transform
        t.sizedRasterImages = true
        let program = "a = 2\nb = -3\nL = a * b\n"
        let plan = try t.plan([doc("```gradtrace format=png\n\(program)```\n```gradtrace\n\(program)```\n", prefix: "")])
        let out = String(decoding: plan.outputs[0], as: UTF8.self)
        let lines = out.split(separator: "\n")
        let size = try #require(plan.blocks[0].assets[0].displaySize)
        #expect(lines[0] == "<img src=\"gradtrace-\(plan.blocks[0].hash).png\" alt=\"all gradients: ∂L/∂a = -3, ∂L/∂b = 2\" width=\"\(size[0])\" height=\"\(size[1])\">", "\(lines[0])")
        #expect(lines[1].hasPrefix("![") && lines[1].hasSuffix(".svg)"))
        // The SVG of the same program, drawn: its pt size × 4/3 is the PNG's displayed size.
        let rendered = try t.render(plan, existing: [], jobs: 1)
        let svgAsset = try #require(rendered.first { $0.name.hasSuffix(".svg") })
        let svg = String(decoding: svgAsset.bytes, as: UTF8.self)
        let w = try #require(svg.firstMatch(of: /width="([0-9.]+)pt" height="([0-9.]+)pt"/))
        let pt = (Double(String(w.1)) ?? 0, Double(String(w.2)) ?? 0)
        #expect(Int((pt.0 * 4 / 3).rounded()) == size[0] && Int((pt.1 * 4 / 3).rounded()) == size[1], "\(w.0) vs \(size)")
    }

    @Test func stepsStripsAndAnimationsName() throws {
        let program = "a = 2\nb = -3\nL = a * b\n"
        let text = "```gradtrace step=all format=png\n\(program)```\n\n  ```gradtrace animate format=png\n\(program)  ```\n"
            + "```gradtrace animate\n\(program)```\n```gradtrace step=0\n\(program)```"
        let plan = try transform.plan([doc(text, prefix: "../img/")])
        let out = String(decoding: plan.outputs[0], as: UTF8.self)
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 9)
        let hash = plan.blocks[0].hash
        // step=all: the frames side by side in a strip that fits the column and scrolls sideways.
        #expect(lines[0] == "<div class=\"gradtrace-steps\" style=\"display:flex;gap:8px;overflow-x:auto;align-items:flex-start\">")
        #expect(lines[1] == "<img src=\"../img/gradtrace-\(hash)-step-000.png\" alt=\"forward pass: L = -6\" style=\"flex:none\">")
        #expect(lines[2] == "<img src=\"../img/gradtrace-\(hash)-step-001.png\" alt=\"∂L/∂a = b = -3; ∂L/∂b = a = 2\" style=\"flex:none\">")
        #expect(lines[3] == "</div>")
        #expect(lines[4] == "" && lines[5] == "")  // the HTML block ends at a blank line
        #expect(lines[6].hasPrefix("  ![animation of every step; all gradients: ∂L/∂a = -3, ∂L/∂b = 2](../img/gradtrace-") && lines[6].hasSuffix(".gif)"))
        #expect(lines[7].hasSuffix(".svg)"))
        #expect(lines[8] == "![forward pass: L = -6](../img/gradtrace-\(plan.blocks[3].hash).svg)")
        #expect(Set(plan.blocks.map(\.hash)).count == 4)
        #expect(plan.assetNames.count == 5)
    }

    @Test func namesHashProgramOptionsAndVersion() throws {
        func name(_ text: String, _ t: MarkdownTransform = MarkdownTransform(version: "test")) throws -> String {
            try t.plan([doc(text)]).assetNames[0]
        }
        let base = try name("```gradtrace\nx = 2\ny = x * x\n```\n")
        #expect(try name("```gradtrace alt=\"other\"\nx = 2\ny = x * x\n```\n") == base)  // alt draws nothing
        #expect(try name("~~~~gradtrace\r\nx = 2\r\ny = x * x\r\n~~~~\r\n") == base)       // fence kind and line endings neither
        #expect(try name("  ```gradtrace\n  x = 2\n  y = x * x\n  ```\n") == base)           // nor indentation
        #expect(try name("```gradtrace\nx = 3\ny = x * x\n```\n") != base)
        #expect(try name("```gradtrace theme=dark\nx = 2\ny = x * x\n```\n") != base)
        #expect(try name("```gradtrace\nx = 2\ny = x * x\n```\n", MarkdownTransform(version: "other")) != base)
        #expect(try name("```gradtrace\nx = 2\ny = x * x\n```\n", MarkdownTransform(version: "test", defaultFormat: .png)) != base)
        // The same block twice (even in two documents) is one asset.
        let twice = try transform.plan([doc("```gradtrace\nx = 2\n```\n```gradtrace\nx = 2\n```\n"), doc("```gradtrace\nx = 2\n```\n")])
        #expect(twice.blocks.count == 3 && twice.assetNames.count == 1)
    }

    @Test func problemsAreLocatedInTheMarkdownFile() {
        // The acceptance example: line 5, column 8.
        let d = failure("# t\n\n```gradtrace\nx = 2\ny = x +\n```\n")
        #expect(d.map { "\($0.file):\($0.line):\($0.column)" } == ["notes.md:5:8"])
        #expect(d.first?.sourceLine == "y = x +")

        // An indented fence: the column counts the stripped spaces, the source line is the file's.
        let i = failure("text\n   ```gradtrace\n   x = 2\n   y = x +\n   ```\n")
        #expect(i.map { "\($0.line):\($0.column)" } == ["4:11"])
        #expect(i.first?.sourceLine == "   y = x +")

        // Options: at their column on the fence line.
        let o = failure("# t\n```gradtrace step=1 colour=grad\nx = 1\n```\n")
        #expect(o.map { "\($0.line):\($0.column)" } == ["2:21"])
        #expect(o.first?.message.contains("unknown option 'colour'") == true)
        #expect(o.first?.sourceLine == "```gradtrace step=1 colour=grad")

        let range = failure("```gradtrace step=9\nx = 1\ny = x * 2\n```\n")
        #expect(range.first?.message.contains("out of range") == true && range.first?.column == 14)
        let unknownInput = failure("```gradtrace at=\"q=1\"\nx = 1\ny = x * 2\n```\n")
        #expect(unknownInput.first?.message.contains("unknown input 'q'") == true && unknownInput.first?.column == 14)
        let wrt = failure("```gradtrace mode=forward wrt=q\nx = 1\ny = x * 2\n```\n")
        #expect(wrt.first?.message.contains("no input of that name") == true && wrt.first?.column == 27)
        let unclosed = failure("a\n\n```gradtrace\nx = 1\n")
        #expect(unclosed.first?.line == 3 && unclosed.first?.message.contains("never closed") == true)
        let empty = failure("```gradtrace\n```\n")
        #expect(empty.first?.line == 2 && empty.first?.message.contains("empty program") == true)

        // Every problem is reported, in order.
        let many = failure("```gradtrace\nx = \n```\n\n```gradtrace bad\nx = 1\n```\n\n```gradtrace\nx = 1\n```\n")
        #expect(many.map(\.line) == [2, 5])
    }

    @Test func preflightProblemsAreReportedAtTheFence() {
        let t = MarkdownTransform(version: "test", preflight: { graph, _ in
            if graph.count > 2 { throw MarkdownBlockProblem("too big to draw") }
        })
        do {
            _ = try t.plan([doc("ok\n ```gradtrace\n x = 1\n y = x * 2\n ```\n")])
            Issue.record("no error")
        } catch {
            #expect(error.diagnostics.map { "\($0.line):\($0.column): \($0.message)" } == ["2:2: too big to draw"])
        }
    }

    @Test func renderingIsTheSameForAnyNumberOfJobs() throws {
        let text = "```gradtrace step=all\nx = 1\ny = 2*x\n```\n```gradtrace format=png\na = 2\nb = a*a\n```\n```gradtrace animate\nx = 1\ny = x*x\n```\n"
            + "```gradtrace animate format=png\nx = 1\ny = x*x\n```\n```gradtrace animate format=png theme=dark\nx = 1\ny = exp(x*x)\n```\n"
        let plan = try transform.plan([doc(text)])
        let one = try transform.render(plan, existing: [], jobs: 1)
        let four = try transform.render(plan, existing: [], jobs: 4)
        #expect(one.map(\.name) == plan.assetNames)
        #expect(one.map(\.name) == four.map(\.name))
        #expect(one.map(\.bytes) == four.map(\.bytes))
        // Existing assets are not drawn again.
        let some = try transform.render(plan, existing: Set(plan.assetNames.prefix(2)), jobs: 2)
        #expect(some.map(\.name) == Array(plan.assetNames.dropFirst(2)))
        #expect(try transform.render(plan, existing: Set(plan.assetNames)).isEmpty)
        let png = try #require(one.first { $0.name.hasSuffix(".png") })
        #expect(Array(png.bytes.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
        let gif = try #require(one.first { $0.name.hasSuffix(".gif") })
        #expect(Array(gif.bytes.prefix(6)) == Array("GIF89a".utf8))
    }

    @Test func helpers() {
        #expect(MarkdownPaths.normalize("a/./b/../c//d", base: "/w") == "/w/a/c/d")
        #expect(MarkdownPaths.normalize("/x/../../y") == "/y")
        #expect(MarkdownPaths.relative(from: "/w/out", to: "/w/out/assets") == "assets")
        #expect(MarkdownPaths.relative(from: "/w/out/sub", to: "/w/out/assets") == "../assets")
        #expect(MarkdownPaths.relative(from: "/w/out", to: "/w/out") == ".")
        #expect(MarkdownPaths.relative(from: "/", to: "/a") == "a")
        #expect(MarkdownPaths.linkEncode("my docs/(1)/gradtrace-a.svg") == "my%20docs/%281%29/gradtrace-a.svg")
        #expect(MarkdownPaths.linkEncode("é") == "%C3%A9")
        #expect(MarkdownPaths.escapeAlt("a [b] *c*\nd\\e") == #"a \[b\] \*c\* d\\e"#)
        #expect(MarkdownTransform.isAssetName("gradtrace-0123456789abcdef.svg"))
        #expect(MarkdownTransform.isAssetName("gradtrace-0123456789abcdef-step-007.png"))
        #expect(MarkdownTransform.isAssetName("gradtrace-0123456789abcdef-step-1234.gif"))
        #expect(!MarkdownTransform.isAssetName("gradtrace-0123456789abcdef.md"))
        #expect(!MarkdownTransform.isAssetName("gradtrace-notes.svg"))
        #expect(!MarkdownTransform.isAssetName("gradtrace-0123456789ABCDEF.svg"))
        #expect(!MarkdownTransform.isAssetName("gradtrace-0123456789abcdef-step-1.svg"))
        // FNV-1a 64 reference values.
        for (text, hex) in [("", "cbf29ce484222325"), ("a", "af63dc4c8601ec8c"), ("foobar", "85944171f73967e8")] {
            var h = FNV1a64()
            h.update(text.utf8)
            #expect(h.hex == hex, "\(text)")
        }
    }

    /// The numbers `docs/TracingANeuron.md` prints from code.
    @Test func theNeuronArticlesNumbers() throws {
        let p = try Program.parse("""
            x1 = 2; x2 = 0; w1 = -3; w2 = 1; b = 6.8813735870195432
            o = tanh(x1*w1 + x2*w2 + b)
            """)
        let trace = Trace(graph: p.graph, output: p.output)
        #expect(p.graph[p.output].value == 0.7071067811865477)
        #expect(trace.gradients[p.graph.input(named: "x1")!] == -1.4999999999999993)
        #expect(trace.gradients[p.graph.input(named: "w1")!] == 0.9999999999999996)
        #expect(trace.gradients[p.graph.input(named: "b")!] == 0.4999999999999998)
    }
}
