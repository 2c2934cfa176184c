/// A parsed program: its graph with forward values, and the node it computes.
///
/// ```swift
/// let p = try Program.parse("x = 2\nw = 3\nu = w * x\nL = (u^2 - 10)^2\n")
/// p.graph[p.output].value                                      // 676
/// Trace(graph: p.graph, output: p.output).gradients[p.graph.input(named: "w")!]   // 1248
/// ```
public struct Program: Sendable {
    /// The recorded graph.
    public var graph: Graph
    /// The result node: the last assignment, or the one `output:` named.
    public var output: NodeID
    /// The name the result was picked by.
    public var outputName: String
    /// Every name and the node it is bound to at the end of the program, in order of first binding.
    public var bindings: [(name: String, node: NodeID)]
    /// The tensor program, when the text uses tensors (literals `[…]`, `@`, tensor functions). `graph` is
    /// then its outline (``TensorGraph/outline``): the same ids, inputs and names, for drawing structure.
    public var tensor: TensorProgram?
    /// A framework's own gradients read with a graph file (`"reference": {"grads": …}`), for `gradtrace check`.
    public var reference: ReferenceGradients?

    init(graph: Graph, output: NodeID, outputName: String, bindings: [(name: String, node: NodeID)], tensor: TensorProgram? = nil) {
        self.graph = graph
        self.output = output
        self.outputName = outputName
        self.bindings = bindings
        self.tensor = tensor
    }

    /// True for a tensor program.
    public var isTensor: Bool { tensor != nil }

    /// Problems that are not the user's program text: bad `--at` or `--result` names, bad values.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownInput(String, known: [String])
        case unknownOutput(String, known: [String])
        case notUTF8(file: String, line: Int)
        /// `--at NAME=[…]` whose shape differs from the input's.
        case wrongShape(name: String, given: String, expected: String)

        public var description: String {
            switch self {
            case .unknownInput(let n, let known):
                return "unknown input '\(n)' in --at: the program's inputs are " + Program.list(known)
            case .unknownOutput(let n, let known):
                return "unknown name '\(n)' in --result: the program defines " + Program.list(known)
            case .wrongShape(let n, let given, let expected):
                return "--at \(n): a value of shape \(given), but '\(n)' has shape \(expected): give a value of shape \(expected)"
            case .notUTF8(let file, let line):
                return "\(file):\(line):1: error: the input is not UTF-8 text (is it a binary file?)"
            }
        }
    }

    static func list(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.map { "'\($0)'" }.joined(separator: ", ")
    }

    /// Parses and evaluates program text.
    ///
    /// - Parameters:
    ///   - source: the program.
    ///   - file: the name used in diagnostics (a path, `<stdin>` or `<expr>`).
    ///   - inputs: values that override the program's own input values (`--at`); every name must be an input.
    ///   - output: the name whose node is the result; default, the last assignment.
    /// - Throws: ``Diagnostic`` for errors in the text, ``Problem`` for bad names in `inputs` or `output`.
    /// - Complexity: O(length of the source); no recursion, so any nesting depth is fine.
    public static func parse(_ source: String, file: String = "<expr>", inputs: [String: Double] = [:],
                             output: String? = nil) throws -> Program {
        try parse(bytes: Array(source.utf8), file: file, inputs: inputs, output: output)
    }

    /// Parses program bytes (which must be UTF-8); see ``parse(_:file:inputs:output:)``.
    public static func parse(bytes: [UInt8], file: String = "<expr>", inputs: [String: Double] = [:],
                             output: String? = nil) throws -> Program {
        try parse(bytes: bytes, file: file, values: inputs.mapValues { Tensor($0) }, output: output)
    }

    /// Parses program bytes, scalar or tensor; `values` override inputs (a tensor input's value must
    /// have its shape), `seed` seeds `randn`, `memoryBudget` bounds what a tensor program may hold (bytes;
    /// see ``TensorGraph/memoryBudget``). A program that uses no tensor syntax is parsed exactly as before.
    public static func parse(bytes: [UInt8], file: String = "<expr>", values: [String: Tensor], output: String? = nil,
                             seed: UInt64 = 0, memoryBudget: Int = TensorGraph.defaultMemoryBudget) throws -> Program {
        if let badLine = firstInvalidUTF8Line(bytes) { throw Problem.notUTF8(file: file, line: badLine) }
        // A UTF-8 byte-order mark (as some editors write) is not part of the first name.
        let body = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes
        // The scalar engine first: it hands over (having built nothing the tensor engine needs) at the
        // first tensor construct it meets, so all-scalar programs keep their fast path.
        if values.values.allSatisfy(\.isScalar) {
            var parser = Parser(lexer: Lexer(bytes: body, file: file), overrides: values.mapValues(\.scalar))
            do {
                return try parser.run(outputName: output)
            } catch let d as Diagnostic where d == Parser.needsTensors {}
        }
        var parser = TensorParser(lexer: Lexer(bytes: body, file: file), overrides: values, seed: seed, memoryBudget: memoryBudget)
        let t = try parser.run(outputName: output)
        return Program(graph: t.graph.outline, output: t.output, outputName: t.outputName, bindings: t.bindings, tensor: t)
    }

    /// The 1-based line of the first byte sequence that is not UTF-8, or nil when all is well.
    static func firstInvalidUTF8Line(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { p -> Int? in
            var line = 1
            var i = 0
            let n = p.count
            while i < n {
                let b = p[i]
                if b < 0x80 {
                    if b == 10 { line += 1 }
                    i += 1
                    continue
                }
                guard let len = UTF8Validation.sequenceLength(p, at: i, end: n) else { return line }
                i += len
            }
            return nil
        }
    }
}

