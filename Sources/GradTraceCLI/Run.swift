import ArgumentParser
import GradTrace
import GradTraceFiles

#if canImport(Glibc)
import Glibc
#endif

/// The one entry of both executables: runs the root command `Root` and maps every failure to the
/// documented exit codes: 0 success, 1 a failed check, 2 bad input or usage (message on standard
/// error, nothing on standard output). `problem` may refuse the arguments first (a misspelt command).
package func runMain<Root: ParsableCommand>(_ root: Root.Type, problem: ([String]) -> String? = { _ in nil }) -> Never {
    StandardStreams.prepare()
    TemporaryFiles.removeOnSignals()
    if let problem = problem(Array(CommandLine.arguments.dropFirst())) {
        StandardError.write(problem + "\n")
        exit(2)
    }
    do {
        var command = try Root.parseAsRoot()
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
        let code = Root.exitCode(for: error)
        if code == .success {
            Root.exit(withError: error)  // --help, --version: printed to standard output
        }
        if let e = error as? ExitCode { exit(e.rawValue) }
        StandardError.write(Root.fullMessage(for: error) + "\n")
        exit(2)
    }
}

/// What the root command says of itself, in both executables.
package enum GradTraceRoot {
    package static let abstract = "Make the chain rule visible: record a computational graph, trace its backward pass step by step, and draw it."
}
