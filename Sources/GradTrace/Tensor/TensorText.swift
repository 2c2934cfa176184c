/// The wording of tensor graphs: node names, titles, vector-Jacobian formulas with shapes, and ledgers.
/// Pictures, the step table and JSON all word a tensor edge through here.
public struct TensorText: Sendable {
    public let graph: TensorGraph
    /// The display name of every node: its name, or what it computes over its operands' names.
    public let names: [String]

    /// Above this length an unnamed node's expression is shortened to its op.
    static let maxExpression = 28

    public init(graph: TensorGraph) {
        self.graph = graph
        var names: [String] = []
        names.reserveCapacity(graph.count)
        for id in 0..<graph.count {
            if let n = graph.name(of: id) { names.append(n); continue }
            let node = graph[id]
            if node.op == .constant {
                names.append(node.value.isScalar ? NumberFormat.short(node.value.scalar) : "const\(node.value.shapeText)")
                continue
            }
            let e = TensorText.expression(node.op, node.inputs.map { names[$0] }, rank: node.a >= 0 ? graph[node.a].value.rank : 0)
            names.append(e.count <= TensorText.maxExpression ? e : "\(node.op.name)#\(id)")
        }
        self.names = names
    }

    public func name(_ id: NodeID) -> String { names[id] }

    /// `X @ W1`, `tanh(z)`, `sum(h, 1)`, `Wᵀ`.
    public static func expression(_ op: TensorOp, _ operands: [String], rank: Int = 0) -> String {
        let a = operands.first ?? "a", b = operands.count > 1 ? operands[1] : "b"
        switch op {
        case .input, .constant: return a
        case .elementwise(let o):
            if case .mul = o { return "\(Op.wrap(a)) ⊙ \(Op.wrap(b))" }
            return o.expression(operands)
        case .matmul: return "\(Op.wrap(a)) @ \(Op.wrap(b))"
        case .sum(let axis), .mean(let axis), .max(let axis):
            return "\(op.name)(\(a)\(axis.map { ", \($0)" } ?? ""))"
        case .logsumexp(let axis), .softmax(let axis), .logSoftmax(let axis):
            return "\(op.name)(\(a), \(axis))"
        case .transpose: return Op.wrap(a) + "ᵀ"
        case .reshape(let s): return "reshape(\(a), \(s.map(String.init).joined(separator: ", ")))"
        case .index(let idx): return Op.wrap(a) + "[" + idx.map(String.init).joined(separator: ", ") + "]"
        case .slice(let axes): return Op.wrap(a) + "[" + axes.map(\.text).joined(separator: ", ") + "]"
        case .call(let c): return callExpression(c, operands, rank: rank)
        case .module(let m, _): return m
        case .pick, .crossEntropy: return "\(op.name)(\(a), \(b))"
        }
    }

    /// `linear(x, W, b)`, `conv2d(x, W, padding=1)`, `x > 0`, `Kᵀ`: options shown where they differ from the defaults.
    static func callExpression(_ c: TensorCall, _ operands: [String], rank: Int) -> String {
        let f = c.function
        if let cmp = Comparison.allCases.first(where: { $0.function == f.name }), operands.count == 2 {
            return "\(Op.wrap(operands[0])) \(cmp.rawValue) \(Op.wrap(operands[1]))"
        }
        if f.name == "transpose", Set(c.options.map(Int.init)) == Set([rank - 2, rank - 1]) {
            return Op.wrap(operands[0]) + "ᵀ"
        }
        var parts = operands
        var k = 0
        for p in f.parameters where !p.isTensor {
            switch p {
            case .integers:
                parts += c.options[k...].map { String(Int($0)) }
                k = c.options.count
            case .integer(let n, let d), .axis(let n, let d, _):
                if k < c.options.count, d.map({ Double($0) != c.options[k] }) ?? true, !(n == "stream") {
                    parts.append("\(n)=\(Int(c.options[k]))")
                }
                k += 1
            case .number(let n, let d):
                if k < c.options.count, d.map({ $0 != c.options[k] }) ?? true { parts.append("\(n)=\(NumberFormat.short(c.options[k]))") }
                k += 1
            default: break
            }
        }
        return "\(f.name)(\(parts.joined(separator: ", ")))"
    }

    /// The node's title: `h = tanh(z)` for a named op node, the expression for an unnamed one, the name of an input.
    public func title(_ id: NodeID) -> String {
        let node = graph[id]
        if node.op.isLeaf { return names[id] }
        if case .module(let m, _) = node.op { return "module \(m)" }
        let e = TensorText.expression(node.op, node.inputs.map { names[$0] }, rank: node.a >= 0 ? graph[node.a].value.rank : 0)
        if let n = graph.name(of: id) { return n + " = " + (e.count <= 40 ? e : node.op.name + "(…)") }
        return names[id]
    }

