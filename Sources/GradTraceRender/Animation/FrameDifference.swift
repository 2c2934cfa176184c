import CCairo

/// What changed from one frame of an animation to the next: the rectangle around every pixel whose
/// colour changed, with the unchanged pixels inside it marked. One rule for the animated PNG and the
/// GIF, which both store a frame as that rectangle drawn over the frame before.
struct FrameDifference {
    /// A pixel of ``Region/pixels`` that did not change (real colours are `0x00RRGGBB`).
    static let unchanged: UInt32 = 0xFFFF_FFFF

    /// The changed rectangle of one frame: `pixels` holds its `width × height` pixels row by row, each
    /// `0x00RRGGBB` or ``FrameDifference/unchanged``.
    struct Region {
        var x: Int, y: Int, width: Int, height: Int
        var pixels: [UInt32]
        /// True when some pixel of the rectangle is marked unchanged.
        var hasUnchanged: Bool
    }

    let width: Int, height: Int
    /// The colours shown after the frames so far.
    private var previous: [UInt32]
    private var frames = 0

    init(width: Int, height: Int) {
        self.width = width
        self.height = height
        previous = [UInt32](repeating: 0, count: width * height)
    }

    /// The next frame's change from the one before (all of the first frame; one pixel when nothing
    /// changed, since a frame is never empty), read from a flushed Cairo image surface of the frame's size.
    mutating func next(_ surface: OpaquePointer) throws(RenderError) -> Region {
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else { throw RenderError.cairo("image surface has no pixels") }
        let stride = Int(cairo_image_surface_get_stride(surface))
        let (w, h) = (width, height)
        let first = frames == 0
        frames += 1
        var x0 = 0, y0 = 0, x1 = w, y1 = h
        if !first {
            (x0, y0, x1, y1) = (w, h, 0, 0)
            previous.withUnsafeBufferPointer { prev in
                for y in 0..<h {
                    let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
                    let old = prev.baseAddress! + y * w
                    var lo = -1, hi = -1
                    for x in 0..<w where (row[x] ^ old[x]) & 0x00FF_FFFF != 0 {
                        if lo < 0 { lo = x }
                        hi = x
                    }
                    if lo >= 0 { x0 = min(x0, lo); x1 = max(x1, hi + 1); y0 = min(y0, y); y1 = max(y1, y + 1) }
                }
            }
            if x0 >= x1 { (x0, y0, x1, y1) = (0, 0, 1, 1) }
        }
        let rw = x1 - x0, rh = y1 - y0
        var any = false
        let pixels = previous.withUnsafeMutableBufferPointer { prev in
            [UInt32](unsafeUninitializedCapacity: rw * rh) { out, initialized in
                let o = out.baseAddress!
                for y in y0..<y1 {
                    let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
                    let p = prev.baseAddress! + y * w
                    let d = o + (y - y0) * rw
                    for x in x0..<x1 {
                        let c = row[x] & 0x00FF_FFFF
                        if !first && p[x] == c {
                            d[x - x0] = Self.unchanged
                            any = true
                        } else {
                            d[x - x0] = c
                            p[x] = c
                        }
                    }
                }
                initialized = rw * rh
            }
        }
        return Region(x: x0, y: y0, width: rw, height: rh, pixels: pixels, hasUnchanged: any)
    }
}
