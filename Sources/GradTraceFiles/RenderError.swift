/// Everything that can go wrong while drawing or writing, with what to do about it.
public enum RenderError: Error, Sendable, CustomStringConvertible {
    case graphviz(String)
    case cairo(String)
    case tooLarge(String)
    case write(path: String, reason: String)
    case wouldOverwriteInput(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .graphviz(let m): return "graphviz: \(m)"
        case .cairo(let m): return "cairo: \(m)"
        case .tooLarge(let m): return m
        case .write(let p, let r): return "cannot write '\(p)': \(r)"
        case .wouldOverwriteInput(let p): return "refusing to write over the input file '\(p)'"
        case .unsupported(let m): return m
        }
    }
}
