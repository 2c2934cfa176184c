import Foundation
import GradTrace

/// A traced graph ready to draw: its style and its one layout, shared by every step.
///
/// ```swift
/// let d = try Diagram(graph: p.graph, trace: t, style: RenderStyle())
/// let png = try d.render(step: d.stepCount, format: .png(scale: 2))
/// ```
public struct Diagram: Sendable {
    /// The structure of the graph drawn (the pass's: a tensor program's own graph, a collapsed view's module graph).
    public let structure: any GraphStructure
    /// The pass drawn: backward (gradients) or forward (tangents).
    public let pass: Pass
    public internal(set) var style: RenderStyle
    public let title: String?
    /// The layout, made from the widest text any step shows.
    public let layout: Layout
    /// Measured text metrics the painter reuses.
    var metrics: Metrics
    /// Every text size measured while laying out: painters start from these instead of shaping again.
    let textSizes: [TextEngine.ShapedKey: TextEngine.TextSize]
    /// A tensor picture's two colour scales (nil for scalar graphs).
    let tensorScales: Heatmap.Scales?
    /// A tensor picture's panel geometry per drawn node id (and per step fused into one).
    let tensorPanels: [NodeID: Heatmap.Panel]
    /// A fused node's rows, per drawn node id (see ``Heatmap/Rows``).
    let tensorRows: [NodeID: Heatmap.Rows]

    struct Metrics: Sendable {
        var nodeLine: Double
        var edgeLine: Double
        var titleLine: Double
        var captionLine: Double
        /// Lines of the longest caption of the pass, wrapped at the canvas width.
        var captionLines = 1
        var margin: Double = 16
        var nodePadX: Double = 10
        var nodePadY: Double = 6
        var labelPad: Double = 3
        var legendWidth: Double
        var headerHeight: Double
        var footerHeight: Double
        /// The focus view's panel area between the graph and the caption (0 without one), and its widest panel.
        var focusHeight: Double = 0
        var focusWidth: Double = 0
        /// The canvas width this layout needs: the graph, the legend, and the focus view's widest panel.
        func canvasWidth(graphWidth: Double) -> Double {
            max(graphWidth, legendWidth, focusWidth) + 2 * margin
        }
    }

    /// Output formats of ``render(step:format:)``.
    public enum Format: Sendable, Hashable {
        /// PNG at `scale` pixels per point; `compression` 0…9: libdeflate at that level (6 by default), RunDeflate at 0 and 1 (fastest; frames use 1).
        case png(scale: Double, compression: Int = RasterLimits.pictureLevel)
        /// SVG of our own, text as `<text>`.
        case svg
        /// Cairo's SVG, every glyph an outline path (`--svg-text outlines`).
        case svgOutlines
        case pdf
    }

    /// The colour scale of `--color-by grad`: log₁₀|derivative| from `low` to `high`.
    public let colorScale: ColorScale?

    /// The node states the legend names; nil: those of the picture drawn. A strip of frames sets
    /// them to every state its frames show, since it draws the legend once.
    public var legendStates: Set<Scene.NodeState>?

    /// The note under the legend: the symbols the picture uses and, for tensors, its scales (see ``Glossary``).
    var note: String?

    /// Set when `maxWidth` could not be met by any rung of the width ladder: what was reached and what
    /// to try. The CLI prints it as a warning; `gradtrace markdown` with the fence's line.
    public let fitWarning: String?

    /// The focus view's panels (set when the width ladder ended on small boxes for a tensor picture).
    private(set) var focus: FocusView?

    /// The rungs of the width ladder, in order: the labels asked for; numbers only; numbers with tight
    /// spacing; and nodes as small labelled boxes with unlabelled edges, the caption telling each
    /// step's chain (tensor pictures add the focus view: the step's nodes at full size under the
    /// map, see ``FocusView``); last, the graph split by module into bands (``Bands``), with the nodes as
    /// the tight rung draws them, then as small boxes. Without `maxWidth` only the first rung is drawn. Tensor programs add a
    /// rung after the first: the same picture with element-wise chains fused into one node each, and
    /// keep them fused on the later rungs (the focus view's map).
    static func ladder(_ style: RenderStyle, rules: PictureRules) -> [RenderStyle] {
        var rungs = [style]
        guard style.maxWidth != nil else { return rungs }
        var s = style
        if style.labels == .full { s.labels = .compact; rungs.append(s) }
        if rules.numbersRung && s.labels != .numbers { s.labels = .numbers; rungs.append(s) }
        s.tight = true
        rungs.append(s)
        var banded = s
        s.outline = true
        rungs.append(s)
        // Split by module (``Bands``): the nodes as drawn on the rung before small boxes, then small boxes.
        banded.bands = true
        rungs.append(banded)
        s.bands = true
        rungs.append(s)
        return rungs
    }

    /// A diagram of the backward pass.
    public init(graph: Graph, trace: Trace, style: RenderStyle, title: String? = nil) throws(RenderError) {
        try self.init(pass: .reverse(trace, graph: graph), style: style, title: title)
    }

    /// Measures every text the pass will show, and lays the graph out once. Cost: Graphviz's layout
    /// plus O(nodes + edges) text measurements.
    ///
    /// With `rankdir` `auto` both directions are laid out (for graphs of at most 150 drawn nodes;
    /// for larger ones the direction is estimated from the ranks) and the one whose picture is nearer a page's shape wins: within
    /// the width limit (`maxWidth`, else 900 pt preferred) first, then the aspect nearer 4:3. With
    /// `maxWidth` set and full labels too wide, labels are compacted before giving up.
    /// A scalar picture split by module into bands taller than this many times its width fits its column but
    /// reads as a long strip: it comes with a warning that advises collapsing it (tensor pictures: beyond their
    /// shape limit, ``PictureRules/tallest``).
    static let longestSplit = 4.0