/// Statement-by-statement parser that builds graph nodes directly with an operator stack
/// (shunting-yard), so depth of nesting never touches the call stack.
struct Parser {
    var lexer: Lexer
    var graph = Graph()
    let overrides: [String: Double]
    var usedOverrides: Set<String> = []
    /// The current binding of each name.
    var scope: [String: NodeID] = [:]
    /// Names in order of first binding.
    var order: [String] = []
    /// Where each input was defined (line), to refuse a second definition.
    var inputLines: [String: Int] = [:]
    var lastAssigned: String?
    var peeked: Token?

    init(lexer: Lexer, overrides: [String: Double]) {
        self.lexer = lexer
        self.overrides = overrides
    }

    /// Thrown at the first construct only tensor programs have (`[`, `@`, a comparison, a slice's `:`,
    /// a keyword option, a function of the tensor registry): the program is then parsed by ``TensorParser``.
    /// (A sentinel ``Diagnostic``, as the parser's errors are typed; never shown.)
    static let needsTensors = Diagnostic(file: "", line: 0, column: 0, message: "\u{0}hand over to the tensor parser", sourceLine: "")

    static func isTensorToken(_ k: TokenKind) -> Bool {
        switch k {
        case .lbracket, .at, .compare, .colon: return true
        default: return false
        }
    }

    mutating func next() throws(Diagnostic) -> Token {
        if let p = peeked { peeked = nil; return p }
        return try lexer.next()
    }

    mutating func peek() throws(Diagnostic) -> Token {
        if let p = peeked { return p }
        let t = try lexer.next()
        peeked = t
        return t
    }

    mutating func run(outputName: String?) throws -> Program {
        var first: Token?
        while true {
            let t = try next()
            if first == nil { first = t }
            switch t.kind {
            case .eof:
                guard let last = lastAssigned else {
                    throw lexer.diagnostic(at: t, "empty program: expected an assignment such as 'x = 2'")
                }
                let unknown = overrides.keys.filter { !usedOverrides.contains($0) }.sorted()
                if let u = unknown.first {
                    throw Program.Problem.unknownInput(u, known: graph.inputIDs.compactMap { graph.name(of: $0) })
                }
                let name = outputName ?? last
                guard let out = scope[name] else {
                    throw Program.Problem.unknownOutput(name, known: order)
                }
                return Program(graph: graph, output: out, outputName: name,
                               bindings: order.map { ($0, scope[$0]!) })
            case .end:
                continue
            case .name(let name):
                try statement(name: name, at: t)
            default:
                throw lexer.diagnostic(at: t, "expected a name at the start of a statement (as in 'x = 2'), found \(describe(t))")
            }
        }
    }

    func describe(_ t: Token) -> String { t.described }

