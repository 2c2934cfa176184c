import GradTrace

/// A picture as plain values: what to draw and where, decided once, replayed by every backend.
///
/// A drawing is built once per (scene, layout, theme, text metrics) by ``DrawingBuilder``; Cairo
/// replays it to PNG, PDF and GIF frames, ``SVGWriter`` serialises it with real `<text>`
/// elements, and the animated SVG and HTML player serialise one drawing whose groups carry frame
/// spans. No backend decides a radius, a dash, a colour or a font: they are all in the items.
///
/// Coordinates are points (1/72 inch), origin at the top left, y pointing down.
public struct Drawing: Sendable {
    /// The canvas size in points.
    public var width: Double
    public var height: Double
    /// The canvas colour.
    public var background: RGB
    /// The font family every text run uses.
    public var fontFamily: String
    /// The items, drawn in order (later items on top).
    public var items: [Item]
    /// The number of frames the spans of ``Group`` refer to (1 for a still picture).
    public var frameCount: Int = 1
    /// Accessible title and description (`<title>`, `<desc>`, PDF title).
    public var title: String?
    public var description: String

    /// A line's paint: colour, width, optional dash pattern and opacity.
    public struct Stroke: Sendable, Hashable {
        public var color: RGB
        public var width: Double
        public var dash: [Double] = []
        public var opacity: Double = 1
    }

    /// An area's paint: colour and opacity.
    public struct Fill: Sendable, Hashable {
        public var color: RGB
        public var opacity: Double = 1
    }

    /// A rectangle with rounded corners (radius 0: square), filled and/or outlined.
    public struct Box: Sendable, Hashable {
        public var x: Double, y: Double, width: Double, height: Double
        public var radius: Double
        public var fill: Fill?
        public var stroke: Stroke?
    }

    /// A filled, unstroked rectangle: one cell of a colour bar or (later) of a tensor heatmap.
    public struct Cell: Sendable, Hashable {
        public var x: Double, y: Double, width: Double, height: Double
        public var fill: Fill
        /// Hover text (SVG `<title>`): a heatmap cell's element and exact value. Raster formats ignore it.
        public var title: String? = nil
    }

    /// A stroked path of cubic Bézier pieces (each 3k+1 points).
    public struct Curve: Sendable, Hashable {
        public var pieces: [[Point]]
        public var stroke: Stroke
    }

    /// A filled polygon (arrowheads).
    public struct Polygon: Sendable, Hashable {
        public var points: [Point]
        public var fill: Fill
    }

    /// One line of text, measured: `x` is its left edge, `y` the top of its line box, `baseline`
    /// the distance from that top to the baseline, `width` the width Pango measured in the
    /// drawing's font (SVG pins the run to it).
    public struct TextRun: Sendable, Hashable {
        public var text: String
        public var x: Double, y: Double
        public var baseline: Double
        public var size: Double
        public var bold: Bool
        public var width: Double
        public var color: RGB
    }

    /// Items shown over a span of frames `[from, to)` (nil: in every frame).
    public struct Group: Sendable {
        public var span: FrameSpan?
        public var items: [Item]
    }

    /// Frames `[from, to)`.
    public struct FrameSpan: Sendable, Hashable {
        public var from: Int
        public var to: Int
        public init(from: Int, to: Int) { self.from = from; self.to = to }
        /// Whether frame `k` falls in the span.
        public func contains(_ k: Int) -> Bool { k >= from && k < to }
    }

    /// One thing to draw.
    public enum Item: Sendable {
        /// A rounded (or square) rectangle: nodes, label backgrounds, clusters, legend swatches.
        case box(Box)
        /// A filled cell: colour bars now, tensor heatmaps later.
        case cell(Cell)
        /// An edge's spline.
        case curve(Curve)
        /// An arrowhead.
        case polygon(Polygon)
        /// One measured line of text.
        case text(TextRun)
        /// Items that show together, over a span of frames or always.
        case group(Group)
    }

    /// Every text run, in drawing order (groups flattened; for tests and text extraction).
    public var textRuns: [TextRun] {
        var out: [TextRun] = []
        func walk(_ items: [Item]) {
            for i in items {
                switch i {
                case .text(let t): out.append(t)
                case .group(let g): walk(g.items)
                default: break
                }
            }
        }
        walk(items)
        return out
    }

    /// Every box, in drawing order (groups flattened).
    public var boxes: [Box] {
        var out: [Box] = []
        func walk(_ items: [Item]) {
            for i in items {
                switch i {
                case .box(let b): out.append(b)
                case .group(let g): walk(g.items)
                default: break
                }
            }
        }
        walk(items)
        return out
    }
}
