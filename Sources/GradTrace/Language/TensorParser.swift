#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed tensor program: its graph with forward values and the node it computes.
public struct TensorProgram: Sendable {
    public var graph: TensorGraph
    public var output: NodeID
    public var outputName: String
    public var bindings: [(name: String, node: NodeID)]
    /// The `--seed` the constructors drew from.
    public var seed: UInt64
}

/// The functions that make a program a tensor program, besides `[`, `]` and `@`.
enum TensorFunctions {
    static let reductions = ["sum", "mean", "max"]
    static let axisFunctions = ["logsumexp", "softmax", "log_softmax"]
    static let constructors = ["zeros", "ones", "arange", "randn"]
    static let others = ["transpose", "reshape", "pick", "cross_entropy"]
    static let all = Set(reductions + axisFunctions + constructors + others)
}

/// Recursive-descent parser for tensor programs (the scalar language plus literals, `@`, indexing and
/// the tensor functions). Nesting is capped, so hostile input cannot exhaust the stack.
struct TensorParser {
    var lexer: Lexer
    var graph = TensorGraph()
    let overrides: [String: Tensor]
    let seed: UInt64
    var usedOverrides: Set<String> = []
    var scope: [String: NodeID] = [:]
    var order: [String] = []
    var inputLines: [String: Int] = [:]
    var lastAssigned: (name: String, token: Token)?
    var peeked: Token?
    var depth = 0
    /// The statement being parsed (seeds `randn`).
    var statementName = ""
    var draws = 0
    /// Where each name was last bound (for errors about the result).
    var bindTokens: [String: Token] = [:]

    static let maxDepth = 200
    /// The most elements a literal may hold (the limit of every tensor; smaller in tests).
    var maxLiteralElements = Tensor.maxElements

    init(lexer: Lexer, overrides: [String: Tensor], seed: UInt64, memoryBudget: Int = TensorGraph.defaultMemoryBudget) {
        self.graph = TensorGraph(memoryBudget: memoryBudget)
        self.lexer = lexer
        self.overrides = overrides
        self.seed = seed
    }

    /// True when the program uses brackets, `@` or a tensor function: it is then parsed by this parser.
    static func isTensorProgram(_ bytes: [UInt8], file: String) -> Bool {
        // A byte scan first: a program with no '[', no '@' and no '(' after a tensor function's last
        // letter is scalar, and scalar programs (10⁶ lines, say) are not lexed twice.
        var maybe = false
        bytes.withUnsafeBufferPointer { b in
            for i in b.indices {
                let c = b[i]
                if c == 91 || c == 64 { maybe = true; return }       // [ @
                if c == 40 && i > 0 {                                 // ( after a name
                    let p = b[i - 1]
                    if p == 109 || p == 120 || p == 101 || p == 112 || p == 115 || p == 110 || p == 121 || p == 107 {
                        maybe = true; return                          // …m( …x( …e( …p( …s( …n( …y( …k(  (sum mean max softmax …)
                    }
                }
            }
        }
        guard maybe else { return false }
        var lexer = Lexer(bytes: bytes, file: file)
        var previous: TokenKind?
        while let t = try? lexer.next() {
            switch t.kind {
            case .eof: return false
            case .lbracket, .rbracket, .at: return true
            case .lparen:
                if case .name(let n)? = previous, TensorFunctions.all.contains(n) { return true }
            default: break
            }
            previous = t.kind
        }
        return false
    }

    // MARK: tokens

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

    func describe(_ t: Token) -> String { t.described }

    func error(_ t: Token, _ message: String) -> Diagnostic { lexer.diagnostic(at: t, message) }

    @discardableResult
    mutating func expect(_ kind: TokenKind, _ what: String) throws(Diagnostic) -> Token {
        let t = try next()
        guard t.kind == kind else { throw error(t, "expected \(what), found \(describe(t))") }
        return t
    }

    // MARK: program

