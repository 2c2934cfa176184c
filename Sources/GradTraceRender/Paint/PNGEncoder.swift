import CCairo
import CDeflate
import CImageCodecs

/// PNG encoding straight from a Cairo RGB24 surface.
///
/// The default path writes the file itself (signature, IHDR, PLTE, one IDAT, IEND) and deflates
/// the filtered rows with libdeflate in one call, or at level 1 (frames) with ``RunDeflate`` in
/// row bands (``BandedPNGEncoder``, filter None for both kinds):
///
/// - a picture of at most 256 colours (a flat diagram usually is) becomes an 8-bit **indexed**
///   PNG with an exact palette, in order of first appearance (scan order), so the same pixels
///   always give the same bytes; every row is filtered with None, as the PNG spec advises for
///   palettes. Lossless: a decoder gives back every pixel exactly.
/// - more colours: 8-bit RGB, every row filtered with Up (flat diagrams repeat rows).
///
/// Pictures of more than ``streamingPixels`` pixels (a large `render`, never a frame) go through
/// libpng, which streams, as every picture did before; the pixels are the same either way.
enum PNGEncoder {
    /// A PNG row filter (the types of the PNG spec; only these are used).
    enum Filter: UInt8, CaseIterable, Sendable {
        case none = 0, sub = 1, up = 2
    }

    /// How a picture is encoded; `default(level:)` is what every picture and frame uses.
    struct Method: Sendable, CustomStringConvertible {
        enum Deflate: Sendable { case libpng, libdeflate, runs }
        var deflate: Deflate
        var level: Int32
        /// Try an exact palette first (libdeflate path only).
        var palette: Bool
        var indexedFilter: Filter = .none
        var rgbFilter: Filter = .none

        /// Level 1 (frames): ``RunDeflate``; other levels: libdeflate at that level.
        static func `default`(level: Int32) -> Method {
            Method(deflate: level <= 1 ? .runs : .libdeflate, level: level, palette: true)
        }
        static func libpng(level: Int32) -> Method { Method(deflate: .libpng, level: level, palette: false) }

        var description: String {
            switch deflate {
            case .libpng: return "libpng (zlib \(level), libpng's adaptive filters), RGB"
            case .runs:
                return "RunDeflate in bands of \(BandedPNGEncoder.bandRows) rows (runs left and up, dynamic Huffman), " + (palette ? "indexed if ≤ 256 colours, else " : "") + "RGB, filter none"
            case .libdeflate:
                let rgb = "RGB, filter \(rgbFilter)"
                return "libdeflate \(level), " + (palette ? "indexed if ≤ 256 colours (filter \(indexedFilter)), else " + rgb : rgb)
            }
        }
    }

    final class Buffer { var bytes: [UInt8] = [] }

    /// Pictures past this many pixels go through libpng, which streams row by row: the
    /// whole-buffer encoders would hold the filtered rows (3 bytes a pixel) beside the surface.
    static let streamingPixels = 32_000_000

    static func encode(surface: OpaquePointer, compression: Int32) throws(RenderError) -> [UInt8] {
        let pixels = Int(cairo_image_surface_get_width(surface)) * Int(cairo_image_surface_get_height(surface))
        return try encode(surface: surface, method: method(compression: compression, pixels: pixels))
    }

    /// The method for a picture of `pixels` pixels at PNG `compression`.
    static func method(compression: Int32, pixels: Int) -> Method {
        pixels > streamingPixels ? .libpng(level: compression) : .default(level: compression)
    }

    /// Whether such a picture is encoded by ``BandedPNGEncoder`` (which a ``FramePainter`` can
    /// feed with the bands that changed).
    static func encodesInBands(compression: Int32, pixels: Int) -> Bool {
        let m = method(compression: compression, pixels: pixels)
        return m.deflate == .runs && m.palette
    }

