#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte-level pull reader of JSON (RFC 8259): the graph reader asks for the value it expects next
/// (an object's keys one by one, an array's elements, a string, a number) and skips what it does not
/// know without building it. Nothing recurses, nesting is capped at ``maxDepth``, and every error is
/// located by byte offset (turned into line and column only when reported).
///
/// ```swift
/// var s = JSONScanner(bytes, file: "g.json")        // bytes: `{"a": [1, 2]}` and a NUL
/// var first = true
/// while let key = try s.nextKey(&first) { … }        // "a"
/// ```
///
/// - Complexity: every method is linear in the bytes it consumes.
struct JSONScanner {
    /// The input.
    let bytes: UnsafeBufferPointer<UInt8>
    /// The number of input bytes.
    let count: Int
    let file: String
    /// The next byte to read.
    var offset = 0
    /// Objects and arrays open around the reader.
    private(set) var depth = 0

    /// Deeper nesting than this is refused (a graph needs 7 levels; tensors of rank 4 add 4).
    static let maxDepth = 64

    /// The kinds of JSON values, told from their first byte.
    enum Kind: Equatable {
        case object, array, string, number, bool, null

        /// How messages name a kind: "an object", "a number".
        var described: String {
            switch self {
            case .object: return "an object"
            case .array: return "an array"
            case .string: return "a string"
            case .number: return "a number"
            case .bool: return "a boolean"
            case .null: return "null"
            }
        }
    }

    /// Reads the first `count` bytes of `bytes`.
    init(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, file: String) {
        self.bytes = bytes
        self.count = count
        self.file = file
    }

    // MARK: errors

