import Dispatch
import GradTrace

/// Turns ```` ```gradtrace ```` fences in Markdown documents into images, in two steps, with no file
/// I/O of its own:
///
/// 1. ``plan(_:)`` finds the blocks, reads their options and programs, runs each pass, and writes
///    the output documents (every other byte copied as it is; each block replaced by its image
///    links, whose alt text comes from `alt=` or the captions). Every problem is reported, each at
///    its line in its Markdown file; nothing is drawn yet.
/// 2. ``render(_:existing:jobs:)`` draws the assets that are not there yet, in parallel, and hands
///    back their bytes in name order, the same for any number of jobs.
///
/// Asset names come from a hash of the block's program text, its normalized options and the
/// GradTrace version (`gradtrace-<16 hex digits>.svg`, `gradtrace-<hash>-step-003.png` for
/// `step=all`), so an asset that exists already is the right picture and need not be drawn again.
///
/// ```swift
/// let t = MarkdownTransform(version: "0.1.0")
/// let plan = try t.plan([.init(name: "notes.md", bytes: text, assetLinkPrefix: "assets/")])
/// let assets = try t.render(plan, existing: [])       // [(name, bytes)]
/// plan.outputs[0]                                     // the Markdown with image links
/// ```
public struct MarkdownTransform: Sendable {
    /// Part of every asset's hash: a new version draws everything again.
    public var version: String
    /// The format of blocks without `format=`.
    public var defaultFormat: MarkdownBlockOptions.ImageFormat
    /// Called with each block's graph and output before anything is drawn; a thrown error is
    /// reported at the block's fence (the CLI refuses graphs Graphviz would take minutes over).
    public var preflight: (@Sendable (any GraphStructure, NodeID) throws -> Void)?
    /// Reads the program file of a `src=PATH` block: given the document's name and PATH, returns the name
    /// diagnostics give the file and its bytes; a thrown error is reported at the fence. nil: `src=` is refused.
    /// (The CLI resolves PATH relative to the Markdown file and refuses paths that leave the docs root.)
    public var readSource: (@Sendable (_ document: String, _ path: String) throws -> (name: String, bytes: [UInt8]))?
    /// PNG and GIF images are linked as `<img … width height>` in CSS pixels taken from the
    /// drawing's points (4/3 px a point, as browsers show an SVG sized in `pt`), so the PNG and
    /// the SVG of one block display at one size whatever the PNG's pixel density. Turn it off
    /// where raw HTML is not shown (DocC): those images stay `![alt](…)`. Costs one layout per
    /// PNG block while planning. Off by default; `gradtrace markdown` turns it on unless
    /// `--link-style docc`.
    public var sizedRasterImages = false

    public init(version: String, defaultFormat: MarkdownBlockOptions.ImageFormat = .svg,
                preflight: (@Sendable (any GraphStructure, NodeID) throws -> Void)? = nil) {
        self.version = version
        self.defaultFormat = defaultFormat
        self.preflight = preflight
    }

    /// One Markdown document to convert.
    public struct Document: Sendable {
        /// The name diagnostics give (a path as the user wrote it, or `<stdin>`).
        public var name: String
        public var bytes: [UInt8]
        /// Put before each asset's file name in links: the assets folder relative to the output
        /// document's folder with a trailing `/` (`assets/`, `../img/`), or empty to link by bare
        /// file name (DocC finds images in its catalog by name).
        public var assetLinkPrefix: String

        public init(name: String, bytes: [UInt8], assetLinkPrefix: String) {
            self.name = name
            self.bytes = bytes
            self.assetLinkPrefix = assetLinkPrefix
        }
    }

    /// What one asset file shows.
    public enum AssetKind: Sendable, Equatable {
        /// One step; `summary` draws the last step as the final state.
        case still(step: Int, summary: Bool)
        /// One frame of `step=all`.
        case frame(Int)
        /// The whole pass: an animated SVG or GIF.
        case animation
    }

    /// An asset a block needs, with its alt text.
    public struct PlannedAsset: Sendable, Equatable {
        public var name: String
        public var kind: AssetKind
        public var alt: String
        /// The displayed size in CSS pixels, for raster images (see ``sizedRasterImages``).
        public var displaySize: [Int]? = nil
    }

