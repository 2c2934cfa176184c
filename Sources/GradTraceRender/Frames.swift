import Foundation
import Dispatch
import GradTrace

/// One frame per backward step, all on the diagram's one layout.
public struct FrameSet: Sendable {
    /// What a frame file is.
    public enum Format: String, Sendable, CaseIterable { case png, svg, pdf, dot }

    /// One entry of `manifest.json`.
    public struct Entry: Sendable {
        public var step: Int
        public var file: String
        public var activeNode: NodeID?
        public var activeName: String?
        public var caption: String
    }

    public let diagram: Diagram
    public let format: Format
    /// PNG scale (pixels per point).
    public let scale: Double

    public init(diagram: Diagram, format: Format, scale: Double) {
        self.diagram = diagram
        self.format = format
        self.scale = scale
    }

    /// `step-007.png`: zero-padded to at least three digits, more when there are more steps.
    public func fileName(step: Int) -> String {
        let width = max(3, String(diagram.stepCount).count)
        let n = String(step)
        return "step-" + String(repeating: "0", count: width - n.count) + n + "." + format.rawValue
    }

    /// The manifest entries, one per frame (step 0 … N).
    public func entries() -> [Entry] {
        let names = NameTable(structure: diagram.structure)
        return (0...diagram.stepCount).map { k in
            let scene = diagram.scene(step: k)
            return Entry(step: k, file: fileName(step: k), activeNode: scene.activeNode,
                         activeName: scene.activeNode.map { names.name(of: $0) }, caption: scene.caption)
        }
    }

    /// The bytes of one frame.
    public func render(step: Int) throws(RenderError) -> [UInt8] {
        try render(step: step, with: Painter(diagram: diagram))
    }

    func render(step: Int, with painter: Painter) throws(RenderError) -> [UInt8] {
        switch format {
        case .png: return try painter.render(diagram.scene(step: step), format: .png(scale: scale, compression: RasterLimits.frameLevel))
        case .svg: return try painter.render(diagram.scene(step: step), format: .svg)
        case .pdf: return try painter.render(diagram.scene(step: step), format: .pdf)
        case .dot: return Array(diagram.dot(step: step, pinned: true).utf8)
        }
    }

    /// The PNG bytes of frame `step`, painted by `frames` (which repaints, and recompresses, only
    /// what changed since the frame it painted last). The same bytes as ``render(step:)``.
    func renderPNG(step: Int, with frames: FramePainter) throws(RenderError) -> [UInt8] {
        try frames.pngFrame(frames.painter.builder.drawing(diagram.scene(step: step)), compression: Int32(RasterLimits.frameLevel))
    }

    /// Frames a worker takes at a time: consecutive frames share most of their pixels, so a
    /// worker repaints little from one to the next; several runs a worker keep the load even.
    static func runLength(frames: Int, workers: Int) -> Int {
        max(1, min(32, frames / max(1, 4 * workers)))
    }

