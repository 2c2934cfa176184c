import ArgumentParser
import GradTraceCLI
import Foundation
import GradTrace
import GradTraceRender

#if canImport(Glibc)
import Glibc
#endif

extension MarkdownBlockOptions.ImageFormat: ExpressibleByArgument {}

/// How image links are written.
enum LinkStyle: String, ExpressibleByArgument, CaseIterable {
    /// The assets folder relative to each output file: `![…](assets/gradtrace-….svg)`.
    case relative
    /// The bare file name, `![…](gradtrace-….svg)`: DocC finds images anywhere in its catalog by name.
    case docc
}

struct MarkdownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "markdown",
        abstract: "Replace ```gradtrace fences in Markdown with diagrams: SVG or PNG stills, step strips, animations.",
        discussion: """
            A fence whose info string starts with the word gradtrace holds a program; its options follow: \
            format=svg|png, step=K|final|all, animate, alt="…", title="…", at="x=2,w=3", rankdir=LR|TB, \
            theme=light|dark, mode=reverse|forward, wrt=NAME, wiggle=H, color=state|grad, collapse=neuron|layer|module|module:N. Everything else is \
            copied byte for byte.

            INPUT is a Markdown file, - for standard input, or a folder: then every *.md under it (hidden \
            files and folders left out) goes to the same relative path under -o, and the assets default to \
            OUT/assets. For a file, the assets default to the folder of OUT.

            Asset names hash the program, the options and the GradTrace version; an asset that exists \
            already is not drawn again, and files whose bytes would not change are not written, so a \
            second run touches no file. When a block is broken, its Markdown file and line are reported, \
            and nothing at all is written.
            """
    )

    @Argument(help: ArgumentHelp("A Markdown file, - for standard input, or a folder of *.md files.", valueName: "input"), completion: .file())
    var input: String

    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("The output Markdown file, or the output folder when INPUT is a folder.", valueName: "path"), completion: .file())
    var out: String

    @Option(help: ArgumentHelp("The folder for images (default: the folder of OUT; OUT/assets for a folder).", valueName: "dir"))
    var assets: String?

    @Option(help: "The format of blocks without format=: svg (default) or png.")
    var format: MarkdownBlockOptions.ImageFormat = .svg

    @Option(help: "Blocks drawn at once (default: one per core). The output is the same for any number.")
    var jobs: Int = 0

    @Flag(help: "Delete files in the assets folder named gradtrace-<hash>… that this run does not link to.")
    var prune = false

    @Option(name: .customLong("link-style"),
            help: "relative (default): link images by their path from each output file; docc: by bare file name, for a DocC catalog.")
    var linkStyle: LinkStyle = .relative

    @Flag(help: "Draw every image again, even those already there (after the drawing code changed); files whose bytes do not change are still left alone.")
    var refresh = false

    @Flag(help: "Draw graphs above the node limit anyway.")
    var force = false

    @Option(help: ArgumentHelp("The folder src= paths may not leave (default: INPUT when it is a folder, else the Markdown file's folder).", valueName: "dir"),
            completion: .directory)
    var root: String?

    func validate() throws {
        if jobs < 0 { throw ValidationError("--jobs must be 0 (one per core) or more") }
        if out == "-" { throw ValidationError("-o needs a file or folder: the images are linked relative to it") }
    }

    /// One document to convert: where it comes from and where it goes.
    struct Item {
        var name: String
        var source: String?  // nil: standard input
        var destination: String
    }

    func run() throws {
        let fm = FileManager.default
        let cwd = fm.currentDirectoryPath
        func absolute(_ p: String) -> String { MarkdownPaths.normalize(p, base: cwd) }
        func isDirectory(_ p: String) -> Bool {
            var d: ObjCBool = false
            return fm.fileExists(atPath: p, isDirectory: &d) && d.boolValue
        }

        // What to convert.
        var items: [Item] = []
        let assetsFolder: String
        if input != "-" && isDirectory(input) {
            if fm.fileExists(atPath: out) && !isDirectory(out) {
                throw CLIError("'\(input)' is a folder, so -o must be a folder too, but '\(out)' is a file")
            }
            let inRoot = absolute(input), outRoot = absolute(out)
            if inRoot == outRoot { throw CLIError("-o \(out) is the input folder itself: give another folder") }
            assetsFolder = assets ?? (out + "/assets")
            let skip = [outRoot, absolute(assetsFolder)]
            for rel in try markdownFiles(under: input, skipping: skip) {
                items.append(Item(name: join(input, rel), source: join(input, rel), destination: join(out, rel)))
            }
            if items.isEmpty { StandardError.write("gradtrace: note: no *.md files under '\(input)'\n") }
        } else {
            var destination = out
            if isDirectory(out) {
                guard input != "-" else { throw CLIError("-o \(out) is a folder: give the output file's name") }
                destination = join(out, (input as NSString).lastPathComponent)
            }
            if input != "-" {
                guard fm.fileExists(atPath: input) else { throw CLIError("cannot read '\(input)': no such file") }
                if Self.samePath(input, destination) { throw CLIError("-o \(out) is the input file itself: give another file") }
            }
            let folder = (destination as NSString).deletingLastPathComponent
            assetsFolder = assets ?? (folder.isEmpty ? "." : folder)
            items.append(Item(name: input == "-" ? "<stdin>" : input, source: input == "-" ? nil : input, destination: destination))
        }

        let writer = Writer(protecting: items.compactMap(\.source), protectingStandardInput: input == "-")
        for item in items { try writer.checkNotInput(item.destination) }

        // Read everything, then plan: nothing is written unless every block is fine.
        let assetsAbsolute = absolute(assetsFolder)
        var documents: [MarkdownTransform.Document] = []
        for item in items {
            let bytes = try item.source.map { try Files.read($0) } ?? Files.readAll(fd: 0, name: "standard input")
            let outFolder = absolute((item.destination as NSString).deletingLastPathComponent)
            var prefix = ""
            if linkStyle == .relative {
                let r = MarkdownPaths.relative(from: outFolder, to: assetsAbsolute)
                prefix = r == "." ? "" : r + "/"
            }
            documents.append(.init(name: item.name, bytes: bytes, assetLinkPrefix: prefix))
        }
        let force = self.force
        let docsRoot = absolute(root ?? (input != "-" && isDirectory(input) ? input
            : (input == "-" ? "." : { let f = (input as NSString).deletingLastPathComponent; return f.isEmpty ? "." : f }())))
        var transform = MarkdownTransform(version: GradTraceVersion.string, defaultFormat: format, preflight: { graph, output in
            do {
                try LargeGraphGuard.check(graph: graph, output: output, force: force)
            } catch let e as CLIError {
                throw MarkdownBlockProblem(e.message.replacingOccurrences(of: "gradtrace: error: ", with: ""))
            }
        })
        transform.sizedRasterImages = linkStyle != .docc
        transform.readSource = { document, path in
            try MarkdownSources.read(path, from: document, root: docsRoot, cwd: cwd)
        }
        func report(_ failure: MarkdownFailure) -> ExitCode {
            for d in failure.diagnostics { StandardError.write(d.description + "\n") }
            let n = failure.diagnostics.count
            if n > 1 { StandardError.write("gradtrace: \(n) errors; nothing was written\n") }
            return ExitCode(2)
        }
        let plan: MarkdownTransform.Plan
        do { plan = try transform.plan(documents) } catch { throw report(error) }
        for w in plan.warnings {
            // The diagnostic's three lines, as a warning.
            var text = w.description
            if let r = text.range(of: ": error: ") { text.replaceSubrange(r, with: ": warning: ") }
            StandardError.write(text + "\n")
        }
        // Assets already on disk are the right pictures (their names hash everything that draws them).
        let existing = refresh ? [] : Set(plan.assetNames.filter { fm.fileExists(atPath: join(assetsFolder, $0)) })
        let rendered: [MarkdownTransform.RenderedAsset]
        do { rendered = try transform.render(plan, existing: existing, jobs: jobs) } catch { throw report(error) }

        // Write: the new assets, then the documents, each only if its bytes change.
        if !rendered.isEmpty { try writer.makeDirectory(assetsFolder) }
        var assetsWritten = 0
        for a in rendered where try writer.write(a.bytes, to: join(assetsFolder, a.name)) == .written { assetsWritten += 1 }
        var written = 0
        for (item, bytes) in zip(items, plan.outputs) {
            let folder = (item.destination as NSString).deletingLastPathComponent
            if !folder.isEmpty && !isDirectory(folder) { try writer.makeDirectory(folder) }
            if try writer.write(bytes, to: item.destination) == .written { written += 1 }
        }
        var pruned = 0
        if prune, let names = try? fm.contentsOfDirectory(atPath: assetsFolder) {
            let keep = Set(plan.assetNames)
            for name in names.sorted() where MarkdownTransform.isAssetName(name) && !keep.contains(name) {
                let path = join(assetsFolder, name)
                guard !isDirectory(path) else { continue }
                if unlink(path) != 0 { throw CLIError("cannot delete '\(path)': \(String(cString: strerror(errno)))") }
                pruned += 1
            }
        }
        let files = items.count == 1 ? items[0].destination : "\(items.count) files"
        var summary = "\(files): \(plan.blocks.count) block\(plan.blocks.count == 1 ? "" : "s"), "
        summary += "\(plan.assetNames.count) image\(plan.assetNames.count == 1 ? "" : "s") in \(assetsFolder) "
        summary += refresh ? "(\(rendered.count) drawn again, \(assetsWritten) changed)"
            : "(\(rendered.count) drawn, \(plan.assetNames.count - rendered.count) already there)"
        if items.count > 1 { summary += ", \(written) file\(written == 1 ? "" : "s") written" }
        if prune { summary += ", \(pruned) pruned" }
        StandardOutput.shared.write(summary + "\n")
    }

    /// Every *.md file under a folder, relative to it, sorted by bytes; hidden files and folders,
    /// symbolic links to folders, and the folders in `skipping` (absolute), are left out.
    func markdownFiles(under root: String, skipping: [String]) throws -> [String] {
        let fm = FileManager.default
        let cwd = fm.currentDirectoryPath
        var found: [String] = []
        var pending = [""]
        while let rel = pending.popLast() {
            let dir = rel.isEmpty ? root : join(root, rel)
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else {
                throw CLIError("cannot read the folder '\(dir)'")
            }
            for name in names where !name.hasPrefix(".") {
                let child = rel.isEmpty ? name : rel + "/" + name
                let path = join(root, child)
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: path, isDirectory: &isDir) else { continue }
                if isDir.boolValue {
                    // Symbolic links to folders are not followed (they could loop).
                    let isLink = (try? fm.destinationOfSymbolicLink(atPath: path)) != nil
                    if !isLink && !skipping.contains(MarkdownPaths.normalize(path, base: cwd)) { pending.append(child) }
                } else if name.lowercased().hasSuffix(".md") && Self.isRegularFile(path) {
                    // Only regular files: a FIFO or device named *.md would block the read or never end.
                    found.append(child)
                }
            }
        }
        return found.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    func join(_ a: String, _ b: String) -> String {
        a.isEmpty || a == "." ? b : (a.hasSuffix("/") ? a + b : a + "/" + b)
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func samePath(_ a: String, _ b: String) -> Bool {
        let ua = URL(fileURLWithPath: a).standardizedFileURL.resolvingSymlinksInPath()
        let ub = URL(fileURLWithPath: b).standardizedFileURL.resolvingSymlinksInPath()
        return ua.path == ub.path
    }
}

