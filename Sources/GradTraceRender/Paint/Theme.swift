import GradTrace

/// An sRGB colour.
public struct RGB: Sendable, Hashable {
    public var r: Double, g: Double, b: Double

    /// From `0xRRGGBB`.
    public init(_ hex: UInt32) {
        r = Double((hex >> 16) & 0xFF) / 255
        g = Double((hex >> 8) & 0xFF) / 255
        b = Double(hex & 0xFF) / 255
    }

    /// `#rrggbb`, for DOT and SVG.
    public var hex: String {
        func h(_ v: Double) -> String {
            let n = Int((v * 255).rounded())
            let s = String(n, radix: 16)
            return n < 16 ? "0" + s : s
        }
        return "#" + h(r) + h(g) + h(b)
    }

    /// True when text on this colour reads better white than black (Rec. 709 luma below 0.45):
    /// one rule for nodes coloured by gradient and for heatmap cells.
    public var wantsLightText: Bool { 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 }
}

/// Light or dark.
public enum ThemeName: String, Sendable, CaseIterable {
    case light, dark
}

/// How each state looks. Colours follow the Okabe–Ito palette, which stays distinct under the
/// common colour-vision deficiencies; every state also differs in line style or weight, so that
/// colour is never the only cue.
public struct Theme: Sendable {
    public struct NodeStyle: Sendable {
        public var fill: RGB
        public var border: RGB
        public var borderWidth: Double
        public var dashed: Bool
    }

    public struct EdgeStyle: Sendable {
        public var line: RGB
        public var width: Double
        public var text: RGB
    }

    public var name: ThemeName
    public var background: RGB
    public var text: RGB
    public var mutedText: RGB
    public var labelBackground: RGB
    public var warning: RGB
    /// One style per node state (a total lookup: every state has one).
    public struct NodeStyles: Sendable {
        public var forward, pending, accumulating, done, active: NodeStyle
    }

    /// One style per edge state.
    public struct EdgeStyles: Sendable {
        public var idle, active, done: EdgeStyle
    }

    public var nodes: NodeStyles
    public var edges: EdgeStyles

    /// How a node in state `s` looks.
    public func style(_ s: Scene.NodeState) -> NodeStyle {
        switch s {
        case .forward: nodes.forward
        case .pending: nodes.pending
        case .accumulating: nodes.accumulating
        case .done: nodes.done
        case .active: nodes.active
        }
    }

    /// How an edge in state `s` looks.
    public func style(_ s: Scene.EdgeState) -> EdgeStyle {
        switch s {
        case .idle: edges.idle
        case .active: edges.active
        case .done: edges.done
        }
    }

    public static func named(_ n: ThemeName) -> Theme { n == .light ? light : dark }

    public static let light = Theme(
        name: .light,
        background: RGB(0xFFFFFF), text: RGB(0x1A1A1A), mutedText: RGB(0x6B6B6B),
        labelBackground: RGB(0xFFFFFF), warning: RGB(0xD55E00),
        nodes: NodeStyles(
            forward: NodeStyle(fill: RGB(0xF3F3F3), border: RGB(0x5F5F5F), borderWidth: 1, dashed: false),
            pending: NodeStyle(fill: RGB(0xFFFFFF), border: RGB(0x9A9A9A), borderWidth: 1, dashed: true),
            accumulating: NodeStyle(fill: RGB(0xDDF3EA), border: RGB(0x009E73), borderWidth: 2, dashed: true),
            done: NodeStyle(fill: RGB(0xDCEBF7), border: RGB(0x0072B2), borderWidth: 1.5, dashed: false),
            active: NodeStyle(fill: RGB(0xFFE3B0), border: RGB(0xE69F00), borderWidth: 3.5, dashed: false),
        ),
        edges: EdgeStyles(
            idle: EdgeStyle(line: RGB(0xA8A8A8), width: 1, text: RGB(0x6B6B6B)),
            active: EdgeStyle(line: RGB(0xE69F00), width: 3, text: RGB(0x8A4F00)),
            done: EdgeStyle(line: RGB(0x0072B2), width: 1.5, text: RGB(0x00466E)),
        ))

    public static let dark = Theme(
        name: .dark,
        background: RGB(0x1B1D21), text: RGB(0xEDEDED), mutedText: RGB(0xA0A0A0),
        labelBackground: RGB(0x1B1D21), warning: RGB(0xFF7A3D),
        nodes: NodeStyles(
            forward: NodeStyle(fill: RGB(0x2A2D33), border: RGB(0x9A9A9A), borderWidth: 1, dashed: false),
            pending: NodeStyle(fill: RGB(0x1B1D21), border: RGB(0x777777), borderWidth: 1, dashed: true),
            accumulating: NodeStyle(fill: RGB(0x123A2F), border: RGB(0x2BC598), borderWidth: 2, dashed: true),
            done: NodeStyle(fill: RGB(0x0E2F47), border: RGB(0x56B4E9), borderWidth: 1.5, dashed: false),
            active: NodeStyle(fill: RGB(0x4A3305), border: RGB(0xE69F00), borderWidth: 3.5, dashed: false),
        ),
        edges: EdgeStyles(
            idle: EdgeStyle(line: RGB(0x666666), width: 1, text: RGB(0xA0A0A0)),
            active: EdgeStyle(line: RGB(0xE69F00), width: 3, text: RGB(0xFFC35A)),
            done: EdgeStyle(line: RGB(0x56B4E9), width: 1.5, text: RGB(0xA9D8F5)),
        ))
}

extension RenderStyle {
    /// A node's fill, text and muted-text colours: by state, or by gradient magnitude under
    /// `--color-by grad` (with text that stays readable on the fill). DOT, the painters and the
    /// animations all take their node colours from here.
    public func nodeColors(_ n: Scene.NodeView, scale: ColorScale?) -> (fill: RGB, text: RGB, muted: RGB) {
        if let scale, let g = n.gradient {
            let fill = scale.color(g)
            return fill.wantsLightText ? (fill, RGB(0xFFFFFF), RGB(0xE0E0E0)) : (fill, RGB(0x111111), RGB(0x333333))
        }
        return (theme.style(n.state).fill, theme.text, theme.mutedText)
    }
}
