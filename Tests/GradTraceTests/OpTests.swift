import Foundation
import Testing
@testable import GradTrace

/// A tiny deterministic generator (SplitMix64), so every run checks the same points.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        let u = Double(next() >> 11) * 0x1.0p-53
        return lo + (hi - lo) * u
    }
    /// Uniform magnitude in [lo, hi) with a random sign: stays away from 0.
    mutating func awayFromZero(_ lo: Double, _ hi: Double) -> Double {
        let m = uniform(lo, hi)
        return next() & 1 == 0 ? m : -m
    }
}

/// One op with the region its inputs are drawn from (away from kinks, poles and domain edges).
private struct OpCase: Sendable, CustomStringConvertible {
    var op: Op
    var drawA: @Sendable (inout SplitMix64) -> Double
    var drawB: (@Sendable (inout SplitMix64) -> Double)?
    var description: String { "\(op)" }
}

private let opCases: [OpCase] = [
    OpCase(op: .add, drawA: { $0.uniform(-10, 10) }, drawB: { $0.uniform(-10, 10) }),
    OpCase(op: .sub, drawA: { $0.uniform(-10, 10) }, drawB: { $0.uniform(-10, 10) }),
    OpCase(op: .mul, drawA: { $0.uniform(-10, 10) }, drawB: { $0.uniform(-10, 10) }),
    OpCase(op: .div, drawA: { $0.uniform(-10, 10) }, drawB: { $0.awayFromZero(0.5, 10) }),
    OpCase(op: .neg, drawA: { $0.uniform(-10, 10) }, drawB: nil),
    // Integer exponents (including the exact shortcuts 0, 1, 2, 3, -1) work for any sign of a.
    OpCase(op: .powConst(0), drawA: { $0.awayFromZero(0.2, 5) }, drawB: nil),
    OpCase(op: .powConst(1), drawA: { $0.awayFromZero(0.2, 5) }, drawB: nil),
    OpCase(op: .powConst(2), drawA: { $0.awayFromZero(0.2, 5) }, drawB: nil),
    OpCase(op: .powConst(3), drawA: { $0.awayFromZero(0.2, 5) }, drawB: nil),
    OpCase(op: .powConst(4), drawA: { $0.awayFromZero(0.2, 5) }, drawB: nil),
    OpCase(op: .powConst(-1), drawA: { $0.awayFromZero(0.2, 5) }, drawB: nil),
    OpCase(op: .powConst(-2), drawA: { $0.awayFromZero(0.2, 5) }, drawB: nil),
    // Fractional exponents need a > 0.
    OpCase(op: .powConst(0.5), drawA: { $0.uniform(0.2, 20) }, drawB: nil),
    OpCase(op: .powConst(-0.5), drawA: { $0.uniform(0.2, 20) }, drawB: nil),
    OpCase(op: .powConst(1.7), drawA: { $0.uniform(0.2, 20) }, drawB: nil),
    OpCase(op: .powConst(-2.5), drawA: { $0.uniform(0.2, 5) }, drawB: nil),
    OpCase(op: .pow, drawA: { $0.uniform(0.2, 5) }, drawB: { $0.uniform(-3, 3) }),
    OpCase(op: .exp, drawA: { $0.uniform(-5, 5) }, drawB: nil),
    OpCase(op: .log, drawA: { $0.uniform(0.1, 10) }, drawB: nil),
    OpCase(op: .sin, drawA: { $0.uniform(-10, 10) }, drawB: nil),
    OpCase(op: .cos, drawA: { $0.uniform(-10, 10) }, drawB: nil),
    // tan: stay inside (−π/2, π/2), away from the poles.
    OpCase(op: .tan, drawA: { $0.uniform(-1.4, 1.4) }, drawB: nil),
    OpCase(op: .tanh, drawA: { $0.uniform(-5, 5) }, drawB: nil),
    OpCase(op: .sigmoid, drawA: { $0.uniform(-10, 10) }, drawB: nil),
    // relu and abs: away from the kink at 0.
    OpCase(op: .relu, drawA: { $0.awayFromZero(0.1, 10) }, drawB: nil),
    OpCase(op: .sqrt, drawA: { $0.uniform(0.1, 100) }, drawB: nil),
    OpCase(op: .abs, drawA: { $0.awayFromZero(0.1, 10) }, drawB: nil),
]

/// Central difference of `f` at `x` with a step relative to |x|.
private func centralDifference(_ x: Double, _ f: (Double) -> Double) -> Double {
    let h = 1e-5 * max(1, abs(x))
    return (f(x + h) - f(x - h)) / (2 * h)
}

/// |analytic − numeric| ≤ tol · max(1, |analytic|, |numeric|).
private func agrees(_ analytic: Double, _ numeric: Double, tol: Double = 1e-6) -> Bool {
    analytic.isFinite && numeric.isFinite
        && abs(analytic - numeric) <= tol * max(1, abs(analytic), abs(numeric))
}

@Suite("Op: local gradients against finite differences")
struct OpTests {
    static let pointsPerOp = 200

    @Test("every op kind is covered by the property test")
    func everyOpKindCovered() {
        let covered = Set(opCases.map(\.op.name))
        let all: [Op] = [.add, .sub, .mul, .div, .neg, .powConst(2), .pow, .exp, .log, .sin, .cos, .tan, .tanh,
                         .sigmoid, .relu, .sqrt, .abs]
        for op in all {
            #expect(covered.contains(op.name), "op \(op) has no property test")
        }
        // pow and powConst share the name "pow": make sure both are there.
        #expect(opCases.contains { $0.op == .pow })
        #expect(opCases.contains { if case .powConst = $0.op { return true } else { return false } })
    }

