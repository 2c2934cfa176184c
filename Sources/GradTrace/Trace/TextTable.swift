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
        var rows = RowWriter(widths: widths, right: right)
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
                rows.cell(b + i, count: n, width: w, to: &out)
                i += n
            }
        }
        rows.finish(to: &out)
    }
}

/// Writes table rows with their columns padded, straight into a 64 KiB chunk that goes to the stream
/// whole: the layout rule of every text table (``TextTable`` writes through it, and `trace` streams
/// its rows through it once it knows the column widths).
///
/// Columns are separated by two spaces; a right-aligned column is padded on the left; trailing spaces
/// of a line are dropped; a cell's width is its number of characters.
struct RowWriter {
    private let widths: [Int]
    private let right: [Bool]
    private var bytes: ByteChunk
    private var column = 0, lineStart = 0

    init(widths: [Int], right: [Bool]) {
        self.widths = widths
        self.right = right
        // Room for a chunk and a typical row past it; a longer row grows the chunk.
        bytes = ByteChunk(capacity: (1 << 16) + 2 * widths.reduce(0, +) + 2 * widths.count + 64)
    }

    /// Appends the next cell: `count` bytes of UTF-8 that are `width` characters wide.
    mutating func cell(_ p: UnsafePointer<UInt8>, count: Int, width: Int, to out: inout some TextOutputStream) {
        begin(width: width)
        append(p, count: count)
        end(width: width, to: &out)
    }

    /// Appends the next cell: `s`, `width` characters wide.
    mutating func cell(_ s: String, width: Int, to out: inout some TextOutputStream) {
        begin(width: width)
        append(s)
        end(width: width, to: &out)
    }

    /// Appends the next cell: an ASCII number's text.
    mutating func number(_ text: UnsafeBufferPointer<UInt8>, to out: inout some TextOutputStream) {
        cell(text.baseAddress!, count: text.count, width: text.count, to: &out)
    }

    /// Starts a cell of `width` characters whose bytes follow through ``append(_:count:)``.
    mutating func begin(width: Int) {
        if right[column] { bytes.append(32, count: widths[column] - width) }
    }

    /// Appends bytes of the current cell.
    mutating func append(_ p: UnsafePointer<UInt8>, count: Int) {
        bytes.append(p, count: count)
    }

    /// Appends one byte of the current cell.
    mutating func append(_ byte: UInt8) {
        bytes.append(byte, count: 1)
    }

    /// Appends `s`'s UTF-8 to the current cell, with every `−` (U+2212) as an ASCII hyphen when `asciiMinus`.
    mutating func append(_ s: String, asciiMinus: Bool = false) {
        var s = s
        s.withUTF8 { u in
            guard asciiMinus else { append(u.baseAddress!, count: u.count); return }
            var i = 0
            while i < u.count {
                if u[i] == 0xE2 && i + 2 < u.count && u[i + 1] == 0x88 && u[i + 2] == 0x92 {
                    append(45); i += 3
                } else {
                    append(u[i]); i += 1
                }
            }
        }
    }

    /// Ends the current cell of `width` characters: padding, separator or end of line.
    mutating func end(width: Int, to out: inout some TextOutputStream) {
        if !right[column] { bytes.append(32, count: widths[column] - width) }
        column += 1
        if column < widths.count {
            bytes.append(32, count: 2)
        } else {
            bytes.dropTrailing(32, after: lineStart)
            bytes.append(10, count: 1)
            column = 0
            bytes.flushIfFull(to: &out)
            lineStart = bytes.count
        }
    }

    /// Writes what is left and frees the chunk.
    mutating func finish(to out: inout some TextOutputStream) {
        bytes.finish(to: &out)
    }
}

