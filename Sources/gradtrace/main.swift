import ArgumentParser
import GradTrace
import GradTraceRender

#if canImport(Glibc)
import Glibc
#endif

/// Runs the command and maps every failure to the documented exit codes:
/// 0 success, 1 a failed check, 2 bad input or usage (message on standard error, nothing on standard output).
func runMain() -> Never {
    StandardStreams.prepare()
    TemporaryFiles.removeOnSignals()
    if let problem = CommandSuggestion.problem(arguments: Array(CommandLine.arguments.dropFirst())) {
        StandardError.write(problem + "\n")
        exit(2)
    }
    do {
        var command = try GradTraceCommand.parseAsRoot()
        try command.run()
        try StandardOutput.shared.finish()
        exit(0)
    } catch let error as CLIError {
        StandardError.write(error.message + "\n")
        exit(error.exitCode)
    } catch let r as RenderError {
        StandardError.write("gradtrace: error: \(r)\n")
        exit(2)
    } catch let d as Diagnostic {
        StandardError.write(d.description + "\n")
        exit(2)
    } catch let p as Program.Problem {
        if case .notUTF8 = p { StandardError.write("\(p)\n") } else { StandardError.write("gradtrace: error: \(p)\n") }
        exit(2)
    } catch {
        let code = GradTraceCommand.exitCode(for: error)
        if code == .success {
            GradTraceCommand.exit(withError: error)  // --help, --version: printed to standard output
        }
        if let e = error as? ExitCode { exit(e.rawValue) }
        StandardError.write(GradTraceCommand.fullMessage(for: error) + "\n")
        exit(2)
    }
}

runMain()
