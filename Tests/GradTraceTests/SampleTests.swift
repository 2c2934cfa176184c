import Foundation
import Testing
import GradTrace

/// One `# expect:` line of a sample: `NAME = VALUE` or `dOUT/dIN = VALUE`.
private enum Expectation {
    case value(name: String, expected: Double)
    case gradient(output: String, input: String, expected: Double)
}

/// The samples folder: this file is Tests/GradTraceTests/SampleTests.swift, three levels below the package root.
private let samplesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("samples")

private func sampleFiles() throws -> [String] {
    let top = try FileManager.default.contentsOfDirectory(atPath: samplesDirectory.path).filter { $0.hasSuffix(".grad") }
    let tensors = try FileManager.default.contentsOfDirectory(atPath: samplesDirectory.appendingPathComponent("tensors").path)
        .filter { $0.hasSuffix(".grad") }.map { "tensors/" + $0 }
    return (top + tensors).sorted()
}

private func trimmed(_ s: Substring) -> String { s.trimmingCharacters(in: .whitespaces) }

/// Parses the `# expect:` lines; a line that does not parse is reported, not skipped.
private func expectations(in text: String, file: String) -> [Expectation] {
    var out: [Expectation] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        guard let r = line.range(of: "# expect:") else { continue }
        let body = line[r.upperBound...]
        guard let eq = body.firstIndex(of: "="), let v = Double(trimmed(body[body.index(after: eq)...])) else {
            Issue.record("\(file): cannot read expectation '\(line)'")
            continue
        }
        let lhs = trimmed(body[..<eq])
        if lhs.hasPrefix("d"), let slash = lhs.firstIndex(of: "/"), lhs[lhs.index(after: slash)...].hasPrefix("d") {
            let output = String(lhs[lhs.index(after: lhs.startIndex)..<slash])
            let input = String(lhs[lhs.index(slash, offsetBy: 2)...])
            out.append(.gradient(output: output, input: input, expected: v))
        } else {
            out.append(.value(name: lhs, expected: v))
        }
    }
    return out
}

private func close(_ a: Double, _ b: Double, rel: Double = 1e-9) -> Bool {
    abs(a - b) <= rel * max(abs(a), abs(b)) || abs(a - b) <= 1e-12
}

@Suite("samples/*.grad and their # expect: lines")
struct SampleTests {
    @Test("there are at least 10 samples")
    func enoughSamples() throws {
        #expect(try sampleFiles().count >= 10, "samples folder: \(samplesDirectory.path)")
    }

    @Test("every sample's value and gradients match its # expect: lines", arguments: try sampleFiles())
    func sample(_ file: String) throws {
        let text = try String(contentsOf: samplesDirectory.appendingPathComponent(file), encoding: .utf8)
        let expects = expectations(in: text, file: file)
        #expect(!expects.isEmpty, "\(file) has no # expect: line")
        #expect(expects.contains { if case .gradient = $0 { return true } else { return false } },
                "\(file) has no gradient expectation")
        let p = try Program.parse(text, file: file)
        if let t = p.tensor {
            // Tensor samples: `# expect: dL/dW[1, 2] = …` names an element.
            let grads = TensorTrace.gradients(graph: t.graph, output: t.output)
            let traced = TensorTrace(graph: t.graph, output: t.output).gradients
            for e in expects {
                switch e {
                case .value(let name, let expected):
                    #expect(name == t.outputName && close(t.graph[t.output].value.scalar, expected), "\(file): \(name)")
                case .gradient(let output, let input, let expected):
                    #expect(output == t.outputName)
                    let name = String(input.prefix { $0 != "[" })
                    let index = input.dropFirst(name.count).filter { $0.isNumber || $0 == "," }.split(separator: ",").compactMap { Int($0) }
                    let id = try #require(t.graph.input(named: name), "\(file): \(name) is not an input")
                    let offset = index.enumerated().reduce(0) { $0 * t.graph[id].value.shape[$1.offset] + $1.element }
                    #expect(close(grads[id].data[offset], expected), "\(file): d\(output)/d\(input) = \(grads[id].data[offset]), expected \(expected)")
                    #expect(traced[id] == grads[id], "\(file): the traced and fast gradients differ for \(name)")
                }
            }
            return
        }
        let grads = Trace.gradients(graph: p.graph, output: p.output)
        let traced = Trace(graph: p.graph, output: p.output).gradients
        for e in expects {
            switch e {
            case .value(let name, let expected):
                #expect(name == p.outputName, "\(file): expects a value of \(name) but the output is \(p.outputName)")
                let got = p.graph[try #require(p.graph.lookup(name), "\(file): no name \(name)")].value
                #expect(close(got, expected), "\(file): \(name) = \(got), expected \(expected)")
            case .gradient(let output, let input, let expected):
                #expect(output == p.outputName, "\(file): d\(output)/d\(input) but the output is \(p.outputName)")
                let id = try #require(p.graph.input(named: input), "\(file): \(input) is not an input")
                #expect(close(grads[id], expected), "\(file): d\(output)/d\(input) = \(grads[id]), expected \(expected)")
                #expect(traced[id] == grads[id], "\(file): the traced and fast gradients differ for \(input)")
            }
        }
    }

    @Test("the expectation reader itself")
    func readerWorks() {
        let e = expectations(in: "# expect: L = 676\n# expect: dL/dw = 1248\nx = 1 # expect: dz/dt = -0.5\n", file: "t")
        #expect(e.count == 3)
        if case .value(let n, let v) = e[0] { #expect(n == "L" && v == 676) } else { Issue.record("not a value: \(e[0])") }
        if case .gradient(let o, let i, let v) = e[1] { #expect(o == "L" && i == "w" && v == 1248) } else { Issue.record("not a gradient") }
        if case .gradient(let o, let i, let v) = e[2] { #expect(o == "z" && i == "t" && v == -0.5) } else { Issue.record("not a gradient") }
    }
}