    /// A `gradtrace` block, ready to draw.
    public struct Block: Sendable {
        /// The document it is in (index into the documents given to ``plan(_:)``) and its fence.
        public var document: Int
        public var fence: MarkdownFence
        public var options: MarkdownBlockOptions
        /// The format after the document default.
        public var format: MarkdownBlockOptions.ImageFormat
        /// 16 hex digits: FNV-1a 64 of version, normalized options and program text.
        public var hash: String
        public var program: Program
        public var pass: Pass
        public var assets: [PlannedAsset]
        /// The program text drawn: the block's own, the `src=` file's, or the `ref=` block's.
        public var source: [UInt8]
        /// Where render problems are reported.
        var location: Diagnostic
    }

    /// The result of ``plan(_:)``.
    public struct Plan: Sendable {
        /// The converted documents, in the order given.
        public var outputs: [[UInt8]]
        /// Every `gradtrace` block, in document order.
        public var blocks: [Block]
        /// Every asset file the outputs link to: sorted, each once.
        public var assetNames: [String]
        /// Blocks that will draw, but not as asked: a `width=` that shrinks text below
        /// ``smallestTextPixels``, a picture wider than its `max-width=` (the CLI prints these as warnings).
        public var warnings: [Diagnostic] = []
    }

    /// The column a Markdown picture is read in, in points (880 CSS pixels): what a `width=` percentage is of.
    public static let column = 660.0
    /// Text smaller than this, in CSS pixels, is hard to read: a `width=` that shrinks text below it warns.
    public static let smallestTextPixels = 9.0

    /// An asset file drawn by ``render(_:existing:jobs:)``.
    public struct RenderedAsset: Sendable {
        public var name: String
        public var bytes: [UInt8]
    }

    // MARK: - Planning

    /// Finds and checks every block of every document and writes the output documents.
    ///
    /// - Throws: ``MarkdownFailure`` with every problem found, each located in its Markdown file.
    public func plan(_ documents: [Document]) throws(MarkdownFailure) -> Plan {
        var problems: [Diagnostic] = []
        var blocks: [Block] = []
        var outputs: [[UInt8]] = []
        var names = Set<String>()
        for (index, doc) in documents.enumerated() {
            var out: [UInt8] = []
            out.reserveCapacity(doc.bytes.count)
            var copied = 0
            var named: [String: (source: [UInt8], file: String, line: Int)] = [:]
            for fence in MarkdownFences.scan(doc.bytes) where fence.language == "gradtrace" {
                do throws(Diagnostic) {
                    let block = try makeBlock(fence, in: doc, index: index, named: named)
                    if let id = block.options.id {
                        if let earlier = named[id] {
                            throw Self.located(fence, file: doc.name, column: fence.infoColumn + (block.options.positions["id"] ?? 0),
                                               "id=\(id) is given twice in this file (first at line \(earlier.line))")
                        }
                        named[id] = (block.source, doc.name, fence.openingLine)
                    }
                    out.append(contentsOf: doc.bytes[copied..<fence.range.lowerBound])
                    out.append(contentsOf: Self.replacement(for: block, prefix: doc.assetLinkPrefix))
                    copied = fence.range.upperBound
                    blocks.append(block)
                    for a in block.assets { names.insert(a.name) }
                } catch {
                    problems.append(error)
                }
            }
            out.append(contentsOf: doc.bytes[copied...])
            outputs.append(out)
        }
        if !problems.isEmpty { throw MarkdownFailure(diagnostics: problems) }
        var plan = Plan(outputs: outputs, blocks: blocks, assetNames: names.sorted())
        plan.warnings = blocks.compactMap { widthWarning($0, file: documents[$0.document].name) }
        return plan
    }

