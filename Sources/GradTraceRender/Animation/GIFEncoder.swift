import CImageCodecs

/// An animated GIF through giflib: each frame quantised to its own 256-colour palette
/// (giflib's median-cut `GifQuantizeBuffer`), looping forever.
struct GIFEncoder {
    /// A frame as separate red, green and blue planes.
    struct Frame {
        var width: Int
        var height: Int
        var red: [UInt8], green: [UInt8], blue: [UInt8]
    }

    /// A frame reduced to palette indices, ready to write.
    struct IndexedFrame {
        var width: Int
        var height: Int
        var indices: [UInt8]
        var palette: [GifColorType]
        /// Delay before the next frame, in hundredths of a second.
        var delay: Int
    }

    final class Sink { var bytes: [UInt8] = [] }

    /// Serialises giflib's quantiser: `GifQuantizeBuffer` keeps the axis it sorts colours by in a
    /// static variable, so two frames quantised at once could change each other's palettes.
    static let quantizer = NSLockShim()

    /// Quantises one frame. Safe from any thread (the quantiser runs under ``quantizer``).
    static func quantize(_ f: Frame, delay: Int) throws(RenderError) -> IndexedFrame {
        var red = f.red, green = f.green, blue = f.blue
        var indices = [UInt8](repeating: 0, count: f.width * f.height)
        var palette = [GifColorType](repeating: GifColorType(), count: 256)
        var size: Int32 = 256
        let rc = quantizer.with {
            GifQuantizeBuffer(UInt32(f.width), UInt32(f.height), &size, &red, &green, &blue, &indices, &palette)
        }
        guard rc == GIF_OK else { throw RenderError.unsupported("giflib could not quantise a \(f.width) × \(f.height) frame") }
        return IndexedFrame(width: f.width, height: f.height, indices: indices, palette: palette, delay: delay)
    }

    /// Writes the frames as one looping GIF89a.
    static func encode(_ frames: [IndexedFrame]) throws(RenderError) -> [UInt8] {
        guard let first = frames.first else { throw RenderError.unsupported("an animation needs at least one frame") }
        let sink = Sink()
        var err: Int32 = 0
        let box = Unmanaged.passRetained(sink)
        defer { box.release() }
        guard let gif = EGifOpen(box.toOpaque(), { gif, data, length in
            guard let gif, let data, let user = gif.pointee.UserData else { return 0 }
            Unmanaged<Sink>.fromOpaque(user).takeUnretainedValue().bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return length
        }, &err) else { throw RenderError.unsupported("giflib could not start (error \(err))") }
        var closed = false
        defer { if !closed { EGifCloseFile(gif, &err) } }
        EGifSetGifVersion(gif, true)
        guard EGifPutScreenDesc(gif, Int32(first.width), Int32(first.height), 8, 0, nil) == GIF_OK else {
            throw RenderError.unsupported("giflib: screen descriptor")
        }
        // NETSCAPE2.0: loop forever.
        EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE)
        var app = Array("NETSCAPE2.0".utf8)
        EGifPutExtensionBlock(gif, 11, &app)
        var loop: [UInt8] = [1, 0, 0]
        EGifPutExtensionBlock(gif, 3, &loop)
        EGifPutExtensionTrailer(gif)
        for f in frames {
            var gcb = GraphicsControlBlock(DisposalMode: DISPOSE_DO_NOT, UserInputFlag: false, DelayTime: Int32(f.delay), TransparentColor: NO_TRANSPARENT_COLOR)
            var ext = [UInt8](repeating: 0, count: 4)
            let n = EGifGCBToExtension(&gcb, &ext)
            EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, Int32(n), &ext)
            var palette = f.palette
            guard let map = GifMakeMapObject(256, &palette) else { throw RenderError.unsupported("giflib: colour map") }
            defer { GifFreeMapObject(map) }
            guard EGifPutImageDesc(gif, 0, 0, Int32(f.width), Int32(f.height), false, map) == GIF_OK else {
                throw RenderError.unsupported("giflib: image descriptor")
            }
            var rows = f.indices
            let ok = rows.withUnsafeMutableBufferPointer { buf -> Bool in
                for y in 0..<f.height where EGifPutLine(gif, buf.baseAddress! + y * f.width, Int32(f.width)) != GIF_OK {
                    return false
                }
                return true
            }
            guard ok else { throw RenderError.unsupported("giflib: writing pixels failed") }
        }
        closed = true
        guard EGifCloseFile(gif, &err) == GIF_OK else { throw RenderError.unsupported("giflib: closing failed (error \(err))") }
        return sink.bytes
    }
}
