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

    public init(file: String, line: Int, column: Int, message: String, sourceLine: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.sourceLine = sourceLine
    }

    /// The full three-line rendering.
    public var description: String {
        var shown = ""
        for s in sourceLine.unicodeScalars {
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
        let caret = String(repeating: " ", count: max(0, column - 1)) + "^"
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
