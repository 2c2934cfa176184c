import ArgumentParser
import GradTrace

struct GradTraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradtrace",
        abstract: "Make the chain rule visible: record a computational graph, trace its backward pass step by step, and draw it.",
        version: GradTraceVersion.string,
        subcommands: [TraceCommand.self, GradCommand.self, CheckCommand.self, RenderCommand.self, FramesCommand.self, AnimateCommand.self, GenerateCommand.self, MarkdownCommand.self, FunctionsCommand.self]
    )
}

enum GradTraceVersion {
    static let string = "0.1.0"
}

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Print the backward pass step by step: local × upstream = contribution, and each input's running sum."
    )

    @OptionGroup var program: ProgramOptions

    @Flag(help: "Print JSON (output, value, inputs, nodes, steps) instead of the table.")
    var json = false

    @Option(help: "One step per node (default), per edge, or per layer (a run of one layer's nodes).")
    var granularity: Granularity = .node

    @OptionGroup var passOptions: PassOptions

    func validate() throws {
        if passOptions.collapse != nil {
            throw ValidationError("--collapse is for the drawing commands (render, frames, animate); trace prints every node's step")
        }
    }

    func run() throws {
        let p = try program.load()
        var out = StandardOutput.shared
        // A tensor program's pass (forward mode is refused by the one rule of PassRequest).
        if let t = p.tensor, case .tensor(let trace) = try passOptions.pass(p, granularity: granularity) {
            if json {
                Report.traceJSON(tensor: trace, outputName: t.outputName, to: &out)
            } else {
                Report.traceTable(tensor: trace, outputName: t.outputName, to: &out)
            }
            return
        }
        if passOptions.mode == .forward, case .forward(let f, let w) = try passOptions.pass(p, granularity: granularity) {
            if json {
                Report.forwardJSON(graph: p.graph, forward: f, outputName: p.outputName, wiggle: w, to: &out)
            } else {
                Report.forwardTable(graph: p.graph, forward: f, outputName: p.outputName, wiggle: w, to: &out)
            }
            return
        }
        let trace = Trace(graph: p.graph, output: p.output, granularity: granularity)
        if json {
            Report.traceJSON(graph: p.graph, trace: trace, outputName: p.outputName, to: &out)
        } else {
            Report.traceTable(graph: p.graph, trace: trace, outputName: p.outputName, to: &out)
        }
    }
}

extension Granularity: ExpressibleByArgument {}

struct GradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grad",
        abstract: "Print the output's value and its gradient with respect to every input."
    )

    @OptionGroup var program: ProgramOptions

    @Flag(help: "Print JSON {\"output\", \"value\", \"inputs\"}.")
    var json = false

    func run() throws {
        let p = try program.load()
        var out = StandardOutput.shared
        if let t = p.tensor {
            let grads = TensorTrace.gradients(graph: t.graph, output: t.output)
            if json { Report.gradJSON(tensor: t, gradients: grads, to: &out) } else { Report.gradText(tensor: t, gradients: grads, to: &out) }
            return
        }
        let grads = Trace.gradients(graph: p.graph, output: p.output)
        if json {
            Report.gradJSON(graph: p.graph, output: p.output, outputName: p.outputName, gradients: grads, to: &out)
        } else {
            Report.gradText(graph: p.graph, output: p.output, outputName: p.outputName, gradients: grads, to: &out)
        }
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check every gradient against central finite differences; exit 1 when one disagrees."
    )

    @OptionGroup var program: ProgramOptions

    @Flag(name: .customLong("all-inputs"), help: "Check every input even when there are so many that only a sample is checked by default.")
    var allInputs = false

    func run() throws {
        let p = try program.load()
        if let t = p.tensor {
            let check = TensorCheck(program: t)
            var out = StandardOutput.shared
            check.write(outputName: t.outputName, to: &out)
            if !check.passed {
                try StandardOutput.shared.finish()
                throw ExitCode(1)
            }
            return
        }
        let check = GradientCheck(graph: p.graph, output: p.output, budget: allInputs ? .max : GradientCheck.defaultBudget)
        var out = StandardOutput.shared
        check.write(outputName: p.outputName, to: &out)
        if !check.passed {
            try StandardOutput.shared.finish()
            throw ExitCode(1)
        }
    }
}
