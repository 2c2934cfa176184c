import Foundation
import GradTrace
@testable import GradTraceRender
import Testing

/// A GIF decoder for the tests, independent of the encoder (giflib): blocks, colour tables, the
/// graphic control extension (delay, disposal, transparent index) and LZW, frames composited over the
/// frame before as "leave in place" says. Gives 0x00RRGGBB pixels per frame.
enum TestGIF {
    enum Failure: Error { case bad(String) }

    static func decode(_ g: [UInt8]) throws -> (width: Int, height: Int, frames: [[UInt32]], delays: [Int]) {
        guard g.count > 13, Array(g[0..<6]) == Array("GIF89a".utf8) else { throw Failure.bad("signature") }
        func le16(_ i: Int) -> Int { Int(g[i]) | Int(g[i + 1]) << 8 }
        let width = le16(6), height = le16(8)
        var i = 13
        var global: [UInt32] = []
        if g[10] & 0x80 != 0 { (global, i) = table(g, 13, 2 << Int(g[10] & 7)) }
        var canvas = [UInt32](repeating: 0, count: width * height)
        var frames: [[UInt32]] = [], delays: [Int] = []
        var transparent: Int? = nil, delay = 0
        while i < g.count {
            switch g[i] {
            case 0x21:
                let label = g[i + 1]
                i += 2
                if label == 0xF9 {
                    transparent = g[i + 1] & 1 != 0 ? Int(g[i + 4]) : nil
                    delay = le16(i + 2)
                    guard (g[i + 1] >> 2) & 7 <= 1 else { throw Failure.bad("disposal other than none / leave in place") }
                }
                while g[i] != 0 { i += 1 + Int(g[i]) }
                i += 1
            case 0x2C:
                let (x, y, w, h, flags) = (le16(i + 1), le16(i + 3), le16(i + 5), le16(i + 7), g[i + 9])
                i += 10
                var colours = global
                if flags & 0x80 != 0 { (colours, i) = table(g, i, 2 << Int(flags & 7)) }
                guard flags & 0x40 == 0 else { throw Failure.bad("interlaced") }
                let minCode = Int(g[i]); i += 1
                var data: [UInt8] = []
                while g[i] != 0 { data += g[(i + 1)...(i + Int(g[i]))]; i += 1 + Int(g[i]) }
                i += 1
                let indices = try lzw(data, minCode: minCode, count: w * h)
                guard x + w <= width, y + h <= height else { throw Failure.bad("frame outside the screen") }
                for r in 0..<h { for c in 0..<w {
                    let k = Int(indices[r * w + c])
                    if k == transparent { continue }
                    guard k < colours.count else { throw Failure.bad("index past the colour table") }
                    canvas[(y + r) * width + x + c] = colours[k]
                } }
                frames.append(canvas)
                delays.append(delay)
                transparent = nil
            case 0x3B:
                return (width, height, frames, delays)
            default:
                throw Failure.bad("unknown block \(g[i])")
            }
        }
        throw Failure.bad("no trailer")
    }

    static func table(_ g: [UInt8], _ at: Int, _ n: Int) -> ([UInt32], Int) {
        ((0..<n).map { UInt32(g[at + 3 * $0]) << 16 | UInt32(g[at + 3 * $0 + 1]) << 8 | UInt32(g[at + 3 * $0 + 2]) }, at + 3 * n)
    }

    static func lzw(_ data: [UInt8], minCode: Int, count: Int) throws -> [UInt8] {
        let clear = 1 << minCode, end = clear + 1
        var prefix = [Int](repeating: -1, count: 4096), suffix = [UInt8](repeating: 0, count: 4096)
        for k in 0..<clear { suffix[k] = UInt8(k) }
        var next = end + 1, size = minCode + 1, previous = -1
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var bits = 0, value = 0, pos = 0
        func string(_ code: Int) -> [UInt8] {
            var s: [UInt8] = []
            var c = code
            while c >= 0 { s.append(suffix[c]); c = prefix[c] }
            return s.reversed()
        }
        while true {
            while bits < size {
                guard pos < data.count else { return out }
                value |= Int(data[pos]) << bits; pos += 1; bits += 8
            }
            let code = value & ((1 << size) - 1)
            value >>= size; bits -= size
            if code == clear { next = end + 1; size = minCode + 1; previous = -1; continue }
            if code == end { return out }
            var s: [UInt8]
            if code < next { s = string(code) }
            else if code == next && previous >= 0 { s = string(previous); s.append(s[0]) }
            else { throw Failure.bad("LZW code \(code) out of order") }
            out += s
            if previous >= 0 && next < 4096 {
                prefix[next] = previous; suffix[next] = s[0]; next += 1
                if next == 1 << size && size < 12 { size += 1 }
            }
            previous = code
        }
    }
}