    static func encode(surface: OpaquePointer, method: Method) throws(RenderError) -> [UInt8] {
        let width = cairo_image_surface_get_width(surface)
        let height = cairo_image_surface_get_height(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface) else { throw RenderError.cairo("image surface has no pixels") }
        return try encode(pixels: data, width: width, height: height, stride: stride, method: method)
    }

    /// Encodes native-endian xRGB32 pixels (Cairo's RGB24) as a PNG.
    static func encode(pixels: UnsafeMutablePointer<UInt8>, width: Int32, height: Int32, stride: Int,
                       compression: Int32) throws(RenderError) -> [UInt8] {
        try encode(pixels: pixels, width: width, height: height, stride: stride, method: .default(level: compression))
    }

    static func encode(pixels: UnsafeMutablePointer<UInt8>, width: Int32, height: Int32, stride: Int,
                       method: Method) throws(RenderError) -> [UInt8] {
        let level = max(0, min(method.deflate == .libpng ? 9 : 12, method.level))
        switch method.deflate {
        case .libpng:
            return try encodeWithLibpng(pixels: pixels, width: width, height: height, stride: stride, compression: level)
        case .runs:
            return BandedPNGEncoder(indexed: method.palette).encode(pixels: pixels, width: Int(width), height: Int(height), stride: stride, changed: nil)
        case .libdeflate:
            let w = Int(width), h = Int(height)
            if method.palette, let (palette, rows) = indexedRows(pixels, width: w, height: h, stride: stride, filter: method.indexedFilter) {
                return try container(width: w, height: h, palette: palette, rows: rows, level: level)
            }
            let rows = rgbRows(pixels, width: w, height: h, stride: stride, filter: method.rgbFilter)
            return try container(width: w, height: h, palette: nil, rows: rows, level: level)
        }
    }

    // MARK: rows

    /// The filtered scanlines of an 8-bit indexed image (a filter byte, then one index a pixel)
    /// and its palette (0x00RRGGBB, in order of first appearance), or nil past 256 colours.
    static func indexedRows(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int, stride: Int,
                            filter: Filter) -> (palette: [UInt32], rows: [UInt8])? {
        let rowBytes = width + 1
        // An open-addressed table of colour → index; colours are 24-bit, so all-ones is free.
        let slots = 1024, empty = UInt32.max
        var keys = [UInt32](repeating: empty, count: slots)
        var values = [UInt8](repeating: 0, count: slots)
        var palette: [UInt32] = []
        palette.reserveCapacity(256)
        var failed = false
        let rows = [UInt8](unsafeUninitializedCapacity: rowBytes * height) { out, initialized in
            keys.withUnsafeMutableBufferPointer { keys in
            values.withUnsafeMutableBufferPointer { values in
                let base = out.baseAddress!
                var last = UInt32.max, lastIndex: UInt8 = 0
                rowLoop: for y in 0..<height {
                    let row = UnsafeRawPointer(pixels + y * stride).assumingMemoryBound(to: UInt32.self)
                    let o = base + y * rowBytes
                    o[0] = filter.rawValue
                    let dst = o + 1
                    for x in 0..<width {
                        let c = row[x] & 0x00FF_FFFF
                        if c != last {
                            var slot = Int(truncatingIfNeeded: (c &* 0x9E37_79B1) >> 22)
                            while true {
                                let k = keys[slot]
                                if k == c { lastIndex = values[slot]; break }
                                if k == empty {
                                    if palette.count == 256 { failed = true; break rowLoop }
                                    keys[slot] = c
                                    lastIndex = UInt8(palette.count)
                                    values[slot] = lastIndex
                                    palette.append(c)
                                    break
                                }
                                slot = (slot + 1) & (slots - 1)
                            }
                            last = c
                        }
                        dst[x] = lastIndex
                    }
                }
                if !failed && filter != .none {
                    // Filter in place from the bottom row up (each row needs its unfiltered left and upper neighbours).
                    var y = height - 1
                    while y >= 0 {
                        let cur = base + y * rowBytes + 1
                        switch filter {
                        case .none: break
                        case .sub:
                            var x = width - 1
                            while x >= 1 { cur[x] = cur[x] &- cur[x - 1]; x -= 1 }
                        case .up:
                            if y > 0 {
                                let prev = base + (y - 1) * rowBytes + 1
                                for x in 0..<width { cur[x] = cur[x] &- prev[x] }
                            }
                        }
                        y -= 1
                    }
                }
            }
            }
            initialized = failed ? 0 : rowBytes * height
        }
        return failed ? nil : (palette, rows)
    }

