import ArgumentParser

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
        let ranked = names.map { (name: $0, distance: editDistance(first.lowercased(), $0)) }
            .sorted { $0.distance != $1.distance ? $0.distance < $1.distance : $0.name < $1.name }
        let list = names.joined(separator: ", ")
        if let best = ranked.first, best.distance <= max(2, first.count / 3) || best.name.hasPrefix(first.lowercased()) {
            return "gradtrace: error: unknown command '\(first)'; did you mean '\(best.name)'? (the commands are \(list))"
        }
        return "gradtrace: error: unknown command '\(first)': the commands are \(list) (see gradtrace --help)"
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit (`tarce` → `trace` is 1).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1 && j > 1 && x[i - 1] == y[j - 2] && x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }
}
