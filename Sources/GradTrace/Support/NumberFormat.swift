/// Locale-free number formatting: the same bytes on every machine.
///
/// Nothing here consults the locale or the C library's `printf`; digits come
/// from Swift's shortest round-trip representation and plain arithmetic.
public enum NumberFormat {
    /// The shortest text that reads back as the same double, without a trailing `.0`.
    ///
    /// ```swift
    /// NumberFormat.exact(676)     // "676"
    /// NumberFormat.exact(0.1)     // "0.1"
    /// NumberFormat.exact(-.nan)   // "nan"
    /// ```
    public static func exact(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == 0 { return "0" }
        if x == x.rounded(), Swift.abs(x) < 1e15 { return String(Int64(x)) }
        return x.description
    }

    /// JSON number text with full double precision; NaN and infinities as the strings `"nan"`, `"inf"`, `"-inf"`.
    public static func json(_ x: Double) -> String {
        if x.isNaN { return "\"nan\"" }
        if x.isInfinite { return x < 0 ? "\"-inf\"" : "\"inf\"" }
        if x == 0 { return x.sign == .minus ? "-0.0" : "0.0" }
        return x.description
    }

    /// A short readable form with at most `digits` significant digits, for labels and tables.
    ///
    /// Integers below 10¹⁵ print whole; numbers from 10⁻³ to 10⁶ print as plain decimals;
    /// others in scientific notation.
    ///
    /// ```swift
    /// NumberFormat.short(1248)                  // "1248"
    /// NumberFormat.short(0.31566666674646854)   // "0.3157"
    /// NumberFormat.short(-2.5e-7)               // "-2.5e-7"
    /// ```
    public static func short(_ x: Double, digits: Int = 4) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == 0 { return "0" }
        let ax = Swift.abs(x)
        if x == x.rounded(), ax < 1e15 { return String(Int64(x)) }
        let (mantissa, exponent) = decimalDigits(ax, significant: digits)
        let sign = x < 0 ? "-" : ""
        // After rounding the number may have become whole ("999.99996" → "1000").
        if exponent >= -3 && exponent < 6 {
            return sign + plain(mantissa, exponent)
        }
        var m = mantissa
        while m.count > 1 && m.last == "0" { m.removeLast() }
        var text = String(m.first!)
        if m.count > 1 { text += "." + m.dropFirst() }
        return sign + text + "e" + String(exponent)
    }

    /// Rounds `x > 0` to `significant` digits: the digit string and the decimal exponent of its first digit.
    static func decimalDigits(_ x: Double, significant: Int) -> (String, Int) {
        // Start from the shortest round-trip text, which is exact in decimal, and round that.
        let (digits, exponent) = shortestDigits(x)
        if digits.count <= significant { return (digits, exponent) }
        var kept = Array(digits.prefix(significant)).map { Int($0.asciiValue! - 48) }
        let next = Int(Array(digits)[significant].asciiValue! - 48)
        var exp = exponent
        if next >= 5 {
            var i = kept.count - 1
            while i >= 0 {
                kept[i] += 1
                if kept[i] < 10 { break }
                kept[i] = 0
                i -= 1
            }
            if i < 0 { kept.insert(1, at: 0); kept.removeLast(); exp += 1 }
        }
        return (kept.map { String($0) }.joined(), exp)
    }

    /// The decimal digits of Swift's shortest representation and the exponent of the first digit.
    static func shortestDigits(_ x: Double) -> (String, Int) {
        let text = x.description  // e.g. "0.31566666674646854", "1.5e-07", "12345.678"
        var mantissaPart = Substring(text)
        var exp = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissaPart = text[..<e]
            exp = Int(text[text.index(after: e)...]) ?? 0
        }
        var intDigits = ""
        var fracDigits = ""
        if let dot = mantissaPart.firstIndex(of: ".") {
            intDigits = String(mantissaPart[..<dot])
            fracDigits = String(mantissaPart[mantissaPart.index(after: dot)...])
        } else {
            intDigits = String(mantissaPart)
        }
        var all = intDigits + fracDigits
        var firstExp = intDigits.count - 1 + exp
        while all.first == "0" && all.count > 1 { all.removeFirst(); firstExp -= 1 }
        while all.last == "0" && all.count > 1 { all.removeLast() }
        return (all, firstExp)
    }

    /// Writes digits `d₀d₁…` with the first digit at decimal exponent `e` as a plain decimal.
    static func plain(_ digits: String, _ e: Int) -> String {
        var d = Array(digits)
        while d.count > 1 && d.last == "0" && d.count > e + 1 { d.removeLast() }
        if e < 0 {
            return "0." + String(repeating: "0", count: -e - 1) + String(d)
        }
        if d.count <= e + 1 {
            return String(d) + String(repeating: "0", count: e + 1 - d.count)
        }
        return String(d[0...e]) + "." + String(d[(e + 1)...])
    }
}
