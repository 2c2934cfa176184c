import Foundation
import Testing
import GradTrace

@Suite("NumberFormat: locale-free number text")
struct NumberFormatTests {
    @Test("exact", arguments: [
        (676, "676"), (0, "0"), (-0.0, "0"), (-52, "-52"), (0.1, "0.1"), (1248.5, "1248.5"),
        (0.31566666674646854, "0.31566666674646854"), (123456789012345, "123456789012345"),
        (-0.5, "-0.5"), (Double.nan, "nan"), (-Double.nan, "nan"), (Double.infinity, "inf"), (-Double.infinity, "-inf"),
    ] as [(Double, String)])
    func exact(_ x: Double, _ text: String) {
        #expect(NumberFormat.exact(x) == text, "exact(\(x))")
    }

    @Test("short (4 significant digits)", arguments: [
        (676, "676"), (1248, "1248"), (-52, "-52"), (0, "0"), (-0.0, "0"),
        (0.31566666674646854, "0.3157"), (-2.5e-7, "-2.5e-7"), (999.99996, "1000"),
        (0.5, "0.5"), (1.5, "1.5"), (12.345678, "12.35"), (-1234.5678, "-1235"), (0.1 + 0.2, "0.3"),
        // the 1e-3 boundary: plain from 0.001 on, scientific below, and rounding up onto it counts as plain
        (0.001, "0.001"), (0.0012345, "0.001235"), (0.000999, "9.99e-4"), (0.00099999, "0.001"),
        (0.00012345, "1.235e-4"),
        // the 1e6 boundary
        (123456.7, "123500"), (999999.7, "1e6"), (1234567.5, "1.235e6"),
        (1e15, "1e15"), (1e20, "1e20"), (-3e-300, "-3e-300"),
        (Double.nan, "nan"), (Double.infinity, "inf"), (-Double.infinity, "-inf"),
    ] as [(Double, String)])
    func short(_ x: Double, _ text: String) {
        #expect(NumberFormat.short(x) == text, "short(\(x))")
    }

    @Test("short with other digit counts")
    func shortDigits() {
        #expect(NumberFormat.short(3.14159265, digits: 8) == "3.1415927")
        #expect(NumberFormat.short(676.0000001, digits: 8) == "676")
        #expect(NumberFormat.short(0.31566666674646854, digits: 2) == "0.32")
        #expect(NumberFormat.short(9.96, digits: 2) == "10")
        #expect(NumberFormat.short(-2.5e-7, digits: 1) == "-3e-7")
    }

    @Test("json", arguments: [
        (676, "676.0"), (0, "0.0"), (-0.0, "-0.0"), (0.1, "0.1"), (-52, "-52.0"),
        (Double.nan, "\"nan\""), (Double.infinity, "\"inf\""), (-Double.infinity, "\"-inf\""),
    ] as [(Double, String)])
    func json(_ x: Double, _ text: String) {
        #expect(NumberFormat.json(x) == text, "json(\(x))")
    }

    /// Random finite doubles over many magnitudes, from a fixed seed.
    static func randomDoubles(_ n: Int) -> [Double] {
        var state: UInt64 = 0xD1CE
        var out: [Double] = []
        while out.count < n {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let mantissa = Double(z >> 11) * 0x1.0p-53
            let exponent = Int(z % 41) - 20
            let x = (z & 1 == 0 ? 1 : -1) * mantissa * Foundation.pow(10, Double(exponent))
            if x != 0 { out.append(x) }
            if z % 7 == 0 { out.append(Double(Int64(truncatingIfNeeded: z) % 100_000)) }  // integers too
        }
        return out
    }

    @Test("exact and json read back as the same double")
    func roundTrip() {
        for x in Self.randomDoubles(2000) {
            #expect(Double(NumberFormat.exact(x)) == x, "exact(\(x)) = \(NumberFormat.exact(x))")
            #expect(Double(NumberFormat.json(x)) == x, "json(\(x)) = \(NumberFormat.json(x))")
        }
    }

    @Test("json text is valid JSON that Foundation reads back")
    func jsonParses() throws {
        for x in Self.randomDoubles(300) + [0, -0.0, 1e300, Double.leastNonzeroMagnitude, .nan, .infinity, -.infinity] {
            let data = Data("[\(NumberFormat.json(x))]".utf8)
            let array = try #require(try JSONSerialization.jsonObject(with: data) as? [Any], "json(\(x))")
            if x.isNaN || x.isInfinite {
                #expect(array.first as? String == NumberFormat.exact(x))
            } else {
                let back = try #require((array.first as? NSNumber)?.doubleValue)
                #expect(back == x || abs(back - x) <= 1e-15 * abs(x), "json(\(x)) read back as \(back)")
            }
        }
    }

