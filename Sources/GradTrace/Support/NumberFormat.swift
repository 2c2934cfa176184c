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

    /// Terminal text: the shortest form that reads back as `x` rounded to 12 significant digits, so that
    /// float noise from the last bits goes (JSON keeps full precision, see ``json(_:)``).
    ///
    /// ```swift
    /// NumberFormat.text(2.0500000000000003)   // "2.05"
    /// NumberFormat.text(32.989999999999995)   // "32.99"
    /// NumberFormat.text(24.70408163265306)    // "24.7040816327"
    /// ```
    public static func text(_ x: Double) -> String {
        exact(rounded(x, significant: 12))
    }

    /// `x` rounded to `significant` decimal digits (exactly as its decimal text would be), locale-free.
    public static func rounded(_ x: Double, significant: Int) -> Double {
        guard x.isFinite, x != 0 else { return x }
        let (digits, exponent) = roundedDigits(Swift.abs(x), significant: significant)
        let text = (x < 0 ? "-" : "") + "0." + String(decoding: digits, as: UTF8.self) + "e" + String(exponent + 1)
        return Double(text) ?? x
    }

    /// `x` as 0 when it lies within `relative` (1e-12 by default) of `scale`, the largest magnitude of its
    /// tensor: rounding noise such as −2.78e−17 beside values near 1 reads as the 0 it stands for.
    public static func denoised(_ x: Double, scale: Double, relative: Double = 1e-12) -> Double {
        guard x.isFinite, scale.isFinite else { return x }
        return Swift.abs(x) <= relative * Swift.abs(scale) ? 0 : x
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
        let (mantissa, exponent) = roundedDigits(ax, significant: digits)
        let sign = x < 0 ? "-" : ""
        // After rounding the number may have become whole ("999.99996" → "1000").
        if exponent >= -3 && exponent < 6 {
            return sign + plain(mantissa, exponent)
        }
        var m = mantissa
        while m.count > 1 && m[m.count - 1] == 48 { m.removeLast() }
        var text: [UInt8] = [m[0]]
        if m.count > 1 { text.append(46); text += m.dropFirst() }
        return sign + String(decoding: text, as: UTF8.self) + "e" + String(exponent)
    }

    /// Rounds `x > 0` to `significant` digits: the digit string and the decimal exponent of its first digit.
    static func decimalDigits(_ x: Double, significant: Int) -> (String, Int) {
        let (d, e) = roundedDigits(x, significant: significant)
        return (String(decoding: d, as: UTF8.self), e)
    }

    /// `decimalDigits` as ASCII digits (the hot path of every label: no `Character` work).
    static func roundedDigits(_ x: Double, significant: Int) -> ([UInt8], Int) {
        // Start from the shortest round-trip text, which is exact in decimal, and round that.
        var (digits, exponent) = shortestDigitBytes(x)
        if digits.count <= significant { return (digits, exponent) }
        let next = digits[significant]
        digits.removeLast(digits.count - significant)
        if next >= 53 {  // "5"
            var i = digits.count - 1
            while i >= 0 {
                digits[i] += 1
                if digits[i] <= 57 { break }
                digits[i] = 48
                i -= 1
            }
            if i < 0 { digits.insert(49, at: 0); digits.removeLast(); exponent += 1 }
        }
        return (digits, exponent)
    }

    /// The decimal digits of Swift's shortest representation and the exponent of the first digit.
    static func shortestDigits(_ x: Double) -> (String, Int) {
        let (d, e) = shortestDigitBytes(x)
        return (String(decoding: d, as: UTF8.self), e)
    }

    static func shortestDigitBytes(_ x: Double) -> ([UInt8], Int) {
        let text = Array(x.description.utf8)  // e.g. "0.31566666674646854", "1.5e-07", "12345.678"
        var end = text.count
        var exp = 0
        if let e = text.firstIndex(where: { $0 == 101 || $0 == 69 }) {  // e E
            end = e
            exp = Int(String(decoding: text[(e + 1)...], as: UTF8.self)) ?? 0
        }
        var all: [UInt8] = []
        all.reserveCapacity(end)
        var intCount = 0, seenDot = false
        for c in text[0..<end] {
            if c == 46 { seenDot = true; continue }  // "."
            if c < 48 || c > 57 { continue }
            all.append(c)
            if !seenDot { intCount += 1 }
        }
        var firstExp = intCount - 1 + exp
        var start = 0
        while start < all.count - 1 && all[start] == 48 { start += 1; firstExp -= 1 }
        if start > 0 { all.removeFirst(start) }
        while all.count > 1 && all[all.count - 1] == 48 { all.removeLast() }
        if all.isEmpty { all = [48] }
        return (all, firstExp)
    }

    /// Writes digits `d₀d₁…` with the first digit at decimal exponent `e` as a plain decimal.
    static func plain(_ digits: String, _ e: Int) -> String { plain(Array(digits.utf8), e) }

    static func plain(_ digits: [UInt8], _ e: Int) -> String {
        var d = digits
        while d.count > 1 && d[d.count - 1] == 48 && d.count > e + 1 { d.removeLast() }
        var out: [UInt8] = []
        out.reserveCapacity(d.count + 8)
        if e < 0 {
            out += [48, 46]
            out += [UInt8](repeating: 48, count: -e - 1)
            out += d
        } else if d.count <= e + 1 {
            out += d
            out += [UInt8](repeating: 48, count: e + 1 - d.count)
        } else {
            out += d[0...e]
            out.append(46)
            out += d[(e + 1)...]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
