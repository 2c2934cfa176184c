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

    /// Appends the next cell (rows wrap after `columns` cells).
    mutating func cell(_ s: String) { cell(s, "", "") }

    /// Appends the next cell, the concatenation of three strings.
    mutating func cell(_ a: String, _ b: String, _ c: String) {
        let n = a.utf8.count + b.utf8.count + c.utf8.count
        let start = bytes.count
        // A provisional one-byte head for short ASCII cells (the common case), fixed below otherwise.
        bytes.append(0)
        var high: UInt8 = 0
        append(a, &high)
        if !b.isEmpty { append(b, &high) }
        if !c.isEmpty { append(c, &high) }
        let ascii = high < 0x80
        let w = ascii ? n : a.count + b.count + c.count
        // The head: the byte count, doubled, plus 1 when the width follows (not ASCII).
        let head = n << 1 | (ascii ? 0 : 1)
        if head < 0x80 && ascii {
            bytes[start] = UInt8(head)
        } else {
            var prefix: [UInt8] = []
            var v = head
            while v >= 0x80 { prefix.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            prefix.append(UInt8(v))
            if !ascii {
                v = w
                while v >= 0x80 { prefix.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
                prefix.append(UInt8(v))
            }
            bytes.replaceSubrange(start..<(start + 1), with: prefix)
        }
        if w > widths[column] { widths[column] = w }
        column = column + 1 == columns ? 0 : column + 1
    }

    /// Appends the UTF-8 of `s`, OR-ing its bytes into `high` (ASCII when it stays below 0x80).
    private mutating func append(_ s: String, _ high: inout UInt8) {
        var s = s
        s.withUTF8 { u in
            for x in u { high |= x }
            bytes.append(contentsOf: u)
        }
    }

    /// Writes every row, in chunks of about 64 KiB.
    func write(to out: inout some TextOutputStream) {
        // A row is at most every column's width plus separators; a chunk always has room for one more.
        let rowMax = widths.reduce(0, +) + 2 * columns + 1
        let capacity = (1 << 16) + rowMax
        let chunk = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { chunk.deallocate() }
        var used = 0, col = 0, lineStart = 0
        bytes.withUnsafeBufferPointer { buffer in
            let b = buffer.baseAddress!, count = buffer.count
            var i = 0
            while i < count {
                var head = 0, shift = 0
                while true { let x = b[i]; i += 1; head |= Int(x & 0x7F) << shift; shift += 7; if x < 0x80 { break } }
                let n = head >> 1
                var w = n
                if head & 1 == 1 {
                    w = 0; shift = 0
                    while true { let x = b[i]; i += 1; w |= Int(x & 0x7F) << shift; shift += 7; if x < 0x80 { break } }
                }
                let pad = widths[col] - w
                if right[col] { (chunk + used).initialize(repeating: 32, count: pad); used += pad }
                (chunk + used).update(from: b + i, count: n)
                used += n
                i += n
                if !right[col] { (chunk + used).initialize(repeating: 32, count: pad); used += pad }
                col += 1
                if col < columns {
                    chunk[used] = 32; chunk[used + 1] = 32; used += 2
                } else {
                    while used > lineStart && chunk[used - 1] == 32 { used -= 1 }
                    chunk[used] = 10
                    used += 1
                    col = 0
                    if used >= 1 << 16 {
                        out.write(String(decoding: UnsafeBufferPointer(start: chunk, count: used), as: UTF8.self))
                        used = 0
                    }
                    lineStart = used
                }
            }
        }
        if used > 0 { out.write(String(decoding: UnsafeBufferPointer(start: chunk, count: used), as: UTF8.self)) }
    }
}
