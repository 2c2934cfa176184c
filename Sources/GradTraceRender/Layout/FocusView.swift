import GradTrace

/// The focus view: the last rung of the width ladder for tensor pictures too wide for their column.
///
/// The graph is drawn as a map of small labelled boxes (name, shape, gradient size) with unlabelled
/// edges, and under it one panel area shows, at full size, the nodes the step is about: the active
/// node's inputs, then the active node, each with its value and gradient heatmaps. Before the pass
/// (step 0) and in the final state the area shows the inputs in reading order (parameters first), as
/// many as it holds. The caption tells each step's chain, as on every picture.
///
/// ```swift
/// // A transformer block at --max-width 660: a 600-pt map, and per step its 2–3 panels at full size.
/// let f = FocusView(pass: pass, sizes: sizes, width: 628)
/// f.height                                    // room for the step with the most panels
/// ```
struct FocusView: Sendable {
    /// One panel placed in the area: the node, and its centre and size relative to the area's top left.
    struct Placed: Sendable {
        var id: NodeID
        var box: Layout.Box
    }

    /// The full-size box of every drawn node (title, value and gradient heatmaps).
    let sizes: [NodeID: (width: Double, height: Double)]
    /// The width panels are flowed in (the canvas less its margins).
    let width: Double
    /// The area's height: room for every active step's panels (a still of one step: its own panels').
    var height: Double
    /// The inputs in reading order, shown at step 0 and in the final state.
    let inputs: [NodeID]
    /// The pass whose steps the panels show, unfused (the map may draw chains fused).
    let pass: Pass

    /// Space between panels, across and down.
    static let gap = 10.0
    /// Space above the area (a rule separates it from the map) and below it.
    static let top = 12.0
    static let bottom = 8.0

    /// Measures every step of `pass` and keeps the height of the tallest.
    /// Cost: O(steps × (nodes + edges)) scenes, as a timeline.
    init(pass: Pass, sizes: [NodeID: (width: Double, height: Double)], width: Double) {
        self.sizes = sizes
        self.width = width
        self.pass = pass
        inputs = Scene.inputsInReadingOrder(pass: pass).filter { sizes[$0] != nil }
        var tallest = 0.0
        for k in 1...max(1, pass.stepCount) where k <= pass.stepCount {
            let ids = FocusView.activeMembers(Scene(pass: pass, step: k))
            tallest = max(tallest, FocusView.flow(ids, sizes: sizes, width: width, maxHeight: nil).height)
        }
        // At least one row of inputs, so that step 0 and the final state show something whole.
        if let first = inputs.first, let s = sizes[first] { tallest = max(tallest, s.height) }
        height = tallest
    }

    /// The scene the panels of the frame showing `scene` come from: the same step, unfused.
    func panelScene(for scene: Scene) -> Scene {
        let summary = scene.step > 0 && scene.step == scene.stepCount && scene.activeNode == nil
        return Scene(pass: pass, step: scene.step, summary: summary)
    }

    /// The widest full-size panel of `sizes`: the canvas must be at least this wide (plus margins).
    static func widest(_ sizes: [NodeID: (width: Double, height: Double)]) -> Double {
        sizes.values.map(\.width).max() ?? 0
    }

    /// The nodes a step with an active node shows: the inputs its active edges send gradients to
    /// (in edge order, once each), then the active node. Empty when nothing is active.
    static func activeMembers(_ scene: Scene) -> [NodeID] {
        guard let active = scene.activeNode else { return [] }
        var ids: [NodeID] = []
        for e in scene.edges where e.state == .active && e.to == active && e.from != active && !ids.contains(e.from) { ids.append(e.from) }
        return ids + [active]
    }

    /// The panels of `scene`, placed: its active members, or (nothing active) as many inputs as fit.
    func placed(_ scene: Scene) -> [Placed] {
        let active = FocusView.activeMembers(scene)
        if !active.isEmpty { return FocusView.flow(active, sizes: sizes, width: width, maxHeight: nil).placed }
        return FocusView.flow(inputs, sizes: sizes, width: width, maxHeight: height).placed
    }

    /// The height the panels of `scene` take (at most ``height``): the caption is drawn right under them,
    /// so a step with fewer panels leaves its spare room at the foot of the canvas, not above the caption.
    func usedHeight(_ scene: Scene) -> Double {
        let active = FocusView.activeMembers(scene)
        if !active.isEmpty { return min(height, FocusView.flow(active, sizes: sizes, width: width, maxHeight: nil).height) }
        return FocusView.flow(inputs, sizes: sizes, width: width, maxHeight: height).height
    }

    /// Panels left to right, a new row when the next would pass `width`, rows centred; with `maxHeight`,
    /// the panels that would end below it are left out. Returns the placed panels and the height used.
    static func flow(_ ids: [NodeID], sizes: [NodeID: (width: Double, height: Double)], width: Double,
                     maxHeight: Double?) -> (placed: [Placed], height: Double) {
        var rows: [[(id: NodeID, w: Double, h: Double)]] = [[]]
        var rowWidth = 0.0
        for id in ids {
            guard let s = sizes[id] else { continue }
            if !rows[rows.count - 1].isEmpty && rowWidth + gap + s.width > width {
                rows.append([])
                rowWidth = 0
            }
            rowWidth += (rows[rows.count - 1].isEmpty ? 0 : gap) + s.width
            rows[rows.count - 1].append((id, s.width, s.height))
        }
        var placed: [Placed] = []
        var y = 0.0
        for row in rows where !row.isEmpty {
            let h = row.map(\.h).max() ?? 0
            if let maxHeight, y + h > maxHeight + 0.5 { break }
            let total = row.map(\.w).reduce(0, +) + gap * Double(row.count - 1)
            var x = max(0, (width - total) / 2)
            for p in row {
                placed.append(Placed(id: p.id, box: Layout.Box(x: x + p.w / 2, y: y + p.h / 2, width: p.w, height: p.h)))
                x += p.w + gap
            }
            y += h + gap
        }
        return (placed, max(0, y - gap))
    }
}
