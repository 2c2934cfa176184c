import CDeflate

/// A deflate encoder made for flat pictures (PNG scanlines of diagrams), written for speed.
///
/// Diagrams are mostly runs: a pixel equals its left neighbour or the pixel above it. The
/// encoder looks for a match at exactly two distances, one pixel back (3 bytes) and one row
/// back, and codes everything else as literals; no hash tables, no search. Each block of tokens
/// gets its own dynamic Huffman codes (RFC 1951), so literal-heavy text and long runs both code
/// compactly. The output is a standard zlib stream (RFC 1950): any inflater reads it, and the
/// same input always gives the same bytes.
///
/// On a frame of the MLP demo: 3–4× as fast as libdeflate (levels 6 and 1) and 8× libpng at zlib
/// level 1, with files about the size libpng made (see `Benchmarks/README.md`); `PNGEncoder` uses
/// it for frames.
enum RunDeflate {
    /// Tokens per block: each block gets Huffman codes fitted to its own tokens.
    static let blockTokens = 1 << 15

    /// The zlib stream of `data`, whose rows are `rowBytes` long (matches one row up are tried
    /// when a row fits the 32 KiB window).
    static func zlib(_ data: UnsafeBufferPointer<UInt8>, rowBytes: Int, pixelBytes: Int = 3) -> [UInt8] {
        let n = data.count
        var out = BitWriter(capacity: n + n / 2 + 1024)
        defer { out.free() }
        out.bytes(zlibHeader)
        guard let p = data.baseAddress, n > 0 else {
            out.write(emptyFinalBlock.bits, emptyFinalBlock.count)
            return out.finishZlib(adler: 1)
        }
        deflate(p, count: n, rowBytes: rowBytes, pixelBytes: pixelBytes, final: true, to: &out)
        return out.finishZlib(adler: libdeflate_adler32(1, p, n))
    }

    /// The first two bytes of every zlib stream written here: deflate, 32 KiB window, no dictionary.
    static let zlibHeader: [UInt8] = [0x78, 0x01]
    /// An empty final block with fixed codes (1, 01, then the end-of-block code 0000000): 10 bits.
    static let emptyFinalBlock: (bits: UInt64, count: Int) = (0b011, 10)

    /// One band of a zlib stream made of independently compressed pieces: the deflate blocks of
    /// `data` (none final) that refer to nothing before `data`, then a full flush (an empty stored
    /// block, which ends byte-aligned), so that bands concatenate into one stream and any band can
    /// be recompressed alone. ``zlib(bands:adler:)`` joins them.
    static func band(_ data: UnsafeBufferPointer<UInt8>, rowBytes: Int, pixelBytes: Int) -> [UInt8] {
        let n = data.count
        var out = BitWriter(capacity: n + n / 2 + 64)
        defer { out.free() }
        if let p = data.baseAddress, n > 0 {
            deflate(p, count: n, rowBytes: rowBytes, pixelBytes: pixelBytes, final: false, to: &out)
        }
        out.write(0, 3)  // not final, stored
        return out.finishFlush()
    }

