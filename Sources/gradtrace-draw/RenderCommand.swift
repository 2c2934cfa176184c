import ArgumentParser
import GradTraceCLI
import GradTrace
import GradTraceRender

extension RenderStyle.RankDir: ExpressibleByArgument {}
extension RenderStyle.LabelMode: ExpressibleByArgument {}

/// How SVG carries text.
enum SVGText: String, ExpressibleByArgument { case text, outlines }
extension ThemeName: ExpressibleByArgument {}

/// Drawing options shared by render, frames and animate.
struct DrawingOptions: ParsableArguments {
    @Option(help: ArgumentHelp(OptionSchema.help(cli: "rankdir")))
    var rankdir: RenderStyle.RankDir = .auto

    @Option(help: ArgumentHelp(OptionSchema.help(cli: "labels")))
    var labels: RenderStyle.LabelMode = .compact

    @Option(name: .customLong("max-width"), help: ArgumentHelp(OptionSchema.help(cli: "max-width"), valueName: "pt"))
    var maxWidth: Double?

    @Option(name: .customLong("svg-text"), help: ArgumentHelp(OptionSchema.help(cli: "svg-text")))
    var svgText: SVGText = .text

    @Option(help: ArgumentHelp(OptionSchema.help(cli: "theme")))
    var theme: ThemeName = .light

    @Option(help: ArgumentHelp(OptionSchema.help(cli: "scale")))
    var scale: Double?

    @Option(help: ArgumentHelp(OptionSchema.help(cli: "title")))
    var title: String?

    @Option(help: ArgumentHelp(OptionSchema.help(cli: "granularity")))
    var granularity: Granularity = .node

    @Flag(help: ArgumentHelp(OptionSchema.help(cli: "clusters")))
    var clusters = false

    @Option(help: ArgumentHelp(OptionSchema.help(cli: "cells"), valueName: "auto|all"))
    var cells: CellNumbers = .auto

    @Option(name: .customLong("color-by"), help: ArgumentHelp(OptionSchema.help(cli: "color-by")))
    var colorBy: ColorBy = .state

    func validate() throws {
        if let s = scale, !(s > 0 && s <= 16) { throw ValidationError("--scale must be a number above 0 and at most 16") }
        let range = OptionSchema.maxWidthRange
        if let w = maxWidth, !range.contains(w) {
            throw ValidationError("--max-width must be between \(Int(range.lowerBound)) and \(Int(range.upperBound)) points")
        }
    }

    /// Warns once on standard error when the pictures' font is missing.
    func checkFonts() {
        if let w = FontCheck.warning() { StandardError.write(w + "\n") }
    }

    /// Says on standard error when `--max-width` could not be met (what was reached, what to try).
    func warnIfTooWide(_ diagram: Diagram) {
        if let w = diagram.fitWarning { StandardError.write("warning: " + w + "\n") }
    }

    var style: RenderStyle {
        var s = RenderStyle(rankdir: rankdir, theme: Theme.named(theme), colorByGradient: colorBy == .grad)
        s.clusters = clusters
        s.labels = labels
        s.maxWidth = maxWidth
        s.allCells = cells == .all
        return s
    }
}

/// `--cells`: which tensor cells carry their numbers.
enum CellNumbers: String, ExpressibleByArgument { case auto, all }