    public init(pass unfusedPass: Pass, style: RenderStyle, title: String? = nil) throws(RenderError) {
        structure = unfusedPass.structure
        self.title = title
        let text = TextEngine(family: style.fontFamily)
        let plain = Diagram.prepare(pass: unfusedPass, style: style, text: text)
        let derivatives = unfusedPass.finalDerivatives
        colorScale = style.colorByGradient ? ColorScale(derivatives: plain.first.nodes.map { derivatives[$0.id] }) : nil
        tensorScales = unfusedPass.tensorTrace.map { Heatmap.Scales(trace: $0) }
        let rules = unfusedPass.rules
        // The same pass with element-wise chains fused into one node each (tensor programs; prepared when a rung needs it).
        let fusedPass = unfusedPass.fused
        var fusedPrepared: Prepared?
        var bandPrepared: Prepared?
        // The split-by-module rungs keep each module's parameters as nodes of their own (``TensorTrace/placesParametersBeside``).
        func prepared(_ fused: Bool, bands: Bool) -> Prepared {
            guard fused, let fusedPass else { return plain }
            if bands {
                if bandPrepared == nil { bandPrepared = Diagram.prepare(pass: fusedPass.parametersAsNodes, style: style, text: text) }
                return bandPrepared!
            }
            if fusedPrepared == nil { fusedPrepared = Diagram.prepare(pass: fusedPass, style: style, text: text) }
            return fusedPrepared!
        }
        var panels = plain.panels
        func focusSizes(width: Double) -> [NodeID: (width: Double, height: Double)] {
            var sizes = plain.fullSizes
            for (id, s) in plain.fullSizes where s.width > width { sizes[id] = plain.stackedSizes[id] }
            return sizes
        }
        let widestPanel = FocusView.widest(focusSizes(width: (style.maxWidth ?? 900) - 32))

        let directions: [RenderStyle.RankDir] = style.rankdir != .auto ? [style.rankdir]
            : plain.first.nodes.count <= Diagram.autoLayoutLimit ? [.LR, .TB] : [Diagram.estimatedDirection(plain.first, limit: style.maxWidth ?? 900)]
        let limit = style.maxWidth ?? 900
        typealias Candidate = (style: RenderStyle, fused: Bool, metrics: Metrics, layout: Layout, score: Double, width: Double, height: Double)
        var tried: [Candidate] = []
        // The fitting ladder: each rung is tried in every direction, and the first rung whose picture fits
        // `maxWidth` (without it, any width) and the pass's shape limit (``PictureRules/tallest``) wins.
        // Tensor programs fuse their element-wise chains on every rung after the first.
        var rungs = Diagram.ladder(style, rules: rules).enumerated().map { (style: $0.element, fused: fusedPass != nil && $0.offset > 0) }
        if fusedPass != nil { rungs.insert((style, true), at: min(1, rungs.count)) }
        var splitTried = false
        for rung in rungs {
            // Splitting by module is for pictures no rung before fits at any aspect.
            if rung.style.bands && tried.contains(where: { $0.width <= (style.maxWidth ?? .infinity) + 0.5 }) { break }
            let prep = prepared(rung.fused, bands: rung.style.bands)
            var bestInRung: Candidate?
            for d in directions {
                var c = rung.style
                c.rankdir = d
                guard let laid = try Diagram.lay(pass: prep.pass, style: c, title: title, text: text, first: prep.first,
                                                 layoutText: prep.layoutText, panels: prep.panels, rows: prep.rows, scales: tensorScales) else { continue }
                let (m, layout) = laid
                splitTried = splitTried || c.bands
                // The focus view needs room for its widest panel (its height is estimated as the map's third).
                let focused = c.outline && rules.focusView
                let w = max(layout.graphWidth, m.legendWidth, focused ? widestPanel : 0) + 2 * m.margin
                let h = layout.graphHeight * (focused ? 1.3 : 1) + 2 * m.margin + m.headerHeight + m.footerHeight
                // Fitting the width limit matters most; then the aspect nearest 4:3; the earlier direction wins ties.
                var score = w > limit ? 10 + w / limit : 0
                score += Swift.abs(log(w / max(h, 1) / (4.0 / 3.0)))
                if bestInRung == nil || score < bestInRung!.score - 1e-9 { bestInRung = (c, rung.fused, m, layout, score, w, h) }
            }
            guard let b = bestInRung else { continue }
            tried.append(b)
            if rules.fits(width: b.width, height: b.height, maxWidth: style.maxWidth) { break }
        }
        // None fits both: the first within the width, the least tall of those under a shape limit; else the narrowest.
        let fitsWidth = tried.filter { $0.width <= (style.maxWidth ?? .infinity) + 0.5 }
        let best: Candidate? = tried.first { rules.fits(width: $0.width, height: $0.height, maxWidth: style.maxWidth) }
            ?? (rules.tallest != nil ? fitsWidth.min { $0.height / $0.width < $1.height / $1.width - 1e-9 } : fitsWidth.first)
            ?? tried.min { $0.width < $1.width - 1e-9 }
        if let maxWidth = style.maxWidth, let b = best, b.width > maxWidth + 0.5 {
            fitWarning = "the picture is \(Int(b.width.rounded(.up))) pt wide, more than the \(Int(maxWidth)) pt asked for, even with "
                + rules.lastRung
                + (splitTried ? ", and the graph split by module into bands"
                   : unfusedPass.isCollapsed ? " (a collapsed view is not split by module: drawn whole, it can be)"
                   : " (no modules to split it by: name parts with dots, as l1.n0.w0 or attn.q.weight)")
                + (unfusedPass.isCollapsed ? ": draw a part of it (--result NAME) or allow more width"
                   : ": draw a part of it (--result NAME), collapse it (" + rules.collapseAdvice + "), or allow more width")
        } else if let b = best, b.style.bands, b.height > (rules.tallest ?? Diagram.longestSplit) * b.width, !unfusedPass.isCollapsed {
            // It fits, but as a long strip of bands: say so, and what draws the story shorter.
            fitWarning = "split by module into \(b.layout.bands.count) bands to fit \(Int(style.maxWidth ?? b.width)) pt, the picture is about "
                + "\(Int((b.height / b.width).rounded())) times as tall as it is wide: collapse it ("
                + rules.collapseAdvice + ") for a shorter picture, or draw a part of it (--result NAME)"
        } else {
            fitWarning = nil
        }
        guard let chosen = best else { throw RenderError.graphviz("no layout") }
        let prep = prepared(chosen.fused, bands: chosen.style.bands)
        let pass = prep.pass
        self.pass = pass
        self.style = chosen.style
        self.layout = chosen.layout
        // The footer makes room for the longest caption any frame shows, wrapped at the canvas width; tensor and
        // collapsed pictures get their glossary (scalar passes use only everyday symbols: + − · ∂).
        let captions = Scene.captions(pass: pass)
        var noteText: String?
        if style.showsLegend && (rules.heatmapNote || pass.isCollapsed) {
            let layoutText = prep.layoutText
            let shownTexts = captions + (chosen.style.outline ? [] : layoutText.edges.flatMap { $0 } + prep.ledgers)
                + layoutText.nodes.flatMap { $0.flatMap { $0 } }
            noteText = Glossary.note(texts: shownTexts, tensor: rules.heatmapNote, edgeSquares: !chosen.style.outline)
        }
        note = noteText
        func footer(_ m: inout Metrics) {
            let width = m.canvasWidth(graphWidth: chosen.layout.graphWidth).rounded(.up) - 2 * m.margin
            let count = pass.stepCount
            var lines = 1
            for (k, caption) in captions.enumerated() {
                let head = DrawingBuilder.captionHead(step: min(k, count), of: count)
                lines = max(lines, DrawingBuilder.wrap(head + caption, width: width, size: chosen.style.edgeFontSize + 1, text: text).count)
            }
            m.captionLines = lines
            m.footerHeight = chosen.metrics.footerHeight + Double(lines - 1) * chosen.metrics.captionLine
            if let noteText {
                let noteLines = DrawingBuilder.wrap(noteText, width: width, size: chosen.style.edgeFontSize, text: text).count
                m.footerHeight += Double(noteLines) * chosen.metrics.edgeLine + 4
            }
        }
        var metrics = chosen.metrics
        footer(&metrics)
        if chosen.style.outline && rules.focusView {
            // The focus view's panels show each step unfused: the step's own value and gradient, and its inputs'.
            // A picture that would be taller than ``PictureRules/tallest`` sets them side by side in the whole width allowed.
            var f: FocusView?
            for wide in [false, true] {
                var m = metrics
                m.focusWidth = widestPanel
                var area = m.canvasWidth(graphWidth: chosen.layout.graphWidth).rounded(.up) - 2 * m.margin
                if wide {
                    guard limit - 2 * m.margin > area + 1 else { break }
                    area = (limit - 2 * m.margin).rounded(.down)
                    m.focusWidth = area
                }
                footer(&m)
                let view = FocusView(pass: unfusedPass, sizes: focusSizes(width: area), width: area)
                m.focusHeight = FocusView.top + view.height + FocusView.bottom
                f = view
                metrics = m
                if chosen.layout.graphHeight + 2 * m.margin + m.headerHeight + m.focusHeight + m.footerHeight <= (rules.tallest ?? .infinity) * (area + 2 * m.margin) { break }
            }
            if let f { for (id, s) in plain.fullSizes where s.width > f.width { panels[id]?.stacked = true } }
            focus = f
        } else {
            focus = nil
        }
        self.metrics = metrics
        tensorPanels = panels
        tensorRows = prep.rows
        self.textSizes = text.sizes
    }

