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
}
