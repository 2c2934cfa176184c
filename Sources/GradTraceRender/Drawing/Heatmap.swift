import Foundation
import GradTrace

/// The drawing rules of tensor pictures, in one place: how a tensor becomes a grid of cells, the
/// diverging palette, cell sizes, the node panel's geometry, edge thumbnails and the two scale bars.
enum Heatmap {
    /// Up to this many elements (a 4×4 hidden layer), the numbers are written in the cells.
    static let numbersUpTo = 16
    /// A grid shows at most this many cells per side (larger tensors are shown as block means).
    static let maxCells = 24
    /// Font size of numbers in cells and of the panel's small captions.
    static let cellFontSize = 8.5
    /// Font size of the stats line under a grid too large for numbers.
    static let statsFontSize = 8.0
    static let numberCellHeight = 14.0
    /// An edge thumbnail is at most this wide or tall, in points, and this many cells a side.
    static let thumbMax = 64.0
    static let thumbCells = 16

    /// The two symmetric scales of a tensor picture: values, and gradients (which are often orders smaller).
    struct Scales: Sendable, Hashable {
        var value: Double
        var grad: Double

        init(trace t: TensorTrace) {
            var v = 0.0, g = 0.0
            for n in t.graph.nodes where n.op != .constant { for x in n.value.data where x.isFinite { v = max(v, Swift.abs(x)) } }
            for tensor in t.gradients { for x in tensor.data where x.isFinite { g = max(g, Swift.abs(x)) } }
            for e in t.edges where !e.isLabels {
                for x in e.accumulated.data where x.isFinite { g = max(g, Swift.abs(x)) }
                for x in e.contribution.data where x.isFinite { g = max(g, Swift.abs(x)) }
            }
            value = v > 0 ? v : 1
            grad = g > 0 ? g : 1
        }
    }

    /// A tensor seen as a matrix: rank 0 and 1 as one row, rank 3 and 4 with the leading axes stacked as rows.
    static func matrixShape(_ shape: [Int]) -> (rows: Int, cols: Int) {
        switch shape.count {
        case 0: return (1, 1)
        case 1: return (1, shape[0])
        default: return (shape.dropLast().reduce(1, *), shape[shape.count - 1])
        }
    }

    /// The grid drawn for a shape: cells per side after block-averaging.
    static func gridShape(_ shape: [Int], maxCells: Int = Heatmap.maxCells) -> (rows: Int, cols: Int) {
        let (r, c) = matrixShape(shape)
        return (min(r, maxCells), min(c, maxCells))
    }

    /// The cell values of the grid (block means when the tensor is larger than the grid).
    static func cells(_ t: Tensor, maxCells: Int = Heatmap.maxCells) -> [Double] {
        let (r, c) = matrixShape(t.shape)
        let (gr, gc) = gridShape(t.shape, maxCells: maxCells)
        if gr == r && gc == c { return t.data }
        var out = [Double](repeating: 0, count: gr * gc)
        for i in 0..<gr {
            let r0 = i * r / gr, r1 = (i + 1) * r / gr
            for j in 0..<gc {
                let c0 = j * c / gc, c1 = (j + 1) * c / gc
                var s = 0.0
                for y in r0..<r1 { for x in c0..<c1 { s += t.data[y * c + x] } }
                out[i * gc + j] = s / Double((r1 - r0) * (c1 - c0))
            }
        }
        return out
    }

    /// The number written in a cell of a tensor whose largest magnitude is `scale`: rounding noise
    /// (within 1e-12 of `scale`) reads 0.
    static func cellText(_ x: Double, scale: Double) -> String { NumberFormat.short(NumberFormat.denoised(x, scale: scale), digits: 3) }

    /// Whether a tensor of `count` elements has its numbers written in its cells (`all`: `--cells all`).
    static func writesNumbers(count: Int, all: Bool) -> Bool { all || count <= numbersUpTo }

