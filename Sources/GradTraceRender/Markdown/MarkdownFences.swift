import GradTrace

/// A fenced code block found in a Markdown document by ``MarkdownFences/scan(_:)``.
///
/// Byte ranges index the scanned document, so everything outside ``range`` can be copied through
/// untouched (line endings, trailing whitespace and a missing final newline included).
public struct MarkdownFence: Sendable, Equatable {
    /// One line inside the fence.
    public struct ContentLine: Sendable, Equatable {
        /// The line as written in the document, without its line ending.
        public var text: String
        /// Spaces removed from its start (up to the opening fence's indentation, as CommonMark says).
        public var strippedIndent: Int

        public init(text: String, strippedIndent: Int) {
            self.text = text
            self.strippedIndent = strippedIndent
        }
    }

    /// The fence character: a backtick or a tilde.
    public var marker: Character
    /// How many fence characters open the block (3 or more); a closing fence needs at least as many.
    public var markerCount: Int
    /// Spaces before the opening fence (0…3).
    public var indent: Int
    /// The info string after the opening fence, without surrounding spaces and tabs.
    public var info: String
    /// The first word of the info string: the language (`gradtrace`, `python`, …), or empty.
    public var language: String
    /// The 1-based line of the opening fence.
    public var openingLine: Int
    /// The opening fence's line, without its line ending (for diagnostics).
    public var openingLineText: String
    /// The 1-based column (in Unicode scalars) where ``info`` starts on the opening line.
    public var infoColumn: Int
    /// From the start of the opening fence's line to the end of the closing fence's line, its line
    /// ending included; an unclosed fence runs to the end of the document.
    public var range: Range<Int>
    /// The lines between the fences.
    public var lines: [ContentLine]
    /// The content with indentation stripped and every line ending made `\n` (each line ends with one).
    public var content: [UInt8]
    /// False when the document ended before a closing fence.
    public var closed: Bool
    /// The line ending of the block's last line (`\n`, `\r\n`, `\r`, or empty at the end of a file
    /// without a final newline): a replacement ends with the same, so no newline is added or lost.
    public var trailingLineEnding: [UInt8]
    /// The line ending of the opening fence's line.
    public var openingLineEnding: [UInt8]
}

/// Finds fenced code blocks the way CommonMark does at the top level of a document.
///
/// - An opening fence is 3 or more backticks or tildes after at most 3 spaces; a backtick fence's
///   info string may not contain a backtick (then the line is not a fence).
/// - The block closes at a line of at least as many of the same character, after at most 3 spaces
///   and followed only by spaces or tabs; otherwise it runs to the end of the document.
/// - Content lines lose up to as many leading spaces as the opening fence had.
/// - Line endings are `\n`, `\r\n` or `\r`.
///
/// - HTML blocks (``MarkdownHTMLBlocks``: comments, `<pre>`, `<div>`, …) are skipped: a fence inside
///   one is HTML, copied through unchanged.
///
/// Not handled: fences nested in block quotes or list items (lines starting with `>` or indented
/// under a list marker by 4 or more columns); they are copied through as text.
public enum MarkdownFences {
    /// One physical line: `start..<contentEnd` is its text, `contentEnd..<end` its line ending.
    struct Line {
        var start: Int
        var contentEnd: Int
        var end: Int
    }