    /// A located syntax error at byte `at`.
    func error(at: Int, _ message: String) -> GraphJSONError {
        var line = 1, lineStart = 0
        var i = 0
        let end = Swift.min(at, count)
        while i < end {
            if bytes[i] == 10 { line += 1; lineStart = i + 1 }
            i += 1
        }
        var lineEnd = end
        while lineEnd < count && bytes[lineEnd] != 10 && bytes[lineEnd] != 13 { lineEnd += 1 }
        var column = 1
        for k in lineStart..<end where bytes[k] & 0xC0 != 0x80 { column += 1 }
        // A short excerpt around the place (graph files are often one long line), control and
        // format characters shown as '?' so that the excerpt cannot garble or reorder the terminal.
        var from = Swift.max(lineStart, end - 40)
        while from > lineStart && bytes[from] & 0xC0 == 0x80 { from -= 1 }
        var to = Swift.min(lineEnd, end + 40)
        while to < lineEnd && bytes[to] & 0xC0 == 0x80 { to += 1 }
        var excerpt = ""
        for u in String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self).unicodeScalars {
            switch u.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: excerpt.unicodeScalars.append("?")
            default: excerpt.unicodeScalars.append(u)
            }
        }
        var caret = 0
        for k in from..<end where bytes[k] & 0xC0 != 0x80 { caret += 1 }
        if from > lineStart { excerpt = "…" + excerpt; caret += 1 }
        if to < lineEnd { excerpt += "…" }
        return .syntax(file: file, line: line, column: column, message: message, excerpt: excerpt, caret: caret)
    }

    func describeByte(at i: Int) -> String {
        guard i < count else { return "the end of the input" }
        let b = bytes[i]
        if b < 32 || b == 127 { return "control character 0x" + String(b, radix: 16, uppercase: true) }
        if b < 128 { return "'\(Character(UnicodeScalar(b)))'" }
        var e = i + 1
        while e < count && bytes[e] & 0xC0 == 0x80 { e += 1 }
        return "'" + String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<e]), as: UTF8.self) + "'"
    }

    // MARK: structure

    mutating func skipSpace() {
        while offset < count {
            let b = bytes[offset]
            if b == 32 || b == 10 || b == 13 || b == 9 { offset += 1 } else { return }
        }
    }

    /// The kind of the next value (after blanks), or an error naming what is there.
    mutating func kind() throws(GraphJSONError) -> Kind {
        skipSpace()
        guard offset < count else { throw error(at: offset, "unexpected end of the input: expected a value") }
        switch bytes[offset] {
        case 123: return .object
        case 91: return .array
        case 34: return .string
        case 45, 48...57: return .number
        case 116, 102: return .bool
        case 110: return .null
        default: throw error(at: offset, "expected a JSON value, found \(describeByte(at: offset))")
        }
    }

    mutating func enter() throws(GraphJSONError) {
        depth += 1
        if depth > JSONScanner.maxDepth {
            throw error(at: offset, "nested more than \(JSONScanner.maxDepth) levels deep (a graph file needs a dozen)")
        }
    }

    /// Consumes `{`.
    mutating func beginObject(_ what: @autoclosure () -> String) throws(GraphJSONError) {
        let k = try kind()
        guard k == .object else { throw error(at: offset, "\(what()) must be an object, not \(k.described)") }
        try enter()
        offset += 1
    }

    /// Consumes `[`.
    mutating func beginArray(_ what: @autoclosure () -> String) throws(GraphJSONError) {
        let k = try kind()
        guard k == .array else { throw error(at: offset, "\(what()) must be an array, not \(k.described)") }
        try enter()
        offset += 1
    }

    /// Moves to the opening quote of the next key of the open object (past the `,` that separates members),
    /// or consumes the object's `}` and returns false. `first` is true before the first key.
    private mutating func startKey(_ first: inout Bool) throws(GraphJSONError) -> Bool {
        skipSpace()
        guard offset < count else { throw error(at: offset, "unexpected end of the input: expected '}' or a key") }
        if bytes[offset] == 125 {
            offset += 1
            depth -= 1
            return false
        }
        if !first {
            guard bytes[offset] == 44 else { throw error(at: offset, "expected ',' or '}' after a member, found \(describeByte(at: offset))") }
            offset += 1
            skipSpace()
        }
        first = false
        guard offset < count, bytes[offset] == 34 else {
            throw error(at: offset, "expected a key (a string in double quotes), found \(describeByte(at: offset))")
        }
        return true
    }

    /// The next key of the open object and its `:`, or nil at its `}` (consumed). `first` is true
    /// before the first key.
    mutating func nextKey(_ first: inout Bool) throws(GraphJSONError) -> String? {
        guard try startKey(&first) else { return nil }
        let key = try string()
        skipSpace()
        guard offset < count, bytes[offset] == 58 else { throw error(at: offset, "expected ':' after the key \"\(key)\", found \(describeByte(at: offset))") }
        offset += 1
        return key
    }

    /// As ``nextKey(_:)``, but a key without escapes comes back as its byte range, not built as a String
    /// (the graph reader matches the keys of 10⁶ nodes this way).
    mutating func nextRawKey(_ first: inout Bool) throws(GraphJSONError) -> Range<Int>? {
        guard try startKey(&first) else { return nil }
        let start = offset + 1
        var i = start
        while i < count && bytes[i] != 34 && bytes[i] != 92 && bytes[i] >= 32 && bytes[i] < 128 { i += 1 }
        let range: Range<Int>
        if i < count && bytes[i] == 34 {
            range = start..<i
            offset = i + 1
        } else {
            // Escapes or non-ASCII: checked by the full string reader; such a key matches no known key.
            _ = try string()
            range = start..<start
        }
        skipSpace()
        guard offset < count, bytes[offset] == 58 else { throw error(at: offset, "expected ':' after a key, found \(describeByte(at: offset))") }
        offset += 1
        return range
    }

    /// True when the bytes in `range` spell `word`.
    func matches(_ range: Range<Int>, _ word: StaticString) -> Bool {
        guard range.count == word.utf8CodeUnitCount else { return false }
        let w = word.utf8Start
        for k in 0..<range.count where bytes[range.lowerBound + k] != w[k] { return false }
        return true
    }

    /// The text of a raw key.
    func keyText(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }

    /// True when the open array has another element (positioned at it), false at its `]` (consumed).
    mutating func nextElement(_ first: inout Bool) throws(GraphJSONError) -> Bool {
        skipSpace()
        guard offset < count else { throw error(at: offset, "unexpected end of the input: expected ']' or a value") }
        if bytes[offset] == 93 {
            offset += 1
            depth -= 1
            return false
        }
        if !first {
            guard bytes[offset] == 44 else { throw error(at: offset, "expected ',' or ']' after an element, found \(describeByte(at: offset))") }
            offset += 1
        }
        first = false
        return true
    }

    /// After the last value: only blanks may follow.
    mutating func end() throws(GraphJSONError) {
        skipSpace()
        if offset < count { throw error(at: offset, "expected the end of the input after the graph's closing '}', found \(describeByte(at: offset))") }
    }

    /// Skips one value of any kind, checking its syntax, without building it. Iterative: nesting
    /// costs no stack, and ``maxDepth`` still applies.
    mutating func skipValue() throws(GraphJSONError) {
        var containers: [Bool] = []  // true: an object
        while true {
            switch try kind() {
            case .object:
                try enter(); offset += 1; skipSpace()
                if offset < count && bytes[offset] == 125 { offset += 1; depth -= 1 } else { containers.append(true); try skipKey(); continue }
            case .array:
                try enter(); offset += 1; skipSpace()
                if offset < count && bytes[offset] == 93 { offset += 1; depth -= 1 } else { containers.append(false); continue }
            case .string: _ = try string(keep: false)
            case .number: _ = try number()
            case .bool, .null: try literal()
            }
            // After a value: close what ends here, or move on to the next member or element.
            while let isObject = containers.last {
                skipSpace()
                guard offset < count else { throw error(at: offset, "unexpected end of the input inside \(isObject ? "an object" : "an array")") }
                let b = bytes[offset]
                if b == (isObject ? 125 : 93) { offset += 1; depth -= 1; containers.removeLast(); continue }
                guard b == 44 else { throw error(at: offset, "expected ',' or '\(isObject ? "}" : "]")', found \(describeByte(at: offset))") }
                offset += 1
                if isObject { try skipKey() }
                break
            }
            if containers.isEmpty { return }
        }
    }

    private mutating func skipKey() throws(GraphJSONError) {
        skipSpace()
        guard offset < count, bytes[offset] == 34 else {
            throw error(at: offset, "expected a key (a string in double quotes), found \(describeByte(at: offset))")
        }
        _ = try string(keep: false)
        try colon()
    }

    private mutating func colon() throws(GraphJSONError) {
        skipSpace()
        guard offset < count, bytes[offset] == 58 else { throw error(at: offset, "expected ':' after a key, found \(describeByte(at: offset))") }
        offset += 1
    }

    /// `true`, `false` or `null`.
    private mutating func literal() throws(GraphJSONError) {
        func matches(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard offset + n <= count else { return false }
            let w = word.utf8Start
            for k in 0..<n where bytes[offset + k] != w[k] { return false }
            return true
        }
        for word: StaticString in ["null", "true", "false"] where matches(word) {
            offset += word.utf8CodeUnitCount
            return
        }
        throw error(at: offset, "expected a JSON value (true, false or null?), found \(describeByte(at: offset))")
    }

    /// `true` or `false`.
    mutating func bool() throws(GraphJSONError) -> Bool {
        let t = bytes[offset] == 116
        try literal()
        return t
    }

    /// `null`, consumed, when it is next.
    mutating func null() throws(GraphJSONError) -> Bool {
        guard try kind() == .null else { return false }
        try literal()
        return true
    }

    // MARK: strings

    /// A string (the offset at its `"`), escapes resolved; a lone UTF-16 surrogate is an error.
    /// With `keep` false the string is checked and skipped, and "" comes back.
    mutating func string(keep: Bool = true) throws(GraphJSONError) -> String {
        let start = offset
        offset += 1
        var plain = true
        var i = offset
        while i < count {
            let b = bytes[i]
            if b == 34 { break }
            if b == 92 { plain = false; break }
            if b < 32 { throw error(at: i, "\(describeByte(at: i)) inside a string (write it as an escape such as \\n)") }
            i += 1
        }
        if plain {
            guard i < count else { throw error(at: start, "unterminated string") }
            try checkUTF8(offset..<i)
            let s = keep ? String(decoding: UnsafeBufferPointer(rebasing: bytes[offset..<i]), as: UTF8.self) : ""
            offset = i + 1
            return s
        }
        var out: [UInt8] = keep ? Array(bytes[offset..<i]) : []
        while true {
            guard i < count else { throw error(at: start, "unterminated string") }
            let b = bytes[i]
            if b == 34 { try checkUTF8(start + 1..<i); offset = i + 1; return keep ? String(decoding: out, as: UTF8.self) : "" }
            if b < 32 { throw error(at: i, "\(describeByte(at: i)) inside a string (write it as an escape such as \\n)") }
            if b != 92 { if keep { out.append(b) }; i += 1; continue }
            guard i + 1 < count else { throw error(at: i, "unterminated string") }
            let e = bytes[i + 1]
            switch e {
            case 34, 92, 47: out.append(e)
            case 98: out.append(8)
            case 102: out.append(12)
            case 110: out.append(10)
            case 114: out.append(13)
            case 116: out.append(9)
            case 117:
                var u = try hex4(at: i + 2)
                var used = 6
                if u >= 0xD800 && u <= 0xDBFF {
                    guard i + 7 < count, bytes[i + 6] == 92, bytes[i + 7] == 117,
                          let low = try? hex4(at: i + 8), low >= 0xDC00 && low <= 0xDFFF else {
                        throw error(at: i, "a lone UTF-16 surrogate \\u\(hexText(u)) in a string (a high surrogate must be followed by a low one)")
                    }
                    u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                    used = 12
                } else if u >= 0xDC00 && u <= 0xDFFF {
                    throw error(at: i, "a lone UTF-16 surrogate \\u\(hexText(u)) in a string (a low surrogate without a high one)")
                }
                out.append(contentsOf: Array(String(Character(UnicodeScalar(u)!)).utf8))
                i += used
                continue
            default:
                throw error(at: i, "unknown escape '\\\(Character(UnicodeScalar(e)))' in a string (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
            }
            i += 2
        }
    }

    /// Refuses bytes that are not UTF-8 in a string (the only place a JSON text may hold non-ASCII bytes).
    private func checkUTF8(_ range: Range<Int>) throws(GraphJSONError) {
        var i = range.lowerBound
        while i < range.upperBound {
            if bytes[i] < 0x80 { i += 1; continue }
            guard let len = UTF8Validation.sequenceLength(bytes, at: i, end: range.upperBound) else {
                throw error(at: i, "a string holds bytes that are not UTF-8 (is it a binary file?)")
            }
            i += len
        }
    }

    private func hexText(_ u: UInt32) -> String {
        let h = String(u, radix: 16, uppercase: true)
        return String(repeating: "0", count: Swift.max(0, 4 - h.count)) + h
    }

    private func hex4(at i: Int) throws(GraphJSONError) -> UInt32 {
        guard i + 4 <= count else { throw error(at: i, "expected four hexadecimal digits after \\u") }
        var v: UInt32 = 0
        for k in 0..<4 {
            let b = bytes[i + k]
            let d: UInt32
            switch b {
            case 48...57: d = UInt32(b - 48)
            case 65...70: d = UInt32(b - 55)
            case 97...102: d = UInt32(b - 87)
            default: throw error(at: i + k, "expected four hexadecimal digits after \\u, found \(describeByte(at: i + k))")
            }
            v = v << 4 | d
        }
        return v
    }

    // MARK: numbers

    /// A JSON number (strict grammar: no `+`, no leading zeros, digits after `.` and `e`). An
    /// overflowing literal (`1e400`) comes back infinite for the caller to name; its text is `text(of:)`.
    mutating func number() throws(GraphJSONError) -> Double {
        let start = offset
        var i = offset
        var negative = false
        if bytes[i] == 45 { negative = true; i += 1 }
        guard i < count, bytes[i] >= 48 && bytes[i] <= 57 else { throw error(at: i, "expected a digit after '-', found \(describeByte(at: i))") }
        // Whole numbers of up to 15 digits are exact in a double: the common case (ids, inputs, sizes).
        var mantissa: Int64 = 0
        var digits = 0
        if bytes[i] == 48 {
            i += 1
            if i < count && bytes[i] >= 48 && bytes[i] <= 57 { throw error(at: start, "a number with a leading zero ('0\(Character(UnicodeScalar(bytes[i])))…'): JSON writes no leading zeros") }
        } else {
            while i < count, bytes[i] >= 48 && bytes[i] <= 57 {
                if digits < 18 { mantissa = mantissa * 10 + Int64(bytes[i] - 48) }
                digits += 1
                i += 1
            }
        }
        var simple = digits <= 15
        if i < count && bytes[i] == 46 {
            simple = false
            i += 1
            let f = i
            while i < count, bytes[i] >= 48 && bytes[i] <= 57 { i += 1 }
            if i == f { throw error(at: i, "expected digits after the decimal point, found \(describeByte(at: i))") }
        }
        if i < count && (bytes[i] == 101 || bytes[i] == 69) {
            simple = false
            i += 1
            if i < count && (bytes[i] == 43 || bytes[i] == 45) { i += 1 }
            let f = i
            while i < count, bytes[i] >= 48 && bytes[i] <= 57 { i += 1 }
            if i == f { throw error(at: i, "expected digits after the exponent 'e', found \(describeByte(at: i))") }
        }
        offset = i
        if simple { return negative ? (mantissa == 0 ? -0.0 : -Double(mantissa)) : Double(mantissa) }
        // strtod on a NUL-terminated copy of the checked text (the C locale's '.' is JSON's).
        let length = i - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for k in 0..<length { buffer[k] = CChar(bitPattern: bytes[start + k]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// The source text from byte `start` to the offset (for messages: `1e400`).
    func text(from start: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<Swift.min(offset, count)]), as: UTF8.self)
    }
}