    /// Cell size of a node's grids: wide enough for its widest number, or small squares for big tensors.
    static func cellSize(shape: [Int], numberWidth: Double, all: Bool = false) -> (width: Double, height: Double) {
        let count = shape.reduce(1, *)
        if writesNumbers(count: count, all: all) { return (max(24, numberWidth + 6), numberCellHeight) }
        let (r, c) = gridShape(shape)
        let side = min(12, max(5, 150 / Double(max(r, c))))
        return (side, side)
    }

    /// Thumbnail cell size for an edge's contribution.
    static func thumbCell(_ shape: [Int]) -> Double {
        let (r, c) = gridShape(shape, maxCells: thumbCells)
        return min(8, max(3, thumbMax / Double(max(r, c))))
    }

    static func thumbSize(_ shape: [Int]) -> (width: Double, height: Double) {
        let (r, c) = gridShape(shape, maxCells: thumbCells)
        let s = thumbCell(shape)
        return (Double(c) * s, Double(r) * s)
    }

    /// The layout of a tensor node: the title and shape lines, then the value and the gradient side
    /// by side, each in a column with its caption above its grid (and its stats line under it for
    /// tensors too large for numbers). Side by side keeps a network's long spine short.
    struct Panel: Sendable {
        var cell: (width: Double, height: Double)
        var grid: (rows: Int, cols: Int)
        var showsStats: Bool
        /// The widest stats line the panel shows (0 when it shows numbers).
        var statsWidth: Double
        /// The width of each of the two columns (value, gradient): the grid, its caption or its stats line.
        var column: Double
        /// Numbers are written in the cells (else colours and a stats line).
        var numbers: Bool
        /// The grid's cells a side at most (larger tensors are shown as block means).
        var maxCells: Int
        /// The value above the gradient instead of beside it (a panel too wide for the focus view's area).
        var stacked = false
        /// The gap between the two columns.
        static let gap = 10.0
        var gridWidth: Double { Double(grid.cols) * cell.width }
        var gridHeight: Double { Double(grid.rows) * cell.height }
        /// Both columns and the gap (one column when stacked).
        var width: Double { stacked ? column : 2 * column + Panel.gap }

        /// `captionWidth`: the widest caption a column shows ("value", "grad (1 of 2 arrived)", …).
        /// `all` (`--cells all`): every element in a cell of its own, with its number.
        init(shape: [Int], numberWidth: Double, statsWidth: Double, captionWidth: Double = 0, all: Bool = false) {
            maxCells = all ? Int.max : Heatmap.maxCells
            cell = Heatmap.cellSize(shape: shape, numberWidth: numberWidth, all: all)
            grid = Heatmap.gridShape(shape, maxCells: maxCells)
            numbers = Heatmap.writesNumbers(count: shape.reduce(1, *), all: all)
            showsStats = !numbers
            self.statsWidth = statsWidth
            column = max(Double(grid.cols) * cell.width, statsWidth, captionWidth)
        }

        /// Heights: title, shape line, the columns' captions, the grids, and a stats line if any.
        func height(nodeLine: Double, smallLine: Double, pad: Double) -> Double {
            pad + nodeLine + smallLine + smallLine + gridHeight + (showsStats ? smallLine : 0) + 4 + pad + rowOffset(1, smallLine: smallLine)
        }

        /// The left edge of column `k` (0 value, 1 gradient) in a node centred on `cx`.
        func columnX(_ k: Int, centre cx: Double) -> Double { cx - width / 2 + (stacked ? 0 : Double(k) * (column + Panel.gap)) }

        /// How far column `k` sits below the first (a stacked panel's gradient is under its value).
        func rowOffset(_ k: Int, smallLine: Double) -> Double {
            stacked && k == 1 ? smallLine + gridHeight + (showsStats ? smallLine : 0) + 4 : 0
        }
    }

