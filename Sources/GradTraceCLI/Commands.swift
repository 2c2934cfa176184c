import ArgumentParser
import GradTrace

package enum GradTraceVersion {
    package static let string = "0.1.0"
}

package struct TraceCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Print the backward pass step by step: local × upstream = contribution, and each input's running sum."
    )

    @OptionGroup package var program: ProgramOptions

    @Flag(help: "Print JSON (output, value, inputs, nodes, steps) instead of the table.")
    package var json = false

    @Option(help: "One step per node (default), per edge, or per layer (a run of one layer's nodes).")
    package var granularity: Granularity = .node

    @OptionGroup package var passOptions: PassOptions

    package func validate() throws {
        if passOptions.collapse != nil {
            throw ValidationError("--collapse is for the drawing commands (render, frames, animate); trace prints every node's step")
        }
    }

    package func run() throws {
        let p = try program.load()
        var out = StandardOutput.shared
        try passOptions.pass(p, granularity: granularity).writeReport(outputName: p.outputName, json: json, to: &out)
    }
}

extension Granularity: ExpressibleByArgument {}

package struct GradCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "grad",
        abstract: "Print the output's value and its gradient with respect to every input."
    )

    @OptionGroup package var program: ProgramOptions

    @Flag(help: "Print JSON {\"output\", \"value\", \"inputs\"}.")
    package var json = false

    package func run() throws {
        var out = StandardOutput.shared
        try program.load().writeGradients(json: json, to: &out)
    }
}

package struct CheckCommand: ParsableCommand {
    package init() {}

    package static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check every gradient against central finite differences; exit 1 when one disagrees."
    )

    @OptionGroup package var program: ProgramOptions

    @Flag(name: .customLong("all-inputs"), help: "Check every input even when there are so many that only a sample is checked by default.")
    package var allInputs = false

    package func run() throws {
        let p = try program.load()
        // A framework's own gradients (a graph file's "reference") are compared first: a mismatch of names or shapes is bad input.
        var reference: ReferenceCheck?
        if let r = p.reference {
            do { reference = try ReferenceCheck(reference: r, gradients: p.inputGradients()) } catch { throw CLIError("\(program.displayName): \(error.description)") }
        }
        var out = StandardOutput.shared
        let passed = p.writeCheck(budget: allInputs ? .max : GradientCheck.defaultBudget, to: &out)
        if let reference {
            out.write("\n")
            reference.write(to: &out)
        }
        if !passed || reference?.passed == false {
            try StandardOutput.shared.finish()
            throw ExitCode(1)
        }
    }
}