    /// What a pass needs measured before it is laid out: its first scene, the widest texts, and for
    /// tensor passes every node's panel and full-size box (a fused node's rows).
    struct Prepared {
        var pass: Pass
        var first: Scene
        var layoutText: (nodes: [[[String]]], edges: [[String]])
        var panels: [NodeID: Heatmap.Panel] = [:]
        var rows: [NodeID: Heatmap.Rows] = [:]
        /// The fused rows' final ledgers (for the glossary).
        var ledgers: [String] = []
        var fullSizes: [NodeID: (width: Double, height: Double)] = [:]
        var stackedSizes: [NodeID: (width: Double, height: Double)] = [:]
    }

    static func prepare(pass: Pass, style: RenderStyle, text: TextEngine) -> Prepared {
        let first = Scene(pass: pass, step: 0)
        let layoutText = Scene.layoutText(pass: pass)
        var p = Prepared(pass: pass, first: first, layoutText: layoutText)
        guard let t = pass.tensorTrace else { return p }
        func widest(_ texts: [String], _ size: Double) -> Double {
            texts.map { text.measure(Typography.picture($0), size: size).width }.max() ?? 0
        }
        func panel(_ id: NodeID, captions: [String]) -> Heatmap.Panel {
            let (numbers, stats) = Heatmap.panelTexts(node: id, trace: t, all: style.allCells)
            return Heatmap.Panel(shape: t.graph[id].value.shape, numberWidth: widest(numbers, Heatmap.cellFontSize),
                                 statsWidth: widest(stats, Heatmap.statsFontSize), captionWidth: widest(["value"] + captions, Heatmap.cellFontSize),
                                 all: style.allCells)
        }
        for (k, n) in first.nodes.enumerated() { p.panels[n.id] = panel(n.id, captions: layoutText.nodes[k][2]) }
        // Fused chains: each step a row with its own panel, sized from the final state (every ledger shown).
        if first.nodes.contains(where: { !($0.tensor?.rows.isEmpty ?? true) }) {
            let last = Scene(pass: pass, step: pass.stepCount)
            for (k, n) in last.nodes.enumerated() {
                guard let steps = n.tensor?.rows, !steps.isEmpty else { continue }
                let rowPanels = steps.map { panel($0.id, captions: ["grad pending", $0.panel.gradLabel] + ($0.id == n.id ? layoutText.nodes[k][2] : [])) }
                let params = n.tensor?.side ?? []
                let side = params.map { r in
                    (row: steps.firstIndex { $0.id == r.feeds } ?? steps.count - 1, panel: panel(r.id, captions: ["grad pending", r.panel.gradLabel]),
                     title: r.title + "  " + Tensor.text(shape: r.panel.shape), ledger: r.lines)
                }
                p.rows[n.id] = Heatmap.Rows(panels: rowPanels, titles: layoutText.nodes[k][0],
                                            rowTitles: steps.map { $0.title + "  " + Tensor.text(shape: $0.panel.shape) },
                                            ledgers: steps.dropLast().map(\.lines), style: style, text: text, padX: 10, padY: 6, side: side)
                p.ledgers += steps.flatMap(\.lines) + params.flatMap(\.lines)
            }
        }
        // Every tensor node's full-size box: on the graph, or in the focus view's panel area, where a
        // panel wider than the area (a long vector with its numbers) sets its gradient under its value.
        for (k, n) in first.nodes.enumerated() {
            if let r = p.rows[n.id] { p.fullSizes[n.id] = (r.width, r.height); p.stackedSizes[n.id] = (r.width, r.height); continue }
            guard var q = p.panels[n.id] else { continue }
            p.fullSizes[n.id] = Diagram.panelSize(q, titles: layoutText.nodes[k][0], style: style, text: text)
            q.stacked = true
            p.stackedSizes[n.id] = Diagram.panelSize(q, titles: layoutText.nodes[k][0], style: style, text: text)
        }
        return p
    }