    /// The geometry of a fused node (a chain such as `h1 = tanh(X @ W1 + b1)` drawn as one node): its
    /// title, then one framed row per step in forward order, its own last, each a name line over the
    /// value and gradient grids; under each row but the last, the vector-Jacobian product that brings
    /// its gradient back from the row below. The parameters it reads (``Scene/TensorPanel/side``) sit in a
    /// column right of the rows, each framed beside the row it feeds with its own ledger inside its frame
    /// (a row grows to hold them). One rule for the node's size and for its drawing.
    struct Rows: Sendable {
        /// Each row's panel, its top (from the node's top) and height; the lines of the ledger under it.
        var panels: [Panel]
        var tops: [Double]
        var heights: [Double]
        var ledgerLines: [Int]
        var width: Double
        var height: Double
        /// The parameters beside the rows, in the scene's order (empty: the node has none).
        var side: [Side] = []
        /// The width of the rows' frames, and of the parameters' column (0 without one).
        var rowWidth = 0.0
        var sideWidth = 0.0

        /// A parameter beside a row: the row it feeds, its frame's top (from the node's top) and height,
        /// its panel, and the lines of its ledger.
        struct Side: Sendable {
            var row: Int
            var top: Double
            var height: Double
            var panel: Panel
            var ledgerLines: Int
        }

        /// Row frames sit this far inside the node; the row's content this far inside its frame.
        static let inset = 5.0
        static let pad = 3.0
        /// The gap between the rows and the parameters' column (room for the arrow from a parameter into its row),
        /// and between two parameters beside one row.
        static let sideGap = 16.0
        static let sideSpacing = 4.0

        /// The ledger lines a row shows: the VJP formula, and the broadcast sum or detail (the shapes are the rows' own).
        static func ledger(_ lines: [String]) -> [String] { lines.enumerated().filter { $0.offset != 1 }.map(\.element) }

        /// Lays out rows of `panels` (the last the node's own) under `titles`, with `rowTitles` (one per row:
        /// name and shape) and the final `ledgers` (one per row but the last); `side`: the parameters beside
        /// row `row`, each with its panel, its title line and its final ledger.
        init(panels: [Panel], titles: [String], rowTitles: [String], ledgers: [[String]], style: RenderStyle, text: TextEngine,
             padX: Double, padY: Double, side: [(row: Int, panel: Panel, title: String, ledger: [String])] = []) {
            self.panels = panels
            let nodeLine = text.lineHeight(size: style.nodeFontSize), small = text.lineHeight(size: cellFontSize)
            let ledgerSize = Rows.ledgerSize(style), ledgerLine = text.lineHeight(size: ledgerSize)
            var w = 0.0
            for c in titles { w = max(w, text.measure(Typography.picture(c), size: style.nodeFontSize, bold: true).width) }
            // The parameters' column: each a framed box of title, grids and ledger.
            var sideW = 0.0
            var sideHeights: [Double] = []
            var stacked = [Double](repeating: 0, count: panels.count)
            for s in side {
                let lines = Rows.ledger(s.ledger)
                let h = 2 * Rows.pad + 2 * small + s.panel.gridHeight + (s.panel.showsStats ? small : 0) + 2 + Double(lines.count) * ledgerLine
                sideHeights.append(h)
                sideW = max(sideW, s.panel.width + 2 * Rows.pad, text.measure(Typography.picture(s.title), size: cellFontSize, bold: true).width + 2 * Rows.pad)
                for l in lines { sideW = max(sideW, text.measure(Typography.picture(l), size: ledgerSize, bold: true).width + 2 * Rows.pad) }
                if s.row < stacked.count { stacked[s.row] += (stacked[s.row] > 0 ? Rows.sideSpacing : 0) + h }
            }
            var y = padY + nodeLine + 2
            tops = []
            heights = []
            ledgerLines = []
            for (k, p) in panels.enumerated() {
                tops.append(y)
                let h = max(2 * Rows.pad + 2 * small + p.gridHeight + (p.showsStats ? small : 0) + 2, stacked[k])
                heights.append(h)
                y += h
                w = max(w, p.width + 2 * (Rows.inset + Rows.pad), text.measure(Typography.picture(rowTitles[k]), size: cellFontSize, bold: true).width
                        + 2 * (Rows.inset + Rows.pad))
                let lines = k < ledgers.count ? Rows.ledger(ledgers[k]) : []
                ledgerLines.append(lines.count)
                for l in lines { w = max(w, text.measure(Typography.picture("↑ " + l), size: ledgerSize, bold: true).width + 2 * Rows.inset) }
                y += k + 1 < panels.count ? Double(max(1, lines.count)) * ledgerLine + 4 : 0
            }
            width = w + 2 * padX + 6
            height = y + padY
            guard !side.isEmpty else { return }
            // Each parameter beside its row, those of one row one under another from the row's top.
            rowWidth = width - 2 * Rows.inset
            sideWidth = sideW
            width = rowWidth + Rows.sideGap + sideW + 2 * Rows.inset
            var next = tops
            for (k, s) in side.enumerated() {
                let row = min(s.row, tops.count - 1)
                self.side.append(Side(row: row, top: next[row], height: sideHeights[k], panel: s.panel, ledgerLines: Rows.ledger(s.ledger).count))
                next[row] += sideHeights[k] + Rows.sideSpacing
            }
        }