/// Output formats by name and extension.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case dot, svg, png, pdf

    static func from(path: String) -> OutputFormat? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        return OutputFormat(rawValue: path[path.index(after: dot)...].lowercased())
    }

    /// The complaint when the file's extension names another format than `--format` (`x.png --format svg`).
    static func contradiction(explicit: OutputFormat?, path: String) -> String? {
        guard let explicit, path != "-", let implied = from(path: path), implied != explicit else { return nil }
        return "-o \(path) has the extension of \(implied.rawValue.uppercased()), but --format is \(explicit.rawValue): "
            + "name the file .\(explicit.rawValue), or leave --format out"
    }

    static func resolve(explicit: OutputFormat?, path: String) throws -> OutputFormat {
        if let explicit {
            if let message = contradiction(explicit: explicit, path: path) { throw CLIError(message) }
            return explicit
        }
        if path == "-" { throw CLIError("-o - (standard output) needs --format dot|svg|png|pdf") }
        guard let f = from(path: path) else {
            throw CLIError("cannot tell the format of '\(path)' from its extension: use .dot, .svg, .png or .pdf, or --format")
        }
        return f
    }
}

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Draw the graph at one step of the backward pass (default: the final state) as DOT, SVG, PNG or PDF."
    )

    @OptionGroup var program: ProgramOptions
    @OptionGroup var drawing: DrawingOptions
    @OptionGroup var passOptions: PassOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The output file, or - for standard output.", valueName: "file"),
            completion: .file(extensions: ["svg", "png", "pdf", "dot"]))
    var outputFile: String

    @Option(name: [.short, .long], help: "The output format (default: from the file's extension).")
    var format: OutputFormat?

    @Option(help: ArgumentHelp(OptionSchema.help(cli: "step")))
    var step: Int?

    @Flag(help: "Draw graphs above the node limit anyway (Graphviz may take minutes).")
    var force = false

    func validate() throws {
        if let message = OutputFormat.contradiction(explicit: format, path: outputFile) { throw ValidationError(message) }
    }

    func run() throws {
        let format = try OutputFormat.resolve(explicit: format, path: outputFile)
        if outputFile != "-" { try program.writer.checkNotInput(outputFile) }
        let p = try program.load()
        let pass = try passOptions.pass(p, granularity: drawing.granularity)
        let step = self.step ?? pass.stepCount
        let summary = self.step == nil
        guard step >= 0 && step <= pass.stepCount else {
            throw CLIError("--step \(step) is out of range: this trace has steps 0 (forward pass) to \(pass.stepCount)")
        }
        let bytes: [UInt8]
        if format == .dot && drawing.maxWidth != nil {
            // Fitting a width needs the layouts the width ladder compares: the DOT of the rung that fits.
            try LargeGraphGuard.check(pass: pass, force: force)
            let diagram = try Diagram(pass: pass, style: drawing.style, title: drawing.title)
            drawing.warnIfTooWide(diagram)
            bytes = Array(diagram.dot(step: step, pinned: false, summary: summary).utf8)
        } else if format == .dot {
            // DOT needs no layout (and no Graphviz): the scene as text.
            let scene = Scene(pass: pass, step: step, title: drawing.title, summary: summary)
            let style = drawing.style
            let scale = style.colorByGradient ? ColorScale(derivatives: visibleDerivatives(pass: pass)) : nil
            let clusters = style.clusters && !pass.isCollapsed ? Diagram.clusters(graph: pass.structure, output: pass.output, visible: scene.nodes.map(\.id)) : []
            bytes = Array(scene.dot(style: style, colorScale: scale, clusters: clusters).text.utf8)
        } else {
            try LargeGraphGuard.check(pass: pass, force: force)
            drawing.checkFonts()
            let laid = try Diagram(pass: pass, style: drawing.style, title: drawing.title)
            drawing.warnIfTooWide(laid)
            let diagram = laid.still(step: step, summary: summary)  // one picture: as tall as its step needs
            switch format {
            case .png:
                let wanted = drawing.scale ?? 2
                let scale = drawing.scale == nil ? diagram.fittingScale(wanted, maxSide: RasterLimits.markdownSide, maxPixels: RasterLimits.markdownPixels) : wanted
                bytes = try diagram.render(step: step, format: .png(scale: scale), summary: summary)
            case .svg: bytes = try diagram.render(step: step, format: drawing.svgText == .outlines ? .svgOutlines : .svg, summary: summary)
            default: bytes = try diagram.render(step: step, format: .pdf, summary: summary)
            }
        }
        try emit(bytes, to: outputFile, writer: program.writer)
    }
}

/// Refuses graphs that Graphviz would take minutes over, before calling it.
///
/// Two limits: the node count (a DAG of 5,000 nodes takes about 12 s to lay out, 20,000 about
/// 1,000 s), and the estimated layout cost, since a few hundred long edges (a long sum of early
/// terms) make `dot`'s network simplex crawl even on a small graph (measured here: cost 4,500 →
/// 4 s, 10,000 → 35 s, 19,000 → over 2 minutes).
enum LargeGraphGuard {
    /// Collapsed drawings: the most units drawn.
    static let nodeLimit = 5000
    /// Past this many nodes a graph is refused without estimating (the estimate would pass the limit
    /// anyway: 20,000 placed nodes alone take `dot` about 6 s, and a graph has at least as many edges).
    static let hardNodeLimit = 20_000
    /// The longest layout, in estimated seconds of `dot` (``Scene/LayoutEstimate/seconds``), drawn without `--force`.
    static let secondsLimit = 10.0

    static func check(pass: Pass, force: Bool) throws {
        guard !force else { return }
        if case .collapsed(let c, _) = pass {
            guard c.units.count > nodeLimit else { return }
            throw CLIError("even collapsed, the graph has \(c.units.count) units, more than \(nodeLimit): try --collapse layer, or --force")
        }
        try check(graph: pass.structure, output: pass.output, force: force)
    }

    static func check(graph: some GraphStructure, output: NodeID, force: Bool) throws {
        guard !force else { return }
        let advice = "Draw it collapsed (--collapse neuron or --collapse layer), a smaller part with --result NAME, or pass --force to wait for it anyway"
        if graph.count > hardNodeLimit {
            throw CLIError("""
                the graph has \(graph.count) nodes, more than the \(hardNodeLimit) that Graphviz lays out in reasonable time \
                (a chain of 10,000 nodes takes about 16 s, an MLP of 6,300 nodes 90 s). \(advice)
                """)
        }
        let e = Scene.layoutEstimate(graph: graph, output: output)
        if e.seconds > secondsLimit {
            throw CLIError("""
                laying out this graph would take Graphviz about \(NumberFormat.short(e.seconds, digits: 2)) s \
                (estimated from its \(e.nodes) drawn nodes, \(e.edges) edges, \(e.virtualNodes) virtual nodes and \(e.ranks) ranks; \
                the limit is \(NumberFormat.short(secondsLimit)) s). \(advice)
                """)
        }
    }
}
