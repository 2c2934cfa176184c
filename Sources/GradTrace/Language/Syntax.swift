/// A parsed program: the one tree every engine starts from (``Parser`` makes it).
///
/// Each statement's expression is stored flat, in postfix order (operands before their operator), so a
/// program of any size or nesting depth is walked without recursion, and a 10⁶-line program stays a
/// few arrays. Every node keeps the byte offset of the token it came from, for located errors.
/// Which engine runs the program is read from the tree (``usesTensors``), never from the bytes.
///
/// ```swift
/// // y = -x * 2      →  name(x) negate number(2) binary(mul), then statement y
/// ```
struct Syntax {
    /// A binary operator of the language.
    enum Operator: Equatable {
        case add, sub, mul, div, pow, matmul
        /// `<  <=  >  >=  ==  !=`: a 0/1 mask without gradient.
        case compare(Comparison)

        /// The comparison's function in the registry (`lt`, …), nil for arithmetic.
        var comparison: String? {
            if case .compare(let c) = self { return c.function }
            return nil
        }

        /// The scalar op of `+ - * / ^`.
        var op: Op? {
            switch self {
            case .add: return .add
            case .sub: return .sub
            case .mul: return .mul
            case .div: return .div
            case .pow: return .pow
            default: return nil
            }
        }
    }

    /// One node, in postfix order.
    enum Node {
        /// A number literal.
        case number(Double)
        /// A tensor literal `[…]`: ``Syntax/literals`` says where it starts; the engine reads its values
        /// when it reaches it (so a program's literals are held once, and by the graph's memory budget).
        case tensor(Int32)
        /// A name read (it was bound earlier: the parser checks).
        case name(Int32)
        /// Unary minus.
        case negate
        /// `a OP b`.
        case binary(Operator)
        /// The argument before this marker, located at its first token; a keyword's name (`stride=`) or -1.
        case argument(Int32)
        /// A call of the function named `names[_:]` with this many ``argument(_:)``s before it.
        case call(Int32, Int32)
        /// The part of an index item before this marker (an index, a slice bound or step), located at its first token.
        case bound
        /// One item of `x[…]`: ``ItemParts`` says which parts came before it (each closed by ``bound``).
        case item(UInt8)
        /// `x[…]` with this many items after `x`; located at `[`.
        case subscriptAccess(Int32)
    }

    /// Which parts an index item has (``Node/item(_:)``).
    enum ItemParts {
        static let start: UInt8 = 1, stop: UInt8 = 2, step: UInt8 = 4
        /// The item has a ':' (a slice, not an index).
        static let slice: UInt8 = 8
    }

    /// A statement `name = expression` (or `name += …`): its nodes end at `end` (they start where the previous ended).
    struct Statement {
        var name: Int32
        /// Byte offsets of the name and of the `=` (or `+=`, …).
        var nameOffset: Int32
        var opOffset: Int32
        /// The operator of `+=`, `-=`, `*=`, `/=`, or 0 for `=`.
        var compound: UInt8
        var end: Int32
    }

    /// Where a tensor literal's `[` is: its byte offset, line, and the offset its line starts at.
    struct LiteralSite {
        var offset: Int32
        var line: Int32
        var lineStart: Int32
    }

    var nodes: [Node] = []
    /// The byte offset each node came from.
    var offsets: [Int32] = []
    /// The tensor literals, checked (shape, size, rank) but not yet read.
    var literals: [LiteralSite] = []
    /// Every name, in order of first appearance (variables, functions and keywords).
    var names: [String] = []
    var statements: [Statement] = []
    /// True when the program uses a construct only the tensor engine runs: a tensor literal, `@`, a
    /// comparison, a slice or index, a keyword option, or a function that is not a scalar ``Op``.
    var usesTensors = false
    /// The first error in the text, if any. The statements before it are complete; the nodes after the
    /// last statement's end are the part of the failing statement (named `failingName`) read before it.
    /// The engines run all of them before reporting it, so errors come in reading order: a shape error
    /// in line 3 is reported before a syntax error in line 5, as a parser that evaluates as it reads would.
    var failure: Diagnostic?
    var failingName: Int32 = -1
}

