import ArgumentParser
import GradTrace

extension Grouping.Level: ExpressibleByArgument {}

enum PassMode: String, ExpressibleByArgument, CaseIterable { case reverse, forward }
enum ColorBy: String, ExpressibleByArgument, CaseIterable { case state, grad }

/// `--mode reverse|forward`, `--wrt NAME`, `--wiggle H`: which pass to show.
struct PassOptions: ParsableArguments {
    @Option(help: "reverse (default): gradients flow back from the output; forward: tangents flow from --wrt towards the output.")
    var mode: PassMode = .reverse

    @Option(help: ArgumentHelp("Forward mode: the input to take tangents with respect to.", valueName: "name"))
    var wrt: String?

    @Option(help: ArgumentHelp("Draw each neuron or layer as one node (groups come from dotted names such as l1.n2.w0); edges sum the gradients they stand for.", valueName: "neuron|layer"))
    var collapse: Grouping.Level?

    @Option(help: ArgumentHelp("Forward mode: also run the program with --wrt moved by H and show the actual change beside the prediction.", valueName: "h"))
    var wiggle: Double?

    func validate() throws {
        if mode == .reverse && (wrt != nil || wiggle != nil) {
            throw ValidationError("--wrt and --wiggle belong to --mode forward")
        }
        if mode == .forward && wrt == nil { throw ValidationError("--mode forward needs --wrt NAME (the input to wiggle)") }
        if let h = wiggle, !(h.isFinite && h != 0) { throw ValidationError("--wiggle needs a finite, non-zero step") }
        if collapse != nil && mode == .forward { throw ValidationError("--collapse draws the backward pass; it does not combine with --mode forward") }
    }

    /// The forward trace and wiggle, or nil in reverse mode.
    func forward(_ p: Program) throws -> (ForwardTrace, Wiggle?)? {
        guard mode == .forward, let name = wrt else { return nil }
        guard let x = p.graph.input(named: name) else {
            let inputs = p.graph.inputIDs.compactMap { p.graph.name(of: $0) }.map { "'\($0)'" }.joined(separator: ", ")
            throw CLIError("--wrt \(name): no input of that name (the inputs are \(inputs.isEmpty ? "none" : inputs))")
        }
        guard x <= p.output else { throw CLIError("--wrt \(name): the output \(p.outputName) is computed before \(name) is defined") }
        let f = ForwardTrace(graph: p.graph, output: p.output, wrt: x)
        return (f, wiggle.map { Wiggle(graph: p.graph, wrt: x, h: $0) })
    }

    /// The pass to draw.
    func pass(_ p: Program, granularity: Granularity) throws -> Pass {
        if let (f, w) = try forward(p) { return .forward(f, wiggle: w) }
        let trace = Trace(graph: p.graph, output: p.output, granularity: granularity)
        if let level = collapse {
            do {
                return .collapsed(try CollapsedTrace(graph: p.graph, trace: trace, level: level))
            } catch let problem as CollapsedTrace.Problem {
                throw CLIError(problem.description)
            }
        }
        return .reverse(trace)
    }
}
