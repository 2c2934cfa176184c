import CCairo
import CDeflate
import Foundation
import GradTrace
@testable import GradTraceRender
import Testing

/// A PNG decoder for the tests, independent of the encoder: chunks with their CRCs checked,
/// zlib inflated by libdeflate, every filter type undone, palettes expanded. Gives 0x00RRGGBB pixels.
enum TestPNG {
    struct Image { var width: Int, height: Int, colorType: UInt8, pixels: [UInt32] }
    enum Failure: Error { case bad(String) }

    static func decode(_ file: [UInt8]) throws -> Image {
        guard file.count > 8, Array(file[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { throw Failure.bad("signature") }
        func be32(_ i: Int) -> Int { Int(file[i]) << 24 | Int(file[i + 1]) << 16 | Int(file[i + 2]) << 8 | Int(file[i + 3]) }
        var i = 8
        var width = 0, height = 0, depth: UInt8 = 0, colorType: UInt8 = 0
        var palette: [UInt32] = [], idat: [UInt8] = []
        var ended = false
        while i + 12 <= file.count {
            let length = be32(i)
            let type = String(decoding: file[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = Array(file[(i + 8)..<(i + 8 + length)])
            let crc = file.withUnsafeBufferPointer { UInt32(libdeflate_crc32(0, $0.baseAddress! + i + 4, 4 + length)) }
            guard crc == UInt32(be32(i + 8 + length)) else { throw Failure.bad("CRC of \(type)") }
            switch type {
            case "IHDR":
                width = Int(body[0]) << 24 | Int(body[1]) << 16 | Int(body[2]) << 8 | Int(body[3])
                height = Int(body[4]) << 24 | Int(body[5]) << 16 | Int(body[6]) << 8 | Int(body[7])
                depth = body[8]; colorType = body[9]
                guard body[10] == 0, body[11] == 0, body[12] == 0 else { throw Failure.bad("IHDR methods") }
            case "PLTE":
                palette = stride(from: 0, to: body.count, by: 3).map { UInt32(body[$0]) << 16 | UInt32(body[$0 + 1]) << 8 | UInt32(body[$0 + 2]) }
            case "IDAT": idat += body
            case "IEND": ended = true
            default: break
            }
            i += 12 + length
        }
        guard ended, i == file.count else { throw Failure.bad("IEND") }
        guard depth == 8, colorType == 2 || colorType == 3 else { throw Failure.bad("depth \(depth), colour type \(colorType)") }
        return Image(width: width, height: height, colorType: colorType,
                     pixels: try rows(idat, width: width, height: height, colorType: colorType, palette: palette))
    }

    /// Inflates and unfilters one image's zlib data: 0x00RRGGBB pixels (0xAARRGGBB for RGBA).
    static func rows(_ zlib: [UInt8], width: Int, height: Int, colorType: UInt8, palette: [UInt32]) throws -> [UInt32] {
        let bpp = colorType == 2 ? 3 : (colorType == 6 ? 4 : 1), rowBytes = width * bpp
        var raw = [UInt8](repeating: 0, count: (rowBytes + 1) * height)
        guard let d = libdeflate_alloc_decompressor() else { throw Failure.bad("libdeflate") }
        defer { libdeflate_free_decompressor(d) }
        var actual = 0
        let result = zlib.withUnsafeBytes { src in raw.withUnsafeMutableBytes { dst in
            libdeflate_zlib_decompress(d, src.baseAddress, src.count, dst.baseAddress, dst.count, &actual)
        } }
        guard result == LIBDEFLATE_SUCCESS, actual == raw.count else { throw Failure.bad("inflate \(result) \(actual)") }
        var pixels = [UInt32](repeating: 0, count: width * height)
        var prev = [UInt8](repeating: 0, count: rowBytes), cur = prev
        for y in 0..<height {
            let f = raw[y * (rowBytes + 1)]
            for x in 0..<rowBytes {
                let v = raw[y * (rowBytes + 1) + 1 + x]
                let a = x >= bpp ? Int(cur[x - bpp]) : 0, b = Int(prev[x]), c = x >= bpp ? Int(prev[x - bpp]) : 0
                switch f {
                case 0: cur[x] = v
                case 1: cur[x] = v &+ UInt8(a)
                case 2: cur[x] = v &+ UInt8(b)
                case 3: cur[x] = v &+ UInt8((a + b) / 2)
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    cur[x] = v &+ UInt8(pa <= pb && pa <= pc ? a : (pb <= pc ? b : c))
                default: throw Failure.bad("filter \(f)")
                }
            }
            for x in 0..<width {
                switch colorType {
                case 2: pixels[y * width + x] = UInt32(cur[3 * x]) << 16 | UInt32(cur[3 * x + 1]) << 8 | UInt32(cur[3 * x + 2])
                case 6: pixels[y * width + x] = UInt32(cur[4 * x + 3]) << 24 | UInt32(cur[4 * x]) << 16 | UInt32(cur[4 * x + 1]) << 8 | UInt32(cur[4 * x + 2])
                default:
                    guard Int(cur[x]) < palette.count else { throw Failure.bad("index past the palette") }
                    pixels[y * width + x] = palette[Int(cur[x])]
                }
            }
            swap(&prev, &cur)
        }
        return pixels
    }

    /// The frames of an animated PNG of 8-bit RGBA frames (dispose none; blend source or over
    /// with alpha 0 or 255), composited: 0x00RRGGBB pixels of each frame.
    static func decodeAnimation(_ file: [UInt8]) throws -> (width: Int, height: Int, frames: [[UInt32]], delays: [Double]) {
        func be32(_ i: Int) -> Int { Int(file[i]) << 24 | Int(file[i + 1]) << 16 | Int(file[i + 2]) << 8 | Int(file[i + 3]) }
        var i = 8, width = 0, height = 0, declared = -1, sequence = 0
        var canvas: [UInt32] = [], frames: [[UInt32]] = [], delays: [Double] = []
        var pending: (w: Int, h: Int, x: Int, y: Int, blend: UInt8, data: [UInt8])?
        func flush() throws {
            guard let p = pending else { return }
            let px = try rows(p.data, width: p.w, height: p.h, colorType: 6, palette: [])
            for y in 0..<p.h {
                for x in 0..<p.w {
                    let v = px[y * p.w + x], alpha = v >> 24
                    guard alpha == 0 || alpha == 255 else { throw Failure.bad("alpha \(alpha)") }
                    if p.blend == 0 || alpha == 255 { canvas[(p.y + y) * width + p.x + x] = alpha == 255 ? v & 0x00FF_FFFF : 0 }
                }
            }
            frames.append(canvas)
            pending = nil
        }
        while i + 12 <= file.count {
            let length = be32(i)
            let type = String(decoding: file[(i + 4)..<(i + 8)], as: UTF8.self)
            let body = Array(file[(i + 8)..<(i + 8 + length)])
            let crc = file.withUnsafeBufferPointer { UInt32(libdeflate_crc32(0, $0.baseAddress! + i + 4, 4 + length)) }
            guard crc == UInt32(be32(i + 8 + length)) else { throw Failure.bad("CRC of \(type)") }
            func b32(_ k: Int) -> Int { Int(body[k]) << 24 | Int(body[k + 1]) << 16 | Int(body[k + 2]) << 8 | Int(body[k + 3]) }
            switch type {
            case "IHDR":
                width = b32(0); height = b32(4)
                guard body[8] == 8, body[9] == 6 else { throw Failure.bad("not 8-bit RGBA") }
                canvas = [UInt32](repeating: 0, count: width * height)
            case "acTL": declared = b32(0)
            case "fcTL":
                try flush()
                guard b32(0) == sequence else { throw Failure.bad("sequence") }
                sequence += 1
                let (w, h, x, y) = (b32(4), b32(8), b32(12), b32(16))
                guard w > 0, h > 0, x + w <= width, y + h <= height, body[24] == 0 else { throw Failure.bad("frame region") }
                delays.append(Double(Int(body[20]) << 8 | Int(body[21])) / Double(Int(body[22]) << 8 | Int(body[23])))
                pending = (w, h, x, y, body[25], [])
            case "IDAT": pending?.data += body
            case "fdAT":
                guard b32(0) == sequence else { throw Failure.bad("sequence") }
                sequence += 1
                pending?.data += body[4...]
            case "IEND": try flush()
            default: break
            }
            i += 12 + length
        }
        guard frames.count == declared else { throw Failure.bad("\(frames.count) frames, acTL says \(declared)") }
        return (width, height, frames, delays)
    }

    /// The pixels of an RGB24 image surface as 0x00RRGGBB.
    static func pixels(of surface: OpaquePointer) -> [UInt32] {
        let w = Int(cairo_image_surface_get_width(surface)), h = Int(cairo_image_surface_get_height(surface))
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        var out: [UInt32] = []
        out.reserveCapacity(w * h)
        for y in 0..<h {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<w { out.append(row[x] & 0x00FF_FFFF) }
        }
        return out
    }
}

private struct Mix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xRGB pixels (a stride wider than the row, as Cairo may have) from 0x00RRGGBB values.
private func encode(_ pixels: [UInt32], width: Int, height: Int, method: PNGEncoder.Method) throws -> [UInt8] {
    let stride = 4 * width + 8
    var buffer = [UInt8](repeating: 0xAB, count: stride * height)
    for y in 0..<height {
        for x in 0..<width {
            let v = pixels[y * width + x] | 0xFF00_0000
            withUnsafeBytes(of: v) { b in for k in 0..<4 { buffer[y * stride + 4 * x + k] = b[k] } }
        }
    }
    return try buffer.withUnsafeMutableBufferPointer { try PNGEncoder.encode(pixels: $0.baseAddress!, width: Int32(width), height: Int32(height), stride: stride, method: method) }
}

private let methods: [PNGEncoder.Method] = [
    .default(level: 1), .default(level: 6), .default(level: 0), .default(level: 12), .libpng(level: 1),
    PNGEncoder.Method(deflate: .libdeflate, level: 1, palette: false, rgbFilter: .sub),
    PNGEncoder.Method(deflate: .libdeflate, level: 1, palette: false, rgbFilter: .up),
    PNGEncoder.Method(deflate: .libdeflate, level: 1, palette: true, indexedFilter: .up),
    PNGEncoder.Method(deflate: .libdeflate, level: 1, palette: true, indexedFilter: .sub),
    PNGEncoder.Method(deflate: .runs, level: 1, palette: false),
]

@Suite("PNG encoding: palette, RunDeflate, libdeflate")
struct PNGEncodingTests {
    @Test("pictures of ≤ 256 colours become exact indexed PNGs, 257 colours stay RGB; every method decodes to the pixels")
    func paletteRoundTrip() throws {
        var rng = Mix(state: 3)
        for colors in [1, 2, 17, 255, 256, 257, 5000] {
            let palette = (0..<colors).map { UInt32($0) &* 0x010203 & 0xFFFFFF ^ UInt32(truncatingIfNeeded: $0 * 7919) & 0xFFFFFF }
            let unique = Array(Set(palette))
            let (w, h) = (61, 37)
            // Runs, repeated rows and noise, so every match kind occurs.
            var px = [UInt32](repeating: 0, count: w * h)
            for y in 0..<h {
                for x in 0..<w {
                    let r = Int(rng.next() % 100)
                    px[y * w + x] = r < 40 && x > 0 ? px[y * w + x - 1] : (r < 70 && y > 0 ? px[(y - 1) * w + x] : unique[Int(rng.next() % UInt64(unique.count))])
                }
            }
            let distinct = Set(px).count
            for m in methods {
                let file = try encode(px, width: w, height: h, method: m)
                let image = try TestPNG.decode(file)
                #expect(image.width == w && image.height == h)
                #expect(image.pixels == px, "\(colors) colours, \(m)")
                if m.palette && m.deflate != .libpng { #expect(image.colorType == (distinct <= 256 ? 3 : 2), "\(distinct) colours, \(m)") }
                #expect(try encode(px, width: w, height: h, method: m) == file, "same pixels, same bytes")
            }
        }
    }

    @Test("RunDeflate inflates back to its input: runs, noise, rows wider than the window, one byte")
    func runDeflateRoundTrip() throws {
        var rng = Mix(state: 11)
        for (n, rowBytes, pixelBytes) in [(1, 1, 1), (2, 1, 1), (300, 10, 3), (100_000, 301, 3), (200_000, 40_001, 3), (70_000, 700, 1), (5, 1000, 3)] {
            var data = [UInt8](repeating: 0, count: n)
            for i in 0..<n {
                let r = rng.next() % 10
                data[i] = r < 4 && i >= pixelBytes ? data[i - pixelBytes] : (r < 7 && i >= rowBytes ? data[i - rowBytes] : UInt8(truncatingIfNeeded: rng.next() % (r == 9 ? 256 : 4)))
            }
            let stream = data.withUnsafeBufferPointer { RunDeflate.zlib($0, rowBytes: rowBytes, pixelBytes: pixelBytes) }
            var back = [UInt8](repeating: 0, count: n)
            let d = libdeflate_alloc_decompressor()!
            defer { libdeflate_free_decompressor(d) }
            var actual = 0
            let result = stream.withUnsafeBytes { s in back.withUnsafeMutableBytes { b in
                libdeflate_zlib_decompress(d, s.baseAddress, s.count, b.baseAddress, b.count, &actual)
            } }
            #expect(result == LIBDEFLATE_SUCCESS && actual == n && back == data, "n \(n), rows of \(rowBytes)")
        }
    }

    @Test("a rendered frame decodes to the surface's pixels with every method")
    func renderedFrameRoundTrip() throws {
        let d = try Fixtures.diagram("neuron")
        let painter = Painter(diagram: d)
        let surface = try painter.image(painter.builder.drawing(d.scene(step: 3)), scale: 1)
        let expected = TestPNG.pixels(of: surface.pointer)
        for m in methods {
            let image = try TestPNG.decode(try PNGEncoder.encode(surface: surface.pointer, method: m))
            #expect(image.pixels == expected, "\(m)")
        }
    }
}

@Suite("PNG frames in row bands")
struct BandedPNGTests {
    @Test("Adler-32 combined from parts equals the checksum of the whole")
    func adlerCombine() {
        var rng = Mix(state: 5)
        for n in [0, 1, 2, 100, 5552, 5553, 70_000, 200_000] {
            let data = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let whole = data.withUnsafeBufferPointer { UInt32(libdeflate_adler32(1, $0.baseAddress, n)) }
            for cut in Set([0, n / 3, n / 2, n - 1, n].filter { $0 >= 0 && $0 <= n }) {
                let a = data.withUnsafeBufferPointer { UInt32(libdeflate_adler32(1, $0.baseAddress, cut)) }
                let b = data.withUnsafeBufferPointer { UInt32(libdeflate_adler32(1, $0.baseAddress.map { $0 + cut }, n - cut)) }
                #expect(Adler32.combine(a, b, length: n - cut) == whole, "n \(n), cut \(cut)")
            }
        }
        // All 0xFF bytes drive both sums to their largest values before the modulus.
        let ff = [UInt8](repeating: 0xFF, count: 100_000)
        let whole = ff.withUnsafeBufferPointer { UInt32(libdeflate_adler32(1, $0.baseAddress, $0.count)) }
        let half = ff.withUnsafeBufferPointer { UInt32(libdeflate_adler32(1, $0.baseAddress, 50_000)) }
        #expect(Adler32.combine(half, half, length: 50_000) == whole)
    }

    /// xRGB pixels of `px` in a buffer with a stride wider than a row (as Cairo may have).
    private func surface(_ px: [UInt32], width: Int, height: Int) -> (bytes: [UInt8], stride: Int) {
        let stride = 4 * width + 8
        var buffer = [UInt8](repeating: 0xAB, count: stride * height)
        for y in 0..<height {
            for x in 0..<width {
                withUnsafeBytes(of: px[y * width + x] | 0xFF00_0000) { b in for k in 0..<4 { buffer[y * stride + 4 * x + k] = b[k] } }
            }
        }
        return (buffer, stride)
    }

    @Test("frames encoded from the changed bands equal fresh encodings byte for byte and decode to their pixels")
    func cachedEqualsFresh() throws {
        var rng = Mix(state: 21)
        for (w, h) in [(57, 1), (40, 31), (73, 32), (90, 33), (64, 200)] {
            let cached = BandedPNGEncoder()
            // Two flat colours with runs, then changes of a few rectangles per frame: some add
            // colours (past 256 the frame turns RGB), some take them away again.
            var px = (0..<(w * h)).map { UInt32(($0 / w) % 7 < 3 ? 0xFFFFFF : 0x3366CC) }
            var previousType: UInt8 = 0, rgbFrames = 0, indexedFrames = 0
            for frame in 0..<14 {
                var rects: [FramePainter.PixelRect] = []
                if frame > 0 {
                    for _ in 0..<Int(rng.next() % 3) {
                        let x0 = Int(rng.next() % UInt64(w)), y0 = Int(rng.next() % UInt64(h))
                        let r = FramePainter.PixelRect(x0: x0, y0: y0, x1: min(w, x0 + 1 + Int(rng.next() % 20)), y1: min(h, y0 + 1 + Int(rng.next() % 40)))
                        let mode = rng.next() % 3
                        for y in r.y0..<r.y1 {
                            for x in r.x0..<r.x1 {
                                switch mode {
                                case 0: px[y * w + x] = UInt32(truncatingIfNeeded: rng.next()) & 0xFFFFFF  // many colours
                                case 1: px[y * w + x] = 0xFFFFFF
                                default: px[y * w + x] = UInt32(0x100000 + Int(rng.next() % 40))
                                }
                            }
                        }
                        rects.append(r)
                    }
                }
                if frame == 3 {
                    // Noise over 400 pixels: more than 256 colours, the frame turns RGB.
                    let r = FramePainter.PixelRect(x0: 0, y0: 0, x1: min(w, 20), y1: min(h, 20))
                    for y in r.y0..<r.y1 { for x in r.x0..<r.x1 { px[y * w + x] = UInt32(truncatingIfNeeded: rng.next()) & 0xFFFFFF } }
                    rects.append(r)
                }
                if frame == 9 {
                    // Everything plain again: the frame is indexed once more, with another palette.
                    px = (0..<(w * h)).map { UInt32(($0 % w) < w / 2 ? 0x112233 : 0xFFFFFF) }
                    rects = [FramePainter.PixelRect(x0: 0, y0: 0, x1: w, y1: h)]
                }
                let (bytes, stride) = surface(px, width: w, height: h)
                var buffer = bytes
                let file = buffer.withUnsafeMutableBufferPointer {
                    cached.encode(pixels: $0.baseAddress!, width: w, height: h, stride: stride, changed: frame == 0 ? nil : rects)
                }
                let fresh = buffer.withUnsafeMutableBufferPointer {
                    BandedPNGEncoder().encode(pixels: $0.baseAddress!, width: w, height: h, stride: stride, changed: nil)
                }
                #expect(file == fresh, "\(w) × \(h), frame \(frame)")
                let image = try TestPNG.decode(file)
                #expect(image.pixels == px, "\(w) × \(h), frame \(frame)")
                #expect(image.colorType == (Set(px).count <= 256 ? 3 : 2), "\(w) × \(h), frame \(frame): \(Set(px).count) colours")
                // RGB after RGB: exactly the bands the rectangles touch are compressed again.
                let touched = Set(rects.filter { !$0.isEmpty }.flatMap { ($0.y0 / BandedPNGEncoder.bandRows)...(($0.y1 - 1) / BandedPNGEncoder.bandRows) })
                if frame > 0 && image.colorType == 2 && previousType == 2 { #expect(cached.lastCompressed == touched.count, "\(w) × \(h), frame \(frame)") }
                if frame > 0 && rects.isEmpty { #expect(cached.lastCompressed == 0, "nothing changed, nothing compressed") }
                if image.colorType == 2 { rgbFrames += 1 } else { indexedFrames += 1 }
                previousType = image.colorType
            }
            if w * h > 1000 { #expect(rgbFrames > 0 && indexedFrames > 0, "\(w) × \(h): both kinds of frame occur") }
        }
    }

    @Test("a frame's bands compress alone: the stream is the bands joined, each ending in a full flush")
    func bandsJoin() throws {
        let d = try Fixtures.diagram("neuron")
        let painter = Painter(diagram: d)
        let surface = try painter.image(painter.builder.drawing(d.scene(step: 2)), scale: 1.5)
        let h = Int(cairo_image_surface_get_height(surface.pointer))
        #expect(h > 2 * BandedPNGEncoder.bandRows)
        let file = try PNGEncoder.encode(surface: surface.pointer, compression: 1)
        let image = try TestPNG.decode(file)
        #expect(image.pixels == TestPNG.pixels(of: surface.pointer))
        // One sync marker (an empty stored block: 00 00 FF FF) per band at least.
        var markers = 0
        for i in 0..<(file.count - 4) where file[i] == 0 && file[i + 1] == 0 && file[i + 2] == 0xFF && file[i + 3] == 0xFF { markers += 1 }
        #expect(markers >= (h + BandedPNGEncoder.bandRows - 1) / BandedPNGEncoder.bandRows)
    }
}

@Suite("Frames: incremental repainting")
struct FramePaintingTests {
    @Test("every frame painted over another equals its full paint, in order, reversed, by strides and shuffled")
    func incrementalEqualsFull() throws {
        for (sample, scale) in [("loss", 1.0), ("neuron", 1.5), ("micrograd-chain", 0.75), ("mlp-demo", 0.25)] {
            let d = try Fixtures.diagram(sample)
            let frames = FrameSet(diagram: d, format: .png, scale: scale)
            let all = Array(0...d.stepCount)
            var rng = Mix(state: UInt64(d.stepCount))
            var shuffled = all
            for i in shuffled.indices.reversed() { shuffled.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            // The big demo in order only (as workers paint it), the small ones in every order.
            let orders = sample == "mlp-demo" ? [all] : [all, all.reversed(), Array(stride(from: 0, through: d.stepCount, by: 5)), shuffled]
            for (k, order) in orders.enumerated() where order.count > 1 {
                let r = try frames.repaintCheck(order: order)
                #expect(r.mismatched.isEmpty, "\(sample), order \(k): frames \(r.mismatched) differ from their full paint")
                if k == 0 { #expect(r.partial > 0, "\(sample): nothing was painted incrementally") }
            }
        }
        // A tensor picture with fused nodes: a row's change repaints its whole node.
        let p = try Program.parse(TensorRenderTests.deepMLP)
        let t = try #require(p.tensor)
        let d = try Diagram(tensor: TensorTrace(graph: t.graph, output: t.output), style: RenderStyle(rankdir: .TB))
        let all = Array(0...d.stepCount)
        for order in [all, all.reversed()] {
            let r = try FrameSet(diagram: d, format: .png, scale: 0.5).repaintCheck(order: order)
            #expect(r.mismatched.isEmpty, "fused MLP: frames \(r.mismatched) differ from their full paint")
        }
    }

    @Test("the animated PNG holds every frame exactly, as frame differences")
    func animatedPNG() throws {
        for sample in ["neuron", "loss"] {
            let d = try Fixtures.diagram(sample)
            let frames = FrameSet(diagram: d, format: .png, scale: 1)
            let file = try frames.animatedPNG(delay: 0.5, lastDelay: 2)
            #expect(try frames.animatedPNG(delay: 0.5, lastDelay: 2) == file, "same frames, same bytes")
            let animation = try TestPNG.decodeAnimation(file)
            #expect(animation.frames.count == d.stepCount + 1)
            #expect(animation.delays.first == 0.5 && animation.delays.last == 2)
            for k in 0...d.stepCount {
                let still = try TestPNG.decode(frames.render(step: k))
                #expect(still.width == animation.width && still.height == animation.height)
                #expect(animation.frames[k] == still.pixels, "\(sample) frame \(k)")
            }
        }
    }

    @Test("frame bytes are the same for any --jobs and equal a single render of that step")
    func framesIndependentOfJobs() throws {
        let d = try Fixtures.diagram("neuron")
        let frames = FrameSet(diagram: d, format: .png, scale: 1)
        final class Box: @unchecked Sendable { var frames: [Int: [UInt8]] = [:]; let lock = NSLock() }
        var runs: [[Int: [UInt8]]] = []
        for jobs in [1, 2, 3, 1] {
            let box = Box()
            try frames.renderAll(jobs: jobs, sink: { k, bytes in box.lock.lock(); box.frames[k] = bytes; box.lock.unlock() })
            runs.append(box.frames)
        }
        for r in runs.dropFirst() { #expect(r == runs[0]) }
        for k in [0, d.stepCount / 2, d.stepCount] {
            let single = try d.render(step: k, format: .png(scale: 1, compression: RasterLimits.frameLevel))
            #expect(runs[0][k] == single, "frame \(k)")
        }
    }
}
