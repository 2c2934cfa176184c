import ArgumentParser
import GradTraceCLI

#if canImport(Glibc)
import Glibc
#endif

/// `gradtrace`: the commands that draw nothing (trace, grad, check, generate, functions) run here, in an
/// executable that links neither Graphviz nor Cairo nor Pango, so they start as fast as a small C tool;
/// every other command line (the drawing commands, help, a misspelt command) runs `gradtrace-draw`, the
/// executable beside this one that has every command, with the same arguments.
struct LeanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradtrace",
        abstract: GradTraceRoot.abstract,
        version: GradTraceVersion.string,
        subcommands: [TraceCommand.self, GradCommand.self, CheckCommand.self, GenerateCommand.self, FunctionsCommand.self]
    )

    /// The first words this executable answers itself.
    static let commands: Set<String> = Set(configuration.subcommands.compactMap { $0.configuration.commandName })
}

/// Replaces this process with `gradtrace-draw` from this executable's folder, with the same arguments.
func runDrawingExecutable() -> Never {
    var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/exe", &path, path.count - 1)
    var own = n > 0 ? String(decoding: path[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    if let slash = own.lastIndex(of: "/") { own = String(own[..<slash]) } else { own = "." }
    // In a build folder SwiftPM names it gradtrace-draw-tool (built by the GradTraceDrawExecutable plugin);
    // installed (the wheel), it is gradtrace-draw.
    var drawing = own + "/gradtrace-draw-tool"
    if access(drawing, X_OK) != 0 { drawing = own + "/gradtrace-draw" }
    execv(drawing, CommandLine.unsafeArgv)
    let reason = String(cString: strerror(errno))
    var message = Array("gradtrace: error: cannot run \(drawing), which has the drawing commands: \(reason)\n".utf8)
    _ = message.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

/// Help of any kind comes from gradtrace-draw, which has the one table of option help (GradTraceRender's OptionSchema).
func asksForHelp(_ arguments: ArraySlice<String>) -> Bool {
    arguments.contains { $0 == "-h" || $0.hasPrefix("--help") || $0.hasPrefix("--experimental") || $0.hasPrefix("--generate-completion") }
}

let arguments = CommandLine.arguments.dropFirst()
if let first = arguments.first, LeanCommand.commands.contains(first), !asksForHelp(arguments) {
    runMain(LeanCommand.self)
} else {
    runDrawingExecutable()
}