    /// Renders every frame in parallel (one Cairo surface per worker; Graphviz is not called again)
    /// and hands each to `sink` as soon as it is ready, from whichever thread drew it.
    /// `progress` is called with the number of frames done so far. Each worker takes runs of
    /// consecutive frames; the bytes of a frame never depend on which worker drew it, or after what.
    public func renderAll(jobs: Int = 0, sink: @Sendable (Int, [UInt8]) throws -> Void,
                          progress: @Sendable (Int) -> Void = { _ in }) throws {
        let count = diagram.stepCount + 1
        let state = FrameState()
        let workers = min(jobs > 0 ? jobs : ProcessInfoShim.activeProcessorCount, count)
        let run = Self.runLength(frames: count, workers: workers)
        let next = Counter()
        let background = format == .png ? backgroundItemCount(Painter(diagram: diagram)) : 0
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            // One painter per worker: its shaped text carries over from frame to frame, and for
            // PNG so does its surface.
            let painter = Painter(diagram: diagram)
            let frames = format == .png ? FramePainter(painter: painter, scale: scale, backgroundItems: background) : nil
            while true {
                let first = (next.increment() - 1) * run
                if first >= count || state.failed { return }
                for k in first..<min(count, first + run) {
                    if state.failed { return }
                    do {
                        let bytes = try frames.map { f throws(RenderError) in try renderPNG(step: k, with: f) } ?? render(step: k, with: painter)
                        try sink(k, bytes)
                        progress(state.finish())
                    } catch {
                        state.fail(error)
                        return
                    }
                }
            }
        }
        if let e = state.error { throw e }
    }

    /// A multi-page PDF, one page per step (for slides).
    public func multipagePDF() throws(RenderError) -> [UInt8] {
        try Painter(diagram: diagram).renderPDFPages((0...diagram.stepCount).map { diagram.scene(step: $0) })
    }

    /// `manifest.json`: the frame files with their active node and caption (usable as alt text).
    public func manifest(outputName: String) -> String {
        let size = diagram.canvasSize
        var s = "{\"generator\": \"gradtrace\", \"output\": \(Report.jsonString(outputName)), \"steps\": \(diagram.stepCount), \"format\": \"\(format.rawValue)\",\n"
        if format == .png {
            let px = diagram.pixelSize(scale: scale)
            s += " \"width\": \(px.width), \"height\": \(px.height), \"scale\": \(NumberFormat.json(scale)),\n"
        } else {
            s += " \"width\": \(NumberFormat.json(size.width)), \"height\": \(NumberFormat.json(size.height)), \"units\": \"pt\",\n"
        }
        s += " \"frames\": [\n"
        let list = entries()
        for (i, e) in list.enumerated() {
            s += "  {\"step\": \(e.step), \"file\": \(Report.jsonString(e.file)), \"active\": "
            if let id = e.activeNode, let n = e.activeName {
                s += "{\"id\": \(id), \"name\": \(Report.jsonString(n))}"
            } else {
                s += "null"
            }
            s += ", \"caption\": \(Report.jsonString(e.caption))}" + (i + 1 < list.count ? ",\n" : "\n")
        }
        return s + " ]}\n"
    }
}

extension FrameSet {
    /// The frame files an earlier `manifest.json` of ours lists, or nil when the manifest is not
    /// ours (not JSON, or not in the shape `gradtrace frames` writes): such a file is someone
    /// else's and must be neither overwritten nor used to delete anything.
    ///
    /// Only plain `step-<digits>.<format>` names are returned, never a path.
    public static func framesListed(inManifest bytes: [UInt8]) -> [String]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)),
              let top = object as? [String: Any],
              let frames = top["frames"] as? [[String: Any]] else { return nil }
        let generator = top["generator"] as? String
        // Manifests of version 0.1 carry no "generator", but always these keys.
        guard generator == "gradtrace" || (generator == nil && top["output"] != nil && top["steps"] != nil) else { return nil }
        var names: [String] = []
        for f in frames {
            guard let name = f["file"] as? String, f["step"] != nil else { return nil }
            if isFrameFileName(name) { names.append(name) }
        }
        return names
    }

    /// `step-<digits>.<png|svg|pdf|dot>`.
    public static func isFrameFileName(_ name: String) -> Bool {
        guard name.hasPrefix("step-"), let dot = name.lastIndex(of: ".") else { return false }
        let digits = name[name.index(name.startIndex, offsetBy: 5)..<dot]
        let ext = name[name.index(after: dot)...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= "0" && $0 <= "9" }
            && Format.allCases.contains { $0.rawValue == ext }
    }
}

/// Shared state of a parallel run.
final class FrameState: @unchecked Sendable {
    private let lock = NSLockShim()
    private(set) var error: Error?
    private var done = 0
    var failed: Bool { lock.with { error != nil } }
    func fail(_ e: Error) { lock.with { if error == nil { error = e } } }
    func finish() -> Int { lock.with { done += 1; return done } }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLockShim()
    private var value = 0
    func increment() -> Int { lock.with { value += 1; return value } }
}
