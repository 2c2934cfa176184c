import GradTrace

/// The one place every drawing rule lives: corner radii, dashes, legend geometry, fonts and the
/// colour of each element. Turns a ``Scene`` (or a whole pass folded into a ``Timeline``) on a
/// ``Diagram``'s layout into a ``Drawing``.
///
/// Not thread-safe (it measures text with its own ``TextEngine``): one builder per thread.
struct DrawingBuilder {
    let diagram: Diagram
    let text: TextEngine

    init(diagram: Diagram, text: TextEngine? = nil) {
        self.diagram = diagram
        self.text = text ?? TextEngine(family: diagram.style.fontFamily, known: diagram.textSizes)
    }

    // MARK: rules

    static let nodeRadius = 7.0
    static let outputInset = 3.0
    static let labelRadius = 3.0
    static let clusterRadius = 8.0
    static let nodeDash: [Double] = [5, 3]
    static let clusterDash: [Double] = [4, 3]
    static let legendDash: [Double] = [3, 2]
    static let labelOpacity = 0.88
    static let colorBarWidth = 240.0
    static let colorBarHeight = 11.0
    static let colorBarNote = "(0 is drawn at the low end)"
    /// Space between an edge label's text and its contribution thumbnail.
    static let thumbGap = 6.0

    // MARK: text

    /// A measured run with its left edge at `x` (or centred on `x`), its line's top at `y`.
    /// Text longer than `maxWidth` is cut and ends in "…".
    func run(_ s: String, x: Double, y: Double, size: Double, bold: Bool = false, color: RGB,
             centered: Bool = false, maxWidth: Double? = nil) -> Drawing.Item {
        var shown = Typography.picture(s)
        var w = text.measure(shown, size: size, bold: bold).width
        if let maxWidth, w > maxWidth {
            shown = fit(shown, size: size, bold: bold, maxWidth: maxWidth)
            w = text.measure(shown, size: size, bold: bold).width
        }
        return .text(Drawing.TextRun(text: shown, x: centered ? x - w / 2 : x, y: y, baseline: text.baseline(size: size, bold: bold),
                                     size: size, bold: bold, width: w, color: color))
    }

