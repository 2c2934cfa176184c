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
        String(unsafeUninitializedCapacity: shortCapacity) { short(x, digits: digits, into: $0.baseAddress!) }
    }

    /// The most bytes ``short(_:digits:into:)`` writes for up to 17 significant digits.
    public static let shortCapacity = 40

    /// Writes ``short(_:digits:)``'s text as ASCII into `out` (room for ``shortCapacity`` bytes) and
    /// returns its length: the one implementation of that format, with no allocation but the
    /// shortest round-trip digits' own (long reports format millions of numbers).
    public static func short(_ x: Double, digits: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        precondition(digits >= 1 && digits <= 17, "1 to 17 significant digits")
        if x.isNaN { return copy("nan", to: out) }
        if x.isInfinite { return copy(x < 0 ? "-inf" : "inf", to: out) }
        if x == 0 { out[0] = 48; return 1 }
        let ax = Swift.abs(x)
        var n = 0
        if x < 0 { out[0] = 45; n = 1 }  // "-"
        if x == x.rounded(), ax < 1e15 { return n + writeInteger(UInt64(ax), to: out + n) }
        var d: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // room for 32 digits
        return withUnsafeMutableBytes(of: &d) { raw -> Int in
            let m = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var (count, exponent) = roundedDigits(ax, significant: digits, into: m)
            // After rounding the number may have become whole ("999.99996" → "1000").
            if exponent >= -3 && exponent < 6 { return n + plain(m, count, exponent, into: out + n) }
            while count > 1 && m[count - 1] == 48 { count -= 1 }
            out[n] = m[0]; n += 1
            if count > 1 {
                out[n] = 46; n += 1  // "."
                (out + n).update(from: m + 1, count: count - 1); n += count - 1
            }
            out[n] = 101; n += 1  // "e"
            if exponent < 0 { out[n] = 45; n += 1 }
            return n + writeInteger(UInt64(Swift.abs(exponent)), to: out + n)
        }
    }

    /// An upper bound of the length of ``short(_:digits:)``'s text for `x`, without formatting it (exact for
    /// whole numbers and non-finite values): a table can skip formatting a value that cannot widen its column.
    public static func shortLengthBound(_ x: Double, digits: Int) -> Int {
        if x.isNaN { return 3 }
        if x.isInfinite { return x < 0 ? 4 : 3 }
        if x == 0 { return 1 }
        let ax = Swift.abs(x)
        let sign = x < 0 ? 1 : 0
        if x == x.rounded(), ax < 1e15 { return sign + integerLength(UInt64(ax)) }
        // The first digit's exponent after rounding is floor(log10(ax)) or one more; with ax = m·2^e2, m in
        // [1, 2), floor(log10(ax)) is k or k + 1 for k = floor(e2·log10 2) (never an integer but at 0, so
        // the product's rounding cannot cross one).
        let k = Int((Double(Int(ax.exponent)) * 0.301029995663981195).rounded(.down))
        var bound = 0
        for e in k...(k + 2) {
            let b: Int
            if e >= -3 && e < 6 {
                b = e < 0 ? 1 - e + digits : Swift.max(e + 1, digits + 1)
            } else {
                b = (digits > 1 ? digits + 1 : 1) + 1 + (e < 0 ? 1 : 0) + integerLength(UInt64(Swift.abs(e)))
            }
            bound = Swift.max(bound, b)
        }
        return sign + bound
    }

    private static func copy(_ s: StaticString, to out: UnsafeMutablePointer<UInt8>) -> Int {
        out.update(from: s.utf8Start, count: s.utf8CodeUnitCount)
        return s.utf8CodeUnitCount
    }

    private static func integerLength(_ v: UInt64) -> Int {
        var v = v, n = 1
        while v >= 10 { v /= 10; n += 1 }
        return n
    }

    /// Decimal digits of `v`; returns their count.
    static func writeInteger(_ v: UInt64, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let n = integerLength(v)
        var v = v, i = n
        repeat { i -= 1; out[i] = UInt8(48 + v % 10); v /= 10 } while i > 0
        return n
    }

    /// Rounds `x > 0` to `significant` digits: the digit string and the decimal exponent of its first digit.
    static func decimalDigits(_ x: Double, significant: Int) -> (String, Int) {
        let (d, e) = roundedDigits(x, significant: significant)
        return (String(decoding: d, as: UTF8.self), e)
    }

    /// `decimalDigits` as ASCII digits (the hot path of every label: no `Character` work).
    static func roundedDigits(_ x: Double, significant: Int) -> ([UInt8], Int) {
        var e = 0
        let d = [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            (count, e) = roundedDigits(x, significant: significant, into: buffer.baseAddress!)
        }
        return (d, e)
    }

    /// Rounds `x > 0` to `significant` digits into `out` (room for 32): the count of digits and the decimal
    /// exponent of the first. The rounding is of the shortest round-trip digits, half up.
    static func roundedDigits(_ x: Double, significant: Int, into out: UnsafeMutablePointer<UInt8>) -> (Int, Int) {
        // Start from the shortest round-trip text, which is exact in decimal, and round that.
        var (count, exponent) = shortestDigitBytes(x, into: out)
        if count <= significant { return (count, exponent) }
        let next = out[significant]
        count = significant
        if next >= 53 {  // "5"
            var i = count - 1
            while i >= 0 {
                out[i] += 1
                if out[i] <= 57 { break }
                out[i] = 48
                i -= 1
            }
            // 9…9 rounded up: a 1 and zeros, one decimal place higher (the zeros are all the same digit).
            if i < 0 { out[0] = 49; exponent += 1 }
        }
        return (count, exponent)
    }

    /// The decimal digits of Swift's shortest representation and the exponent of the first digit.
    static func shortestDigits(_ x: Double) -> (String, Int) {
        let (d, e) = shortestDigitBytes(x)
        return (String(decoding: d, as: UTF8.self), e)
    }

    static func shortestDigitBytes(_ x: Double) -> ([UInt8], Int) {
        var e = 0
        let d = [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            (count, e) = shortestDigitBytes(x, into: buffer.baseAddress!)
        }
        return (d, e)
    }

    /// The shortest round-trip digits of `x` (no leading or trailing zeros, at least one digit) into `out`
    /// (room for 32), with the decimal exponent of the first digit.
    static func shortestDigitBytes(_ x: Double, into out: UnsafeMutablePointer<UInt8>) -> (Int, Int) {
        var text = x.description  // e.g. "0.31566666674646854", "1.5e-07", "12345.678"
        return text.withUTF8 { t -> (Int, Int) in
            var end = t.count
            var exp = 0
            if let e = t.firstIndex(where: { $0 == 101 || $0 == 69 }) {  // e E
                end = e
                var i = e + 1, negative = false
                if i < t.count && (t[i] == 45 || t[i] == 43) { negative = t[i] == 45; i += 1 }
                while i < t.count { exp = exp * 10 + Int(t[i] &- 48); i += 1 }
                if negative { exp = -exp }
            }
            var count = 0, intCount = 0, seenDot = false
            for k in 0..<end {
                let c = t[k]
                if c == 46 { seenDot = true; continue }  // "."
                if c < 48 || c > 57 { continue }
                if count < 32 { out[count] = c; count += 1 }
                if !seenDot { intCount += 1 }
            }
            var firstExp = intCount - 1 + exp
            var start = 0
            while start < count - 1 && out[start] == 48 { start += 1; firstExp -= 1 }
            if start > 0 {
                (out).update(from: out + start, count: count - start)
                count -= start
            }
            while count > 1 && out[count - 1] == 48 { count -= 1 }
            if count == 0 { out[0] = 48; count = 1 }
            return (count, firstExp)
        }
    }

    /// Writes digits `d₀d₁…` with the first digit at decimal exponent `e` as a plain decimal.
    static func plain(_ digits: String, _ e: Int) -> String { plain(Array(digits.utf8), e) }

    static func plain(_ digits: [UInt8], _ e: Int) -> String {
        var d = digits
        return d.withUnsafeMutableBufferPointer { m in
            String(unsafeUninitializedCapacity: m.count + Swift.max(0, -e) + Swift.max(0, e) + 4) {
                plain(m.baseAddress!, m.count, e, into: $0.baseAddress!)
            }
        }
    }

    /// `plain` into `out`: trailing zeros after the point dropped; returns the length.
    static func plain(_ d: UnsafePointer<UInt8>, _ count: Int, _ e: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var count = count
        while count > 1 && d[count - 1] == 48 && count > e + 1 { count -= 1 }
        var n = 0
        if e < 0 {
            out[0] = 48; out[1] = 46; n = 2
            (out + n).initialize(repeating: 48, count: -e - 1); n += -e - 1
            (out + n).update(from: d, count: count); n += count
        } else if count <= e + 1 {
            out.update(from: d, count: count); n = count
            (out + n).initialize(repeating: 48, count: e + 1 - count); n += e + 1 - count
        } else {
            out.update(from: d, count: e + 1); n = e + 1
            out[n] = 46; n += 1
            (out + n).update(from: d + e + 1, count: count - e - 1); n += count - e - 1
        }
        return n
    }
}
