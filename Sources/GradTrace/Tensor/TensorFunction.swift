#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A registry function applied to operands: which function, how many operands, and its resolved options
/// (one number per option parameter in declaration order; an integer list last). Hashable, so graphs compare.
public struct TensorCall: Sendable, Hashable {
    /// Index into ``TensorFunctions/table``.
    public var index: Int
    /// Operands given (optional operands such as `linear`'s bias may be left out).
    public var arity: Int
    public var options: [Double]

    public init(index: Int, arity: Int, options: [Double]) {
        self.index = index
        self.arity = arity
        self.options = options
    }

    /// The function's registry entry.
    public var function: TensorFunction { TensorFunctions.table[index] }

    /// The options by key (`["stride": 1, "padding": 1]`), for writers and JSON.
    public var namedOptions: [(key: String, value: Double)] {
        var out: [(String, Double)] = []
        var k = 0
        for p in function.parameters {
            switch p {
            case .tensor, .optionalTensor, .tensors: continue
            case .integers(let name):
                for v in options[k...] { out.append((name, v)) }
                k = options.count
            case .integer(let name, _), .number(let name, _), .axis(let name, _, _):
                if k < options.count { out.append((name, options[k])) }
                k += 1
            }
        }
        return out
    }
}

/// What a VJP formula is written over: the upstream gradient's text `g`, the operands' display names
/// (wrapped in parentheses where needed), the node's name `z`, operand shapes and the options.
public struct FormulaContext: Sendable {
    public var g: String
    public var operands: [String]
    public var z: String
    public var shapes: [[Int]]
    public var options: [Double]

    func operand(_ k: Int) -> String { k < operands.count ? Op.wrap(operands[k]) : "?" }
    /// The upstream gradient as a factor (`∂L/∂y` reads as one symbol).
    var G: String { g }
}

/// One function of the tensor language with everything about it: signature (operands, keyword options
/// with defaults), shape rule, value checks, forward, vector-Jacobian product, formula text, JSON op name
/// and picture label. The parser, the JSON writer, help and the coverage tests read ``TensorFunctions/table``.
///
/// Adding an element-wise function is one ``unary(_:summary:value:derivative:local:)`` line in the table
/// (and its test cases).
public struct TensorFunction: Sendable {
    /// A parameter of the signature; options are passed by position or by keyword (`stride=2`).
    public enum Parameter: Sendable {
        /// A tensor operand.
        case tensor(String)
        /// A tensor operand that may be left out (a bias).
        case optionalTensor(String)
        /// One or more tensor operands (`concat(a, b, c)`).
        case tensors(String)
        /// A whole-number option (nil default: required).
        case integer(String, Int?)
        /// A real option (nil default: required).
        case number(String, Double?)
        /// An axis, negative from the end, resolved against operand 0's rank plus `extra` (`stack` adds one).
        case axis(String, Int?, extra: Int)
        /// The remaining positional whole numbers (`permute(x, 1, 0, 2)`, `reshape(x, 2, 3)`).
        case integers(String)

        public var name: String {
            switch self {
            case .tensor(let n), .optionalTensor(let n), .tensors(let n), .integer(let n, _), .number(let n, _),
                 .axis(let n, _, _), .integers(let n): return n
            }
        }

        public var isTensor: Bool {
            switch self {
            case .tensor, .optionalTensor, .tensors: return true
            default: return false
            }
        }
    }

    public typealias ShapeRule = @Sendable (_ shapes: [[Int]], _ options: [Double]) throws(TensorShapeError) -> [Int]
    public typealias ValueRule = @Sendable (_ operands: [Tensor], _ options: [Double]) throws(TensorShapeError) -> Void
    public typealias ForwardRule = @Sendable (_ operands: [Tensor], _ options: [Double]) -> Tensor
    public typealias VJPRule = @Sendable (_ k: Int, _ operands: [Tensor], _ options: [Double], _ output: Tensor, _ upstream: Tensor) -> (Tensor, reduced: [Int])
    public typealias FormulaRule = @Sendable (_ k: Int, _ c: FormulaContext) -> String
    public typealias WorkRule = @Sendable (_ shapes: [[Int]], _ options: [Double]) -> Int
    public typealias DetailRule = @Sendable (_ k: Int, _ operands: [Tensor], _ options: [Double], _ output: Tensor) -> String?

    /// The language's name, which is also the JSON op name (`conv2d`).
    public var name: String
    public var parameters: [Parameter]
    /// One line for help texts.
    public var summary: String
    /// Operands holding whole-number ids or labels (no gradient flows into them).
    public var integerOperands: [Int] = []
    /// The function has kinks (max, clamp, …): finite differences can straddle them.
    public var hasKink = false
    var shapeRule: ShapeRule
    var valueRule: ValueRule?
    var forwardRule: ForwardRule
    var vjpRule: VJPRule
    var formulaRule: FormulaRule
    /// Multiply-adds of the forward pass (checked against ``Tensor/maxProductWork``); nil: proportional to the output.
    var workRule: WorkRule?
    /// What an edge's picture adds under the formula, from the values: what a mask let through, which rows
    /// an embedding's gradient added into, the shapes a convolution's gradient correlates.
    var detailRule: DetailRule?

    /// The picture label: the name.
    public var label: String { name }