        /// The ledger's font size: the edge labels'.
        static func ledgerSize(_ style: RenderStyle) -> Double { style.edgeFontSize - 0.5 }
    }

    /// Decades a heatmap's colour spans: entries down to 1/1000 of the picture's largest still show.
    static let decades = 3.0

    /// The position of `x` on a symmetric logarithmic scale up to `scale`, −1…1: linear below
    /// `scale`/1000, logarithmic above, so gradients of 0.01 and of 5 both show in one picture (a linear
    /// scale washes the smaller ones out to white).
    static func position(_ x: Double, scale: Double) -> Double {
        guard x.isFinite, scale > 0 else { return 0 }
        let linear = scale / Foundation.pow(10, decades)
        let r = Foundation.log10(1 + Swift.abs(x) / linear) / Foundation.log10(1 + scale / linear)
        return x < 0 ? -min(1, r) : min(1, r)
    }

    /// The colour of `x` on the picture's scale.
    static func color(_ x: Double, scale: Double) -> RGB {
        guard x.isFinite else { return RGB(0x9E9E9E) }
        return color(position(x, scale: scale))
    }

    /// RdBu-style diverging palette (colour-blind safe): blue below zero, white at zero, red above; `t` in −1…1.
    static func color(_ t: Double) -> RGB {
        guard t.isFinite else { return RGB(0x9E9E9E) }
        return RGB.interpolate([0x2166AC, 0x67A9CF, 0xD1E5F0, 0xF7F7F7, 0xFDDBC7, 0xEF8A62, 0xB2182B], at: (t + 1) / 2)
    }

    /// Dark text on light cells, white on dark ones.
    static func textColor(on c: RGB) -> RGB {
        c.wantsLightText ? RGB(0xFFFFFF) : RGB(0x111111)
    }

    /// `mean 0.01 · std 0.2 · max |x| 0.5` under a grid.
    static func stats(_ t: Tensor) -> String { Report.stats(t, digits: 2, separator: " · ") }

    /// Every tensor a node's panel will ever show: its value, its final gradient, each partial sum.
    static func shownTensors(node id: NodeID, trace t: TensorTrace) -> [Tensor] {
        [t.graph[id].value, t.gradients[id]] + t.edges.filter { $0.input == id && !$0.isLabels }.map(\.accumulated)
    }

    /// Every text a node's panel will ever show under or in its grids: the numbers in the cells (up to
    /// ``numbersUpTo`` elements) or the stats lines (beyond). What sizes the panel.
    static func panelTexts(node id: NodeID, trace t: TensorTrace, all: Bool = false) -> (numbers: [String], stats: [String]) {
        let shown = shownTensors(node: id, trace: t)
        if writesNumbers(count: t.graph[id].value.count, all: all) {
            return (shown.flatMap { t in t.data.map { Heatmap.cellText($0, scale: t.maxMagnitude) } }, [])
        }
        return ([], shown.map(stats))
    }
}