    mutating func statement(name: String, at nameToken: Token) throws(Diagnostic) {
        let op = try next()
        let compound: Character?
        switch op.kind {
        case .assign: compound = nil
        case .compound(let c): compound = c
        default:
            throw lexer.diagnostic(at: op, "expected '=' after '\(name)', found \(describe(op))")
        }
        if compound != nil && scope[name] == nil {
            throw lexer.diagnostic(at: nameToken, "'\(name)' is not defined yet, so '\(op.text)' has nothing to update")
        }
        let before = graph.count
        let value = try expression(after: op)
        switch value {
        case .literal(let v, _) where compound == nil:
            if let line = inputLines[name] {
                throw lexer.diagnostic(at: nameToken, "input '\(name)' is already defined on line \(line); use --at \(name)=VALUE to change its value")
            }
            var x = v
            if let o = overrides[name] { x = o; usedOverrides.insert(name) }
            let id = graph.addInput(name, x)
            inputLines[name] = nameToken.line
            bind(name, id)
        default:
            var id = materialize(value)
            if let c = compound {
                let current = scope[name]!
                let opKind: Op = c == "+" ? .add : c == "-" ? .sub : c == "*" ? .mul : .div
                id = graph.add(opKind, current, id, name: name)
            } else if id >= before {
                graph.setName(name, for: id)
            } else {
                // `u = z`: a second name for an existing node.
                graph.setName(name, for: id)
            }
            bind(name, id)
        }
        lastAssigned = name
    }

    mutating func bind(_ name: String, _ id: NodeID) {
        if scope.updateValue(id, forKey: name) == nil { order.append(name) }
    }

    enum Operand {
        case node(NodeID)
        case literal(Double, Token)
    }

    enum Pending {
        case binary(Op, Token)   // .add .sub .mul .div .pow
        case negate(Token)
        case paren(Token)
        /// A function call: its name, the name's token, the arguments so far and the column of its '('.
        case call(String, Token, args: Int, parenColumn: Int)
    }

    static func precedence(_ p: Pending) -> Int {
        switch p {
        case .binary(let op, _):
            switch op {
            case .add, .sub: return 1
            case .mul, .div: return 2
            default: return 4
            }
        case .negate: return 3
        default: return 0
        }
    }

    mutating func materialize(_ o: Operand) -> NodeID {
        switch o {
        case .node(let id): return id
        case .literal(let v, _): return graph.addConstant(v)
        }
    }

    mutating func reduce(_ p: Pending, _ operands: inout [Operand]) {
        switch p {
        case .negate:
            let x = operands.removeLast()
            if case .literal(let v, let t) = x { operands.append(.literal(-v, t)) }
            else { operands.append(.node(graph.add(.neg, materialize(x)))) }
        case .binary(let op, _):
            let rhs = operands.removeLast()
            let lhs = operands.removeLast()
            if op == .pow, case .literal(let c, _) = rhs {
                operands.append(.node(graph.add(.powConst(c), materialize(lhs))))
            } else {
                let a = materialize(lhs)
                let b = materialize(rhs)
                operands.append(.node(graph.add(op, a, b)))
            }
        default:
            break
        }
    }

