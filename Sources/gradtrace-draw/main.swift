import ArgumentParser
import GradTraceCLI
import GradTraceRender

#if canImport(Glibc)
import Glibc
#endif

/// Every command, the drawing ones included: `gradtrace` runs this executable (`gradtrace-draw`, beside
/// it) for any command it does not run itself, so help, misspelt commands and the drawing commands
/// all answer from here.
struct GradTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradtrace",
        abstract: GradTraceRoot.abstract,
        version: GradTraceVersion.string,
        subcommands: [TraceCommand.self, GradCommand.self, CheckCommand.self, RenderCommand.self, FramesCommand.self, AnimateCommand.self, GenerateCommand.self, MarkdownCommand.self, FunctionsCommand.self]
    )
}

// The build plugin GradTraceDrawExecutable runs this executable once so that SwiftPM builds it with `gradtrace`.
if let stamp = getenv("GRADTRACE_BUILD_STAMP") {
    let f = fopen(stamp, "w")
    if let f { fputs("// gradtrace-draw was built.\n", f); fclose(f) }
    exit(f == nil ? 1 : 0)
}

SharedOptionHelp.lookup = { OptionSchema.help(cli: $0) }
runMain(GradTraceCommand.self, problem: CommandSuggestion.problem(arguments:))
