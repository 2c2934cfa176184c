import CDeflate

/// The PNG encoding of frames (``RunDeflate``, PNG compression level 1): the filtered rows are
/// compressed in bands of ``bandRows`` rows, each band on its own (no match reaches back into
/// the band before) and ended by a full flush, so the bands' bytes concatenate into the one zlib
/// stream of the IDAT chunk, and its Adler-32 is combined from the bands' checksums.
///
/// One encoder kept across the frames a worker paints caches each band's compressed bytes, its
/// checksum and its colours; told which pixel rectangles changed since the last frame (the
/// ``FramePainter`` knows), it rescans and recompresses only the bands those rectangles touch.
/// A band's bytes depend only on its pixels (and, for an indexed PNG, on the palette), so a
/// frame's bytes are the same whether it was encoded from scratch or from the cache, and
/// whatever was encoded before it.
///
/// As ``PNGEncoder`` does for every picture: at most 256 colours give an 8-bit indexed PNG with
/// an exact palette in order of first appearance, more give 8-bit RGB; every row is filtered
/// with None. The colour scan stops as soon as the frame is known to have more than 256 colours
/// (known bands first: an RGB frame whose unchanged bands already hold 257 colours scans nothing).
final class BandedPNGEncoder {
    /// Rows per band (the last band may be shorter). Part of the output's bytes: changing it
    /// changes every frame file.
    static let bandRows = 32

    /// A band's distinct colours (0x00RRGGBB) in order of first appearance, when there are at most 256.
    enum Colours { case unknown, list([UInt32]), many }

    /// A band compressed: its deflate bytes (ending in a full flush), and the Adler-32 and length
    /// of the filtered rows they hold.
    struct Compressed { var bytes: [UInt8]; var adler: UInt32; var length: Int }

    struct Band {
        var colours = Colours.unknown
        var rgb: Compressed?
        var indexed: Compressed?
    }

    private var width = 0, height = 0
    private var bands: [Band] = []
    /// The palette the bands' `indexed` bytes were made with.
    private var palette: [UInt32] = []
    /// Whether a frame of at most 256 colours becomes an indexed PNG (otherwise every frame is RGB).
    let indexed: Bool
    /// Bands compressed by the last ``encode(pixels:width:height:stride:changed:)`` (for tests and the benchmark).
    private(set) var lastCompressed = 0

    init(indexed: Bool = true) { self.indexed = indexed }

    /// The PNG of a surface's pixels (native-endian xRGB32, Cairo's RGB24). `changed` is the set
    /// of pixel rectangles that may differ from the pixels of the last call, or nil when anything
    /// may (the first call, a full repaint, another size).
    func encode(pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int, stride: Int,
                changed: [FramePainter.PixelRect]?) -> [UInt8] {
        let count = (height + Self.bandRows - 1) / Self.bandRows
        if width != self.width || height != self.height || changed == nil {
            self.width = width
            self.height = height
            bands = [Band](repeating: Band(), count: count)
        } else if let changed {
            for r in changed where !r.isEmpty && r.y0 < height {
                for b in (max(0, r.y0) / Self.bandRows)...((min(height, r.y1) - 1) / Self.bandRows) { bands[b] = Band() }
            }
        }
        lastCompressed = 0
        let palette = paletteIfFew(pixels, stride: stride)
        if let palette, palette != self.palette {
            for b in bands.indices { bands[b].indexed = nil }
            self.palette = palette
        }
        var table = ColourTable()
        if let palette { for (k, c) in palette.enumerated() { table.insert(c, index: UInt8(k)) } }
        var pieces: [[UInt8]] = []
        pieces.reserveCapacity(count)
        var adler: UInt32 = 1
        for b in bands.indices {
            let y0 = b * Self.bandRows, rows = min(Self.bandRows, height - y0)
            let cached = palette == nil ? bands[b].rgb : bands[b].indexed
            let band: Compressed
            if let cached {
                band = cached
            } else {
                let start = pixels + y0 * stride
                let data = palette == nil
                    ? PNGEncoder.rgbRows(start, width: width, height: rows, stride: stride, filter: .none)
                    : Self.indexRows(start, width: width, height: rows, stride: stride, table: table)
                let rowBytes = palette == nil ? 3 * width + 1 : width + 1
                band = data.withUnsafeBufferPointer { d in
                    Compressed(bytes: RunDeflate.band(d, rowBytes: rowBytes, pixelBytes: palette == nil ? 3 : 1),
                               adler: UInt32(libdeflate_adler32(1, d.baseAddress, d.count)), length: d.count)
                }
                if palette == nil { bands[b].rgb = band } else { bands[b].indexed = band }
                lastCompressed += 1
            }
            adler = Adler32.combine(adler, band.adler, length: band.length)
            pieces.append(band.bytes)
        }
        return PNGEncoder.container(width: width, height: height, palette: palette, zlib: RunDeflate.zlib(bands: pieces, adler: adler))
    }

