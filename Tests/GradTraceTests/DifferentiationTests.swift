// _Differentiation ships with the swift.org toolchains (Linux included) but not with Xcode's:
// where it is missing, this file compiles to nothing.
#if canImport(_Differentiation)
import _Differentiation
import Foundation
import Testing
import GradTrace

// Swift's own reverse-mode AD (`_Differentiation`) as an independent oracle for the Value API.
// The elementary functions get explicit derivative registrations so the oracle does not depend
// on which C library functions the toolchain happens to register.

@differentiable(reverse)
private func dSin(_ x: Double) -> Double { Foundation.sin(x) }

@derivative(of: dSin)
private func dSinVJP(_ x: Double) -> (value: Double, pullback: (Double) -> Double) {
    let c = Foundation.cos(x)
    return (Foundation.sin(x), { v in v * c })
}

@differentiable(reverse)
private func dExp(_ x: Double) -> Double { Foundation.exp(x) }

@derivative(of: dExp)
private func dExpVJP(_ x: Double) -> (value: Double, pullback: (Double) -> Double) {
    let y = Foundation.exp(x)
    return (y, { v in v * y })
}

@differentiable(reverse)
private func dLog(_ x: Double) -> Double { Foundation.log(x) }

@derivative(of: dLog)
private func dLogVJP(_ x: Double) -> (value: Double, pullback: (Double) -> Double) {
    (Foundation.log(x), { v in v / x })
}

/// tanh written through exp, so its derivative comes from the chain rule, not from a formula.
@differentiable(reverse)
private func dTanh(_ x: Double) -> Double {
    let e = dExp(2 * x)
    return (e - 1) / (e + 1)
}

@differentiable(reverse)
private func dRelu(_ x: Double) -> Double { x > 0 ? x : 0 }

// MARK: the functions under test

/// The loss of "The Chain Rule": ((w·x)² − t)².
@differentiable(reverse)
private func lossFn(_ w: Double, _ x: Double, _ t: Double) -> Double {
    let u = w * x
    let o = u * u
    return (o - t) * (o - t)
}

/// The five parameters of the lecture neuron (gradient(at:of:) takes at most three arguments).
private struct NeuronParameters: Differentiable {
    var x1, w1, x2, w2, b: Double
}

/// The lecture neuron tanh(x1·w1 + x2·w2 + b).
@differentiable(reverse)
private func neuronFn(_ p: NeuronParameters) -> Double {
    dTanh(p.x1 * p.w1 + p.x2 * p.w2 + p.b)
}

/// f(t) = t·t·sin(t).
@differentiable(reverse)
private func wiggleFn(_ t: Double) -> Double { t * t * dSin(t) }

/// A mix of exp, log, division and relu: log(1 + exp(a·b)) / (1 + relu(a − b)).
@differentiable(reverse)
private func mixedFn(_ a: Double, _ b: Double) -> Double {
    dLog(1 + dExp(a * b)) / (1 + dRelu(a - b))
}

private func close(_ a: Double, _ b: Double, rel: Double = 1e-9) -> Bool {
    abs(a - b) <= rel * max(abs(a), abs(b)) || abs(a - b) <= 1e-12
}

@Suite("Value API against Swift's automatic differentiation")
struct DifferentiationTests {
    @Test("loss ((w·x)² − t)²", arguments: [(3.0, 2.0, 10.0), (-1.5, 0.25, 2.0), (0.7, -3.1, -4.0)])
    func loss(w0: Double, x0: Double, t0: Double) {
        let (gw, gx, gt) = gradient(at: w0, x0, t0, of: lossFn)
        let tape = Tape()
        let w = tape.input("w", w0), x = tape.input("x", x0), t = tape.input("t", t0)
        let u = w * x
        let L = (u ** 2 - t) ** 2
        L.backward()
        #expect(close(L.data, lossFn(w0, x0, t0)))
        #expect(close(w.grad, gw), "dL/dw: Value \(w.grad), AD \(gw)")
        #expect(close(x.grad, gx), "dL/dx: Value \(x.grad), AD \(gx)")
        #expect(close(t.grad, gt), "dL/dt: Value \(t.grad), AD \(gt)")
    }

    @Test("the loss example's published numbers agree in both")
    func lossPublished() {
        let (gw, gx, gt) = gradient(at: 3, 2, 10, of: lossFn)
        #expect(gw == 1248 && gx == 1872 && gt == -52)
    }

    @Test("neuron tanh(x1·w1 + x2·w2 + b)",
          arguments: [[2.0, -3.0, 0.0, 1.0, 6.8813735870195432], [0.5, 0.3, -1.2, 0.8, -0.1], [-1.0, 2.0, 3.0, -0.5, 0.25]])
    func neuron(_ p: [Double]) {
        let params = NeuronParameters(x1: p[0], w1: p[1], x2: p[2], w2: p[3], b: p[4])
        let g = gradient(at: params, of: neuronFn)
        let ad = [g.x1, g.w1, g.x2, g.w2, g.b]
        let tape = Tape()
        let names = ["x1", "w1", "x2", "w2", "b"]
        let v = zip(names, p).map { tape.input($0, $1) }
        let o = (v[0] * v[1] + v[2] * v[3] + v[4]).tanh()
        o.backward()
        #expect(close(o.data, neuronFn(params)))
        for i in 0..<5 {
            #expect(close(v[i].grad, ad[i]), "do/d\(names[i]): Value \(v[i].grad), AD \(ad[i])")
        }
    }

    @Test("f(t) = t·t·sin(t)", arguments: [0.7, -2.3, 5.0, 0.01])
    func wiggle(_ t0: Double) {
        let gt = gradient(at: t0, of: wiggleFn)
        let tape = Tape()
        let t = tape.input("t", t0)
        let f = t * t * t.sin()
        f.backward()
        #expect(close(f.data, wiggleFn(t0)))
        #expect(close(t.grad, gt), "df/dt: Value \(t.grad), AD \(gt)")
    }

    @Test("log(1 + exp(a·b)) / (1 + relu(a − b))", arguments: [(0.3, -0.7), (2.0, 0.5), (-1.0, 1.5)])
    func mixed(a0: Double, b0: Double) {
        let (ga, gb) = gradient(at: a0, b0, of: mixedFn)
        let tape = Tape()
        let a = tape.input("a", a0), b = tape.input("b", b0)
        let y = (1 + (a * b).exp()).log() / (1 + (a - b).relu())
        y.backward()
        #expect(close(y.data, mixedFn(a0, b0)))
        #expect(close(a.grad, ga), "dy/da: Value \(a.grad), AD \(ga)")
        #expect(close(b.grad, gb), "dy/db: Value \(b.grad), AD \(gb)")
    }
}
#endif