    /// `conv2d(x, W, b, stride=1, padding=0)`.
    public var usage: String {
        // `stream` (dropout's) is set by the parser from the statement's name, not written by hand.
        let parts = parameters.filter { $0.name != "stream" }.map { p -> String in
            switch p {
            case .tensor(let n): return n
            case .optionalTensor(let n): return "[\(n)]"
            case .tensors(let n): return "\(n)…"
            case .integers(let n): return "\(n)…"
            case .integer(let n, let d): return d.map { $0 == -1 ? "\(n)=kernel_size" : "\(n)=\($0)" } ?? n
            case .number(let n, let d): return d.map { "\(n)=\(NumberFormat.short($0))" } ?? n
            case .axis(let n, let d, _): return d.map { "\(n)=\($0)" } ?? n
            }
        }
        return "\(name)(\(parts.joined(separator: ", ")))"
    }

    /// Option keys a call may give by keyword.
    public var keys: [String] { parameters.map(\.name) }

    public func shape(_ shapes: [[Int]], _ options: [Double]) throws(TensorShapeError) -> [Int] { try shapeRule(shapes, options) }
    public func checkValues(_ xs: [Tensor], _ options: [Double]) throws(TensorShapeError) { try valueRule?(xs, options) }
    public func forward(_ xs: [Tensor], _ options: [Double]) -> Tensor { forwardRule(xs, options) }
    public func vjp(_ k: Int, _ xs: [Tensor], _ options: [Double], _ z: Tensor, _ g: Tensor) -> (Tensor, reduced: [Int]) {
        vjpRule(k, xs, options, z, g)
    }
    public func formula(_ k: Int, _ c: FormulaContext) -> String { formulaRule(k, c) }
    /// The edge's detail line (see ``detailRule``), if the function has one.
    public func detail(_ k: Int, _ xs: [Tensor], _ options: [Double], _ z: Tensor) -> String? { detailRule?(k, xs, options, z) }

    /// The forward pass's multiply-adds.
    public func work(_ shapes: [[Int]], _ options: [Double]) -> Int {
        if let workRule { return workRule(shapes, options) }
        return 0
    }
}

/// Overflow-safe products and the shape words every rule uses.
enum Shapes {
    static func count(_ s: [Int]) -> Int {
        Tensor.saturatingCount(s)
    }
    static func product(_ xs: [Int]) -> Int { count(xs) }
    static func text(_ s: [Int]) -> String { Tensor.text(shape: s) }
    /// The broadcast shape of several operands, or the mistake naming them.
    static func broadcast(_ shapes: [[Int]]) throws(TensorShapeError) -> [Int] {
        var out = shapes[0]
        for s in shapes.dropFirst() {
            guard let b = Tensor.broadcastShape(out, s) else {
                throw TensorShapeError("shapes \(shapes.map(text).joined(separator: " and ")) do not broadcast (aligned on the right, each axis must be equal or 1)")
            }
            out = b
        }
        return out
    }
}

extension TensorFunction {
    /// An element-wise function of one operand: `value(x)`, its derivative `derivative(x, y)` (y the output),
    /// and the local derivative's text over the operand's and output's names.
    static func unary(_ name: String, summary: String, extra: [Parameter] = [], kink: Bool = false,
                      value: @escaping @Sendable (Double, [Double]) -> Double,
                      derivative: @escaping @Sendable (Double, Double, [Double]) -> Double,
                      local: @escaping @Sendable (_ x: String, _ y: String, _ options: [Double]) -> String) -> TensorFunction {
        TensorFunction(
            name: name, parameters: [.tensor("x")] + extra, summary: summary, hasKink: kink,
            shapeRule: { s, _ in s[0] },
            forwardRule: { xs, o in xs[0].map { value($0, o) } },
            vjpRule: { _, xs, o, z, g in
                var out = g
                for i in out.data.indices { out.data[i] *= derivative(xs[0].data[i], z.data[i], o) }
                return (out, [])
            },
            formulaRule: { _, c in "\(c.g) ⊙ \(local(c.operand(0), Op.wrap(c.z), c.options))" })
    }

    /// A broadcasting element-wise function of several operands; `partial(k, xs, y)` is ∂y/∂operand k at one element.
    static func broadcasting(_ name: String, _ operands: [String], summary: String, kink: Bool = false, noGradient: [Int] = [],
                             value: @escaping @Sendable ([Double]) -> Double,
                             partial: @escaping @Sendable (Int, [Double], Double) -> Double,
                             formula: @escaping FormulaRule) -> TensorFunction {
        TensorFunction(
            name: name, parameters: operands.map { .tensor($0) }, summary: summary, integerOperands: noGradient, hasKink: kink,
            shapeRule: { s, _ throws(TensorShapeError) in try Shapes.broadcast(s) },
            forwardRule: { xs, _ in
                let shape = (try? Shapes.broadcast(xs.map(\.shape))) ?? []
                let maps = xs.map { Tensor.broadcastMap(from: $0.shape, to: shape) }
                var out = [Double](repeating: 0, count: Shapes.count(shape))
                var args = [Double](repeating: 0, count: xs.count)
                for i in out.indices {
                    for k in xs.indices { args[k] = xs[k].data[maps[k][i]] }
                    out[i] = value(args)
                }
                return Tensor(shape: shape, data: out)
            },
            vjpRule: { k, xs, _, z, g in
                let maps = xs.map { Tensor.broadcastMap(from: $0.shape, to: z.shape) }
                var full = g
                var args = [Double](repeating: 0, count: xs.count)
                for i in full.data.indices {
                    for j in xs.indices { args[j] = xs[j].data[maps[j][i]] }
                    full.data[i] *= partial(k, args, z.data[i])
                }
                return Tensor.unbroadcast(full, to: xs[k].shape)
            },
            formulaRule: formula)
    }

