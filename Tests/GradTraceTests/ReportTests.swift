import Foundation
import Testing
import GradTrace

private struct Text: TextOutputStream {
    var s = ""
    mutating func write(_ string: String) { s += string }
}

private func traceJSON(_ source: String, output: String? = nil, granularity: Granularity = .node) throws -> String {
    let p = try Program.parse(source, output: output)
    let t = Trace(graph: p.graph, output: p.output, granularity: granularity)
    var out = Text()
    Report.traceJSON(graph: p.graph, trace: t, outputName: p.outputName, to: &out)
    return out.s
}

private func gradJSON(_ source: String) throws -> String {
    let p = try Program.parse(source)
    var out = Text()
    Report.gradJSON(graph: p.graph, output: p.output, outputName: p.outputName,
                    gradients: Trace.gradients(graph: p.graph, output: p.output), to: &out)
    return out.s
}

private func object(_ json: String) throws -> [String: Any] {
    let any = try JSONSerialization.jsonObject(with: Data(json.utf8))
    return try #require(any as? [String: Any], "not a JSON object: \(json)")
}

private func number(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }

private let loss = "x = 2\nw = 3\ntarget = 10\nu = w * x\noutput = u^2\nL = (output - target)^2\n"

@Suite("Reports: JSON and text")
struct ReportTests {
    @Test("traceJSON parses and has output, value, inputs, nodes and steps")
    func traceJSONShape() throws {
        let text = try traceJSON(loss)
        let o = try object(text)
        for key in ["output", "value", "granularity", "inputs", "nodes", "steps"] {
            #expect(o[key] != nil, "missing key \(key)")
        }
        #expect(o["output"] as? String == "L")
        #expect(number(o["value"]) == 676)
        #expect(o["granularity"] as? String == "node")
        let inputs = try #require(o["inputs"] as? [String: Any])
        #expect(Set(inputs.keys) == ["x", "w", "target"])
        let w = try #require(inputs["w"] as? [String: Any])
        #expect(number(w["value"]) == 3 && number(w["grad"]) == 1248)
        #expect(number((inputs["x"] as? [String: Any])?["grad"]) == 1872)
        #expect(number((inputs["target"] as? [String: Any])?["grad"]) == -52)

        let p = try Program.parse(loss)
        let nodes = try #require(o["nodes"] as? [[String: Any]])
        #expect(nodes.count == p.graph.count)
        for (i, n) in nodes.enumerated() {
            #expect(number(n["id"]) == Double(i))
            #expect(n["op"] as? String == p.graph[i].op.name)
            #expect((n["inputs"] as? [Int]) == p.graph[i].inputs)
            #expect(number(n["value"]) == p.graph[i].value)
        }
        let steps = try #require(o["steps"] as? [[String: Any]])
        let t = Trace(graph: p.graph, output: p.output)
        #expect(steps.count == t.steps.count)
        for (s, js) in zip(t.steps, steps) {
            #expect(number(js["step"]) == Double(s.index))
            #expect(number(js["node"]) == Double(s.node))
            #expect(number(js["upstream"]) == s.upstream)
            let edges = try #require(js["edges"] as? [[String: Any]])
            #expect(edges.count == t.edges(of: s).count)
            for (e, je) in zip(t.edges(of: s), edges) {
                #expect(number(je["input"]) == Double(e.input))
                #expect(number(je["local"]) == e.local)
                #expect(number(je["contribution"]) == e.contribution)
                #expect(number(je["accumulated"]) == e.accumulated)
            }
        }
    }

    @Test("every input appears, with grad 0 when the output does not use it")
    func unusedInput() throws {
        for text in [try traceJSON("x = 1; y = 2; z = x*3"), try gradJSON("x = 1; y = 2; z = x*3")] {
            let inputs = try #require(try object(text)["inputs"] as? [String: Any])
            #expect(Set(inputs.keys) == ["x", "y"])
            let y = try #require(inputs["y"] as? [String: Any])
            #expect(number(y["grad"]) == 0)
            #expect(number(y["value"]) == 2)
            #expect(number((inputs["x"] as? [String: Any])?["grad"]) == 3)
        }
    }

    @Test("inputs come in creation order in the text")
    func inputOrder() throws {
        let text = try gradJSON(loss)
        let ix = try #require(text.range(of: "\"x\"")), iw = try #require(text.range(of: "\"w\"")),
            it = try #require(text.range(of: "\"target\""))
        #expect(ix.lowerBound < iw.lowerBound && iw.lowerBound < it.lowerBound)
    }

