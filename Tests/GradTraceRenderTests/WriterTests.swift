import Foundation
@testable import GradTraceRender
import Testing

struct WriterTests {
    func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "gradtrace-writer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    @Test func writesAtomicallyAndSkipsUnchanged() throws {
        let d = try tempDir()
        let path = d + "/out.txt"
        #expect(try Writer().write(Array("one".utf8), to: path) == .written)
        let before = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as! Date
        Thread.sleep(forTimeInterval: 0.05)
        #expect(try Writer().write(Array("one".utf8), to: path) == .unchanged)
        let after = try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as! Date
        #expect(before == after)
        #expect(try Writer().write(Array("two".utf8), to: path) == .written)
        #expect(String(decoding: FileManager.default.contents(atPath: path)!, as: UTF8.self) == "two")
        // No temporary files are left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: d) == ["out.txt"])
    }

    @Test func refusesTheInput() throws {
        let d = try tempDir()
        let input = d + "/prog.grad"
        try Data("x = 1\n".utf8).write(to: URL(fileURLWithPath: input))
        #expect(throws: RenderError.self) { try Writer(protecting: [input]).write([1, 2, 3], to: d + "/./prog.grad") }
        #expect(String(decoding: FileManager.default.contents(atPath: input)!, as: UTF8.self) == "x = 1\n")
    }

    @Test func missingFolderIsAnError() {
        #expect(throws: RenderError.self) { try Writer().write([1], to: "/nonexistent-folder-gradtrace/x.png") }
    }
}
