import CCairo
import Dispatch
import GradTrace

/// Draws scenes of one ``Diagram`` with Cairo and Pango. One painter per thread.
struct Painter {
    let diagram: Diagram
    let text: TextEngine

    init(diagram: Diagram) {
        self.diagram = diagram
        self.text = TextEngine(family: diagram.style.fontFamily)
    }

    /// Renders `scene` to bytes in `format`.
    func render(_ scene: Scene, format: Diagram.Format) throws(RenderError) -> [UInt8] {
        let size = diagram.canvasSize
        switch format {
        case .png(let scale, let compression):
            let surface = try image(scene, scale: scale)
            defer { cairo_surface_destroy(surface) }
            return try PNGEncoder.encode(surface: surface, compression: Int32(max(0, min(9, compression))))
        case .svg:
            let sink = ByteSink()
            let surface = cairo_svg_surface_create_for_stream(ByteSink.write, Unmanaged.passUnretained(sink).toOpaque(), size.width, size.height)!
            cairo_svg_surface_restrict_to_version(surface, CAIRO_SVG_VERSION_1_1)
            let cr = cairo_create(surface)!
            draw(scene, on: cr)
            cairo_destroy(cr)
            cairo_surface_finish(surface)
            let status = cairo_surface_status(surface)
            cairo_surface_destroy(surface)
            guard status == CAIRO_STATUS_SUCCESS else { throw RenderError.cairo("SVG surface failed (status \(status.rawValue))") }
            return SVGNormalizer.normalize(sink.bytes, title: scene.title, description: scene.caption)
        case .pdf:
            return try renderPDFPages([scene])
        }
    }