    /// The warning for a block whose picture will not read well: `width=` making its smallest text
    /// smaller than ``smallestTextPixels`` (a percentage is of the ``column``), or a picture that
    /// stays wider than its `max-width=`. Located at the option on the fence's line.
    func widthWarning(_ block: Block, file: String) -> Diagnostic? {
        let o = block.options
        guard o.width != nil || o.maxWidth != nil, let diagram = try? Self.diagram(for: o, pass: block.pass) else { return nil }
        let fence = block.fence
        func at(_ option: String) -> Int { fence.infoColumn + (o.positions[option] ?? 0) }
        if let width = o.width {
            let css = diagram.canvasSize.width * 4 / 3
            let shown: Double?
            if width.hasSuffix("%") { shown = Double(width.dropLast()).map { $0 / 100 * Self.column * 4 / 3 } } else { shown = Double(width) }
            if let shown, css > 0 {
                let drawing = diagram.drawing(step: diagram.stepCount, summary: true)
                let smallest = drawing.items.compactMap { item -> Double? in if case .text(let t) = item { return t.size } else { return nil } }.min() ?? 12
                let px = smallest * 4 / 3 * shown / css
                if px < Self.smallestTextPixels {
                    return Self.located(fence, file: file, column: at("width"),
                                        "width=\(width) shows this \(Int(css.rounded())) px picture at \(Int(shown.rounded())) px: its smallest text becomes "
                                        + "\(NumberFormat.short(px, digits: 2)) px (below \(NumberFormat.short(Self.smallestTextPixels)) px); "
                                        + "leave width= out, or ask for max-width= to redraw it narrower")
                }
            }
        }
        if let w = diagram.fitWarning {
            return Self.located(fence, file: file, column: at("max-width"), w)
        }
        return nil
    }

    /// A diagnostic on a fence's opening line, at a column of that line.
    static func located(_ fence: MarkdownFence, file: String, column: Int, _ message: String) -> Diagnostic {
        Diagnostic(file: file, line: fence.openingLine, column: column, message: message, sourceLine: fence.openingLineText)
    }