extension DrawingBuilder {
    /// A grid of cells at (x, y), coloured on a symmetric scale, with the numbers written in when given.
    func gridItems(_ t: Tensor?, x: Double, y: Double, cell: (width: Double, height: Double), grid: (rows: Int, cols: Int),
                   scale: Double, numbers: Bool, maxCells: Int = Heatmap.maxCells, neutral: Bool = false, tip: String? = nil) -> [Drawing.Item] {
        var items: [Drawing.Item] = []
        let theme = diagram.style.theme
        let w = Double(grid.cols) * cell.width, h = Double(grid.rows) * cell.height
        if let t {
            let cells = Heatmap.cells(t, maxCells: maxCells)
            let largest = t.maxMagnitude
            let (rows, cols) = Heatmap.matrixShape(t.shape)
            for i in 0..<grid.rows {
                for j in 0..<grid.cols {
                    let v = cells[i * grid.cols + j]
                    let fill = neutral ? theme.labelBackground : Heatmap.color(v, scale: scale)
                    let cx = x + Double(j) * cell.width, cy = y + Double(i) * cell.height
                    var c = Drawing.Cell(x: cx, y: cy, width: cell.width, height: cell.height, fill: Drawing.Fill(color: fill))
                    if let tip {
                        // Hover text (SVG and the HTML player): which element, or block of elements, and its exact value.
                        let r0 = i * rows / grid.rows, r1 = (i + 1) * rows / grid.rows, c0 = j * cols / grid.cols, c1 = (j + 1) * cols / grid.cols
                        func span(_ a: Int, _ b: Int) -> String { b - a == 1 ? String(a) : "\(a)…\(b - 1)" }
                        let index = t.rank == 0 ? "" : t.rank == 1 ? "[\(span(c0, c1))]" : "[\(span(r0, r1)), \(span(c0, c1))]"
                        let block = r1 - r0 > 1 || c1 - c0 > 1
                        c.title = "\(tip)\(index)\(block ? " mean" : "") = \(NumberFormat.text(NumberFormat.denoised(v, scale: largest)))"
                    }
                    items.append(.cell(c))
                    if numbers {
                        items.append(run(Heatmap.cellText(v, scale: largest), x: cx + cell.width / 2, y: cy + (cell.height - text.lineHeight(size: Heatmap.cellFontSize)) / 2,
                                         size: Heatmap.cellFontSize, color: Heatmap.textColor(on: fill), centered: true, maxWidth: cell.width - 2))
                    }
                }
            }
        } else {
            // Not arrived yet: an empty, dashed grid.
            items.append(.box(Drawing.Box(x: x, y: y, width: w, height: h, radius: 0, fill: Drawing.Fill(color: theme.mutedText, opacity: 0.08),
                                          stroke: Drawing.Stroke(color: theme.mutedText, width: 0.8, dash: Self.legendDash))))
            items.append(run("?", x: x + w / 2, y: y + (h - text.lineHeight(size: Heatmap.cellFontSize)) / 2, size: Heatmap.cellFontSize,
                             color: theme.mutedText, centered: true))
            return items
        }
        items.append(.box(Drawing.Box(x: x, y: y, width: w, height: h, radius: 0, fill: nil,
                                      stroke: Drawing.Stroke(color: theme.mutedText, width: 0.6, opacity: 0.8))))
        return items
    }

    /// A tensor node's inside: title, shape, the value heatmap and the gradient heatmap with their captions
    /// (a fused node: its rows, see ``Heatmap/Rows``).
    func tensorNodeItems(_ n: Scene.NodeView, panel p: Scene.TensorPanel, box: Layout.Box, parts: NodeParts,
                         colors: (fill: RGB, text: RGB, muted: RGB)) -> [Drawing.Item] {
        if let rows = diagram.tensorRows[n.id], !p.rows.isEmpty { return fusedNodeItems(n, panel: p, rows: rows, box: box, parts: parts, colors: colors) }
        guard let index = diagram.tensorPanels[n.id] else { return [] }
        let m = diagram.metrics, fs = diagram.style.nodeFontSize
        let small = text.lineHeight(size: Heatmap.cellFontSize)
        let cx = box.x, y0 = box.y - box.height / 2
        var items: [Drawing.Item] = []
        var y = y0 + m.nodePadY
        if parts.contains(.title) {
            items.append(run(n.title, x: cx, y: y, size: fs, bold: true, color: colors.text, centered: true, maxWidth: box.width - 8))
        }
        y += m.nodeLine
        if parts.contains(.value) {
            items.append(run(Tensor.text(shape: p.shape), x: cx, y: y, size: Heatmap.cellFontSize, color: colors.muted, centered: true))
        }
        y += small
        let name = n.title.firstRange(of: " = ").map { String(n.title[..<$0.lowerBound]) } ?? n.title
        return items + panelGridItems(p, geometry: index, name: name, state: n.state, centre: cx, top: y, parts: parts, colors: colors)
    }

