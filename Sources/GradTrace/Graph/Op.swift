#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An operation in a computational graph, as data.
///
/// The same table drives evaluation (``apply(_:_:)``), the backward pass
/// (``localGradients(_:_:output:)``), labels (``symbol``) and the derivative
/// formulas drawn on edges (``derivativeFormula(wrt:operands:)``). Every op has
/// at most two inputs, like micrograd's `Value`.
public enum Op: Sendable, Hashable {
    /// A named leaf whose value the user chooses (`x = 2`, `--at x=3`).
    case input
    /// A literal number inside an expression (`3` in `3*x`).
    case constant
    case add, sub, mul, div, neg
    /// `a ^ c` with a constant exponent `c` (one input).
    case powConst(Double)
    /// `a ^ b` with a variable exponent (two inputs).
    case pow
    case exp, log, sin, cos, tan, tanh, sigmoid, relu, sqrt, abs

    /// Number of inputs the op takes.
    public var arity: Int {
        switch self {
        case .input, .constant: return 0
        case .add, .sub, .mul, .div, .pow: return 2
        default: return 1
        }
    }

    /// True for leaves (inputs and constants).
    public var isLeaf: Bool { arity == 0 }

    /// True for ops that call the maths library per element (worth spreading over cores on large tensors).
    public var callsMathLibrary: Bool {
        switch self {
        case .exp, .log, .sin, .cos, .tan, .tanh, .sigmoid, .pow, .powConst: return true
        default: return false
        }
    }

    /// The unary functions the program language knows by name, in a fixed order.
    public static let namedFunctions: [(name: String, op: Op)] = [
        ("exp", .exp), ("log", .log), ("sin", .sin), ("cos", .cos), ("tan", .tan),
        ("tanh", .tanh), ("sigmoid", .sigmoid), ("relu", .relu), ("sqrt", .sqrt), ("abs", .abs),
    ]

    /// Evaluates the op on its input values (`b` is ignored by unary ops).
    @inlinable
    public func apply(_ a: Double, _ b: Double = 0) -> Double {
        switch self {
        case .input, .constant: return a
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        case .neg: return -a
        case .powConst(let c): return Self.power(a, c)
        case .pow: return Self.power(a, b)
        case .exp: return Glibc.exp(a)
        case .log: return Glibc.log(a)
        case .sin: return Glibc.sin(a)
        case .cos: return Glibc.cos(a)
        case .tan: return Glibc.tan(a)
        case .tanh: return Glibc.tanh(a)
        case .sigmoid: return 1 / (1 + Glibc.exp(-a))
        case .relu: return a > 0 ? a : 0
        case .sqrt: return a.squareRoot()
        case .abs: return Swift.abs(a)
        }
    }

    /// The local gradients ∂out/∂a and ∂out/∂b at the forward values (`output` is the op's own value).
    @inlinable
    public func localGradients(_ a: Double, _ b: Double, output: Double) -> (Double, Double) {
        switch self {
        case .input, .constant: return (0, 0)
        case .add: return (1, 1)
        case .sub: return (1, -1)
        case .mul: return (b, a)
        case .div: return (1 / b, -a / (b * b))
        case .neg: return (-1, 0)
        case .powConst(let c):
            if c == 0 { return (0, 0) }
            if c == 1 { return (1, 0) }
            if c == 2 { return (2 * a, 0) }
            return (c * Self.power(a, c - 1), 0)
        case .pow:
            let da = b == 0 ? 0 : b * Self.power(a, b - 1)
            // d/db a^b = a^b ln a; taken as 0 where a^b is 0 (a = 0, b > 0), as the limit says.
            let db = output == 0 ? 0 : output * Glibc.log(a)
            return (da, db)
        case .exp: return (output, 0)
        case .log: return (1 / a, 0)
        case .sin: return (Glibc.cos(a), 0)
        case .cos: return (-Glibc.sin(a), 0)
        case .tan: return (1 + output * output, 0)
        case .tanh: return (1 - output * output, 0)
        case .sigmoid: return (output * (1 - output), 0)
        case .relu: return (a > 0 ? 1 : 0, 0)
        case .sqrt: return (0.5 / output, 0)
        case .abs: return (a > 0 ? 1 : (a < 0 ? -1 : 0), 0)
        }
    }

    /// `pow` with exact small integer powers (so `6^2` is 36 exactly).
    @inlinable
    static func power(_ a: Double, _ c: Double) -> Double {
        if c == 2 { return a * a }
        if c == 1 { return a }
        if c == 0 { return 1 }
        if c == 3 { return a * a * a }
        if c == -1 { return 1 / a }
        if c == 0.5 { return a.squareRoot() }
        return Glibc.pow(a, c)
    }

    /// True when the op has a kink (a point where its derivative jumps): relu and abs at 0.
    public var hasKink: Bool {
        switch self {
        case .relu, .abs: return true
        default: return false
        }
    }
}