struct GIFTests {
    /// Every frame of the GIF is the frame file's picture: exact wherever a changed rectangle held at most
    /// 255 colours, and within a few levels on nearly every pixel otherwise; the background and the
    /// fills are never changed.
    @Test(arguments: ["neuron", "loss"])
    func gifFramesShowThePicturesOwnColours(_ sample: String) throws {
        let d = try Fixtures.diagram(sample)
        let frames = FrameSet(diagram: d, format: .png, scale: 2)
        let file = try Animation.gif(d, fps: 2, scale: 2)
        #expect(try Animation.gif(d, fps: 2, scale: 2) == file, "same diagram, same bytes")
        let gif = try TestGIF.decode(file)
        #expect(gif.frames.count == d.stepCount + 1)
        #expect(gif.delays.first == 50 && gif.delays.last == 150)
        for k in 0...d.stepCount {
            let still = try TestPNG.decode(frames.render(step: k))
            #expect(still.width == gif.width && still.height == gif.height)
            let pairs = zip(gif.frames[k], still.pixels)
            var exact = 0, close = 0
            for (a, b) in pairs {
                if a == b { exact += 1; close += 1; continue }
                let dr = abs(Int(a >> 16 & 0xFF) - Int(b >> 16 & 0xFF)), dg = abs(Int(a >> 8 & 0xFF) - Int(b >> 8 & 0xFF)), db = abs(Int(a & 0xFF) - Int(b & 0xFF))
                if max(dr, dg, db) <= 6 { close += 1 }
            }
            let n = Double(still.pixels.count)
            #expect(Double(exact) / n >= 0.97, "\(sample) frame \(k): \(exact) of \(still.pixels.count) pixels exact")
            #expect(Double(close) / n >= 0.995, "\(sample) frame \(k): \(close) of \(still.pixels.count) within 6 levels")
            // The most common colour (the background) is exact.
            let background = still.pixels[0]
            #expect(gif.frames[k][0] == background)
        }
    }

    /// A rectangle of at most 255 colours keeps them all exactly; past that, the most frequent are exact.
    @Test func paletteKeepsColoursExactly() {
        let few = (0..<1000).map { UInt32(($0 * 7) % 200) * 0x010203 & 0x00FF_FFFF }
        var region = FrameDifference.Region(x: 0, y: 0, width: 1000, height: 1, pixels: few, hasUnchanged: false)
        var p = GIFPalette(region)
        #expect(p.transparent == nil)
        #expect(zip(p.indices, few).allSatisfy { p.colours[Int($0)] == $1 })
        region.pixels[3] = FrameDifference.unchanged
        region.hasUnchanged = true
        p = GIFPalette(region)
        #expect(p.transparent == p.colours.count - 1 && p.indices[3] == UInt8(p.transparent!))
        // 2,000 colours: a flat fill of 10,000 pixels and 1,999 rare shades.
        var many = [UInt32](repeating: 0x00F0_E0D0, count: 10_000)
        for k in 0..<1999 { many.append(UInt32(k) &* 0x0001_0307 & 0x00FF_FFFF) }
        let big = GIFPalette(FrameDifference.Region(x: 0, y: 0, width: many.count, height: 1, pixels: many, hasUnchanged: false))
        #expect(big.colours.count == 256)
        #expect(big.colours[Int(big.indices[0])] == 0x00F0_E0D0)
        #expect(GIFPalette(FrameDifference.Region(x: 0, y: 0, width: many.count, height: 1, pixels: many, hasUnchanged: false)).indices == big.indices)
    }
}
