/// Which pass to show, as the command line and the Markdown fences ask for it: the backward pass
/// (optionally collapsed, at some granularity) or the forward pass with respect to one input
/// (optionally wiggled). One value, one rule for turning it into a ``Pass``.
///
/// ```swift
/// let pass = try PassRequest(wrt: "x", wiggle: 0.01).pass(for: program)   // .forward(…)
/// ```
public struct PassRequest: Sendable, Equatable {
    /// Forward mode with respect to this input (nil: the backward pass).
    public var wrt: String?
    /// Forward mode: also run the program with `wrt` moved by this step.
    public var wiggle: Double?
    /// Draw each neuron, layer or module (to a depth) as one node (backward pass only).
    public var collapse: Grouping.Level?
    /// One backward step per node, per edge, or per layer run.
    public var granularity: Granularity

    public init(wrt: String? = nil, wiggle: Double? = nil, collapse: Grouping.Level? = nil, granularity: Granularity = .node) {
        self.wrt = wrt
        self.wiggle = wiggle
        self.collapse = collapse
        self.granularity = granularity
    }

    /// Why a request cannot be met by a program.
    public enum Problem: Error, Sendable, Equatable {
        /// `wrt` names no input.
        case unknownInput(name: String, inputs: [String])
        /// `wrt` is defined after the output.
        case inputAfterOutput(name: String, output: String)
        /// Collapsing failed (no groups, or groups in a cycle).
        case collapse(String)
        /// A tensor program asked for forward mode (`wrt`, with its input's name) or collapsing (nil), which are for scalar graphs.
        case scalarOnly(wrt: String?)

        /// The message, with `wrt` spelt as the caller spells it (`--wrt x`, `wrt=x`).
        public func message(wrtOption: (String) -> String) -> String {
            switch self {
            case .unknownInput(let name, let inputs):
                let list = inputs.isEmpty ? "none" : inputs.map { "'\($0)'" }.joined(separator: ", ")
                return "\(wrtOption(name)): no input of that name (the inputs are \(list))"
            case .inputAfterOutput(let name, let output):
                return "\(wrtOption(name)): the output \(output) is computed before \(name) is defined"
            case .collapse(let text):
                return text
            case .scalarOnly(let wrt):
                let what = wrt.map { "forward mode (\(wrtOption($0)))" } ?? "collapsing"
                return "\(what) works on scalar programs; this program uses tensors, where each layer is one node already"
            }
        }
    }

    /// The pass this request asks of `program`. Cost: one trace of the program.
    public func pass(for program: Program) throws(Problem) -> Pass {
        let graph = program.graph
        if let t = program.tensor {
            if wrt != nil { throw .scalarOnly(wrt: wrt) }
            let trace = TensorTrace(graph: t.graph, output: t.output, granularity: granularity)
            guard let level = collapse else { return .tensor(trace) }
            // Modules from dotted names, to the level's depth: `module` and `layer` merge the top-level modules,
            // `neuron` and `module:2` one level deeper.
            guard let view = trace.collapsedModules(depth: level.depth) else {
                let which = level.depth == 1 ? "no module" : "no module at depth \(level.depth) (\(level))"
                throw .collapse("nothing to collapse: \(which) has two operations (name parts as attn.q = linear(x, attn.q.weight), as in samples/tensors/transformer-block.grad)")
            }
            return .tensor(view)
        }
        if let name = wrt {
            guard let x = graph.input(named: name) else {
                throw .unknownInput(name: name, inputs: graph.inputIDs.compactMap { graph.name(of: $0) })
            }
            guard x <= program.output else { throw .inputAfterOutput(name: name, output: program.outputName) }
            return .forward(ForwardTrace(graph: graph, output: program.output, wrt: x),
                            wiggle: wiggle.map { Wiggle(graph: graph, wrt: x, h: $0) }, graph: graph)
        }
        let trace = Trace(graph: graph, output: program.output, granularity: granularity)
        guard let level = collapse else { return .reverse(trace, graph: graph) }
        do {
            return .collapsed(try CollapsedTrace(graph: graph, trace: trace, level: level), graph: graph)
        } catch let problem as CollapsedTrace.Problem {
            throw .collapse(problem.description)
        } catch {
            throw .collapse("\(error)")
        }
    }

    /// For a collapsed tensor pass, the same pass with each collapsed module expanded in turn (the others
    /// stay collapsed): what the HTML player shows when a module is clicked. Empty for other passes.
    /// Cost: one trace of the program, then one collapsed view per module.
    public func moduleExpansions(for program: Program) -> [(module: String, pass: Pass)] {
        guard let t = program.tensor, wrt == nil, let level = collapse else { return [] }
        let trace = TensorTrace(graph: t.graph, output: t.output, granularity: granularity)
        guard let view = trace.collapsedModules(depth: level.depth)?.collapse else { return [] }
        return view.merged.compactMap { m in
            trace.collapsedModules(depth: level.depth, expanding: [m]).map { (m, Pass.tensor($0)) }
        }
    }
}
