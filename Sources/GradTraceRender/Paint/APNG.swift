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
        // The previous frame's pixels, to find what changed.
        var previous = [UInt32](repeating: 0, count: w * h)
        for k in 0..<count {
            let surface = try frames.paint(painter.builder.drawing(diagram.scene(step: k)))
            cairo_surface_flush(surface.pointer)
            guard let data = cairo_image_surface_get_data(surface.pointer) else { throw RenderError.cairo("image surface has no pixels") }
            let stride = Int(cairo_image_surface_get_stride(surface.pointer))
            // The changed rectangle (all of frame 0; one pixel when nothing changed: a frame is never empty).
            var x0 = 0, y0 = 0, x1 = w, y1 = h
            if k > 0 {
                (x0, y0, x1, y1) = (w, h, 0, 0)
                previous.withUnsafeBufferPointer { prev in
                    for y in 0..<h {
                        let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
                        let old = prev.baseAddress! + y * w
                        var first = -1, last = -1
                        for x in 0..<w where (row[x] ^ old[x]) & 0x00FF_FFFF != 0 {
                            if first < 0 { first = x }
                            last = x
                        }
                        if first >= 0 { x0 = min(x0, first); x1 = max(x1, last + 1); y0 = min(y0, y); y1 = max(y1, y + 1) }
                    }
                }
                if x0 >= x1 { (x0, y0, x1, y1) = (0, 0, 1, 1) }
            }
            // RGBA rows of the rectangle: a changed pixel opaque, an unchanged one transparent black.
            let rw = x1 - x0, rh = y1 - y0
            let rowBytes = 4 * rw + 1
            let rows = previous.withUnsafeMutableBufferPointer { prev in
                [UInt8](unsafeUninitializedCapacity: rowBytes * rh) { out, initialized in
                    let base = out.baseAddress!
                    for y in y0..<y1 {
                        let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
                        let o = base + (y - y0) * rowBytes
                        o[0] = 0  // filter none
                        for x in x0..<x1 {
                            let c = row[x] & 0x00FF_FFFF
                            let d = o + 1 + 4 * (x - x0)
                            if k > 0 && prev[y * w + x] == c {
                                d[0] = 0; d[1] = 0; d[2] = 0; d[3] = 0
                            } else {
                                d[0] = UInt8(truncatingIfNeeded: c >> 16); d[1] = UInt8(truncatingIfNeeded: c >> 8)
                                d[2] = UInt8(truncatingIfNeeded: c); d[3] = 255
                                prev[y * w + x] = c
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
