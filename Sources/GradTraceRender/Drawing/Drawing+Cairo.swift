import CCairo
import GradTrace

/// A Cairo surface that destroys itself: no surface outlives its owner or leaks on a throw.
final class CairoSurface {
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`; fails (and frees it) when Cairo reports an error status.
    init(_ pointer: OpaquePointer?, what: String) throws(RenderError) {
        guard let pointer else { throw RenderError.cairo("could not create \(what)") }
        guard cairo_surface_status(pointer) == CAIRO_STATUS_SUCCESS else {
            cairo_surface_destroy(pointer)
            throw RenderError.cairo("could not create \(what) (out of memory?)")
        }
        self.pointer = pointer
    }

    deinit { cairo_surface_destroy(pointer) }

    /// Finishes the surface (flushing a stream surface) and reports Cairo's status.
    func finish(_ what: String) throws(RenderError) {
        cairo_surface_finish(pointer)
        let status = cairo_surface_status(pointer)
        guard status == CAIRO_STATUS_SUCCESS else { throw RenderError.cairo("\(what) failed (status \(status.rawValue))") }
    }
}

/// A Cairo drawing context that destroys itself.
final class CairoContext {
    let pointer: OpaquePointer

    init(_ surface: CairoSurface) throws(RenderError) {
        guard let cr = cairo_create(surface.pointer) else { throw RenderError.cairo("could not create a drawing context") }
        guard cairo_status(cr) == CAIRO_STATUS_SUCCESS else {
            cairo_destroy(cr)
            throw RenderError.cairo("could not create a drawing context (out of memory?)")
        }
        pointer = cr
    }

    deinit { cairo_destroy(pointer) }
}

extension Drawing {
    /// Replays the drawing on a Cairo context in the drawing's own units; with a `frame`, only the
    /// groups whose span holds it (and everything without a span).
    func replay(on cr: OpaquePointer, text: TextEngine, frame: Int? = nil) {
        cairo_set_source_rgb(cr, background.r, background.g, background.b)
        cairo_rectangle(cr, 0, 0, width, height)
        cairo_fill(cr)
        Drawing.replay(items, on: cr, text: text, frame: frame)
    }

    static func replay(_ items: [Item], on cr: OpaquePointer, text: TextEngine, frame: Int?) {
        for item in items {
            switch item {
            case .box(let b):
                roundedRect(cr, b.x, b.y, b.width, b.height, b.radius)
                if let f = b.fill {
                    set(cr, f.color, f.opacity)
                    if b.stroke != nil { cairo_fill_preserve(cr) } else { cairo_fill(cr) }
                }
                if let s = b.stroke { stroke(cr, s) }
            case .cell(let c):
                set(cr, c.fill.color, c.fill.opacity)
                cairo_rectangle(cr, c.x, c.y, c.width, c.height)
                cairo_fill(cr)
            case .curve(let c):
                cairo_set_line_cap(cr, CAIRO_LINE_CAP_BUTT)
                for piece in c.pieces where !piece.isEmpty {
                    cairo_move_to(cr, piece[0].x, piece[0].y)
                    var i = 1
                    while i + 2 < piece.count {
                        cairo_curve_to(cr, piece[i].x, piece[i].y, piece[i + 1].x, piece[i + 1].y, piece[i + 2].x, piece[i + 2].y)
                        i += 3
                    }
                }
                stroke(cr, c.stroke)
            case .polygon(let p):
                guard let first = p.points.first else { continue }
                cairo_move_to(cr, first.x, first.y)
                for q in p.points.dropFirst() { cairo_line_to(cr, q.x, q.y) }
                cairo_close_path(cr)
                set(cr, p.fill.color, p.fill.opacity)
                cairo_fill(cr)
            case .text(let t):
                set(cr, t.color, 1)
                text.draw(t.text, on: cr, x: t.x, y: t.y, size: t.size, bold: t.bold)
            case .group(let g):
                if let frame, let span = g.span, !span.contains(frame) { continue }
                replay(g.items, on: cr, text: text, frame: frame)
            }
        }
    }

    private static func set(_ cr: OpaquePointer, _ c: RGB, _ alpha: Double) {
        if alpha >= 1 { cairo_set_source_rgb(cr, c.r, c.g, c.b) } else { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha) }
    }

    private static func stroke(_ cr: OpaquePointer, _ s: Stroke) {
        set(cr, s.color, s.opacity)
        cairo_set_line_width(cr, s.width)
        if !s.dash.isEmpty {
            var dash = s.dash
            cairo_set_dash(cr, &dash, Int32(dash.count), 0)
        }
        cairo_stroke(cr)
        if !s.dash.isEmpty { cairo_set_dash(cr, nil, 0, 0) }
    }

    private static func roundedRect(_ cr: OpaquePointer, _ x: Double, _ y: Double, _ w: Double, _ h: Double, _ radius: Double) {
        let r = min(radius, w / 2, h / 2)
        guard r > 0 else {
            cairo_rectangle(cr, x, y, w, h)
            return
        }
        cairo_new_sub_path(cr)
        cairo_arc(cr, x + w - r, y + r, r, -Double.pi / 2, 0)
        cairo_arc(cr, x + w - r, y + h - r, r, 0, Double.pi / 2)
        cairo_arc(cr, x + r, y + h - r, r, Double.pi / 2, Double.pi)
        cairo_arc(cr, x + r, y + r, r, Double.pi, 3 * Double.pi / 2)
        cairo_close_path(cr)
    }
}
