import Foundation
import Testing
import GradTrace

private func value(_ source: String, output: String? = nil) throws -> Double {
    let p = try Program.parse(source, output: output)
    return p.graph[p.output].value
}

private func grad(_ source: String, wrt name: String, inputs: [String: Double] = [:], output: String? = nil) throws -> Double {
    let p = try Program.parse(source, inputs: inputs, output: output)
    let g = Trace.gradients(graph: p.graph, output: p.output)
    return g[try #require(p.graph.input(named: name))]
}

/// A malformed program and exactly where and what the diagnostic must say.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    var what: String
    var source: String
    var line: Int
    var column: Int
    var fragment: String
    var testDescription: String { "\(what): \(source.debugDescription)" }
}

private let malformedCases: [MalformedCase] = [
    MalformedCase(what: "missing operand at end of input", source: "x = 1\ny = x +", line: 2, column: 8,
                  fragment: "expected an operand after '+'"),
    MalformedCase(what: "missing operand at end of line", source: "x = 1\ny = x +\nz = 2\n", line: 2, column: 8,
                  fragment: "expected an operand after '+', found the end of the line"),
    MalformedCase(what: "missing operand between operators", source: "x = 1\ny = x * * 2", line: 2, column: 9,
                  fragment: "expected an operand after '*', found '*'"),
    MalformedCase(what: "missing expression after =", source: "x = \n", line: 1, column: 5,
                  fragment: "expected an expression after '='"),
    MalformedCase(what: "unclosed parenthesis", source: "x = 1\ny = (x + 1\n", line: 2, column: 11,
                  fragment: "expected ')' to close the '(' at column 5"),
    MalformedCase(what: "unclosed nested parenthesis", source: "x = 1\ny = ((x + 1) * 2", line: 2, column: 17,
                  fragment: "expected ')' to close the '(' at column 5"),
    MalformedCase(what: "unclosed call", source: "x = 1\ny = sin(x", line: 2, column: 10,
                  fragment: "expected ')' to close the '(' at column 8"),
    MalformedCase(what: "unclosed call with a space before (", source: "x = 1\ny = sin (x", line: 2, column: 11,
                  fragment: "expected ')' to close the '(' at column 9"),
    MalformedCase(what: "extra closing parenthesis", source: "x = 1\ny = x + 1)", line: 2, column: 10,
                  fragment: "unbalanced ')': there is no '(' to close"),
    MalformedCase(what: "empty parentheses", source: "x = 1\ny = ()", line: 2, column: 6,
                  fragment: "expected an operand before ')'"),
    MalformedCase(what: "unknown function", source: "x = 1\ny = foo(x)", line: 2, column: 5,
                  fragment: "unknown function 'foo': `gradtrace functions` lists the"),
    MalformedCase(what: "misspelt function", source: "x = 1\ny = tahn(x)", line: 2, column: 5,
                  fragment: "unknown function 'tahn'; did you mean 'tanh'?"),
    MalformedCase(what: "misspelt tensor function", source: "x = [1, 2]\ny = sum(softmx(x))", line: 2, column: 9,
                  fragment: "unknown function 'softmx'; did you mean 'softmax'?"),
    MalformedCase(what: "undefined name", source: "x = 1\ny = z + 1", line: 2, column: 5,
                  fragment: "undefined name 'z'"),
    MalformedCase(what: "function used as a name", source: "x = 1\ny = x + sin", line: 2, column: 9,
                  fragment: "'sin' is a function"),
    MalformedCase(what: "too many arguments", source: "x = 1\ny = sin(1, 2)", line: 2, column: 5,
                  fragment: "sin takes 1 argument, got 2"),
    MalformedCase(what: "too few arguments", source: "x = 1\ny = pow(1)", line: 2, column: 5,
                  fragment: "pow takes 2 arguments, got 1"),
    MalformedCase(what: "no arguments", source: "x = 1\ny = sin()", line: 2, column: 5,
                  fragment: "sin takes 1 argument, got 0"),
    MalformedCase(what: "comma outside a call", source: "x = 1\ny = (x, 2)", line: 2, column: 7,
                  fragment: "not a function call"),
    MalformedCase(what: "exponent without digits", source: "y = 1e", line: 1, column: 5,
                  fragment: "malformed number '1e'"),
    MalformedCase(what: "exponent sign without digits", source: "x = 1\ny = x * 2.5e+", line: 2, column: 9,
                  fragment: "malformed number '2.5e+'"),
    MalformedCase(what: "number glued to a name", source: "x = 1\ny = 2x", line: 2, column: 5,
                  fragment: "malformed number '2x'"),
    MalformedCase(what: "number out of range", source: "y = 1e400", line: 1, column: 5,
                  fragment: "out of range"),
    MalformedCase(what: "statement without a name", source: "= 3", line: 1, column: 1,
                  fragment: "expected a name at the start of a statement"),
    MalformedCase(what: "name without =", source: "x = 1\ny", line: 2, column: 2,
                  fragment: "expected '=' after 'y'"),
    MalformedCase(what: "stray character", source: "x = 1\ny = x $ 2", line: 2, column: 7,
                  fragment: "unexpected '$'"),
    MalformedCase(what: "stray control character", source: "x = 1\u{1}", line: 1, column: 6,
                  fragment: "control character 0x1"),
    MalformedCase(what: "columns count Unicode scalars, not bytes", source: "é = 1; y = é + $", line: 1, column: 16,
                  fragment: "unexpected '$'"),
    MalformedCase(what: "empty input", source: "", line: 1, column: 1, fragment: "empty program"),
    MalformedCase(what: "only comments", source: "# nothing here\n", line: 2, column: 1, fragment: "empty program"),
    MalformedCase(what: "compound assignment to an undefined name", source: "y += 1", line: 1, column: 1,
                  fragment: "'y' is not defined yet"),
    MalformedCase(what: "input defined twice", source: "x = 1\nx = 2", line: 2, column: 1,
                  fragment: "already defined on line 1"),
    MalformedCase(what: "CRLF line ends locate like LF", source: "x = 1\r\ny = x +\r\nz = 2\r\n", line: 2, column: 8,
                  fragment: "expected an operand after '+', found the end of the line"),
    MalformedCase(what: "CRLF after a comment locates like LF", source: "x = 1\r\ny = x + # note\r\n", line: 2, column: 15,
                  fragment: "expected an operand after '+', found the end of the line"),
    MalformedCase(what: "LF after a comment", source: "x = 1\ny = x + # note\n", line: 2, column: 15,
                  fragment: "expected an operand after '+', found the end of the line"),
    MalformedCase(what: "a lone CR is a blank", source: "x = 1\ny = x\r+ $", line: 2, column: 9,
                  fragment: "unexpected '$'"),
]

