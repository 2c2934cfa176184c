/// The graph that ``TensorValue``s record into, with the last backward pass.
///
/// ```swift
/// let tape = TensorTape()
/// let x = tape.input("X", Tensor(shape: [2, 3], data: [1, 2, 3, 0.5, -1, 2]))
/// let w = tape.input("W", Tensor(shape: [3, 2], data: [0.1, -0.2, 0.4, 0.3, -0.5, 0.2]))
/// let b = tape.input("b", Tensor(shape: [2], data: [0.1, -0.1]))
/// let y = tape.input("y", Tensor(shape: [2], data: [1, 0]))
/// let loss = (x.matmul(w) + b).tanh().crossEntropy(labels: y)
/// loss.backward()
/// b.grad.shape   // [2]: summed over the batch rows
/// ```
public final class TensorTape {
    public internal(set) var graph = TensorGraph()
    /// The last backward pass recorded by ``TensorValue/backward(granularity:)``.
    public internal(set) var trace: TensorTrace?

    public init() {}

    /// A named input leaf.
    public func input(_ name: String, _ value: Tensor) -> TensorValue {
        TensorValue(tape: self, id: graph.addInput(name, value))
    }

    /// A constant leaf.
    public func constant(_ value: Tensor) -> TensorValue {
        TensorValue(tape: self, id: graph.addConstant(value))
    }

    func record(_ op: TensorOp, _ a: TensorValue, _ b: TensorValue? = nil) -> TensorValue {
        precondition(a.tape === self && (b == nil || b!.tape === self), "tensor values of one computation share one TensorTape")
        do {
            return TensorValue(tape: self, id: try graph.add(op, a.id, b?.id ?? -1))
        } catch {
            preconditionFailure("\(op.name): \(error.message)")
        }
    }
}

/// A tensor-valued counterpart of ``Value``: operators and methods record into a ``TensorTape``,
/// `backward()` runs the pass, `.grad` reads a gradient. Shape mistakes stop the program with a
/// message naming both shapes (as an array index out of range does); the program language reports them as located errors.
public struct TensorValue {
    public let tape: TensorTape
    public let id: NodeID

    /// The forward value.
    public var data: Tensor { tape.graph[id].value }
    public var shape: [Int] { data.shape }

    /// ∂output/∂self after the last `backward()` (zeros before).
    public var grad: Tensor {
        guard let t = tape.trace, id < t.gradients.count else { return Tensor.zeros(shape) }
        return t.gradients[id]
    }

    /// Names the node (as `h = …` does in a program).
    @discardableResult
    public func named(_ name: String) -> TensorValue {
        tape.graph.setName(name, for: id)
        return self
    }

    /// Runs and records the backward pass from this value, which must hold one element.
    @discardableResult
    public func backward(granularity: Granularity = .node) -> TensorTrace {
        precondition(data.count == 1, "backward() starts from a single number; this value has shape \(data.shapeText): reduce it first, as in .sum()")
        let t = TensorTrace(graph: tape.graph, output: id, granularity: granularity)
        tape.trace = t
        return t
    }

    func constant(_ x: Double) -> TensorValue { tape.constant(Tensor(x)) }

    public static func + (a: TensorValue, b: TensorValue) -> TensorValue { a.tape.record(.elementwise(.add), a, b) }
    public static func - (a: TensorValue, b: TensorValue) -> TensorValue { a.tape.record(.elementwise(.sub), a, b) }
    public static func * (a: TensorValue, b: TensorValue) -> TensorValue { a.tape.record(.elementwise(.mul), a, b) }
    public static func / (a: TensorValue, b: TensorValue) -> TensorValue { a.tape.record(.elementwise(.div), a, b) }
    public static func + (a: TensorValue, b: Double) -> TensorValue { a + a.constant(b) }
    public static func - (a: TensorValue, b: Double) -> TensorValue { a - a.constant(b) }
    public static func * (a: TensorValue, b: Double) -> TensorValue { a * a.constant(b) }
    public static func * (a: Double, b: TensorValue) -> TensorValue { b.constant(a) * b }
    public static func / (a: TensorValue, b: Double) -> TensorValue { a / a.constant(b) }
    public static prefix func - (a: TensorValue) -> TensorValue { a.tape.record(.elementwise(.neg), a) }

    /// The matrix product (`@`).
    public func matmul(_ b: TensorValue) -> TensorValue { tape.record(.matmul, self, b) }
    /// Element-wise power with a constant exponent.
    public func pow(_ c: Double) -> TensorValue { tape.record(.elementwise(.powConst(c)), self) }
    public func tanh() -> TensorValue { tape.record(.elementwise(.tanh), self) }
    public func relu() -> TensorValue { tape.record(.elementwise(.relu), self) }
    public func sigmoid() -> TensorValue { tape.record(.elementwise(.sigmoid), self) }
    public func exp() -> TensorValue { tape.record(.elementwise(.exp), self) }
    public func log() -> TensorValue { tape.record(.elementwise(.log), self) }

    func resolved(_ axis: Int) -> Int {
        let r = shape.count
        precondition(axis >= -r && axis < r, "axis \(axis) is out of range for shape \(data.shapeText)")
        return axis < 0 ? axis + r : axis
    }

    /// Σ over every element (nil) or over one axis, kept with size 1.
    public func sum(axis: Int? = nil) -> TensorValue { tape.record(.sum(axis: axis.map(resolved)), self) }
    public func mean(axis: Int? = nil) -> TensorValue { tape.record(.mean(axis: axis.map(resolved)), self) }
    public func max(axis: Int? = nil) -> TensorValue { tape.record(.max(axis: axis.map(resolved)), self) }
    public func logsumexp(axis: Int = -1) -> TensorValue { tape.record(.logsumexp(axis: resolved(axis)), self) }
    public func softmax(axis: Int = -1) -> TensorValue { tape.record(.softmax(axis: resolved(axis)), self) }
    public func logSoftmax(axis: Int = -1) -> TensorValue { tape.record(.logSoftmax(axis: resolved(axis)), self) }
    public func transposed() -> TensorValue { tape.record(.transpose, self) }
    public func reshaped(_ shape: [Int]) -> TensorValue { tape.record(.reshape(shape), self) }

    /// `x[i]`, `x[i, j]` (negative indices count from the end).
    public subscript(_ index: Int...) -> TensorValue {
        precondition(index.count <= shape.count, "\(index.count) indices for shape \(data.shapeText)")
        let resolved = index.enumerated().map { k, i -> Int in
            let r = i < 0 ? i + shape[k] : i
            precondition(r >= 0 && r < shape[k], "index \(i) is out of range for axis \(k) of shape \(data.shapeText)")
            return r
        }
        return tape.record(.index(resolved), self)
    }

    /// `x[range(n), labels]`.
    public func pick(labels: TensorValue) -> TensorValue { tape.record(.pick, self, labels) }
    /// Mean over the rows of `−log_softmax(self, 1)` at the labels.
    public func crossEntropy(labels: TensorValue) -> TensorValue { tape.record(.crossEntropy, self, labels) }
}