    /// The zlib stream of `bands` (each from ``band(_:rowBytes:pixelBytes:)``, in order) whose
    /// data has the Adler-32 checksum `adler`: the header, the bands, an empty final block.
    static func zlib(bands: [[UInt8]], adler: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bands.reduce(8) { $0 + $1.count })
        out += zlibHeader
        for b in bands { out += b }
        out += [0x03, 0x00]  // emptyFinalBlock, byte-aligned
        out += [UInt8(adler >> 24), UInt8(truncatingIfNeeded: adler >> 16), UInt8(truncatingIfNeeded: adler >> 8), UInt8(truncatingIfNeeded: adler)]
        return out
    }

    /// The deflate blocks of `count` bytes at `p` (the last one marked final when `final`).
    static func deflate(_ p: UnsafePointer<UInt8>, count n: Int, rowBytes: Int, pixelBytes: Int, final: Bool, to out: inout BitWriter) {
        var tokens = [UInt32](repeating: 0, count: min(blockTokens, n))
        let up = rowBytes <= 32768 && rowBytes > pixelBytes
        let left = Distance(pixelBytes), above = Distance(up ? rowBytes : 1)
        tokens.withUnsafeMutableBufferPointer { tokenBuffer in
            let tok = tokenBuffer.baseAddress!
            var count = 0
            var i = 0
            while i < n {
                let limit = min(258, n - i)
                var l3 = 0, lu = 0
                if i >= pixelBytes && limit >= 3 { l3 = matchLength(p, i, pixelBytes, limit) }
                if up && l3 < limit && i >= rowBytes && limit >= 3 { lu = matchLength(p, i, rowBytes, limit) }
                if lu > l3 && lu >= 6 {
                    tok[count] = above.token(length: lu); i += lu
                } else if l3 >= 3 {
                    tok[count] = left.token(length: l3); i += l3
                } else if lu >= 3 {
                    tok[count] = above.token(length: lu); i += lu
                } else {
                    tok[count] = UInt32(p[i]); i += 1
                }
                count += 1
                if count == blockTokens || i >= n {
                    writeBlock(UnsafeBufferPointer(start: tok, count: count), final: final && i >= n, to: &out)
                    count = 0
                }
            }
        }
    }

    /// How many bytes from `i` on (at most `limit`) equal the bytes `distance` back.
    @inline(__always)
    static func matchLength(_ p: UnsafePointer<UInt8>, _ i: Int, _ distance: Int, _ limit: Int) -> Int {
        let a = UnsafeRawPointer(p + i), b = UnsafeRawPointer(p + i - distance)
        var j = 0
        while j + 8 <= limit {
            let x = (a.loadUnaligned(fromByteOffset: j, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: j, as: UInt64.self)).littleEndian
            if x != 0 { return j + x.trailingZeroBitCount / 8 }
            j += 8
        }
        while j < limit && a.load(fromByteOffset: j, as: UInt8.self) == b.load(fromByteOffset: j, as: UInt8.self) { j += 1 }
        return j
    }

    // MARK: tokens

    /// A token: a literal byte (bit 31 clear), or a match: bit 31 set, length − 3 in bits 16–23,
    /// the distance code in bits 24–28 and its extra bits' value in bits 0–12.
    struct Distance {
        let code: UInt32, extraValue: UInt32
        init(_ d: Int) {
            var c = 0
            while c + 1 < 30 && distanceBase[c + 1] <= d { c += 1 }
            code = UInt32(c)
            extraValue = UInt32(d - distanceBase[c])
        }
        @inline(__always) func token(length: Int) -> UInt32 {
            0x8000_0000 | code << 24 | UInt32(length - 3) << 16 | extraValue
        }
    }

    static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
                                    67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
                                      1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// For each length − 3 (0…255): the length code − 257, its extra bits and their value.
    static let lengthCodes: [(code: UInt16, extra: UInt8, value: UInt16)] = (3...258).map { len in
        var c = 0
        while c + 1 < 29 && lengthBase[c + 1] <= len { c += 1 }
        return (UInt16(c), UInt8(lengthExtra[c]), UInt16(len - lengthBase[c]))
    }

    /// For each length − 3: its literal/length symbol (257…285).
    static let lengthSymbols: [UInt16] = lengthCodes.map { 257 + $0.code }

    // MARK: blocks

    /// Writes one block with dynamic Huffman codes fitted to `tokens`.
    static func writeBlock(_ tokens: UnsafeBufferPointer<UInt32>, final: Bool, to out: inout BitWriter) {
        var litFreq = [Int](repeating: 0, count: 286), distFreq = [Int](repeating: 0, count: 30)
        litFreq.withUnsafeMutableBufferPointer { lf in
        distFreq.withUnsafeMutableBufferPointer { df in
        lengthSymbols.withUnsafeBufferPointer { ls in
            for t in tokens {
                if t & 0x8000_0000 == 0 {
                    lf[Int(t)] += 1
                } else {
                    lf[Int(ls[Int((t >> 16) & 0xFF)])] += 1
                    df[Int((t >> 24) & 0x1F)] += 1
                }
            }
        }
        }
        }
        litFreq[256] = 1
        // Codes of at least two symbols, so that every code is complete.
        if litFreq.filter({ $0 > 0 }).count < 2 { litFreq[litFreq[0] == 0 ? 0 : 1] = 1 }
        while distFreq.filter({ $0 > 0 }).count < 2 { distFreq[distFreq[0] == 0 ? 0 : (distFreq[1] == 0 ? 1 : 2)] = 1 }
        let litLengths = Huffman.lengths(litFreq, limit: 15)
        let distLengths = Huffman.lengths(distFreq, limit: 15)
        let litCodes = Huffman.codes(litLengths), distCodes = Huffman.codes(distLengths)
        var numLit = 286
        while numLit > 257 && litLengths[numLit - 1] == 0 { numLit -= 1 }
        var numDist = 30
        while numDist > 1 && distLengths[numDist - 1] == 0 { numDist -= 1 }

        // The code lengths, run-length coded with symbols 16 (repeat the previous 3–6 times),
        // 17 (3–10 zeros) and 18 (11–138 zeros).
        let all = Array(litLengths[0..<numLit]) + Array(distLengths[0..<numDist])
        var rle: [(symbol: Int, extra: Int, bits: Int)] = []
        var k = 0
        while k < all.count {
            let v = all[k]
            var run = 1
            while k + run < all.count && all[k + run] == v { run += 1 }
            if v == 0 && run >= 3 {
                var left = run
                while left >= 11 { let r = min(138, left); rle.append((18, r - 11, 7)); left -= r }
                if left >= 3 { rle.append((17, left - 3, 3)); left = 0 }
                for _ in 0..<left { rle.append((0, 0, 0)) }
            } else if v != 0 && run >= 4 {
                rle.append((Int(v), 0, 0))
                var left = run - 1
                while left >= 3 { let r = min(6, left); rle.append((16, r - 3, 2)); left -= r }
                for _ in 0..<left { rle.append((Int(v), 0, 0)) }
            } else {
                for _ in 0..<run { rle.append((Int(v), 0, 0)) }
            }
            k += run
        }
        var clFreq = [Int](repeating: 0, count: 19)
        for r in rle { clFreq[r.symbol] += 1 }
        if clFreq.filter({ $0 > 0 }).count < 2 { clFreq[clFreq[0] == 0 ? 0 : 1] = 1 }
        let clLengths = Huffman.lengths(clFreq, limit: 7)
        let clCodes = Huffman.codes(clLengths)
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        var numCL = 19
        while numCL > 4 && clLengths[order[numCL - 1]] == 0 { numCL -= 1 }

        out.write(final ? 1 : 0, 1)
        out.write(2, 2)
        out.write(UInt64(numLit - 257), 5)
        out.write(UInt64(numDist - 1), 5)
        out.write(UInt64(numCL - 4), 4)
        for s in order.prefix(numCL) { out.write(UInt64(clLengths[s]), 3) }
        for r in rle {
            out.write(UInt64(clCodes[r.symbol]) | UInt64(r.extra) << UInt64(clLengths[r.symbol]), Int(clLengths[r.symbol]) + r.bits)
        }

        // The tokens: a literal, or a length code with its extra bits, then a distance code with its
        // extra bits. Per-block tables join each code with its extra bits; the bits go through a
        // local 64-bit buffer into room reserved up front (a token takes at most 48 bits).
        var lengthBits = [UInt32](repeating: 0, count: 256), lengthCount = [UInt8](repeating: 0, count: 256)
        for (k, l) in lengthCodes.enumerated() {
            let sym = 257 + Int(l.code)
            lengthBits[k] = UInt32(litCodes[sym]) | UInt32(l.value) << UInt32(litLengths[sym])
            lengthCount[k] = litLengths[sym] + l.extra
        }
        out.reserve(6 * tokens.count + 16)
        var bits = out.bits, used = out.used
        var dst = out.buffer + out.count
        litCodes.withUnsafeBufferPointer { litCodes in
        litLengths.withUnsafeBufferPointer { litLengths in
        distCodes.withUnsafeBufferPointer { distCodes in
        distLengths.withUnsafeBufferPointer { distLengths in
        lengthBits.withUnsafeBufferPointer { lengthBits in
        lengthCount.withUnsafeBufferPointer { lengthCount in
        distanceExtra.withUnsafeBufferPointer { dx in
            @inline(__always) func put(_ v: UInt64, _ n: Int) {
                bits |= v << UInt64(used)
                used += n
                if used >= 32 {
                    UnsafeMutableRawPointer(dst).storeBytes(of: UInt32(truncatingIfNeeded: bits).littleEndian, as: UInt32.self)
                    dst += 4
                    bits >>= 32
                    used -= 32
                }
            }
            for t in tokens {
                if t & 0x8000_0000 == 0 {
                    put(UInt64(litCodes[Int(t)]), Int(litLengths[Int(t)]))
                } else {
                    let l = Int((t >> 16) & 0xFF)
                    put(UInt64(lengthBits[l]), Int(lengthCount[l]))
                    let d = Int((t >> 24) & 0x1F)
                    let dbits = Int(distLengths[d])
                    put(UInt64(distCodes[d]) | UInt64(t & 0x1FFF) << UInt64(dbits), dbits + dx[d])
                }
            }
            put(UInt64(litCodes[256]), Int(litLengths[256]))
        }
        }
        }
        }
        }
        }
        }
        out.count = dst - out.buffer
        out.bits = bits
        out.used = used
    }

    // MARK: bits

    /// Bits in deflate's order (least significant first) into a growing buffer.
    struct BitWriter {
        var buffer: UnsafeMutablePointer<UInt8>
        var capacity: Int
        var count = 0
        var bits: UInt64 = 0
        var used = 0

        init(capacity: Int) {
            self.capacity = max(capacity, 64)
            buffer = .allocate(capacity: self.capacity)
        }

        func free() { buffer.deallocate() }

        mutating func reserve(_ more: Int) {
            guard count + more > capacity else { return }
            let bigger = max(capacity * 2, count + more)
            let b = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
            b.update(from: buffer, count: count)
            buffer.deallocate()
            buffer = b
            capacity = bigger
        }

        /// Appends the low `n` bits of `value` (n ≤ 32).
        @inline(__always) mutating func write(_ value: UInt64, _ n: Int) {
            bits |= value << UInt64(used)
            used += n
            if used >= 32 {
                reserve(4)
                UnsafeMutableRawPointer(buffer + count).storeBytes(of: UInt32(truncatingIfNeeded: bits).littleEndian, as: UInt32.self)
                count += 4
                bits >>= 32
                used -= 32
            }
        }

        /// Pads to a byte, appends the stored block's length fields of a full flush (0, and its
        /// complement) and returns the bytes.
        mutating func finishFlush() -> [UInt8] {
            if used % 8 != 0 { write(0, 8 - used % 8) }
            bytes([0x00, 0x00, 0xFF, 0xFF])
            reserve(8)
            while used > 0 { buffer[count] = UInt8(truncatingIfNeeded: bits); count += 1; bits >>= 8; used -= 8 }
            return Array(UnsafeBufferPointer(start: buffer, count: count))
        }

        mutating func bytes(_ b: [UInt8]) {
            for x in b { write(UInt64(x), 8) }
        }

        /// Pads to a byte, appends the Adler-32 (big-endian) and returns the stream.
        mutating func finishZlib(adler: UInt32) -> [UInt8] {
            if used % 8 != 0 { write(0, 8 - used % 8) }
            bytes([UInt8(adler >> 24), UInt8(truncatingIfNeeded: adler >> 16), UInt8(truncatingIfNeeded: adler >> 8), UInt8(truncatingIfNeeded: adler)])
            reserve(8)
            while used > 0 { buffer[count] = UInt8(truncatingIfNeeded: bits); count += 1; bits >>= 8; used -= 8 }
            return Array(UnsafeBufferPointer(start: buffer, count: count))
        }
    }
}