    /// `∂L/∂W`.
    public func partial(_ of: NodeID, _ wrt: NodeID) -> String { "∂\(Op.wrap(names[of]))/∂\(Op.wrap(names[wrt]))" }

    /// The vector-Jacobian product of operand `k` of `node`, over the texts `g` (the upstream gradient),
    /// `a`, `b` (the operands) and `z` (the node): names for the formula line, shapes for the shape line.
    static func vjp(_ op: TensorOp, operand k: Int, g: String, a: String, b: String, z: String,
                    ranks: (Int, Int), symbolic: Bool, aShape: [Int]) -> String {
        let A = symbolic ? Op.wrap(a) : a, B = symbolic ? Op.wrap(b) : b, Z = symbolic ? Op.wrap(z) : z
        /// `Bᵀ`, simplified: the transpose of `Kᵀ` is `K`.
        func T(_ s: String) -> String {
            guard symbolic, s.hasSuffix("ᵀ") else { return s + "ᵀ" }
            var inner = String(s.dropLast())
            if inner.hasPrefix("("), inner.hasSuffix(")"), Op.wrap(String(inner.dropFirst().dropLast())) == inner { inner = String(inner.dropFirst().dropLast()) }
            return inner
        }
        switch op {
        case .input, .constant: return "0"
        case .elementwise(let o):
            switch o {
            case .add: return g
            case .sub: return k == 0 ? g : "−" + g
            case .neg: return "−" + g
            case .mul: return k == 0 ? "\(g) ⊙ \(B)" : "\(g) ⊙ \(A)"
            case .div:
                if k == 0 && symbolic && Double(b) != nil { return "\(Op.wrap(g))/\(b)" }  // ∂L/∂(…)/2: a constant divisor
                return k == 0 ? "\(g) ⊘ \(B)" : "−\(g) ⊙ \(A) ⊘ \(B)²"
            default:
                guard symbolic else { return "\(g) ⊙ \(z)" }
                let local: String
                switch o {
                case .tanh: local = "(1 − \(Z)²)"
                case .sigmoid: local = "\(Z) ⊙ (1 − \(Z))"
                case .exp: local = Z
                case .pow: local = k == 0 ? "\(B)·\(A)^(\(B)−1)" : "\(Z)·ln \(A)"
                default:
                    let f = o.derivativeFormula(wrt: k, operands: [a, b])
                    local = Op.wrap(f) == f ? f : "(\(f))"
                }
                return "\(g) ⊙ \(local)"
            }
        case .matmul:
            switch ranks {
            case (2, 2): return k == 0 ? "\(g) · \(T(B))" : "\(T(A)) · \(g)"
            case (2, 1): return k == 0 ? "\(g) ⊗ \(B)" : "\(T(A)) · \(g)"
            case let (ra, rb) where ra >= 3 || rb >= 3:
                return k == 0 ? "\(g) · \(T(B)) (per batch)" : "\(T(A)) · \(g) (per batch)"
            case (1, 2): return k == 0 ? "\(B) · \(g)" : "\(A) ⊗ \(g)"
            default: return k == 0 ? "\(g)·\(B)" : "\(g)·\(A)"
            }
        case .sum(let axis):
            return axis == nil ? "\(g) copied to \(symbolic ? "every element" : Tensor.text(shape: aShape))" : "\(g) repeated along axis \(axis!)"
        case .mean(let axis):
            let n = axis.map { aShape[$0] } ?? aShape.reduce(1, *)
            return axis == nil ? "\(g)/\(n) copied to \(symbolic ? "every element" : Tensor.text(shape: aShape))" : "\(g)/\(n) repeated along axis \(axis!)"
        case .max: return "\(g) at the first maximum, 0 elsewhere"
        case .logsumexp(let axis): return "\(g) ⊙ softmax(\(a), \(axis))"
        case .softmax(let axis): return "\(Z) ⊙ (\(g) − Σ_\(axis) \(g) ⊙ \(Z))"
        case .logSoftmax(let axis): return "\(g) − softmax(\(a), \(axis)) ⊙ Σ_\(axis) \(g)"
        case .transpose: return (symbolic ? Op.wrap(g) : g) + "ᵀ"
        case .reshape: return "reshape(\(g), \(aShape.map(String.init).joined(separator: ", ")))"
        case .index(let idx): return "\(g) at [\(idx.map(String.init).joined(separator: ", "))], 0 elsewhere"
        case .slice(let axes): return "\(g) at [\(axes.map(\.text).joined(separator: ", "))], 0 elsewhere"
        case .call: return "\(g)"
        case .module(let m, _): return "\(g) carried back through \(m)"
        case .pick: return k == 0 ? "\(g) at the labels, 0 elsewhere" : "none (labels)"
        case .crossEntropy: return k == 0 ? "\(g)·(softmax(\(a)) − onehot(\(b)))/\(aShape.first ?? 1)" : "none (labels)"
        }
    }