    @Test("NaN and infinities are the strings nan, inf, -inf")
    func nonFinite() throws {
        // log(−1) is NaN, and its gradient 1/x = −1 is finite.
        let o = try object(try traceJSON("x = -1; y = log(x)"))
        #expect(o["value"] as? String == "nan")
        // 0/0
        let z = try object(try traceJSON("a = 0; b = 0; y = a / b"))
        #expect(z["value"] as? String == "nan")
        let zin = try #require(z["inputs"] as? [String: Any])
        #expect((zin["a"] as? [String: Any])?["grad"] as? String == "inf")
        #expect((zin["b"] as? [String: Any])?["grad"] as? String == "nan")
        // ±inf values and gradients
        let inf = try object(try traceJSON("x = 0; y = log(x)"))
        #expect(inf["value"] as? String == "-inf")
        let infIn = try #require(inf["inputs"] as? [String: Any])
        #expect((infIn["x"] as? [String: Any])?["grad"] as? String == "inf")
        let big = try object(try traceJSON("x = 1000; y = exp(x)"))
        #expect(big["value"] as? String == "inf")
        // and the same through gradJSON
        #expect(try object(try gradJSON("x = 0; y = 0/x"))["value"] as? String == "nan")
        // nodes and steps carry the strings too
        let nodes = try #require(z["nodes"] as? [[String: Any]])
        #expect(nodes.last?["value"] as? String == "nan")
    }

    @Test("the bytes are identical across runs")
    func deterministic() throws {
        let sources = [loss, "x = 2\ny = x*3 + x*4", "a = 3; b = a*a", "x = -1; y = log(x)"]
        for src in sources {
            for g in Granularity.allCases {
                let a = try traceJSON(src, granularity: g), b = try traceJSON(src, granularity: g)
                #expect(Array(a.utf8) == Array(b.utf8))
            }
            #expect(try gradJSON(src) == gradJSON(src))
        }
    }

    @Test("edge cases stay valid JSON: no inputs, a leaf output, no steps")
    func edgeCasesValid() throws {
        let noInputs = try object(try traceJSON("y = 2 + 3"))
        #expect((noInputs["inputs"] as? [String: Any])?.isEmpty == true)
        #expect(number(noInputs["value"]) == 5)
        let leaf = try object(try traceJSON("x = 4\ny = x*x", output: "x"))
        #expect((leaf["steps"] as? [Any])?.isEmpty == true)
        #expect(number(((leaf["inputs"] as? [String: Any])?["x"] as? [String: Any])?["grad"]) == 1)
        #expect((try object(try gradJSON("y = 2 + 3"))["inputs"] as? [String: Any])?.isEmpty == true)
    }

    @Test("edge granularity is recorded and has one edge per step")
    func edgeGranularity() throws {
        let o = try object(try traceJSON("a = 3; b = a*a", granularity: .edge))
        #expect(o["granularity"] as? String == "edge")
        let steps = try #require(o["steps"] as? [[String: Any]])
        #expect(steps.count == 2)
        #expect(steps.allSatisfy { ($0["edges"] as? [Any])?.count == 1 })
        let acc = steps.compactMap { ($0["edges"] as? [[String: Any]])?.first.flatMap { number($0["accumulated"]) } }
        #expect(acc == [3, 6])
    }

    @Test("aliases appear under names, powConst carries its exponent")
    func namesAndExponent() throws {
        let o = try object(try traceJSON("x = 3\nz = x^2\nu = z\no = u + 1"))
        let nodes = try #require(o["nodes"] as? [[String: Any]])
        let z = try #require(nodes.first { $0["name"] as? String == "z" })
        #expect(z["names"] as? [String] == ["z", "u"])
        #expect(z["op"] as? String == "pow")
        #expect(number(z["exponent"]) == 2)
        #expect(nodes.first { $0["op"] as? String == "const" }?["name"] is NSNull)
    }

    @Test("names with quotes, backslashes and control characters are escaped")
    func jsonStringEscapes() throws {
        #expect(Report.jsonString("a\"b\\c\nd\te\u{1}") == "\"a\\\"b\\\\c\\nd\\te\\u0001\"")
        #expect(Report.jsonString("π") == "\"π\"")
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(Report.jsonString("a\"b\\c\nd\te\u{1}"))]".utf8)) as? [String]
        #expect(parsed == ["a\"b\\c\nd\te\u{1}"])
    }

    @Test("gradText prints the value and one line per input")
    func gradText() throws {
        let p = try Program.parse(loss)
        var out = Text()
        Report.gradText(graph: p.graph, output: p.output, outputName: p.outputName,
                        gradients: Trace.gradients(graph: p.graph, output: p.output), to: &out)
        #expect(out.s == "L = 676\ndL/dx = 1872\ndL/dw = 1248\ndL/dtarget = -52\n")
    }

    @Test("traceTable shows each step's upstream × local = contribution and marks running sums")
    func traceTable() throws {
        let p = try Program.parse("x = 2\ny = x*3 + x*4")
        var out = Text()
        Report.traceTable(graph: p.graph, trace: Trace(graph: p.graph, output: p.output), outputName: "y", to: &out)
        let lines = out.s.split(separator: "\n").map(String.init)
        #expect(lines.first == "y = 14")
        #expect(lines.last == "dy/dx = 7")
        // The pictures' order: upstream first.
        #expect(lines.dropFirst().first?.contains("upstream  ×  local") == true)
        let sumRows = lines.filter { $0.hasSuffix("(sum)") }
        #expect(sumRows.count == 1)
        #expect(sumRows.first?.contains("x → t1") == true)  // t1 is the unnamed x*3
        // One row per edge plus the header.
        #expect(lines.filter { $0.contains("→") }.count == Trace(graph: p.graph, output: p.output).edges.count)
    }
}
