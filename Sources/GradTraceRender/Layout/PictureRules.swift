import GradTrace

/// How a pass's pictures are fitted and laid out: the one table of where scalar and tensor pictures
/// differ in rules. ``Diagram``, the width ladder, the legend and the layout request read it instead
/// of asking which engine traced the pass; what the nodes and edges show comes from the pass's scenes.
struct PictureRules: Sendable {
    /// The width ladder: `tallest`, at most this many times as tall as wide when a rung allows (nil: any
    /// shape); `numbersRung`, a number-only rung (scalar labels keep their numbers, tensor titles have none
    /// to keep); `focusView`, the last rung draws each step's nodes at full size under the map (``FocusView``).
    let tallest: Double?, numbersRung: Bool, focusView: Bool
    /// The layout and labels: `spine`, ranks kept close and the longest path drawn straight (a network's
    /// spine is long); `wholeLedgers`, edge ledgers shown whole in every label mode (a VJP formula has no
    /// number to shorten to); `heatmapNote`, the legend's note explains the heatmaps' colour scale and the
    /// contribution thumbnails.
    let spine: Bool, wholeLedgers: Bool, heatmapNote: Bool
    /// The cannot-fit warning: what the last rung drew, and the collapse to try.
    let lastRung: String, collapseAdvice: String

    static let scalar = PictureRules(tallest: nil, numbersRung: true, focusView: false, spine: false, wholeLedgers: false, heatmapNote: false,
                                     lastRung: "nodes as small labelled boxes and tight spacing", collapseAdvice: "--collapse neuron or layer")
    static let tensor = PictureRules(tallest: 2.5, numbersRung: false, focusView: true, spine: true, wholeLedgers: true, heatmapNote: true,
                                     lastRung: "nodes as small labelled boxes (the focus view) and tight spacing", collapseAdvice: "--collapse module")

    /// A candidate picture of `width` × `height` points fits `maxWidth` (nil: any) and the shape limit.
    func fits(width: Double, height: Double, maxWidth: Double?) -> Bool {
        width <= (maxWidth ?? .infinity) + 0.5 && (tallest.map { height <= $0 * width } ?? true)
    }
}

extension Pass {
    /// The rules this pass's pictures are drawn by.
    var rules: PictureRules { isTensor ? .tensor : .scalar }
}