    /// `Σ over rows`, `Σ over axes 0, 1`.
    public static func axesText(_ axes: [Int], rank: Int) -> String {
        if rank == 2 && axes == [0] { return "rows" }
        if rank == 2 && axes == [1] { return "columns" }
        if rank == 2 && axes == [0, 1] { return "rows and columns" }
        return (axes.count == 1 ? "axis " : "axes ") + axes.map(String.init).joined(separator: ", ")
    }

    /// The formula line: `∂L/∂W = Xᵀ · ∂L/∂(X @ W)` (`+=` when the input has several consumers).
    public func formulaLine(_ e: TensorEdgeRecord, output: NodeID, consumers: [Int]) -> String {
        let n = graph[e.node]
        let g = e.node == output ? "1" : partial(output, e.node)
        let names = n.inputs.map { self.names[$0] }
        if case .call(let c) = n.op {
            let context = FormulaContext(g: g, operands: names, z: self.names[e.node], shapes: n.inputs.map { graph[$0].value.shape }, options: c.options)
            let body = c.function.formula(e.operand, context)
            if e.isLabels { return "\(names[e.operand]): \(body)" }
            return partial(output, e.input) + (consumers[e.input] > 1 ? " += " : " = ") + body
        }
        let body = TensorText.vjp(n.op, operand: e.operand, g: g, a: names[0], b: names.count > 1 ? names[1] : "", z: self.names[e.node],
                                  ranks: (graph[n.a].value.rank, n.b >= 0 ? graph[n.b].value.rank : 0), symbolic: true,
                                  aShape: graph[n.a].value.shape)
        if e.isLabels { return "\(names[1]): labels, no gradient" }
        let accumulates = consumers[e.input] > 1
        return partial(output, e.input) + (accumulates ? " += " : " = ") + body
    }

    /// The shape line: `[3, 4] = [4, 3]ᵀ · [4, 4]`.
    public func shapeLine(_ e: TensorEdgeRecord) -> String {
        let n = graph[e.node]
        let s = n.inputs.map { graph[$0].value.shapeText }
        let gs = e.upstream.shapeText
        let ranks = (graph[n.a].value.rank, n.b >= 0 ? graph[n.b].value.rank : 0)
        let body: String
        switch n.op {
        case .matmul, .transpose, .elementwise(.mul), .elementwise(.div):
            body = TensorText.vjp(n.op, operand: e.operand, g: gs, a: s[0], b: s.count > 1 ? s[1] : "", z: n.value.shapeText,
                                  ranks: ranks, symbolic: false, aShape: graph[n.a].value.shape)
        default:
            body = gs
        }
        let result = e.contribution.shapeText
        if body == gs { return body == result ? result : "\(result) ← \(body)" }
        return "\(result) = \(body)"
    }

    /// `Σ over rows: [4, 3] → [3]` for an edge whose gradient was summed over broadcast axes; nil otherwise.
    public func reductionLine(_ e: TensorEdgeRecord) -> String? {
        guard !e.reduced.isEmpty else { return nil }
        return "Σ over \(TensorText.axesText(e.reduced, rank: e.upstream.rank)): \(e.upstream.shapeText) → \(e.contribution.shapeText)"
    }

    /// What the edge's values add: what a mask (relu, where, clamp, max-pool) let through, the rows an
    /// embedding's gradient added into, the shapes a convolution correlates; nil when there is nothing to add.
    public func detailLine(_ e: TensorEdgeRecord) -> String? {
        let n = graph[e.node]
        let xs = n.inputs.map { graph[$0].value }
        switch n.op {
        case .call(let c): return c.function.detail(e.operand, xs, c.options, n.value)
        case .elementwise(.relu):
            return "passes \(xs[0].data.filter { $0 > 0 }.count) of \(xs[0].count) elements (where the input > 0)"
        default: return nil
        }
    }

    /// The ledger of an edge: formula, shapes, the broadcast sum if any, and the detail line if any.
    public func ledger(_ e: TensorEdgeRecord, output: NodeID, consumers: [Int]) -> [String] {
        if e.isLabels { return [formulaLine(e, output: output, consumers: consumers)] }
        var lines = [formulaLine(e, output: output, consumers: consumers), shapeLine(e)]
        if let r = reductionLine(e) { lines.append(r) }
        if let d = detailLine(e) { lines.append(d) }
        return lines
    }
}
