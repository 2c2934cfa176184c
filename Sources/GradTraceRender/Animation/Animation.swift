import Dispatch
import GradTrace

/// Animations of a whole backward pass: GIF, self-animating SVG, self-contained HTML player.
public enum Animation {
    /// A looping GIF with one frame per step. Frames are painted incrementally one after another
    /// (``FramePainter``) and each is encoded as soon as it is painted, as the rectangle that changed
    /// over the frame before (``GIFWriter``): one frame is in memory at a time, whatever the step count.
    public static func gif(_ diagram: Diagram, fps: Double, scale: Double) throws(RenderError) -> [UInt8] {
        let count = diagram.stepCount + 1
        // GIF delays are 16-bit hundredths of a second.
        let delay = max(2, min(65535 / 3, Int((100 / max(fps, 0.01)).rounded())))
        let set = FrameSet(diagram: diagram, format: .png, scale: scale)
        let painter = Painter(diagram: diagram)
        let frames = FramePainter(painter: painter, scale: scale, backgroundItems: set.backgroundItemCount(painter))
        let px = diagram.pixelSize(scale: scale)
        var changes = FrameDifference(width: px.width, height: px.height)
        let writer = try GIFWriter(width: px.width, height: px.height)
        for k in 0..<count {
            let surface = try frames.paint(painter.builder.drawing(diagram.scene(step: k)))
            // Hold the last frame three times as long so the final state can be read.
            try writer.add(try changes.next(surface.pointer), delay: k == count - 1 ? delay * 3 : delay)
        }
        return try writer.finish()
    }

    /// One SVG that plays every step by itself with CSS keyframes (no script), so it animates
    /// inside an `<img>` tag or a GitHub README. Without animation support, or when the reader asks
    /// for reduced motion (`prefers-reduced-motion`), it shows the final state. `role="img"` and an
    /// `aria-label` with every step's caption make it readable to screen readers.
    public static func svg(_ diagram: Diagram, fps: Double) -> [UInt8] {
        let timeline = Timeline(diagram: diagram)
        let drawing = DrawingBuilder(diagram: diagram).drawing(timeline)
        var w = SVGWriter(drawing, mode: .css(seconds: 1 / fps, lastSeconds: 3 / fps))
        return Array(PlayerSupport.animatedSVG(w.document(), captions: timeline.captions).utf8)
    }

    /// One self-contained HTML file: the graph, play/pause, previous/next, a slider, arrow keys,
    /// the caption of the current step; `#step=K` in the URL opens step K. Loads nothing from the network.
    ///
    /// With `alternative` (the same pass laid out in the other direction) the page carries both
    /// pictures and shows the one that reads larger in the window (left to right in a wide window,
    /// top to bottom in a tall one), choosing again when the window is resized.
    ///
    /// With `expansions` (a collapsed tensor pass with one module expanded, per module: see
    /// ``PassRequest/moduleExpansions(for:)``) a click on a module's node shows that module's operations
    /// in place, step by step, and a click on its box collapses it again; `#step=K&expand=NAME` opens
    /// it expanded. Each expansion is its own pre-laid-out picture (one per module, not one per set of
    /// modules: the page grows linearly with the modules).
    public static func html(_ diagram: Diagram, alternative: Diagram? = nil,
                            expansions: [(module: String, diagram: Diagram, alternative: Diagram?)] = [],
                            fps: Double, title: String) -> [UInt8] {
        var views: [HTMLPlayer.View] = []
        for (module, primary, other) in [("", diagram, alternative)] + expansions {
            let timeline = Timeline(diagram: primary)
            var svgs: [(rankdir: String, svg: String)] = []
            for (k, d) in ([primary] + (other.map { [$0] } ?? [])).enumerated() {
                var w = SVGWriter(DrawingBuilder(diagram: d).drawing(k == 0 ? timeline : Timeline(diagram: d)), mode: .player)
                var svg = PlayerSupport.withFocus(w.document(), PlayerSupport.focusBoxes(d))
                svg = PlayerSupport.withModuleTargets(svg, PlayerSupport.moduleTargets(d), theme: d.style.theme)
                svgs.append((d.style.rankdir.rawValue, svg))
            }
            var source = Array(0...primary.stepCount)
            if let view = primary.pass.tensorTrace?.collapse { source = view.sourceSteps }
            views.append(HTMLPlayer.View(module: module, svgs: svgs, captions: timeline.captions, sourceSteps: source))
        }
        return Array(HTMLPlayer.page(views: views, fps: fps, title: title, theme: diagram.style.theme).utf8)
    }
}