    /// The filtered scanlines of an 8-bit RGB image.
    static func rgbRows(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int, stride: Int, filter: Filter) -> [UInt8] {
        let rowBytes = 3 * width + 1
        return [UInt8](unsafeUninitializedCapacity: rowBytes * height) { out, initialized in
            let base = out.baseAddress!
            for y in 0..<height {
                let row = UnsafeRawPointer(pixels + y * stride).assumingMemoryBound(to: UInt32.self)
                let o = base + y * rowBytes
                o[0] = filter.rawValue
                let dst = o + 1
                switch filter {
                case .none, .sub:
                    var pr: UInt8 = 0, pg: UInt8 = 0, pb: UInt8 = 0
                    let sub = filter == .sub
                    for x in 0..<width {
                        let c = row[x]
                        let r = UInt8(truncatingIfNeeded: c >> 16), g = UInt8(truncatingIfNeeded: c >> 8), b = UInt8(truncatingIfNeeded: c)
                        if sub {
                            dst[3 * x] = r &- pr; dst[3 * x + 1] = g &- pg; dst[3 * x + 2] = b &- pb
                            pr = r; pg = g; pb = b
                        } else {
                            dst[3 * x] = r; dst[3 * x + 1] = g; dst[3 * x + 2] = b
                        }
                    }
                case .up:
                    if y == 0 {
                        for x in 0..<width {
                            let c = row[x]
                            dst[3 * x] = UInt8(truncatingIfNeeded: c >> 16)
                            dst[3 * x + 1] = UInt8(truncatingIfNeeded: c >> 8)
                            dst[3 * x + 2] = UInt8(truncatingIfNeeded: c)
                        }
                    } else {
                        let above = UnsafeRawPointer(pixels + (y - 1) * stride).assumingMemoryBound(to: UInt32.self)
                        for x in 0..<width {
                            let c = row[x], p = above[x]
                            if c == p {
                                dst[3 * x] = 0; dst[3 * x + 1] = 0; dst[3 * x + 2] = 0
                            } else {
                                dst[3 * x] = UInt8(truncatingIfNeeded: c >> 16) &- UInt8(truncatingIfNeeded: p >> 16)
                                dst[3 * x + 1] = UInt8(truncatingIfNeeded: c >> 8) &- UInt8(truncatingIfNeeded: p >> 8)
                                dst[3 * x + 2] = UInt8(truncatingIfNeeded: c) &- UInt8(truncatingIfNeeded: p)
                            }
                        }
                    }
                }
            }
            initialized = rowBytes * height
        }
    }

    // MARK: the file

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The zlib stream of filtered `rows`, by libdeflate at `level`.
    static func libdeflateZlib(_ rows: [UInt8], level: Int32) throws(RenderError) -> [UInt8] {
        guard let compressor = libdeflate_alloc_compressor(level) else { throw RenderError.cairo("libdeflate could not start") }
        defer { libdeflate_free_compressor(compressor) }
        let bound = libdeflate_zlib_compress_bound(compressor, rows.count)
        let stream = [UInt8](unsafeUninitializedCapacity: bound) { out, initialized in
            initialized = rows.withUnsafeBytes { raw in
                libdeflate_zlib_compress(compressor, raw.baseAddress, raw.count, out.baseAddress, bound)
            }
        }
        if stream.isEmpty { throw RenderError.cairo("libdeflate could not compress the picture") }
        return stream
    }

