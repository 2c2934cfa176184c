import ArgumentParser
import GradTraceCLI
import GradTrace
import GradTraceRender

struct AnimateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "animate",
        abstract: "Animate the whole backward pass: a looping GIF, an animated PNG, a self-animating SVG, or a self-contained HTML step player.",
        discussion: "The kind follows the extension of -o: .gif, .png or .apng (an animated PNG of frame differences: lossless, every colour), .svg or .html. The HTML player opens at step K with #step=K in its URL; with --collapse module on a tensor program a click on a module expands it in place, and #step=K&expand=NAME opens it expanded."
    )

    @OptionGroup var program: ProgramOptions
    @OptionGroup var drawing: DrawingOptions
    @OptionGroup var passOptions: PassOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The output file: FILE.gif, FILE.png (animated PNG), FILE.svg or FILE.html.", valueName: "file"),
            completion: .file(extensions: ["gif", "png", "apng", "svg", "html"]))
    var outputFile: String

    @Option(help: "Steps per second (default 1; the last frame holds three times as long).")
    var fps: Double = 1

    @Flag(help: "Draw graphs above the node limit anyway.")
    var force = false

    func validate() throws {
        guard fps >= 0.01 && fps <= 50 else { throw ValidationError("--fps must be from 0.01 to 50") }
    }

    func run() throws {
        let kind = outputFile.split(separator: ".").last.map { $0.lowercased() } ?? ""
        guard ["gif", "png", "apng", "svg", "html", "htm"].contains(kind) else {
            throw CLIError("cannot tell the animation kind of '\(outputFile)': use a .gif, .png (animated PNG), .svg or .html file")
        }
        let p = try program.load()
        let pass = try passOptions.pass(p, granularity: drawing.granularity)
        try LargeGraphGuard.check(pass: pass, force: force)
        drawing.checkFonts()
        let diagram = try Diagram(pass: pass, style: drawing.style, title: drawing.title)
        drawing.warnIfTooWide(diagram)
        let scale = diagram.animationScale(drawing.scale)
        if ["gif", "png", "apng"].contains(kind) && !force { try Self.checkBudget(diagram, scale: scale) }
        let bytes: [UInt8]
        switch kind {
        case "gif":
            bytes = try Animation.gif(diagram, fps: fps, scale: scale)
        case "png", "apng":
            // Every step in one lossless file: each frame stores only the rectangle that changed.
            bytes = try FrameSet(diagram: diagram, format: .png, scale: scale).animatedPNG(delay: 1 / fps, lastDelay: 3 / fps)
        case "svg":
            bytes = Animation.svg(diagram, fps: fps)
        default:
            // With --rankdir auto the player carries both directions and picks the one for the window.
            func alternative(_ d: Diagram, _ pass: Pass) throws -> Diagram? {
                guard drawing.style.rankdir == .auto else { return nil }
                var s = drawing.style
                s.rankdir = d.style.rankdir == .LR ? .TB : .LR
                return try Diagram(pass: pass, style: s, title: drawing.title)
            }
            // A collapsed tensor pass: each module also drawn expanded, in the direction the collapsed picture took.
            var expansions: [(module: String, diagram: Diagram, alternative: Diagram?)] = []
            for (module, expanded) in passOptions.request(granularity: drawing.granularity).moduleExpansions(for: p) {
                var s = drawing.style
                if s.rankdir == .auto { s.rankdir = diagram.style.rankdir }
                let d = try Diagram(pass: expanded, style: s, title: drawing.title)
                expansions.append((module, d, try alternative(d, expanded)))
            }
            bytes = Animation.html(diagram, alternative: try alternative(diagram, pass), expansions: expansions, fps: fps,
                                   title: drawing.title ?? "GradTrace: backward pass of \(p.outputName)")
        }
        try emit(bytes, to: outputFile, writer: program.writer)
    }

    /// Refuses a raster animation whose frames × pixels a frame pass ``RasterLimits/animationPixels``,
    /// naming a scale that fits.
    static func checkBudget(_ diagram: Diagram, scale: Double) throws {
        let px = diagram.pixelSize(scale: scale)
        let frames = diagram.stepCount + 1
        let total = Double(px.width) * Double(px.height) * Double(frames)
        guard total > RasterLimits.animationPixels else { return }
        let fit = scale * (RasterLimits.animationPixels / total).squareRoot() * 0.99
        let fitText = NumberFormat.short(fit, digits: 2)
        throw CLIError("""
            this animation would paint \(frames) frames of \(px.width) × \(px.height) pixels \
            (\(NumberFormat.short(total / 1e9, digits: 3))·10⁹ pixels, more than the \(NumberFormat.short(RasterLimits.animationPixels / 1e9, digits: 3))·10⁹ \
            an animation may paint). Try --scale \(fitText), fewer steps \
            (--granularity node, --collapse neuron or --collapse layer), separate frames with 'gradtrace frames', \
            or pass --force to make it anyway
            """)
    }
}