    /// Above this many drawn nodes `auto` estimates the direction instead of laying out both.
    static let autoLayoutLimit = 150

    /// The direction whose picture is estimated nearer a page's shape, from the ranks a layered
    /// layout would make (typical box and label sizes). O(nodes + edges).
    static func estimatedDirection(_ scene: Scene, limit: Double) -> RenderStyle.RankDir {
        var index: [NodeID: Int] = [:]
        for (k, n) in scene.nodes.enumerated() { index[n.id] = k }
        var rank = [Int](repeating: 0, count: scene.nodes.count)
        // Scene edges are listed by consumer in creation (topological) order.
        for e in scene.edges {
            if let a = index[e.from], let b = index[e.to] { rank[b] = max(rank[b], rank[a] + 1) }
        }
        let ranks = Double((rank.max() ?? 0) + 1)
        var perRank: [Int: Int] = [:]
        for r in rank { perRank[r, default: 0] += 1 }
        let widest = Double(perRank.values.max() ?? 1)
        func score(_ w: Double, _ h: Double) -> Double { (w > limit ? 10 + w / limit : 0) + Swift.abs(log(w / max(h, 1) / (4.0 / 3.0))) }
        let lr = score(ranks * 300, widest * 80), tb = score(widest * 170, ranks * 130)
        return tb < lr ? .TB : .LR
    }

