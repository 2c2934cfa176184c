import Foundation
import Testing

/// Splitting by module through the command line: `render --max-width` as SVG and DOT, and a Markdown fence,
/// on the scalar MLP demo and two transformer blocks (both wider than 660 pt even as small boxes, and taller than their shape once split).
@Suite(.serialized)
struct BandsCLITests {
    func folder() throws -> URL {
        let d = try scratchDirectory().appendingPathComponent("bands", isDirectory: true)
        try? FileManager.default.removeItem(at: d)
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// The SVG's width in points.
    func svgWidth(_ url: URL) throws -> Double {
        let text = try String(contentsOf: url, encoding: .utf8)
        let w = try #require(text.firstRange(of: "width=\""))
        let rest = text[w.upperBound...]
        return try #require(Double(rest.prefix { $0.isNumber || $0 == "." }))
    }

    /// A collapsed view that cannot fit is not told to collapse, and is told why it was not split.
    @Test func aCollapsedViewsWarningAdvisesWhatItCanDo() throws {
        let svg = try folder().appendingPathComponent("c.svg")
        for (sample, level) in [("samples/mlp-demo.grad", "neuron"), ("samples/tensors/transformer-block.grad", "module")] {
            let r = try gradtrace(["render", sample, "--collapse", level, "--max-width", "300", "-o", svg.path], timeout: 120)
            #expect(r.status == 0 && r.stderr.contains("a collapsed view is not split by module"), "\(sample): \(r.stderr)")
            #expect(!r.stderr.contains("collapse it ("), "\(sample): \(r.stderr)")
        }
    }

    @Test func modulePicturesFitTheirWidthAndSayHowTall() throws {
        let d = try folder()
        for sample in ["samples/mlp-demo.grad", "samples/tensors/two-blocks.grad"] {
            let svg = d.appendingPathComponent("p.svg"), dot = d.appendingPathComponent("p.dot")
            let r = try gradtrace(["render", sample, "--max-width", "660", "-o", svg.path], timeout: 120)
            // Both fit as strips of bands taller than their shape (19:1 and 3.7:1): a warning advises collapsing.
            #expect(r.status == 0 && r.stderr.contains("times as tall as it is wide: collapse it (--collapse"), "\(sample): \(r.stderr)")
            #expect(try svgWidth(svg) <= 660, "\(sample)")
            // DOT honours the same rung: the bands, pinned, with their proxies.
            let g = try gradtrace(["render", sample, "--max-width", "660", "-o", dot.path], timeout: 120)
            #expect(g.status == 0, "\(sample): \(g.stderr)")
            let text = try String(contentsOf: dot, encoding: .utf8)
            #expect(text.contains("split by module into bands") && text.contains("_proxy") && text.contains("neato -n2"), "\(sample)")
        }
        // A fence with max-width=660 draws the same bands, with the same warning (on its line).
        let md = d.appendingPathComponent("doc.md")
        let program = try String(contentsOf: packageRoot.appendingPathComponent("samples/tensors/two-blocks.grad"), encoding: .utf8)
        try ("# Two blocks\n\n```gradtrace max-width=660\n" + program + "```\n").write(to: md, atomically: true, encoding: .utf8)
        let out = d.appendingPathComponent("out.md")
        let m = try gradtrace(["markdown", md.path, "-o", out.path], timeout: 120)
        #expect(m.status == 0 && m.stderr.contains("times as tall as it is wide"), "\(m.stderr)")
    }
}