    mutating func run(outputName: String?) throws -> TensorProgram {
        while true {
            let t = try next()
            switch t.kind {
            case .eof:
                guard let last = lastAssigned else { throw error(t, "empty program: expected an assignment such as 'x = 2'") }
                if let u = overrides.keys.filter({ !usedOverrides.contains($0) }).sorted().first {
                    throw Program.Problem.unknownInput(u, known: graph.inputIDs.compactMap { graph.name(of: $0) })
                }
                let name = outputName ?? last.name
                guard let out = scope[name] else { throw Program.Problem.unknownOutput(name, known: order) }
                let shape = graph[out].value.shape
                if graph[out].value.count != 1 {
                    let at = bindTokens[name] ?? last.token
                    throw error(at, "the result '\(name)' has shape \(Tensor.text(shape: shape)); gradients start from a single number: reduce it, as in 'L = sum(\(name))'")
                }
                return TensorProgram(graph: graph, output: out, outputName: name, bindings: order.map { ($0, scope[$0]!) }, seed: seed)
            case .end:
                continue
            case .name(let name):
                try statement(name: name, at: t)
            default:
                throw error(t, "expected a name at the start of a statement (as in 'x = 2'), found \(describe(t))")
            }
        }
    }

    mutating func statement(name: String, at nameToken: Token) throws {
        let op = try next()
        let compound: Character?
        switch op.kind {
        case .assign: compound = nil
        case .compound(let c): compound = c
        default: throw error(op, "expected '=' after '\(name)', found \(describe(op))")
        }
        if compound != nil && scope[name] == nil {
            throw error(nameToken, "'\(name)' is not defined yet, so '\(op.text)' has nothing to update")
        }
        statementName = name
        draws = 0
        let value = try expression()
        let end = try next()
        guard end.kind == .end || end.kind == .eof else {
            throw error(end, "expected an operator or the end of the statement, found \(describe(end))")
        }
        if end.kind == .eof { peeked = end }
        switch value {
        case .literal(let v, let t) where compound == nil, .constructed(let v, let t) where compound == nil:
            if let line = inputLines[name] {
                throw error(nameToken, "input '\(name)' is already defined on line \(line); use --at \(name)=VALUE to change its value")
            }
            var x = v
            if let o = overrides[name] {
                guard o.shape == v.shape else {
                    throw Program.Problem.wrongShape(name: name, given: o.shapeText, expected: v.shapeText)
                }
                x = o
                usedOverrides.insert(name)
            }
            _ = t
            let id = graph.addInput(name, x)
            inputLines[name] = nameToken.line
            bind(name, id, nameToken)
        default:
            var id = materialize(value)
            if let c = compound {
                let o: Op = c == "+" ? .add : c == "-" ? .sub : c == "*" ? .mul : .div
                id = try add(.elementwise(o), scope[name]!, id, at: op)
            }
            graph.setName(name, for: id)
            bind(name, id, nameToken)
        }
        lastAssigned = (name, nameToken)
        do { try graph.checkBudget() } catch { throw self.error(nameToken, error.message) }
    }

    mutating func bind(_ name: String, _ id: NodeID, _ t: Token) {
        if scope.updateValue(id, forKey: name) == nil { order.append(name) }
        bindTokens[name] = t
    }

    // MARK: expressions

    enum Operand {
        case node(NodeID)
        /// A literal number or tensor (not yet in the graph: a statement of a literal alone makes an input).
        case literal(Tensor, Token)
        /// A constructor's result (`zeros(2, 3)`), likewise.
        case constructed(Tensor, Token)
    }

    mutating func materialize(_ o: Operand) -> NodeID {
        switch o {
        case .node(let id): return id
        case .literal(let v, _), .constructed(let v, _): return graph.addConstant(v)
        }
    }

    mutating func add(_ op: TensorOp, _ a: NodeID, _ b: NodeID = -1, at t: Token) throws(Diagnostic) -> NodeID {
        do {
            return try graph.add(op, a, b)
        } catch {
            throw self.error(t, error.message)
        }
    }