    static func lines(_ bytes: [UInt8]) -> [Line] {
        var out: [Line] = []
        var start = 0
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b == 10 {
                out.append(Line(start: start, contentEnd: i, end: i + 1))
                i += 1
                start = i
            } else if b == 13 {
                let end = (i + 1 < n && bytes[i + 1] == 10) ? i + 2 : i + 1
                out.append(Line(start: start, contentEnd: i, end: end))
                i = end
                start = i
            } else {
                i += 1
            }
        }
        if start < n { out.append(Line(start: start, contentEnd: n, end: n)) }
        return out
    }

    static let backtick = UInt8(ascii: "`"), tilde = UInt8(ascii: "~"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")

    /// The opening fence on a line: indentation, marker, count, and where the info string starts and ends.
    static func opening(_ bytes: [UInt8], _ line: Line) -> (indent: Int, marker: UInt8, count: Int, info: Range<Int>)? {
        var i = line.start
        while i < line.contentEnd && bytes[i] == space { i += 1 }
        let indent = i - line.start
        guard indent <= 3, i < line.contentEnd else { return nil }
        let marker = bytes[i]
        guard marker == backtick || marker == tilde else { return nil }
        let runStart = i
        while i < line.contentEnd && bytes[i] == marker { i += 1 }
        let count = i - runStart
        guard count >= 3 else { return nil }
        if marker == backtick && bytes[i..<line.contentEnd].contains(backtick) { return nil }
        var lo = i, hi = line.contentEnd
        while lo < hi && (bytes[lo] == space || bytes[lo] == tab) { lo += 1 }
        while hi > lo && (bytes[hi - 1] == space || bytes[hi - 1] == tab) { hi -= 1 }
        return (indent, marker, count, lo..<hi)
    }

    static func closes(_ bytes: [UInt8], _ line: Line, marker: UInt8, count: Int) -> Bool {
        var i = line.start
        while i < line.contentEnd && bytes[i] == space { i += 1 }
        guard i - line.start <= 3 else { return false }
        let runStart = i
        while i < line.contentEnd && bytes[i] == marker { i += 1 }
        guard i - runStart >= count else { return false }
        while i < line.contentEnd && (bytes[i] == space || bytes[i] == tab) { i += 1 }
        return i == line.contentEnd
    }

    /// Every fenced code block of a document, in order.
    ///
    /// - Complexity: O(length of the document).
    public static func scan(_ bytes: [UInt8]) -> [MarkdownFence] {
        let all = lines(bytes)
        var fences: [MarkdownFence] = []
        var k = 0
        var afterBlank = true
        while k < all.count {
            let line = all[k]
            // An HTML block (a comment, <pre>, <div>, …) is copied through whole: fences inside it are HTML.
            if let end = MarkdownHTMLBlocks.blockEnd(bytes, all, at: k, afterBlank: afterBlank) {
                k = end + 1
                afterBlank = false
                continue
            }
            guard let open = opening(bytes, line) else {
                afterBlank = MarkdownHTMLBlocks.isBlank(bytes, line)
                k += 1
                continue
            }
            var close = k + 1
            while close < all.count && !closes(bytes, all[close], marker: open.marker, count: open.count) { close += 1 }
            let closed = close < all.count
            let last = closed ? close : all.count - 1
            var contentLines: [MarkdownFence.ContentLine] = []
            var content: [UInt8] = []
            for c in (k + 1)..<max(k + 1, closed ? close : all.count) {
                let l = all[c]
                var s = l.start
                while s < l.contentEnd && s - l.start < open.indent && bytes[s] == space { s += 1 }
                contentLines.append(.init(text: String(decoding: bytes[l.start..<l.contentEnd], as: UTF8.self), strippedIndent: s - l.start))
                content.append(contentsOf: bytes[s..<l.contentEnd])
                content.append(10)
            }
            let infoText = String(decoding: bytes[open.info], as: UTF8.self)
            let language = infoText.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init) ?? ""
            let prefix = String(decoding: bytes[line.start..<open.info.lowerBound], as: UTF8.self)
            fences.append(MarkdownFence(
                marker: open.marker == backtick ? "`" : "~",
                markerCount: open.count,
                indent: open.indent,
                info: infoText,
                language: language,
                openingLine: k + 1,
                openingLineText: String(decoding: bytes[line.start..<line.contentEnd], as: UTF8.self),
                infoColumn: prefix.unicodeScalars.count + 1,
                range: line.start..<all[last].end,
                lines: contentLines,
                content: content,
                closed: closed,
                trailingLineEnding: Array(bytes[all[last].contentEnd..<all[last].end]),
                openingLineEnding: Array(bytes[line.contentEnd..<line.end])
            ))
            k = last + 1
            afterBlank = false
        }
        return fences
    }
}

