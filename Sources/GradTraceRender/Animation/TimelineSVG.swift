import GradTrace

/// Writes a ``Timeline`` as one SVG document of our own (text stays text): either
/// self-animating with CSS keyframes (no script), or with `data-from`/`data-to` spans for the
/// HTML player's script to show.
struct TimelineSVG {
    enum Mode {
        /// CSS keyframes; each frame lasts `seconds`, the last one `lastSeconds`; loops forever.
        case css(seconds: Double, lastSeconds: Double)
        /// Plain spans for a script (`class="tl" data-from="a" data-to="b"`).
        case player
    }

    let diagram: Diagram
    let timeline: Timeline
    let mode: Mode

    private var spanClasses: [Timeline.Span: Int] = [:]
    private var spanOrder: [Timeline.Span] = []

    init(diagram: Diagram, timeline: Timeline, mode: Mode) {
        self.diagram = diagram
        self.timeline = timeline
        self.mode = mode
    }

    static func num(_ x: Double) -> String { DOTEscaping.number(x, decimals: 2) }
    static func esc(_ s: String) -> String { SVGNormalizer.xml(s) }

    /// The attributes that tie an element to its frames ("" when it shows in every frame).
    private mutating func timing(_ span: Timeline.Span) -> String {
        if span.from == 0 && span.to >= timeline.frameCount { return "" }
        switch mode {
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

    /// The document.
    mutating func document() -> String {
        let d = diagram
        let m = d.metrics
        let theme = d.style.theme
        let size = d.canvasSize
        let text = TextEngine(family: d.style.fontFamily)
        let nodeBase = text.baseline(size: d.style.nodeFontSize)
        let edgeBase = text.baseline(size: d.style.edgeFontSize)
        var body = ""
        let ox = (size.width - d.layout.graphWidth) / 2
        let oy = m.margin + m.headerHeight
        body += "<rect width=\"100%\" height=\"100%\" fill=\"\(theme.background.hex)\"/>\n"
        if let t = d.title, !t.isEmpty {
            body += "<text x=\"\(Self.num(size.width / 2))\" y=\"\(Self.num(m.margin * 0.75 + text.baseline(size: d.style.titleFontSize, bold: true)))\" text-anchor=\"middle\" font-size=\"\(Self.num(d.style.titleFontSize))\" font-weight=\"bold\" fill=\"\(theme.text.hex)\">\(Self.esc(t))</text>\n"
        }
        body += "<g transform=\"translate(\(Self.num(ox)),\(Self.num(oy)))\">\n"
        for c in d.layout.clusters {
            body += "<rect x=\"\(Self.num(c.x))\" y=\"\(Self.num(c.y))\" width=\"\(Self.num(c.width))\" height=\"\(Self.num(c.height))\" rx=\"8\" fill=\"\(theme.mutedText.hex)\" fill-opacity=\"\(c.depth == 1 ? "0.06" : "0.1")\" stroke=\"\(theme.mutedText.hex)\" stroke-opacity=\"0.7\" stroke-dasharray=\"4,3\"/>"
            body += "<text x=\"\(Self.num(c.x + 6))\" y=\"\(Self.num(c.y + 2 + edgeBase))\" font-size=\"\(Self.num(d.style.edgeFontSize))\"\(c.depth == 1 ? " font-weight=\"bold\"" : "") fill=\"\(theme.mutedText.hex)\">\(Self.esc(c.name))</text>\n"
        }
        // Edges: each run of an edge draws its line in that run's style.
        for (i, runs) in timeline.edges.enumerated() {
            let path = d.layout.edges[i]
            var dPath = ""
            var last: Point?
            for curve in path.curves where !curve.isEmpty {
                dPath += "M\(Self.num(curve[0].x)),\(Self.num(curve[0].y))"
                var j = 1
                while j + 2 < curve.count {
                    dPath += "C\(Self.num(curve[j].x)),\(Self.num(curve[j].y)) \(Self.num(curve[j + 1].x)),\(Self.num(curve[j + 1].y)) \(Self.num(curve[j + 2].x)),\(Self.num(curve[j + 2].y))"
                    j += 3
                }
                last = curve.last
            }
            for run in runs {
                let s = theme.style(run.state)
                body += "<g\(timing(run.span))><path d=\"\(dPath)\" fill=\"none\" stroke=\"\(s.line.hex)\" stroke-width=\"\(Self.num(s.width))\"/>"
                if let tip = path.arrowTip, let from = last {
                    let tri = Arrow.triangle(from: from, to: tip, width: s.width)
                    body += "<path d=\"M\(tri.map { "\(Self.num($0.x)),\(Self.num($0.y))" }.joined(separator: "L"))Z\" fill=\"\(s.line.hex)\"/>"
                }
                body += "</g>\n"
            }
        }
        // Nodes: box per run, fixed title and value, gradient text per run.
        for (i, runs) in timeline.nodes.enumerated() {
            let box = d.layout.nodes[i]
            let n = timeline.base.nodes[i]
            let x0 = box.x - box.width / 2, y0 = box.y - box.height / 2
            for run in runs {
                let s = theme.style(run.state)
                var view = n
                view.state = run.state
                view.gradient = run.gradient
                let colors = d.colors(view)
                let border = run.nonFinite ? theme.warning : s.border
                let dash = s.dashed ? " stroke-dasharray=\"5,3\"" : ""
                body += "<g\(timing(run.span))><rect x=\"\(Self.num(x0))\" y=\"\(Self.num(y0))\" width=\"\(Self.num(box.width))\" height=\"\(Self.num(box.height))\" rx=\"7\" fill=\"\(colors.fill.hex)\" stroke=\"\(border.hex)\" stroke-width=\"\(Self.num(run.nonFinite ? 3 : s.borderWidth))\"\(dash)/>"
                if n.isOutput {
                    body += "<rect x=\"\(Self.num(x0 + 3))\" y=\"\(Self.num(y0 + 3))\" width=\"\(Self.num(box.width - 6))\" height=\"\(Self.num(box.height - 6))\" rx=\"5\" fill=\"none\" stroke=\"\(s.border.hex)\" stroke-width=\"1\"/>"
                }
                if !run.gradText.isEmpty {
                    let color = run.state == .pending ? colors.muted : colors.text
                    body += "<text x=\"\(Self.num(box.x))\" y=\"\(Self.num(y0 + m.nodePadY + 2 * m.nodeLine + nodeBase))\" text-anchor=\"middle\" font-size=\"\(Self.num(d.style.nodeFontSize))\" fill=\"\(color.hex)\">\(Self.esc(run.gradText))</text>"
                }
                body += "</g>\n"
            }
        }
        // Titles and values: static, unless colour or the wiggled value changes with the run.
        for (i, runs) in timeline.nodes.enumerated() {
            let box = d.layout.nodes[i]
            let n = timeline.base.nodes[i]
            let y0 = box.y - box.height / 2
            let scenes = d.colorScale != nil || d.pass.isForward ? runs : [runs[runs.count - 1]]
            for run in scenes {
                var view = n
                view.state = run.state
                view.gradient = run.gradient
                let colors = d.colors(view)
                let valueText = d.pass.isForward ? (run.valueText ?? n.valueText) : n.valueText
                let open = scenes.count > 1 ? "<g\(timing(run.span))>" : "<g>"
                body += open + "<text x=\"\(Self.num(box.x))\" y=\"\(Self.num(y0 + m.nodePadY + nodeBase))\" text-anchor=\"middle\" font-size=\"\(Self.num(d.style.nodeFontSize))\" font-weight=\"bold\" fill=\"\(colors.text.hex)\">\(Self.esc(n.title))</text>"
                let value = (n.nonFinite ? "⚠ " : "") + valueText
                body += "<text x=\"\(Self.num(box.x))\" y=\"\(Self.num(y0 + m.nodePadY + m.nodeLine + nodeBase))\" text-anchor=\"middle\" font-size=\"\(Self.num(d.style.nodeFontSize))\" fill=\"\((n.nonFinite ? theme.warning : colors.text).hex)\">\(Self.esc(value))</text></g>\n"
            }
        }
        // Edge ledgers on top.
        for (i, runs) in timeline.edges.enumerated() {
            let path = d.layout.edges[i]
            guard let c = path.labelCenter else { continue }
            for run in runs where !run.lines.isEmpty {
                let s = theme.style(run.state)
                let w = path.labelSize.width, h = path.labelSize.height
                let x0 = c.x - w / 2, y0 = c.y - h / 2
                body += "<g\(timing(run.span))><rect x=\"\(Self.num(x0))\" y=\"\(Self.num(y0))\" width=\"\(Self.num(w))\" height=\"\(Self.num(h))\" rx=\"3\" fill=\"\(theme.labelBackground.hex)\" fill-opacity=\"0.88\"\(run.state == .active ? " stroke=\"\(s.line.hex)\" stroke-width=\"1.2\"" : "")/>"
                for (j, line) in run.lines.enumerated() {
                    body += "<text x=\"\(Self.num(x0 + m.labelPad))\" y=\"\(Self.num(y0 + m.labelPad + Double(j) * m.edgeLine + edgeBase))\" font-size=\"\(Self.num(d.style.edgeFontSize))\"\(j == 1 ? " font-weight=\"bold\"" : "") fill=\"\((j == 0 ? theme.mutedText : s.text).hex)\">\(Self.esc(line))</text>"
                }
                body += "</g>\n"
            }
        }
        body += "</g>\n"
        // Footer: one caption per frame, and the legend.
        let fy = size.height - m.footerHeight + 4
        let captionSize = d.style.edgeFontSize + 1
        for (k, caption) in timeline.captions.enumerated() {
            body += "<text\(timing(Timeline.Span(from: k, to: k + 1))) x=\"\(Self.num(m.margin))\" y=\"\(Self.num(fy + text.baseline(size: captionSize)))\" font-size=\"\(Self.num(captionSize))\" fill=\"\(theme.text.hex)\">\(Self.esc(caption))</text>\n"
        }
        var lx = m.margin
        let ly = fy + m.captionLine + 4
        for (state, label) in Painter.legendEntries {
            let s = theme.style(state)
            body += "<rect x=\"\(Self.num(lx))\" y=\"\(Self.num(ly + 1))\" width=\"16\" height=\"11\" fill=\"\(s.fill.hex)\" stroke=\"\(s.border.hex)\" stroke-width=\"\(Self.num(min(s.borderWidth, 2)))\"\(s.dashed ? " stroke-dasharray=\"3,2\"" : "")/>"
            body += "<text x=\"\(Self.num(lx + 22))\" y=\"\(Self.num(ly - 1 + edgeBase))\" font-size=\"\(Self.num(d.style.edgeFontSize))\" fill=\"\(theme.mutedText.hex)\">\(Self.esc(label))</text>\n"
            lx += 22 + text.measure(label, size: d.style.edgeFontSize).width + 12
        }

        var head = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.num(size.width))pt\" height=\"\(Self.num(size.height))pt\" viewBox=\"0 0 \(Self.num(size.width)) \(Self.num(size.height))\" font-family=\"'DejaVu Sans', Verdana, sans-serif\">\n"
        if let t = d.title, !t.isEmpty { head += "<title>\(Self.esc(t))</title>\n" }
        head += "<desc>\(Self.esc("Backward pass of \(NameTable(graph: d.graph).name(of: d.pass.output)), \(d.stepCount) steps"))</desc>\n"
        if case .css(let seconds, let lastSeconds) = mode, !spanOrder.isEmpty {
            head += "<style>\n" + keyframes(seconds: seconds, lastSeconds: lastSeconds) + "</style>\n"
        }
        return head + body + "</svg>\n"
    }

    /// One keyframes rule per distinct span. Without animation support, the final frame shows.
    private func keyframes(seconds: Double, lastSeconds: Double) -> String {
        let n = timeline.frameCount
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

/// The arrowhead shared by every painter: a triangle from the spline's end to Graphviz's tip.
enum Arrow {
    static func triangle(from: Point, to: Point, width: Double) -> [Point] {
        let dx = to.x - from.x, dy = to.y - from.y
        let len = (dx * dx + dy * dy).squareRoot()
        guard len > 0 else { return [to, to, to] }
        let ux = dx / len, uy = dy / len
        let half = 3.5 + width
        return [to, Point(from.x - uy * half, from.y + ux * half), Point(from.x + uy * half, from.y - ux * half)]
    }
}