private func close(_ a: Double, _ b: Double, rel: Double = 1e-12) -> Bool {
    abs(a - b) <= rel * max(abs(a), abs(b))
}

@Suite("The program language")
struct LanguageTests {
    // MARK: precedence and associativity

    @Test("-x^2 is -(x^2)")
    func unaryMinusBelowPower() throws {
        #expect(try value("x = 3\ny = -x^2") == -9)
        #expect(try value("y = -2^2") == -4)
        #expect(try grad("x = 3\ny = -x^2", wrt: "x") == -6)
    }

    @Test("^ is right-associative: 2^3^2 = 512")
    func powerRightAssociative() throws {
        #expect(try value("y = 2^3^2") == 512)
        #expect(try value("y = (2^3)^2") == 64)
        #expect(try value("x = 2\ny = x^3^2") == 512)
    }

    @Test("a negative exponent: x^-1 and 2^-0.5")
    func negativeExponents() throws {
        #expect(try value("x = 2\ny = x^-1") == 0.5)
        #expect(try grad("x = 2\ny = x^-1", wrt: "x") == -0.25)
        #expect(close(try value("y = 2^-0.5"), 1 / 2.0.squareRoot()))
        #expect(try value("x = 1\ny = 2^-x^2") == 0.5)
    }

    @Test("** is the same operator as ^")
    func starStarIsCaret() throws {
        let a = try Program.parse("x = 3\ny = -x**2 + 2**3**2 + x**-1 + x**x")
        let b = try Program.parse("x = 3\ny = -x^2 + 2^3^2 + x^-1 + x^x")
        #expect(a.graph.count == b.graph.count)
        #expect((0..<a.graph.count).allSatisfy { a.graph[$0] == b.graph[$0] })
        let expected: Double = ((-9.0 + 512.0) + 1.0 / 3.0) + 27.0
        #expect(a.graph[a.output].value == expected)
    }

