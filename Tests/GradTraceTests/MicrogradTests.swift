import Testing
import GradTrace

// micrograd's published numbers (test/test_engine.py, confirmed there against PyTorch),
// replayed through the Value API with the same operator sequence.

private func close(_ a: Double, _ b: Double, rel: Double = 1e-9) -> Bool {
    abs(a - b) <= rel * max(abs(a), abs(b)) || abs(a - b) <= 1e-12
}

@Suite("micrograd's tests through the Value API")
struct MicrogradTests {
    @Test("test_sanity_check")
    func sanityCheck() {
        let tape = Tape()
        let x = tape.input("x", -4.0)
        let z = 2 * x + 2 + x
        let q = z.relu() + z * x
        let h = (z * z).relu()
        let y = h + q + q * x
        y.backward()
        #expect(close(y.data, -20), "y = \(y.data)")
        #expect(close(x.grad, 46), "x.grad = \(x.grad)")
    }

    @Test("test_more_ops")
    func moreOps() {
        let tape = Tape()
        let a = tape.input("a", -4.0)
        let b = tape.input("b", 2.0)
        var c = a + b
        var d = a * b + b ** 3
        c += c + 1
        c += 1 + c + (-a)
        d += d * 2 + (b + a).relu()
        d += 3 * d + (b - a).relu()
        let e = c - d
        let f = e ** 2
        var g = f / 2.0
        g += 10.0 / f
        g.backward()
        #expect(close(g.data, 24.70408163265306), "g = \(g.data)")
        #expect(close(a.grad, 138.83381924198252), "a.grad = \(a.grad)")
        #expect(close(b.grad, 645.5772594752186), "b.grad = \(b.grad)")
    }

    /// The neuron of the micrograd lecture: o = tanh(x1·w1 + x2·w2 + b), with b chosen so o = 1/√2.
    @Test("the lecture neuron, with tanh as one op and spelled out through exp")
    func lectureNeuron() {
        for spelledOut in [false, true] {
            let tape = Tape()
            let x1 = tape.input("x1", 2), x2 = tape.input("x2", 0)
            let w1 = tape.input("w1", -3), w2 = tape.input("w2", 1)
            let b = tape.input("b", 6.8813735870195432)
            let n = (x1 * w1 + x2 * w2 + b).named("n")
            let o: Value
            if spelledOut {
                let e = (2 * n).exp()
                o = (e - 1) / (e + 1)
            } else {
                o = n.tanh()
            }
            o.named("o").backward()
            let label = spelledOut ? "exp form" : "tanh op"
            #expect(close(n.data, 0.8813735870195432), "\(label): n = \(n.data)")
            #expect(close(o.data, 0.7071067811865476), "\(label): o = \(o.data)")
            #expect(close(n.grad, 0.5), "\(label): n.grad = \(n.grad)")
            #expect(close(x1.grad, -1.5), "\(label): x1.grad = \(x1.grad)")
            #expect(close(w1.grad, 1.0), "\(label): w1.grad = \(w1.grad)")
            #expect(close(x2.grad, 0.5), "\(label): x2.grad = \(x2.grad)")
            #expect(w2.grad == 0, "\(label): w2.grad = \(w2.grad)")
            #expect(close(b.grad, 0.5), "\(label): b.grad = \(b.grad)")
        }
    }

    @Test("the lecture's first graph: L = (a·b + c)·f")
    func lectureChain() {
        let tape = Tape()
        let a = tape.input("a", 2), b = tape.input("b", -3), c = tape.input("c", 10), f = tape.input("f", -2)
        let e = a * b
        let d = e + c
        let L = d * f
        L.backward()
        #expect(L.data == -8)
        #expect(a.grad == 6 && b.grad == -4 && c.grad == -2 && f.grad == 4)
        #expect(d.grad == -2 && e.grad == -2 && L.grad == 1)
    }

    @Test("grad is 0 before backward, and a second backward from another node replaces the first")
    func gradLifecycle() {
        let tape = Tape()
        let x = tape.input("x", 3)
        let y = x * x
        #expect(x.grad == 0)
        y.backward()
        #expect(x.grad == 6)
        let z = x * 5
        z.backward()
        #expect(x.grad == 5)
        #expect(y.grad == 0, "y is not an ancestor of z")
        #expect(tape.trace?.output == z.id)
        #expect(z.description == "Value(data=15, grad=1)")
    }

    @Test("every operator records the op it names")
    func operatorsRecordOps() {
        let tape = Tape()
        let a = tape.input("a", 1.5), b = tape.input("b", 0.5)
        let cases: [(Value, Op)] = [
            (a + b, .add), (a - b, .sub), (a * b, .mul), (a / b, .div), (-a, .neg),
            (a ** 2, .powConst(2)), (a ** b, .pow), (a.pow(3), .powConst(3)), (a.pow(b), .pow),
            (a.exp(), .exp), (a.log(), .log), (a.sin(), .sin), (a.cos(), .cos), (a.tan(), .tan),
            (a.tanh(), .tanh), (a.sigmoid(), .sigmoid), (a.relu(), .relu), (a.sqrt(), .sqrt), (a.abs(), .abs),
        ]
        for (v, op) in cases {
            #expect(tape.graph[v.id].op == op, "expected \(op), recorded \(tape.graph[v.id].op)")
            #expect(v.data == op.apply(1.5, 0.5))
        }
        // Mixed Double/Value operators lift the Double as a constant on the correct side.
        #expect((2 - a).data == 0.5 && (a - 2).data == -0.5)
        #expect((3 / a).data == 2 && (a / 3).data == 0.5)
        let c = 2 - a
        #expect(tape.graph[tape.graph[c.id].a].op == .constant)
        #expect(tape.graph[c.id].b == a.id)
        // ** binds tighter than * and is right-associative.
        let t = Tape()
        let x = t.input("x", 2), y = t.input("y", 3)
        #expect((3 * x ** 2).data == 12)
        #expect((x ** y ** 2).data == 512)
    }
}