    /// The PNG file of filtered `rows`: libdeflate at `level`.
    static func container(width: Int, height: Int, palette: [UInt32]?, rows: [UInt8], level: Int32) throws(RenderError) -> [UInt8] {
        container(width: width, height: height, palette: palette, zlib: try libdeflateZlib(rows, level: level))
    }

    /// The PNG file around a zlib stream of filtered rows: IHDR, PLTE (indexed), one IDAT, IEND.
    static func container(width: Int, height: Int, palette: [UInt32]?, zlib: [UInt8]) -> [UInt8] {
        var file = PNGFile(capacity: 8 + 25 + 12 + 3 * (palette?.count ?? 0) + 12 + zlib.count + 12)
        file.header(width: width, height: height, indexed: palette != nil)
        if let palette {
            file.chunk("PLTE") { f in
                for c in palette { f += [UInt8(truncatingIfNeeded: c >> 16), UInt8(truncatingIfNeeded: c >> 8), UInt8(truncatingIfNeeded: c)] }
            }
        }
        file.chunk("IDAT") { f in f += zlib }
        file.chunk("IEND") { _ in }
        return file.bytes
    }

    // MARK: libpng (the encode table's reference)

    /// libpng straight from the surface (no copy of the pixels): libpng swaps BGR to RGB and
    /// strips the filler byte itself.
    static func encodeWithLibpng(pixels: UnsafeMutablePointer<UInt8>, width: Int32, height: Int32, stride: Int,
                                 compression: Int32) throws(RenderError) -> [UInt8] {
        guard let png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nil, nil, nil) else {
            throw RenderError.cairo("libpng could not start")
        }
        var info = png_create_info_struct(png)
        var pngOpt: png_structp? = png
        defer { png_destroy_write_struct(&pngOpt, &info) }
        let buffer = Buffer()
        buffer.bytes.reserveCapacity(Int(width) * Int(height) / 4)
        let box = Unmanaged.passUnretained(buffer).toOpaque()
        png_set_write_fn(png, box, { p, data, length in
            guard let p, let data, let io = png_get_io_ptr(p) else { return }
            let b = Unmanaged<Buffer>.fromOpaque(io).takeUnretainedValue()
            b.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: length))
        }, { _ in })
        png_set_compression_level(png, compression)
        png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), 8, PNG_COLOR_TYPE_RGB,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT)
        png_write_info(png, info)
        // Cairo stores a pixel as a native-endian 32-bit xRGB word: bytes B, G, R, x on little-endian.
        png_set_bgr(png)
        png_set_filler(png, 0, PNG_FILLER_AFTER)
        for y in 0..<Int(height) {
            png_write_row(png, pixels + y * stride)
        }
        png_write_end(png, nil)
        return buffer.bytes
    }
}

/// A PNG file being written: the signature, then chunks (length, type, body, CRC-32).
struct PNGFile {
    var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
        bytes += PNGEncoder.signature
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
    }

    /// Appends a chunk whose body `body` writes.
    mutating func chunk(_ type: String, _ body: (inout [UInt8]) -> Void) {
        let lengthAt = bytes.count
        bytes += [0, 0, 0, 0]
        let start = bytes.count
        bytes += Array(type.utf8)
        body(&bytes)
        let length = Self.be32(UInt32(bytes.count - start - 4))
        for k in 0..<4 { bytes[lengthAt + k] = length[k] }
        let crc = bytes.withUnsafeBufferPointer { libdeflate_crc32(0, $0.baseAddress! + start, $0.count - start) }
        bytes += Self.be32(crc)
    }

    /// IHDR: 8 bits a sample, RGB or indexed, deflate, adaptive filtering, no interlace.
    mutating func header(width: Int, height: Int, indexed: Bool) {
        chunk("IHDR") { f in
            f += Self.be32(UInt32(width)) + Self.be32(UInt32(height))
            f += [8, indexed ? 3 : 2, 0, 0, 0]
        }
    }
}
