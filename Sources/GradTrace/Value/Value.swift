/// Records a graph from Swift code; the home of the ``Value``s built on it.
///
/// A tape is an ordinary object you create and pass around: there is no global
/// "current graph". Values from two different tapes cannot be combined.
///
/// ```swift
/// let tape = Tape()
/// let a = tape.input("a", 2), b = tape.input("b", -3)
/// let L = (a * b + 10) * -2
/// L.backward()
/// a.grad   // 6
/// ```
public final class Tape {
    /// The graph recorded so far.
    public private(set) var graph = Graph()
    /// The trace of the last ``Value/backward(granularity:)`` call.
    public private(set) var trace: Trace?

    public init() {}

    /// A named input (a leaf whose gradient you want).
    public func input(_ name: String, _ value: Double) -> Value {
        Value(tape: self, id: graph.addInput(name, value))
    }

    /// A constant leaf.
    public func constant(_ value: Double) -> Value {
        Value(tape: self, id: graph.addConstant(value))
    }

    func record(_ op: Op, _ a: Value, _ b: Value? = nil) -> Value {
        precondition(a.tape === self && (b == nil || b!.tape === self), "values from different tapes cannot be combined")
        return Value(tape: self, id: graph.add(op, a.id, b?.id ?? -1))
    }

    func name(_ id: NodeID, _ name: String) { graph.setName(name, for: id) }

    func setTrace(_ t: Trace) { trace = t }
}

/// A scalar recorded on a ``Tape``, with micrograd's operators and functions.
///
/// Arithmetic records a new node; ``backward(granularity:)`` runs the backward
/// pass and makes every ``grad`` readable.
public struct Value: CustomStringConvertible {
    /// The tape that recorded this value.
    public let tape: Tape
    /// The node id in the tape's graph.
    public let id: NodeID

    /// The forward value (micrograd's `data`).
    public var data: Double { tape.graph[id].value }

    /// ∂output/∂self after the last `backward()` on this tape (0 before).
    public var grad: Double {
        guard let t = tape.trace, id < t.gradients.count else { return 0 }
        return t.gradients[id]
    }

    /// Gives the value a name, shown on its node (`.named("L")`).
    @discardableResult
    public func named(_ name: String) -> Value {
        tape.name(id, name)
        return self
    }

    /// Runs the backward pass from this value, seeded with 1, and returns the trace.
    @discardableResult
    public func backward(granularity: Granularity = .node) -> Trace {
        let t = Trace(graph: tape.graph, output: id, granularity: granularity)
        tape.setTrace(t)
        return t
    }

    public var description: String {
        "Value(data=\(NumberFormat.exact(data)), grad=\(NumberFormat.exact(grad)))"
    }

    func lift(_ x: Double) -> Value { tape.constant(x) }

    // MARK: operators (each is tagged with the maths it implements)

    /// a + b
    public static func + (a: Value, b: Value) -> Value { a.tape.record(.add, a, b) }
    public static func + (a: Value, b: Double) -> Value { a + a.lift(b) }
    public static func + (a: Double, b: Value) -> Value { b.lift(a) + b }
    /// a − b
    public static func - (a: Value, b: Value) -> Value { a.tape.record(.sub, a, b) }
    public static func - (a: Value, b: Double) -> Value { a - a.lift(b) }
    public static func - (a: Double, b: Value) -> Value { b.lift(a) - b }
    /// a · b
    public static func * (a: Value, b: Value) -> Value { a.tape.record(.mul, a, b) }
    public static func * (a: Value, b: Double) -> Value { a * a.lift(b) }
    public static func * (a: Double, b: Value) -> Value { b.lift(a) * b }
    /// a / b
    public static func / (a: Value, b: Value) -> Value { a.tape.record(.div, a, b) }
    public static func / (a: Value, b: Double) -> Value { a / a.lift(b) }
    public static func / (a: Double, b: Value) -> Value { b.lift(a) / b }
    /// −a
    public static prefix func - (a: Value) -> Value { a.tape.record(.neg, a) }

    public static func += (a: inout Value, b: Value) { a = a + b }
    public static func += (a: inout Value, b: Double) { a = a + b }
    public static func -= (a: inout Value, b: Value) { a = a - b }
    public static func -= (a: inout Value, b: Double) { a = a - b }
    public static func *= (a: inout Value, b: Value) { a = a * b }
    public static func *= (a: inout Value, b: Double) { a = a * b }
    public static func /= (a: inout Value, b: Value) { a = a / b }
    public static func /= (a: inout Value, b: Double) { a = a / b }

    /// a^c for a constant exponent (micrograd's `a**c`).
    public func pow(_ c: Double) -> Value { tape.record(.powConst(c), self) }
    /// a^b for a variable exponent.
    public func pow(_ b: Value) -> Value { tape.record(.pow, self, b) }
    /// e^a
    public func exp() -> Value { tape.record(.exp, self) }
    /// ln a
    public func log() -> Value { tape.record(.log, self) }
    public func sin() -> Value { tape.record(.sin, self) }
    public func cos() -> Value { tape.record(.cos, self) }
    public func tan() -> Value { tape.record(.tan, self) }
    public func tanh() -> Value { tape.record(.tanh, self) }
    /// 1 / (1 + e^−a)
    public func sigmoid() -> Value { tape.record(.sigmoid, self) }
    /// max(a, 0)
    public func relu() -> Value { tape.record(.relu, self) }
    public func sqrt() -> Value { tape.record(.sqrt, self) }
    public func abs() -> Value { tape.record(.abs, self) }
}

infix operator ** : PowerPrecedence
precedencegroup PowerPrecedence {
    higherThan: MultiplicationPrecedence
    associativity: right
}

extension Value {
    /// a ** c, as in micrograd.
    public static func ** (a: Value, c: Double) -> Value { a.pow(c) }
    /// a ** b with a variable exponent.
    public static func ** (a: Value, b: Value) -> Value { a.pow(b) }
}
