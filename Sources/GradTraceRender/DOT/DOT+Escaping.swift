/// Every escape of the DOT language, in one place. The table in `DOTEscapingTests` is its spec.
public enum DOTEscaping {
    /// An identifier: left bare when it is a plain DOT ID (letters, digits, `_`, not starting
    /// with a digit, not a keyword), quoted otherwise.
    public static func id(_ s: String) -> String {
        let keywords: Set<String> = ["node", "edge", "graph", "digraph", "subgraph", "strict"]
        var bare = !s.isEmpty && !keywords.contains(s.lowercased())
        for (i, u) in s.unicodeScalars.enumerated() where bare {
            let v = u.value
            let letter = (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 95
            let digit = v >= 48 && v <= 57
            if !(letter || (digit && i > 0)) { bare = false }
        }
        return bare ? s : quoted(s)
    }

    /// A double-quoted DOT string whose label text reads back exactly as `s`.
    ///
    /// `"` becomes `\"`; `\` becomes `\\` (Graphviz would otherwise read `\n`, `\N`, `\G`, …
    /// as escapes); a newline becomes `\n`, a centred line break; carriage returns and other
    /// control characters are dropped.
    ///
    /// Graphviz's scanner refuses a quoted string longer than 16,384 bytes, so a long text is
    /// written as several quoted pieces of at most ``maxPiece`` bytes joined by DOT's `+`
    /// (`"AAA…" + "AAA…"`), which Graphviz reads back as one string. Pieces break between
    /// characters, never inside an escape.
    ///
    /// ```swift
    /// DOTEscaping.quoted(#"say "hi" \ bye"#)   // "\"say \\\"hi\\\" \\\\ bye\""
    /// ```
    public static func quoted(_ s: String) -> String {
        var o = "\""
        o.reserveCapacity(s.utf8.count + 2)
        var piece = 0  // bytes in the current piece
        for u in s.unicodeScalars {
            if piece >= maxPiece - 8 {
                o += "\" + \""
                piece = 0
            }
            piece += u == "\"" || u == "\\" || u == "\n" ? 2 : UTF8.width(u)
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            default:
                if u.value < 0x20 || u.value == 0x7F { continue }
                o.unicodeScalars.append(u)
            }
        }
        return o + "\""
    }

    /// The longest quoted piece written, in bytes (Graphviz's limit is 16,384).
    public static let maxPiece = 8192

    /// Text for inside HTML-like labels: `&`, `<`, `>`, `"` as entities; control characters dropped.
    public static func html(_ s: String) -> String { markup(s, keepingLineBreaks: false) }

    /// XML/HTML character escaping, shared by DOT's HTML-like labels and the SVG and HTML writers.
    static func markup(_ s: String, keepingLineBreaks: Bool) -> String {
        var o = ""
        for u in s.unicodeScalars {
            switch u {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            default:
                if u.value < 0x20 || u.value == 0x7F {
                    guard keepingLineBreaks && (u == "\n" || u == "\t") else { continue }
                }
                o.unicodeScalars.append(u)
            }
        }
        return o
    }

    /// A number for DOT attributes (`pos`, `width`): fixed decimals, no locale, no exponent.
    public static func number(_ x: Double, decimals: Int = 2) -> String {
        guard x.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (x * scale).rounded() / scale
        var text = NumberText.fixed(r, decimals: decimals)
        if text.contains(".") {
            while text.last == "0" { text.removeLast() }
            if text.last == "." { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }
}

/// Fixed-point text without printf (so no locale can change it).
enum NumberText {
    static func fixed(_ x: Double, decimals: Int) -> String {
        let negative = x < 0
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((Swift.abs(x) * Double(scale)).rounded())
        let whole = scaled / scale
        let frac = scaled % scale
        var f = String(frac)
        while f.count < decimals { f = "0" + f }
        return (negative && scaled != 0 ? "-" : "") + String(whole) + (decimals > 0 ? "." + f : "")
    }
}
