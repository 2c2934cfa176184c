/// The reports and checks of a program, whichever engine runs it: what `gradtrace trace`, `grad` and
/// `check` print. Each entry chooses the engine's own report once, here, so the commands ask one
/// interface (the engines' report writers and checks are unchanged).
extension Program {
    /// Every input's gradient of the output, named, in input order (a scalar program's as 0-d tensors):
    /// what a framework's reference gradients are compared with.
    public func inputGradients() -> [(name: String, value: Tensor)] {
        if let t = tensor {
            let g = TensorTrace.gradients(graph: t.graph, output: t.output)
            return t.graph.inputIDs.map { (t.graph.name(of: $0) ?? "v\($0)", g[$0]) }
        }
        let g = Trace.gradients(graph: graph, output: output)
        return graph.inputIDs.map { (graph.name(of: $0) ?? "v\($0)", Tensor(g[$0])) }
    }

    /// `gradtrace grad`: the output's value and its gradient with respect to every input, as text or JSON.
    public func writeGradients(json: Bool, to out: inout some TextOutputStream) {
        if let t = tensor {
            let grads = TensorTrace.gradients(graph: t.graph, output: t.output)
            if json { Report.gradJSON(tensor: t, gradients: grads, to: &out) } else { Report.gradText(tensor: t, gradients: grads, to: &out) }
            return
        }
        let grads = Trace.gradients(graph: graph, output: output)
        if json {
            Report.gradJSON(graph: graph, output: output, outputName: outputName, gradients: grads, to: &out)
        } else {
            Report.gradText(graph: graph, output: output, outputName: outputName, gradients: grads, to: &out)
        }
    }

    /// `gradtrace check`: every gradient against central finite differences (`budget` inputs of a scalar
    /// program at the most), written as a table. Returns whether every row passed.
    public func writeCheck(budget: Int = GradientCheck.defaultBudget, to out: inout some TextOutputStream) -> Bool {
        if let t = tensor {
            let check = TensorCheck(program: t)
            check.write(outputName: t.outputName, to: &out)
            return check.passed
        }
        let check = GradientCheck(graph: graph, output: output, budget: budget)
        check.write(outputName: outputName, to: &out)
        return check.passed
    }
}

extension Pass {
    /// `gradtrace trace`: the pass step by step, as a table or JSON (a collapsed pass reports its
    /// underlying backward pass, node by node).
    public func writeReport(outputName: String, json: Bool, to out: inout some TextOutputStream) {
        switch self {
        case .tensor(let t):
            if json { Report.traceJSON(tensor: t, outputName: outputName, to: &out) } else { Report.traceTable(tensor: t, outputName: outputName, to: &out) }
        case .forward(let f, let w, let g):
            if json {
                Report.forwardJSON(graph: g, forward: f, outputName: outputName, wiggle: w, to: &out)
            } else {
                Report.forwardTable(graph: g, forward: f, outputName: outputName, wiggle: w, to: &out)
            }
        case .reverse(let t, let g):
            if json { Report.traceJSON(graph: g, trace: t, outputName: outputName, to: &out) } else { Report.traceTable(graph: g, trace: t, outputName: outputName, to: &out) }
        case .collapsed(let c, let g):
            Pass.reverse(c.trace, graph: g).writeReport(outputName: outputName, json: json, to: &out)
        }
    }
}
