import Foundation
@testable import GradTrace
import Testing

/// Issue 22: overflow-safe shapes, the memory budget, literal limits, the check's rounding noise, excerpts.
struct RobustnessTests {
    func parse(_ s: String, budget: Int = TensorGraph.defaultMemoryBudget) throws -> Program {
        try Program.parse(bytes: Array(s.utf8), values: [:], memoryBudget: budget)
    }

    @Test func elementCountsNeverTrap() {
        #expect(Tensor.elementCount([2, 3]) == 6)
        #expect(Tensor.elementCount([]) == 1)
        #expect(Tensor.elementCount([3, 0, 5]) == 0)
        #expect(Tensor.elementCount([65536, 65536, 65536, 65536]) == nil)
        #expect(Tensor.elementCount([Int.max, 2]) == nil)
        #expect(Tensor.saturatingCount([Int.max, Int.max]) == Int.max)
        #expect(Tensor.elementCountText([65536, 65536, 65536, 65536]) == "18446744073709551616")
        #expect(Tensor.elementCountText([1_000_000_007, 1_000_000_009, 3]) == "3000000048000000189")
        #expect(Tensor.elementCountText([Int.max, Int.max]) == "85070591730234615847396907784232501249")
        #expect(Tensor.elementCountText([12, 5]) == "60")
    }

    @Test func reshapeOverflowIsLocated() throws {
        let e = #expect(throws: Diagnostic.self) {
            try parse("x = [1, 2]\ny = reshape(x, 65536, 65536, 65536, 65536)\nL = sum(y)")
        }
        #expect(e?.line == 2 && e?.column == 5)
        #expect(e?.message == "cannot reshape [2] (2 elements) to [65536, 65536, 65536, 65536] (18446744073709551616 elements)")
    }

    @Test func theBudgetCountsValuesGradientsContributionsAndMaps() throws {
        // 512×512 doubles = 2 MiB. zeros: value + gradient = 4 MiB. b = a + 1: value, gradient, a's
        // contribution, the constant's (1 element) and its index map: 8 MiB + 8 bytes + 16 bytes.
        let source = "a = zeros(512, 512)\nb = a + 1\nc = b * 2\nL = sum(c)"
        let p = try parse(source, budget: 64 << 20)
        let bytes = try #require(p.tensor).graph.estimatedBytes
        #expect(bytes > 20 << 20 && bytes < 30 << 20, "\(bytes)")
        let e = #expect(throws: Diagnostic.self) { try parse(source, budget: 10 << 20) }
        #expect(e?.line == 2, "\(String(describing: e))")
        #expect(e?.message.contains("the memory budget is 10 MiB") == true, "\(String(describing: e))")
        // A literal counts too: refused at its own statement even before any operation.
        let big = "x = [" + Array(repeating: "1", count: 4096).joined(separator: ", ") + "]\nL = sum(x)"
        let g = #expect(throws: Diagnostic.self) { try parse(big, budget: 40_000) }
        #expect(g?.line == 1, "\(String(describing: g))")
    }

    @Test func literalsObeyTheElementLimit() throws {
        #expect(throws: Never.self) { try Tensor.literal("[[1, 2], [3, 4]]", maxElements: 4) }
        let flat = #expect(throws: Diagnostic.self) { try Tensor.literal("[1, 2, 3, 4, 5]", maxElements: 4) }
        #expect(flat?.column == 14 && flat?.message == "this literal holds more than 4 elements, the limit of one tensor")
        let nested = #expect(throws: Diagnostic.self) { try Tensor.literal("[[1, 2], [3, 4], [5, 6]]", maxElements: 4) }
        #expect(nested?.column == 18, "\(String(describing: nested))")
        let deep = #expect(throws: Diagnostic.self) { try Tensor.literal("[[[1, 2], [3, 4]], [[5, 6], [7, 8]], [[9, 10], [11, 12]]]", maxElements: 8) }
        #expect(deep != nil)
    }

    @Test func noiseLevelIsZeroForSmoothFunctionsAndSeesRounding() {
        let smooth = (-3...3).map { k in let x = 0.5 + Double(k) * 1e-3; return x * x * x }
        #expect(TensorCheck.noiseLevel(smooth) < 1e-15)
        var noisy = (-3...3).map { Double($0) * 2.0 }
        noisy[3] += 1e-3
        #expect(TensorCheck.noiseLevel(noisy) > 5e-4)
    }

    @Test func aWrongGradientStillFailsWhenRoundingIsLarge() throws {
        let p = try #require(try parse("A = [0.3, 0.7, -0.2]\nB = A + 1e7\nL = sum(B * B) - 3 * 1e7 * 1e7").tensor)
        let right = TensorCheck(program: p)
        #expect(right.passed && right.rows[0].roundingLimited == 3 && !right.rows[0].inconclusive)
        var grads = TensorTrace.gradients(graph: p.graph, output: p.output)
        let a = p.graph.inputIDs[0]
        grads[a].data[1] *= 1.01
        let wrong = TensorCheck(program: p, gradients: grads)
        #expect(!wrong.passed)
    }

    @Test func longSourceLinesAreQuotedAroundTheColumn() {
        let line = "SECRET = 1;" + String(repeating: " ", count: 5000) + "L = )"
        let d = Diagnostic(file: "f", line: 1, column: 5016, message: "m", sourceLine: line)
        let lines = d.description.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(!d.description.contains("SECRET"))
        #expect(lines[1].unicodeScalars.count <= Diagnostic.excerptWidth + 2)
        let caret = lines[2].unicodeScalars.count - 1
        #expect(Array(lines[1].unicodeScalars)[caret] == ")", "\(lines[1]) / \(lines[2])")
        let short = Diagnostic(file: "f", line: 1, column: 3, message: "m", sourceLine: "x + ")
        #expect(short.description == "f:1:3: error: m\nx + \n  ^")
    }
}