    mutating func enter(_ t: Token) throws(Diagnostic) {
        depth += 1
        if depth > TensorParser.maxDepth { throw error(t, "expression nested too deeply (more than \(TensorParser.maxDepth) levels)") }
    }

    mutating func expression() throws(Diagnostic) -> Operand {
        var lhs = try term()
        while true {
            let t = try peek()
            guard t.kind == .plus || t.kind == .minus else { return lhs }
            _ = try next()
            let rhs = try term()
            lhs = try binary(t.kind == .plus ? .add : .sub, lhs, rhs, at: t)
        }
    }

    mutating func term() throws(Diagnostic) -> Operand {
        var lhs = try unary()
        while true {
            let t = try peek()
            switch t.kind {
            case .star, .slash:
                _ = try next()
                let rhs = try unary()
                lhs = try binary(t.kind == .star ? .mul : .div, lhs, rhs, at: t)
            case .at:
                _ = try next()
                let rhs = try unary()
                let a = materialize(lhs), b = materialize(rhs)
                lhs = .node(try add(.matmul, a, b, at: t))
            default:
                return lhs
            }
        }
    }

    mutating func unary() throws(Diagnostic) -> Operand {
        let t = try peek()
        if t.kind == .minus || t.kind == .plus {
            _ = try next()
            try enter(t)
            defer { depth -= 1 }
            let x = try unary()
            if t.kind == .plus { return x }
            switch x {
            case .literal(let v, let tok): return .literal(v.map { -$0 }, tok)
            default: return .node(try add(.elementwise(.neg), materialize(x), at: t))
            }
        }
        return try power()
    }

    mutating func power() throws(Diagnostic) -> Operand {
        let base = try postfix()
        let t = try peek()
        guard t.kind == .caret else { return base }
        _ = try next()
        try enter(t)
        defer { depth -= 1 }
        let exponent = try unary()
        if case .literal(let c, _) = exponent, c.isScalar {
            return .node(try add(.elementwise(.powConst(c.scalar)), materialize(base), at: t))
        }
        return try binary(.pow, base, exponent, at: t)
    }

    mutating func binary(_ op: Op, _ lhs: Operand, _ rhs: Operand, at t: Token) throws(Diagnostic) -> Operand {
        let a = materialize(lhs), b = materialize(rhs)
        return .node(try add(.elementwise(op), a, b, at: t))
    }

    mutating func postfix() throws(Diagnostic) -> Operand {
        var x = try primary()
        while try peek().kind == .lbracket {
            let open = try next()
            var idx: [Int] = []
            let items = try list(closedBy: .rbracket, in: "the index")
            guard !items.isEmpty else { throw error(open, "expected an index (a whole number) inside '[]'") }
            for item in items { idx.append(try integer(item, "an index")) }
            let id = materialize(x)
            let shape = graph[id].value.shape
            guard idx.count <= shape.count else {
                throw error(open, "\(idx.count) indices for shape \(Tensor.text(shape: shape)) of rank \(shape.count)")
            }
            var resolved: [Int] = []
            for (k, i) in idx.enumerated() {
                let r = i < 0 ? i + shape[k] : i
                guard r >= 0 && r < shape[k] else {
                    throw error(open, "index \(i) is out of range for axis \(k) of shape \(Tensor.text(shape: shape)) (size \(shape[k]): 0…\(shape[k] - 1), or −\(shape[k])…−1 from the end)")
                }
                resolved.append(r)
            }
            x = .node(try add(.index(resolved), id, at: open))
        }
        return x
    }