/// A growing byte buffer that goes to a stream in 64 KiB chunks: the storage of ``RowWriter`` and
/// ``ChunkWriter``. Its owner frees it with ``finish(to:)``.
struct ByteChunk {
    /// The size at which ``flushIfFull(to:)`` hands the bytes on.
    static let flushSize = 1 << 16
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes held.
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    }

    /// Makes room for `n` more bytes and returns where they go; the caller adds them with ``advance(_:)``.
    @inline(__always) mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if count + n > capacity { grow(n) }
        return base + count
    }

    /// Counts `n` bytes written at ``reserve(_:)``'s pointer.
    @inline(__always) mutating func advance(_ n: Int) { count += n }

    private mutating func grow(_ n: Int) {
        let grown = Swift.max(2 * capacity, count + n)
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
        bigger.update(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity = grown
    }

    /// Appends `count` bytes from `p`.
    @inline(__always) mutating func append(_ p: UnsafePointer<UInt8>, count n: Int) {
        reserve(n).update(from: p, count: n)
        count += n
    }

    /// Appends `byte` `n` times (`n` ≤ 0 appends nothing).
    @inline(__always) mutating func append(_ byte: UInt8, count n: Int) {
        guard n > 0 else { return }
        reserve(n).initialize(repeating: byte, count: n)
        count += n
    }

    /// Drops bytes equal to `byte` from the end, back to offset `start` at most.
    mutating func dropTrailing(_ byte: UInt8, after start: Int) {
        while count > start && base[count - 1] == byte { count -= 1 }
    }

    /// Hands the bytes to `out` once they reach ``flushSize``.
    @inline(__always) mutating func flushIfFull(to out: inout some TextOutputStream) {
        if count >= Self.flushSize { flush(to: &out) }
    }

    /// Hands the bytes to `out`.
    mutating func flush(to out: inout some TextOutputStream) {
        if count > 0 { out.writeUTF8(UnsafeBufferPointer(start: base, count: count)) }
        count = 0
    }

    /// Writes what is left and frees the buffer.
    mutating func finish(to out: inout some TextOutputStream) {
        flush(to: &out)
        base.deallocate()
    }
}

/// Text written as bytes into a 64 KiB chunk that goes to the stream whole: long JSON reports
/// (`trace --json`) append their parts here instead of making a string of each row.
struct ChunkWriter {
    private var bytes = ByteChunk(capacity: 2 * ByteChunk.flushSize)

    /// Appends `s`'s UTF-8.
    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { u in bytes.append(u.baseAddress!, count: u.count) }
    }

    /// Appends a literal's UTF-8 (no string made).
    mutating func append(_ s: StaticString) {
        bytes.append(s.utf8Start, count: s.utf8CodeUnitCount)
    }

    /// Appends an integer in decimal.
    mutating func append(_ v: Int) {
        let p = bytes.reserve(21)
        var n = 0
        if v < 0 { p[0] = 45; n = 1 }
        n += NumberFormat.writeInteger(UInt64(v.magnitude), to: p + n)
        bytes.advance(n)
    }

    /// Appends `NumberFormat.json(x)`, remembered by bit pattern in a small direct-mapped table (a
    /// trace repeats its values: one step's contribution is the next one's upstream).
    mutating func json(_ x: Double) {
        let k = x.bitPattern
        let slot = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 52)
        let text = recent.texts + slot * Self.textCapacity
        if recent.keys[slot] != k || recent.lengths[slot] == 0 {
            var s = NumberFormat.json(x)
            let n = s.withUTF8 { u -> Int in
                guard u.count <= Self.textCapacity else { return 0 }
                text.update(from: u.baseAddress!, count: u.count)
                return u.count
            }
            guard n > 0 else { append(s); return }
            recent.keys[slot] = k
            recent.lengths[slot] = UInt8(n)
        }
        bytes.append(text, count: Int(recent.lengths[slot]))
    }

    /// Room for a number's JSON text (`-2.2250738585072014e-308` is 24 bytes).
    private static let textCapacity = 32
    private let recent = Recent()

    /// The table of recent numbers' texts.
    private final class Recent {
        static let slots = 4096
        let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: slots)
        let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: slots)
        let texts = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * ChunkWriter.textCapacity)
        init() {
            keys.initialize(repeating: 0, count: Self.slots)
            lengths.initialize(repeating: 0, count: Self.slots)
        }
        deinit { keys.deallocate(); lengths.deallocate(); texts.deallocate() }
    }

    /// Hands the chunk to `out` once it holds 64 KiB.
    mutating func flushIfFull(to out: inout some TextOutputStream) {
        bytes.flushIfFull(to: &out)
    }

    /// Writes what is left and frees the chunk.
    mutating func finish(to out: inout some TextOutputStream) {
        bytes.finish(to: &out)
    }
}

/// A text stream that takes UTF-8 bytes as they are: long reports hand it chunks of rows without making
/// a `String` of each (the CLI's standard output is one).
public protocol UTF8OutputStream: AnyObject, TextOutputStream {
    /// Writes `bytes`, which are valid UTF-8.
    func write(utf8 bytes: UnsafeBufferPointer<UInt8>)
}

extension TextOutputStream {
    /// Writes valid UTF-8 bytes: directly to a ``UTF8OutputStream``, else as a string.
    mutating func writeUTF8(_ bytes: UnsafeBufferPointer<UInt8>) {
        if let sink = self as? any UTF8OutputStream {
            sink.write(utf8: bytes)
        } else {
            write(String(decoding: bytes, as: UTF8.self))
        }
    }
}
