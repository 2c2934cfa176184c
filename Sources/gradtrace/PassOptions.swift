import ArgumentParser
import GradTrace

enum PassMode: String, ExpressibleByArgument, CaseIterable { case reverse, forward }
enum ColorBy: String, ExpressibleByArgument, CaseIterable { case state, grad }

/// `--mode reverse|forward`, `--wrt NAME`, `--wiggle H`: which pass to show.
struct PassOptions: ParsableArguments {
    @Option(help: "reverse (default): gradients flow back from the output; forward: tangents flow from --wrt towards the output.")
    var mode: PassMode = .reverse

    @Option(help: ArgumentHelp("Forward mode: the input to take tangents with respect to.", valueName: "name"))
    var wrt: String?

    @Option(help: ArgumentHelp("Forward mode: also run the program with --wrt moved by H and show the actual change beside the prediction.", valueName: "h"))
    var wiggle: Double?

    func validate() throws {
        if mode == .reverse && (wrt != nil || wiggle != nil) {
            throw ValidationError("--wrt and --wiggle belong to --mode forward")
        }
        if mode == .forward && wrt == nil { throw ValidationError("--mode forward needs --wrt NAME (the input to wiggle)") }
        if let h = wiggle, !(h.isFinite && h != 0) { throw ValidationError("--wiggle needs a finite, non-zero step") }
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
        return .reverse(Trace(graph: p.graph, output: p.output, granularity: granularity))
    }
}