    /// A comparison: a 0/1 mask with no gradient (PyTorch's `torch.lt` and friends).
    static func comparison(_ c: Comparison, _ test: @escaping @Sendable (Double, Double) -> Bool) -> TensorFunction {
        broadcasting(c.function, ["a", "b"], summary: "a \(c.rawValue) b as a 0/1 mask (no gradient)",
                     value: { test($0[0], $0[1]) ? 1 : 0 }, partial: { _, _, _ in 0 },
                     formula: { _, _ in "0 (a comparison's mask carries no gradient)" })
    }
}

/// Shared wording of detail lines.
enum Detail {
    static func wins(_ k: Int, _ xs: [Tensor], _ z: Tensor, larger: Bool) -> String {
        let a = xs[0].broadcast(to: z.shape), b = xs[1].broadcast(to: z.shape)
        let n = zip(a.data, b.data).filter { k == 0 ? (larger ? $0 > $1 : $0 < $1) : (larger ? $1 > $0 : $1 < $0) }.count
        let ties = zip(a.data, b.data).filter { $0 == $1 }.count
        return "passes \(n) of \(z.count) elements" + (ties > 0 ? ", half of \(ties) ties" : "")
    }

    static let mask: TensorFunction.DetailRule = { k, _, _, z in
        k == 0 ? "the mask holds \(z.data.filter { $0 != 0 }.count) ones of \(z.count)" : nil
    }
}

/// The registry: every function of the tensor language, in one table.
public enum TensorFunctions {
    /// The table. Order is the help order; JSON and the parser find entries by name.
    public static let table: [TensorFunction] = entries.map(withDetail)

    static func withDetail(_ f: TensorFunction) -> TensorFunction {
        var f = f
        if let d = details[f.name] { f.detailRule = d } else if Comparison.allCases.contains(where: { $0.function == f.name }) { f.detailRule = Detail.mask }
        return f
    }

