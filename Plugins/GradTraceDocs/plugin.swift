import Foundation
import PackagePlugin

/// `swift package --allow-writing-to-package-directory gradtrace-docs [IN] [OUT] [gradtrace markdown options…]`
///
/// Converts Markdown whose ```gradtrace fences hold programs into Markdown with diagrams, by running
/// `gradtrace markdown`. Defaults: IN = `docs`, OUT = `Sources/GradTrace/GradTrace.docc`. When OUT is a
/// DocC catalog (a `.docc` folder), the images go to `OUT/Resources`, are linked by bare file name
/// (`--link-style docc`), and images of earlier runs that no article links to any more are deleted
/// (`--prune`). Any further arguments are passed to `gradtrace markdown` as they are: for example
/// `gradtrace-docs --refresh` draws every image again after the drawing code changed. `src=` paths may reach
/// any file of the package (`--root .`, unless given).
@main
struct GradTraceDocs: CommandPlugin {
    func performCommand(context: PluginContext, arguments: [String]) async throws {
        var positional: [String] = []
        var rest = arguments[...]
        while positional.count < 2, let first = rest.first, !first.hasPrefix("-") {
            positional.append(first)
            rest = rest.dropFirst()
        }
        let input = positional.count > 0 ? positional[0] : "docs"
        let output = positional.count > 1 ? positional[1] : "Sources/GradTrace/GradTrace.docc"
        var args = ["markdown", input, "-o", output]
        let catalog = output.hasSuffix(".docc") || output.hasSuffix(".docc/")
        if catalog {
            let folder = output.hasSuffix("/") ? String(output.dropLast()) : output
            args += ["--assets", folder + "/Resources", "--link-style", "docc", "--prune"]
        }
        // src= may read any file of the package (the articles draw the committed samples), not only the docs folder.
        if !rest.contains("--root") { args += ["--root", "."] }
        args += rest

        // gradtrace-draw has every command (gradtrace runs it for markdown anyway).
        let tool = try context.tool(named: "gradtrace-draw")
        let process = Process()
        process.executableURL = tool.url
        process.arguments = args
        process.currentDirectoryURL = context.package.directoryURL
        try process.run()
        process.waitUntilExit()
        guard process.terminationReason == .exit && process.terminationStatus == 0 else {
            Diagnostics.error("gradtrace \(args.joined(separator: " ")) failed with exit code \(process.terminationStatus)")
            throw PluginFailure()
        }
    }
}

struct PluginFailure: Error, CustomStringConvertible {
    var description: String { "gradtrace-docs failed (see the messages above)" }
}
