import ArgumentParser
import GradTrace

extension Grouping.Level: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var defaultCompletionKind: CompletionKind { .list(["neuron", "layer", "module", "module:2", "module:3"]) }
    public var defaultValueDescription: String { description }
}

package enum PassMode: String, ExpressibleByArgument, CaseIterable { case reverse, forward }
package enum ColorBy: String, ExpressibleByArgument, CaseIterable { case state, grad }

/// `--mode reverse|forward`, `--wrt NAME`, `--wiggle H`: which pass to show.
package struct PassOptions: ParsableArguments {
    package init() {}

    @Option(help: ArgumentHelp(SharedOptionHelp.text("mode")))
    package var mode: PassMode = .reverse

    @Option(help: ArgumentHelp(SharedOptionHelp.text("wrt"), valueName: "name"))
    package var wrt: String?

    @Option(help: ArgumentHelp(SharedOptionHelp.text("collapse"), valueName: "neuron|layer|module|module:N"))
    package var collapse: Grouping.Level?

    @Option(help: ArgumentHelp(SharedOptionHelp.text("wiggle"), valueName: "h"))
    package var wiggle: Double?

    package func validate() throws {
        if mode == .reverse && (wrt != nil || wiggle != nil) {
            throw ValidationError("--wrt and --wiggle belong to --mode forward")
        }
        if mode == .forward && wrt == nil { throw ValidationError("--mode forward needs --wrt NAME (the input to wiggle)") }
        if let h = wiggle, !(h.isFinite && h != 0) { throw ValidationError("--wiggle needs a finite, non-zero step") }
        if collapse != nil && mode == .forward { throw ValidationError("--collapse draws the backward pass; it does not combine with --mode forward") }
    }

    /// The request these options make (one rule with the Markdown fences: ``PassRequest``).
    package func request(granularity: Granularity) -> PassRequest {
        PassRequest(wrt: mode == .forward ? wrt : nil, wiggle: wiggle, collapse: collapse, granularity: granularity)
    }

    /// The pass to draw (one rule with the Markdown fences: ``PassRequest``).
    package func pass(_ p: Program, granularity: Granularity) throws -> Pass {
        let request = request(granularity: granularity)
        do {
            return try request.pass(for: p)
        } catch {
            throw CLIError(error.message { "--wrt \($0)" })
        }
    }
}