/// The options of a ```` ```gradtrace ```` fence, read from its info string:
///
/// ```text
/// ```gradtrace format=png step=all alt="a neuron" title="o = tanh(n)" at="x1=2,w1=-3"
/// ```
///
/// `format=svg|png`, `step=K|final|all`, `animate`, `alt="…"`, `title="…"`, `at="NAME=VALUE,…"`,
/// `rankdir=LR|TB`, `theme=light|dark`, `mode=reverse|forward`, `wrt=NAME`, `wiggle=H`,
/// `color=state|grad`, `collapse=neuron|layer|module|module:N` (as `--collapse`), `labels=compact|numbers|full`, `max-width=PT|none` (default: the column, 660 pt), `width=N|N%` (the displayed width:
/// the block becomes `<img … width="N">`), `id=NAME` (name this block's program), `ref=NAME` (reuse the
/// program of an earlier block with `id=NAME` in the same file), `src=PATH` (read the program from a
/// file, relative to the Markdown file). Values may be quoted with `"` or `'`; inside quotes a backslash escapes the
/// quote character or a backslash.
public struct MarkdownBlockOptions: Sendable, Equatable {
    /// What to draw.
    public enum Step: Sendable, Equatable {
        /// The final state (the default).
        case final
        /// One step: 0 is the forward pass.
        case number(Int)
        /// One image per step, in order.
        case all
    }

    /// The image format.
    public enum ImageFormat: String, Sendable, CaseIterable { case svg, png }

    /// The pass drawn.
    public enum Mode: String, Sendable, CaseIterable { case reverse, forward }

    /// Every option name, in the order they are documented (``OptionSchema``'s fence names).
    public static var names: [String] { OptionSchema.fenceNames }

    /// nil: the document's default (`--format`).
    public var format: ImageFormat?
    public var step: Step = .final
    /// An animated SVG (format svg) or GIF (format png) of the whole pass.
    public var animate = false
    /// Alt text; nil: the captions.
    public var alt: String?
    /// A title drawn above the graph.
    public var title: String?
    /// Input values that override the program's, in the order given.
    public var at: [Override] = []
    /// The seed of `randn(…)` in a tensor program (`seed=`, as `--seed`).
    public var seed: UInt64 = 0
    public var rankdir: RenderStyle.RankDir = .auto
    /// Edge label wording (`labels=`).
    public var labels: RenderStyle.LabelMode = .compact
    /// The widest picture wanted, in points (`max-width=`); nil when not given, which means the
    /// column (``MarkdownTransform/column``); infinity for `max-width=none` (no limit).
    public var maxWidth: Double?

    /// The width the picture is drawn within: `max-width=`, else the column; nil for `max-width=none`.
    public var effectiveMaxWidth: Double? {
        let w = maxWidth ?? MarkdownTransform.column
        return w.isFinite ? w : nil
    }
    public var theme: ThemeName = .light
    public var mode: Mode = .reverse
    public var wrt: String?
    public var wiggle: Double?
    /// `collapse=`: draw each neuron, layer or module (to a depth) as one node, as `--collapse`.
    public var collapse: Grouping.Level?
    /// `color=grad`: colour nodes by log₁₀|derivative|.
    public var colorByGradient = false
    /// The displayed width, `600` (pixels) or `80%`; nil: the image's own size.
    public var width: String?
    /// A name for this block's program, so later blocks can reuse it with `ref=`.
    public var id: String?
    /// The `id=` of an earlier block whose program this block draws (its own body stays empty).
    public var ref: String?
    /// A program file to draw, relative to the Markdown file (its own body stays empty).
    public var src: String?
    /// Where each given option starts in the info string (0-based, in Unicode scalars), for error locations.
    public var positions: [String: Int] = [:]

    /// One `NAME=VALUE` of `at=`.
    public struct Override: Sendable, Equatable {
        public var name: String
        /// The number given (the first element of a tensor value).
        public var value: Double
        /// A tensor literal's value (`at="b=[0.5, -1]"`), nil for a number.
        public var tensor: Tensor?
        public init(name: String, value: Double) {
            self.name = name
            self.value = value
        }
        public init(name: String, tensor: Tensor) {
            self.name = name
            self.value = tensor.scalar
            self.tensor = tensor
        }
        /// The value as the program reads it.
        public var asTensor: Tensor { tensor ?? Tensor(value) }
    }

    /// `x=2, b=[1, 2]` cut at the commas outside brackets.
    static func overrideItems(_ value: Substring) -> [Substring] {
        var items: [Substring] = []
        var depth = 0
        var start = value.startIndex
        for i in value.indices {
            switch value[i] {
            case "[": depth += 1
            case "]": depth -= 1
            case "," where depth == 0:
                items.append(value[start..<i])
                start = value.index(after: i)
            default: break
            }
        }
        items.append(value[start...])
        return items.filter { !$0.allSatisfy { $0 == " " } }
    }

    public init() {}

