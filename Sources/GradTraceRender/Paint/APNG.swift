import CCairo

extension FrameSet {
    /// Every frame in one animated PNG (APNG, which browsers play; a viewer without APNG support
    /// shows the first frame), as frame differences: the first frame whole, then each frame as
    /// the smallest rectangle holding every pixel that changed since the frame before, in which
    /// the unchanged pixels are transparent, drawn over the frame before (`dispose_op` none,
    /// `blend_op` over; alpha is only 0 or 255, so blending is exact). Frames are painted
    /// incrementally as in ``renderAll(jobs:sink:progress:)``, on one thread; each shows `delay`
    /// seconds (the last `lastDelay`). Lossless: frame `k` of the animation is frame `k` of the
    /// frame files, pixel for pixel. RGBA, RunDeflate; the same frames always give the same bytes.
    public func animatedPNG(delay: Double = 0.8, lastDelay: Double = 3) throws(RenderError) -> [UInt8] {
        let painter = Painter(diagram: diagram)
        let frames = FramePainter(painter: painter, scale: scale, backgroundItems: backgroundItemCount(painter))
        let px = diagram.pixelSize(scale: scale)
        let (w, h) = (px.width, px.height)
        let count = diagram.stepCount + 1
        var file = PNGFile(capacity: 4 * w * h / 10)
        file.chunk("IHDR") { f in
            f += PNGFile.be32(UInt32(w)) + PNGFile.be32(UInt32(h))
            f += [8, 6, 0, 0, 0]  // 8 bits, RGBA, deflate, adaptive filtering, no interlace
        }
        file.chunk("acTL") { f in f += PNGFile.be32(UInt32(count)) + PNGFile.be32(0) }  // frames; loop forever
        var sequence: UInt32 = 0
        var changes = FrameDifference(width: w, height: h)
        for k in 0..<count {
            let surface = try frames.paint(painter.builder.drawing(diagram.scene(step: k)))
            let region = try changes.next(surface.pointer)
            let (x0, y0, rw, rh) = (region.x, region.y, region.width, region.height)
            // RGBA rows of the rectangle: a changed pixel opaque, an unchanged one transparent black.
            let rowBytes = 4 * rw + 1
            let rows = region.pixels.withUnsafeBufferPointer { px in
                [UInt8](unsafeUninitializedCapacity: rowBytes * rh) { out, initialized in
                    let base = out.baseAddress!
                    for y in 0..<rh {
                        let o = base + y * rowBytes
                        o[0] = 0  // filter none
                        for x in 0..<rw {
                            let c = px[y * rw + x]
                            let d = o + 1 + 4 * x
                            if c == FrameDifference.unchanged {
                                d[0] = 0; d[1] = 0; d[2] = 0; d[3] = 0
                            } else {
                                d[0] = UInt8(truncatingIfNeeded: c >> 16); d[1] = UInt8(truncatingIfNeeded: c >> 8)
                                d[2] = UInt8(truncatingIfNeeded: c); d[3] = 255
                            }
                        }
                    }
                    initialized = rowBytes * rh
                }
            }
            let stream = rows.withUnsafeBufferPointer { RunDeflate.zlib($0, rowBytes: rowBytes, pixelBytes: 4) }
            let seconds = k == count - 1 ? lastDelay : delay
            let milliseconds = UInt16(clamping: Int((max(0, seconds) * 1000).rounded()))
            file.chunk("fcTL") { f in
                f += PNGFile.be32(sequence) + PNGFile.be32(UInt32(rw)) + PNGFile.be32(UInt32(rh))
                f += PNGFile.be32(UInt32(x0)) + PNGFile.be32(UInt32(y0))
                f += [UInt8(milliseconds >> 8), UInt8(truncatingIfNeeded: milliseconds), 0x03, 0xE8]  // delay: ms / 1000
                f += [0, k == 0 ? 0 : 1]  // dispose: none; blend: source for the first frame, over for the rest
            }
            sequence += 1
            if k == 0 {
                file.chunk("IDAT") { f in f += stream }
            } else {
                file.chunk("fdAT") { f in f += PNGFile.be32(sequence) + stream }
                sequence += 1
            }
        }
        file.chunk("IEND") { _ in }
        return file.bytes
    }
}
