import CCairo
import Dispatch
import Foundation
import GradTrace

/// One row of the benchmark's PNG encode table.
public struct PNGEncodeTiming: Sendable {
    /// The encoder and its settings, in words.
    public var method: String
    /// Best time to encode the picture, in seconds.
    public var seconds: Double
    /// The file size in bytes.
    public var bytes: Int
    /// Megapixels of the picture.
    public var megapixels: Double
}

extension Diagram {
    /// Draws step `step` at `scale` once, then encodes that surface with each PNG method the
    /// encoder offers (best of `repeats`): the encode table of `Benchmarks/README.md`.
    /// Also returns the number of distinct colours of the picture (nil past 256).
    public func pngEncodeTable(step: Int, scale: Double, repeats: Int = 3) throws(RenderError) -> (colors: Int?, rows: [PNGEncodeTiming]) {
        let painter = Painter(diagram: self)
        let surface = try painter.image(painter.builder.drawing(scene(step: step)), scale: scale)
        let s = surface.pointer
        let w = Int(cairo_image_surface_get_width(s)), h = Int(cairo_image_surface_get_height(s))
        guard let data = cairo_image_surface_get_data(s) else { throw RenderError.cairo("image surface has no pixels") }
        let colors = PNGEncoder.indexedRows(data, width: w, height: h, stride: Int(cairo_image_surface_get_stride(s)), filter: .none)?.palette.count
        if let path = ProcessInfo.processInfo.environment["GRADTRACE_BENCH_DUMP"] {
            let n = h * Int(cairo_image_surface_get_stride(s))
            _ = FileManager.default.createFile(atPath: path + "-\(step)-\(w)x\(h).raw", contents: Data(bytes: data, count: n))
        }
        typealias M = PNGEncoder.Method
        var methods: [M] = [.libpng(level: 1), .libpng(level: 6)]
        for level: Int32 in [1, 6] {
            for f in PNGEncoder.Filter.allCases {
                methods.append(M(deflate: .libdeflate, level: level, palette: false, rgbFilter: f))
            }
        }
        for level: Int32 in [1, 6] {
            for f in [PNGEncoder.Filter.none, .up] {
                methods.append(M(deflate: .libdeflate, level: level, palette: true, indexedFilter: f))
            }
        }
        methods.append(M(deflate: .runs, level: 1, palette: false))
        methods.append(M(deflate: .runs, level: 1, palette: true))
        var rows: [PNGEncodeTiming] = []
        for m in methods {
            var bestTime = Double.infinity, size = 0
            for _ in 0..<max(1, repeats) {
                let start = DispatchTime.now().uptimeNanoseconds
                let bytes = try PNGEncoder.encode(surface: s, method: m)
                bestTime = min(bestTime, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                size = bytes.count
                if let path = ProcessInfo.processInfo.environment["GRADTRACE_BENCH_DUMP"] {
                    _ = FileManager.default.createFile(atPath: path + "-\(step)-m\(rows.count).png", contents: Data(bytes))
                }
            }
            var label = m.description
            if m.palette && colors == nil { label += " (RGB: over 256 colours)" }
            rows.append(PNGEncodeTiming(method: label, seconds: bestTime, bytes: size, megapixels: Double(w * h) / 1e6))
        }
        return (colors, rows)
    }
}
