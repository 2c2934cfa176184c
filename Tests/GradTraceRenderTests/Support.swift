import Foundation
import GradTrace
import GradTraceRender
import Testing

/// Reference files live beside the tests; `GRADTRACE_RECORD=1 swift test` re-records them.
enum Snapshot {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("References")

    static func check(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let url = folder.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["GRADTRACE_RECORD"] == "1" {
            try Data(text.utf8).write(to: url)
            return
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("no reference file \(name): run GRADTRACE_RECORD=1 swift test to record it", sourceLocation: sourceLocation)
            return
        }
        let reference = String(decoding: data, as: UTF8.self)
        if reference != text {
            let a = reference.split(separator: "\n", omittingEmptySubsequences: false)
            let b = text.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            Issue.record("""
                \(name) differs from its reference at line \(first + 1):
                  reference: \(first < a.count ? String(a[first].prefix(200)) : "<end>")
                  actual:    \(first < b.count ? String(b[first].prefix(200)) : "<end>")
                """, sourceLocation: sourceLocation)
        }
    }
}

enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func program(_ sample: String) throws -> Program {
        let url = root.appendingPathComponent("samples/\(sample).grad")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try Program.parse(text, file: sample + ".grad")
    }

    static func diagram(_ sample: String, style: RenderStyle = RenderStyle(), title: String? = nil) throws -> Diagram {
        let p = try program(sample)
        return try Diagram(graph: p.graph, trace: Trace(graph: p.graph, output: p.output), style: style, title: title)
    }

    /// Runs a command-line tool; nil when it cannot start.
    static func run(_ tool: String, _ args: [String], input: Data = Data()) throws -> (status: Int32, out: Data, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + args
        let inPipe = Pipe(), outPipe = Pipe(), errPipe = Pipe()
        p.standardInput = inPipe
        p.standardOutput = outPipe
        p.standardError = errPipe
        try p.run()
        inPipe.fileHandleForWriting.write(input)
        try inPipe.fileHandleForWriting.close()
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, out, String(decoding: err, as: UTF8.self))
    }
}
