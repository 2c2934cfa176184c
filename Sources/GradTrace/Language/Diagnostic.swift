/// A located problem in a program: `NAME:LINE:COLUMN: error: MESSAGE`, the source line and a caret.
///
/// ```text
/// loss.grad:2:8: error: expected an operand after '+'
/// y = x +
///        ^
/// ```
public struct Diagnostic: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file path, `<stdin>` or `<expr>`.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column, counted in Unicode scalars.
    public var column: Int
    /// What went wrong and what was expected.
    public var message: String
    /// The text of the offending line (without its newline), for the caret display.
    public var sourceLine: String

    /// The most characters of the source line a diagnostic quotes.
    public static let excerptWidth = 120

    public init(file: String, line: Int, column: Int, message: String, sourceLine: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.sourceLine = sourceLine
    }

    /// The full three-line rendering.
    public var description: String {
        // A long line (a minified file, a file that is not a program at all) is quoted only around the
        // column: at most `excerptWidth` scalars, with '…' where it was cut, the caret still under its column.
        let scalars = Array(sourceLine.unicodeScalars)
        var lo = 0, hi = scalars.count, caretColumn = column
        if scalars.count > Diagnostic.excerptWidth {
            lo = max(0, min(column - 1 - Diagnostic.excerptWidth / 2, scalars.count - Diagnostic.excerptWidth))
            hi = min(scalars.count, lo + Diagnostic.excerptWidth)
            caretColumn = column - lo + (lo > 0 ? 1 : 0)
        }
        var shown = lo > 0 ? "…" : ""
        for s in scalars[lo..<hi] {
            // Control characters would garble the terminal, and bidirectional controls or other
            // invisible format characters would reorder or hide the line: show each as one '?'
            // (one scalar for one, so the caret stays under its column).
            let hidden: Bool
            switch s.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: hidden = true
            default: hidden = false
            }
            shown.unicodeScalars.append(hidden ? (s == "\t" ? " " : "?") : s)
        }
        if hi < scalars.count { shown += "…" }
        let caret = String(repeating: " ", count: max(0, caretColumn - 1)) + "^"
        return "\(file):\(line):\(column): error: \(message)\n\(shown)\n\(caret)"
    }

    /// The same problem moved into a host file: used when a program sits inside a Markdown fence,
    /// whose first line is line `lineOffset + 1` of `file`.
    public func relocated(file: String, lineOffset: Int) -> Diagnostic {
        var d = self
        d.file = file
        d.line += lineOffset
        return d
    }
}