    /// A fused node's inside: its title, then each step as a framed row in its own state (name and
    /// shape, value and gradient), with the ledger that carries the gradient up into it under it; the
    /// parameters it reads framed beside the rows they feed, each with an arrow into its row and its ledger.
    func fusedNodeItems(_ n: Scene.NodeView, panel p: Scene.TensorPanel, rows: Heatmap.Rows, box: Layout.Box, parts: NodeParts,
                        colors: (fill: RGB, text: RGB, muted: RGB)) -> [Drawing.Item] {
        let m = diagram.metrics, theme = diagram.style.theme, fs = diagram.style.nodeFontSize
        let small = text.lineHeight(size: Heatmap.cellFontSize)
        let ledgerSize = Heatmap.Rows.ledgerSize(diagram.style), ledgerLine = text.lineHeight(size: ledgerSize)
        let x0 = box.x - box.width / 2, y0 = box.y - box.height / 2
        var items: [Drawing.Item] = []
        if parts.contains(.title) {
            items.append(run(n.title, x: box.x, y: y0 + m.nodePadY, size: fs, bold: true, color: colors.text, centered: true, maxWidth: box.width - 8))
        }
        let hasSide = !rows.side.isEmpty && !p.side.isEmpty
        let rowX = x0 + Heatmap.Rows.inset, rowW = hasSide ? rows.rowWidth : box.width - 2 * Heatmap.Rows.inset
        let cx = hasSide ? rowX + rowW / 2 : box.x
        /// One framed entry: a row, or a parameter beside one.
        func frame(_ step: Scene.TensorRow, x: Double, top: Double, width: Double, height: Double, geometry: Heatmap.Panel, centre: Double) {
            let s = theme.style(step.state)
            let rowColors = diagram.colorScale == nil ? (fill: s.fill, text: theme.text, muted: theme.mutedText) : colors
            if parts.contains(.frame) {
                items.append(.box(Drawing.Box(x: x, y: top, width: width, height: height, radius: 4,
                                              fill: diagram.colorScale == nil ? Drawing.Fill(color: s.fill) : nil,
                                              stroke: Drawing.Stroke(color: s.border, width: min(s.borderWidth, 2), dash: s.dashed ? Self.legendDash : []))))
            }
            if parts.contains(.title) {
                let label = step.title + "  " + Tensor.text(shape: step.panel.shape)
                items.append(run(label, x: x + Heatmap.Rows.pad, y: top + Heatmap.Rows.pad, size: Heatmap.cellFontSize, bold: true,
                                 color: rowColors.text, maxWidth: width - 2 * Heatmap.Rows.pad))
            }
            items += panelGridItems(step.panel, geometry: geometry, name: step.title, state: step.state, centre: centre,
                                    top: top + Heatmap.Rows.pad + small, parts: parts, colors: rowColors)
        }
        for (k, step) in p.rows.enumerated() where k < rows.panels.count {
            let top = y0 + rows.tops[k]
            frame(step, x: rowX, top: top, width: rowW, height: rows.heights[k], geometry: rows.panels[k], centre: cx)
            // The VJP into this row from the next, under it: emphasised while it runs.
            if k + 1 < p.rows.count, parts.contains(.grad) {
                var y = top + rows.heights[k] + 2
                let es = theme.style(step.edgeState)
                for line in Heatmap.Rows.ledger(step.lines) {
                    items.append(run("↑ " + line, x: rowX, y: y, size: ledgerSize, bold: step.edgeState == .active,
                                     color: step.edgeState == .active ? es.text : colors.text, maxWidth: rowW))
                    y += ledgerLine
                }
            }
        }
        guard hasSide else { return items }
        let sideX = rowX + rowW + Heatmap.Rows.sideGap, sideW = rows.sideWidth
        for (k, param) in p.side.enumerated() where k < rows.side.count {
            let g = rows.side[k], top = y0 + g.top
            frame(param, x: sideX, top: top, width: sideW, height: g.height, geometry: g.panel, centre: sideX + sideW / 2)
            let es = theme.style(param.edgeState)
            // The arrow from the parameter into the row it feeds (the way its value flows), in its edge's state.
            if parts.contains(.frame) {
                let y = top + Heatmap.Rows.pad + small / 2, width = max(1.2, min(es.width, 2)), color = es.line
                let from = Point(sideX - 1, y), tip = Point(rowX + rowW + 1, y), base = Point(tip.x + 6, y)
                items.append(.curve(Drawing.Curve(pieces: [[from, from, base, base]], stroke: Drawing.Stroke(color: color, width: width))))
                items.append(.polygon(Drawing.Polygon(points: Arrow.triangle(from: base, to: tip, width: width), fill: Drawing.Fill(color: color))))
            }
            // Its ledger inside its frame, under its grids: the VJP that brings its gradient from the row.
            if parts.contains(.grad) {
                var y = top + g.height - Heatmap.Rows.pad - Double(g.ledgerLines) * ledgerLine
                for line in Heatmap.Rows.ledger(param.lines) {
                    items.append(run(line, x: sideX + Heatmap.Rows.pad, y: y, size: ledgerSize, bold: param.edgeState == .active,
                                     color: param.edgeState == .active ? es.text : colors.text, maxWidth: sideW - 2 * Heatmap.Rows.pad))
                    y += ledgerLine
                }
            }
        }
        return items
    }

