import Testing
@testable import GradTrace

/// The one table writer, against a plain reference: columns padded to their widest cell in characters,
/// two spaces between columns, trailing spaces dropped. Rows of multibyte cells (three bytes a character)
/// that cross the writer's 64 KiB chunks: the core fuzzer found a tensor trace whose rows held more bytes
/// than the chunk's spare room was sized for (Fuzz/regressions/trace-table-wide-multibyte-rows.grad).
@Suite("text tables")
struct TextTableTests {
    @Test("multibyte rows across chunk boundaries are padded by characters, bytes intact")
    func multibyteRows() {
        var table = TextTable(columns: 3, rightAligned: [1])
        var rows: [[String]] = []
        for r in 0..<4000 {
            let row = [String(repeating: "∂", count: 1 + r % 97), String(r), String(repeating: "Σ⊙", count: r % 53)]
            rows.append(row)
            for c in row { table.cell(c) }
        }
        var out = ""
        table.write(to: &out)
        let widths = (0..<3).map { c in rows.map { $0[c].count }.max()! }
        var expected = ""
        for row in rows {
            var line = ""
            for (c, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                line += c == 1 ? pad + cell : cell + pad
                if c < 2 { line += "  " }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            expected += line + "\n"
        }
        #expect(out.utf8.count > 3 << 16)
        #expect(out == expected)
    }
}