    /// A problem in an info string, at a 0-based offset in Unicode scalars.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { message }
    }

    /// The key and value of every option word after the language, with their offsets.
    ///
    /// A bare word (`animate`) has a nil value.
    public static func words(_ info: String) throws(ParseError) -> [(key: String, value: String?, offset: Int)] {
        let s = Array(info.unicodeScalars)
        var i = 0
        func isSpace(_ c: Unicode.Scalar) -> Bool { c == " " || c == "\t" }
        // The language word.
        while i < s.count && !isSpace(s[i]) { i += 1 }
        var out: [(key: String, value: String?, offset: Int)] = []
        while true {
            while i < s.count && isSpace(s[i]) { i += 1 }
            guard i < s.count else { break }
            let start = i
            var key = ""
            while i < s.count && !isSpace(s[i]) && s[i] != "=" { key.unicodeScalars.append(s[i]); i += 1 }
            if key.isEmpty { throw ParseError(offset: start, message: "expected an option name before '='") }
            guard i < s.count && s[i] == "=" else {
                out.append((key, nil, start))
                continue
            }
            i += 1
            var value = ""
            if i < s.count && (s[i] == "\"" || s[i] == "'") {
                let quote = s[i]
                let open = i
                i += 1
                var closed = false
                while i < s.count {
                    let c = s[i]
                    if c == "\\" && i + 1 < s.count && (s[i + 1] == quote || s[i + 1] == "\\") {
                        value.unicodeScalars.append(s[i + 1])
                        i += 2
                    } else if c == quote {
                        closed = true
                        i += 1
                        break
                    } else {
                        value.unicodeScalars.append(c)
                        i += 1
                    }
                }
                if !closed { throw ParseError(offset: open, message: "the quoted value of '\(key)' has no closing \(quote)") }
                if i < s.count && !isSpace(s[i]) {
                    throw ParseError(offset: i, message: "expected a space after the quoted value of '\(key)'")
                }
            } else {
                while i < s.count && !isSpace(s[i]) { value.unicodeScalars.append(s[i]); i += 1 }
            }
            out.append((key, value, start))
        }
        return out
    }

    /// Reads the options of an info string (its first word, the language, is skipped).
    ///
    /// - Throws: ``ParseError`` for unknown or repeated options, missing or bad values, and
    ///   options that do not go together (`animate` with `step=`, `wrt=` without `mode=forward`, …).
    public static func parse(_ info: String) throws(ParseError) -> MarkdownBlockOptions {
        var o = MarkdownBlockOptions()
        for (key, value, offset) in try words(info) {
            guard names.contains(key) else {
                throw ParseError(offset: offset, message: "unknown option '\(key)' (the options are \(names.joined(separator: ", ")))")
            }
            if o.positions[key] != nil { throw ParseError(offset: offset, message: "option '\(key)' is given twice") }
            o.positions[key] = offset
            if key == "animate" {
                if value != nil { throw ParseError(offset: offset, message: "'animate' takes no value: write just animate") }
                o.animate = true
                continue
            }
            guard let value else { throw ParseError(offset: offset, message: "option '\(key)' needs a value: \(key)=\(example(key))") }
            func bad(_ what: String) -> ParseError {
                ParseError(offset: offset, message: "\(key)=\(value): \(what)")
            }
            func pick<T: RawRepresentable & CaseIterable>(_: T.Type) throws(ParseError) -> T where T.RawValue == String {
                if let v = T.allCases.first(where: { $0.rawValue.lowercased() == value.lowercased() }) { return v }
                throw bad("expected " + T.allCases.map(\.rawValue).joined(separator: " or "))
            }
            switch key {
            case "format": o.format = try pick(ImageFormat.self)
            case "step":
                switch value {
                case "final": o.step = .final
                case "all": o.step = .all
                default:
                    guard let k = Int(value), k >= 0 else { throw bad("expected a step number (0 is the forward pass), final or all") }
                    o.step = .number(k)
                }
            case "alt": o.alt = value
            case "title": o.title = value
            case "at":
                for item in Self.overrideItems(Substring(value)) {
                    let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let name = parts[0].trimmed(of: " ")
                    guard parts.count == 2, !name.isEmpty else { throw bad("expected NAME=VALUE pairs separated by commas") }
                    let text = parts[1].trimmed(of: " ")
                    if o.at.contains(where: { $0.name == name }) { throw bad("'\(name)' is given twice") }
                    if text.hasPrefix("[") || text.hasPrefix("-[") {
                        do {
                            o.at.append(Override(name: name, tensor: try Tensor.literal(String(text))))
                        } catch {
                            throw bad("'\(text)' is not a tensor literal: \(error.message)")
                        }
                        continue
                    }
                    guard let v = Double(text) else { throw bad("'\(text)' is not a number") }
                    o.at.append(Override(name: name, value: v))
                }
                if o.at.isEmpty { throw bad("expected NAME=VALUE pairs separated by commas") }
            case "rankdir": o.rankdir = try pick(RenderStyle.RankDir.self)
            case "theme": o.theme = try pick(ThemeName.self)
            case "mode": o.mode = try pick(Mode.self)
            case "wrt":
                guard !value.isEmpty else { throw bad("expected an input's name") }
                o.wrt = value
            case "wiggle":
                guard let h = Double(value), h.isFinite, h != 0 else { throw bad("expected a finite, non-zero step such as 0.01") }
                o.wiggle = h
            case "labels": o.labels = try pick(RenderStyle.LabelMode.self)
            case "collapse":
                guard let level = Grouping.Level(value) else {
                    throw bad("expected neuron, layer, module or module:N (N from 1 to \(Grouping.Level.maxDepth))")
                }
                o.collapse = level
            case "max-width":
                let range = OptionSchema.maxWidthRange
                if value == "none" { o.maxWidth = .infinity; break }
                guard let w = Double(value), range.contains(w) else {
                    throw bad("expected a width in points between \(Int(range.lowerBound)) and \(Int(range.upperBound)), or none")
                }
                o.maxWidth = w
            case "width":
                let digits = value.hasSuffix("%") ? String(value.dropLast()) : value
                guard let n = Int(digits), n > 0, n <= (value.hasSuffix("%") ? 100 : 100_000), digits.allSatisfy(\.isASCII) else {
                    throw bad("expected a width in pixels such as 600, or a percentage such as 80%")
                }
                o.width = value
            case "id", "ref":
                guard !value.isEmpty, value.unicodeScalars.allSatisfy({ $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "." }) else {
                    throw bad("expected a name of letters, digits, '-', '_' or '.'")
                }
                if key == "id" { o.id = value } else { o.ref = value }
            case "seed":
                guard let v = UInt64(value) else { throw bad("expected a seed: a whole number from 0 to 18446744073709551615") }
                o.seed = v
            case "src":
                guard !value.isEmpty else { throw bad("expected a program file, such as src=samples/neuron.grad") }
                o.src = value
            case "color":
                switch value.lowercased() {
                case "grad": o.colorByGradient = true
                case "state": o.colorByGradient = false
                default: throw bad("expected state or grad")
                }
            default: break
            }
        }
        if o.src != nil, o.ref != nil, let p = o.positions["ref"] {
            throw ParseError(offset: p, message: "give either src= or ref=, not both")
        }
        if o.animate, let p = o.positions["step"] {
            throw ParseError(offset: p, message: "'animate' shows every step: leave out step=")
        }
        if o.mode == .reverse {
            for key in ["wrt", "wiggle"] {
                if let p = o.positions[key] { throw ParseError(offset: p, message: "'\(key)=' belongs to mode=forward") }
            }
        } else if let p = o.positions["collapse"] {
            throw ParseError(offset: p, message: "'collapse=' draws the backward pass; it does not combine with mode=forward")
        } else if o.wrt == nil {
            throw ParseError(offset: o.positions["mode"] ?? 0, message: "mode=forward needs wrt=NAME (the input to take tangents with respect to)")
        }
        return o
    }

    static func example(_ key: String) -> String { OptionSchema.spec(fence: key)?.example ?? "\"…\"" }

    /// Every option that changes the picture, with defaults filled in, in a fixed order: two blocks
    /// with the same normalized options and program draw the same images. (`alt` is left out: it
    /// only changes the Markdown.)
    public func normalized(defaultFormat: ImageFormat) -> String {
        OptionSchema.key(self, defaultFormat: defaultFormat)
    }
}

extension Substring {
    func trimmed(of c: Character) -> String {
        var s = self
        while s.first == c { s.removeFirst() }
        while s.last == c { s.removeLast() }
        return String(s)
    }
}