    /// One tensor's captions and grids ("value", the gradient's label) in a panel centred on `centre`, from `top`.
    func panelGridItems(_ p: Scene.TensorPanel, geometry index: Heatmap.Panel, name: String, state: Scene.NodeState, centre cx: Double, top y: Double,
                        parts: NodeParts, colors: (fill: RGB, text: RGB, muted: RGB)) -> [Drawing.Item] {
        guard let scales = diagram.tensorScales else { return [] }
        let small = text.lineHeight(size: Heatmap.cellFontSize)
        let numbers = index.numbers
        var items: [Drawing.Item] = []
        let valueX = index.columnX(0, centre: cx), gradX = index.columnX(1, centre: cx)
        let gridTop = y + small
        // Each grid is centred in its column.
        let inset = (index.column - index.gridWidth) / 2
        if parts.contains(.value) {
            items.append(run("value", x: valueX + inset, y: y, size: Heatmap.cellFontSize, color: colors.muted))
            items += gridItems(p.value, x: valueX + inset, y: gridTop, cell: index.cell, grid: index.grid, scale: scales.value, numbers: numbers,
                               maxCells: index.maxCells, neutral: p.isLabels, tip: name)
            if index.showsStats {
                items.append(run(Heatmap.stats(p.value), x: valueX + index.column / 2, y: gridTop + index.gridHeight, size: Heatmap.statsFontSize,
                                 color: colors.muted, centered: true))
            }
        }
        if parts.contains(.grad), state != .forward || p.isLabels {
            let pending = state == .pending
            let down = index.rowOffset(1, smallLine: small)
            items.append(run(p.gradLabel, x: gradX + (p.isLabels ? 0 : inset), y: y + down, size: Heatmap.cellFontSize, color: pending ? colors.muted : colors.text))
            if state != .forward && !p.isLabels {
                items += gridItems(p.grad, x: gradX + inset, y: gridTop + down, cell: index.cell, grid: index.grid, scale: scales.grad, numbers: numbers,
                                   maxCells: index.maxCells, tip: "grad " + name)
                if index.showsStats, let g = p.grad {
                    items.append(run(Heatmap.stats(g), x: gradX + index.column / 2, y: gridTop + down + index.gridHeight, size: Heatmap.statsFontSize,
                                     color: colors.muted, centered: true))
                }
            }
        }
        return items
    }

