import CCairo
import GradTrace

/// Pango text in one font: measuring and drawing, with metric hinting off so that a
/// measurement made once (for the layout) matches every later drawing on any surface.
///
/// Not thread-safe: each thread (each frame task) makes its own.
final class TextEngine {
    private let context: OpaquePointer        // PangoContext*
    private let fontOptions: OpaquePointer    // cairo_font_options_t*
    private var layouts: [FontKey: OpaquePointer] = [:]
    /// Shaped lines, kept across frames: most text (titles, values) is the same in every frame,
    /// and shaping is the dear part of drawing text.
    private var shaped: [ShapedKey: OpaquePointer] = [:]
    private static let shapedLimit = 40_000
    /// Baselines per font: asked for by every text run, so measured once.
    private var baselines: [FontKey: Double] = [:]
    /// Every size measured (or handed over by a ``Diagram`` that measured it already).
    private(set) var sizes: [ShapedKey: TextSize] = [:]

    /// A measured line's logical size, in user units.
    struct TextSize: Sendable, Hashable {
        var width: Double
        var height: Double
    }

    struct FontKey: Hashable, Sendable {
        var size: Double
        var bold: Bool
    }

    struct ShapedKey: Hashable, Sendable {
        var text: String
        var font: FontKey
    }

    let family: String

    /// A text engine for `family`; `known` sizes (measured by another engine) are not measured again.
    init(family: String, known: [ShapedKey: TextSize] = [:]) {
        self.family = family
        self.sizes = known
        fontOptions = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(fontOptions, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(fontOptions, CAIRO_HINT_STYLE_NONE)
        cairo_font_options_set_antialias(fontOptions, CAIRO_ANTIALIAS_GRAY)
        let map = pango_cairo_font_map_get_default()
        context = pango_font_map_create_context(map)
        pango_cairo_context_set_font_options(context, fontOptions)
    }

    deinit {
        for l in layouts.values { g_object_unref(UnsafeMutableRawPointer(l)) }
        for l in shaped.values { g_object_unref(UnsafeMutableRawPointer(l)) }
        g_object_unref(UnsafeMutableRawPointer(context))
        cairo_font_options_destroy(fontOptions)
    }

    private func layout(_ key: FontKey) -> OpaquePointer {
        if let l = layouts[key] { return l }
        let l = pango_layout_new(context)!
        let desc = pango_font_description_new()!
        family.withCString { pango_font_description_set_family(desc, $0) }
        pango_font_description_set_absolute_size(desc, key.size * Double(PANGO_SCALE))
        pango_font_description_set_weight(desc, key.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL)
        pango_layout_set_font_description(l, desc)
        pango_font_description_free(desc)
        layouts[key] = l
        return l
    }

    /// A layout holding `text`, shaped once and cached.
    private func shapedLayout(_ text: String, _ font: FontKey) -> OpaquePointer {
        let key = ShapedKey(text: text, font: font)
        if let l = shaped[key] { return l }
        if shaped.count >= Self.shapedLimit {
            for l in shaped.values { g_object_unref(UnsafeMutableRawPointer(l)) }
            shaped.removeAll(keepingCapacity: true)
        }
        let l = pango_layout_copy(layout(font))!
        // The font's layout may carry a caption's width and ellipsis: a shaped line never does.
        pango_layout_set_width(l, -1)
        pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_NONE)
        text.withCString { pango_layout_set_text(l, $0, -1) }
        shaped[key] = l
        return l
    }

    /// Logical width and height of one line of text, in user units.
    func measure(_ text: String, size: Double, bold: Bool = false) -> (width: Double, height: Double) {
        let key = ShapedKey(text: text, font: FontKey(size: size, bold: bold))
        if let s = sizes[key] { return (s.width, s.height) }
        let l = shapedLayout(text, key.font)
        var logical = PangoRectangle()
        pango_layout_get_extents(l, nil, &logical)
        let s = TextSize(width: Double(logical.width) / Double(PANGO_SCALE), height: Double(logical.height) / Double(PANGO_SCALE))
        sizes[key] = s
        return (s.width, s.height)
    }

    /// Distance from the top of a line to its baseline.
    func baseline(size: Double, bold: Bool = false) -> Double {
        let key = FontKey(size: size, bold: bold)
        if let b = baselines[key] { return b }
        let l = shapedLayout("Ag∂", key)
        let b = Double(pango_layout_get_baseline(l)) / Double(PANGO_SCALE)
        baselines[key] = b
        return b
    }

    /// Height of a line in this font.
    func lineHeight(size: Double) -> Double { measure("Ag∂", size: size).height }

    /// Draws one line with its top-left corner at (x, y); `maxWidth` ellipsizes longer text.
    func draw(_ text: String, on cr: OpaquePointer, x: Double, y: Double, size: Double, bold: Bool = false, maxWidth: Double? = nil) {
        if maxWidth == nil {
            cairo_move_to(cr, x, y)
            pango_cairo_show_layout(cr, shapedLayout(text, FontKey(size: size, bold: bold)))
            return
        }
        let l = layout(FontKey(size: size, bold: bold))
        text.withCString { pango_layout_set_text(l, $0, -1) }
        if let maxWidth {
            // Pango units are 1/1024 pt in an Int32: a width past 2 million points is clamped.
            let units = (maxWidth * Double(PANGO_SCALE)).rounded()
            pango_layout_set_width(l, units.isFinite ? Int32(clamping: Int64(max(0, min(units, Double(Int32.max))))) : -1)
            pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END)
        } else {
            pango_layout_set_width(l, -1)
            pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_NONE)
        }
        cairo_move_to(cr, x, y)
        pango_cairo_show_layout(cr, l)
    }
}

/// Whether the fonts the pictures are made for are installed.
public enum FontCheck {
    /// The family Pango actually uses for `family` (fontconfig substitutes silently when it is missing).
    public static func resolvedFamily(_ family: String = "DejaVu Sans") -> String? {
        let map = pango_cairo_font_map_get_default()
        guard let context = pango_font_map_create_context(map) else { return nil }
        defer { g_object_unref(UnsafeMutableRawPointer(context)) }
        let desc = pango_font_description_new()!
        defer { pango_font_description_free(desc) }
        family.withCString { pango_font_description_set_family(desc, $0) }
        pango_font_description_set_absolute_size(desc, 12 * Double(PANGO_SCALE))
        guard let font = pango_font_map_load_font(map, context, desc) else { return nil }
        defer { g_object_unref(UnsafeMutableRawPointer(font)) }
        guard let used = pango_font_describe(font) else { return nil }
        defer { pango_font_description_free(used) }
        return pango_font_description_get_family(used).map { String(cString: $0) }
    }

    /// A warning to show when DejaVu Sans is missing, or nil when all is well.
    public static func warning() -> String? {
        let used = resolvedFamily() ?? "no font"
        guard used.lowercased() != "dejavu sans" else { return nil }
        return "warning: the DejaVu Sans font is not installed (drawing with \(used) instead, so text may not fit its boxes): apt-get install fonts-dejavu-core"
    }
}
