// libFuzzer harness for Markdown documents: built by scripts/fuzz.sh with every source of
// Sources/GradTrace and Sources/GradTraceRender as one module (`swiftc -sanitize=fuzzer,address`).
//
// For each input: scan it for fences (HTML blocks skipped) and check the ranges; for every gradtrace
// fence, read its options, write them back as an info string in reverse order and read that again
// (the normalized options, which key the images, must not change), and parse its body with its
// at= and seed= values as `gradtrace markdown` does, tracing small programs. Nothing is drawn.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMarkdown(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let fences = MarkdownFences.scan(bytes)
    var end = 0
    for f in fences {
        // Fences are in order, do not overlap, and lie inside the document.
        guard f.range.lowerBound >= end, f.range.upperBound <= bytes.count, !f.range.isEmpty else {
            fatalError("fence at \(f.range) after \(end) in \(bytes.count) bytes")
        }
        end = f.range.upperBound
        guard f.language == "gradtrace", let options = try? MarkdownBlockOptions.parse(f.info) else { continue }
        roundTrip(f.info, options)
        guard f.content.count <= 2048 else { continue }
        var overrides: [String: Tensor] = [:]
        for o in options.at { overrides[o.name] = o.asTensor }
        guard let program = try? Program.parse(bytes: f.content, file: "<fence>", values: overrides, seed: options.seed) else { continue }
        if let t = program.tensor {
            if t.graph.count <= 64 { _ = TensorTrace(graph: t.graph, output: t.output, granularity: .node).steps.count }
        } else if program.graph.count <= 500 {
            _ = Trace(graph: program.graph, output: program.output, granularity: .node).steps.count
        }
    }
    return 0
}

/// The options written back (quoted, escaped, in reverse order) read back to the same normalized key.
func roundTrip(_ info: String, _ options: MarkdownBlockOptions) {
    guard let words = try? MarkdownBlockOptions.words(info) else { fatalError("parse accepted what words refused: \(info)") }
    var text = "gradtrace"
    for w in words.reversed() {
        text += " " + w.key
        if let v = w.value {
            var q = "\""
            for c in v.unicodeScalars {
                if c == "\"" || c == "\\" { q += "\\" }
                q.unicodeScalars.append(c)
            }
            text += "=" + q + "\""
        }
    }
    let again: MarkdownBlockOptions
    do { again = try MarkdownBlockOptions.parse(text) } catch {
        fatalError("options written back do not parse: \(text.debugDescription): \(error)")
    }
    for format in MarkdownBlockOptions.ImageFormat.allCases where again.normalized(defaultFormat: format) != options.normalized(defaultFormat: format) {
        fatalError("the image key changed when the options were written back: \(info.debugDescription) → \(text.debugDescription)")
    }
}
