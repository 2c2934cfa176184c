import ArgumentParser
import GradTrace

/// INPUT, `-e`, `--at`, `--result` and `--from`: how every command gets its program.
struct ProgramOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("A program file (*.grad), a graph as JSON (*.json), or - for standard input.", valueName: "input"),
              completion: .file())
    var input: String?

    @Option(name: .customShort("e"), help: ArgumentHelp("Program text given on the command line.", valueName: "program"))
    var expression: String?

    @Option(name: .customLong("at"), help: ArgumentHelp("Override an input's value (repeatable).", valueName: "name=value"))
    var at: [String] = []

    @Option(name: .customLong("result"), help: ArgumentHelp("The name whose value and gradients to report (default: the last assignment).", valueName: "name"))
    var outputName: String?

    @Option(name: .customLong("from"), help: ArgumentHelp("How to read INPUT: grad (the program language) or json (a graph as JSON); default: json for *.json files, grad otherwise.", valueName: "grad|json"))
    var from: InputKind?

    func validate() throws {
        if input != nil && expression != nil { throw ValidationError("give either INPUT or -e 'program', not both") }
        if input == nil && expression == nil { throw ValidationError("missing INPUT: give a program file, - for standard input, or -e 'program'") }
    }

    /// The name used in diagnostics.
    var displayName: String { expression != nil ? "<expr>" : (input == "-" ? "<stdin>" : input ?? "<expr>") }

    /// The input file path, when the program comes from a file (to refuse writing over it).
    var inputPath: String? { expression == nil && input != "-" ? input : nil }

    /// Parsed `--at` values.
    func overrides() throws -> [String: Double] {
        var values: [String: Double] = [:]
        for item in at {
            guard let eq = item.firstIndex(of: "=") else {
                throw CLIError("--at needs NAME=VALUE, got '\(item)'")
            }
            let name = String(item[..<eq]).trimmingSpaces
            let text = String(item[item.index(after: eq)...]).trimmingSpaces
            guard !name.isEmpty else { throw CLIError("--at needs a name before '=' in '\(item)'") }
            guard let v = Double(text), v.isFinite || text.lowercased().contains("inf") || text.lowercased() == "nan" else {
                throw CLIError("--at \(name)=\(text): '\(text)' is not a number")
            }
            values[name] = v
        }
        return values
    }

    /// The program source bytes.
    func source() throws -> [UInt8] {
        if let e = expression { return Array(e.utf8) }
        if input == "-" { return try Files.readAll(fd: 0, name: "standard input") }
        return try Files.read(input!)
    }

    /// How INPUT is read: `--from`, else by the file's extension.
    var kind: InputKind {
        if let from { return from }
        if expression == nil, let input, input.lowercased().hasSuffix(".json") { return .json }
        return .grad
    }

    /// Reads, parses and evaluates the program (or reads the JSON graph).
    func load() throws -> Program {
        switch kind {
        case .grad:
            return try Program.parse(bytes: source(), file: displayName, inputs: overrides(), output: outputName)
        case .json:
            return try GraphJSON.load(bytes: source(), file: displayName, inputs: overrides(), output: outputName)
        }
    }
}

/// The two input languages.
enum InputKind: String, ExpressibleByArgument, CaseIterable { case grad, json }

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
