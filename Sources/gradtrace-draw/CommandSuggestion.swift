import ArgumentParser
import GradTrace

/// A misspelt subcommand (`gradtrace rendr …`): the message that names the closest command.
enum CommandSuggestion {
    /// The subcommand names, as the root command declares them.
    static var names: [String] {
        GradTraceCommand.configuration.subcommands.compactMap { $0.configuration.commandName }
    }

    /// The error for an unknown first word, or nil when the arguments start with a command or an option.
    static func problem(arguments: [String]) -> String? {
        if arguments.first == "help" { return problem(arguments: Array(arguments.dropFirst())) }  // gradtrace help rendr
        guard let first = arguments.first, !first.hasPrefix("-"), !names.contains(first) else { return nil }
        let list = names.joined(separator: ", ")
        if let best = NameSuggestion.closest(to: first, among: names) {
            return "gradtrace: error: unknown command '\(first)'; did you mean '\(best)'? (the commands are \(list))"
        }
        return "gradtrace: error: unknown command '\(first)': the commands are \(list) (see gradtrace --help)"
    }
}
