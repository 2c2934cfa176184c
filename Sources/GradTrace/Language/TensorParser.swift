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
    /// Tokens read ahead (a keyword argument needs two: `name =`).
    var ahead: [Token] = []
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

    // MARK: tokens

    mutating func next() throws(Diagnostic) -> Token {
        if !ahead.isEmpty { return ahead.removeFirst() }
        return try lexer.next()
    }

    mutating func peek() throws(Diagnostic) -> Token {
        if let p = ahead.first { return p }
        let t = try lexer.next()
        ahead.append(t)
        return t
    }

    /// The token after the next one.
    mutating func peekSecond() throws(Diagnostic) -> Token {
        _ = try peek()
        if ahead.count < 2 { ahead.append(try lexer.next()) }
        return ahead[1]
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
        if end.kind == .eof { ahead.insert(end, at: 0) }
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

    mutating func add(_ op: TensorOp, inputs: [NodeID], at t: Token) throws(Diagnostic) -> NodeID {
        do {
            return try graph.add(op, inputs: inputs)
        } catch {
            throw self.error(t, error.message)
        }
    }

    mutating func enter(_ t: Token) throws(Diagnostic) {
        depth += 1
        if depth > TensorParser.maxDepth { throw error(t, "expression nested too deeply (more than \(TensorParser.maxDepth) levels)") }
    }

    /// A comparison (`a < b`: a 0/1 mask without gradient), or an additive expression.
    mutating func expression() throws(Diagnostic) -> Operand {
        let lhs = try additive()
        let t = try peek()
        guard case .compare(let c) = t.kind else { return lhs }
        _ = try next()
        let rhs = try additive()
        let index = TensorFunctions.indexOf[c.function]!
        return .node(try add(.call(TensorCall(index: index, arity: 2, options: [])), inputs: [materialize(lhs), materialize(rhs)], at: t))
    }

    mutating func additive() throws(Diagnostic) -> Operand {
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

    /// One item of `x[…]`: a whole-number index, or a slice `start:stop:step` with any part left out.
    struct IndexItem {
        var token: Token
        var index: Int?
        var start: Int?, stop: Int?, step: Int?
        var isSlice: Bool { index == nil }
    }

    mutating func postfix() throws(Diagnostic) -> Operand {
        var x = try primary()
        while try peek().kind == .lbracket {
            let open = try next()
            var items: [IndexItem] = []
            if try peek().kind == .rbracket { throw error(open, "expected an index (a whole number) inside '[]'") }
            while true {
                items.append(try indexItem())
                let sep = try next()
                if sep.kind == .rbracket { break }
                guard sep.kind == .comma else { throw error(sep, "expected ',' or ']' in the index, found \(describe(sep))") }
            }
            let id = materialize(x)
            let shape = graph[id].value.shape
            guard items.count <= shape.count else {
                throw error(open, "\(items.count) indices for shape \(Tensor.text(shape: shape)) of rank \(shape.count)")
            }
            var axes: [SliceAxis] = []
            for (k, item) in items.enumerated() {
                let n = shape[k]
                if let i = item.index {
                    let r = i < 0 ? i + n : i
                    guard r >= 0 && r < n else {
                        throw error(open, "index \(i) is out of range for axis \(k) of shape \(Tensor.text(shape: shape)) (size \(n): 0…\(n - 1), or −\(n)…−1 from the end)")
                    }
                    axes.append(SliceAxis(start: r, count: 1, step: 1, drops: true))
                    continue
                }
                let step = item.step ?? 1
                guard step >= 1 else { throw error(item.token, "a slice step is 1 or more, got \(step)") }
                let start = item.start.map { $0 < 0 ? $0 + n : $0 } ?? 0, stop = item.stop.map { $0 < 0 ? $0 + n : $0 } ?? n
                let text = "\(item.start.map(String.init) ?? ""):\(item.stop.map(String.init) ?? "")" + (item.step.map { ":\($0)" } ?? "")
                guard start >= 0 && start <= n && stop >= 0 && stop <= n else {
                    throw error(item.token, "slice \(text) is out of range for axis \(k) of shape \(Tensor.text(shape: shape)) (size \(n): bounds 0…\(n), or −\(n)…−1 from the end)")
                }
                guard stop > start else {
                    throw error(item.token, "slice \(text) of axis \(k) of shape \(Tensor.text(shape: shape)) is empty: tensors hold at least one element")
                }
                axes.append(SliceAxis(start: start, count: (stop - start + step - 1) / step, step: step, drops: false))
            }
            if axes.allSatisfy(\.drops) {
                x = .node(try add(.index(axes.map(\.start)), id, at: open))
            } else {
                x = .node(try add(.slice(axes), id, at: open))
            }
        }
        return x
    }

    mutating func indexItem() throws(Diagnostic) -> IndexItem {
        let first = try peek()
        var item = IndexItem(token: first)
        func bound(_ p: inout Self) throws(Diagnostic) -> Int? {
            let t = try p.peek()
            if t.kind == .colon || t.kind == .comma || t.kind == .rbracket { return nil }
            return try p.integer((try p.expression(), t), "a slice bound")
        }
        if first.kind != .colon {
            item.index = try integer((try expression(), first), "an index")
            guard try peek().kind == .colon else { return item }
            item.start = item.index
            item.index = nil
        }
        _ = try next()   // ':'
        item.stop = try bound(&self)
        if try peek().kind == .colon {
            _ = try next()
            let t = try peek()
            item.step = try bound(&self)
            if item.step == nil && t.kind != .rbracket && t.kind != .comma { throw error(t, "expected a slice step (a whole number), found \(describe(t))") }
        }
        return item
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
                if TensorFunctions.allNames.contains(n) || Op.namedFunctions.contains(where: { $0.name == n }) || n == "pow" {
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

    /// An argument of a call: its operand, its first token, and its keyword (`stride=2`) if given by name.
    struct Argument {
        var operand: Operand
        var token: Token
        var keyword: String?
    }

    /// A comma-separated list of expressions up to `close` (`)` of a call), each kept as an operand
    /// (integers stay literals) with its first token and its keyword, if any; `place` names the list in messages.
    mutating func list(closedBy close: TokenKind, in place: String) throws(Diagnostic) -> [Argument] {
        var items: [Argument] = []
        if try peek().kind == close { _ = try next(); return items }
        while true {
            let start = try peek()
            var keyword: String?
            if case .name(let n) = start.kind, try peekSecond().kind == .assign {
                _ = try next(); _ = try next()
                keyword = n
            }
            items.append(Argument(operand: try expression(), token: start, keyword: keyword))
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

    func integer(_ a: Argument, _ what: String) throws(Diagnostic) -> Int { try integer((a.operand, a.token), what) }

    func number(_ a: Argument, _ what: String) throws(Diagnostic) -> Double {
        guard case .literal(let v, _) = a.operand, v.isScalar else { throw error(a.token, "expected \(what) (a number) here") }
        return v.scalar
    }

    func axis(_ a: Argument, shape: [Int], function: String, extra: Int = 0) throws(Diagnostic) -> Int {
        try resolveAxis(try integer(a, "an axis"), at: a.token, shape: shape, function: function, extra: extra)
    }

    func resolveAxis(_ a: Int, at t: Token, shape: [Int], function: String, extra: Int = 0) throws(Diagnostic) -> Int {
        let r = shape.count + extra
        guard r > 0, a >= -r, a < r else {
            let range = r == 0 ? "a scalar has no axes" : "axes 0…\(r - 1), or −\(r)…−1 from the end"
            throw error(t, "axis \(a) is out of range for \(function) of shape \(Tensor.text(shape: shape)) (rank \(r): \(range))")
        }
        return a < 0 ? a + r : a
    }

    func arity(_ name: String, _ args: [Argument], _ range: ClosedRange<Int>, at t: Token, usage: String) throws(Diagnostic) {
        guard range.contains(args.count) else {
            throw error(t, "\(name) takes \(range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound) to \(range.upperBound)") argument\(range.upperBound == 1 ? "" : "s") (\(usage)), got \(args.count)")
        }
    }

    /// Built-in functions take `axis` by keyword too; anything else by keyword is refused, naming the usage.
    func positional(_ name: String, _ args: [Argument], usage: String, keys: [String] = []) throws(Diagnostic) -> [Argument] {
        var out = args.filter { $0.keyword == nil }
        for a in args {
            guard let k = a.keyword else { continue }
            guard keys.contains(k) else {
                throw error(a.token, "unknown keyword '\(k)' for \(name): " + (keys.isEmpty ? "it takes no keyword options" : "its keyword is \(keys.joined(separator: ", "))") + " (\(usage))")
            }
            guard out.count == 1 else { throw error(a.token, "\(name) got \(k) twice (\(usage))") }
            out.append(a)
        }
        return out
    }

    mutating func call(_ name: String, at t: Token, paren: Token) throws(Diagnostic) -> Operand {
        let all = try list(closedBy: .rparen, in: "the call of \(name)")
        // The operand is materialized before the graph is read: `graph[materialize(…)]` would read the graph
        // as it was before a literal operand was added (an index past its end, found by the fuzzer).
        let matrixTranspose: Bool
        if name == "transpose" && all.count == 1 {
            let id = materializedRank(all[0])
            matrixTranspose = graph[id].value.rank == 2
        } else {
            matrixTranspose = false
        }
        if let index = TensorFunctions.indexOf[name], !matrixTranspose {
            return try callRegistry(index, all, at: t)
        }
        if let op = Op.namedFunctions.first(where: { $0.name == name })?.op {
            let args = try positional(name, all, usage: "\(name)(x)")
            try arity(name, args, 1...1, at: t, usage: "\(name)(x)")
            return .node(try add(.elementwise(op), materialize(args[0].operand), at: t))
        }
        switch name {
        case "pow":
            let args = try positional(name, all, usage: "pow(a, b)")
            try arity(name, args, 2...2, at: t, usage: "pow(a, b)")
            return try binary(.pow, args[0].operand, args[1].operand, at: t)
        case "sum", "mean", "max":
            let args = try positional(name, all, usage: "\(name)(x, axis=None)", keys: ["axis"])
            try arity(name, args, 1...2, at: t, usage: "\(name)(x) or \(name)(x, axis)")
            let x = materialize(args[0].operand)
            let ax = args.count == 2 ? try axis(args[1], shape: graph[x].value.shape, function: name) : nil
            let op: TensorOp = name == "sum" ? .sum(axis: ax) : name == "mean" ? .mean(axis: ax) : .max(axis: ax)
            return .node(try add(op, x, at: t))
        case "logsumexp", "softmax", "log_softmax":
            let args = try positional(name, all, usage: "\(name)(x, axis=-1)", keys: ["axis"])
            try arity(name, args, 1...2, at: t, usage: "\(name)(x, axis)")
            let x = materialize(args[0].operand)
            let shape = graph[x].value.shape
            guard !shape.isEmpty else { throw error(t, "\(name) needs a tensor with an axis, not a scalar") }
            let ax = args.count == 2 ? try axis(args[1], shape: shape, function: name) : shape.count - 1
            let op: TensorOp = name == "logsumexp" ? .logsumexp(axis: ax) : name == "softmax" ? .softmax(axis: ax) : .logSoftmax(axis: ax)
            return .node(try add(op, x, at: t))
        case "transpose":
            return .node(try add(.transpose, materialize(all[0].operand), at: t))
        case "reshape":
            let args = try positional(name, all, usage: "reshape(x, d1, d2, …)")
            try arity(name, args, 2...5, at: t, usage: "reshape(x, d1, d2, …)")
            var dims: [Int] = []
            for a in args.dropFirst() {
                let d = try integer(a, "a size")
                guard d > 0 else { throw error(a.token, "sizes are positive, got \(d)") }
                dims.append(d)
            }
            return .node(try add(.reshape(dims), materialize(args[0].operand), at: t))
        case "pick", "cross_entropy":
            let args = try positional(name, all, usage: "\(name)(x, labels)")
            try arity(name, args, 2...2, at: t, usage: "\(name)(x, labels)")
            let x = materialize(args[0].operand), y = materialize(args[1].operand)
            return .node(try add(name == "pick" ? .pick : .crossEntropy, x, y, at: t))
        case "zeros", "ones", "randn", "arange":
            let usage = name == "arange" ? "arange(n)" : "\(name)(d1, d2, …)"
            let args = try positional(name, all, usage: usage)
            try arity(name, args, name == "arange" ? 1...1 : 1...4, at: t, usage: usage)
            var dims: [Int] = []
            for a in args {
                let d = try integer(a, "a size")
                guard d > 0 && d <= 1 << 24 else { throw error(a.token, "sizes are 1…16777216, got \(d)") }
                dims.append(d)
            }
            let total = Shapes.count(dims)
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
            throw error(t, "unknown function '\(name)': the functions are \(TensorFunctions.allNames.joined(separator: ", "))")
        }
    }

    /// The node an argument stands for, materialized (to read its rank).
    mutating func materializedRank(_ a: Argument) -> NodeID { materialize(a.operand) }

    /// A call of a registry function: arguments bound to its signature by position and keyword,
    /// defaults filled in, axes resolved, then one node over its tensor operands.
    mutating func callRegistry(_ index: Int, _ args: [Argument], at t: Token) throws(Diagnostic) -> Operand {
        let f = TensorFunctions.table[index]
        let params = f.parameters
        var slots = [[Argument]](repeating: [], count: params.count)
        var cursor = 0
        var sawKeyword = false
        for a in args {
            if let k = a.keyword {
                sawKeyword = true
                guard let p = params.firstIndex(where: { $0.name == k }) else {
                    let keys = params.filter { !$0.isTensor }.map(\.name).filter { $0 != "stream" }
                    throw error(a.token, "unknown keyword '\(k)' for \(f.name): " + (keys.isEmpty ? "it takes no keyword options" : "its options are \(keys.joined(separator: ", "))") + " (\(f.usage))")
                }
                guard slots[p].isEmpty else { throw error(a.token, "\(f.name) got \(k) twice (\(f.usage))") }
                slots[p] = [a]
                continue
            }
            guard !sawKeyword else { throw error(a.token, "a positional argument after a keyword argument in the call of \(f.name) (\(f.usage))") }
            while cursor < params.count, !slots[cursor].isEmpty, !isVariadic(params[cursor]) { cursor += 1 }
            guard cursor < params.count else {
                throw error(t, "\(f.name) takes at most \(params.count) argument\(params.count == 1 ? "" : "s") (\(f.usage)), got \(args.count)")
            }
            slots[cursor].append(a)
            if !isVariadic(params[cursor]) { cursor += 1 }
        }
        var inputs: [NodeID] = []
        var options: [Double] = []
        var missingOptional: String?
        for (i, p) in params.enumerated() {
            let given = slots[i]
            switch p {
            case .tensor(let n), .tensors(let n):
                guard !given.isEmpty else { throw error(t, "\(f.name) needs \(n) (\(f.usage)), got \(args.count) argument\(args.count == 1 ? "" : "s")") }
                if let m = missingOptional { throw error(given[0].token, "\(f.name): \(n) given without \(m) (\(f.usage))") }
                for a in given { inputs.append(materialize(a.operand)) }
            case .optionalTensor(let n):
                if given.isEmpty { missingOptional = missingOptional ?? n; continue }
                if let m = missingOptional { throw error(given[0].token, "\(f.name): \(n) given without \(m) (\(f.usage))") }
                inputs.append(materialize(given[0].operand))
            case .integer(let n, let d):
                if let a = given.first { options.append(Double(try integer(a, n))) }
                else if let d { options.append(Double(d)) }
                else { throw error(t, "\(f.name) needs \(n) (\(f.usage))") }
            case .number(let n, let d):
                if let a = given.first { options.append(try number(a, n)) }
                else if let d { options.append(d) }
                else { throw error(t, "\(f.name) needs \(n) (\(f.usage))") }
            case .axis(let n, let d, let extra):
                let shape = inputs.first.map { graph[$0].value.shape } ?? []
                if let a = given.first { options.append(Double(try axis(a, shape: shape, function: f.name, extra: extra))) }
                else if let d { options.append(Double(try resolveAxis(d, at: t, shape: shape, function: f.name, extra: extra))) }
                else { throw error(t, "\(f.name) needs \(n) (\(f.usage))") }
            case .integers(let n):
                for a in given { options.append(Double(try integer(a, n))) }
            }
        }
        if f.name == "dropout" && slots[params.count - 1].isEmpty {
            // The mask's stream: the statement's name, the --seed and which dropout of the statement this is.
            draws += 1
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for b in statementName.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            h ^= seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(draws)
            options[options.count - 1] = Double(h & ((1 << 52) - 1))
        }
        let call = TensorCall(index: index, arity: inputs.count, options: options)
        return .node(try add(.call(call), inputs: inputs, at: t))
    }

    func isVariadic(_ p: TensorFunction.Parameter) -> Bool {
        switch p {
        case .tensors, .integers: return true
        default: return false
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
