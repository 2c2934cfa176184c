import ArgumentParser
import GradTrace

extension Grouping.Level: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var defaultCompletionKind: CompletionKind { .list(["neuron", "layer", "module", "module:2", "module:3"]) }
    public var defaultValueDescription: String { description }
}

enum PassMode: String, ExpressibleByArgument, CaseIterable { case reverse, forward }
enum ColorBy: String, ExpressibleByArgument, CaseIterable { case state, grad }

/// `--mode reverse|forward`, `--wrt NAME`, `--wiggle H`: which pass to show.
struct PassOptions: ParsableArguments {
    @Option(help: "reverse (default): gradients flow back from the output; forward: tangents flow from --wrt towards the output.")
    var mode: PassMode = .reverse

    @Option(help: ArgumentHelp("Forward mode: the input to take tangents with respect to.", valueName: "name"))
    var wrt: String?

    @Option(help: ArgumentHelp("Draw each neuron or layer (or, on tensor programs, each module: attn from attn.q.weight; module:2 one level deeper: attn.q) as one node, with its parameters' gradients; groups come from dotted names such as l1.n2.w0, and edges sum the gradients they stand for.", valueName: "neuron|layer|module|module:N"))
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

    /// The pass to draw (one rule with the Markdown fences: ``PassRequest``).
    func pass(_ p: Program, granularity: Granularity) throws -> Pass {
        let request = PassRequest(wrt: mode == .forward ? wrt : nil, wiggle: wiggle, collapse: collapse, granularity: granularity)
        do {
            return try request.pass(for: p)
        } catch {
            throw CLIError(error.message { "--wrt \($0)" })
        }
    }
}