    func makeBlock(_ fence: MarkdownFence, in doc: Document, index: Int,
                   named: [String: (source: [UInt8], file: String, line: Int)] = [:]) throws(Diagnostic) -> Block {
        let atFence = fence.indent + 1
        guard fence.closed else {
            throw Self.located(fence, file: doc.name, column: atFence,
                               "this gradtrace block is never closed: end it with a line of \(String(repeating: fence.marker, count: fence.markerCount))")
        }
        let options: MarkdownBlockOptions
        do {
            options = try MarkdownBlockOptions.parse(fence.info)
        } catch {
            throw Self.located(fence, file: doc.name, column: fence.infoColumn + error.offset, error.message)
        }
        func at(_ key: String) -> Int { fence.infoColumn + (options.positions[key] ?? 0) }

        // Where the program comes from: the block itself, a file (src=), or an earlier block (ref=).
        var source = fence.content
        var sourceFile: String?  // nil: the block's own text, whose diagnostics are moved into the Markdown file
        if options.src != nil || options.ref != nil {
            let key = options.src != nil ? "src" : "ref"
            if fence.content.contains(where: { $0 != 32 && $0 != 9 && $0 != 10 && $0 != 13 }) {
                throw Self.located(fence, file: doc.name, column: at(key),
                                   "a block with \(key)= draws that program: leave the block's body empty")
            }
            if let path = options.src {
                guard let readSource else {
                    throw Self.located(fence, file: doc.name, column: at("src"), "src= is not available here")
                }
                do {
                    let (name, bytes) = try readSource(doc.name, path)
                    source = bytes
                    sourceFile = name
                } catch {
                    throw Self.located(fence, file: doc.name, column: at("src"), "src=\(path): \(error)")
                }
            } else if let id = options.ref {
                guard let earlier = named[id] else {
                    let known = named.keys.sorted()
                    throw Self.located(fence, file: doc.name, column: at("ref"),
                                       "ref=\(id): no earlier block in this file has id=\(id)"
                                       + (known.isEmpty ? "" : " (the ids so far: \(known.joined(separator: ", ")))"))
                }
                source = earlier.source
                sourceFile = earlier.file
            }
        }

        // The program, with diagnostics moved to their line (and column) in the Markdown file.
        let program: Program
        do {
            var overrides: [String: Tensor] = [:]
            for o in options.at { overrides[o.name] = o.asTensor }
            if let file = sourceFile, file.lowercased().hasSuffix(".json") {
                // A graph as JSON (what gradtrace.micrograd, .torch and .jax write), read as `gradtrace render FILE.json` reads it.
                program = try GraphJSON.read(bytes: source, file: file, values: overrides)
            } else {
                program = try Program.parse(bytes: source, file: sourceFile ?? doc.name, values: overrides, seed: options.seed)
            }
        } catch let d as Diagnostic where sourceFile != nil {
            // An error in a src= file is reported in that file, and at the fence that asked for it.
            throw Self.located(fence, file: doc.name, column: at(options.src != nil ? "src" : "ref"), "in the program: \(d.description)")
        } catch let d as Diagnostic {
            var r = d.relocated(file: doc.name, lineOffset: fence.openingLine)
            if d.line >= 1 && d.line <= fence.lines.count {
                r.column += fence.lines[d.line - 1].strippedIndent
                r.sourceLine = fence.lines[d.line - 1].text
            }
            throw r
        } catch let p as Program.Problem {
            switch p {
            case .unknownInput(let name, let known):
                throw Self.located(fence, file: doc.name, column: at("at"),
                                   "at=: unknown input '\(name)': the block's inputs are " + Self.list(known))
            case .unknownOutput(let name, _):
                throw Self.located(fence, file: doc.name, column: atFence, "unknown output '\(name)'")
            case .wrongShape(let name, let given, let expected):
                throw Self.located(fence, file: doc.name, column: at("at"),
                                   "at=: a value of shape \(given) for '\(name)', which has shape \(expected)")
            case .notUTF8(_, let line):
                let text = line <= fence.lines.count ? fence.lines[line - 1].text : ""
                throw Diagnostic(file: doc.name, line: fence.openingLine + line, column: 1,
                                 message: "the block is not UTF-8 text", sourceLine: text)
            }
        } catch {
            throw Self.located(fence, file: doc.name, column: atFence, "\(error)")
        }

        // The pass.
        let pass: Pass
        do {
            pass = try PassRequest(wrt: options.mode == .forward ? options.wrt : nil, wiggle: options.wiggle, collapse: options.collapse).pass(for: program)
        } catch {
            if case .collapse = error { throw Self.located(fence, file: doc.name, column: at("collapse"), error.message { "wrt=\($0)" }) }
            throw Self.located(fence, file: doc.name, column: at("wrt"), error.message { "wrt=\($0)" })
        }
        if case .number(let k) = options.step, k > pass.stepCount {
            throw Self.located(fence, file: doc.name, column: at("step"),
                               "step=\(k) is out of range: this block has steps 0 (forward pass) to \(pass.stepCount)")
        }
        if let preflight {
            do {
                try preflight(program.structure, program.output)
            } catch {
                throw Self.located(fence, file: doc.name, column: atFence, "\(error)")
            }
        }

        // Asset names and alt text.
        let format = options.format ?? defaultFormat
        var hasher = FNV1a64()
        hasher.update("gradtrace-markdown 1\nversion=\(version)\n".utf8)
        hasher.update(options.normalized(defaultFormat: defaultFormat).utf8)
        hasher.update([0])
        hasher.update(source)
        let hash = hasher.hex
        let base = "gradtrace-" + hash
        let ext = options.animate && format == .png ? "gif" : format.rawValue
        func caption(_ step: Int, summary: Bool = false) -> String {
            Scene(pass: pass, step: step, summary: summary).caption
        }
        var assets: [PlannedAsset] = []
        if options.animate {
            assets = [PlannedAsset(name: base + "." + ext, kind: .animation,
                                   alt: options.alt ?? "animation of every step; " + caption(pass.stepCount, summary: true))]
        } else {
            switch options.step {
            case .final:
                assets = [PlannedAsset(name: base + "." + ext, kind: .still(step: pass.stepCount, summary: true),
                                       alt: options.alt ?? caption(pass.stepCount, summary: true))]
            case .number(let k):
                assets = [PlannedAsset(name: base + "." + ext, kind: .still(step: k, summary: false), alt: options.alt ?? caption(k))]
            case .all:
                let width = max(3, String(pass.stepCount).count)
                for k in 0...pass.stepCount {
                    let n = String(k)
                    let name = base + "-step-" + String(repeating: "0", count: width - n.count) + n + "." + ext
                    assets.append(PlannedAsset(name: name, kind: .frame(k),
                                               alt: options.alt.map { "\($0), step \(k)" } ?? caption(k)))
                }
            }
        }
        if sizedRasterImages && format == .png && options.width == nil {
            // The size each image shows at, from the same points as its SVG would have.
            do {
                let diagram = try Self.diagram(for: options, pass: pass)
                let plain = diagram.withoutLegend()
                func css(_ d: Diagram) -> [Int] {
                    let c = d.canvasSize
                    return [Int((c.width * 4 / 3).rounded()), Int((c.height * 4 / 3).rounded())]
                }
                for i in assets.indices {
                    if case .frame(let k) = assets[i].kind, k != pass.stepCount {
                        assets[i].displaySize = css(plain)
                    } else if case .still(let k, let summary) = assets[i].kind {
                        assets[i].displaySize = css(diagram.still(step: k, summary: summary))
                    } else {
                        assets[i].displaySize = css(diagram)
                    }
                }
            } catch {
                throw Self.located(fence, file: doc.name, column: atFence, "cannot draw this block: \(error)")
            }
        }
        return Block(document: index, fence: fence, options: options, format: format, hash: hash, program: program,
                     pass: pass, assets: assets, source: source,
                     location: Self.located(fence, file: doc.name, column: atFence, ""))
    }

