/// A token of the program language.
enum TokenKind: Equatable {
    case number(Double)
    case name(String)
    case plus, minus, star, slash, caret   // `**` lexes as caret
    case lparen, rparen, comma
    case lbracket, rbracket, at             // [ ] @ (tensor programs)
    case colon                              // `:` of a slice (tensor programs)
    case compare(Comparison)                // < <= > >= == != (tensor programs: masks)
    case assign
    case compound(Character)                // += -= *= /=
    case end                                // newline or ';'
    case eof
}

/// A comparison operator; each gives a 0/1 mask that carries no gradient.
enum Comparison: String, CaseIterable {
    case lt = "<", le = "<=", gt = ">", ge = ">=", eq = "==", ne = "!="

    /// The registry's function for it (`lt`, `le`, …, PyTorch's names).
    var function: String {
        switch self {
        case .lt: return "lt"
        case .le: return "le"
        case .gt: return "gt"
        case .ge: return "ge"
        case .eq: return "eq"
        case .ne: return "ne"
        }
    }
}

struct Token {
    var kind: TokenKind
    /// Byte offset of the token's first byte.
    var offset: Int
    var line: Int
    var column: Int
    /// The token's source text, for messages.
    var text: String
}

extension Token {
    /// How messages name the token: `'x'`, `';'`, "the end of the line", "the end of the input".
    var described: String {
        switch kind {
        case .end: return text == ";" ? "';'" : "the end of the line"
        case .eof: return "the end of the input"
        default: return "'\(text)'"
        }
    }
}

/// Turns program bytes into tokens, one at a time (no token array, so 10⁶-line programs stay small).
struct Lexer {
    let bytes: [UInt8]
    let file: String
    private(set) var offset = 0
    private(set) var line = 1
    private(set) var lineStart = 0
    /// Column bookkeeping: the column of byte `colOffset` on the current line (keeps long lines O(n)).
    private var colOffset = 0
    private var colValue = 1

    init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    /// A lexer that resumes at a token read before (``Syntax/LiteralSite``): its tokens carry the
    /// same lines and columns as the first reading's.
    init(bytes: [UInt8], file: String, resumingAt site: Syntax.LiteralSite) {
        self.bytes = bytes
        self.file = file
        offset = Int(site.offset)
        line = Int(site.line)
        lineStart = Int(site.lineStart)
        colOffset = lineStart
    }

    /// Where token `t` (just read from this lexer) starts, for a later ``init(bytes:file:resumingAt:)``.
    func site(of t: Token) -> Syntax.LiteralSite {
        var start = lineStart
        if t.line != line {
            // Not on the current line (read before a line end that was peeked): count back to its line's start.
            start = t.offset
            while start > 0 && bytes[start - 1] != 10 { start -= 1 }
        }
        return Syntax.LiteralSite(offset: Int32(truncatingIfNeeded: t.offset), line: Int32(truncatingIfNeeded: t.line),
                                  lineStart: Int32(truncatingIfNeeded: start))
    }

    /// The column of byte offset `o` (at or after the last asked) on the current line, in Unicode scalars (1-based).
    mutating func column(of o: Int) -> Int {
        if colOffset < lineStart || colOffset > o { colOffset = lineStart; colValue = 1 }
        var i = colOffset
        while i < o && i < bytes.count {
            if bytes[i] & 0xC0 != 0x80 { colValue += 1 }
            i += 1
        }
        colOffset = i
        return colValue
    }

