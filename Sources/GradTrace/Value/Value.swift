/// Records a graph from Swift code; the home of the ``Value``s built on it.
///
/// A tape is an ordinary object you create and pass around: there is no global
/// "current graph". You rarely need one by hand: `Value(2, "x")` starts a tape of its own, and
/// when values of two tapes meet in an operation, the second tape's nodes move onto the first
/// (values made on either keep working).
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
    public internal(set) var graph = Graph()
    /// The trace of the last ``Value/backward(granularity:)`` call.
    public internal(set) var trace: Trace?
    /// Set once this tape's nodes have moved onto another tape: where they went, and the id shift.
    private(set) var movedTo: (tape: Tape, shift: NodeID)?

    /// An empty tape.
    public init() {}

    /// Moves every node of `other` onto this tape; `other` forwards to it from now on.
    func absorb(_ other: Tape) {
        precondition(other !== self && other.movedTo == nil)
        let shift = graph.append(contentsOf: other.graph)
        other.graph = Graph()
        other.trace = nil
        other.movedTo = (self, shift)
    }

    func setLeafValue(_ value: Double, of id: NodeID) { graph.setLeafValue(value, of: id) }

    /// The tape that holds this tape's nodes now: itself, unless they moved onto another tape.
    var current: Tape {
        var t = self
        while let m = t.movedTo { t = m.tape }
        return t
    }

    /// A named input (a leaf whose gradient you want).
    public func input(_ name: String, _ value: Double) -> Value {
        let t = current
        return Value(tape: t, id: t.graph.addInput(name, value))
    }

    /// A constant leaf.
    public func constant(_ value: Double) -> Value {
        let t = current
        return Value(tape: t, id: t.graph.addConstant(value))
    }

    func record(_ op: Op, _ a: Value, _ b: Value? = nil) -> Value {
        var home = a.tape
        if let b, b.tape !== home {
            // The smaller tape moves onto the larger one (fewer nodes copied).
            let other = b.tape
            if other.graph.count > home.graph.count {
                other.absorb(home)
                home = other
            } else {
                home.absorb(other)
            }
        }
        return Value(tape: home, id: home.graph.add(op, a.id, b?.id ?? -1))
    }

    func name(_ id: NodeID, _ name: String) { graph.setName(name, for: id) }

    func setTrace(_ t: Trace) { trace = t }
}

/// A scalar recorded on a ``Tape``, with micrograd's operators and functions.
///
/// Arithmetic records a new node; ``backward(granularity:)`` runs the backward
/// pass and makes every ``grad`` readable.
public struct Value: CustomStringConvertible {
    private let home: Tape
    private let homeID: NodeID

    init(tape: Tape, id: NodeID) {
        home = tape
        homeID = id
    }

    /// A leaf on a tape of its own, as micrograd's `Value(2.0, label="x")`: named, it is an input
    /// (its gradient is reported by name); unnamed, a constant. Values of different tapes combine freely.
    ///
    /// ```swift
    /// let x = Value(2, "x"), w = Value(3, "w")
    /// let L = (w * x) ** 2
    /// L.backward()
    /// w.grad   // 24
    /// ```
    public init(_ data: Double, _ name: String? = nil, tape: Tape = Tape()) {
        self = name.map { tape.input($0, data) } ?? tape.constant(data)
    }

    /// The tape that holds this value now (values move when tapes meet).
    public var tape: Tape { home.current }

    /// The node id in ``tape``'s graph.
    public var id: NodeID {
        var t = home, i = homeID
        while let m = t.movedTo { i += m.shift; t = m.tape }
        return i
    }

    /// The forward value (micrograd's `data`). Setting it is for leaves (parameters): `p.data -= lr * p.grad`;
    /// values computed from the leaf before keep theirs, so build the forward pass again.
    public var data: Double {
        get { tape.graph[id].value }
        nonmutating set { tape.setLeafValue(newValue, of: id) }
    }

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