/// `src=PATH` of a Markdown block: the path is relative to the Markdown file and may not leave the docs root.
enum MarkdownSources {
    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    /// The largest program file src= reads (16 MiB).
    static let sizeLimit = 16 << 20

    static func read(_ path: String, from document: String, root: String, cwd: String) throws -> (name: String, bytes: [UInt8]) {
        let folder = document == "<stdin>" ? "." : (document as NSString).deletingLastPathComponent
        let shown = folder.isEmpty || folder == "." ? path : folder + "/" + path
        let full = MarkdownPaths.normalize(path.hasPrefix("/") ? path : MarkdownPaths.normalize(folder.isEmpty ? "." : folder, base: cwd) + "/" + path)
        // Symbolic links are resolved before the check, so a link cannot lead out of the root either.
        let real = URL(fileURLWithPath: full).resolvingSymlinksInPath().path
        let realRoot = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
        guard real == realRoot || real.hasPrefix(realRoot.hasSuffix("/") ? realRoot : realRoot + "/") else {
            throw Problem(description: "'\(path)' leaves the docs root '\(root)' (give --root to widen it)")
        }
        let bytes: [UInt8]
        do {
            bytes = try Files.readRegular(real, limit: sizeLimit)
        } catch let e as CLIError {
            throw Problem(description: e.message.replacingOccurrences(of: "gradtrace: error: ", with: ""))
        }
        // A program is text: a file with NUL bytes (/proc/self/environ, a binary) is refused without quoting it.
        if bytes.contains(0) { throw Problem(description: "'\(path)' is not a program file (it holds NUL bytes)") }
        return (shown, bytes)
    }
}