    /// Parses one expression up to the end of the statement.
    mutating func expression(after assign: Token) throws(Diagnostic) -> Operand {
        var operands: [Operand] = []
        var pending: [Pending] = []
        var expectOperand = true
        var previous = assign
        while true {
            let t = try next()
            if expectOperand {
                switch t.kind {
                case .number(let v):
                    operands.append(.literal(v, t))
                    expectOperand = false
                case .name(let n):
                    if case .lparen = try peek().kind {
                        let paren = try next()
                        guard n == "pow" || Op.namedFunctions.contains(where: { $0.name == n }) else {
                            if TensorFunctions.isTensorOnly(n) { throw Parser.needsTensors }
                            let known = (Op.namedFunctions.map(\.name) + ["pow"]).joined(separator: ", ")
                            throw lexer.diagnostic(at: t, "unknown function '\(n)': the functions are \(known)")
                        }
                        pending.append(.call(n, t, args: 0, parenColumn: paren.column))
                    } else {
                        guard let id = scope[n] else {
                            var msg = "undefined name '\(n)'"
                            if Op.namedFunctions.contains(where: { $0.name == n }) || n == "pow" {
                                msg += ": '\(n)' is a function, call it as \(n)(…)"
                            } else if !order.isEmpty {
                                msg += ": define it first (as in '\(n) = 1'); defined so far: " + order.suffix(8).joined(separator: ", ")
                            }
                            throw lexer.diagnostic(at: t, msg)
                        }
                        operands.append(.node(id))
                        expectOperand = false
                    }
                case .lparen:
                    pending.append(.paren(t))
                case .minus:
                    pending.append(.negate(t))
                case .plus:
                    break  // unary plus changes nothing
                case let k where Parser.isTensorToken(k):
                    throw Parser.needsTensors
                case .rparen:
                    if case .call(let n, let ft, let args, _)? = pending.last, args == 0 {
                        let want = n == "pow" ? 2 : 1
                        throw lexer.diagnostic(at: ft, "\(n) takes \(want) argument\(want == 1 ? "" : "s"), got 0")
                    }
                    throw lexer.diagnostic(at: t, "expected an operand before ')' after \(describe(previous))")
                default:
                    let what: String
                    switch previous.kind {
                    case .assign, .compound: what = "an expression after '\(previous.text)'"
                    case .lparen: what = "an operand after '('"
                    case .comma: what = "an argument after ','"
                    default: what = "an operand after '\(previous.text)'"
                    }
                    throw lexer.diagnostic(at: t, "expected \(what), found \(describe(t))")
                }
            } else {
                switch t.kind {
                case .plus, .minus, .star, .slash, .caret:
                    let op: Op
                    switch t.kind {
                    case .plus: op = .add
                    case .minus: op = .sub
                    case .star: op = .mul
                    case .slash: op = .div
                    default: op = .pow
                    }
                    let incoming = Pending.binary(op, t)
                    let p = Parser.precedence(incoming)
                    let rightAssoc = op == .pow
                    while let top = pending.last {
                        let q = Parser.precedence(top)
                        if q == 0 || q < p || (q == p && rightAssoc) { break }
                        pending.removeLast()
                        reduce(top, &operands)
                    }
                    pending.append(incoming)
                    expectOperand = true
                case .rparen, .comma:
                    while let top = pending.last, Parser.precedence(top) > 0 {
                        pending.removeLast()
                        reduce(top, &operands)
                    }
                    guard let open = pending.last else {
                        throw lexer.diagnostic(at: t, t.kind == .comma
                            ? "unexpected ',' outside a function call"
                            : "unbalanced ')': there is no '(' to close")
                    }
                    if case .call(let n, let ft, let args, let parenColumn) = open {
                        if t.kind == .comma {
                            pending[pending.count - 1] = .call(n, ft, args: args + 1, parenColumn: parenColumn)
                            expectOperand = true
                        } else {
                            pending.removeLast()
                            try call(n, at: ft, args: args + 1, &operands)
                        }
                    } else if t.kind == .comma {
                        throw lexer.diagnostic(at: t, "unexpected ',' inside parentheses that are not a function call")
                    } else {
                        pending.removeLast()  // a plain '(' … ')'
                    }
                case .end, .eof:
                    while let top = pending.last {
                        switch top {
                        case .paren(let open):
                            throw lexer.diagnostic(at: t, "unbalanced parenthesis: expected ')' to close the '(' at column \(open.column), found \(describe(t))")
                        case .call(_, _, _, let parenColumn):
                            throw lexer.diagnostic(at: t, "unbalanced parenthesis: expected ')' to close the '(' at column \(parenColumn), found \(describe(t))")
                        default:
                            pending.removeLast()
                            reduce(top, &operands)
                        }
                    }
                    if t.kind == .eof { peeked = t }
                    return operands.removeLast()
                case let k where Parser.isTensorToken(k):
                    throw Parser.needsTensors
                case .assign where { if case .call? = pending.last { return true } else { return false } }():
                    throw Parser.needsTensors   // a keyword option: `sin(x=1)` is not scalar syntax
                default:
                    throw lexer.diagnostic(at: t, "expected an operator or the end of the statement after \(describe(previous)), found \(describe(t))")
                }
            }
            previous = t
        }
    }

    mutating func call(_ name: String, at t: Token, args: Int, _ operands: inout [Operand]) throws(Diagnostic) {
        let want = name == "pow" ? 2 : 1
        guard args == want else {
            throw lexer.diagnostic(at: t, "\(name) takes \(want) argument\(want == 1 ? "" : "s"), got \(args)")
        }
        if name == "pow" {
            // pow(a, b) is always a·b-style two-input node (use a^2 for a constant exponent).
            let b = materialize(operands.removeLast())
            let a = materialize(operands.removeLast())
            operands.append(.node(graph.add(.pow, a, b)))
            return
        }
        let op = Op.namedFunctions.first { $0.name == name }!.op
        let x = materialize(operands.removeLast())
        operands.append(.node(graph.add(op, x)))
    }
}
