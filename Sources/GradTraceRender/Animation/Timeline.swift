import GradTrace

/// Every step's scene folded into intervals: for each node and edge, the runs of frames over
/// which it looks the same. An animation then needs one element per run, so its size grows
/// with nodes + steps, not nodes × steps.
struct Timeline {
    /// Frames [from, to) over which an element shows one look.
    struct Span: Hashable {
        var from: Int
        var to: Int
    }

    struct NodeRun {
        var span: Span
        var state: Scene.NodeState
        var gradText: String
        var nonFinite: Bool
        var gradient: Double?
        /// The value line when it changes over the pass (forward mode with a wiggle).
        var valueText: String?
        /// A tensor node's panel (its gradient changes over the pass).
        var tensor: Scene.TensorPanel?
    }

    struct EdgeRun {
        var span: Span
        var state: Scene.EdgeState
        var lines: [String]
        var contribution: Tensor?
    }

    let frameCount: Int
    let nodes: [[NodeRun]]
    let edges: [[EdgeRun]]
    let captions: [String]
    /// Scene of the first frame (titles and values, which never change).
    let base: Scene

    /// Folds the scenes of steps 0…N. O(frames × (nodes + edges)) time, O(runs) memory.
    init(diagram: Diagram) {
        let count = diagram.stepCount + 1
        var nodes: [[NodeRun]] = []
        var edges: [[EdgeRun]] = []
        var captions: [String] = []
        var base: Scene?
        for k in 0..<count {
            let s = diagram.scene(step: k)
            if base == nil {
                base = s
                nodes = s.nodes.map { [NodeRun(span: Span(from: 0, to: 1), state: $0.state, gradText: $0.gradText, nonFinite: $0.nonFinite, gradient: $0.gradient, valueText: $0.valueText, tensor: $0.tensor)] }
                edges = s.edges.map { [EdgeRun(span: Span(from: 0, to: 1), state: $0.state, lines: $0.lines, contribution: $0.contribution)] }
            } else {
                for (i, n) in s.nodes.enumerated() {
                    let last = nodes[i][nodes[i].count - 1]
                    if last.state == n.state && last.gradText == n.gradText && last.nonFinite == n.nonFinite && last.gradient == n.gradient && last.valueText == n.valueText && last.tensor == n.tensor {
                        nodes[i][nodes[i].count - 1].span.to = k + 1
                    } else {
                        nodes[i].append(NodeRun(span: Span(from: k, to: k + 1), state: n.state, gradText: n.gradText, nonFinite: n.nonFinite, gradient: n.gradient, valueText: n.valueText, tensor: n.tensor))
                    }
                }
                for (i, e) in s.edges.enumerated() {
                    let last = edges[i][edges[i].count - 1]
                    if last.state == e.state && last.lines == e.lines && last.contribution == e.contribution {
                        edges[i][edges[i].count - 1].span.to = k + 1
                    } else {
                        edges[i].append(EdgeRun(span: Span(from: k, to: k + 1), state: e.state, lines: e.lines, contribution: e.contribution))
                    }
                }
            }
            captions.append(DrawingBuilder.captionHead(step: k, of: count - 1) + s.caption)
        }
        self.frameCount = count
        self.nodes = nodes
        self.edges = edges
        self.captions = captions
        self.base = base ?? diagram.scene(step: 0)
    }
}
