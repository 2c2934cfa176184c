/// A text table built cell by cell into one byte buffer, then written with its columns padded: the one
/// table writer of the reports (`trace`, `check`, forward tables). A million-row trace keeps its cells
/// as bytes (a length and the UTF-8), never as an array of strings per row.
///
/// Columns are separated by two spaces; a right-aligned column is padded on the left; trailing spaces
/// of a line are dropped. A cell's width is its number of characters.
struct TextTable {
    let columns: Int
    private let right: [Bool]
    private var bytes: [UInt8] = []
    private var widths: [Int]
    private var column = 0

    init(columns: Int, rightAligned: Set<Int>) {
        self.columns = columns
        right = (0..<columns).map { rightAligned.contains($0) }
        widths = [Int](repeating: 0, count: columns)
    }

    /// Appends the next cell (rows wrap after `columns` cells).
    mutating func cell(_ s: String) { cell(s, "", "") }

    /// Appends the next cell, the concatenation of three strings.
    mutating func cell(_ a: String, _ b: String, _ c: String) {
        let n = a.utf8.count + b.utf8.count + c.utf8.count
        // Length prefix: 7 bits a byte, high bit set on all but the last.
        var v = n
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
        let start = bytes.count
        bytes.append(contentsOf: a.utf8)
        bytes.append(contentsOf: b.utf8)
        bytes.append(contentsOf: c.utf8)
        let w = Self.width(bytes[start...])
        if w > widths[column] { widths[column] = w }
        column = column + 1 == columns ? 0 : column + 1
    }

    /// The characters in UTF-8 bytes (the byte count when they are ASCII).
    static func width(_ b: ArraySlice<UInt8>) -> Int {
        var ascii = true
        for x in b where x >= 0x80 { ascii = false; break }
        return ascii ? b.count : String(decoding: b, as: UTF8.self).count
    }

    /// Writes every row, in chunks.
    func write(to out: inout some TextOutputStream) {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 16)
        var i = 0, col = 0, lineStart = 0
        bytes.withUnsafeBufferPointer { b in
            while i < b.count {
                var n = 0, shift = 0
                while true {
                    let x = b[i]; i += 1
                    n |= Int(x & 0x7F) << shift
                    shift += 7
                    if x < 0x80 { break }
                }
                let cell = b[i..<(i + n)]
                i += n
                let pad = widths[col] - Self.width(ArraySlice(cell))
                if right[col] { chunk.append(contentsOf: repeatElement(32, count: pad)) }
                chunk.append(contentsOf: cell)
                if !right[col] { chunk.append(contentsOf: repeatElement(32, count: pad)) }
                col += 1
                if col < columns {
                    chunk.append(32); chunk.append(32)
                } else {
                    while chunk.count > lineStart && chunk[chunk.count - 1] == 32 { chunk.removeLast() }
                    chunk.append(10)
                    col = 0
                    if chunk.count >= 1 << 16 {
                        out.write(String(decoding: chunk, as: UTF8.self))
                        chunk.removeAll(keepingCapacity: true)
                    }
                    lineStart = chunk.count
                }
            }
        }
        if !chunk.isEmpty { out.write(String(decoding: chunk, as: UTF8.self)) }
    }
}