    /// The frame's palette (its colours in order of first appearance), or nil past 256 colours.
    /// Bands whose colours are known are counted first; unknown bands are scanned only while the
    /// frame may still have at most 256 colours.
    private func paletteIfFew(_ pixels: UnsafeMutablePointer<UInt8>, stride: Int) -> [UInt32]? {
        guard indexed else { return nil }
        var seen = ColourTable(), distinct = 0
        func add(_ colours: [UInt32]) -> Bool {
            for c in colours where seen.index(of: c) == nil {
                if distinct == 256 { return false }
                seen.insert(c, index: 0)
                distinct += 1
            }
            return true
        }
        for band in bands {
            switch band.colours {
            case .many: return nil
            case .list(let l): if !add(l) { return nil }
            case .unknown: break
            }
        }
        for b in bands.indices {
            guard case .unknown = bands[b].colours else { continue }
            let y0 = b * Self.bandRows
            let colours = Self.colours(pixels + y0 * stride, width: width, height: min(Self.bandRows, height - y0), stride: stride)
            bands[b].colours = colours.map { .list($0) } ?? .many
            guard let colours, add(colours) else { return nil }
        }
        // Every band is known and the frame has at most 256 colours: their union in band order.
        var palette: [UInt32] = [], order = ColourTable()
        for band in bands {
            guard case .list(let l) = band.colours else { return nil }
            for c in l where order.index(of: c) == nil {
                order.insert(c, index: 0)
                palette.append(c)
            }
        }
        return palette
    }

    /// The distinct colours of a block of rows in order of first appearance, or nil past 256.
    static func colours(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int, stride: Int) -> [UInt32]? {
        var table = ColourTable()
        var list: [UInt32] = []
        list.reserveCapacity(256)
        for y in 0..<height {
            let row = UnsafeRawPointer(pixels + y * stride).assumingMemoryBound(to: UInt32.self)
            var last = UInt32.max
            for x in 0..<width {
                let c = row[x] & 0x00FF_FFFF
                if c == last { continue }
                last = c
                if table.index(of: c) == nil {
                    if list.count == 256 { return nil }
                    table.insert(c, index: 0)
                    list.append(c)
                }
            }
        }
        return list
    }

    /// The unfiltered scanlines of an indexed image (a 0 filter byte, then one index a pixel);
    /// every colour is in `table`.
    static func indexRows(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int, stride: Int, table: ColourTable) -> [UInt8] {
        let rowBytes = width + 1
        return [UInt8](unsafeUninitializedCapacity: rowBytes * height) { out, initialized in
            let base = out.baseAddress!
            for y in 0..<height {
                let row = UnsafeRawPointer(pixels + y * stride).assumingMemoryBound(to: UInt32.self)
                let o = base + y * rowBytes
                o[0] = PNGEncoder.Filter.none.rawValue
                var last = UInt32.max, lastIndex: UInt8 = 0
                for x in 0..<width {
                    let c = row[x] & 0x00FF_FFFF
                    if c != last { lastIndex = table.index(of: c) ?? 0; last = c }
                    o[1 + x] = lastIndex
                }
            }
            initialized = rowBytes * height
        }
    }
}

/// At most 256 colours (24-bit, so all-ones marks a free slot) with an 8-bit value each, in an
/// open-addressed table.
struct ColourTable {
    private static let slots = 1024
    private var keys = [UInt32](repeating: .max, count: slots)
    private var values = [UInt8](repeating: 0, count: slots)

    @inline(__always) private static func slot(_ c: UInt32) -> Int { Int(truncatingIfNeeded: (c &* 0x9E37_79B1) >> 22) }

    func index(of c: UInt32) -> UInt8? {
        var s = Self.slot(c)
        while true {
            let k = keys[s]
            if k == c { return values[s] }
            if k == .max { return nil }
            s = (s + 1) & (Self.slots - 1)
        }
    }

    /// Adds `c` (not in the table yet).
    mutating func insert(_ c: UInt32, index: UInt8) {
        var s = Self.slot(c)
        while keys[s] != .max { s = (s + 1) & (Self.slots - 1) }
        keys[s] = c
        values[s] = index
    }
}

/// Adler-32 (RFC 1950) of joined data from the checksums of its parts.
enum Adler32 {
    static let modulus: UInt64 = 65521

    /// The Adler-32 of A followed by B, from `a` (A's), `b` (B's) and B's length. With
    /// s1 = 1 + Σ bytes and s2 = Σ of s1 after each byte: s1(AB) = s1(A) + s1(B) − 1 and
    /// s2(AB) = s2(A) + s2(B) + length(B) · (s1(A) − 1), modulo 65521.
    static func combine(_ a: UInt32, _ b: UInt32, length: Int) -> UInt32 {
        let m = modulus
        let a1 = UInt64(a & 0xFFFF), a2 = UInt64(a >> 16)
        let b1 = UInt64(b & 0xFFFF), b2 = UInt64(b >> 16)
        let n = UInt64(length) % m
        let s1 = (a1 + b1 + m - 1) % m
        let s2 = (a2 + b2 + n * ((a1 + m - 1) % m)) % m
        return UInt32(s2 << 16 | s1)
    }
}