    @Test("* / bind tighter than + −, all left-associative")
    func arithmeticPrecedence() throws {
        #expect(try value("y = 2 + 3 * 4") == 14)
        #expect(try value("y = (2 + 3) * 4") == 20)
        #expect(try value("y = 2 - 3 - 4") == -5)
        #expect(try value("y = 8 / 4 / 2") == 1)
        #expect(try value("y = 2 * 3 ^ 2") == 18)
        #expect(try value("x = 3\ny = x - -x") == 6)
        #expect(try value("x = 3\ny = -x * -x") == 9)
        #expect(try value("x = 3\ny = +x") == 3)
        #expect(try value("x = 0.5\ny = sin(x)^2 + cos(x)^2") == Foundation.sin(0.5) * Foundation.sin(0.5) + Foundation.cos(0.5) * Foundation.cos(0.5))
        #expect(try value("y = pow(2, 10)") == 1024)
        #expect(try value("x = 4\ny = sqrt(x) + abs(-x) + relu(-x)") == 6)
    }

    @Test("every named function parses to its op")
    func namedFunctions() throws {
        for (name, op) in Op.namedFunctions {
            let p = try Program.parse("x = 0.5\ny = \(name)(x)")
            #expect(p.graph[p.output].op == op, "\(name)")
            #expect(p.graph[p.output].value == op.apply(0.5))
        }
    }

    // MARK: statements

    @Test("comments and blank lines are ignored")
    func comments() throws {
        let p = try Program.parse("# header\nx = 2 # the input\n\n   # indented\ny = x*3 # product\n# trailing")
        #expect(p.graph[p.output].value == 6)
        #expect(p.outputName == "y")
        #expect(p.graph.inputIDs.count == 1)
    }

    @Test("; separates statements like a newline")
    func semicolons() throws {
        let a = try Program.parse("x = 2; w = 3;; y = x*w;")
        let b = try Program.parse("x = 2\nw = 3\n\ny = x*w\n")
        #expect(a.graph[a.output].value == 6)
        #expect(a.graph.count == b.graph.count)
        #expect(a.bindings.map(\.name) == ["x", "w", "y"])
    }

    @Test("a name bound to a number is an input, including a negative or parenthesised one")
    func inputs() throws {
        let p = try Program.parse("a = 2\nb = -3\nc = (4)\nd = 1.5e3\ne = .5\nf = a + 1")
        #expect(p.graph.inputIDs.compactMap { p.graph.name(of: $0) } == ["a", "b", "c", "d", "e"])
        #expect(p.graph.inputIDs.map { p.graph[$0].value } == [2, -3, 4, 1500, 0.5])
    }

    @Test("reassignment makes a new node and rebinds the name")
    func reassignment() throws {
        let src = "x = 2\ny = x*3\ny = y + 1"
        let p = try Program.parse(src)
        #expect(p.graph[p.output].value == 7)
        #expect(p.outputName == "y")
        #expect(p.graph.lookup("y") == p.output)
        #expect(p.bindings.map(\.name) == ["x", "y"])
        #expect(try grad(src, wrt: "x") == 3)
    }

    @Test("compound assignment += -= *= /=")
    func compoundAssignment() throws {
        let src = "x = 2\ny = x\ny += x\ny -= 1\ny *= x\ny /= 4"
        // y = ((x + x − 1)·x)/4 = 1.5, dy/dx = (4x − 1)/4 = 1.75
        #expect(try value(src) == 1.5)
        #expect(try grad(src, wrt: "x") == 1.75)
        let p = try Program.parse(src)
        #expect(p.graph[p.output].op == .div)
        #expect(p.graph.inputIDs.count == 1)
        #expect(try value("x = 2\nx += 1\nx *= 4") == 12)
    }

    @Test("u = z gives z's node a second name, without a new node")
    func alias() throws {
        let p = try Program.parse("x = 3\nz = x*x\nu = z\no = u + 1")
        let z = try #require(p.graph.lookup("z"))
        #expect(p.graph.lookup("u") == z)
        #expect(p.graph.names(of: z) == ["z", "u"])
        #expect(p.graph.count == 4)  // x, x*x, the constant 1, u + 1: no node of its own for u
        #expect(p.graph[p.output].value == 10)
        let q = try Program.parse("x = 3\nz = x*x\nu = z\no = u + 1", output: "u")
        #expect(q.output == z && q.outputName == "u")
    }

    @Test("--at overrides an input's value")
    func atOverrides() throws {
        let loss = "x = 2\nw = 3\ntarget = 10\nu = w * x\noutput = u^2\nL = (output - target)^2\n"
        let p = try Program.parse(loss, file: "loss.grad", inputs: ["w": 4])
        #expect(p.graph[p.graph.input(named: "w")!].value == 4)
        #expect(p.graph[p.output].value == 2916)
        #expect(try grad(loss, wrt: "w", inputs: ["w": 4]) == 3456)
        #expect(try grad(loss, wrt: "w") == 1248)
        let both = try Program.parse(loss, inputs: ["x": 1, "target": 0])
        #expect(both.graph[both.output].value == 81)
    }