extension Lexer {
    /// A diagnostic at a byte offset: its line and column are counted from the start of the input (on
    /// errors only, so the cost does not matter).
    func diagnostic(atOffset o: Int, _ message: String) -> Diagnostic {
        var line = 1, lineStart = 0
        let end = min(o, bytes.count)
        var i = 0
        while i < end {
            if bytes[i] == 10 { line += 1; lineStart = i + 1 }
            i += 1
        }
        var column = 1
        for k in lineStart..<end where bytes[k] & 0xC0 != 0x80 { column += 1 }
        return diagnostic(at: o, line: line, column: column, message)
    }
}

/// The one parser of the language: statements of expressions with the operators, calls with keyword
/// options, tensor literals and subscripts, read by operator precedence with explicit stacks (no
/// recursion, so 200,000 nested parentheses are fine), into a ``Syntax``. It checks what the text
/// alone decides (names defined before use, known functions, balanced brackets, argument counts of
/// the scalar functions); the engines check the rest (shapes, options) as they build the graph.
struct Parser {
    var lexer: Lexer
    var syntax = Syntax()
    var nameIDs: [String: Int32] = [:]
    /// Per name id: bound by an earlier statement.
    var defined: [Bool] = []
    /// Bound names in order of first binding (for messages).
    var order: [Int32] = []
    var ahead: [Token] = []
    /// The `]` that closed the last tensor literal read.
    var literalClose: Token?
    /// Nesting of tensor literals (recursive, so capped).
    var depth = 0
    static let maxDepth = 200
    /// The most elements a literal may hold (the limit of every tensor; smaller in tests).
    var maxLiteralElements = Tensor.maxElements