    /// The longest prefix of `s` that fits `maxWidth` with "…" after it (binary search on characters).
    func fit(_ s: String, size: Double, bold: Bool, maxWidth: Double) -> String {
        let chars = Array(s)
        var lo = 0, hi = chars.count
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if text.measure(String(chars[0..<mid]) + "…", size: size, bold: bold).width <= maxWidth { lo = mid } else { hi = mid - 1 }
        }
        return String(chars[0..<lo]) + "…"
    }

    // MARK: pieces

    /// The graph's origin on the canvas.
    var origin: Point {
        let m = diagram.metrics
        return Point((diagram.canvasSize.width - diagram.layout.graphWidth) / 2, m.margin + m.headerHeight)
    }

    func titleItems(_ title: String?) -> [Drawing.Item] {
        guard let title, !title.isEmpty else { return [] }
        let size = diagram.canvasSize, m = diagram.metrics, fs = diagram.style.titleFontSize
        let w = min(text.measure(Typography.picture(title), size: fs, bold: true).width, size.width - 2 * m.margin)
        return [run(title, x: max(m.margin, (size.width - w) / 2), y: m.margin * 0.75, size: fs, bold: true,
                    color: diagram.style.theme.text, maxWidth: size.width - 2 * m.margin)]
    }

    func clusterItems() -> [Drawing.Item] {
        let theme = diagram.style.theme, o = origin
        var items: [Drawing.Item] = []
        for c in diagram.layout.clusters {
            items.append(.box(Drawing.Box(x: o.x + c.x, y: o.y + c.y, width: c.width, height: c.height, radius: Self.clusterRadius,
                                          fill: Drawing.Fill(color: theme.mutedText, opacity: c.depth == 1 ? 0.06 : 0.10),
                                          stroke: Drawing.Stroke(color: theme.mutedText, width: c.depth == 1 ? 1.2 : 0.8,
                                                                 dash: Self.clusterDash, opacity: 0.7))))
            items.append(run(c.name, x: o.x + c.x + 6, y: o.y + c.y + 2, size: diagram.style.edgeFontSize, bold: c.depth == 1,
                             color: theme.mutedText))
        }
        return items
    }

    /// The bands of a graph split by module (``Bands``): a rule between two bands and each band's modules
    /// named over it (drawn once: the layout is every frame's).
    func bandItems() -> [Drawing.Item] {
        let theme = diagram.style.theme, o = origin, w = diagram.layout.graphWidth
        var items: [Drawing.Item] = []
        for (b, band) in diagram.layout.bands.enumerated() {
            if b > 0 {
                let y = o.y + band.y - Bands.gap / 2
                items.append(.curve(Drawing.Curve(pieces: [[Point(o.x, y), Point(o.x, y), Point(o.x + w, y), Point(o.x + w, y)]],
                                                  stroke: Drawing.Stroke(color: theme.mutedText, width: 0.6, dash: Self.clusterDash, opacity: 0.6))))
            }
            if !band.label.isEmpty {
                items.append(run(band.label, x: o.x + 2, y: o.y + band.y + 1, size: diagram.style.edgeFontSize, bold: true,
                                 color: theme.mutedText, maxWidth: w - 4))
            }
        }
        return items
    }

    /// A proxy (``Layout/Proxy``): the node it stands for as a small box, its name after an arrow to its band.
    func proxyItems(_ p: Layout.Proxy, node n: Scene.NodeView, parts: NodeParts = .all) -> [Drawing.Item] {
        let o = origin
        var v = n
        v.title = Bands.proxyTitle(n.title, above: p.above)
        v.isOutput = false
        return nodeItems(v, at: Layout.Box(x: o.x + p.box.x, y: o.y + p.box.y, width: p.box.width, height: p.box.height), parts: parts, small: true)
    }

    /// An edge's line and arrowhead in a state.
    func edgeItems(index: Int, state: Scene.EdgeState) -> [Drawing.Item] {
        let path = diagram.layout.edges[index], o = origin
        let s = diagram.style.theme.style(state)
        var pieces: [[Point]] = []
        var last: Point?
        for curve in path.curves where !curve.isEmpty {
            pieces.append(curve.map { Point($0.x + o.x, $0.y + o.y) })
            last = curve.last
        }
        var items: [Drawing.Item] = [.curve(Drawing.Curve(pieces: pieces, stroke: Drawing.Stroke(color: s.line, width: s.width)))]
        if let tip = path.arrowTip, let from = last {
            let tri = Arrow.triangle(from: from, to: tip, width: s.width).map { Point($0.x + o.x, $0.y + o.y) }
            items.append(.polygon(Drawing.Polygon(points: tri, fill: Drawing.Fill(color: s.line))))
        }
        return items
    }

    /// An edge's label (its ledger in the chosen ``RenderStyle/LabelMode``) in a state.
    func edgeLabelItems(index: Int, lines: [String], state: Scene.EdgeState, contribution: Tensor? = nil) -> [Drawing.Item] {
        let path = diagram.layout.edges[index], o = origin
        guard let c = path.labelCenter, !lines.isEmpty else { return [] }
        let theme = diagram.style.theme, s = theme.style(state), m = diagram.metrics
        let w = path.labelSize.width, h = path.labelSize.height
        let x0 = o.x + c.x - w / 2, y0 = o.y + c.y - h / 2
        var items: [Drawing.Item] = [.box(Drawing.Box(
            x: x0, y: y0, width: w, height: h, radius: Self.labelRadius,
            fill: Drawing.Fill(color: theme.labelBackground, opacity: Self.labelOpacity),
            stroke: state == .active ? Drawing.Stroke(color: s.line, width: 1.2) : nil))]
        var y = y0 + m.labelPad
        for line in EdgeLabel.lines(lines, style: diagram.style, whole: diagram.pass.rules.wholeLedgers) {
            items.append(run(line.text, x: x0 + m.labelPad, y: y, size: line.size, bold: line.emphasis,
                             color: line.emphasis ? s.text : theme.mutedText))
            y += text.lineHeight(size: line.size)
        }
        if let c = contribution {
            // Right of the text, at the label's right edge.
            let size = Heatmap.thumbSize(c.shape)
            items += thumbnailItems(c, x: x0 + w - m.labelPad - size.width, y: y0 + m.labelPad + 1)
        }
        return items
    }

    /// Which parts of a node to draw.
    struct NodeParts: OptionSet {
        let rawValue: Int
        static let frame = NodeParts(rawValue: 1)
        static let title = NodeParts(rawValue: 2)
        static let value = NodeParts(rawValue: 4)
        static let grad = NodeParts(rawValue: 8)
        static let all: NodeParts = [.frame, .title, .value, .grad]
    }

    /// Node `index` of the layout, drawn in place (a small box on the focus view's map).
    func nodeItems(_ n: Scene.NodeView, index: Int, parts: NodeParts = .all) -> [Drawing.Item] {
        let b = diagram.layout.nodes[index], o = origin
        return nodeItems(n, at: Layout.Box(x: o.x + b.x, y: o.y + b.y, width: b.width, height: b.height), parts: parts, small: diagram.style.outline)
    }

    /// A node drawn in `box` (centre and size on the canvas): in full, or as a small labelled box.
    func nodeItems(_ n: Scene.NodeView, at box: Layout.Box, parts: NodeParts = .all, small: Bool) -> [Drawing.Item] {
        let theme = diagram.style.theme, s = theme.style(n.state), m = diagram.metrics
        let colors = diagram.style.nodeColors(n, scale: diagram.colorScale)
        let cx = box.x, x0 = cx - box.width / 2, y0 = box.y - box.height / 2
        var items: [Drawing.Item] = []
        if parts.contains(.frame) {
            items.append(.box(Drawing.Box(
                x: x0, y: y0, width: box.width, height: box.height, radius: Self.nodeRadius, fill: Drawing.Fill(color: colors.fill),
                stroke: Drawing.Stroke(color: n.nonFinite ? theme.warning : s.border, width: n.nonFinite ? 3 : s.borderWidth,
                                       dash: s.dashed ? Self.nodeDash : []))))
            if n.isOutput {
                // The output gets a second, inner outline.
                let i = Self.outputInset
                items.append(.box(Drawing.Box(x: x0 + i, y: y0 + i, width: box.width - 2 * i, height: box.height - 2 * i,
                                              radius: Self.nodeRadius - 2, fill: nil, stroke: Drawing.Stroke(color: s.border, width: 1))))
            }
        }
        if let p = n.tensor, !small {
            return items + tensorNodeItems(n, panel: p, box: box, parts: parts, colors: colors)
        }
        let fs = diagram.style.nodeFontSize
        if small {
            // A small labelled box: the title and the gradient's number (the caption tells the chain).
            var lines = Scene.outlineLines(n)
            if diagram.style.bands { lines[0] = Bands.name(lines[0]) }  // a split graph's boxes: the name alone
            if parts.contains(.title), !lines[0].isEmpty {
                items.append(run(lines[0], x: cx, y: y0 + m.nodePadY, size: fs, bold: true, color: colors.text, centered: true))
            }
            let line = !n.nonFinite ? lines[1] : "⚠ " + (n.tensor == nil ? Scene.outlineGrad(n.gradText) : lines[1])
            if parts.contains(.grad) || (parts.contains(.value) && n.gradText.isEmpty) {
                // A tensor's shape and gradient size are set smaller: the focus view's map stays narrow.
                items.append(run(line, x: cx, y: y0 + m.nodePadY + m.nodeLine, size: n.tensor == nil ? fs : diagram.style.edgeFontSize,
                                 color: n.state == .pending ? colors.muted : colors.text, centered: true))
            }
            // The parameters drawn beside a fused node: a line each, in their own state.
            if parts.contains(.grad) || parts.contains(.value), let side = n.tensor?.side {
                for (k, r) in side.enumerated() {
                    items.append(run(lines[2 + k], x: cx, y: y0 + m.nodePadY + m.nodeLine + Double(k + 1) * m.edgeLine, size: diagram.style.edgeFontSize,
                                     color: r.state == .pending ? colors.muted : colors.text, centered: true))
                }
            }
            return items
        }
        if parts.contains(.title), !n.title.isEmpty {
            items.append(run(n.title, x: cx, y: y0 + m.nodePadY, size: fs, bold: true, color: colors.text, centered: true))
        }
        let value = (n.nonFinite ? "⚠ " : "") + n.valueText
        if parts.contains(.value), !n.valueText.isEmpty {
            items.append(run(value, x: cx, y: y0 + m.nodePadY + m.nodeLine, size: fs,
                             color: n.nonFinite ? theme.warning : colors.text, centered: true))
        }
        if parts.contains(.grad), !n.gradText.isEmpty {
            items.append(run(n.gradText, x: cx, y: y0 + m.nodePadY + 2 * m.nodeLine, size: fs,
                             color: n.state == .pending ? colors.muted : colors.text, centered: true))
        }
        return items
    }

    /// The legend of node states the pass shows (none when colour stands for the gradient).
    static func legendEntries(pass: Pass, style: RenderStyle) -> [(Scene.NodeState, String)] {
        style.colorByGradient ? [] : pass.legendStates
    }

    static func legendWidth(pass: Pass, style: RenderStyle, text: TextEngine) -> Double {
        var w = 0.0
        for (_, label) in legendEntries(pass: pass, style: style) { w += 22 + text.measure(label, size: style.edgeFontSize).width + 12 }
        return w
    }

    static func colorBarWidth(pass: Pass, style: RenderStyle, text: TextEngine) -> Double {
        text.measure(colorBarLabel(pass), size: style.edgeFontSize).width + 8 + colorBarWidth + 14
            + text.measure(colorBarNote, size: style.edgeFontSize - 1).width + 8
    }

    static func colorBarLabel(_ pass: Pass) -> String { "|" + pass.derivativeWord + "|" }

    /// The caption of a frame, wrapped onto as many lines as it needs (the footer has room for the
    /// longest caption of the pass: ``Diagram``'s `captionLines`), `lift` points above the footer's place
    /// (``Diagram/footerLift(_:)``: right under a focus view's panels).
    func captionItems(_ caption: String, lift: Double = 0) -> [Drawing.Item] {
        let m = diagram.metrics, size = diagram.canvasSize, fs = diagram.style.edgeFontSize + 1
        let lines = Self.wrap(caption, width: size.width - 2 * m.margin, size: fs, text: text)
        return lines.enumerated().map { k, line in
            run(line, x: m.margin, y: size.height - m.footerHeight - lift + 4 + Double(k) * m.captionLine, size: fs, color: diagram.style.theme.text)
        }
    }

    /// `s` broken into lines no wider than `width`, between words; an equation's parts stay together
    /// (`∂L/∂a = 6,` is one unit: an operator such as `=` or `·` is glued to its neighbours). A unit
    /// wider than `width` keeps a line of its own. The one wrapping rule of captions and notes: the
    /// drawing and the footer's height both use it.
    static func wrap(_ s: String, width: Double, size: Double, text: TextEngine) -> [String] {
        let shown = Typography.picture(s)
        // Most captions fit: a line of n characters is never wider than n em.
        if Double(shown.unicodeScalars.count) * size * 1.05 <= width || text.measure(shown, size: size).width <= width { return [shown] }
        func isOperator(_ w: Substring) -> Bool { !w.isEmpty && w.count <= 2 && !w.contains { $0.isLetter || $0.isNumber } }
        var units: [String] = []
        var glue = false
        for word in shown.split(separator: " ") {
            if glue || isOperator(word), let last = units.popLast() { units.append(last + " " + word) } else { units.append(String(word)) }
            glue = isOperator(word)
        }
        var lines: [String] = []
        var line = ""
        for unit in units {
            let next = line.isEmpty ? unit : line + " " + unit
            if line.isEmpty || text.measure(next, size: size).width <= width { line = next } else { lines.append(line); line = unit }
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    /// The legend and colour bar under the caption (`lift` points above the foot, with it); the legend names
    /// only the node states in `shown`.
    func footerItems(shown: Set<Scene.NodeState>, lift: Double = 0) -> [Drawing.Item] {
        guard diagram.style.showsLegend else { return [] }  // a strip draws it once (Diagram.withoutLegend)
        let theme = diagram.style.theme, m = diagram.metrics, size = diagram.canvasSize
        let fs = diagram.style.edgeFontSize
        var y = size.height - m.footerHeight - lift + 4 + Double(m.captionLines) * m.captionLine + 4
        var items: [Drawing.Item] = []
        var cx = m.margin
        let entries = Self.legendEntries(pass: diagram.pass, style: diagram.style).filter { shown.contains($0.0) }
        for (state, label) in entries {
            let s = theme.style(state)
            items.append(.box(Drawing.Box(x: cx, y: y + 1, width: 16, height: 11, radius: 0, fill: Drawing.Fill(color: s.fill),
                                          stroke: Drawing.Stroke(color: s.border, width: min(s.borderWidth, 2), dash: s.dashed ? Self.legendDash : []))))
            items.append(run(label, x: cx + 22, y: y - 1, size: fs, color: theme.mutedText))
            cx += 22 + text.measure(label, size: fs).width + 12
        }
        if !entries.isEmpty { y += m.captionLine + 6 }
        if diagram.tensorScales != nil {
            items += tensorLegendItems(y: y)
            y += m.captionLine + 10
        }
        if let scale = diagram.colorScale {
            let label = Self.colorBarLabel(diagram.pass)
            items.append(run(label, x: m.margin, y: y - 1, size: fs, color: theme.text))
            let bx = m.margin + text.measure(label, size: fs).width + 8
            let width = Self.colorBarWidth, height = Self.colorBarHeight
            for i in 0..<120 {
                items.append(.cell(Drawing.Cell(x: bx + Double(i) * width / 120, y: y + 1, width: width / 120 + 0.3, height: height,
                                                fill: Drawing.Fill(color: ColorScale.viridis(Double(i) / 119)))))
            }
            items.append(.box(Drawing.Box(x: bx, y: y + 1, width: width, height: height, radius: 0, fill: nil,
                                          stroke: Drawing.Stroke(color: theme.mutedText, width: 0.8))))
            for tick in scale.ticks {
                let tx = bx + width * (tick - scale.low) / (scale.high - scale.low)
                items.append(run("1e\(Int(tick))", x: tx, y: y + height + 1, size: fs - 1, color: theme.mutedText, centered: true))
            }
            items.append(run(Self.colorBarNote, x: bx + width + 14, y: y - 1, size: fs - 1, color: theme.mutedText))
        }
        if let note = diagram.note {
            // The symbols and scales explained, at the foot of the picture.
            let lines = Self.wrap(note, width: size.width - 2 * m.margin, size: fs, text: text)
            var ny = size.height - lift - Double(lines.count) * m.edgeLine - 6
            for line in lines {
                items.append(run(line, x: m.margin, y: ny, size: fs, color: theme.mutedText))
                ny += m.edgeLine
            }
        }
        return items
    }

    func frame(items: [Drawing.Item], title: String?, description: String, frames: Int = 1) -> Drawing {
        let size = diagram.canvasSize
        return Drawing(width: size.width, height: size.height, background: diagram.style.theme.background,
                       fontFamily: diagram.style.fontFamily, items: items, frameCount: frames, title: title, description: description)
    }

    // MARK: whole pictures

    /// The drawing of one scene.
    func drawing(_ scene: Scene) -> Drawing {
        var items = titleItems(scene.title)
        items += bandItems()
        items += clusterItems()
        // Idle edges first, then done, then active on top.
        for state in [Scene.EdgeState.idle, .done, .active] {
            for e in scene.edges where e.state == state { items += edgeItems(index: e.index, state: e.state) }
        }
        for (k, n) in scene.nodes.enumerated() { items += nodeItems(n, index: k) }
        for p in diagram.layout.proxies where p.node < scene.nodes.count { items += proxyItems(p, node: scene.nodes[p.node]) }
        for state in [Scene.EdgeState.done, .active] {
            for e in scene.edges where e.state == state { items += edgeLabelItems(index: e.index, lines: e.lines, state: e.state, contribution: e.contribution) }
        }
        items += focusItems(scene)
        let lift = diagram.footerLift(scene)
        items += captionItems(Self.captionHead(step: scene.step, of: scene.stepCount) + scene.caption, lift: lift)
        items += footerItems(shown: diagram.legendStates ?? Set(scene.nodes.map(\.state)), lift: lift)
        return frame(items: items, title: scene.title, description: scene.caption)
    }

    /// The focus view's rule under the map (drawn once; see ``FocusView``).
    func focusRuleItems() -> [Drawing.Item] {
        guard diagram.focus != nil else { return [] }
        let m = diagram.metrics, size = diagram.canvasSize
        let y = m.margin + m.headerHeight + diagram.layout.graphHeight + m.margin + FocusView.top / 2
        return [.curve(Drawing.Curve(pieces: [[Point(m.margin, y), Point(m.margin, y), Point(size.width - m.margin, y), Point(size.width - m.margin, y)]],
                                     stroke: Drawing.Stroke(color: diagram.style.theme.mutedText, width: 0.6, opacity: 0.5)))]
    }

    /// The focus view's panels of one step: the nodes it is about, at full size under the map.
    func focusItems(_ shown: Scene, rule: Bool = true) -> [Drawing.Item] {
        guard let f = diagram.focus else { return [] }
        let scene = f.panelScene(for: shown)
        let m = diagram.metrics
        let x0 = m.margin, y0 = m.margin + m.headerHeight + diagram.layout.graphHeight + m.margin + FocusView.top
        var index: [NodeID: Int] = [:]
        for (k, n) in scene.nodes.enumerated() { index[n.id] = k }
        var items = rule ? focusRuleItems() : []
        for p in f.placed(scene) {
            guard let k = index[p.id] else { continue }
            items += nodeItems(scene.nodes[k], at: Layout.Box(x: x0 + p.box.x, y: y0 + p.box.y, width: p.box.width, height: p.box.height), small: false)
        }
        return items
    }

    static func captionHead(step: Int, of count: Int) -> String { "step \(step) of \(count) · " }

    /// The whole pass as one drawing whose groups carry frame spans (animated SVG, HTML player).
    func drawing(_ timeline: Timeline) -> Drawing {
        let d = diagram
        var items = titleItems(d.title)
        items += bandItems()
        items += clusterItems()
        func group(_ span: Timeline.Span, _ inner: [Drawing.Item]) -> Drawing.Item {
            let all = span.from == 0 && span.to >= timeline.frameCount
            return .group(Drawing.Group(span: all ? nil : Drawing.FrameSpan(from: span.from, to: span.to), items: inner))
        }
        for (i, runs) in timeline.edges.enumerated() {
            for run in runs { items.append(group(run.span, edgeItems(index: i, state: run.state))) }
        }
        // Node boxes and gradient lines change per run; titles and values only when their colour or text does.
        for (i, runs) in timeline.nodes.enumerated() {
            for run in runs { items.append(group(run.span, nodeItems(timeline.view(node: i, run: run), index: i, parts: [.frame, .grad]))) }
        }
        for (i, runs) in timeline.nodes.enumerated() {
            let changing = d.colorScale != nil || d.pass.isForward
            let shown = changing ? runs : [runs[runs.count - 1]]
            for run in shown {
                let inner = nodeItems(timeline.view(node: i, run: run), index: i, parts: [.title, .value])
                items.append(changing ? group(run.span, inner) : .group(Drawing.Group(span: nil, items: inner)))
            }
        }
        for p in d.layout.proxies where p.node < timeline.nodes.count {
            for run in timeline.nodes[p.node] { items.append(group(run.span, proxyItems(p, node: timeline.view(node: p.node, run: run)))) }
        }
        for (i, runs) in timeline.edges.enumerated() where !d.style.outline {
            for run in runs where !run.lines.isEmpty {
                items.append(group(run.span, edgeLabelItems(index: i, lines: run.lines, state: run.state, contribution: run.contribution)))
            }
        }
        if d.focus != nil {
            items += focusRuleItems()
            for k in 0..<timeline.frameCount {
                items.append(group(Timeline.Span(from: k, to: k + 1), focusItems(d.scene(step: k), rule: false)))
            }
        }
        // Under a focus view the caption and legend sit right under each step's panels: the legend is drawn
        // once per run of frames with the same place.
        let lifts = (0..<timeline.frameCount).map { d.focus == nil ? 0 : d.footerLift(d.scene(step: $0)) }
        for (k, caption) in timeline.captions.enumerated() {
            items.append(group(Timeline.Span(from: k, to: k + 1), captionItems(caption, lift: k < lifts.count ? lifts[k] : 0)))
        }
        let shown = Set(timeline.nodes.flatMap { $0.map(\.state) })
        var start = 0
        if Set(lifts).count <= 1 { items += footerItems(shown: shown, lift: lifts.first ?? 0); start = lifts.count }
        while start < lifts.count {
            var end = start + 1
            while end < lifts.count && lifts[end] == lifts[start] { end += 1 }
            items.append(group(Timeline.Span(from: start, to: end), footerItems(shown: shown, lift: lifts[start])))
            start = end
        }
        let out = NameTable(structure: d.structure).name(of: d.pass.output)
        return frame(items: items, title: d.title, description: "\(d.pass.directionWord) pass of \(out), \(d.stepCount) steps",
                     frames: timeline.frameCount)
    }
}

extension Timeline {
    /// Node `i`'s view during one of its runs.
    func view(node i: Int, run: NodeRun) -> Scene.NodeView {
        var v = base.nodes[i]
        v.state = run.state
        v.gradient = run.gradient
        v.gradText = run.gradText
        v.nonFinite = run.nonFinite
        v.tensor = run.tensor
        if let value = run.valueText { v.valueText = value }
        return v
    }
}

/// What the symbols of a picture mean, written under it (only those the picture uses): one table.
enum Glossary {
    /// (what to look for in the picture's text, what to write, tensor pictures only).
    static let entries: [(symbol: String, meaning: String, tensorOnly: Bool)] = [
        ("⊙", "⊙ element-wise product", false),
        ("⊘", "⊘ element-wise division", false),
        ("ᵀ", "ᵀ transpose", false),
        ("Σ_", "Σ_k sum over axis k", false),
        (" · ", "· matrix product", true),
        ("‖", "‖g‖ size of g (square root of the sum of its squares)", false),
        ("grad Σ", "grad Σ: the sum of the gradients leaving a group", false),
    ]

    /// The note under a picture: the tensor colour scale and, when edges carry them (`edgeSquares`; the focus
    /// view's map has none), the contribution thumbnails, then the symbols used in `texts`.
    static func note(texts: [String], tensor: Bool, edgeSquares: Bool = true) -> String? {
        var parts: [String] = []
        if tensor {
            parts.append((edgeSquares ? "Squares beside an edge: the contribution sent back, on the gradient scale. " : "")
                         + "Colours: log scale, ticks at 1/10 and 1/100 of the largest.")
        }
        // A plain byte search (this scans every label of the pass).
        let wanted = entries.filter { tensor || !$0.tensorOnly }
        var found = [Bool](repeating: false, count: wanted.count)
        let patterns = wanted.map { Array($0.symbol.utf8) }
        for t in texts where found.contains(false) {
            t.utf8.withContiguousStorageIfAvailable { bytes in
                for (k, p) in patterns.enumerated() where !found[k] && bytes.count >= p.count {
                    var i = 0
                    while i + p.count <= bytes.count {
                        if bytes[i] == p[0] && bytes[i..<(i + p.count)].elementsEqual(p) { found[k] = true; break }
                        i += 1
                    }
                }
            }
        }
        let used = wanted.indices.filter { found[$0] }.map { wanted[$0].meaning }
        if !used.isEmpty { parts.append("Symbols: " + used.joined(separator: "; ") + ".") }
        return parts.isEmpty ? nil : parts.joined(separator: " ")
    }
}

/// Text as pictures print it: a minus sign (U+2212) before numbers, not a hyphen. JSON and
/// terminal text keep the ASCII hyphen.
enum Typography {
    static func picture(_ s: String) -> String {
        guard s.utf8.contains(UInt8(ascii: "-")) else { return s }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        let scalars = Array(s.unicodeScalars)
        for (k, c) in scalars.enumerated() {
            if c == "-", k + 1 < scalars.count {
                let next = scalars[k + 1]
                let prev: Unicode.Scalar? = k > 0 ? scalars[k - 1] : nil
                let startsNumber = (next >= "0" && next <= "9") || next == "." || next == "i"
                let afterLetter = prev.map { ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || $0 == "_" } ?? false
                if startsNumber && !(afterLetter && next != "i" && prev != "e") {
                    out.unicodeScalars.append("−")
                    continue
                }
            }
            out.unicodeScalars.append(c)
        }
        return out
    }
}

/// An edge label's lines in a ``RenderStyle/LabelMode``.
enum EdgeLabel {
    struct Line: Equatable {
        var text: String
        var size: Double
        /// The line with the result: bold, in the edge state's text colour.
        var emphasis: Bool
    }

    /// `full`: the ledger as the scene words it (the local derivative, then the chain).
    /// `compact`: the numbers first (`624 × 2 = 1248`), the symbolic chain under them, smaller.
    /// `numbers`: the numbers alone.
    /// `whole` (tensor edges, ``PictureRules/wholeLedgers``): the ledger (the VJP formula, the shapes, the
    /// broadcast sum) in every mode: it has no numbers to pull forward; the formula is the emphasised line.
    static func lines(_ ledger: [String], style: RenderStyle, whole: Bool = false) -> [Line] {
        let fs = style.edgeFontSize
        guard let last = ledger.last else { return [] }
        if whole {
            // The broadcast sum is emphasised too: it is the step learners forget.
            return ledger.enumerated().map {
                Line(text: $0.element, size: $0.offset == 0 ? fs : max(6, fs - 1), emphasis: $0.offset == 0 || $0.element.hasPrefix("Σ"))
            }
        }
        switch style.labels {
        case .full:
            return ledger.enumerated().map { Line(text: $0.element, size: fs, emphasis: $0.offset == 1) }
        case .compact, .numbers:
            let (symbolic, numbers) = split(last)
            var out = [Line(text: numbers, size: fs, emphasis: true)]
            if style.labels == .compact, !symbolic.isEmpty { out.append(Line(text: symbolic, size: max(6, fs - 2), emphasis: false)) }
            return out
        }
    }

    /// `∂L/∂w = ∂L/∂u · ∂u/∂w = 624 · 2 = 1248` → (`∂L/∂w = ∂L/∂u · ∂u/∂w`, `624 × 2 = 1248`).
    static func split(_ line: String) -> (symbolic: String, numbers: String) {
        var parts = pieces(line, " = ")
        guard parts.count >= 2 else { return ("", line) }
        let result = String(parts.removeLast())
        var numbers = result
        if let product = parts.last, isNumericProduct(product) {
            parts.removeLast()
            let factors = pieces(product, " · ").map { f -> String in
                f.hasPrefix("-") ? "(" + f + ")" : String(f)
            }
            numbers = factors.joined(separator: " × ") + " = " + result
        }
        return (parts.joined(separator: " = "), numbers)
    }

    /// `s` cut at every `separator` (a plain byte search: this runs for every edge label).
    static func pieces<S: StringProtocol>(_ s: S, _ separator: String) -> [Substring] where S.SubSequence == Substring {
        let text = Substring(s), sep = Array(separator.utf8)
        var out: [Substring] = []
        var start = text.utf8.startIndex, i = start
        let end = text.utf8.endIndex
        while i < end {
            var j = i, k = 0
            while k < sep.count, j < end, text.utf8[j] == sep[k] { j = text.utf8.index(after: j); k += 1 }
            if k == sep.count {
                out.append(text[start..<i])
                start = j
                i = j
            } else {
                i = text.utf8.index(after: i)
            }
        }
        out.append(text[start..<end])
        return out
    }

    static func isNumericProduct(_ s: Substring) -> Bool {
        let factors = pieces(s, " · ")
        return factors.count >= 2 && factors.allSatisfy { Double($0) != nil || ["nan", "inf", "-inf"].contains(String($0)) }
    }
}