    mutating func primary() throws(Diagnostic) -> Operand {
        let t = try next()
        switch t.kind {
        case .number(let v):
            return .literal(Tensor(v), t)
        case .lbracket:
            try enter(t)
            defer { depth -= 1 }
            return .literal(try literal(open: t), t)
        case .lparen:
            try enter(t)
            defer { depth -= 1 }
            let x = try expression()
            let close = try next()
            guard close.kind == .rparen else {
                throw error(close, "unbalanced parenthesis: expected ')' to close the '(' at column \(t.column), found \(describe(close))")
            }
            return x
        case .name(let n):
            if try peek().kind == .lparen {
                let paren = try next()
                try enter(t)
                defer { depth -= 1 }
                return try call(n, at: t, paren: paren)
            }
            guard let id = scope[n] else {
                var msg = "undefined name '\(n)'"
                if TensorFunctions.all.contains(n) || Op.namedFunctions.contains(where: { $0.name == n }) || n == "pow" {
                    msg += ": '\(n)' is a function, call it as \(n)(…)"
                } else if !order.isEmpty {
                    msg += ": define it first (as in '\(n) = 1'); defined so far: " + order.suffix(8).joined(separator: ", ")
                }
                throw error(t, msg)
            }
            return .node(id)
        default:
            throw error(t, "expected an operand, found \(describe(t))")
        }
    }

    /// A tensor literal after its `[`: numbers (with signs) or nested literals of equal shapes.
    mutating func literal(open: Token) throws(Diagnostic) -> Tensor {
        var rows: [Tensor] = []
        var numbers: [Double] = []
        var first: Token?
        while true {
            var t = try next()
            if first == nil { first = t }
            if t.kind == .rbracket && rows.isEmpty && numbers.isEmpty {
                throw error(t, "an empty literal '[]' has no shape: write at least one number")
            }
            var sign = 1.0
            if t.kind == .minus || t.kind == .plus {
                if t.kind == .minus { sign = -1 }
                t = try next()
            }
            switch t.kind {
            case .number(let v):
                guard rows.isEmpty else { throw error(t, "a number among rows: every element of this literal must be a row '[…]'") }
                guard numbers.count < maxLiteralElements else { throw literalTooLarge(t) }
                numbers.append(sign * v)
            case .lbracket where sign == 1:
                guard numbers.isEmpty else { throw error(t, "a row among numbers: every element of this literal must be a number") }
                try enter(t)
                let row = try literal(open: t)
                depth -= 1
                if let r = rows.first, r.shape != row.shape {
                    throw error(t, "ragged literal: this row has shape \(row.shapeText), the first has \(r.shapeText); rows must have equal lengths")
                }
                rows.append(row)
                guard Tensor.saturatingCount([rows.count, row.count]) <= maxLiteralElements else { throw literalTooLarge(t) }
            default:
                throw error(t, "expected a number or '[' in the literal, found \(describe(t))")
            }
            let sep = try next()
            if sep.kind == .rbracket { break }
            guard sep.kind == .comma else { throw error(sep, "expected ',' or ']' in the literal opened at column \(open.column), found \(describe(sep))") }
        }
        if !numbers.isEmpty { return Tensor(shape: [numbers.count], data: numbers) }
        let shape = [rows.count] + rows[0].shape
        guard shape.count <= Tensor.maxRank else { throw error(open, "a literal of rank \(shape.count): tensors have rank 4 at most") }
        return Tensor(shape: shape, data: rows.flatMap(\.data))
    }

    func literalTooLarge(_ t: Token) -> Diagnostic {
        error(t, "this literal holds more than \(maxLiteralElements) elements, the limit of one tensor")
    }

    // MARK: calls