    /// The Markdown that stands for a block: one image per line, indented as the fence was, ending
    /// with the block's own last line ending.
    static func replacement(for block: Block, prefix: String) -> [UInt8] {
        let fence = block.fence
        let indent = String(repeating: " ", count: fence.indent)
        let separator = !fence.trailingLineEnding.isEmpty ? fence.trailingLineEnding
            : !fence.openingLineEnding.isEmpty ? fence.openingLineEnding : [10]
        var out: [UInt8] = []
        // step=all: the frames side by side in one horizontal strip as wide as the column, each at its own
        // (readable) size, the strip scrolling sideways when they do not all fit.
        let strip = block.options.step == .all && !block.options.animate
        if strip {
            out.append(contentsOf: (indent + "<div class=\"gradtrace-steps\" style=\"display:flex;gap:8px;overflow-x:auto;align-items:flex-start\">").utf8)
            out.append(contentsOf: separator)
        }
        for (i, a) in block.assets.enumerated() {
            if i > 0 { out.append(contentsOf: separator) }
            let link = MarkdownPaths.linkEncode(prefix + a.name)
            let line: String
            if strip {
                // Inside an HTML block Markdown is not read: every frame is an <img>.
                var attrs = "src=\"" + link + "\" alt=\"" + MarkdownPaths.escapeAttribute(a.alt) + "\""
                if let width = block.options.width {
                    attrs += " width=\"" + width + "\""
                } else if let size = a.displaySize, size.count == 2 {
                    attrs += " width=\"\(size[0])\" height=\"\(size[1])\""
                }
                line = indent + "<img " + attrs + " style=\"flex:none\">"
            } else if let width = block.options.width {
                // Markdown images have no size: an HTML image carries the width.
                line = indent + "<img src=\"" + link + "\" alt=\"" + MarkdownPaths.escapeAttribute(a.alt) + "\" width=\"" + width + "\">"
            } else if let size = a.displaySize, size.count == 2 {
                line = indent + "<img src=\"" + link + "\" alt=\"" + MarkdownPaths.escapeAttribute(a.alt)
                    + "\" width=\"\(size[0])\" height=\"\(size[1])\">"
            } else {
                line = indent + "![" + MarkdownPaths.escapeAlt(a.alt) + "](" + link + ")"
            }
            out.append(contentsOf: line.utf8)
        }
        if strip {
            // An HTML block runs to the next blank line: one follows, so the text after it is Markdown again.
            out.append(contentsOf: separator)
            out.append(contentsOf: (indent + "</div>").utf8)
            out.append(contentsOf: separator)
        }
        out.append(contentsOf: fence.trailingLineEnding)
        return out
    }

