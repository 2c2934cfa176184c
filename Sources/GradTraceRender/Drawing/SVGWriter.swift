import GradTrace

/// Serialises a ``Drawing`` as SVG of our own: real `<text>` elements (each pinned to the width
/// Pango measured, `textLength` with `lengthAdjust="spacingAndGlyphs"`, so a viewer without
/// DejaVu Sans still fits the boxes), numbers with two decimals whatever the locale, text
/// escaped by the project's one markup routine. The same drawing gives the same bytes.
///
/// Groups with frame spans become either CSS-keyframe classes (a self-playing SVG, no script)
/// or `data-from`/`data-to` spans for the HTML player's script.
struct SVGWriter {
    /// How frame spans are written.
    enum Mode {
        /// A still picture: groups with spans are drawn when they hold the last frame.
        case still
        /// CSS keyframes; each frame lasts `seconds`, the last one `lastSeconds`; loops forever.
        case css(seconds: Double, lastSeconds: Double)
        /// Plain spans for a script (`class="tl" data-from="a" data-to="b"`).
        case player
    }

    let drawing: Drawing
    let mode: Mode
    private var spanClasses: [Drawing.FrameSpan: Int] = [:]
    private var spanOrder: [Drawing.FrameSpan] = []

    init(_ drawing: Drawing, mode: Mode = .still) {
        self.drawing = drawing
        self.mode = mode
    }

    /// A coordinate with at most two decimals, no trailing zeros, whatever the locale (`12.5`, `-3`, `0`).
    static func num(_ x: Double) -> String {
        guard x.isFinite else { return "0" }
        let scaled = Int64((x * 100).rounded())
        if scaled == 0 { return "0" }
        let magnitude = scaled < 0 ? -scaled : scaled
        let whole = magnitude / 100, frac = Int(magnitude % 100)
        var s = scaled < 0 ? "-" + String(whole) : String(whole)
        if frac != 0 {
            s += frac % 10 == 0 ? "." + String(frac / 10) : (frac < 10 ? ".0" : ".") + String(frac)
        }
        return s
    }
    static func esc(_ s: String) -> String { DOTEscaping.markup(s, keepingLineBreaks: true) }

