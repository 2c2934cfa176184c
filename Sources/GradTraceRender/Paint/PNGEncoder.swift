import CCairo
import CImageCodecs

/// PNG encoding with libpng, straight from a Cairo RGB24 surface (no copy of the pixels):
/// libpng swaps BGR to RGB and strips the filler byte itself. The compression level is ours
/// to choose, unlike `cairo_surface_write_to_png`.
enum PNGEncoder {
    final class Buffer { var bytes: [UInt8] = [] }

    static func encode(surface: OpaquePointer, compression: Int32) throws(RenderError) -> [UInt8] {
        let width = cairo_image_surface_get_width(surface)
        let height = cairo_image_surface_get_height(surface)
        let stride = Int(cairo_image_surface_get_stride(surface))
        guard let data = cairo_image_surface_get_data(surface) else { throw RenderError.cairo("image surface has no pixels") }
        return try encode(pixels: data, width: width, height: height, stride: stride, compression: compression)
    }

    /// Encodes native-endian xRGB32 pixels (Cairo's RGB24) as an 8-bit RGB PNG.
    static func encode(pixels: UnsafeMutablePointer<UInt8>, width: Int32, height: Int32, stride: Int,
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