/// Length-limited Huffman code lengths and canonical codes (RFC 1951 §3.2.2).
enum Huffman {
    /// Code lengths for `freq` (0 for unused symbols), none longer than `limit`. Ties break by
    /// symbol, so equal input always gives equal codes. Over the limit, the frequencies are
    /// flattened (halved, rounding up) and the code rebuilt.
    static func lengths(_ freq: [Int], limit: Int) -> [UInt8] {
        var f = freq
        while true {
            let symbols = f.indices.filter { f[$0] > 0 }.sorted { f[$0] != f[$1] ? f[$0] < f[$1] : $0 < $1 }
            var lengths = [UInt8](repeating: 0, count: f.count)
            if symbols.count == 1 { lengths[symbols[0]] = 1; return lengths }
            if symbols.isEmpty { return lengths }
            // Two queues: the sorted leaves, and internal nodes in the order made (weights non-decreasing).
            let leaves = symbols.count
            var weight = symbols.map { f[$0] }
            var parent = [Int](repeating: -1, count: 2 * leaves - 1)
            weight.reserveCapacity(2 * leaves - 1)
            var nextLeaf = 0, nextNode = leaves
            func takeSmallest() -> Int {
                if nextLeaf < leaves && (nextNode >= weight.count || weight[nextLeaf] <= weight[nextNode]) {
                    nextLeaf += 1; return nextLeaf - 1
                }
                nextNode += 1; return nextNode - 1
            }
            for _ in 0..<(leaves - 1) {
                let a = takeSmallest(), b = takeSmallest()
                weight.append(weight[a] + weight[b])
                parent[a] = weight.count - 1
                parent[b] = weight.count - 1
            }
            var depth = [Int](repeating: 0, count: weight.count)
            var deepest = 0
            for node in stride(from: weight.count - 2, through: 0, by: -1) {
                depth[node] = depth[parent[node]] + 1
                if node < leaves { deepest = max(deepest, depth[node]) }
            }
            if deepest <= limit {
                for (k, s) in symbols.enumerated() { lengths[s] = UInt8(depth[k]) }
                return lengths
            }
            for k in f.indices where f[k] > 0 { f[k] = (f[k] + 1) / 2 }
        }
    }

    /// The canonical codes for `lengths`, bit-reversed for deflate's least-significant-first order.
    static func codes(_ lengths: [UInt8]) -> [UInt16] {
        var count = [Int](repeating: 0, count: 17)
        for l in lengths where l > 0 { count[Int(l)] += 1 }
        var next = [Int](repeating: 0, count: 17)
        var code = 0
        for bits in 1...16 {
            code = (code + count[bits - 1]) << 1
            next[bits] = code
        }
        var codes = [UInt16](repeating: 0, count: lengths.count)
        for (s, l) in lengths.enumerated() where l > 0 {
            var c = next[Int(l)], r = 0
            next[Int(l)] += 1
            for _ in 0..<Int(l) { r = (r << 1) | (c & 1); c >>= 1 }
            codes[s] = UInt16(r)
        }
        return codes
    }
}