    static func list(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.map { "'\($0)'" }.joined(separator: ", ")
    }

    // MARK: - Drawing

    /// Draws every asset of the plan whose name is not in `existing`, `jobs` blocks at a time
    /// (0: one per core). Each distinct block is laid out once. The bytes do not depend on `jobs`.
    ///
    /// - Throws: ``MarkdownFailure`` with a diagnostic at the fence of every block that failed.
    public func render(_ plan: Plan, existing: Set<String>, jobs: Int = 0) throws(MarkdownFailure) -> [RenderedAsset] {
        var seen = Set<String>()
        var work: [(block: Block, assets: [PlannedAsset])] = []
        for b in plan.blocks {
            let missing = b.assets.filter { !existing.contains($0.name) && !seen.contains($0.name) }
            for a in missing { seen.insert(a.name) }
            if !missing.isEmpty { work.append((b, missing)) }
        }
        guard !work.isEmpty else { return [] }
        let items = work
        let results = MarkdownResults(count: work.count)
        let next = Counter()
        let workers = min(work.count, jobs > 0 ? jobs : ProcessInfoShim.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let i = next.increment() - 1
                if i >= items.count { return }
                let item = items[i]
                do {
                    results.set(i, .success(try Self.draw(item.block, item.assets)))
                } catch {
                    var d = item.block.location
                    d.message = "cannot draw this block: \(error)"
                    results.set(i, .failure(d))
                }
            }
        }
        var assets: [RenderedAsset] = []
        var problems: [Diagnostic] = []
        for r in results.all() {
            switch r {
            case .success(let a): assets.append(contentsOf: a)
            case .failure(let d): problems.append(d)
            case nil: break
            }
        }
        if !problems.isEmpty { throw MarkdownFailure(diagnostics: problems) }
        return assets.sorted { $0.name < $1.name }
    }

    /// Lays a block out once and draws the assets asked for, with the same scales as
    /// `gradtrace render` (stills), `gradtrace frames` (step=all) and `gradtrace animate` (GIF), so
    /// each image is byte for byte what those commands draw.
    static func draw(_ block: Block, _ assets: [PlannedAsset]) throws -> [RenderedAsset] {
        let diagram = try diagram(for: block.options, pass: block.pass)
        let plain = diagram.withoutLegend()  // step=all: the legend once, under the last frame,
        var last = diagram                    // naming every state the frames show
        if assets.contains(where: { if case .frame = $0.kind { return true } else { return false } }) {
            last.legendStates = Set((0...block.pass.stepCount).flatMap { diagram.scene(step: $0).nodes.map(\.state) })
        }
        let png = block.format == .png
        return try assets.map { a in
            let bytes: [UInt8]
            switch a.kind {
            case .still(let step, let summary):
                let still = diagram.still(step: step, summary: summary)
                let format: Diagram.Format = png ? .png(scale: still.fittingScale(2, maxSide: RasterLimits.markdownSide, maxPixels: RasterLimits.markdownPixels)) : .svg
                bytes = try still.render(step: step, format: format, summary: summary)
            case .frame(let step):
                let format: Diagram.Format = png ? .png(scale: diagram.fittingScale(2, maxSide: RasterLimits.markdownSide, maxPixels: RasterLimits.framePixels), compression: RasterLimits.frameLevel) : .svg
                bytes = try (step == block.pass.stepCount ? last : plain).render(step: step, format: format)
            case .animation:
                bytes = png ? try Animation.gif(diagram, fps: 1, scale: diagram.animationScale())
                    : Animation.svg(diagram, fps: 1)
            }
            return RenderedAsset(name: a.name, bytes: bytes)
        }
    }

    /// A block's diagram, laid out as its options say.
    static func diagram(for o: MarkdownBlockOptions, pass: Pass) throws(RenderError) -> Diagram {
        var style = RenderStyle(rankdir: o.rankdir, theme: Theme.named(o.theme), colorByGradient: o.colorByGradient)
        style.labels = o.labels
        style.maxWidth = o.effectiveMaxWidth
        return try Diagram(pass: pass, style: style, title: o.title)
    }

    /// Whether a file name is one the transform makes: `gradtrace-<16 hex>.EXT` or
    /// `gradtrace-<16 hex>-step-<digits>.EXT` (what `--prune` may delete).
    public static func isAssetName(_ name: String) -> Bool {
        let s = Array(name.utf8)
        let prefix = Array("gradtrace-".utf8)
        guard s.count > prefix.count + 16, Array(s[0..<prefix.count]) == prefix else { return false }
        let hex = s[prefix.count..<prefix.count + 16]
        guard hex.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return false }
        var rest = String(decoding: s[(prefix.count + 16)...], as: UTF8.self)
        if rest.hasPrefix("-step-") {
            rest.removeFirst(6)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard digits.count >= 3 else { return false }
            rest.removeFirst(digits.count)
        }
        return [".svg", ".png", ".gif"].contains(rest)
    }
}

