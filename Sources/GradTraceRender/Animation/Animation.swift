import Dispatch
import GradTrace

/// Animations of a whole backward pass: GIF, self-animating SVG, self-contained HTML player.
public enum Animation {
    /// A looping GIF with one frame per step (giflib does the palette work and the encoding).
    /// Frames are drawn and quantised in parallel, in batches, then written in order.
    public static func gif(_ diagram: Diagram, fps: Double, scale: Double) throws -> [UInt8] {
        let count = diagram.stepCount + 1
        // GIF delays are 16-bit hundredths of a second.
        let delay = max(2, min(65535 / 3, Int((100 / max(fps, 0.01)).rounded())))
        var frames = [GIFEncoder.IndexedFrame?](repeating: nil, count: count)
        let batch = max(1, ProcessInfoShim.activeProcessorCount * 2)
        var start = 0
        while start < count {
            let end = min(count, start + batch)
            let results = ResultBox<GIFEncoder.IndexedFrame>(count: end - start)
            let first = start
            DispatchQueue.concurrentPerform(iterations: end - start) { i in
                let k = first + i
                do {
                    let painter = Painter(diagram: diagram)
                    let pixels = try painter.pixels(diagram.scene(step: k), scale: scale)
                    // Hold the last frame three times as long so the final state can be read.
                    results.set(i, .success(try GIFEncoder.quantize(pixels, delay: k == count - 1 ? delay * 3 : delay)))
                } catch {
                    results.set(i, .failure(error))
                }
            }
            for i in 0..<(end - start) { frames[start + i] = try results.get(i) }
            start = end
        }
        return try GIFEncoder.encode(frames.map { $0! })
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
    public static func html(_ diagram: Diagram, fps: Double, title: String) -> [UInt8] {
        let timeline = Timeline(diagram: diagram)
        var w = SVGWriter(DrawingBuilder(diagram: diagram).drawing(timeline), mode: .player)
        let svg = PlayerSupport.withFocus(w.document(), PlayerSupport.focusBoxes(diagram))
        return Array(HTMLPlayer.page(svg: svg, captions: timeline.captions, fps: fps, title: title,
                                     theme: diagram.style.theme).utf8)
    }
}

/// Per-index results filled from concurrent tasks.
final class ResultBox<T>: @unchecked Sendable {
    private let lock = NSLockShim()
    private var items: [Result<T, Error>?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<T, Error>) { lock.with { items[i] = r } }
    func get(_ i: Int) throws -> T { try lock.with { items[i]! }.get() }
}