    init(lexer: Lexer) {
        self.lexer = lexer
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

    func error(_ t: Token, _ message: String) -> Diagnostic { lexer.diagnostic(at: t, message) }

    mutating func intern(_ s: String) -> Int32 {
        if let id = nameIDs[s] { return id }
        let id = Int32(syntax.names.count)
        syntax.names.append(s)
        defined.append(false)
        nameIDs[s] = id
        return id
    }

    @inline(__always) mutating func emit(_ n: Syntax.Node, _ t: Token) {
        syntax.nodes.append(n)
        syntax.offsets.append(Int32(truncatingIfNeeded: t.offset))
    }

    static func isScalarFunction(_ n: String) -> Bool { n == "pow" || Op.namedFunctions.contains { $0.name == n } }

    // MARK: program

    /// Parses the whole program; the first error stops it and is kept in ``Syntax/failure``.
    mutating func run() -> Syntax {
        do {
            try statements()
        } catch {
            syntax.failure = error
        }
        return syntax
    }

    mutating func statements() throws(Diagnostic) {
        guard lexer.bytes.count < Int(Int32.max) else {
            throw lexer.diagnostic(at: 0, line: 1, column: 1, "the program is larger than 2 GiB")
        }
        while true {
            let t = try next()
            switch t.kind {
            case .eof:
                guard !syntax.statements.isEmpty else {
                    throw error(t, "empty program: expected an assignment such as 'x = 2'")
                }
                return
            case .end:
                continue
            case .name(let name):
                try statement(name: name, at: t)
            default:
                throw error(t, "expected a name at the start of a statement (as in 'x = 2'), found \(t.described)")
            }
        }
    }

    mutating func statement(name: String, at nameToken: Token) throws(Diagnostic) {
        let op = try next()
        let compound: UInt8
        switch op.kind {
        case .assign: compound = 0
        case .compound(let c): compound = c.asciiValue ?? 0
        default:
            throw error(op, "expected '=' after '\(name)', found \(op.described)")
        }
        let id = intern(name)
        syntax.failingName = id
        if compound != 0 && !defined[Int(id)] {
            throw error(nameToken, "'\(name)' is not defined yet, so '\(op.text)' has nothing to update")
        }
        try expression(after: op)
        if !defined[Int(id)] { defined[Int(id)] = true; order.append(id) }
        syntax.statements.append(Syntax.Statement(name: id, nameOffset: Int32(nameToken.offset), opOffset: Int32(op.offset),
                                                  compound: compound, end: Int32(syntax.nodes.count)))
    }

    // MARK: expressions

    enum Pending {
        case binary(Syntax.Operator, Token)
        case negate(Token)
        case paren(Token)
        /// A call: the function's name id and token, arguments so far, the column of its '(', the current
        /// argument's keyword (-1: none) and first token, and whether any keyword was given.
        case call(Int32, Token, args: Int32, parenColumn: Int, keyword: Int32, start: Token?, keywords: Bool)
        /// A subscript `x[…]`: its '[', items so far, the part of the current item (0 start or index,
        /// 1 stop, 2 step), the parts seen (``Syntax/ItemParts``), and the first tokens of the item and the part.
        case subscriptAccess(Token, items: Int32, part: Int, mask: UInt8, itemStart: Token?, partStart: Token?)
    }

    static func precedence(_ p: Pending) -> Int {
        switch p {
        case .binary(let op, _):
            switch op {
            case .compare: return 1
            case .add, .sub: return 2
            case .mul, .div, .matmul: return 3
            case .pow: return 5
            }
        case .negate: return 4
        default: return 0
        }
    }

    mutating func reduce(_ p: Pending) {
        switch p {
        case .negate(let t): emit(.negate, t)
        case .binary(let op, let t): emit(.binary(op), t)
        default: break
        }
    }

    /// Reduces every operator down to the innermost bracket (a '(' or a call or a subscript).
    mutating func reduceToBarrier(_ pending: inout [Pending]) {
        while let top = pending.last, Parser.precedence(top) > 0 {
            pending.removeLast()
            reduce(top)
        }
    }

    /// Parses one expression up to the end of the statement, emitting its nodes.
    mutating func expression(after assign: Token) throws(Diagnostic) {
        var pending: [Pending] = []
        var expectOperand = true
        var previous = assign
        /// The next token starts an argument, an item or a part of an item: record it.
        var starting = false
        while true {
            let t = try next()
            if starting {
                starting = false
                switch pending.last {
                case .call(let n, let ft, let args, let pc, let kw, nil, let kws)?:
                    pending[pending.count - 1] = .call(n, ft, args: args, parenColumn: pc, keyword: kw, start: t, keywords: kws)
                case .subscriptAccess(let open, let items, let part, let mask, let itemStart, _)?:
                    pending[pending.count - 1] = .subscriptAccess(open, items: items, part: part, mask: mask, itemStart: itemStart ?? t, partStart: t)
                default: break
                }
            }
            if expectOperand {
                switch t.kind {
                case .number(let v):
                    emit(.number(v), t)
                    expectOperand = false
                case .name(let n):
                    let after = try peek()
                    if after.kind == .lparen {
                        let paren = try next()
                        guard Parser.isScalarFunction(n) || TensorFunctions.allNames.contains(n) else {
                            throw error(t, TensorFunctions.unknownFunctionMessage(n))
                        }
                        if TensorFunctions.isTensorOnly(n) { syntax.usesTensors = true }
                        pending.append(.call(intern(n), t, args: 0, parenColumn: paren.column, keyword: -1, start: nil, keywords: false))
                        starting = true
                        previous = paren
                        continue
                    }
                    if after.kind == .assign, case .call(let f, let ft, let args, let pc, -1, let start?, _)? = pending.last, start.offset == t.offset {
                        // A keyword option: `stride=2`.
                        _ = try next()
                        syntax.usesTensors = true
                        pending[pending.count - 1] = .call(f, ft, args: args, parenColumn: pc, keyword: intern(n), start: start, keywords: true)
                        previous = after
                        continue
                    }
                    guard let id = nameIDs[n], defined[Int(id)] else {
                        var msg = "undefined name '\(n)'"
                        if Parser.isScalarFunction(n) || TensorFunctions.allNames.contains(n) {
                            msg += ": '\(n)' is a function, call it as \(n)(…)"
                        } else if !order.isEmpty {
                            msg += ": define it first (as in '\(n) = 1'); defined so far: " + order.suffix(8).map { syntax.names[Int($0)] }.joined(separator: ", ")
                        }
                        throw error(t, msg)
                    }
                    emit(.name(id), t)
                    expectOperand = false
                case .lparen:
                    pending.append(.paren(t))
                case .minus:
                    pending.append(.negate(t))
                case .plus:
                    break  // unary plus changes nothing
                case .lbracket:
                    depth += 1
                    if depth > Parser.maxDepth { throw error(t, "expression nested too deeply (more than \(Parser.maxDepth) levels)") }
                    var unread: [Double]? = nil
                    _ = try literal(open: t, values: &unread)
                    depth -= 1
                    syntax.usesTensors = true
                    syntax.literals.append(lexer.site(of: t))
                    emit(.tensor(Int32(syntax.literals.count - 1)), t)
                    expectOperand = false
                    previous = literalClose ?? t
                    continue
                case .rparen:
                    if case .call(let n, let ft, let args, _, _, _, _)? = pending.last, args == 0, previous.kind == .lparen {
                        let name = syntax.names[Int(n)]
                        if Parser.isScalarFunction(name) {
                            let want = name == "pow" ? 2 : 1
                            throw error(ft, "\(name) takes \(want) argument\(want == 1 ? "" : "s"), got 0")
                        }
                        pending.removeLast()
                        emit(.call(n, 0), ft)
                        expectOperand = false
                        break
                    }
                    throw error(t, "expected an operand before ')' after \(previous.described)")
                case .colon, .comma, .rbracket:
                    guard case .subscriptAccess(let open, let items, let part, let mask, let itemStart, _)? = pending.last else {
                        throw operandExpected(t, previous)
                    }
                    if t.kind == .colon {
                        // An empty part before ':' (`x[:2]`, `x[1::2]`).
                        if part == 2 { throw error(t, "expected a slice step (a whole number), found \(t.described)") }
                        pending[pending.count - 1] = .subscriptAccess(open, items: items, part: part + 1, mask: mask | Syntax.ItemParts.slice,
                                                                      itemStart: itemStart, partStart: nil)
                        starting = true
                        previous = t
                        continue
                    }
                    // An item ends with its last part empty: only after a ':' (`x[1:]`, `x[:, 0]`).
                    guard mask & Syntax.ItemParts.slice != 0 else {
                        if t.kind == .rbracket && items == 0 { throw error(open, "expected an index (a whole number) inside '[]'") }
                        throw operandExpected(t, previous)
                    }
                    endItem(&pending, at: t, itemStart: itemStart ?? t, filled: false)
                    if t.kind == .rbracket { expectOperand = false } else { starting = true }
                default:
                    throw operandExpected(t, previous)
                }
            } else {
                switch t.kind {
                case .plus, .minus, .star, .slash, .caret, .at, .compare:
                    let op: Syntax.Operator
                    switch t.kind {
                    case .plus: op = .add
                    case .minus: op = .sub
                    case .star: op = .mul
                    case .slash: op = .div
                    case .at: op = .matmul
                    case .compare(let c): op = .compare(c)
                    default: op = .pow
                    }
                    if op == .matmul || op.comparison != nil { syntax.usesTensors = true }
                    let incoming = Pending.binary(op, t)
                    let p = Parser.precedence(incoming)
                    let rightAssoc = op == .pow
                    while let top = pending.last {
                        let q = Parser.precedence(top)
                        if q == 0 || q < p || (q == p && rightAssoc) { break }
                        if p == 1 && q == 1 {
                            throw error(t, "comparisons do not chain: write (a < b) * (b < c) for both, or add parentheses")
                        }
                        pending.removeLast()
                        reduce(top)
                    }
                    pending.append(incoming)
                    expectOperand = true
                case .lbracket:
                    // A subscript of the operand just read: `x[0]`, `x[:, 1:3]`.
                    syntax.usesTensors = true
                    pending.append(.subscriptAccess(t, items: 0, part: 0, mask: 0, itemStart: nil, partStart: nil))
                    starting = true
                    expectOperand = true
                case .rparen, .comma:
                    reduceToBarrier(&pending)
                    guard let open = pending.last else {
                        throw error(t, t.kind == .comma
                            ? "unexpected ',' outside a function call"
                            : "unbalanced ')': there is no '(' to close")
                    }
                    switch open {
                    case .call(let n, let ft, let args, let pc, let kw, let start, let kws):
                        emit(.argument(kw), start ?? t)
                        if t.kind == .comma {
                            pending[pending.count - 1] = .call(n, ft, args: args + 1, parenColumn: pc, keyword: -1, start: nil, keywords: kws)
                            starting = true
                            expectOperand = true
                        } else {
                            pending.removeLast()
                            let name = syntax.names[Int(n)]
                            if !kws && Parser.isScalarFunction(name) {
                                let want = name == "pow" ? 2 : 1
                                guard args + 1 == want else {
                                    throw error(ft, "\(name) takes \(want) argument\(want == 1 ? "" : "s"), got \(args + 1)")
                                }
                            }
                            emit(.call(n, args + 1), ft)
                        }
                    case .subscriptAccess(let open, _, _, _, let itemStart, _):
                        if t.kind == .rparen { throw error(t, "expected ',' or ']' in the index, found \(t.described)") }
                        endItem(&pending, at: t, itemStart: itemStart ?? open, filled: true)
                        starting = true
                        expectOperand = true
                    default:
                        if t.kind == .comma {
                            throw error(t, "unexpected ',' inside parentheses that are not a function call")
                        }
                        pending.removeLast()  // a plain '(' … ')'
                    }
                case .colon, .rbracket:
                    reduceToBarrier(&pending)
                    guard case .subscriptAccess(let open, let items, let part, let mask, let itemStart, let partStart)? = pending.last else {
                        throw operatorExpected(t, previous, pending)
                    }
                    if t.kind == .colon {
                        if part == 2 { throw error(t, "expected ',' or ']' in the index, found \(t.described)") }
                        emit(.bound, partStart ?? t)
                        let bit: UInt8 = part == 0 ? Syntax.ItemParts.start : Syntax.ItemParts.stop
                        pending[pending.count - 1] = .subscriptAccess(open, items: items, part: part + 1, mask: mask | bit | Syntax.ItemParts.slice,
                                                                      itemStart: itemStart, partStart: nil)
                        starting = true
                        expectOperand = true
                    } else {
                        endItem(&pending, at: t, itemStart: itemStart ?? open, filled: true)
                    }
                case .end, .eof:
                    while let top = pending.last {
                        switch top {
                        case .paren(let open):
                            throw error(t, "unbalanced parenthesis: expected ')' to close the '(' at column \(open.column), found \(t.described)")
                        case .call(_, _, _, let parenColumn, _, _, _):
                            throw error(t, "unbalanced parenthesis: expected ')' to close the '(' at column \(parenColumn), found \(t.described)")
                        case .subscriptAccess:
                            throw error(t, "expected ',' or ']' in the index, found \(t.described)")
                        default:
                            pending.removeLast()
                            reduce(top)
                        }
                    }
                    if t.kind == .eof { ahead.insert(t, at: 0) }
                    return
                default:
                    throw operatorExpected(t, previous, pending)
                }
            }
            previous = t
        }
    }

    /// Closes the current item of the subscript on top of `pending` (at ',' or ']'), its last part
    /// non-empty when an operand was just read.
    mutating func endItem(_ pending: inout [Pending], at t: Token, itemStart: Token, filled: Bool) {
        guard case .subscriptAccess(let open, let items, let part, var mask, _, let partStart)? = pending.last else { return }
        if filled {
            emit(.bound, partStart ?? t)
            mask |= part == 0 ? Syntax.ItemParts.start : part == 1 ? Syntax.ItemParts.stop : Syntax.ItemParts.step
        }
        emit(.item(mask), itemStart)
        if t.kind == .rbracket {
            pending.removeLast()
            emit(.subscriptAccess(items + 1), open)
        } else {
            pending[pending.count - 1] = .subscriptAccess(open, items: items + 1, part: 0, mask: 0, itemStart: nil, partStart: nil)
        }
    }

    /// The error when `t` follows a complete operand: what may come next depends on the innermost open bracket.
    func operatorExpected(_ t: Token, _ previous: Token, _ pending: [Pending]) -> Diagnostic {
        for p in pending.reversed() {
            switch p {
            case .call(let n, _, _, _, _, _, _):
                return error(t, "expected ',' or ')' in the call of \(syntax.names[Int(n)]), found \(t.described)")
            case .subscriptAccess:
                return error(t, "expected ',' or ']' in the index, found \(t.described)")
            case .paren:
                return error(t, "expected an operator or ')' after \(previous.described), found \(t.described)")
            default:
                continue
            }
        }
        return error(t, "expected an operator or the end of the statement after \(previous.described), found \(t.described)")
    }

    func operandExpected(_ t: Token, _ previous: Token) -> Diagnostic {
        let what: String
        switch previous.kind {
        case .assign, .compound: what = "an expression after '\(previous.text)'"
        case .lparen: what = "an operand after '('"
        case .comma: what = "an argument after ','"
        default: what = "an operand after '\(previous.text)'"
        }
        return error(t, "expected \(what), found \(t.described)")
    }

    // MARK: literals

    /// A tensor literal after its `[`: numbers (with signs) or nested literals of equal shapes. Returns
    /// its shape; its values are appended to `values` (row-major) unless that is nil (a check only).
    mutating func literal(open: Token, values: inout [Double]?) throws(Diagnostic) -> [Int] {
        var rowShape: [Int]?
        var rows = 0, numbers = 0
        while true {
            var t = try next()
            if t.kind == .rbracket && rows == 0 && numbers == 0 {
                throw error(t, "an empty literal '[]' has no shape: write at least one number")
            }
            var sign = 1.0
            if t.kind == .minus || t.kind == .plus {
                if t.kind == .minus { sign = -1 }
                t = try next()
            }
            switch t.kind {
            case .number(let v):
                guard rows == 0 else { throw error(t, "a number among rows: every element of this literal must be a row '[…]'") }
                guard numbers < maxLiteralElements else { throw literalTooLarge(t) }
                values?.append(sign * v)
                numbers += 1
            case .lbracket where sign == 1:
                guard numbers == 0 else { throw error(t, "a row among numbers: every element of this literal must be a number") }
                depth += 1
                if depth > Parser.maxDepth { throw error(t, "expression nested too deeply (more than \(Parser.maxDepth) levels)") }
                let row = try literal(open: t, values: &values)
                depth -= 1
                if let r = rowShape, r != row {
                    throw error(t, "ragged literal: this row has shape \(Tensor.text(shape: row)), the first has \(Tensor.text(shape: r)); rows must have equal lengths")
                }
                rowShape = row
                rows += 1
                guard Tensor.saturatingCount([rows] + row) <= maxLiteralElements else { throw literalTooLarge(t) }
            default:
                throw error(t, "expected a number or '[' in the literal, found \(t.described)")
            }
            let sep = try next()
            if sep.kind == .rbracket { literalClose = sep; break }
            guard sep.kind == .comma else { throw error(sep, "expected ',' or ']' in the literal opened at column \(open.column), found \(sep.described)") }
        }
        guard let row = rowShape else { return [numbers] }
        let shape = [rows] + row
        guard shape.count <= Tensor.maxRank else { throw error(open, "a literal of rank \(shape.count): tensors have rank 4 at most") }
        return shape
    }

    /// The value of the tensor literal whose `[` is at `site` (checked by an earlier reading of the same bytes).
    static func literalValue(_ bytes: [UInt8], file: String, at site: Syntax.LiteralSite) throws(Diagnostic) -> Tensor {
        var parser = Parser(lexer: Lexer(bytes: bytes, file: file, resumingAt: site))
        let open = try parser.next()
        var values: [Double]? = []
        let shape = try parser.literal(open: open, values: &values)
        return Tensor(shape: shape, data: values ?? [])
    }

    func literalTooLarge(_ t: Token) -> Diagnostic {
        error(t, "this literal holds more than \(maxLiteralElements) elements, the limit of one tensor")
    }
}

extension Tensor {
    /// Reads a number or a tensor literal as the program language writes it (`2`, `-0.5`, `[[1, 2], [3, 4]]`).
    ///
    /// - Throws: ``Diagnostic`` located in `text` (named `file`).
    /// - Parameter maxElements: the most elements the literal may hold (default: the limit of every tensor).
    public static func literal(_ text: String, file: String = "<value>", maxElements: Int = Tensor.maxElements) throws(Diagnostic) -> Tensor {
        var parser = Parser(lexer: Lexer(bytes: Array(text.utf8), file: file))
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
        case .lbracket:
            var values: [Double]? = []
            let shape = try parser.literal(open: t, values: &values)
            value = Tensor(shape: shape, data: (values ?? []).map { sign * $0 })
        default: throw parser.error(t, "expected a number or a tensor literal '[…]', found \(t.described)")
        }
        let end = try parser.next()
        guard end.kind == .eof else { throw parser.error(end, "expected the end of the value, found \(end.described)") }
        return value
    }
}
