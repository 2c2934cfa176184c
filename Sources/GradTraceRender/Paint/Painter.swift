import CCairo
import Dispatch
import GradTrace

/// Draws scenes of one ``Diagram``: builds each scene's ``Drawing`` and hands it to a backend
/// (our SVG writer, or Cairo for PNG, PDF and GIF frames). One painter per thread.
struct Painter {
    let diagram: Diagram
    let text: TextEngine
    let builder: DrawingBuilder

    init(diagram: Diagram) {
        self.diagram = diagram
        self.text = TextEngine(family: diagram.style.fontFamily, known: diagram.textSizes)
        self.builder = DrawingBuilder(diagram: diagram, text: text)
    }

    /// Renders `scene` to bytes in `format`.
    func render(_ scene: Scene, format: Diagram.Format) throws(RenderError) -> [UInt8] {
        let drawing = builder.drawing(scene)
        switch format {
        case .png(let scale, let compression):
            let surface = try image(drawing, scale: scale)
            return try PNGEncoder.encode(surface: surface.pointer, compression: Int32(max(0, min(9, compression))))
        case .svg:
            var w = SVGWriter(drawing)
            return Array(w.document().utf8)
        case .svgOutlines:
            return try outlineSVG(drawing)
        case .pdf:
            return try renderPDFPages([scene])
        }
    }

    /// Cairo's own SVG: every glyph an outline (`--svg-text outlines`).
    func outlineSVG(_ drawing: Drawing) throws(RenderError) -> [UInt8] {
        let sink = ByteSink()
        let surface = try CairoSurface(cairo_svg_surface_create_for_stream(ByteSink.write, Unmanaged.passUnretained(sink).toOpaque(),
                                                                          drawing.width, drawing.height), what: "an SVG surface")
        cairo_svg_surface_restrict_to_version(surface.pointer, CAIRO_SVG_VERSION_1_1)
        do {
            let cr = try CairoContext(surface)
            drawing.replay(on: cr.pointer, text: text)
        }
        try surface.finish("SVG surface")
        return SVGNormalizer.normalize(sink.bytes, title: drawing.title, description: drawing.description)
    }

    /// The drawing replayed on a new RGB image surface at `scale`.
    func image(_ drawing: Drawing, scale: Double) throws(RenderError) -> CairoSurface {
        let px = diagram.pixelSize(scale: scale)
        guard px.width <= RasterLimits.maxSide, px.height <= RasterLimits.maxSide else {
            throw RenderError.tooLarge("the picture would be \(px.width) × \(px.height) pixels, over Cairo's 32,767-pixel limit: lower --scale (at most \(NumberFormat.short(diagram.fittingScale(scale), digits: 3)) fits)")
        }
        let surface = try CairoSurface(cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(px.width), Int32(px.height)),
                                       what: "a \(px.width) × \(px.height) image")
        do {
            let cr = try CairoContext(surface)
            cairo_scale(cr.pointer, Double(px.width) / drawing.width, Double(px.height) / drawing.height)
            drawing.replay(on: cr.pointer, text: text)
        }
        cairo_surface_flush(surface.pointer)
        return surface
    }

    /// Draws the scene, then times only the PNG encoding of that surface, in seconds (the
    /// encoding floor that `gradtrace-bench` reports).
    func encodeTime(_ scene: Scene, scale: Double, compression: Int32) throws(RenderError) -> Double {
        let surface = try image(builder.drawing(scene), scale: scale)
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try PNGEncoder.encode(surface: surface.pointer, compression: compression)
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// A PDF with one page per scene. The creation date is fixed, so the bytes are stable.
    func renderPDFPages(_ scenes: [Scene]) throws(RenderError) -> [UInt8] {
        let size = diagram.canvasSize
        let sink = ByteSink()
        let surface = try CairoSurface(cairo_pdf_surface_create_for_stream(ByteSink.write, Unmanaged.passUnretained(sink).toOpaque(),
                                                                          size.width, size.height), what: "a PDF surface")
        cairo_pdf_surface_set_metadata(surface.pointer, CAIRO_PDF_METADATA_CREATE_DATE, "2000-01-01T00:00:00Z")
        cairo_pdf_surface_set_metadata(surface.pointer, CAIRO_PDF_METADATA_MOD_DATE, "2000-01-01T00:00:00Z")
        cairo_pdf_surface_set_metadata(surface.pointer, CAIRO_PDF_METADATA_CREATOR, "GradTrace")
        if let t = scenes.first?.title { t.withCString { cairo_pdf_surface_set_metadata(surface.pointer, CAIRO_PDF_METADATA_TITLE, $0) } }
        do {
            let cr = try CairoContext(surface)
            for scene in scenes {
                builder.drawing(scene).replay(on: cr.pointer, text: text)
                cairo_show_page(cr.pointer)
            }
        }
        try surface.finish("PDF surface")
        return sink.bytes
    }
}

/// Raster limits and PNG compression levels, in one place.
public enum RasterLimits {
    /// Cairo's largest image side, in pixels.
    public static let maxSide = 32767
    /// The pixel budget of one picture drawn by `render`.
    public static let renderPixels = 120_000_000.0
    /// The pixel budget of one frame (`frames`, Markdown frames and animations).
    public static let framePixels = 8_000_000.0
    /// The pixel budget of a still drawn without an explicit `--scale` (`render`, Markdown stills).
    public static let markdownPixels = 60_000_000.0
    /// The largest side of a still or frame drawn without an explicit `--scale`.
    public static let markdownSide = 16000.0
    /// The most pixels an animation (GIF, APNG) may paint in all: frames × pixels a frame. The MLP demo's
    /// 301 frames of 8 Mpx are 2.4·10⁹ (about 10 s); past this budget an animation takes most of a
    /// minute or more and is refused with advice (`--force` makes it anyway).
    public static let animationPixels = 8_000_000_000.0
    /// The largest side of an animation frame (GIF).
    public static let animationSide = 8000.0
    /// Deflate level of a single picture (libdeflate level 6).
    public static let pictureLevel = 6
    /// Deflate level of frames (many pictures: speed matters more; level 1 is ``RunDeflate``).
    public static let frameLevel = 1
}

/// Collects the bytes a Cairo stream surface writes.
final class ByteSink {
    var bytes: [UInt8] = []

    static let write: cairo_write_func_t = { closure, data, length in
        guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
        let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
        sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
        return CAIRO_STATUS_SUCCESS
    }
}