    /// Measures the texts for `style` and lays the graph out in its direction; split by module with
    /// `style.bands` (nil when the graph has no two modules to split it into, see ``Bands``).
    private static func lay(pass: Pass, style: RenderStyle, title: String?, text: TextEngine, first: Scene,
                            layoutText: (nodes: [[[String]]], edges: [[String]]), panels: [NodeID: Heatmap.Panel] = [:],
                            rows: [NodeID: Heatmap.Rows] = [:], scales: Heatmap.Scales? = nil) throws(RenderError) -> (Metrics, Layout)? {
        let nodeLine = text.lineHeight(size: style.nodeFontSize)
        let edgeLine = text.lineHeight(size: style.edgeFontSize)
        let titleLine = text.lineHeight(size: style.titleFontSize)
        let captionLine = text.lineHeight(size: style.edgeFontSize + 1)
        var m = Metrics(nodeLine: nodeLine, edgeLine: edgeLine, titleLine: titleLine, captionLine: captionLine,
                        legendWidth: DrawingBuilder.legendWidth(pass: pass, style: style, text: text), headerHeight: 0, footerHeight: 0)
        m.headerHeight = (title?.isEmpty == false) ? titleLine + 10 : 0
        let legendRows = DrawingBuilder.legendEntries(pass: pass, style: style).isEmpty ? 0.0 : captionLine + 6
        m.footerHeight = captionLine + 8 + legendRows + (style.colorByGradient ? 2 * captionLine + 8 : 0) + 4
        if style.colorByGradient {
            m.legendWidth = max(m.legendWidth, DrawingBuilder.colorBarWidth(pass: pass, style: style, text: text))
        }
        if let scales {
            m.footerHeight += captionLine + 10
            m.legendWidth = max(m.legendWidth, DrawingBuilder.tensorLegendWidth(style: style, text: text, scales: scales))
        }
        let (nodeTexts, edgeTexts) = layoutText
        let visible = first.nodes.map(\.id)
        let graph = pass.structure
        var index = [Int](repeating: -1, count: graph.count)
        for (k, id) in visible.enumerated() { index[id] = k }
        var sizes: [(width: Double, height: Double)] = []
        for (k, lines) in nodeTexts.enumerated() {
            if let r = rows[visible[k]], !style.outline {
                sizes.append((r.width, r.height))
                continue
            }
            if let p = panels[visible[k]], !style.outline {
                // A tensor node: the title, the grids, and the small captions and stats lines.
                sizes.append(panelSize(p, titles: lines[0], style: style, text: text, metrics: m))
                continue
            }
            var w = 0.0
            if style.outline, let shape = first.nodes[k].tensor?.shape {
                // The focus view's map: the name, then the shape and the gradient's size.
                for c in lines[0] { w = max(w, text.measure(Typography.picture(Scene.outlineTensorTitle(c)), size: style.nodeFontSize, bold: true).width) }
                for c in lines[2] + ["", "grad ‖88.888‖"] {
                    w = max(w, text.measure(Typography.picture(Scene.outlineTensorLine(shape: shape, gradText: c)), size: style.edgeFontSize).width)
                }
                // The parameters drawn beside it: a line each (see ``Scene/outlineLines(_:)``).
                let side = first.nodes[k].tensor?.side ?? []
                for r in side {
                    for c in ["", "grad ‖88.888‖", "grad pending", r.panel.gradLabel] {
                        w = max(w, text.measure(Typography.picture(Scene.outlineSideLine(r, gradText: c)), size: style.edgeFontSize).width)
                    }
                }
                sizes.append((w + 2 * m.nodePadX + 6, nodeLine + Double(1 + side.count) * edgeLine + 2 * m.nodePadY))
                continue
            }
            if style.outline {
                for c in lines[0] {
                    let title = style.bands ? Bands.name(c) : Scene.outlineTitle(c)
                    w = max(w, text.measure(Typography.picture(title), size: style.nodeFontSize, bold: true).width)
                }
                for c in lines[2] { w = max(w, text.measure(Typography.picture(Scene.outlineGrad(c)), size: style.nodeFontSize).width) }
                sizes.append((w + 2 * m.nodePadX + 6, 2 * nodeLine + 2 * m.nodePadY))
                continue
            }
            for (slot, candidates) in lines.enumerated() {
                for c in candidates { w = max(w, text.measure(Typography.picture(c), size: style.nodeFontSize, bold: slot == 0).width) }
            }
            sizes.append((w + 2 * m.nodePadX + 6, 3 * nodeLine + 2 * m.nodePadY))
        }
        var edges: [(from: Int, to: Int, labelWidth: Double, labelHeight: Double)] = []
        for (k, e) in first.edges.enumerated() {
            let lines = style.outline ? [] : EdgeLabel.lines(edgeTexts[k], style: style, whole: pass.rules.wholeLedgers)
            var w = 0.0, h = 0.0
            for l in lines {
                w = max(w, text.measure(Typography.picture(l.text), size: l.size, bold: l.emphasis).width)
                h += text.lineHeight(size: l.size)
            }
            if !lines.isEmpty, let shape = e.contributionShape {
                // The contribution's thumbnail sits right of the text (a tall label would lengthen the spine).
                let thumb = Heatmap.thumbSize(shape)
                w += DrawingBuilder.thumbGap + thumb.width
                h = max(h, thumb.height + 2)
            }
            // A little slack for viewers that set text a shade wider (SVG pins runs to Pango's widths).
            edges.append((index[e.from], index[e.to], lines.isEmpty ? 0 : w * 1.02 + 2 * m.labelPad + 2, lines.isEmpty ? 0 : h + 2 * m.labelPad))
        }
        var request = LayoutRequest(nodeSizes: sizes, edges: edges, rankdir: style.rankdir)
        request.tight = style.tight || pass.rules.spine  // a network's spine is long: keep its ranks close, and straight
        if pass.rules.spine { request.spine = Diagram.spine(first, index: index) }
        if style.clusters, !pass.isCollapsed { request.clusters = Diagram.clusters(graph: graph, output: pass.output, visible: visible) }
        // A module expanded in a collapsed view (the player's expand in place) is boxed, with its name.
        if let view = pass.tensorTrace?.collapse, !view.expanded.isEmpty {
            request.clusters = view.expanded.map { m in (m.name, m.members.compactMap { $0 < index.count && index[$0] >= 0 ? index[$0] : nil }) }
        }
        request.repeats = Diagram.repeats(graph: graph, visible: visible)
        guard style.bands else { return (m, try Graphviz.shared.layout(request)) }
        // Split by module (the last rung): bands within the width, each edge drawn from its node or its proxy.
        guard !pass.isCollapsed else { return nil }
        let ends = edges.map { (from: $0.from, to: $0.to) }
        let banded = try Bands.layout(request, units: { members, depth in
            Bands.units(graph: graph, output: pass.output, visible: visible, members: members, depth: depth, edges: ends)
        }, limit: (style.maxWidth ?? 900) - 2 * m.margin, proxySize: { k in
            // A small box: the node's name after an arrow, and its gradient (a tensor's shape and gradient size).
            var w = 0.0
            let lines = nodeTexts[k]
            for c in lines[0] { w = max(w, text.measure(Typography.picture(Bands.proxyTitle(c, above: true)), size: style.nodeFontSize, bold: true).width) }
            if let t = pass.tensorTrace {
                let shape = t.graph[visible[k]].value.shape
                for c in lines[2] + ["", "grad ‖88.888‖"] {
                    w = max(w, text.measure(Typography.picture(Scene.outlineTensorLine(shape: shape, gradText: c)), size: style.edgeFontSize).width)
                }
                return (w + 2 * m.nodePadX + 6, nodeLine + edgeLine + 2 * m.nodePadY)
            }
            for c in lines[1] + lines[2] { w = max(w, text.measure(Typography.picture(Scene.outlineGrad(c)), size: style.nodeFontSize).width) }
            return (w + 2 * m.nodePadX + 6, 2 * nodeLine + 2 * m.nodePadY)
        }, lay: { r throws(RenderError) in try Graphviz.shared.layout(r) })
        return banded.map { (m, $0) }
    }