    @Test("short keeps at most 4 significant digits and stays within rounding of the value")
    func shortProperties() {
        for x in Self.randomDoubles(2000) {
            let s = NumberFormat.short(x)
            guard let back = Double(s) else {
                Issue.record("short(\(x)) = \(s) does not read back")
                continue
            }
            if x == x.rounded() && abs(x) < 1e15 {
                #expect(back == x, "integer \(x) printed as \(s)")
                continue
            }
            #expect(abs(back - x) <= 5.0001e-4 * abs(x), "short(\(x)) = \(s)")
            let mantissa = s.split(separator: "e").first!
            var significant = Array(mantissa.filter(\.isNumber).drop { $0 == "0" })
            while significant.last == "0" { significant.removeLast() }
            #expect(significant.count <= 4, "short(\(x)) = \(s) has too many digits")
            #expect(!s.contains("e") || (abs(back) < 1e-3 || abs(back) >= 1e6), "short(\(x)) = \(s) is scientific in the plain range")
            #expect(!s.contains(","), "short(\(x)) = \(s)")
        }
    }

    /// The rule of ``NumberFormat/short(_:digits:)`` written plainly over strings: the shortest round-trip digits
    /// rounded half up, plain from 1e-3 to 1e6, whole numbers below 1e15 as integers (the reference the
    /// byte-level formatter is checked against).
    static func referenceShort(_ x: Double, digits: Int) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == 0 { return "0" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        let text = abs(x).description
        let parts = text.split(separator: "e")
        let mantissa = parts[0], power = parts.count > 1 ? Int(parts[1])! : 0
        let whole = mantissa.split(separator: ".", omittingEmptySubsequences: false)[0]
        var d = Array(mantissa.filter { $0 != "." })
        var e = whole.count - 1 + power
        while d.count > 1 && d[0] == "0" { d.removeFirst(); e -= 1 }
        while d.count > 1 && d.last == "0" { d.removeLast() }
        if d.count > digits {
            let up = d[digits] >= "5"
            d = Array(d.prefix(digits))
            if up {
                var i = digits - 1
                while i >= 0 && d[i] == "9" { d[i] = "0"; i -= 1 }
                if i >= 0 { d[i] = Character(String(d[i].wholeNumberValue! + 1)) } else { d = ["1"] + d.dropLast(); e += 1 }
            }
        }
        let sign = x < 0 ? "-" : ""
        if e >= -3 && e < 6 {
            while d.count > 1 && d.last == "0" && d.count > e + 1 { d.removeLast() }
            if e < 0 { return sign + "0." + String(repeating: "0", count: -e - 1) + String(d) }
            if d.count <= e + 1 { return sign + String(d) + String(repeating: "0", count: e + 1 - d.count) }
            return sign + String(d[0...e]) + "." + String(d[(e + 1)...])
        }
        while d.count > 1 && d.last == "0" { d.removeLast() }
        return sign + String(d[0]) + (d.count > 1 ? "." + String(d.dropFirst()) : "") + "e" + String(e)
    }

    @Test("short matches the plain rule, and shortLengthBound bounds its length, on 200,000 numbers")
    func shortAgainstReference() {
        var rng = SystemRandomNumberGenerator()
        var values: [Double] = [0.999999, 0.9999996, 999999.5, 9.9999995e-4, 1e-3, 5e-324, -Double.leastNormalMagnitude,
                                Double.greatestFiniteMagnitude, 1e15 + 0.5, 123456.65, 0.00099999995]
        for _ in 0..<100_000 { values.append(Double(bitPattern: rng.next())) }  // every magnitude
        for _ in 0..<100_000 {  // decimal-looking values near the format's boundaries
            let m = Double(Int.random(in: -9_999_999...9_999_999, using: &rng)) / 1e6
            values.append(m * pow(10, Double(Int.random(in: -8...9, using: &rng))))
        }
        for x in values {
            for digits in [1, 4, 6, 8] {
                let text = NumberFormat.short(x, digits: digits)
                #expect(text == Self.referenceShort(x, digits: digits), "short(\(x), digits: \(digits))")
                #expect(NumberFormat.shortLengthBound(x, digits: digits) >= text.utf8.count, "bound of \(x), digits: \(digits)")
            }
        }
    }
}