    /// The text of the line that contains byte offset `o`, without its newline.
    static func lineText(_ bytes: [UInt8], containing o: Int) -> String {
        var s = min(o, bytes.count)
        while s > 0 && bytes[s - 1] != 10 { s -= 1 }
        var e = min(o, bytes.count)
        while e < bytes.count && bytes[e] != 10 { e += 1 }
        var slice = Array(bytes[s..<e])
        if slice.last == 13 { slice.removeLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    func diagnostic(at offset: Int, line: Int, column: Int, _ message: String) -> Diagnostic {
        Diagnostic(file: file, line: line, column: column, message: message,
                   sourceLine: Lexer.lineText(bytes, containing: offset))
    }

    func diagnostic(at t: Token, _ message: String) -> Diagnostic {
        diagnostic(at: t.offset, line: t.line, column: t.column, message)
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    @inline(__always) static func isNameStart(_ b: UInt8) -> Bool {
        (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95 || b >= 0xC0
    }
    /// Name bytes: letters, digits, `_`, non-ASCII, and `.` inside a name (`l1.n2.w0`, as the nn helpers name parameters).
    @inline(__always) static func isNameByte(_ b: UInt8) -> Bool { isNameStart(b) || isDigit(b) || (b >= 0x80) || b == 46 }

    mutating func next() throws(Diagnostic) -> Token {
        // Skip blanks and comments.
        while offset < bytes.count {
            let b = bytes[offset]
            // A CR is a blank, except before LF, where CR LF is one line end (located at the CR, as LF alone).
            let crlf = b == 13 && offset + 1 < bytes.count && bytes[offset + 1] == 10
            if b == 32 || b == 9 || (b == 13 && !crlf) { offset += 1; continue }
            if b == 35 {  // '#' to end of line
                while offset < bytes.count && bytes[offset] != 10
                    && !(bytes[offset] == 13 && offset + 1 < bytes.count && bytes[offset + 1] == 10) { offset += 1 }
                continue
            }
            break
        }
        let start = offset
        let col = column(of: start)
        func tok(_ k: TokenKind, _ len: Int) -> Token {
            let text = String(decoding: bytes[start..<min(start + len, bytes.count)], as: UTF8.self)
            return Token(kind: k, offset: start, line: line, column: col, text: text)
        }
        guard offset < bytes.count else { return Token(kind: .eof, offset: start, line: line, column: col, text: "end of input") }
        let b = bytes[offset]
        let next: UInt8 = offset + 1 < bytes.count ? bytes[offset + 1] : 0
        switch b {
        case 10, 13:  // LF, or the CR of CR LF (a lone CR was skipped as a blank)
            let t = Token(kind: .end, offset: start, line: line, column: col, text: "end of line")
            offset += b == 13 ? 2 : 1
            line += 1
            lineStart = offset
            return t
        case 59: offset += 1; return tok(.end, 1)                          // ;
        case 40: offset += 1; return tok(.lparen, 1)
        case 41: offset += 1; return tok(.rparen, 1)
        case 44: offset += 1; return tok(.comma, 1)
        case 91: offset += 1; return tok(.lbracket, 1)                     // [
        case 93: offset += 1; return tok(.rbracket, 1)                     // ]
        case 64: offset += 1; return tok(.at, 1)                           // @
        case 94: offset += 1; return tok(.caret, 1)                        // ^
        case 61:                                                           // = ==
            if next == 61 { offset += 2; return tok(.compare(.eq), 2) }
            offset += 1; return tok(.assign, 1)
        case 60, 62:                                                       // < <= > >=
            let eq = next == 61
            offset += eq ? 2 : 1
            return tok(.compare(b == 60 ? (eq ? .le : .lt) : (eq ? .ge : .gt)), eq ? 2 : 1)
        case 33 where next == 61: offset += 2; return tok(.compare(.ne), 2)  // !=
        case 58: offset += 1; return tok(.colon, 1)                        // :
        case 43, 45, 42, 47:                                               // + - * /
            if next == 61 {
                offset += 2
                return tok(.compound(Character(UnicodeScalar(b))), 2)
            }
            if b == 42 && next == 42 { offset += 2; return tok(.caret, 2) }  // **
            offset += 1
            switch b {
            case 43: return tok(.plus, 1)
            case 45: return tok(.minus, 1)
            case 42: return tok(.star, 1)
            default: return tok(.slash, 1)
            }
        default:
            if Lexer.isDigit(b) || (b == 46 && Lexer.isDigit(next)) { return try number(start: start, column: col) }
            if Lexer.isNameStart(b) {
                var e = offset
                while e < bytes.count && Lexer.isNameByte(bytes[e]) { e += 1 }
                let name = String(decoding: bytes[start..<e], as: UTF8.self)
                if bytes[start..<e].contains(where: { $0 >= 0x80 }) { try checkScalars(of: name, start: start, column: col) }
                offset = e
                return Token(kind: .name(name), offset: start, line: line, column: col, text: name)
            }
            let scalarText: String
            if b < 32 || b == 127 {
                scalarText = "control character 0x" + String(b, radix: 16, uppercase: true)
            } else {
                var e = offset + 1
                while e < bytes.count && bytes[e] & 0xC0 == 0x80 { e += 1 }
                scalarText = "'" + String(decoding: bytes[offset..<e], as: UTF8.self) + "'"
            }
            throw diagnostic(at: start, line: line, column: col,
                             "unexpected \(scalarText): expected a name, a number, an operator (+ - * / ^ @ < > == !=), parentheses or brackets")
        }
    }

    /// Refuses a name holding a character that cannot be seen or that reorders text: format
    /// characters (bidirectional controls, zero-width spaces and joiners, U+FEFF), spaces of any
    /// kind (no-break, thin, ideographic), line and paragraph separators, and C1 controls. Two
    /// names that look the same must be the same name, and a name must not reorder the line
    /// it is echoed in. The error points at the character.
    private mutating func checkScalars(of name: String, start: Int, column col: Int) throws(Diagnostic) {
        var c = col
        for u in name.unicodeScalars {
            switch u.properties.generalCategory {
            case .format, .spaceSeparator, .lineSeparator, .paragraphSeparator, .control:
                let hex = String(u.value, radix: 16, uppercase: true)
                let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                let what = u.properties.name.map { "\(code) \($0)" } ?? code
                let shown = name.unicodeScalars.map { s -> String in
                    s == u ? "<\(code)>" : String(s)
                }.joined()
                throw diagnostic(at: start, line: line, column: c,
                                 "the name '\(shown)' contains \(what), an invisible or text-reordering character: names may hold letters, digits, '_' and '.'")
            default:
                c += 1
            }
        }
    }

    private mutating func number(start: Int, column col: Int) throws(Diagnostic) -> Token {
        var e = start
        while e < bytes.count && Lexer.isDigit(bytes[e]) { e += 1 }
        if e < bytes.count && bytes[e] == 46 {
            e += 1
            while e < bytes.count && Lexer.isDigit(bytes[e]) { e += 1 }
        }
        if e < bytes.count && (bytes[e] == 101 || bytes[e] == 69) {  // e E
            var f = e + 1
            if f < bytes.count && (bytes[f] == 43 || bytes[f] == 45) { f += 1 }
            let digitsStart = f
            while f < bytes.count && Lexer.isDigit(bytes[f]) { f += 1 }
            if f == digitsStart {
                var end = f
                while end < bytes.count && Lexer.isNameByte(bytes[end]) { end += 1 }
                let text = String(decoding: bytes[start..<end], as: UTF8.self)
                throw diagnostic(at: start, line: line, column: col,
                                 "malformed number '\(text)': expected digits after the exponent 'e'")
            }
            e = f
        }
        // A number glued to letters (`2x`, `3abc`) is a typo, not an implicit product.
        if e < bytes.count && Lexer.isNameStart(bytes[e]) {
            var end = e
            while end < bytes.count && Lexer.isNameByte(bytes[end]) { end += 1 }
            let text = String(decoding: bytes[start..<end], as: UTF8.self)
            throw diagnostic(at: start, line: line, column: col,
                             "malformed number '\(text)': write a product as '2*x'")
        }
        let text = String(decoding: bytes[start..<e], as: UTF8.self)
        guard let v = Double(text), v.isFinite else {
            throw diagnostic(at: start, line: line, column: col, "number '\(text)' is out of range for a double")
        }
        offset = e
        return Token(kind: .number(v), offset: start, line: line, column: col, text: text)
    }
}
