extension Op {
    /// A short machine-readable name (`"mul"`, `"pow"`), used in JSON.
    public var name: String {
        switch self {
        case .input: return "input"
        case .constant: return "const"
        case .add: return "add"
        case .sub: return "sub"
        case .mul: return "mul"
        case .div: return "div"
        case .neg: return "neg"
        case .powConst, .pow: return "pow"
        case .exp: return "exp"
        case .log: return "log"
        case .sin: return "sin"
        case .cos: return "cos"
        case .tan: return "tan"
        case .tanh: return "tanh"
        case .sigmoid: return "sigmoid"
        case .relu: return "relu"
        case .sqrt: return "sqrt"
        case .abs: return "abs"
        }
    }

    /// The symbol drawn for the op: `+`, `−`, `×`, `÷`, `^2`, `tanh`, ….
    public var symbol: String {
        switch self {
        case .input: return "input"
        case .constant: return "const"
        case .add: return "+"
        case .sub: return "−"
        case .mul: return "×"
        case .div: return "÷"
        case .neg: return "−"
        case .powConst(let c): return "^" + NumberFormat.exact(c)
        case .pow: return "^"
        default: return name
        }
    }

    /// The op written out over operand texts: `a·b`, `a + b`, `tanh(a)`, `a²`.
    ///
    /// ```swift
    /// Op.mul.expression(["w", "x"])   // "w·x"
    /// ```
    public func expression(_ operands: [String]) -> String {
        let a = operands.first ?? "a"
        let b = operands.count > 1 ? operands[1] : "b"
        switch self {
        case .input, .constant: return a
        case .add: return "\(a) + \(b)"
        case .sub: return "\(a) − \(Self.wrap(b))"
        case .mul: return "\(Self.wrap(a))·\(Self.wrap(b))"
        case .div: return "\(Self.wrap(a))/\(Self.wrap(b))"
        case .neg: return "−\(Self.wrap(a))"
        case .powConst(let c): return "\(Self.wrap(a))" + Self.superscript(c)
        case .pow: return "\(Self.wrap(a))^\(Self.wrap(b))"
        case .sqrt: return "√\(Self.wrap(a))"
        case .abs: return "|\(a)|"
        case .sigmoid: return "σ(\(a))"
        default: return "\(name)(\(a))"
        }
    }

    /// The derivative of the op with respect to input `i`, written over the operand texts.
    ///
    /// ```swift
    /// Op.mul.derivativeFormula(wrt: 0, operands: ["w", "x"])            // "x"
    /// Op.powConst(2).derivativeFormula(wrt: 0, operands: ["u"])         // "2u"
    /// ```
    public func derivativeFormula(wrt i: Int, operands: [String]) -> String {
        derivativeFormula(wrt: i, first: operands.first, second: operands.count > 1 ? operands[1] : nil)
    }

    /// ``derivativeFormula(wrt:operands:)`` with the operands' texts given one by one (no array: a long
    /// trace writes millions of formulas).
    public func derivativeFormula(wrt i: Int, first: String?, second: String?) -> String {
        // Wrapped only when a formula uses them.
        var a: String { Self.wrap(first ?? "a") }
        var b: String { Self.wrap(second ?? "b") }
        switch self {
        case .input, .constant: return "0"
        case .add: return "1"
        case .sub: return i == 0 ? "1" : "−1"
        case .mul: return i == 0 ? b : a
        case .div: return i == 0 ? "1/\(b)" : "−\(a)/\(b)²"
        case .neg: return "−1"
        case .powConst(let c):
            if c == 2 { return "2\(a)" }
            if c == 1 { return "1" }
            if c == 0 { return "0" }
            return NumberFormat.exact(c) + "·" + a + Self.superscript(c - 1)
        case .pow: return i == 0 ? "\(b)·\(a)^(\(b)−1)" : "\(a)^\(b)·ln \(a)"
        case .exp: return "exp(\(first ?? "a"))"
        case .log: return "1/\(a)"
        case .sin: return "cos(\(first ?? "a"))"
        case .cos: return "−sin(\(first ?? "a"))"
        case .tan: return "1 + tan²(\(first ?? "a"))"
        case .tanh: return "1 − tanh²(\(first ?? "a"))"
        case .sigmoid: return "σ(\(first ?? "a"))·(1 − σ(\(first ?? "a")))"
        case .relu: return "[\(first ?? "a") > 0]"
        case .sqrt: return "1/(2√\(a))"
        case .abs: return "sign(\(first ?? "a"))"
        }
    }

    /// Parenthesises an operand text unless it is a plain name or number.
    static func wrap(_ s: String) -> String {
        var simple = true
        for ch in s.unicodeScalars {
            let v = ch.value
            let ok = (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 95 || v == 46
                || v > 127 && !" +−·/^()".unicodeScalars.contains(ch)
            if !ok { simple = false; break }
        }
        return simple ? s : "(\(s))"
    }

    /// Writes an exponent as superscript digits where it can (`2` → `²`, `-1` → `⁻¹`), else `^c`.
    static func superscript(_ c: Double) -> String {
        let text = NumberFormat.exact(c)
        let map: [Character: Character] = [
            "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹", "-": "⁻",
        ]
        var out = ""
        for ch in text {
            guard let s = map[ch] else { return "^" + text }
            out.append(s)
        }
        return out
    }
}