    @Test("localGradients ≈ central differences of apply", arguments: opCases)
    fileprivate func localGradientsMatchFiniteDifferences(_ c: OpCase) {
        // Seed from the op's position so each op sees its own reproducible points.
        let index = opCases.firstIndex { $0.op == c.op }!
        var rng = SplitMix64(seed: 0x6772_6164_0000 &+ UInt64(index))
        var failures: [String] = []
        for k in 0..<Self.pointsPerOp {
            let a = c.drawA(&rng)
            let b = c.drawB?(&rng) ?? 0
            let out = c.op.apply(a, b)
            let (da, db) = c.op.localGradients(a, b, output: out)
            let na = centralDifference(a) { c.op.apply($0, b) }
            if !agrees(da, na) {
                failures.append("point \(k): a=\(a) b=\(b): ∂/∂a analytic \(da) vs numeric \(na)")
            }
            if c.op.arity == 2 {
                let nb = centralDifference(b) { c.op.apply(a, $0) }
                if !agrees(db, nb) {
                    failures.append("point \(k): a=\(a) b=\(b): ∂/∂b analytic \(db) vs numeric \(nb)")
                }
            } else {
                #expect(db == 0, "unary op \(c.op) reports a gradient for its missing second input at a=\(a)")
            }
        }
        #expect(failures.count == 0, "\(c.op): \(failures.count) mismatches, first: \(failures.prefix(3).joined(separator: "; "))")
    }

    @Test("apply matches the C library / textbook definitions")
    func applyValues() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<50 {
            let x = rng.uniform(0.1, 3), y = rng.uniform(-2, 2)
            #expect(Op.add.apply(x, y) == x + y)
            #expect(Op.sub.apply(x, y) == x - y)
            #expect(Op.mul.apply(x, y) == x * y)
            #expect(Op.div.apply(x, y) == x / y)
            #expect(Op.neg.apply(x) == -x)
            #expect(Op.exp.apply(y) == Foundation.exp(y))
            #expect(Op.log.apply(x) == Foundation.log(x))
            #expect(Op.sin.apply(y) == Foundation.sin(y))
            #expect(Op.cos.apply(y) == Foundation.cos(y))
            #expect(Op.tan.apply(y / 2) == Foundation.tan(y / 2))
            #expect(Op.tanh.apply(y) == Foundation.tanh(y))
            #expect(abs(Op.sigmoid.apply(y) - 1 / (1 + Foundation.exp(-y))) <= 1e-15)
            #expect(Op.relu.apply(y) == max(0, y))
            #expect(Op.sqrt.apply(x) == x.squareRoot())
            #expect(Op.abs.apply(y) == abs(y))
            #expect(abs(Op.pow.apply(x, y) - Foundation.pow(x, y)) <= 1e-14 * max(1, Foundation.pow(x, y)))
            #expect(abs(Op.powConst(1.7).apply(x) - Foundation.pow(x, 1.7)) <= 1e-14 * max(1, Foundation.pow(x, 1.7)))
        }
        // Exact small integer powers.
        #expect(Op.powConst(2).apply(6) == 36)
        #expect(Op.powConst(3).apply(-2) == -8)
        #expect(Op.powConst(0).apply(-7) == 1)
        #expect(Op.powConst(-1).apply(4) == 0.25)
        #expect(Op.pow.apply(2, 10) == 1024)
    }

    @Test("gradients at special points: kinks and limits")
    func specialPoints() {
        // relu/abs at their kink use the subgradient 0.
        #expect(Op.relu.localGradients(0, 0, output: 0).0 == 0)
        #expect(Op.abs.localGradients(0, 0, output: 0).0 == 0)
        #expect(Op.relu.localGradients(-3, 0, output: 0).0 == 0)
        #expect(Op.relu.localGradients(3, 0, output: 3).0 == 1)
        #expect(Op.abs.localGradients(-3, 0, output: 3).0 == -1)
        // d/db a^b at a = 0, b > 0 is taken as its limit 0, not 0·(−∞) = NaN.
        let (da, db) = Op.pow.localGradients(0, 2, output: 0)
        #expect(da == 0)
        #expect(db == 0)
        // a^0 is constant in a.
        #expect(Op.pow.localGradients(5, 0, output: 1).0 == 0)
        #expect(Op.powConst(0).localGradients(5, 0, output: 1).0 == 0)
        // Leaves have no local gradients.
        #expect(Op.input.localGradients(1, 2, output: 1) == (0, 0))
        #expect(Op.constant.localGradients(1, 2, output: 1) == (0, 0))
    }

    @Test("arity, leaves, kinks and names")
    func metadata() {
        #expect(Op.input.arity == 0 && Op.constant.arity == 0)
        #expect(Op.input.isLeaf && Op.constant.isLeaf && !Op.neg.isLeaf)
        for op: Op in [.add, .sub, .mul, .div, .pow] { #expect(op.arity == 2, "\(op)") }
        for op: Op in [.neg, .powConst(2), .exp, .log, .sin, .cos, .tan, .tanh, .sigmoid, .relu, .sqrt, .abs] {
            #expect(op.arity == 1, "\(op)")
        }
        #expect(Op.relu.hasKink && Op.abs.hasKink && !Op.tanh.hasKink && !Op.sqrt.hasKink)
        #expect(Op.namedFunctions.map(\.name) == ["exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "sqrt", "abs"])
        for (name, op) in Op.namedFunctions { #expect(op.name == name) }
    }
}
