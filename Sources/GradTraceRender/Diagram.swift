import GradTrace

/// A traced graph ready to draw: its style and its one layout, shared by every step.
///
/// ```swift
/// let d = try Diagram(graph: p.graph, trace: t, style: RenderStyle())
/// let png = try d.render(step: d.stepCount, format: .png(scale: 2))
/// ```
public struct Diagram: Sendable {
    public let graph: Graph
    public let trace: Trace
    public let style: RenderStyle
    public let title: String?
    /// The layout, made from the widest text any step shows.
    public let layout: Layout
    /// Measured text metrics the painter reuses.
    let metrics: Metrics

    struct Metrics: Sendable {
        var nodeLine: Double
        var edgeLine: Double
        var titleLine: Double
        var captionLine: Double
        var margin: Double = 16
        var nodePadX: Double = 10
        var nodePadY: Double = 6
        var labelPad: Double = 3
        var legendWidth: Double
        var headerHeight: Double
        var footerHeight: Double
    }

    /// Output formats of ``render(step:format:)``.
    public enum Format: Sendable, Hashable {
        case png(scale: Double)
        case svg
        case pdf
    }

    /// Measures every text the pass will show, and lays the graph out once. Cost: Graphviz's layout
    /// plus O(nodes + edges) text measurements.
    public init(graph: Graph, trace: Trace, style: RenderStyle, title: String? = nil) throws(RenderError) {
        self.graph = graph
        self.trace = trace
        self.style = style
        self.title = title
        let text = TextEngine(family: style.fontFamily)
        let nodeLine = text.lineHeight(size: style.nodeFontSize)
        let edgeLine = text.lineHeight(size: style.edgeFontSize)
        let titleLine = text.lineHeight(size: style.titleFontSize)
        let captionLine = text.lineHeight(size: style.edgeFontSize + 1)
        let legendWidth = Painter.legendWidth(text: text, style: style)
        var m = Metrics(nodeLine: nodeLine, edgeLine: edgeLine, titleLine: titleLine, captionLine: captionLine,
                        legendWidth: legendWidth, headerHeight: 0, footerHeight: 0)
        m.headerHeight = (title?.isEmpty == false) ? titleLine + 10 : 0
        m.footerHeight = 2 * captionLine + 14

        let (nodeTexts, edgeTexts) = Scene.layoutText(graph: graph, trace: trace)
        let visible = Scene(graph: graph, trace: trace, step: 0).nodes.map(\.id)
        var index = [Int](repeating: -1, count: graph.count)
        for (k, id) in visible.enumerated() { index[id] = k }
        var sizes: [(width: Double, height: Double)] = []
        for lines in nodeTexts {
            var w = 0.0
            for (slot, candidates) in lines.enumerated() {
                for c in candidates { w = max(w, text.measure(c, size: style.nodeFontSize, bold: slot == 0).width) }
            }
            sizes.append((w + 2 * m.nodePadX + 6, 3 * nodeLine + 2 * m.nodePadY))
        }
        let structure = Scene(graph: graph, trace: trace, step: 0).edges
        var edges: [(from: Int, to: Int, labelWidth: Double, labelHeight: Double)] = []
        for (k, e) in structure.enumerated() {
            let lines = edgeTexts[k]
            var w = 0.0
            for (i, l) in lines.enumerated() { w = max(w, text.measure(l, size: style.edgeFontSize, bold: i == 1).width) }
            let h = lines.isEmpty ? 0 : Double(lines.count) * edgeLine + 2 * m.labelPad
            edges.append((index[e.from], index[e.to], lines.isEmpty ? 0 : w + 2 * m.labelPad, h))
        }
        self.metrics = m
        self.layout = try Graphviz.shared.layout(LayoutRequest(nodeSizes: sizes, edges: edges, rankdir: style.rankdir))
    }

    /// The number of backward steps (frames are 0…stepCount).
    public var stepCount: Int { trace.steps.count }

    /// The scene of one step; `summary` draws the last step as the final state (nothing active).
    public func scene(step: Int, summary: Bool = false) -> Scene {
        Scene(graph: graph, trace: trace, step: step, title: title, summary: summary)
    }

    /// The canvas size in points (every step has the same).
    public var canvasSize: (width: Double, height: Double) {
        let m = metrics
        let w = max(layout.graphWidth + 2 * m.margin, m.legendWidth + 2 * m.margin)
        return (w.rounded(.up), (layout.graphHeight + 2 * m.margin + m.headerHeight + m.footerHeight).rounded(.up))
    }

    /// Pixel size of a PNG at `scale`.
    public func pixelSize(scale: Double) -> (width: Int, height: Int) {
        let c = canvasSize
        return (Int((c.width * scale).rounded(.up)), Int((c.height * scale).rounded(.up)))
    }

    /// The largest scale ≤ `wanted` at which the PNG stays within Cairo's 32,767-pixel limit and
    /// a sane pixel budget (`maxPixels`).
    public func fittingScale(_ wanted: Double, maxSide: Double = 32767, maxPixels: Double = 120_000_000) -> Double {
        let c = canvasSize
        var s = wanted
        s = min(s, maxSide / c.width, maxSide / c.height)
        s = min(s, (maxPixels / (c.width * c.height)).squareRoot())
        return s
    }

    /// Draws one step in a format. PNG, SVG and PDF bytes are the same on every run.
    public func render(step: Int, format: Format, summary: Bool = false) throws(RenderError) -> [UInt8] {
        try Painter(diagram: self).render(scene(step: step, summary: summary), format: format)
    }

    /// DOT text of one step; `pinned` adds the shared layout as `pos` attributes.
    public func dot(step: Int, pinned: Bool, summary: Bool = false) -> String {
        scene(step: step, summary: summary).dot(style: style, layout: pinned ? layout : nil).text
    }
}
