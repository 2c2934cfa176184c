import GradTrace

extension Diagram {
    /// Draws the final state (every gradient known), the picture `gradtrace render` makes by default.
    public func render(format: Format) throws(RenderError) -> [UInt8] {
        try render(step: stepCount, format: format, summary: true)
    }

    /// The same diagram (same layout) drawn without the legend, its footer only as tall as the caption:
    /// the frames of a strip after the first draw the legend no more.
    public func withoutLegend() -> Diagram {
        var d = self
        d.style.showsLegend = false
        d.note = nil
        d.metrics.footerHeight = Double(d.metrics.captionLines) * d.metrics.captionLine + 12
        return d
    }

    /// The formats ``GradTrace/Value/draw(to:step:style:title:)`` knows by file extension.
    static func format(ofPath path: String) -> Format? {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "svg": return .svg
        case "png": return .png(scale: 2)
        case "pdf": return .pdf
        default: return nil
        }
    }
}

extension Value {
    /// Draws the graph this value depends on, after its backward pass, to a file: the extension picks
    /// the format (`.svg`, `.png`, `.pdf` or `.dot`). One line in a training loop draws every iteration:
    ///
    /// ```swift
    /// try loss.draw(to: "loss-\(k).svg")
    /// ```
    ///
    /// - Parameters:
    ///   - path: the file to write (atomically; left alone when its bytes would not change).
    ///   - step: the backward step to show, 0 the forward pass (default: the final state).
    ///   - style: colours, direction and fonts.
    ///   - title: a title drawn above the graph.
    /// - Throws: ``RenderError`` for an unknown extension, a step out of range, or a failed write.
    public func draw(to path: String, step: Int? = nil, style: RenderStyle = RenderStyle(), title: String? = nil) throws(RenderError) {
        let (g, output) = graph
        let trace = Trace(graph: g, output: output)
        let stepCount = trace.steps.count
        if let step, step < 0 || step > stepCount {
            throw RenderError.unsupported("step \(step) is out of range: this trace has steps 0 (forward pass) to \(stepCount)")
        }
        let bytes: [UInt8]
        if path.lowercased().hasSuffix(".dot") {
            let scene = Scene(pass: .reverse(trace, graph: g), step: step ?? stepCount, title: title, summary: step == nil)
            bytes = Array(scene.dot(style: style, colorScale: nil).text.utf8)
        } else {
            guard let format = Diagram.format(ofPath: path) else {
                throw RenderError.unsupported("cannot tell the format of '\(path)' from its extension: use .svg, .png, .pdf or .dot")
            }
            let diagram = try Diagram(graph: g, trace: trace, style: style, title: title)
            if let step {
                bytes = try diagram.render(step: step, format: format)
            } else {
                bytes = try diagram.render(format: format)
            }
        }
        try Writer().write(bytes, to: path)
    }
}

extension Diagram {
    /// A diagram of a tensor backward pass (heatmap nodes, VJP edges).
    public init(tensor trace: TensorTrace, style: RenderStyle, title: String? = nil) throws(RenderError) {
        try self.init(pass: .tensor(trace), style: style, title: title)
    }
}

extension TensorValue {
    /// Draws the tensor graph this value depends on, after a backward pass from it, to a file (`.svg`,
    /// `.png`, `.pdf` or `.dot` by extension), as ``GradTrace/Value/draw(to:step:style:title:)`` does:
    ///
    /// ```swift
    /// try loss.draw(to: "loss.svg")
    /// ```
    public func draw(to path: String, step: Int? = nil, style: RenderStyle = RenderStyle(), title: String? = nil) throws(RenderError) {
        let trace = TensorTrace(graph: tape.graph, output: id)
        let stepCount = trace.steps.count
        if let step, step < 0 || step > stepCount {
            throw RenderError.unsupported("step \(step) is out of range: this trace has steps 0 (forward pass) to \(stepCount)")
        }
        let bytes: [UInt8]
        if path.lowercased().hasSuffix(".dot") {
            let scene = Scene(tensor: trace, step: step ?? stepCount, title: title, summary: step == nil)
            bytes = Array(scene.dot(style: style, colorScale: nil).text.utf8)
        } else {
            guard let format = Diagram.format(ofPath: path) else {
                throw RenderError.unsupported("cannot tell the format of '\(path)' from its extension: use .svg, .png, .pdf or .dot")
            }
            let diagram = try Diagram(tensor: trace, style: style, title: title)
            if let step {
                bytes = try diagram.render(step: step, format: format)
            } else {
                bytes = try diagram.render(format: format)
            }
        }
        try Writer().write(bytes, to: path)
    }
}