    /// The scene drawn on a new RGB image surface at `scale` (the caller destroys it).
    func image(_ scene: Scene, scale: Double) throws(RenderError) -> OpaquePointer {
        let size = diagram.canvasSize
        let px = diagram.pixelSize(scale: scale)
        guard px.width <= 32767, px.height <= 32767 else {
            throw RenderError.tooLarge("the picture would be \(px.width) × \(px.height) pixels, over Cairo's 32,767-pixel limit: lower --scale (at most \(NumberFormat.short(diagram.fittingScale(scale), digits: 3)) fits)")
        }
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(px.width), Int32(px.height)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
            throw RenderError.cairo("could not create a \(px.width) × \(px.height) image (out of memory?)")
        }
        let cr = cairo_create(surface)!
        cairo_scale(cr, Double(px.width) / size.width, Double(px.height) / size.height)
        draw(scene, on: cr)
        cairo_destroy(cr)
        cairo_surface_flush(surface)
        return surface
    }

    /// Draws the scene, then times only the PNG encoding of that surface, in seconds (the
    /// encoding floor that `gradtrace-bench` reports).
    func encodeTime(_ scene: Scene, scale: Double, compression: Int32) throws(RenderError) -> Double {
        let surface = try image(scene, scale: scale)
        defer { cairo_surface_destroy(surface) }
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try PNGEncoder.encode(surface: surface, compression: compression)
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The scene drawn at `scale` as red, green and blue planes (for GIF frames).
    func pixels(_ scene: Scene, scale: Double) throws(RenderError) -> GIFEncoder.Frame {
        let surface = try image(scene, scale: scale)
        defer { cairo_surface_destroy(surface) }
        let px = (width: Int(cairo_image_surface_get_width(surface)), height: Int(cairo_image_surface_get_height(surface)))
        let stride = Int(cairo_image_surface_get_stride(surface))
        let data = cairo_image_surface_get_data(surface)!
        let n = px.width * px.height
        var r = [UInt8](repeating: 0, count: n), g = r, b = r
        for y in 0..<px.height {
            let row = data + y * stride
            for x in 0..<px.width {
                // Native-endian xRGB: on little-endian machines the bytes are B, G, R, x.
                let p = row + 4 * x
                r[y * px.width + x] = p[2]
                g[y * px.width + x] = p[1]
                b[y * px.width + x] = p[0]
            }
        }
        return GIFEncoder.Frame(width: px.width, height: px.height, red: r, green: g, blue: b)
    }

    /// A PDF with one page per scene. The creation date is fixed, so the bytes are stable.
    func renderPDFPages(_ scenes: [Scene]) throws(RenderError) -> [UInt8] {
        let size = diagram.canvasSize
        let sink = ByteSink()
        let surface = cairo_pdf_surface_create_for_stream(ByteSink.write, Unmanaged.passUnretained(sink).toOpaque(), size.width, size.height)!
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, "2000-01-01T00:00:00Z")
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_MOD_DATE, "2000-01-01T00:00:00Z")
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "GradTrace")
        if let t = scenes.first?.title { t.withCString { cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, $0) } }
        let cr = cairo_create(surface)!
        for scene in scenes {
            draw(scene, on: cr)
            cairo_show_page(cr)
        }
        cairo_destroy(cr)
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        cairo_surface_destroy(surface)
        guard status == CAIRO_STATUS_SUCCESS else { throw RenderError.cairo("PDF surface failed (status \(status.rawValue))") }
        return sink.bytes
    }

    // MARK: drawing

    func draw(_ scene: Scene, on cr: OpaquePointer) {
        let theme = diagram.style.theme
        let m = diagram.metrics
        let size = diagram.canvasSize
        setColor(cr, theme.background)
        cairo_rectangle(cr, 0, 0, size.width, size.height)
        cairo_fill(cr)

        if let title = scene.title, !title.isEmpty {
            setColor(cr, theme.text)
            let w = text.measure(title, size: diagram.style.titleFontSize, bold: true).width
            text.draw(title, on: cr, x: max(m.margin, (size.width - w) / 2), y: m.margin * 0.75,
                      size: diagram.style.titleFontSize, bold: true, maxWidth: size.width - 2 * m.margin)
        }
        let ox = (size.width - diagram.layout.graphWidth) / 2
        let oy = m.margin + m.headerHeight
        cairo_save(cr)
        cairo_translate(cr, ox, oy)
        // Cluster boxes (layers, then the neurons inside them) under everything else.
        for c in diagram.layout.clusters {
            setColor(cr, theme.mutedText, alpha: c.depth == 1 ? 0.06 : 0.10)
            roundedRect(cr, c.x, c.y, c.width, c.height, 8)
            cairo_fill_preserve(cr)
            setColor(cr, theme.mutedText, alpha: 0.7)
            cairo_set_line_width(cr, c.depth == 1 ? 1.2 : 0.8)
            var dashes: [Double] = [4, 3]
            cairo_set_dash(cr, &dashes, 2, 0)
            cairo_stroke(cr)
            cairo_set_dash(cr, nil, 0, 0)
            text.draw(c.name, on: cr, x: c.x + 6, y: c.y + 2, size: diagram.style.edgeFontSize, bold: c.depth == 1)
        }
        // Idle edges first, then done, then active on top.
        for state in [Scene.EdgeState.idle, .done, .active] {
            for e in scene.edges where e.state == state { drawEdge(e, on: cr) }
        }
        for (k, n) in scene.nodes.enumerated() { drawNode(n, box: diagram.layout.nodes[k], on: cr) }
        for state in [Scene.EdgeState.done, .active] {
            for e in scene.edges where e.state == state { drawEdgeLabel(e, on: cr) }
        }
        cairo_restore(cr)
        drawFooter(scene, on: cr)
    }

    func setColor(_ cr: OpaquePointer, _ c: RGB, alpha: Double = 1) {
        if alpha >= 1 { cairo_set_source_rgb(cr, c.r, c.g, c.b) } else { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha) }
    }

    func drawEdge(_ e: Scene.EdgeView, on cr: OpaquePointer) {
        let path = diagram.layout.edges[e.index]
        let s = diagram.style.theme.style(e.state)
        setColor(cr, s.line)
        cairo_set_line_width(cr, s.width)
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT)
        var last: Point?
        for curve in path.curves where !curve.isEmpty {
            cairo_move_to(cr, curve[0].x, curve[0].y)
            var i = 1
            while i + 2 < curve.count {
                cairo_curve_to(cr, curve[i].x, curve[i].y, curve[i + 1].x, curve[i + 1].y, curve[i + 2].x, curve[i + 2].y)
                i += 3
            }
            last = curve.last
        }
        cairo_stroke(cr)
        if let tip = path.arrowTip, let from = last {
            arrowhead(from: from, to: tip, width: s.width, on: cr)
        }
    }

    func arrowhead(from: Point, to: Point, width: Double, on cr: OpaquePointer) {
        let t = Arrow.triangle(from: from, to: to, width: width)
        cairo_move_to(cr, t[0].x, t[0].y)
        cairo_line_to(cr, t[1].x, t[1].y)
        cairo_line_to(cr, t[2].x, t[2].y)
        cairo_close_path(cr)
        cairo_fill(cr)
    }

    func drawEdgeLabel(_ e: Scene.EdgeView, on cr: OpaquePointer) {
        let path = diagram.layout.edges[e.index]
        guard let c = path.labelCenter, !e.lines.isEmpty else { return }
        let theme = diagram.style.theme
        let s = theme.style(e.state)
        let m = diagram.metrics
        let w = path.labelSize.width, h = path.labelSize.height
        let x0 = c.x - w / 2, y0 = c.y - h / 2
        setColor(cr, theme.labelBackground, alpha: 0.88)
        roundedRect(cr, x0, y0, w, h, 3)
        cairo_fill(cr)
        if e.state == .active {
            setColor(cr, s.line)
            cairo_set_line_width(cr, 1.2)
            roundedRect(cr, x0, y0, w, h, 3)
            cairo_stroke(cr)
        }
        for (i, line) in e.lines.enumerated() {
            setColor(cr, i == 0 ? theme.mutedText : s.text)
            text.draw(line, on: cr, x: x0 + m.labelPad, y: y0 + m.labelPad + Double(i) * m.edgeLine,
                      size: diagram.style.edgeFontSize, bold: i == 1)
        }
    }

    func drawNode(_ n: Scene.NodeView, box: Layout.Box, on cr: OpaquePointer) {
        let theme = diagram.style.theme
        let s = theme.style(n.state)
        let m = diagram.metrics
        let x0 = box.x - box.width / 2, y0 = box.y - box.height / 2
        let colors = diagram.colors(n)
        setColor(cr, colors.fill)
        roundedRect(cr, x0, y0, box.width, box.height, 7)
        cairo_fill_preserve(cr)
        setColor(cr, n.nonFinite ? theme.warning : s.border)
        cairo_set_line_width(cr, n.nonFinite ? 3 : s.borderWidth)
        if s.dashed {
            var dashes: [Double] = [5, 3]
            cairo_set_dash(cr, &dashes, 2, 0)
        }
        cairo_stroke(cr)
        cairo_set_dash(cr, nil, 0, 0)
        if n.isOutput {
            // The output gets a second, inner outline.
            setColor(cr, s.border)
            cairo_set_line_width(cr, 1)
            roundedRect(cr, x0 + 3, y0 + 3, box.width - 6, box.height - 6, 5)
            cairo_stroke(cr)
        }
        let lines = [n.title, (n.nonFinite ? "⚠ " : "") + n.valueText, n.gradText]
        for (i, line) in lines.enumerated() where !line.isEmpty {
            let w = text.measure(line, size: diagram.style.nodeFontSize, bold: i == 0).width
            setColor(cr, i == 1 && n.nonFinite ? theme.warning : (i == 2 && n.state == .pending ? colors.muted : colors.text))
            text.draw(line, on: cr, x: box.x - w / 2, y: y0 + m.nodePadY + Double(i) * m.nodeLine,
                      size: diagram.style.nodeFontSize, bold: i == 0)
        }
    }

    func drawFooter(_ scene: Scene, on cr: OpaquePointer) {
        let theme = diagram.style.theme
        let m = diagram.metrics
        let size = diagram.canvasSize
        let y = size.height - m.footerHeight + 4
        let fs = diagram.style.edgeFontSize + 1
        setColor(cr, theme.text)
        let head = scene.step == 0 ? "step 0 of \(scene.stepCount) · " : "step \(scene.step) of \(scene.stepCount) · "
        text.draw(head + scene.caption, on: cr, x: m.margin, y: y, size: fs, maxWidth: size.width - 2 * m.margin)
        guard diagram.style.showsLegend else { return }
        Painter.drawLegend(text: text, style: diagram.style, on: cr, x: m.margin, y: y + m.captionLine + 4)
        if let scale = diagram.colorScale {
            drawColorBar(scale, on: cr, x: m.margin, y: y + 2 * m.captionLine + 10)
        }
    }

    static let colorBarNote = "(0 is drawn at the low end)"

    static func colorBarWidth(text: TextEngine, style: RenderStyle) -> Double {
        text.measure("|gradient|", size: style.edgeFontSize).width + 8 + 240 + 14
            + text.measure(colorBarNote, size: style.edgeFontSize - 1).width + 8
    }

    /// The colour bar of `--color-by grad`: 10^low … 10^high, one tick per decade.
    func drawColorBar(_ scale: ColorScale, on cr: OpaquePointer, x: Double, y: Double) {
        let theme = diagram.style.theme
        let fs = diagram.style.edgeFontSize
        let label = diagram.pass.isForward ? "|tangent|" : "|gradient|"
        setColor(cr, theme.text)
        text.draw(label, on: cr, x: x, y: y - 1, size: fs)
        let bx = x + text.measure(label, size: fs).width + 8
        let width = 240.0, height = 11.0
        for i in 0..<120 {
            setColor(cr, ColorScale.viridis(Double(i) / 119))
            cairo_rectangle(cr, bx + Double(i) * width / 120, y + 1, width / 120 + 0.3, height)
            cairo_fill(cr)
        }
        setColor(cr, theme.mutedText)
        cairo_set_line_width(cr, 0.8)
        cairo_rectangle(cr, bx, y + 1, width, height)
        cairo_stroke(cr)
        for (i, tick) in scale.ticks.enumerated() {
            let tx = bx + width * (tick - scale.low) / (scale.high - scale.low)
            _ = i
            let t = "1e\(Int(tick))"
            let tw = text.measure(t, size: fs - 1).width
            text.draw(t, on: cr, x: tx - tw / 2, y: y + height + 1, size: fs - 1)
        }
        text.draw(Painter.colorBarNote, on: cr, x: bx + width + 14, y: y - 1, size: fs - 1)
    }

    static let legendEntries: [(Scene.NodeState, String)] = [
        (.forward, "forward"), (.pending, "pending"), (.accumulating, "accumulating"), (.done, "done"), (.active, "active"),
    ]

    static func legendWidth(text: TextEngine, style: RenderStyle) -> Double {
        var w = 0.0
        for (_, label) in legendEntries { w += 22 + text.measure(label, size: style.edgeFontSize).width + 12 }
        return w
    }

    static func drawLegend(text: TextEngine, style: RenderStyle, on cr: OpaquePointer, x: Double, y: Double) {
        var cx = x
        let fs = style.edgeFontSize
        for (state, label) in legendEntries {
            let s = style.theme.style(state)
            cairo_set_source_rgb(cr, s.fill.r, s.fill.g, s.fill.b)
            cairo_rectangle(cr, cx, y + 1, 16, 11)
            cairo_fill_preserve(cr)
            cairo_set_source_rgb(cr, s.border.r, s.border.g, s.border.b)
            cairo_set_line_width(cr, min(s.borderWidth, 2))
            if s.dashed {
                var dashes: [Double] = [3, 2]
                cairo_set_dash(cr, &dashes, 2, 0)
            }
            cairo_stroke(cr)
            cairo_set_dash(cr, nil, 0, 0)
            cairo_set_source_rgb(cr, style.theme.mutedText.r, style.theme.mutedText.g, style.theme.mutedText.b)
            text.draw(label, on: cr, x: cx + 22, y: y - 1, size: fs)
            cx += 22 + text.measure(label, size: fs).width + 12
        }
    }

    func roundedRect(_ cr: OpaquePointer, _ x: Double, _ y: Double, _ w: Double, _ h: Double, _ r: Double) {
        let r = min(r, w / 2, h / 2)
        cairo_new_sub_path(cr)
        cairo_arc(cr, x + w - r, y + r, r, -Double.pi / 2, 0)
        cairo_arc(cr, x + w - r, y + h - r, r, 0, Double.pi / 2)
        cairo_arc(cr, x + r, y + h - r, r, Double.pi / 2, Double.pi)
        cairo_arc(cr, x + r, y + r, r, Double.pi, 3 * Double.pi / 2)
        cairo_close_path(cr)
    }
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
