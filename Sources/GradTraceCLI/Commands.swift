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
        // A tensor program's pass (forward mode is refused by the one rule of PassRequest).
        if let t = p.tensor, case .tensor(let trace) = try passOptions.pass(p, granularity: granularity) {
            if json {
                Report.traceJSON(tensor: trace, outputName: t.outputName, to: &out)
            } else {
                Report.traceTable(tensor: trace, outputName: t.outputName, to: &out)
            }
            return
        }
        if passOptions.mode == .forward, case .forward(let f, let w, _) = try passOptions.pass(p, granularity: granularity) {
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
            let ours: [(name: String, value: Tensor)]
            if let t = p.tensor {
                let g = TensorTrace.gradients(graph: t.graph, output: t.output)
                ours = t.graph.inputIDs.map { (t.graph.name(of: $0) ?? "v\($0)", g[$0]) }
            } else {
                let g = Trace.gradients(graph: p.graph, output: p.output)
                ours = p.graph.inputIDs.map { (p.graph.name(of: $0) ?? "v\($0)", Tensor(g[$0])) }
            }
            do { reference = try ReferenceCheck(reference: r, gradients: ours) } catch { throw CLIError("\(program.displayName): \(error.description)") }
        }
        var out = StandardOutput.shared
        let passed: Bool
        if let t = p.tensor {
            let check = TensorCheck(program: t)
            check.write(outputName: t.outputName, to: &out)
            passed = check.passed
        } else {
            let check = GradientCheck(graph: p.graph, output: p.output, budget: allInputs ? .max : GradientCheck.defaultBudget)
            check.write(outputName: p.outputName, to: &out)
            passed = check.passed
        }
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