    static let entries: [TensorFunction] = [
        // Element-wise activations.
        .unary("gelu", summary: "x·Φ(x), the erf form (F.gelu)",
               value: { x, _ in 0.5 * x * (1 + erf(x / 2.0.squareRoot())) },
               derivative: { x, _, _ in 0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-x * x / 2) / (2 * Double.pi).squareRoot() },
               local: { x, _, _ in "(Φ(\(x)) + \(x)·φ(\(x)))" }),
        .unary("erf", summary: "the error function (2/√π)·∫₀ˣ e^(−t²) dt (torch.erf, jax.lax.erf)",
               value: { x, _ in erf(x) },
               derivative: { x, _, _ in 2 / Double.pi.squareRoot() * exp(-x * x) },
               local: { x, _, _ in "(2/√π)·e^(−\(x)²)" }),
        .unary("silu", summary: "x·σ(x) (F.silu)",
               value: { x, _ in x / (1 + exp(-x)) },
               derivative: { x, _, _ in let s = 1 / (1 + exp(-x)); return s * (1 + x * (1 - s)) },
               local: { x, _, _ in "σ(\(x))·(1 + \(x)·(1 − σ(\(x))))" }),
        .unary("softplus", summary: "log(1 + eˣ) (F.softplus)",
               value: { x, _ in Swift.max(x, 0) + log1p(exp(-Swift.abs(x))) },
               derivative: { x, _, _ in 1 / (1 + exp(-x)) },
               local: { x, _, _ in "σ(\(x))" }),
        .unary("leaky_relu", summary: "x if x > 0, else negative_slope·x (F.leaky_relu)",
               extra: [.number("negative_slope", 0.01)], kink: true,
               value: { x, o in x > 0 ? x : o[0] * x },
               derivative: { x, _, o in x > 0 ? 1 : o[0] },
               local: { x, _, o in "(1 if \(x) > 0, else \(NumberFormat.short(o[0])))" }),
        // Masks and selections.
        .comparison(.lt, { $0 < $1 }), .comparison(.le, { $0 <= $1 }), .comparison(.gt, { $0 > $1 }), .comparison(.ge, { $0 >= $1 }),
        .comparison(.eq, { $0 == $1 }), .comparison(.ne, { $0 != $1 }),
        .broadcasting("where", ["condition", "a", "b"], summary: "a where condition ≠ 0, else b (torch.where)", kink: true, noGradient: [0],
                      value: { $0[0] != 0 ? $0[1] : $0[2] },
                      partial: { k, v, _ in k == 0 ? 0 : (k == 1 ? (v[0] != 0 ? 1 : 0) : (v[0] != 0 ? 0 : 1)) },
                      formula: { k, c in
                          k == 0 ? "a condition, no gradient"
                                 : "\(c.g) where \(c.operand(0)) \(k == 1 ? "≠" : "=") 0, else 0" }),
        .broadcasting("maximum", ["a", "b"], summary: "the larger of a and b, element-wise (torch.maximum)", kink: true,
                      value: { Swift.max($0[0], $0[1]) },
                      partial: { k, v, _ in v[0] == v[1] ? 0.5 : ((v[0] > v[1]) == (k == 0) ? 1 : 0) },
                      formula: { k, c in "\(c.g) where \(c.operand(k)) is the larger (half at ties), else 0" }),
        .broadcasting("minimum", ["a", "b"], summary: "the smaller of a and b, element-wise (torch.minimum)", kink: true,
                      value: { Swift.min($0[0], $0[1]) },
                      partial: { k, v, _ in v[0] == v[1] ? 0.5 : ((v[0] < v[1]) == (k == 0) ? 1 : 0) },
                      formula: { k, c in "\(c.g) where \(c.operand(k)) is the smaller (half at ties), else 0" }),
        TensorFunction(
            name: "clamp", parameters: [.tensor("x"), .number("min", -.infinity), .number("max", .infinity)],
            summary: "x limited to [min, max] (torch.clamp)", hasKink: true,
            shapeRule: { s, o throws(TensorShapeError) in
                guard !(o[0] > o[1]) else { throw TensorShapeError("clamp: min \(NumberFormat.short(o[0])) is above max \(NumberFormat.short(o[1]))") }
                return s[0]
            },
            forwardRule: { xs, o in xs[0].map { Swift.min(Swift.max($0, o[0]), o[1]) } },
            vjpRule: { _, xs, o, _, g in
                var out = g
                for i in out.data.indices where !(xs[0].data[i] >= o[0] && xs[0].data[i] <= o[1]) { out.data[i] = 0 }
                return (out, [])
            },
            formulaRule: { _, c in "\(c.g) where \(NumberFormat.short(c.options[0])) ≤ \(c.operand(0)) ≤ \(NumberFormat.short(c.options[1])), else 0" }),
        // Layers.
        TensorFunction(
            name: "linear", parameters: [.tensor("x"), .tensor("weight"), .optionalTensor("bias")],
            summary: "x @ weightᵀ + bias with weight stored [out, in] (F.linear)",
            shapeRule: Layers.linearShape, forwardRule: Layers.linear, vjpRule: Layers.linearVJP,
            formulaRule: { k, c in
                switch k {
                case 0: return "\(c.G) · \(c.operand(1))"
                case 1: return c.shapes[0].count == 1 ? "\(c.G) ⊗ \(c.operand(0))" : "\(c.G)ᵀ · \(c.operand(0))"
                default: return c.shapes[0].count == 1 ? c.g : "Σ_rows \(c.g)"
                }
            },
            workRule: { s, _ in Shapes.product([Shapes.count(s[0]), s[1].count == 2 ? s[1][0] : 1]) }),
        TensorFunction(
            name: "transpose", parameters: [.tensor("x"), .axis("dim0", -2, extra: 0), .axis("dim1", -1, extra: 0)],
            summary: "x with two axes swapped (torch.transpose)",
            shapeRule: { s, o in var r = s[0]; r.swapAt(Int(o[0]), Int(o[1])); return r },
            forwardRule: { xs, o in Layers.permute(xs[0], Layers.swap(xs[0].rank, Int(o[0]), Int(o[1]))) },
            vjpRule: { _, xs, o, _, g in (Layers.permute(g, Layers.swap(xs[0].rank, Int(o[0]), Int(o[1]))), []) },
            formulaRule: { _, c in
                let r = c.shapes[0].count
                if Set([Int(c.options[0]), Int(c.options[1])]) == Set([r - 2, r - 1]) { return c.G + "ᵀ" }
                return "transpose(\(c.g), \(Int(c.options[0])), \(Int(c.options[1])))"
            }),
        TensorFunction(
            name: "permute", parameters: [.tensor("x"), .integers("dims")],
            summary: "x with its axes reordered (torch.permute)",
            shapeRule: { s, o throws(TensorShapeError) in
                let p = try Layers.permutation(o, rank: s[0].count)
                return p.map { s[0][$0] }
            },
            forwardRule: { xs, o in Layers.permute(xs[0], Layers.resolved(o, rank: xs[0].rank)) },
            vjpRule: { _, xs, o, _, g in (Layers.permute(g, Layers.inverse(Layers.resolved(o, rank: xs[0].rank))), []) },
            formulaRule: { _, c in
                let inv = Layers.inverse(Layers.resolved(c.options, rank: c.shapes[0].count))
                return "permute(\(c.g), \(inv.map(String.init).joined(separator: ", ")))"
            }),
        TensorFunction(
            name: "flatten", parameters: [.tensor("x")], summary: "[N, …] → [N, rest] (torch.flatten(x, 1))",
            shapeRule: { s, _ throws(TensorShapeError) in
                guard s[0].count >= 2 else { throw TensorShapeError("flatten takes a tensor of rank 2 or more [N, …], not shape \(Shapes.text(s[0]))") }
                return [s[0][0], Shapes.count(Array(s[0].dropFirst()))]
            },
            forwardRule: { xs, _ in xs[0].reshaped([xs[0].shape[0], xs[0].count / Swift.max(1, xs[0].shape[0])]) },
            vjpRule: { _, xs, _, _, g in (g.reshaped(xs[0].shape), []) },
            formulaRule: { _, c in "reshape(\(c.g), \(c.shapes[0].map(String.init).joined(separator: ", ")))" }),
        TensorFunction(
            name: "concat", parameters: [.tensors("tensors"), .axis("axis", 0, extra: 0)],
            summary: "operands joined along an axis (torch.cat)",
            shapeRule: Layers.concatShape, forwardRule: Layers.concat, vjpRule: Layers.concatVJP,
            formulaRule: { k, c in
                let axis = Int(c.options[0])
                let start = c.shapes[..<k].reduce(0) { $0 + $1[axis] }
                return "\(c.G)[\(Layers.sliceText(axis: axis, start: start, count: c.shapes[k][axis]))] (its own slice)"
            }),
        TensorFunction(
            name: "stack", parameters: [.tensors("tensors"), .axis("axis", 0, extra: 1)],
            summary: "operands stacked along a new axis (torch.stack)",
            shapeRule: Layers.stackShape, forwardRule: Layers.stack, vjpRule: Layers.stackVJP,
            formulaRule: { k, c in "\(c.G)[\(Layers.sliceText(axis: Int(c.options[0]), start: k, count: 0))] (its own slice)" }),
        TensorFunction(
            name: "embedding", parameters: [.tensor("weight"), .tensor("ids")],
            summary: "rows of weight [V, D] at whole-number ids (F.embedding(ids, weight))", integerOperands: [1],
            shapeRule: { s, _ throws(TensorShapeError) in
                guard s[0].count == 2 else { throw TensorShapeError("embedding takes a table [V, D], not shape \(Shapes.text(s[0]))") }
                guard s[1].count <= 3 else { throw TensorShapeError("embedding ids of shape \(Shapes.text(s[1])): at most rank 3") }
                return s[1] + [s[0][1]]
            },
            valueRule: { xs, _ throws(TensorShapeError) in
                let v = xs[0].shape[0]
                for (i, id) in xs[1].data.enumerated() where !(id == id.rounded() && id >= 0 && id < Double(v)) {
                    throw TensorShapeError("id \(NumberFormat.exact(id)) (element \(i) of ids \(xs[1].shapeText)) is out of range for the table \(xs[0].shapeText): ids are whole numbers 0…\(v - 1)")
                }
            },
            forwardRule: { xs, _ in
                let d = xs[0].shape[1]
                var out: [Double] = []
                out.reserveCapacity(xs[1].count * d)
                for id in xs[1].data { let r = Int(id) * d; out += xs[0].data[r..<(r + d)] }
                return Tensor(shape: xs[1].shape + [d], data: out)
            },
            vjpRule: { k, xs, _, _, g in
                if k == 1 { return (Tensor.zeros(xs[1].shape), []) }
                let d = xs[0].shape[1]
                var out = Tensor.zeros(xs[0].shape)
                for (i, id) in xs[1].data.enumerated() { for j in 0..<d { out.data[Int(id) * d + j] += g.data[i * d + j] } }
                return (out, [])
            },
            formulaRule: { k, c in
                k == 1 ? "ids, no gradient" : "rows of \(c.G) added into the rows \(c.operand(1)) picked (a repeated id adds up)"
            }),
        TensorFunction(
            name: "layer_norm", parameters: [.tensor("x"), .optionalTensor("weight"), .optionalTensor("bias"), .number("eps", 1e-5)],
            summary: "(x − mean)/√(var + eps)·weight + bias over the last axis (F.layer_norm)",
            shapeRule: { s, o throws(TensorShapeError) in try Norms.shape("layer_norm", s, o, channels: s[0].last ?? 0) },
            forwardRule: { xs, o in Norms.forward(xs, eps: o[0], plan: Norms.layerPlan(xs[0].shape)) },
            vjpRule: { k, xs, o, _, g in Norms.vjp(k, xs, eps: o[0], g: g, plan: Norms.layerPlan(xs[0].shape)) },
            formulaRule: { k, c in Norms.formula(k, c, over: "the last axis") }),
        TensorFunction(
            name: "batch_norm", parameters: [.tensor("x"), .optionalTensor("weight"), .optionalTensor("bias"), .number("eps", 1e-5)],
            summary: "training-mode batch normalisation: statistics per channel over the batch (and H, W) (F.batch_norm)",
            shapeRule: { s, o throws(TensorShapeError) in
                guard s[0].count == 2 || s[0].count == 4 else {
                    throw TensorShapeError("batch_norm takes [N, C] or [N, C, H, W], not shape \(Shapes.text(s[0]))")
                }
                guard Shapes.count(s[0]) / s[0][1] > 1 else {
                    throw TensorShapeError("batch_norm of shape \(Shapes.text(s[0])) has one value per channel: its variance is 0")
                }
                return try Norms.shape("batch_norm", s, o, channels: s[0][1])
            },
            forwardRule: { xs, o in Norms.forward(xs, eps: o[0], plan: Norms.batchPlan(xs[0].shape)) },
            vjpRule: { k, xs, o, _, g in Norms.vjp(k, xs, eps: o[0], g: g, plan: Norms.batchPlan(xs[0].shape)) },
            formulaRule: { k, c in Norms.formula(k, c, over: c.shapes[0].count == 4 ? "N, H, W" : "the batch") }),
        TensorFunction(
            name: "conv2d", parameters: [.tensor("x"), .tensor("weight"), .optionalTensor("bias"), .integer("stride", 1), .integer("padding", 0)],
            summary: "2-D cross-correlation of x [N, C, H, W] with weight [O, C, kH, kW] (F.conv2d)",
            shapeRule: Conv.shape, forwardRule: Conv.forward, vjpRule: Conv.vjp,
            formulaRule: { k, c in
                let s = Int(c.options[0])
                switch k {
                case 0: return "\(c.G) ⋆ flipped \(c.operand(1)) (a full convolution\(s > 1 ? ", stride \(s)" : ""))"
                case 1: return "\(c.operand(0)) ⋆ \(c.G) (x correlated with the upstream gradient\(s > 1 ? ", stride \(s)" : ""))"
                default: return "Σ over N, H, W of \(c.g)"
                }
            },
            workRule: Conv.work),
        TensorFunction(
            name: "max_pool2d", parameters: [.tensor("x"), .integer("kernel_size", nil), .integer("stride", -1)],
            summary: "the maximum of each window (F.max_pool2d; stride defaults to kernel_size)", hasKink: true,
            shapeRule: { s, o throws(TensorShapeError) in try Pool.shape("max_pool2d", s[0], o) },
            forwardRule: { xs, o in Pool.forward(xs[0], o, max: true) },
            vjpRule: { _, xs, o, _, g in (Pool.vjp(xs[0], o, g, max: true), []) },
            formulaRule: { _, c in "\(c.g) routed to each window's maximum (the first at ties), 0 elsewhere" },
            workRule: { s, o in Shapes.product([Shapes.count(s[0]), Int(o[0]) * Int(o[0])]) }),
        TensorFunction(
            name: "avg_pool2d", parameters: [.tensor("x"), .integer("kernel_size", nil), .integer("stride", -1)],
            summary: "the mean of each window (F.avg_pool2d; stride defaults to kernel_size)",
            shapeRule: { s, o throws(TensorShapeError) in try Pool.shape("avg_pool2d", s[0], o) },
            forwardRule: { xs, o in Pool.forward(xs[0], o, max: false) },
            vjpRule: { _, xs, o, _, g in (Pool.vjp(xs[0], o, g, max: false), []) },
            formulaRule: { _, c in "\(c.g)/\(Int(c.options[0]) * Int(c.options[0])) spread over each window" },
            workRule: { s, o in Shapes.product([Shapes.count(s[0]), Int(o[0]) * Int(o[0])]) }),
        TensorFunction(
            name: "dropout", parameters: [.tensor("x"), .number("p", 0.5), .integer("seed", 0), .integer("stream", 0)],
            summary: "x ⊙ mask/(1 − p), the mask fixed by the seed and the statement's name (F.dropout, training)",
            shapeRule: { s, o throws(TensorShapeError) in
                guard o[0] >= 0 && o[0] < 1 else { throw TensorShapeError("dropout: p = \(NumberFormat.short(o[0])); p is a probability in [0, 1)") }
                return s[0]
            },
            forwardRule: { xs, o in
                let m = Layers.dropoutMask(count: xs[0].count, o)
                var out = xs[0]
                for i in out.data.indices { out.data[i] *= m[i] }
                return out
            },
            vjpRule: { _, xs, o, _, g in
                let m = Layers.dropoutMask(count: xs[0].count, o)
                var out = g
                for i in out.data.indices { out.data[i] *= m[i] }
                return (out, [])
            },
            formulaRule: { _, c in "\(c.g) ⊙ mask/\(NumberFormat.short(1 - c.options[0])) (the kept elements, scaled)" }),
        // Losses (mean reductions, as PyTorch's defaults).
        TensorFunction(
            name: "mse_loss", parameters: [.tensor("input"), .tensor("target")], summary: "mean((input − target)²) (F.mse_loss)",
            shapeRule: { s, _ throws(TensorShapeError) in
                guard s[0] == s[1] else { throw TensorShapeError("mse_loss takes two tensors of one shape, not \(Shapes.text(s[0])) and \(Shapes.text(s[1]))") }
                return []
            },
            forwardRule: { xs, _ in
                var s = 0.0
                for i in xs[0].data.indices { let d = xs[0].data[i] - xs[1].data[i]; s = s.addingProduct(d, d) }
                return Tensor(s / Double(xs[0].count))
            },
            vjpRule: { k, xs, _, _, g in
                let scale = 2 * g.scalar / Double(xs[0].count) * (k == 0 ? 1 : -1)
                var out = xs[0]
                for i in out.data.indices { out.data[i] = (xs[0].data[i] - xs[1].data[i]) * scale }
                return (out, [])
            },
            formulaRule: { k, c in "\(k == 0 ? "" : "−")2·\(c.G)·(\(c.operand(0)) − \(c.operand(1)))/\(Shapes.count(c.shapes[0]))" }),
        TensorFunction(
            name: "nll_loss", parameters: [.tensor("input"), .tensor("target")],
            summary: "−mean of input[i, target[i]] over the rows (F.nll_loss, input holds log-probabilities)", integerOperands: [1],
            shapeRule: { s, _ throws(TensorShapeError) in
                guard s[0].count == 2 else { throw TensorShapeError("nll_loss takes a matrix [rows, classes], not shape \(Shapes.text(s[0]))") }
                guard s[1] == [s[0][0]] else { throw TensorShapeError("nll_loss needs one label per row: shapes \(Shapes.text(s[0])) and \(Shapes.text(s[1])) (want [\(s[0][0])])") }
                return []
            },
            valueRule: { xs, _ throws(TensorShapeError) in try Layers.checkLabels(xs[1], classes: xs[0].shape[1], of: xs[0]) },
            forwardRule: { xs, _ in
                let n = xs[0].shape[0], c = xs[0].shape[1]
                var s = 0.0
                for i in 0..<n { s -= xs[0].data[i * c + Int(xs[1].data[i])] }
                return Tensor(s / Double(n))
            },
            vjpRule: { k, xs, _, _, g in
                if k == 1 { return (Tensor.zeros(xs[1].shape), []) }
                let n = xs[0].shape[0], c = xs[0].shape[1]
                var out = Tensor.zeros(xs[0].shape)
                for i in 0..<n { out.data[i * c + Int(xs[1].data[i])] = -g.scalar / Double(n) }
                return (out, [])
            },
            formulaRule: { k, c in k == 1 ? "labels, no gradient" : "−\(c.G)/\(c.shapes[0].first ?? 1) at the labels, 0 elsewhere" }),
        TensorFunction(
            name: "binary_cross_entropy", parameters: [.tensor("input"), .tensor("target")],
            summary: "−mean(target·log input + (1 − target)·log(1 − input)) (F.binary_cross_entropy)",
            shapeRule: { s, _ throws(TensorShapeError) in
                guard s[0] == s[1] else { throw TensorShapeError("binary_cross_entropy takes two tensors of one shape, not \(Shapes.text(s[0])) and \(Shapes.text(s[1]))") }
                return []
            },
            forwardRule: { xs, _ in
                var s = 0.0
                for i in xs[0].data.indices {
                    let p = xs[0].data[i], y = xs[1].data[i]
                    s -= y * Swift.max(log(p), -100) + (1 - y) * Swift.max(log1p(-p), -100)
                }
                return Tensor(s / Double(xs[0].count))
            },
            vjpRule: { k, xs, _, _, g in
                let n = Double(xs[0].count)
                var out = xs[0]
                for i in out.data.indices {
                    let p = xs[0].data[i], y = xs[1].data[i]
                    out.data[i] = k == 0 ? g.scalar * (p - y) / Swift.max(p * (1 - p), 1e-12) / n
                                         : g.scalar * (Swift.max(log1p(-p), -100) - Swift.max(log(p), -100)) / n
                }
                return (out, [])
            },
            formulaRule: { k, c in
                let p = c.operand(0), y = c.operand(1), n = Shapes.count(c.shapes[0])
                return k == 0 ? "\(c.G)·(\(p) − \(y))/(\(p)(1 − \(p)))/\(n)" : "\(c.G)·(log(1 − \(p)) − log \(p))/\(n)"
            }),
    ]

    /// The detail lines of edges, by function (kept beside the table so each entry stays short).
    static let details: [String: TensorFunction.DetailRule] = [
        "where": { k, xs, _, z in
            guard k > 0 else { return nil }
            let c = xs[0].broadcast(to: z.shape)
            let n = c.data.filter { ($0 != 0) == (k == 1) }.count
            return "passes \(n) of \(z.count) elements (where the condition is \(k == 1 ? "≠ 0" : "0"))"
        },
        "clamp": { _, xs, o, _ in
            let n = xs[0].data.filter { $0 >= o[0] && $0 <= o[1] }.count
            return "passes \(n) of \(xs[0].count) elements (inside [\(NumberFormat.short(o[0])), \(NumberFormat.short(o[1]))])"
        },
        "maximum": { k, xs, _, z in Detail.wins(k, xs, z, larger: true) },
        "minimum": { k, xs, _, z in Detail.wins(k, xs, z, larger: false) },
        "leaky_relu": { _, xs, o, _ in
            let n = xs[0].data.filter { $0 > 0 }.count
            return "passes \(n) of \(xs[0].count) elements whole, the rest × \(NumberFormat.short(o[0]))"
        },
        "max_pool2d": { _, xs, o, z in
            let k = Int(o[0])
            return "each [\(k), \(k)] window passes its maximum only: \(z.count) of \(xs[0].count) elements get a gradient (or fewer, where windows share one)"
        },
        "dropout": { _, xs, o, _ in
            let kept = Layers.dropoutMask(count: xs[0].count, o).filter { $0 != 0 }.count
            return "the mask keeps \(kept) of \(xs[0].count) elements"
        },
        "embedding": { k, xs, _, _ in
            guard k == 0 else { return nil }
            var counts = [Int](repeating: 0, count: xs[0].shape[0])
            for id in xs[1].data { counts[Int(id)] += 1 }
            let repeated = counts.indices.filter { counts[$0] > 1 }.map { "row \($0) ×\(counts[$0])" }
            let none = counts.indices.filter { counts[$0] == 0 }.map(String.init)
            var parts = repeated.isEmpty ? ["each row at most once"] : [repeated.joined(separator: ", ") + " (added up)"]
            if !none.isEmpty { parts.append(none.count == 1 ? "row \(none[0]) gets 0" : "rows \(none.joined(separator: ", ")) get 0") }
            return "scatter-add: " + parts.joined(separator: "; ")
        },
        "conv2d": { k, xs, o, z in
            let x = xs[0].shapeText, w = xs[1].shapeText, y = z.shapeText
            let opts = "stride \(Int(o[0])), padding \(Int(o[1]))"
            switch k {
            case 0: return "\(y) ⋆ flipped \(w) → \(x) (\(opts))"
            case 1: return "x \(x) ⋆ ∂L/∂y \(y) → \(w): one sum over N, H, W per weight (\(opts))"
            default: return nil   // the broadcast-sum line says it: Σ over axes 0, 2, 3
            }
        },
    ]

    /// Index of every function by name.
    static let indexOf: [String: Int] = {
        var d: [String: Int] = [:]
        for (i, f) in table.enumerated() { d[f.name] = i }
        return d
    }()

    /// The entry named `name`, if any.
    public static func named(_ name: String) -> TensorFunction? { indexOf[name].map { table[$0] } }

    /// The functions with built-in forms (`sum`, `softmax`, …, the scalar functions) and the constructors,
    /// which the parser also knows: with the table, every name a program may call.
    public static let builtins: [(name: String, usage: String)] =
        Op.namedFunctions.map { ($0.name, "\($0.name)(x)") } + [
            ("pow", "pow(a, b)"), ("sum", "sum(x, axis=None)"), ("mean", "mean(x, axis=None)"), ("max", "max(x, axis=None)"),
            ("logsumexp", "logsumexp(x, axis=-1)"), ("softmax", "softmax(x, axis=-1)"), ("log_softmax", "log_softmax(x, axis=-1)"),
            ("reshape", "reshape(x, d1, d2, …)"), ("pick", "pick(x, labels)"), ("cross_entropy", "cross_entropy(logits, labels)"),
        ]
    public static let constructors = ["zeros", "ones", "arange", "randn"]

    /// Every callable name, for messages, help, completions and the fuzz dictionary.
    public static var allNames: [String] {
        var seen = Set<String>(), out: [String] = []
        for n in builtins.map(\.name) + table.map(\.name) + constructors where seen.insert(n).inserted { out.append(n) }
        return out
    }

    /// The message for a call of a name that is no function: the closest function when one is near
    /// (`tahn` → `tanh`), else where to find the list (it is long: every builtin and registry function).
    public static func unknownFunctionMessage(_ name: String) -> String {
        let names = allNames
        if let best = NameSuggestion.closest(to: name, among: names) {
            return "unknown function '\(name)'; did you mean '\(best)'? (`gradtrace functions` lists all \(names.count))"
        }
        return "unknown function '\(name)': `gradtrace functions` lists the \(names.count) functions a program may call"
    }

    /// True when `name` is a function only the tensor engine runs (not a scalar `Op`).
    static func isTensorOnly(_ name: String) -> Bool {
        name != "pow" && !Op.namedFunctions.contains { $0.name == name } && allNames.contains(name)
    }
}

