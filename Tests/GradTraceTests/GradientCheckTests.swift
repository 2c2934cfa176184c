import Foundation
import Testing
import GradTrace

private let samplesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("samples")

private func sampleFiles() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: samplesDirectory.path).filter { $0.hasSuffix(".grad") }.sorted()
}

private struct Text: TextOutputStream {
    var s = ""
    mutating func write(_ string: String) { s += string }
}

@Suite("GradientCheck: reverse mode against central differences")
struct GradientCheckTests {
    @Test("passes on every sample", arguments: try sampleFiles())
    func samplesPass(_ file: String) throws {
        let text = try String(contentsOf: samplesDirectory.appendingPathComponent(file), encoding: .utf8)
        let p = try Program.parse(text, file: file)
        let check = GradientCheck(graph: p.graph, output: p.output)
        #expect(check.rows.count == p.graph.inputIDs.count)
        #expect(check.rows.map(\.input) == p.graph.inputIDs)
        for r in check.rows {
            #expect(r.passed, "\(file): \(r.name): analytic \(r.analytic), numeric \(r.numeric), error \(r.error) > \(r.tolerance)")
            #expect(!r.nearKink, "\(file): \(r.name) excused by a kink")
            #expect(r.error <= r.tolerance)
        }
        #expect(check.passed)
        var out = Text()
        check.write(outputName: p.outputName, to: &out)
        #expect(out.s.hasSuffix("\(check.rows.count) of \(check.rows.count) gradients of \(p.outputName) agree with central finite differences.\n"))
    }

    @Test("relu at exactly its kink is excused, not failed")
    func reluAtKink() throws {
        let p = try Program.parse("x = 0; y = relu(x)")
        let check = GradientCheck(graph: p.graph, output: p.output)
        let row = try #require(check.rows.first)
        #expect(row.analytic == 0)
        #expect(abs(row.numeric - 0.5) < 1e-9)
        #expect(row.error > row.tolerance, "the difference quotient really disagrees here")
        #expect(row.nearKink)
        #expect(row.passed)
        #expect(check.passed)
        var out = Text()
        check.write(outputName: "y", to: &out)
        #expect(out.s.contains("near a kink"))
        #expect(out.s.contains("0 of 1 gradients of y agree with central finite differences; 1 excused near a relu/abs kink."))
        #expect(!out.s.contains("FAILED"))
    }

    @Test("abs within a step of its kink is excused; relu away from it is an ordinary pass")
    func otherKinks() throws {
        // At exactly 0 the central difference of abs is 0, like its subgradient; just beside 0 the
        // difference quotient is about x/h while the gradient is 1.
        let q = try Program.parse("x = 0.0000001; y = abs(x) * 3")
        let nearKink = GradientCheck(graph: q.graph, output: q.output)
        #expect(nearKink.rows[0].analytic == 3)
        #expect(nearKink.rows[0].error > nearKink.rows[0].tolerance)
        #expect(nearKink.rows[0].nearKink && nearKink.passed)
        let z = try Program.parse("x = 0; y = abs(x) * 3")
        let atZero = GradientCheck(graph: z.graph, output: z.output)
        #expect(atZero.passed && !atZero.rows[0].nearKink, "agrees outright, so nothing is excused")
        let p = try Program.parse("x = 2; y = relu(x) * relu(-x + 5)")
        let away = GradientCheck(graph: p.graph, output: p.output)
        #expect(away.passed && !away.rows[0].nearKink)
        #expect(abs(away.rows[0].numeric - 1) < 1e-6)
    }

    @Test("a gradient the difference quotient cannot follow fails the check")
    func failureIsReported() throws {
        // sin at 1e8: the step ∛ε·|x| ≈ 600 spans ~100 periods, so the quotient is noise.
        let p = try Program.parse("x = 100000000; y = sin(x)")
        let check = GradientCheck(graph: p.graph, output: p.output)
        #expect(!check.passed)
        #expect(check.rows[0].error > check.rows[0].tolerance)
        #expect(!check.rows[0].nearKink)
        var out = Text()
        check.write(outputName: "y", to: &out)
        #expect(out.s.contains("FAIL"))
        #expect(out.s.hasSuffix("0 of 1 gradients of y agree with central finite differences; 1 FAILED.\n"))
    }