/// Every problem of a Markdown conversion, each located in its Markdown file.
public struct MarkdownFailure: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [Diagnostic]
    public init(diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A problem a ``MarkdownTransform/preflight`` check reports (its message is shown at the fence).
public struct MarkdownBlockProblem: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Results of a parallel run, by index.
final class MarkdownResults: @unchecked Sendable {
    private let lock = NSLockShim()
    private var items: [Result<[MarkdownTransform.RenderedAsset], Diagnostic>?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[MarkdownTransform.RenderedAsset], Diagnostic>) { lock.with { items[i] = r } }
    func all() -> [Result<[MarkdownTransform.RenderedAsset], Diagnostic>?] { lock.with { items } }
}

/// 64-bit FNV-1a: a small, stable, non-cryptographic hash for asset file names.
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for b in bytes {
            value ^= UInt64(b)
            value = value &* 0x0000_0100_0000_01B3
        }
    }

    /// 16 lowercase hex digits.
    public var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Path and link text helpers of the Markdown transform (pure string work, no file system).
public enum MarkdownPaths {
    /// `path` with `.` and `..` resolved and repeated slashes removed; relative paths are made
    /// absolute against `base` first.
    public static func normalize(_ path: String, base: String = "/") -> String {
        let full = path.hasPrefix("/") ? path : base + "/" + path
        var parts: [Substring] = []
        for c in full.split(separator: "/", omittingEmptySubsequences: true) {
            if c == "." { continue }
            if c == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    /// The path of `target` as seen from `folder` (both absolute and normalized): `assets/a.svg`,
    /// `../assets/a.svg`, or `.` when they are the same.
    public static func relative(from folder: String, to target: String) -> String {
        let a = folder.split(separator: "/"), b = target.split(separator: "/")
        var common = 0
        while common < a.count && common < b.count && a[common] == b[common] { common += 1 }
        let up = Array(repeating: "..", count: a.count - common)
        let down = b[common...].map(String.init)
        let parts = up + down
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    /// A link destination: bytes other than letters, digits, `-._~/` are percent-encoded, so
    /// spaces and parentheses in folder names cannot break the link.
    public static func linkEncode(_ path: String) -> String {
        var out = ""
        for b in path.utf8 {
            let keep = (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || "-._~/".utf8.contains(b)
            if keep {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" : "") + h
            }
        }
        return out
    }

    /// Text for an HTML attribute value in double quotes: `& < > "` as entities, on one line
    /// (line breaks and tabs become spaces, other control characters are dropped), through the
    /// one markup-escaping routine.
    public static func escapeAttribute(_ text: String) -> String {
        var oneLine = ""
        for c in text.unicodeScalars { oneLine.unicodeScalars.append(c == "\n" || c == "\r" || c == "\t" ? " " : c) }
        return DOTEscaping.markup(oneLine, keepingLineBreaks: false)
    }

    /// Alt text as Markdown shows it literally: one line, with `\ [ ] * _ ` < > &` escaped and other control characters dropped.
    public static func escapeAlt(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "\n", "\r", "\t": out += " "
            case "\\", "[", "]", "*", "_", "`", "<", ">", "&": out += "\\" + String(c)
            default:
                // Other control characters (ESC, DEL, C1) would reach a terminal or a page raw: dropped.
                if c.value < 0x20 || (c.value >= 0x7F && c.value < 0xA0) { continue }
                out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