    @Test("output: picks the result; the default is the last assignment")
    func outputSelection() throws {
        let loss = "x = 2\nw = 3\ntarget = 10\nu = w * x\noutput = u^2\nL = (output - target)^2\n"
        let p = try Program.parse(loss)
        #expect(p.outputName == "L" && p.graph[p.output].value == 676)
        let u = try Program.parse(loss, output: "u")
        #expect(u.outputName == "u" && u.graph[u.output].value == 6)
        #expect(try grad(loss, wrt: "w", output: "u") == 2)
        #expect(try grad(loss, wrt: "target", output: "u") == 0)
        let x = try Program.parse(loss, output: "x")
        #expect(x.output == x.graph.input(named: "x"))
    }

    // MARK: errors

    @Test("malformed programs are located exactly", arguments: malformedCases)
    func malformed(_ c: MalformedCase) throws {
        let d = #expect(throws: Diagnostic.self) { try Program.parse(c.source, file: "bad.grad") }
        guard let d else { return }
        #expect(d.file == "bad.grad")
        #expect(d.line == c.line, "line: \(d)")
        #expect(d.column == c.column, "column: \(d)")
        #expect(d.message.contains(c.fragment), "message: \(d.message)")
        // The quoted line is the offending line of the source, without its line end.
        // (split the scalars: "\r\n" is a single Character; a CR before the LF is not part of the line)
        let lines = c.source.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String(String.UnicodeScalarView($0.last == "\r" ? $0.dropLast() : $0[...])) }
        let expectedLine = c.line <= lines.count ? lines[c.line - 1] : ""
        #expect(d.sourceLine == expectedLine)
        // The same error through the bytes entry point.
        #expect(throws: d) { try Program.parse(bytes: Array(c.source.utf8), file: "bad.grad") }
    }

    @Test("invalid UTF-8 is refused as Problem.notUTF8 with its line", arguments: [
        ([0xFF], 2),                       // never valid
        ([0x80], 2),                       // lone continuation byte
        ([0xC0, 0xAF], 2),                 // overlong 2-byte
        ([0xE2, 0x82], 2),                 // truncated 3-byte
        ([0xE0, 0x80, 0xAF], 2),           // overlong 3-byte
        ([0xED, 0xA0, 0x80], 2),           // UTF-16 surrogate
        ([0xF0, 0x80, 0x80, 0xAF], 2),     // overlong 4-byte
        ([0xF4, 0x90, 0x80, 0x80], 2),     // above U+10FFFF
        ([0xF5, 0x80, 0x80, 0x80], 2),     // never valid lead
    ] as [([UInt8], Int)])
    func invalidUTF8(_ bad: [UInt8], line: Int) {
        let bytes = Array("x = 1\ny".utf8) + bad + Array(" = 2\n".utf8)
        #expect(throws: Program.Problem.notUTF8(file: "bin.grad", line: line)) {
            try Program.parse(bytes: bytes, file: "bin.grad")
        }
    }

    @Test("the UTF-8 check agrees with the standard library on random byte strings")
    func utf8CheckAgreesWithStdlib() {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let interesting: [UInt8] = [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED,
                                    0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        var disagreements: [String] = []
        for _ in 0..<3000 {
            var bytes = Array("v = 1\nw".utf8)
            for _ in 0..<(1 + Int(next() % 4)) { bytes.append(interesting[Int(next() % UInt64(interesting.count))]) }
            bytes += Array(" = 2\n".utf8)
            let valid = String(validating: bytes, as: UTF8.self) != nil
            var refused = false
            do { _ = try Program.parse(bytes: bytes) } catch let p as Program.Problem {
                if case .notUTF8 = p { refused = true }
            } catch {}
            if valid == refused { disagreements.append(bytes.map { String($0, radix: 16) }.joined(separator: " ")) }
        }
        #expect(disagreements.count == 0, "\(disagreements.count) disagreements, e.g. \(disagreements.prefix(3))")
    }

    @Test("an --at name that is not an input is Problem.unknownInput")
    func unknownAtName() {
        #expect(throws: Program.Problem.unknownInput("q", known: ["x", "w"])) {
            try Program.parse("x = 1\nw = 2\ny = x*w", inputs: ["q": 2])
        }
        // A computed name is not an input either.
        #expect(throws: Program.Problem.unknownInput("y", known: ["x", "w"])) {
            try Program.parse("x = 1\nw = 2\ny = x*w", inputs: ["y": 2])
        }
        #expect(Program.Problem.unknownInput("q", known: ["x", "w"]).description.contains("'x', 'w'"))
    }

    @Test("an unknown output name is Problem.unknownOutput")
    func unknownOutput() {
        #expect(throws: Program.Problem.unknownOutput("nope", known: ["x", "y"])) {
            try Program.parse("x = 1\ny = x*2", output: "nope")
        }
        #expect(Program.Problem.unknownOutput("nope", known: ["x", "y"]).description.contains("'nope'"))
    }

    // MARK: diagnostics

    @Test("Diagnostic.description: FILE:LINE:COL: error: MSG, the source line, a caret under the column")
    func diagnosticRendering() throws {
        let d = #expect(throws: Diagnostic.self) { try Program.parse("x = 1\ny = x +\n", file: "loss.grad") }
        let text = try #require(d).description
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0] == "loss.grad:2:8: error: expected an operand after '+', found the end of the line")
        #expect(lines[1] == "y = x +")
        #expect(lines[2] == "       ^")
        // Tabs are shown as one space and control characters as '?', so the caret stays aligned.
        let manual = Diagnostic(file: "f", line: 3, column: 4, message: "m", sourceLine: "\tab\u{7}")
        #expect(manual.description == "f:3:4: error: m\n ab?\n   ^")
        let moved = manual.relocated(file: "README.md", lineOffset: 10)
        #expect(moved.description.hasPrefix("README.md:13:4: error: m\n"))
    }

    @Test("the caret sits under a multi-byte character's column")
    func caretUnderUnicode() throws {
        let d = try #require(#expect(throws: Diagnostic.self) { try Program.parse("π = 3; y = π * ×") })
        // '×' (U+00D7, two bytes) lexes as a name, which is undefined; π before it is two bytes too.
        #expect(d.column == 16)
        #expect(d.message.contains("undefined name '×'"))
        let lines = d.description.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[2].count == d.column)
        #expect(lines[2].last == "^")
    }

    // MARK: size

    @Test("200,000 nested parentheses parse without recursion")
    func deepNesting() throws {
        let n = 200_000
        let src = "x = 1\ny = " + String(repeating: "(", count: n) + "x + 1" + String(repeating: ")", count: n) + "\n"
        let p = try Program.parse(src)
        #expect(p.graph[p.output].value == 2)
        #expect(p.graph.count == 3)
        // and an unclosed one is still located
        let bad = "x = 1\ny = " + String(repeating: "(", count: n) + "x"
        let d = #expect(throws: Diagnostic.self) { try Program.parse(bad) }
        #expect(d?.line == 2)
        #expect(d?.column == 6 + n)
    }

    @Test("a 200,000-term sum parses and differentiates")
    func longSum() throws {
        let n = 200_000
        var src = "x = 1\ny = x"
        src.reserveCapacity(4 * n + 20)
        for _ in 1..<n { src += " + x" }
        let p = try Program.parse(src)
        #expect(p.graph[p.output].value == Double(n))
        let g = Trace.gradients(graph: p.graph, output: p.output)
        #expect(g[p.graph.input(named: "x")!] == Double(n))
    }
}

@Suite("did you mean")
struct NameSuggestionTests {
    @Test("a near name is suggested; a far one is not; ties go to the typed length, then alphabetical order")
    func closest() {
        let names = ["tanh", "sin", "sinh", "softmax", "relu", "log"]
        #expect(NameSuggestion.closest(to: "tahn", among: names) == "tanh")      // a transposition is one edit
        #expect(NameSuggestion.closest(to: "SOFTMX", among: names) == "softmax")
        #expect(NameSuggestion.closest(to: "soft", among: names) == "softmax")   // a prefix
        #expect(NameSuggestion.closest(to: "foo", among: names) == nil)          // 'log' is two edits away: too far for 3 letters
        #expect(NameSuggestion.closest(to: "sinx", among: names) == "sinh")       // sin and sinh are both one edit: the typed length wins
        #expect(NameSuggestion.closest(to: "sinx", among: names.reversed()) == "sinh")
        #expect(NameSuggestion.closest(to: "sn", among: names) == "sin")
        #expect(NameSuggestion.closest(to: "x", among: []) == nil)
    }
}