    @Test("steep but smooth functions pass: the step is ∛ε·max(1, |x|), small enough for their curvature")
    func steepFunctions() throws {
        for src in ["x = 1; y = exp(40*x)", "x = 0.5; y = sin(30*x)", "x = 2; y = x^12", "x = 0.05; y = log(x) * tanh(20*x)"] {
            let p = try Program.parse(src)
            let check = GradientCheck(graph: p.graph, output: p.output)
            #expect(check.passed, "\(src): \(check.rows.map { "\($0.name): \($0.analytic) vs \($0.numeric), error \($0.error)" })")
            #expect(check.rows.allSatisfy { !$0.nearKink })
        }
        let p = try Program.parse("a = 0.25; b = -300")
        let rows = GradientCheck(graph: p.graph, output: p.output).rows
        let cbrtEps = Foundation.cbrt(Double.ulpOfOne)
        #expect(abs(rows[0].step - cbrtEps) <= 1e-3 * cbrtEps, "step at |x| < 1: \(rows[0].step)")
        #expect(abs(rows[1].step - 300 * cbrtEps) <= 1e-3 * 300 * cbrtEps, "step at x = -300: \(rows[1].step)")
    }

    @Test("a kink excuses only the inputs that move it, and only when the output depends on it")
    func unrelatedKinkExcusesNothing() throws {
        // The relu sits at its kink but is not an ancestor of y: a's failure stands.
        let off = try Program.parse("x = 0; r = relu(x); a = 100000000; y = sin(a)")
        let offCheck = GradientCheck(graph: off.graph, output: off.output)
        #expect(!offCheck.passed)
        #expect(offCheck.rows.first { $0.name == "a" }?.nearKink == false)
        // The relu is an ancestor of y but a does not move its operand: still a's failure.
        let on = try Program.parse("x = 0; a = 100000000; y = sin(a) + relu(x)")
        let onCheck = GradientCheck(graph: on.graph, output: on.output)
        #expect(!onCheck.passed)
        #expect(onCheck.rows.first { $0.name == "a" }?.nearKink == false)
        #expect(onCheck.rows.first { $0.name == "x" }?.nearKink == true, "x itself is at the kink")
    }

    @Test("rows list every input in creation order, with sane steps")
    func rows() throws {
        let p = try Program.parse("a = 1; b = -300; c = 0.5; y = a*b + c^2")
        let check = GradientCheck(graph: p.graph, output: p.output)
        #expect(check.rows.map(\.name) == ["a", "b", "c"])
        #expect(check.rows.map(\.value) == [1, -300, 0.5])
        #expect(check.rows.map(\.analytic) == [-300, 1, 1])
        for r in check.rows {
            #expect(r.step > 0 && r.step <= 1e-4 * max(1, abs(r.value)))
        }
        #expect(check.rows[1].step > check.rows[0].step, "the step scales with |x|")
        #expect(check.passed)
    }
}

struct GradientCheckDomainEdgeTests {
    /// sqrt(x − 1) at x = 1: the gradient is infinite and x − step is outside the domain, so the
    /// check reports "not checkable" instead of a failure; a genuinely wrong gradient still fails.
    @Test func domainEdgeIsNotAFailure() throws {
        let p = try Program.parse("x = 1\ny = sqrt(x - 1)\n")
        let c = GradientCheck(graph: p.graph, output: p.output)
        #expect(c.passed)
        #expect(c.rows.first?.atDomainEdge == true)
        var out = ""
        c.write(outputName: "y", to: &out)
        #expect(out.contains("not checkable"))
    }
}