    /// The arguments of a call after its `(`: expressions, kept as operands (integers stay literals).
    /// A comma-separated list of expressions up to `close` (`)` of a call, `]` of an index), each kept
    /// as an operand (integers stay literals) with its first token; `where` names the list in messages.
    mutating func list(closedBy close: TokenKind, in place: String) throws(Diagnostic) -> [(Operand, Token)] {
        var items: [(Operand, Token)] = []
        if try peek().kind == close { _ = try next(); return items }
        while true {
            let start = try peek()
            items.append((try expression(), start))
            let sep = try next()
            if sep.kind == close { return items }
            guard sep.kind == .comma else {
                throw error(sep, "expected ',' or '\(close == .rparen ? ")" : "]")' in \(place), found \(describe(sep))")
            }
        }
    }

    func integer(_ o: (Operand, Token), _ what: String) throws(Diagnostic) -> Int {
        guard case .literal(let v, _) = o.0, v.isScalar, v.scalar == v.scalar.rounded(), Swift.abs(v.scalar) < 1e9 else {
            throw error(o.1, "expected \(what) (a whole number) here")
        }
        return Int(v.scalar)
    }

    func axis(_ o: (Operand, Token), shape: [Int], function: String) throws(Diagnostic) -> Int {
        let a = try integer(o, "an axis")
        let r = shape.count
        guard r > 0, a >= -r, a < r else {
            let range = r == 0 ? "a scalar has no axes" : "axes 0…\(r - 1), or −\(r)…−1 from the end"
            throw error(o.1, "axis \(a) is out of range for \(function) of shape \(Tensor.text(shape: shape)) (rank \(r): \(range))")
        }
        return a < 0 ? a + r : a
    }

    func arity(_ name: String, _ args: [(Operand, Token)], _ range: ClosedRange<Int>, at t: Token, usage: String) throws(Diagnostic) {
        guard range.contains(args.count) else {
            throw error(t, "\(name) takes \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)") argument\(range.upperBound == 1 ? "" : "s") (\(usage)), got \(args.count)")
        }
    }

    mutating func call(_ name: String, at t: Token, paren: Token) throws(Diagnostic) -> Operand {
        let args = try list(closedBy: .rparen, in: "the call of \(name)")
        if let op = Op.namedFunctions.first(where: { $0.name == name })?.op {
            try arity(name, args, 1...1, at: t, usage: "\(name)(x)")
            return .node(try add(.elementwise(op), materialize(args[0].0), at: t))
        }
        switch name {
        case "pow":
            try arity(name, args, 2...2, at: t, usage: "pow(a, b)")
            return try binary(.pow, args[0].0, args[1].0, at: t)
        case "sum", "mean", "max":
            try arity(name, args, 1...2, at: t, usage: "\(name)(x) or \(name)(x, axis)")
            let x = materialize(args[0].0)
            let ax = args.count == 2 ? try axis(args[1], shape: graph[x].value.shape, function: name) : nil
            let op: TensorOp = name == "sum" ? .sum(axis: ax) : name == "mean" ? .mean(axis: ax) : .max(axis: ax)
            return .node(try add(op, x, at: t))
        case "logsumexp", "softmax", "log_softmax":
            try arity(name, args, 1...2, at: t, usage: "\(name)(x, axis)")
            let x = materialize(args[0].0)
            let shape = graph[x].value.shape
            guard !shape.isEmpty else { throw error(t, "\(name) needs a tensor with an axis, not a scalar") }
            let ax = args.count == 2 ? try axis(args[1], shape: shape, function: name) : shape.count - 1
            let op: TensorOp = name == "logsumexp" ? .logsumexp(axis: ax) : name == "softmax" ? .softmax(axis: ax) : .logSoftmax(axis: ax)
            return .node(try add(op, x, at: t))
        case "transpose":
            try arity(name, args, 1...1, at: t, usage: "transpose(x)")
            return .node(try add(.transpose, materialize(args[0].0), at: t))
        case "reshape":
            try arity(name, args, 2...5, at: t, usage: "reshape(x, d1, d2, …)")
            var dims: [Int] = []
            for a in args.dropFirst() {
                let d = try integer(a, "a size")
                guard d > 0 else { throw error(a.1, "sizes are positive, got \(d)") }
                dims.append(d)
            }
            return .node(try add(.reshape(dims), materialize(args[0].0), at: t))
        case "pick", "cross_entropy":
            try arity(name, args, 2...2, at: t, usage: "\(name)(x, labels)")
            let x = materialize(args[0].0), y = materialize(args[1].0)
            return .node(try add(name == "pick" ? .pick : .crossEntropy, x, y, at: t))
        case "zeros", "ones", "randn", "arange":
            let usage = name == "arange" ? "arange(n)" : "\(name)(d1, d2, …)"
            try arity(name, args, name == "arange" ? 1...1 : 1...4, at: t, usage: usage)
            var dims: [Int] = []
            for a in args {
                let d = try integer(a, "a size")
                guard d > 0 && d <= 1 << 24 else { throw error(a.1, "sizes are 1…16777216, got \(d)") }
                dims.append(d)
            }
            let total = dims.reduce(1) { a, d in let (p, o) = a.multipliedReportingOverflow(by: d); return o ? Int.max : p }
            guard total <= Tensor.maxElements else { throw error(t, "\(name)(\(dims.map(String.init).joined(separator: ", "))) has \(total) elements; the limit is \(Tensor.maxElements)") }
            switch name {
            case "zeros": return .constructed(Tensor(repeating: 0, shape: dims), t)
            case "ones": return .constructed(Tensor(repeating: 1, shape: dims), t)
            case "arange": return .constructed(Tensor(shape: dims, data: (0..<dims[0]).map(Double.init)), t)
            default:
                draws += 1
                return .constructed(TensorParser.randn(dims, seed: seed, name: statementName, draw: draws), t)
            }
        default:
            let known = (Op.namedFunctions.map(\.name) + ["pow"] + TensorFunctions.reductions + TensorFunctions.axisFunctions
                         + TensorFunctions.others + TensorFunctions.constructors).joined(separator: ", ")
            throw error(t, "unknown function '\(name)': the functions are \(known)")
        }
    }

    /// Normal samples from SplitMix64 seeded by the seed and the statement's name (FNV-1a), Box–Muller.
    static func randn(_ shape: [Int], seed: UInt64, name: String, draw: Int) -> Tensor {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        var rng = SeededGenerator(seed: seed ^ h ^ (UInt64(draw) &* 0x9E37_79B9_7F4A_7C15))
        let n = shape.reduce(1, *)
        var out = [Double](repeating: 0, count: n)
        var i = 0
        while i < n {
            let u1 = Double((rng.next() >> 11) + 1) / Double(1 << 53)   // (0, 1]
            let u2 = Double(rng.next() >> 11) / Double(1 << 53)
            let r = (-2 * Glibc.log(u1)).squareRoot()
            out[i] = r * Glibc.cos(2 * Double.pi * u2)
            if i + 1 < n { out[i + 1] = r * Glibc.sin(2 * Double.pi * u2) }
            i += 2
        }
        return Tensor(shape: shape, data: out)
    }
}

extension Tensor {
    /// Reads a number or a tensor literal as the program language writes it (`2`, `-0.5`, `[[1, 2], [3, 4]]`).
    ///
    /// - Throws: ``Diagnostic`` located in `text` (named `file`).
    /// - Parameter maxElements: the most elements the literal may hold (default: the limit of every tensor).
    public static func literal(_ text: String, file: String = "<value>", maxElements: Int = Tensor.maxElements) throws(Diagnostic) -> Tensor {
        var parser = TensorParser(lexer: Lexer(bytes: Array(text.utf8), file: file), overrides: [:], seed: 0)
        parser.maxLiteralElements = maxElements
        var t = try parser.next()
        var sign = 1.0
        if t.kind == .minus || t.kind == .plus {
            if t.kind == .minus { sign = -1 }
            t = try parser.next()
        }
        let value: Tensor
        switch t.kind {
        case .number(let v): value = Tensor(sign * v)
        case .lbracket: value = try parser.literal(open: t).map { sign * $0 }
        default: throw parser.error(t, "expected a number or a tensor literal '[…]', found \(parser.describe(t))")
        }
        let end = try parser.next()
        guard end.kind == .eof else { throw parser.error(end, "expected the end of the value, found \(parser.describe(end))") }
        return value
    }
}
