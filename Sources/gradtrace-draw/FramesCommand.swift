import ArgumentParser
import GradTraceCLI
import Foundation
import GradTrace
import GradTraceRender

extension FrameSet.Format: ExpressibleByArgument {}

struct FramesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frames",
        abstract: "Draw one frame per backward step (step-000 is the forward pass), all on one layout, plus manifest.json.",
        discussion: "With --format pdf and -o FILE.pdf, writes one PDF with a page per step instead."
    )

    @OptionGroup var program: ProgramOptions
    @OptionGroup var drawing: DrawingOptions
    @OptionGroup var passOptions: PassOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The folder for the frames (created if missing), or FILE.pdf for one multi-page PDF.", valueName: "dir"),
            completion: .directory)
    var outputDir: String

    @Option(name: [.customShort("f"), .long], help: "Frame format: png (default), svg, pdf or dot (DOT frames carry the layout as pinned pos attributes).")
    var format: FrameSet.Format?

    @Option(help: "Frames drawn at once (default: one per core).")
    var jobs: Int = 0

    @Flag(help: "Draw graphs above the node limit anyway.")
    var force = false

    func validate() throws {
        if outputDir == "-" { throw ValidationError("frames writes many files: -o needs a folder (or FILE.pdf), not - (standard output)") }
        // A folder named like a picture (`-o fr.png`) is a mistake: refuse it rather than create it.
        let lower = outputDir.lowercased()
        if let dot = lower.lastIndex(of: "."), !lower[dot...].contains("/") {
            let ext = String(lower[lower.index(after: dot)...])
            if ["png", "svg", "dot", "gif", "html", "htm", "jpg", "jpeg", "webp"].contains(ext) {
                throw ValidationError("-o \(outputDir) looks like a file, but frames writes a folder of step-NNN.\(format?.rawValue ?? "png") files: give a folder name (or FILE.pdf with --format pdf for one multi-page PDF)")
            }
        }
    }

    func run() throws {
        let p = try program.load()
        let pass = try passOptions.pass(p, granularity: drawing.granularity)
        let multipage = outputDir.lowercased().hasSuffix(".pdf")
        let format = self.format ?? (multipage ? .pdf : .png)
        if multipage && format != .pdf { throw CLIError("-o \(outputDir) is a PDF file: one multi-page PDF needs --format pdf") }
        try LargeGraphGuard.check(pass: pass, force: force)
        drawing.checkFonts()
        let diagram = try Diagram(pass: pass, style: drawing.style, title: drawing.title)
        drawing.warnIfTooWide(diagram)
        // Frames come by the hundred: by default at most 8 megapixels each (text stays readable at 1 px/pt).
        let scale = drawing.scale ?? diagram.fittingScale(2, maxSide: RasterLimits.markdownSide, maxPixels: RasterLimits.framePixels)
        let frames = FrameSet(diagram: diagram, format: format, scale: scale)
        let writer = program.writer
        if multipage {
            try writer.write(try frames.multipagePDF(), to: outputDir)
            return
        }
        // An earlier manifest of ours lists the frames we may remove; someone else's is left alone.
        let manifestPath = outputDir + "/manifest.json"
        var earlierFrames: [String] = []
        if let old = try? Files.read(manifestPath) {
            guard let listed = FrameSet.framesListed(inManifest: old) else {
                throw CLIError("'\(manifestPath)' was not written by gradtrace frames: refusing to replace it (choose another folder)")
            }
            earlierFrames = listed
        }
        try writer.makeDirectory(outputDir)
        let total = diagram.stepCount + 1
        let showProgress = StandardError.isTerminal && total > 4
        try frames.renderAll(jobs: jobs, sink: { k, bytes in
            try writer.write(bytes, to: outputDir + "/" + frames.fileName(step: k))
        }, progress: { done in
            if showProgress { StandardError.write("\rframes \(done)/\(total)" + (done == total ? "\n" : "")) }
        })
        try writer.write(Array(frames.manifest(outputName: p.outputName).utf8), to: manifestPath)
        // Frames of an earlier, longer run would be picked up by `step-%03d` globs: remove those
        // that our earlier manifest listed (and only those: a file of the user's stays).
        let current = Set((0...diagram.stepCount).map { frames.fileName(step: $0) })
        for name in earlierFrames.sorted() where !current.contains(name) {
            let path = outputDir + "/" + name
            var st = stat()
            if lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { unlink(path) }
        }
        StandardOutput.shared.write("\(total) frames (steps 0…\(diagram.stepCount)) and manifest.json in \(outputDir)\n")
    }
}
