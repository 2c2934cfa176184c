/// Makes Cairo's SVG byte-stable and a little friendlier.
///
/// Cairo numbers its `<g id="surfaceN">` groups from a process-wide counter, so the same
/// picture drawn twice in one process differs; every `surfaceN` is renumbered in order of
/// first appearance. A `<title>` and `<desc>` (the step caption) are added for accessibility.
enum SVGNormalizer {
    static func normalize(_ bytes: [UInt8], title: String?, description: String) -> [UInt8] {
        let key = Array("surface".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 256)
        var numbers: [[UInt8]: Int] = [:]
        var i = 0
        let n = bytes.count
        var insertedMeta = false
        while i < n {
            if bytes[i] == 115, i + key.count < n, Array(bytes[i..<(i + key.count)]) == key {  // "surface"
                var j = i + key.count
                while j < n, bytes[j] >= 48, bytes[j] <= 57 { j += 1 }
                if j > i + key.count {
                    let digits = Array(bytes[(i + key.count)..<j])
                    let k = numbers[digits] ?? (numbers.count + 1)
                    numbers[digits] = k
                    out.append(contentsOf: key)
                    out.append(contentsOf: Array(String(k).utf8))
                    i = j
                    continue
                }
            }
            out.append(bytes[i])
            // After the opening <svg …> tag, add a title and a description.
            if !insertedMeta && bytes[i] == 62, out.count > 4, containsSVGOpen(out) {
                insertedMeta = true
                var meta = "\n"
                if let title, !title.isEmpty { meta += "<title>\(xml(title))</title>\n" }
                meta += "<desc>\(xml(description))</desc>"
                out.append(contentsOf: Array(meta.utf8))
            }
            i += 1
        }
        return out
    }

    private static func containsSVGOpen(_ out: [UInt8]) -> Bool {
        // True when the tag just closed is the <svg …> element.
        var k = out.count - 1
        while k > 0 && out[k] != 60 { k -= 1 }  // '<'
        return k + 4 < out.count && out[k + 1] == 115 && out[k + 2] == 118 && out[k + 3] == 103  // "svg"
    }

    /// Text for SVG and HTML: the markup characters as entities; control characters other than
    /// newline and tab dropped (the one escaping rule shared with DOT's HTML-like labels).
    static func xml(_ s: String) -> String { DOTEscaping.markup(s, keepingLineBreaks: true) }
}
