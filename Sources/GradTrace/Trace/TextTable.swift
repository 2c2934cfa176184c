/// A text table built cell by cell into one byte buffer, then written with its columns padded: the one
/// table writer of the reports (`trace`, `check`, forward tables). A million-row trace keeps its cells
/// as bytes (a length, the width when it is not the byte count, and the UTF-8), never as an array of
/// strings per row.
///
/// Columns are separated by two spaces; a right-aligned column is padded on the left; trailing spaces
/// of a line are dropped. A cell's width is its number of characters.
struct TextTable {
    let columns: Int
    private let right: [Bool]
    private var bytes: [UInt8] = []
    private var widths: [Int]
    private var column = 0

    /// `expectedRows`: room reserved up front (a long trace then never doubles its buffer).
    init(columns: Int, rightAligned: Set<Int>, expectedRows: Int = 0, bytesPerRow: Int = 0) {
        self.columns = columns
        right = (0..<columns).map { rightAligned.contains($0) }
        widths = [Int](repeating: 0, count: columns)
        if expectedRows > 0 { bytes.reserveCapacity(expectedRows * bytesPerRow) }
    }

    private mutating func varint(_ value: Int) {
        var v = value
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    /// Appends the next cell (rows wrap after `columns` cells).
    mutating func cell(_ s: String) { cell(s, "", "") }

    /// Appends the next cell, the concatenation of three strings.
    mutating func cell(_ a: String, _ b: String, _ c: String) {
        let n = a.utf8.count + b.utf8.count + c.utf8.count
        let ascii = Self.isASCII(a) && Self.isASCII(b) && Self.isASCII(c)
        let w = ascii ? n : a.count + b.count + c.count
        // The byte count, doubled, plus 1 when the width follows (not ASCII).
        varint(n << 1 | (ascii ? 0 : 1))
        if !ascii { varint(w) }
        bytes.append(contentsOf: a.utf8)
        if !b.isEmpty { bytes.append(contentsOf: b.utf8) }
        if !c.isEmpty { bytes.append(contentsOf: c.utf8) }
        if w > widths[column] { widths[column] = w }
        column = column + 1 == columns ? 0 : column + 1
    }

    static func isASCII(_ s: String) -> Bool {
        for x in s.utf8 where x >= 0x80 { return false }
        return true
    }

    /// Writes every row, in chunks.
    func write(to out: inout some TextOutputStream) {
        let spaces = [UInt8](repeating: 32, count: (widths.max() ?? 0) + 2)
        var chunk = [UInt8](repeating: 0, count: 1 << 17)
        var used = 0, col = 0, lineStart = 0
        bytes.withUnsafeBufferPointer { b in spaces.withUnsafeBufferPointer { sp in
            var i = 0
            func read() -> Int {
                var n = 0, shift = 0
                while true {
                    let x = b[i]; i += 1
                    n |= Int(x & 0x7F) << shift
                    shift += 7
                    if x < 0x80 { return n }
                }
            }
            func put(_ p: UnsafePointer<UInt8>, _ n: Int) {
                if used + n > chunk.count { chunk += [UInt8](repeating: 0, count: max(n, chunk.count)) }
                chunk.withUnsafeMutableBufferPointer { c in (c.baseAddress! + used).update(from: p, count: n) }
                used += n
            }
            while i < b.count {
                let head = read()
                let n = head >> 1
                let w = head & 1 == 1 ? read() : n
                let pad = widths[col] - w
                if right[col] { put(sp.baseAddress!, pad) }
                put(b.baseAddress! + i, n)
                i += n
                if !right[col] { put(sp.baseAddress!, pad) }
                col += 1
                if col < columns {
                    put(sp.baseAddress!, 2)
                } else {
                    while used > lineStart && chunk[used - 1] == 32 { used -= 1 }
                    withUnsafePointer(to: 10 as UInt8) { put($0, 1) }
                    col = 0
                    if used >= 1 << 16 {
                        out.write(String(decoding: chunk[0..<used], as: UTF8.self))
                        used = 0
                    }
                    lineStart = used
                }
            }
        } }
        if used > 0 { out.write(String(decoding: chunk[0..<used], as: UTF8.self)) }
    }
}