    /// A tensor node's full-size box: its title (the widest of `titles`), shape line, and the value
    /// and gradient heatmaps side by side.
    static func panelSize(_ p: Heatmap.Panel, titles: [String], style: RenderStyle, text: TextEngine,
                          metrics: Metrics? = nil) -> (width: Double, height: Double) {
        let padX = metrics?.nodePadX ?? 10, padY = metrics?.nodePadY ?? 6
        var w = p.width
        for c in titles { w = max(w, text.measure(Typography.picture(c), size: style.nodeFontSize, bold: true).width) }
        return (w + 2 * padX + 6, p.height(nodeLine: text.lineHeight(size: style.nodeFontSize), smallLine: text.lineHeight(size: Heatmap.cellFontSize), pad: padY))
    }

    /// The number of steps (frames are 0…stepCount).
    public var stepCount: Int { pass.stepCount }

    /// The scene of one step; `summary` draws the last step as the final state (nothing active).
    public func scene(step: Int, summary: Bool = false) -> Scene {
        Scene(pass: pass, step: step, title: title, summary: summary)
    }

    /// The canvas size in points (every step has the same).
    public var canvasSize: (width: Double, height: Double) {
        let m = metrics
        let w = m.canvasWidth(graphWidth: layout.graphWidth)
        return (w.rounded(.up), (layout.graphHeight + 2 * m.margin + m.headerHeight + m.focusHeight + m.footerHeight).rounded(.up))
    }

    /// How far the caption and legend of the frame showing `scene` move up from the foot of the canvas: the
    /// focus view's area is as tall as the step with the most panels (every frame keeps one canvas), and a
    /// step with fewer panels has its caption right under them, its spare room below the legend. 0 without
    /// a focus view.
    func footerLift(_ scene: Scene) -> Double {
        guard let f = focus else { return 0 }
        return max(0, f.height - f.usedHeight(f.panelScene(for: scene))).rounded(.down)
    }

    /// The diagram a single picture of one step is drawn with: the same layout, its canvas as tall as that
    /// step needs (a focus view's panel area sized to the step's own panels). Animations keep one canvas
    /// for every frame; `gradtrace render --step K` and a fence's `step=K` draw with this.
    public func still(step: Int, summary: Bool = false) -> Diagram {
        guard let f = focus else { return self }
        var d = self
        let used = f.height - footerLift(scene(step: step, summary: summary))
        d.focus?.height = used
        d.metrics.focusHeight = FocusView.top + used + FocusView.bottom
        return d
    }

    /// Pixel size of a PNG at `scale`.
    public func pixelSize(scale: Double) -> (width: Int, height: Int) {
        let c = canvasSize
        return (Int((c.width * scale).rounded(.up)), Int((c.height * scale).rounded(.up)))
    }

    /// The largest scale ≤ `wanted` at which the PNG stays within Cairo's 32,767-pixel limit and
    /// a sane pixel budget (`maxPixels`).
    public func fittingScale(_ wanted: Double, maxSide: Double = Double(RasterLimits.maxSide), maxPixels: Double = RasterLimits.renderPixels) -> Double {
        let c = canvasSize
        var s = wanted
        s = min(s, maxSide / c.width, maxSide / c.height)
        s = min(s, (maxPixels / (c.width * c.height)).squareRoot())
        return s
    }

    /// The scale of an animation's frames (GIF, APNG): `wanted`, or by default 2 pixels per point as
    /// still PNGs, lowered to fit the frame budget (``RasterLimits/framePixels``, ``RasterLimits/animationSide``).
    public func animationScale(_ wanted: Double? = nil) -> Double {
        wanted ?? fittingScale(2, maxSide: RasterLimits.animationSide, maxPixels: RasterLimits.framePixels)
    }

    /// Draws one step in a format. PNG, SVG and PDF bytes are the same on every run.
    public func render(step: Int, format: Format, summary: Bool = false) throws(RenderError) -> [UInt8] {
        try Painter(diagram: self).render(scene(step: step, summary: summary), format: format)
    }