extension TensorFunctions {
    /// The op a graph reader (JSON, a bridge) builds from a registry function's name, its operands' shapes
    /// and its options by key (`["stride": [2], "dims": [1, 0]]`): defaults filled in, axes resolved
    /// (negative from the end), unknown or missing keys refused naming the function's usage.
    ///
    /// ```swift
    /// let op = try TensorFunctions.op(named: "conv2d", operandShapes: [[1, 1, 4, 4], [2, 1, 3, 3]], options: ["padding": [1]])
    /// // .call(conv2d, options [stride 1, padding 1])
    /// ```
    public static func op(named name: String, operandShapes shapes: [[Int]], options: [String: [Double]]) throws(TensorShapeError) -> TensorOp {
        guard let index = indexOf[name] else {
            throw TensorShapeError(unknownFunctionMessage(name))
        }
        let f = table[index]
        for key in options.keys.sorted() where !f.parameters.contains(where: { !$0.isTensor && $0.name == key }) {
            throw TensorShapeError("unknown option '\(key)' for \(f.name) (\(f.usage))")
        }
        var resolved: [Double] = []
        for p in f.parameters {
            switch p {
            case .tensor, .optionalTensor, .tensors: continue
            case .integers(let n): resolved += options[n] ?? []
            case .integer(let n, let d), .axis(let n, let d, _):
                guard let v = options[n]?.first ?? d.map(Double.init) else { throw TensorShapeError("\(f.name) needs \(n) (\(f.usage))") }
                guard v == v.rounded() else { throw TensorShapeError("\(f.name): \(n) = \(NumberFormat.short(v)) is not a whole number") }
                if case .axis(_, _, let extra) = p {
                    let r = (shapes.first?.count ?? 0) + extra
                    guard r > 0, v >= Double(-r), v < Double(r) else {
                        throw TensorShapeError("\(f.name): axis \(Int(v)) is out of range for rank \(r)")
                    }
                    resolved.append(v < 0 ? v + Double(r) : v)
                } else {
                    resolved.append(v)
                }
            case .number(let n, let d):
                guard let v = options[n]?.first ?? d else { throw TensorShapeError("\(f.name) needs \(n) (\(f.usage))") }
                resolved.append(v)
            }
        }
        return .call(TensorCall(index: index, arity: shapes.count, options: resolved))
    }
}
