/// The one UTF-8 validity rule, shared by the program reader and the graph-JSON reader.
enum UTF8Validation {
    /// The length of the well-formed UTF-8 sequence that starts at `bytes[i]` (1 for ASCII), or nil when the
    /// bytes from `i` up to `end` do not start one. These are the well-formed sequences of Unicode 15 table 3-7:
    /// the second byte's range depends on the first, which refuses overlong forms, UTF-16 surrogates and code
    /// points above U+10FFFF.
    @inline(__always)
    static func sequenceLength(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, end: Int) -> Int? {
        let b = bytes[i]
        if b < 0x80 { return 1 }
        let len: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch b {
        case 0xC2...0xDF: len = 2
        case 0xE0: len = 3; low = 0xA0
        case 0xED: len = 3; high = 0x9F
        case 0xE1...0xEF: len = 3
        case 0xF0: len = 4; low = 0x90
        case 0xF4: len = 4; high = 0x8F
        case 0xF1...0xF3: len = 4
        default: return nil
        }
        guard i + len <= end, bytes[i + 1] >= low, bytes[i + 1] <= high else { return nil }
        for k in 2..<len where bytes[i + k] & 0xC0 != 0x80 { return nil }
        return len
    }
}