    /// The drawing of one step: what every backend replays (SVG, PNG, PDF).
    public func drawing(step: Int, summary: Bool = false) -> Drawing {
        DrawingBuilder(diagram: self).drawing(scene(step: step, summary: summary))
    }

    /// Seconds spent encoding step `step` as PNG, drawing excluded (for benchmarks).
    public func pngEncodeTime(step: Int, scale: Double, compression: Int32) throws(RenderError) -> Double {
        try Painter(diagram: self).encodeTime(scene(step: step), scale: scale, compression: compression)
    }

    /// DOT text of one step; `pinned` adds the shared layout as `pos` attributes. A graph split by module
    /// (``Bands``) is always pinned, with its proxies: `dot` cannot stack bands, `neato -n2` redraws them.
    public func dot(step: Int, pinned: Bool, summary: Bool = false) -> String {
        let s = scene(step: step, summary: summary)
        let clusters = style.clusters && !pass.isCollapsed
            ? Diagram.clusters(graph: structure, output: pass.output, visible: s.nodes.map(\.id)) : []
        return s.dot(style: style, layout: pinned || !layout.bands.isEmpty ? layout : nil, colorScale: colorScale, clusters: clusters).text
    }
}

extension Diagram {
    /// The longest path into the output (by ranks), as node indices: drawn as a straight line, with
    /// the parameters that join it set beside it, so a network does not drift sideways layer by layer.
    static func spine(_ scene: Scene, index: [Int]) -> [Int] {
        var depth = [Int](repeating: 0, count: scene.nodes.count)
        var best = [Int](repeating: -1, count: scene.nodes.count)
        for e in scene.edges {   // listed by consumer in creation (topological) order
            let a = index[e.from], b = index[e.to]
            guard a >= 0, b >= 0 else { continue }
            if depth[a] + 1 > depth[b] || best[b] < 0 { if depth[a] + 1 >= depth[b] { depth[b] = depth[a] + 1; best[b] = a } }
        }
        guard let out = scene.nodes.firstIndex(where: \.isOutput) else { return [] }
        var path = [out]
        var k = out
        while best[k] >= 0 { k = best[k]; path.append(k) }
        return path
    }

    /// Repeated blocks, to be drawn lined up: modules whose names differ only in a number (`block0`,
    /// `block1`; `layers.0`, `layers.1`; neurons `l1.n0`, `l1.n1`) and whose drawn named nodes have the
    /// same names inside them. Each result lists the drawn nodes (indices into `visible`) that
    /// correspond across the blocks (`block0.fc`, `block1.fc`, …) in block order, and whether each block
    /// reads the one before (`stacked`: one under the other) or not (side by side, as neurons).
    /// Cost: O(nodes + edges) per family of blocks.
    ///
    /// ```swift
    /// // block0.fc, block0.act, block1.fc, block1.act (block1 reads block0):
    /// Diagram.repeats(graph: g, visible: ids)   // [([0, 2], true), ([1, 3], true)]
    /// ```
    public static func repeats(graph: any GraphStructure, visible: [NodeID]) -> [(nodes: [Int], stacked: Bool)] {
        // family key (prefix + stem) → block number → (name inside the block → drawn index)
        var families: [String: [Int: [String: Int]]] = [:]
        var familyOrder: [String] = []
        var insideOrder: [String: [String]] = [:]
        for (k, id) in visible.enumerated() {
            guard let name = graph.name(of: id) else { continue }
            let levels = Grouping.levels(of: name)
            // Every numbered level is a block of a family (`l1` of the layers, `n0` of l1's neurons); a node named
            // as the block itself (`l1.n0`, the neuron's output) is the block's own node, inside name "".
            for i in 0..<levels.count {
                let part = levels[i]
                let digits = part.reversed().prefix { $0.isASCII && $0.isNumber }.count
                guard digits > 0, digits < part.count, digits <= 6, let number = Int(part.suffix(digits)) else { continue }
                let stem = part.dropLast(digits)
                let key = levels[..<i].joined(separator: ".") + "|" + stem
                let inside = i + 1 < levels.count ? levels[(i + 1)...].joined(separator: ".") : ""
                if families[key] == nil { familyOrder.append(key) }
                if families[key, default: [:]][number, default: [:]].updateValue(k, forKey: inside) == nil {
                    if !(insideOrder[key]?.contains(inside) ?? false) { insideOrder[key, default: []].append(inside) }
                }
            }
        }
        var result: [(nodes: [Int], stacked: Bool)] = []
        var position = [Int](repeating: -1, count: graph.count)
        for (k, id) in visible.enumerated() where id < graph.count { position[id] = k }
        // Outer families first; a node lines up in one family only (the outermost whose blocks are the same shape).
        var used = [Bool](repeating: false, count: visible.count)
        familyOrder = familyOrder.enumerated().sorted { ($0.element.split(separator: "|")[0].count, $0.offset) < ($1.element.split(separator: "|")[0].count, $1.offset) }.map(\.element)
        for key in familyOrder {
            let blocks = families[key]!
            guard blocks.count >= 2 else { continue }
            let numbers = blocks.keys.sorted()
            let shape = Set(blocks[numbers[0]]!.keys)
            // Modules (something inside, not just numbered names such as x0, x1), all of the same shape: the same names.
            guard shape.contains(where: { !$0.isEmpty }), numbers.allSatisfy({ Set(blocks[$0]!.keys) == shape }) else { continue }
            // Which block each node belongs to (position in `numbers`), and the latest block each node depends on.
            var blockOf = [Int](repeating: -1, count: graph.count)
            for (b, n) in numbers.enumerated() { for k in blocks[n]!.values { blockOf[visible[k]] = b } }
            var latest = [Int](repeating: -1, count: graph.count)
            var stacked = false
            for id in 0..<graph.count {
                var l = -1
                for i in graph.inputs(of: id) where i < id {
                    l = max(l, latest[i])
                    if blockOf[id] >= 0, latest[i] >= 0, latest[i] < blockOf[id] { stacked = true }
                }
                latest[id] = max(l, blockOf[id])
            }
            var chains: [[Int]] = []
            for inside in insideOrder[key]! {
                let chain = numbers.map { blocks[$0]![inside]! }
                if chain.contains(where: { used[$0] }) { continue }
                for k in chain { used[k] = true }
                chains.append(chain)
            }
            // Stacked blocks: unnamed operations (`q @ kᵀ`, its `/ 2`) correspond too when corresponding nodes read
            // them at the same operand, followed input by input.
            var next = 0
            while stacked && next < chains.count {
                let chain = chains[next]
                next += 1
                let inputs = chain.map { graph.inputs(of: visible[$0]) }
                guard inputs.allSatisfy({ $0.count == inputs[0].count }) else { continue }
                for operand in inputs[0].indices {
                    let found = inputs.map { position[$0[operand]] }
                    guard found.allSatisfy({ $0 >= 0 }) else { continue }
                    let ks = found
                    guard ks.allSatisfy({ !used[$0] && graph.name(of: visible[$0]) == nil }), Set(ks).count == ks.count else { continue }
                    for k in ks { used[k] = true }
                    chains.append(ks)
                }
            }
            for chain in chains { result.append((chain, stacked)) }
        }
        return result
    }