    /// An edge's contribution thumbnail under its label text.
    func thumbnailItems(_ c: Tensor, x: Double, y: Double) -> [Drawing.Item] {
        guard let scales = diagram.tensorScales else { return [] }
        let s = Heatmap.thumbCell(c.shape)
        return gridItems(c, x: x, y: y, cell: (s, s), grid: Heatmap.gridShape(c.shape, maxCells: Heatmap.thumbCells), scale: scales.grad,
                         numbers: false, maxCells: Heatmap.thumbCells)
    }

    /// One scale bar of the tensor legend, placed: its label, end labels and bar, by left edge.
    struct LegendBar {
        var label: String, low: String, high: String, scale: Double
        var labelX: Double, lowX: Double, barX: Double, highX: Double
    }

    /// Where the two scale bars (value, then gradient) go from `x`, and where the legend ends: one
    /// rule for drawing them and for the width the footer must make room for.
    static func tensorLegend(from x0: Double, style: RenderStyle, text: TextEngine, scales: Heatmap.Scales) -> (bars: [LegendBar], end: Double) {
        let fs = style.edgeFontSize
        var x = x0
        var bars: [LegendBar] = []
        for (label, scale) in [("value", scales.value), ("gradient", scales.grad)] {
            let low = NumberFormat.short(-scale, digits: 2), high = NumberFormat.short(scale, digits: 2)
            let labelX = x
            x += text.measure(label, size: fs).width + 6
            let lowX = x
            x += text.measure(Typography.picture(low), size: fs - 1).width + 4
            let barX = x
            x += tensorBarWidth + 4
            bars.append(LegendBar(label: label, low: low, high: high, scale: scale, labelX: labelX, lowX: lowX, barX: barX, highX: x))
            x += text.measure(high, size: fs - 1).width + 18
        }
        return (bars, x)
    }

    /// The two scale bars of a tensor picture: value and gradient, each from −max to +max through 0.
    func tensorLegendItems(y: Double) -> [Drawing.Item] {
        guard let scales = diagram.tensorScales else { return [] }
        let theme = diagram.style.theme, m = diagram.metrics, fs = diagram.style.edgeFontSize
        let width = Self.tensorBarWidth
        var items: [Drawing.Item] = []
        for bar in Self.tensorLegend(from: m.margin, style: diagram.style, text: text, scales: scales).bars {
            let x = bar.barX, scale = bar.scale
            items.append(run(bar.label, x: bar.labelX, y: y - 1, size: fs, color: theme.text))
            items.append(run(bar.low, x: bar.lowX, y: y - 1, size: fs - 1, color: theme.mutedText))
            for i in 0..<60 {
                items.append(.cell(Drawing.Cell(x: x + Double(i) * width / 60, y: y + 1, width: width / 60 + 0.3, height: Self.colorBarHeight,
                                                fill: Drawing.Fill(color: Heatmap.color(Double(i) / 59 * 2 - 1)))))
            }
            items.append(.box(Drawing.Box(x: x, y: y + 1, width: width, height: Self.colorBarHeight, radius: 0, fill: nil,
                                          stroke: Drawing.Stroke(color: theme.mutedText, width: 0.8))))
            items.append(run("0", x: x + width / 2, y: y + Self.colorBarHeight + 1, size: fs - 1, color: theme.mutedText, centered: true))
            // Ticks at a tenth and a hundredth of the largest, where the log scale puts them.
            for f in [0.1, 0.01] {
                for sign in [-1.0, 1.0] {
                    let tx = x + width * (Heatmap.position(sign * f * scale, scale: scale) + 1) / 2
                    items.append(.cell(Drawing.Cell(x: tx - 0.4, y: y + 1 + Self.colorBarHeight, width: 0.8, height: 3,
                                                    fill: Drawing.Fill(color: theme.mutedText))))
                }
            }
            items.append(run(bar.high, x: bar.highX, y: y - 1, size: fs - 1, color: theme.mutedText))
        }
        return items
    }

    static let tensorBarWidth = 110.0

    static func tensorLegendWidth(style: RenderStyle, text: TextEngine, scales: Heatmap.Scales) -> Double {
        tensorLegend(from: 0, style: style, text: text, scales: scales).end
    }
}
