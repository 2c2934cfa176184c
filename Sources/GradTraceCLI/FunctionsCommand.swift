import ArgumentParser
import GradTrace

/// `gradtrace functions [NAME…]`: the functions a program may call, read from the registry.
package struct FunctionsCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "functions",
        abstract: "List the functions a program may call, with their options and defaults (from the function registry)."
    )

    @Argument(help: "Show only these functions.")
    package var names: [String] = []

    package func validate() throws {
        for n in names where !TensorFunctions.allNames.contains(n) {
            throw ValidationError(TensorFunctions.unknownFunctionMessage(n))
        }
    }

    package func run() throws {
        var rows: [(String, String)] = TensorFunctions.builtins.map { ($0.name, $0.usage) }
        rows += TensorFunctions.constructors.map { ($0, $0 == "arange" ? "arange(n)" : "\($0)(d1, d2, …)") }
        var out = ""
        for (name, usage) in rows where names.isEmpty || names.contains(name) { out += usage + "\n" }
        for f in TensorFunctions.table where names.isEmpty || names.contains(f.name) {
            out += f.usage + "\n    " + f.summary + "\n"
        }
        StandardOutput.shared.write(out)
    }
}