    /// The SVG document. O(items).
    mutating func document() -> String {
        var body = ""
        body.reserveCapacity(drawing.items.count * 160)
        body += "<rect width=\"100%\" height=\"100%\" fill=\"\(drawing.background.hex)\"/>\n"
        write(drawing.items, into: &body)
        let w = Self.num(drawing.width), h = Self.num(drawing.height)
        // Inline in the HTML player's page an XML declaration would be out of place.
        var head = ""
        if case .player = mode {} else { head += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" }
        head += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(w)pt\" height=\"\(h)pt\" viewBox=\"0 0 \(w) \(h)\" font-family=\"\(Self.esc("'\(drawing.fontFamily)', Verdana, sans-serif"))\">\n"
        if let t = drawing.title, !t.isEmpty { head += "<title>\(Self.esc(t))</title>\n" }
        head += "<desc>\(Self.esc(drawing.description))</desc>\n"
        if case .css(let seconds, let lastSeconds) = mode, !spanOrder.isEmpty {
            head += "<style>\n" + keyframes(seconds: seconds, lastSeconds: lastSeconds) + "</style>\n"
        }
        return head + body + "</svg>\n"
    }

    private mutating func write(_ items: [Drawing.Item], into out: inout String) {
        for item in items {
            switch item {
            case .box(let b):
                out += "<rect x=\"\(Self.num(b.x))\" y=\"\(Self.num(b.y))\" width=\"\(Self.num(b.width))\" height=\"\(Self.num(b.height))\""
                if b.radius > 0 { out += " rx=\"\(Self.num(min(b.radius, b.width / 2, b.height / 2)))\"" }
                out += Self.paint(b.fill) + Self.paint(b.stroke) + "/>\n"
            case .cell(let c):
                out += "<rect x=\"\(Self.num(c.x))\" y=\"\(Self.num(c.y))\" width=\"\(Self.num(c.width))\" height=\"\(Self.num(c.height))\"\(Self.paint(c.fill))"
                out += c.title.map { "><title>\(Self.esc($0))</title></rect>\n" } ?? "/>\n"
            case .curve(let c):
                var d = ""
                for piece in c.pieces where !piece.isEmpty {
                    d += "M\(Self.num(piece[0].x)),\(Self.num(piece[0].y))"
                    var j = 1
                    while j + 2 < piece.count {
                        d += "C\(Self.num(piece[j].x)),\(Self.num(piece[j].y)) \(Self.num(piece[j + 1].x)),\(Self.num(piece[j + 1].y)) \(Self.num(piece[j + 2].x)),\(Self.num(piece[j + 2].y))"
                        j += 3
                    }
                }
                out += "<path d=\"\(d)\" fill=\"none\"\(Self.paint(c.stroke))/>\n"
            case .polygon(let p):
                out += "<path d=\"M\(p.points.map { "\(Self.num($0.x)),\(Self.num($0.y))" }.joined(separator: "L"))Z\"\(Self.paint(p.fill))/>\n"
            case .text(let t):
                out += "<text x=\"\(Self.num(t.x))\" y=\"\(Self.num(t.y + t.baseline))\" font-size=\"\(Self.num(t.size))\""
                if t.bold { out += " font-weight=\"bold\"" }
                out += " fill=\"\(t.color.hex)\" textLength=\"\(Self.num(t.width))\" lengthAdjust=\"spacingAndGlyphs\">\(Self.esc(t.text))</text>\n"
            case .group(let g):
                guard let span = g.span else {
                    write(g.items, into: &out)
                    continue
                }
                if case .still = mode {
                    if span.contains(drawing.frameCount - 1) { write(g.items, into: &out) }
                    continue
                }
                out += "<g\(timing(span))>"
                write(g.items, into: &out)
                out += "</g>\n"
            }
        }
    }

    private static func paint(_ f: Drawing.Fill?) -> String {
        guard let f else { return " fill=\"none\"" }
        return " fill=\"\(f.color.hex)\"" + (f.opacity < 1 ? " fill-opacity=\"\(num(f.opacity))\"" : "")
    }

    private static func paint(_ s: Drawing.Stroke?) -> String {
        guard let s else { return "" }
        var out = " stroke=\"\(s.color.hex)\" stroke-width=\"\(num(s.width))\""
        if !s.dash.isEmpty { out += " stroke-dasharray=\"\(s.dash.map(num).joined(separator: ","))\"" }
        if s.opacity < 1 { out += " stroke-opacity=\"\(num(s.opacity))\"" }
        return out
    }

    /// The attributes that tie a group to its frames.
    private mutating func timing(_ span: Drawing.FrameSpan) -> String {
        switch mode {
        case .still:
            return ""
        case .player:
            return " class=\"tl\" data-from=\"\(span.from)\" data-to=\"\(span.to)\""
        case .css:
            let k: Int
            if let existing = spanClasses[span] {
                k = existing
            } else {
                k = spanOrder.count
                spanClasses[span] = k
                spanOrder.append(span)
            }
            return " class=\"s\(k)\""
        }
    }

    /// One keyframes rule per distinct span. Without animation support, the final frame shows.
    private func keyframes(seconds: Double, lastSeconds: Double) -> String {
        let n = drawing.frameCount
        let total = seconds * Double(n - 1) + lastSeconds
        func at(_ frame: Int) -> Double { frame >= n ? 100 : Double(frame) * seconds / total * 100 }
        func pct(_ x: Double) -> String { DOTEscaping.number(x, decimals: 3) + "%" }
        var css = ""
        for (k, span) in spanOrder.enumerated() {
            let visibleAtEnd = span.to >= n
            css += ".s\(k){opacity:\(visibleAtEnd ? 1 : 0);animation:k\(k) \(DOTEscaping.number(total, decimals: 3))s step-end infinite}"
            var frames: [String] = []
            if span.from == 0 {
                frames.append("0%{opacity:1}")
            } else {
                frames.append("0%{opacity:0}")
                frames.append("\(pct(at(span.from))){opacity:1}")
            }
            if span.to < n { frames.append("\(pct(at(span.to))){opacity:0}") }
            frames.append("100%{opacity:\(span.to >= n ? 1 : 0)}")
            css += "@keyframes k\(k){\(frames.joined())}\n"
        }
        return css
    }
}
