import ArgumentParser
import GradTrace
import GradTraceFiles

/// INPUT, `-e`, `--at`, `--result` and `--from`: how every command gets its program.
package struct ProgramOptions: ParsableArguments {
    package init() {}

    @Argument(help: ArgumentHelp("A program file (*.grad), a graph as JSON (*.json), or - for standard input.", valueName: "input"),
              completion: .file())
    package var input: String?

    @Option(name: .customShort("e"), help: ArgumentHelp("Program text given on the command line.", valueName: "program"))
    package var expression: String?

    @Option(name: .customLong("at"), help: ArgumentHelp(SharedOptionHelp.text("at"), valueName: "name=value"))
    package var at: [String] = []

    @Option(name: .customLong("result"), help: ArgumentHelp("The name whose value and gradients to report (default: the last assignment).", valueName: "name"))
    package var outputName: String?

    @Option(help: ArgumentHelp(SharedOptionHelp.text("seed"), valueName: "S"))
    package var seed: UInt64 = 0

    @Option(name: .customLong("memory-budget"), help: ArgumentHelp("The most memory a tensor program may hold for its values, gradients and index maps (default 2G): a number of bytes with an optional K, M, G or T.", valueName: "size"))
    package var memoryBudget: ByteSize = ByteSize(bytes: TensorGraph.defaultMemoryBudget)

    @Option(name: .customLong("from"), help: ArgumentHelp("How to read INPUT: grad (the program language) or json (a graph as JSON); default: json for *.json files, grad otherwise.", valueName: "grad|json"))
    package var from: InputKind?

    package func validate() throws {
        if input != nil && expression != nil { throw ValidationError("give either INPUT or -e 'program', not both") }
        if input == nil && expression == nil { throw ValidationError("missing INPUT: give a program file, - for standard input, or -e 'program'") }
    }

    /// The name used in diagnostics.
    package var displayName: String { expression != nil ? "<expr>" : (input == "-" ? "<stdin>" : input ?? "<expr>") }

    /// The input file path, when the program comes from a file (to refuse writing over it).
    package var inputPath: String? { expression == nil && input != "-" ? input : nil }

    /// A writer that refuses to write over the program: its file, or the file standard input comes from.
    package var writer: Writer {
        Writer(protecting: inputPath.map { [$0] } ?? [], protectingStandardInput: expression == nil && input == "-")
    }

    /// Parsed `--at` values.
    package func overrides() throws -> [String: Tensor] {
        var values: [String: Tensor] = [:]
        for item in at {
            guard let eq = item.firstIndex(of: "=") else {
                throw CLIError("--at needs NAME=VALUE, got '\(item)'")
            }
            let name = String(item[..<eq]).trimmingSpaces
            let text = String(item[item.index(after: eq)...]).trimmingSpaces
            guard !name.isEmpty else { throw CLIError("--at needs a name before '=' in '\(item)'") }
            guard values[name] == nil else {
                throw CLIError("--at \(name) is given twice: give each input once")
            }
            if text.hasPrefix("[") || text.hasPrefix("-[") {
                do {
                    values[name] = try Tensor.literal(text, file: "--at \(name)")
                } catch {
                    throw CLIError("--at \(name)=\(text): \(error.message) (at column \(error.column))")
                }
            } else {
                values[name] = Tensor(try Self.number(text, for: name))
            }
        }
        return values
    }

    /// A decimal number as the program language writes it (`2`, `-0.5`, `1e-3`), or `inf`,
    /// `-inf`, `nan`; not hexadecimal (`0x10`), and not a finite literal that overflows (`1e309`).
    package static func number(_ text: String, for name: String) throws -> Double {
        let lower = text.lowercased()
        if ["inf", "+inf", "infinity", "+infinity"].contains(lower) { return .infinity }
        if ["-inf", "-infinity"].contains(lower) { return -.infinity }
        if lower == "nan" { return .nan }
        var s = Substring(lower)
        if s.first == "+" || s.first == "-" { s.removeFirst() }
        var mantissaDigits = 0, dots = 0, sawExponent = false, exponentDigits = 0, decimal = true
        var previous: Character = " "
        for ch in s {
            switch ch {
            case "0"..."9": if sawExponent { exponentDigits += 1 } else { mantissaDigits += 1 }
            case "." where !sawExponent: dots += 1
            case "e" where !sawExponent && mantissaDigits > 0: sawExponent = true
            case "+" where previous == "e", "-" where previous == "e": break
            default: decimal = false
            }
            previous = ch
        }
        guard decimal, mantissaDigits > 0, dots <= 1, !sawExponent || exponentDigits > 0, let v = Double(text) else {
            throw CLIError("--at \(name)=\(text): '\(text)' is not a number (write a decimal such as 2, -0.5 or 1e-3)")
        }
        guard v.isFinite else {
            throw CLIError("--at \(name)=\(text): '\(text)' is out of range for a double (magnitude above 1.8e308); write inf for infinity")
        }
        return v
    }

    /// The program source bytes.
    package func source() throws -> [UInt8] {
        if let e = expression { return Array(e.utf8) }
        if input == "-" { return try Files.readAll(fd: 0, name: "standard input") }
        return try Files.read(input!)
    }

    /// How INPUT is read: `--from`, else by the file's extension.
    package var kind: InputKind {
        if let from { return from }
        if expression == nil, let input, input.lowercased().hasSuffix(".json") { return .json }
        return .grad
    }

    /// Reads, parses and evaluates the program (or reads the JSON graph).
    package func load() throws -> Program {
        switch kind {
        case .grad:
            return try Program.parse(bytes: source(), file: displayName, values: overrides(), output: outputName, seed: seed,
                                     memoryBudget: memoryBudget.bytes)
        case .json:
            return try GraphFile.load(bytes: source(), file: displayName, values: overrides(), output: outputName)
        }
    }
}

/// A size in bytes as the command line writes it: `2000000000`, `512M`, `8G`, `1.5G` (binary units: K = 1024).
package struct ByteSize: ExpressibleByArgument {
    package var bytes: Int

    package init(bytes: Int) { self.bytes = bytes }

    package init?(argument: String) {
        var text = Substring(argument.uppercased())
        if text.hasSuffix("B") { text.removeLast() }
        var unit = 1.0
        if let last = text.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][last] {
            unit = Double(1 << (10 * power))
            text.removeLast()
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let v = Double(text) else { return nil }
        let b = v * unit
        guard b >= 1, b < 9.2e18 else { return nil }
        bytes = Int(b)
    }

    package var defaultValueDescription: String { "2G" }
}

/// The two input languages.
package enum InputKind: String, ExpressibleByArgument, CaseIterable { case grad, json }

extension String {
    package var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

/// The help of the shared options that the one table of drawing options (GradTraceRender's `OptionSchema`)
/// holds: gradtrace-draw installs that table's lookup before parsing. The lean `gradtrace` never prints
/// help: it hands every help request to gradtrace-draw.
package enum SharedOptionHelp {
    nonisolated(unsafe) package static var lookup: (String) -> String = { _ in "" }

    package static func text(_ cli: String) -> String { lookup(cli) }
}
