/// CommonMark's HTML blocks (spec 0.31, §4.6), so that a fence inside one (a commented-out block, a
/// `<pre>`, a `<div>`) is copied through as the HTML it is, never drawn.
///
/// | kind | starts with (after at most 3 spaces)                          | ends                                 |
/// |------|---------------------------------------------------------------|--------------------------------------|
/// | 1    | `<script`, `<pre`, `<style`, `<textarea` (then space, `>`, end) | the line holding its closing tag     |
/// | 2    | `<!--`                                                        | the line holding `-->`               |
/// | 3    | `<?`                                                          | the line holding `?>`                |
/// | 4    | `<!` and a letter                                             | the line holding `>`                 |
/// | 5    | `<![CDATA[`                                                   | the line holding `]]>`               |
/// | 6    | `<` or `</` and a block tag name (`div`, `table`, `p`, …)     | before a blank line                  |
/// | 7    | a whole open or closing tag alone on its line, not after text | before a blank line                  |
///
/// A kind-7 block cannot interrupt a paragraph; here that is approximated by "the line before is blank
/// (or the document starts)".
enum MarkdownHTMLBlocks {
    static let rawTags = ["script", "pre", "style", "textarea"]
    static let blockTags: Set<String> = [
        "address", "article", "aside", "base", "basefont", "blockquote", "body", "caption", "center", "col",
        "colgroup", "dd", "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure",
        "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hr",
        "html", "iframe", "legend", "li", "link", "main", "menu", "menuitem", "nav", "noframes", "ol",
        "optgroup", "option", "p", "param", "search", "section", "summary", "table", "tbody", "td", "tfoot",
        "th", "thead", "title", "tr", "track", "ul",
    ]

    /// When an HTML block starts at line `k`, the index of its last line; nil otherwise.
    ///
    /// - Complexity: O(length of the block).
    static func blockEnd(_ bytes: [UInt8], _ lines: [MarkdownFences.Line], at k: Int, afterBlank: Bool) -> Int? {
        let line = lines[k]
        var i = line.start
        while i < line.contentEnd && bytes[i] == 32 { i += 1 }
        guard i - line.start <= 3, i < line.contentEnd, bytes[i] == UInt8(ascii: "<") else { return nil }
        let text = Array(bytes[i..<line.contentEnd])
        let lower = text.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 }

        func untilLine(containing end: String) -> Int {
            let needle = Array(end.utf8)
            for j in k..<lines.count {
                let l = lines[j]
                let from = j == k ? i : l.start
                var hay = Array(bytes[from..<l.contentEnd])
                if end.hasPrefix("</") { hay = hay.map { ($0 >= 65 && $0 <= 90) ? $0 + 32 : $0 } }
                if contains(hay, needle) { return j }
            }
            return lines.count - 1
        }
        func untilBlank() -> Int {
            var j = k + 1
            while j < lines.count && !isBlank(bytes, lines[j]) { j += 1 }
            return j - 1
        }

        // Kind 1: raw-text elements.
        for tag in rawTags {
            let open = Array(("<" + tag).utf8)
            if lower.starts(with: open) {
                let after = lower.count > open.count ? lower[open.count] : nil
                if after == nil || after == 32 || after == 9 || after == UInt8(ascii: ">") {
                    return untilLine(containing: "</" + tag + ">")
                }
            }
        }
        if lower.starts(with: Array("<!--".utf8)) { return untilLine(containing: "-->") }
        if lower.starts(with: Array("<?".utf8)) { return untilLine(containing: "?>") }
        if lower.starts(with: Array("<![CDATA[".utf8)) { return untilLine(containing: "]]>") }
        if lower.count > 2, lower[1] == UInt8(ascii: "!"), isLetter(lower[2]) { return untilLine(containing: ">") }

        // Kind 6: block-level tag names.
        var j = 1
        if j < lower.count && lower[j] == UInt8(ascii: "/") { j += 1 }
        let nameStart = j
        while j < lower.count && (isLetter(lower[j]) || isDigit(lower[j])) { j += 1 }
        let name = String(decoding: lower[nameStart..<j], as: UTF8.self)
        if blockTags.contains(name) {
            let rest = lower[j...]
            if rest.isEmpty || rest.first == 32 || rest.first == 9 || rest.first == UInt8(ascii: ">")
                || rest.starts(with: Array("/>".utf8)) {
                return untilBlank()
            }
        }

        // Kind 7: one complete tag alone on the line, not interrupting a paragraph.
        if afterBlank, !rawTags.contains(name), let end = completeTag(text), text[end...].allSatisfy({ $0 == 32 || $0 == 9 }) {
            return untilBlank()
        }
        return nil
    }

    static func isBlank(_ bytes: [UInt8], _ line: MarkdownFences.Line) -> Bool {
        bytes[line.start..<line.contentEnd].allSatisfy { $0 == 32 || $0 == 9 }
    }

    static func isLetter(_ b: UInt8) -> Bool { (b >= 97 && b <= 122) || (b >= 65 && b <= 90) }
    static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count else { return false }
        for s in 0...(hay.count - needle.count) where hay[s] == needle[0] {
            if Array(hay[s..<(s + needle.count)]) == needle { return true }
        }
        return false
    }

    /// The end (exclusive) of a complete open tag (`<a href="x">`, `<br/>`) or closing tag (`</span >`)
    /// at the start of `t`, by CommonMark's grammar; nil when `t` does not start with one.
    static func completeTag(_ t: [UInt8]) -> Int? {
        var i = 1
        func skipSpace() -> Bool {
            let s = i
            while i < t.count && (t[i] == 32 || t[i] == 9) { i += 1 }
            return i > s
        }
        if i < t.count && t[i] == UInt8(ascii: "/") {
            i += 1
            guard i < t.count, isLetter(t[i]) else { return nil }
            while i < t.count && (isLetter(t[i]) || isDigit(t[i]) || t[i] == UInt8(ascii: "-")) { i += 1 }
            _ = skipSpace()
            return i < t.count && t[i] == UInt8(ascii: ">") ? i + 1 : nil
        }
        guard i < t.count, isLetter(t[i]) else { return nil }
        while i < t.count && (isLetter(t[i]) || isDigit(t[i]) || t[i] == UInt8(ascii: "-")) { i += 1 }
        while true {
            let spaced = skipSpace()
            guard i < t.count else { return nil }
            if t[i] == UInt8(ascii: ">") { return i + 1 }
            if t[i] == UInt8(ascii: "/") { return i + 1 < t.count && t[i + 1] == UInt8(ascii: ">") ? i + 2 : nil }
            // An attribute: a name, then optionally = and a value; it must follow white space.
            guard spaced, isLetter(t[i]) || t[i] == UInt8(ascii: "_") || t[i] == UInt8(ascii: ":") else { return nil }
            while i < t.count && (isLetter(t[i]) || isDigit(t[i]) || "_.:-".utf8.contains(t[i])) { i += 1 }
            let save = i
            _ = skipSpace()
            if i < t.count && t[i] == UInt8(ascii: "=") {
                i += 1
                _ = skipSpace()
                guard i < t.count else { return nil }
                let q = t[i]
                if q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") {
                    i += 1
                    while i < t.count && t[i] != q { i += 1 }
                    guard i < t.count else { return nil }
                    i += 1
                } else {
                    let s = i
                    while i < t.count && !" \t\"'=<>`".utf8.contains(t[i]) { i += 1 }
                    guard i > s else { return nil }
                }
            } else {
                i = save
            }
        }
    }
}