    /// Neuron and layer clusters from dotted names: a layer `l1` is boxed when drawn nodes are
    /// named `l1.…`, a neuron `l1.n2` when they are named `l1.n2.…` (statement and stem groups are not boxed).
    ///
    /// Tensor programs box their modules the same way: `attn.q.weight` sits in `attn.q`, inside `attn`
    /// (the node named `attn.q` too: a plain statement name gathers its unnamed parts).
    public static func clusters(graph: any GraphStructure, output: NodeID, visible: [NodeID]) -> [(name: String, members: [Int])] {
        var result: [(name: String, members: [Int])] = []
        for level in [Grouping.Level.layer, .neuron] {
            let groups = Grouping(graph: graph, output: output, level: level)
            var members: [String: [Int]] = [:]
            var order: [String] = []
            for (k, id) in visible.enumerated() {
                guard let name = groups.groupOf[id] else { continue }
                if members[name] == nil { order.append(name) }
                members[name, default: []].append(k)
            }
            for name in order {
                let ms = members[name]!
                let dotted = ms.contains { graph.name(of: visible[$0])?.hasPrefix(name + ".") ?? false }
                if dotted && ms.count > 1 { result.append((name, ms)) }
            }
        }
        return result
    }
}

/// The final derivative of every drawn node.
public func visibleDerivatives(pass: Pass) -> [Double] {
    let all = pass.finalDerivatives
    return Scene(pass: pass, step: 0).nodes.map { all[$0.id] }
}

/// Maps log₁₀|derivative| onto a colour-blind-safe sequential palette (viridis), so vanishing
/// and exploding gradients stand out. Zero maps to the bottom of the scale.
public struct ColorScale: Sendable {
    /// Decades covered: log₁₀ of the smallest and largest non-zero magnitudes.
    public let low: Double
    public let high: Double

    /// The scale spanning the given derivatives (zeros and non-finite values are left out of the range).
    public init(derivatives values: [Double]) {
        let logs = values.filter { $0.isFinite && $0 != 0 }.map { Swift.abs($0) }.map { log10($0) }
        var lo = logs.min() ?? 0, hi = logs.max() ?? 0
        lo = lo.rounded(.down)
        hi = hi.rounded(.up)
        if hi - lo < 1 { hi = lo + 1 }
        low = lo
        high = hi
    }

    /// The position of a value on the scale, 0…1.
    public func position(_ v: Double) -> Double {
        guard v.isFinite, v != 0 else { return 0 }
        return min(1, max(0, (log10(Swift.abs(v)) - low) / (high - low)))
    }

    /// Tick positions (decades), at most seven.
    public var ticks: [Double] {
        let span = Int(high - low)
        let every = max(1, (span + 5) / 6)
        return stride(from: Int(low), through: Int(high), by: every).map(Double.init)
    }

    /// The colour of a value.
    public func color(_ v: Double) -> RGB { ColorScale.viridis(position(v)) }

    /// Viridis, sampled at nine stops and interpolated linearly.
    public static func viridis(_ t: Double) -> RGB {
        RGB.interpolate([0x440154, 0x472D7B, 0x3B528B, 0x2C728E, 0x21918C, 0x28AE80, 0x5EC962, 0xADDC30, 0xFDE725], at: t)
    }
}

extension RGB {
    /// The colour at `t` (0…1, clamped) along evenly spaced stops, interpolated linearly: every palette's one rule.
    static func interpolate(_ stops: [UInt32], at t: Double) -> RGB {
        let x = min(1, max(0, t)) * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(x))
        let f = x - Double(i)
        let a = RGB(stops[i]), b = RGB(stops[i + 1])
        var c = a
        c.r = a.r + (b.r - a.r) * f
        c.g = a.g + (b.g - a.g) * f
        c.b = a.b + (b.b - a.b) * f
        return c
    }
}
