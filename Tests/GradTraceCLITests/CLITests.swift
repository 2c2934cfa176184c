import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// These tests run the built `gradtrace` executable as a user would: arguments, standard input,
// exit status, standard output and standard error.

/// The package root: this file is Tests/GradTraceCLITests/CLITests.swift.
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let samples = packageRoot.appendingPathComponent("samples")

/// Finds the `gradtrace` binary built beside the test binary.
///
/// SwiftPM puts every product of a build in one folder: on Linux the test runner is
/// `<products>/<Package>PackageTests.xctest` (a plain executable), on macOS it lives inside that
/// bundle. `GRADTRACE_BIN` overrides the search.
let gradtraceURL: Result<URL, CLITestError> = {
    #if canImport(Glibc)
    signal(SIGPIPE, SIG_IGN)  // a child that exits early must not kill the test process through a pipe write
    #endif
    let fm = FileManager.default
    var candidates: [URL] = []
    if let env = ProcessInfo.processInfo.environment["GRADTRACE_BIN"], !env.isEmpty {
        candidates.append(URL(fileURLWithPath: env))
    }
    let cwd = URL(fileURLWithPath: fm.currentDirectoryPath, isDirectory: true)
    var starts: [URL] = []
    if let arg0 = CommandLine.arguments.first { starts.append(URL(fileURLWithPath: arg0, relativeTo: cwd).standardizedFileURL) }
    if let exe = Bundle.main.executableURL { starts.append(exe.standardizedFileURL) }
    starts.append(Bundle.main.bundleURL.standardizedFileURL)
    for start in starts {
        var dir = start.deletingLastPathComponent()
        // Walk up out of a .xctest bundle (macOS) to the products folder.
        var probe = start
        while probe.pathComponents.count > 1 {
            if probe.pathExtension == "xctest" { dir = probe.deletingLastPathComponent(); break }
            probe = probe.deletingLastPathComponent()
        }
        candidates.append(dir.appendingPathComponent("gradtrace"))
    }
    candidates.append(packageRoot.appendingPathComponent(".build/debug/gradtrace"))
    for c in candidates where fm.isExecutableFile(atPath: c.path) {
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: c.path, isDirectory: &isDir), !isDir.boolValue { return .success(c) }
    }
    return .failure(CLITestError("gradtrace binary not found; looked at: " + candidates.map(\.path).joined(separator: ", ")
        + ". Build it first (swift build --build-tests) or set GRADTRACE_BIN."))
}()

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A folder for files the tests write, inside the build folder next to the binary.
func scratchDirectory() throws -> URL {
    let dir = try gradtraceURL.get().deletingLastPathComponent().appendingPathComponent("gradtrace-cli-tests", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    var stdoutBytes: Data
}

/// Reads a pipe to its end on a thread of its own (so a full pipe never blocks the child).
private final class PipeReader: @unchecked Sendable {
    private let handle: FileHandle
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        self.handle = handle
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func result() -> Data {
        done.wait()
        return data
    }
}

private final class ProcessBox: @unchecked Sendable {
    let process: Process
    init(_ p: Process) { process = p }
}

/// Runs `gradtrace` with `arguments`, feeding `stdin` (or nothing), with a time limit.
func gradtrace(_ arguments: [String], stdin: Data? = nil, timeout: Double = 60) throws -> Run {
    let p = Process()
    p.executableURL = try gradtraceURL.get()
    p.arguments = arguments
    p.currentDirectoryURL = packageRoot
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    let outReader = PipeReader(out.fileHandleForReading)
    let errReader = PipeReader(err.fileHandleForReading)
    let box = ProcessBox(p)
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
        if box.process.isRunning { box.process.terminate() }
    }
    if let stdin {
        // The child may exit without reading everything (an early error): that is not a test failure.
        try? input.fileHandleForWriting.write(contentsOf: stdin)
    }
    try? input.fileHandleForWriting.close()
    let o = outReader.result(), e = errReader.result()
    p.waitUntilExit()
    if p.terminationReason == .uncaughtSignal {
        throw CLITestError("gradtrace \(arguments) was killed by signal \(p.terminationStatus) (time limit \(timeout) s?)")
    }
    return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
               stderr: String(decoding: e, as: UTF8.self), stdoutBytes: o)
}

func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
}

func number(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }

/// The `dOUT/dIN = V` lines of `gradtrace grad`, as a dictionary by input name.
private func gradLines(_ text: String) -> [String: Double] {
    var out: [String: Double] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("d") {
        let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let slash = parts[0].firstIndex(of: "/"), let v = Double(parts[1]) else { continue }
        out[String(parts[0][parts[0].index(slash, offsetBy: 2)...])] = v
    }
    return out
}

/// A malformed program and where gradtrace must say the problem is.
struct BadProgram: Sendable, CustomTestStringConvertible {
    var source: String
    var location: String  // "LINE:COL"
    var fragment: String
    var testDescription: String { source.debugDescription }
}

private let badPrograms: [BadProgram] = [
    BadProgram(source: "x = 1\ny = x +\n", location: "2:8", fragment: "expected an operand after '+'"),
    BadProgram(source: "x = 1\ny = (x + 1\n", location: "2:11", fragment: "expected ')'"),
    BadProgram(source: "x = 1\ny = x + 1)\n", location: "2:10", fragment: "unbalanced ')'"),
    BadProgram(source: "x = 1\ny = foo(x)\n", location: "2:5", fragment: "unknown function 'foo'"),
    BadProgram(source: "x = 1\ny = z * x\n", location: "2:5", fragment: "undefined name 'z'"),
    BadProgram(source: "x = 1\ny = sin(x, 2)\n", location: "2:5", fragment: "sin takes 1 argument, got 2"),
    BadProgram(source: "x = 1\ny = pow(x)\n", location: "2:5", fragment: "pow takes 2 arguments, got 1"),
    BadProgram(source: "x = 1\ny = 1e * x\n", location: "2:5", fragment: "malformed number '1e'"),
    BadProgram(source: "x = 1\ny = 2x\n", location: "2:5", fragment: "malformed number '2x'"),
    BadProgram(source: "= 3\n", location: "1:1", fragment: "expected a name"),
    BadProgram(source: "x = 1\ny = x $ 2\n", location: "2:7", fragment: "unexpected '$'"),
    BadProgram(source: "", location: "1:1", fragment: "empty program"),
]

@Suite("the gradtrace command line", .serialized)
struct CLITests {
    @Test("the binary is found")
    func binaryFound() throws {
        let url = try gradtraceURL.get()
        #expect(FileManager.default.isExecutableFile(atPath: url.path))
    }

    @Test("grad --json samples/loss.grad: dL/dw = 1248")
    func gradJSONLoss() throws {
        let r = try gradtrace(["grad", "--json", "samples/loss.grad"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty)
        let o = try json(r.stdout)
        #expect(o["output"] as? String == "L")
        #expect(number(o["value"]) == 676)
        let inputs = try #require(o["inputs"] as? [String: Any])
        #expect(number((inputs["w"] as? [String: Any])?["grad"]) == 1248)
        #expect(number((inputs["x"] as? [String: Any])?["grad"]) == 1872)
        #expect(number((inputs["target"] as? [String: Any])?["grad"]) == -52)
    }

    @Test("an absolute path works too, and the text form lists every input")
    func gradTextAbsolutePath() throws {
        let r = try gradtrace(["grad", samples.appendingPathComponent("loss.grad").path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == "L = 676\ndL/dx = 1872\ndL/dw = 1248\ndL/dtarget = -52\n")
    }

    @Test("trace - reads the program from standard input")
    func traceFromStdin() throws {
        let program = try Data(contentsOf: samples.appendingPathComponent("loss.grad"))
        let r = try gradtrace(["trace", "-"], stdin: program)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.hasPrefix("L = 676\n"))
        #expect(r.stdout.contains("dL/dw = 1248\n"))
        #expect(r.stdout.contains("step"))
        let j = try gradtrace(["trace", "--json", "-"], stdin: program)
        #expect(j.status == 0)
        let o = try json(j.stdout)
        #expect((o["steps"] as? [Any])?.count == 4)  // w·x, u², output − target, (…)²
        let e = try gradtrace(["trace", "--json", "--granularity", "edge", "-"], stdin: program)
        #expect(try json(e.stdout)["granularity"] as? String == "edge")
        #expect((try json(e.stdout)["steps"] as? [Any])?.count == 6)  // 2 + 1 + 2 + 1 edges
    }

    @Test("-e gives the program on the command line")
    func expressionOption() throws {
        let r = try gradtrace(["grad", "-e", "x = 2; y = x*3 + x*4"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == "y = 14\ndy/dx = 7\n")
        let t = try gradtrace(["trace", "-e", "x = 2; y = x*3 + x*4"])
        #expect(t.status == 0)
        #expect(t.stdout.contains("(sum)"))
    }

    @Test("--at w=4 overrides the input")
    func atOverride() throws {
        let r = try gradtrace(["grad", "samples/loss.grad", "--at", "w=4"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.hasPrefix("L = 2916\n"))
        #expect(gradLines(r.stdout)["w"] == 3456)
        let two = try gradtrace(["grad", "samples/loss.grad", "--at", "w=4", "--at", "x=1"])
        #expect(two.stdout.hasPrefix("L = 36\n"), "(4·1)² = 16, (16 − 10)² = 36: \(two.stdout)")
    }

    @Test("--result u reports u and its gradients")
    func resultOption() throws {
        let r = try gradtrace(["grad", "samples/loss.grad", "--result", "u"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout == "u = 6\ndu/dx = 3\ndu/dw = 2\ndu/dtarget = 0\n")
    }

    @Test("malformed programs: exit 2, a located message on stderr, nothing on stdout", arguments: badPrograms)
    func malformed(_ bad: BadProgram) throws {
        // through -e
        let e = try gradtrace(["grad", "-e", bad.source])
        #expect(e.status == 2)
        #expect(e.stdoutBytes.isEmpty, "stdout: \(e.stdout)")
        #expect(e.stderr.hasPrefix("<expr>:\(bad.location): error: "), "stderr: \(e.stderr)")
        #expect(e.stderr.contains(bad.fragment), "stderr: \(e.stderr)")
        // through standard input, with trace
        let s = try gradtrace(["trace", "-"], stdin: Data(bad.source.utf8))
        #expect(s.status == 2)
        #expect(s.stdoutBytes.isEmpty, "stdout: \(s.stdout)")
        #expect(s.stderr.hasPrefix("<stdin>:\(bad.location): error: "), "stderr: \(s.stderr)")
        // the message shows the line and a caret under the column
        let lines = e.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        let column = Int(bad.location.split(separator: ":")[1])!
        #expect(lines.count >= 3)
        if lines.count >= 3 { #expect(lines[2] == Substring(String(repeating: " ", count: column - 1) + "^")) }
    }

    @Test("a malformed file is located by its path; check and trace --json fail the same way")
    func malformedFile() throws {
        let file = try scratchDirectory().appendingPathComponent("bad.grad")
        try Data("x = 1\ny = x +\n".utf8).write(to: file)
        for command in [["grad"], ["trace", "--json"], ["check"]] {
            let r = try gradtrace(command + [file.path])
            #expect(r.status == 2, "\(command)")
            #expect(r.stdoutBytes.isEmpty, "\(command): stdout \(r.stdout)")
            #expect(r.stderr.hasPrefix("\(file.path):2:8: error: expected an operand after '+'"), "\(command): \(r.stderr)")
        }
    }

    @Test("invalid UTF-8 on stdin: exit 2, the line, nothing on stdout")
    func invalidUTF8() throws {
        let r = try gradtrace(["grad", "-"], stdin: Data([0x78, 0x20, 0x3D, 0x20, 0x31, 0x0A, 0x79, 0xFF, 0x0A]))
        #expect(r.status == 2)
        #expect(r.stdoutBytes.isEmpty)
        #expect(r.stderr.hasPrefix("<stdin>:2:1: error:"), "stderr: \(r.stderr)")
        #expect(r.stderr.contains("not UTF-8"))
    }

    @Test("usage errors exit 2 with a message and empty stdout", arguments: [
        (["grad", "samples/loss.grad", "--at", "q=1"], "unknown input 'q'"),
        (["grad", "samples/loss.grad", "--at", "u=1"], "unknown input 'u'"),
        (["grad", "samples/loss.grad", "--at", "w=abc"], "is not a number"),
        (["grad", "samples/loss.grad", "--at", "w"], "NAME=VALUE"),
        (["grad", "samples/loss.grad", "--at", "=3"], "name"),
        (["grad", "samples/loss.grad", "--result", "nope"], "unknown name 'nope'"),
        (["grad"], "missing INPUT"),
        (["trace", "--json"], "missing INPUT"),
        (["grad", "samples/loss.grad", "-e", "x = 1"], "not both"),
        (["grad", "samples/does-not-exist.grad"], "cannot read"),
        (["grad", "samples"], "directory"),
        (["trace", "samples/loss.grad", "--granularity", "leaf"], "granularity"),
        (["frobnicate"], "frobnicate"),
    ] as [([String], String)])
    func usageErrors(_ args: [String], _ fragment: String) throws {
        let r = try gradtrace(args)
        #expect(r.status == 2, "\(args): status \(r.status), stderr \(r.stderr)")
        #expect(r.stdoutBytes.isEmpty, "\(args): stdout \(r.stdout)")
        #expect(r.stderr.contains(fragment), "\(args): stderr \(r.stderr)")
    }

    @Test("check: exit 0 on a sample, 0 for an excused kink, 1 when a gradient disagrees")
    func check() throws {
        let ok = try gradtrace(["check", "samples/neuron.grad"])
        #expect(ok.status == 0, "stdout: \(ok.stdout) stderr: \(ok.stderr)")
        #expect(ok.stdout.contains("5 of 5 gradients of o agree"))
        let kink = try gradtrace(["check", "-e", "x = 0; y = relu(x)"])
        #expect(kink.status == 0)
        #expect(kink.stdout.contains("excused"))
        let bad = try gradtrace(["check", "-e", "x = 100000000; y = sin(x)"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("FAILED"))
    }

    @Test("check passes on every sample")
    func checkAllSamples() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: samples.path).filter { $0.hasSuffix(".grad") }
        #expect(files.count >= 10)
        for f in files {
            let r = try gradtrace(["check", "samples/" + f])
            #expect(r.status == 0, "\(f): \(r.stdout) \(r.stderr)")
        }
    }

    @Test("--help and --version exit 0 with text on stdout")
    func help() throws {
        let h = try gradtrace(["--help"])
        #expect(h.status == 0)
        for sub in ["trace", "grad", "check"] { #expect(h.stdout.contains(sub), "help lacks \(sub)") }
        let g = try gradtrace(["grad", "--help"])
        #expect(g.status == 0)
        #expect(g.stdout.contains("--at"))
        #expect(g.stdout.contains("--result"))
        // Drawing options take their help from the one option table that fences read too (OptionSchema).
        let r = try gradtrace(["render", "--help"])
        let words = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("nodes drawn as small boxes (tensor graphs: with each step's nodes in full under them) and, last, the graph split by module into bands"))
        #expect(words.contains("Node colours: state (default) or grad"))
        let v = try gradtrace(["--version"])
        #expect(v.status == 0)
        #expect(!v.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    @Test("a 10⁵-line chain file through grad (and through stdin)")
    func longChain() throws {
        let n = 100_000
        var text = "x = 0.5\ny = x * 1.00001\n"
        text.reserveCapacity(16 * n)
        for _ in 1..<n { text += "y *= 1.00001\n" }
        let file = try scratchDirectory().appendingPathComponent("chain.grad")
        try Data(text.utf8).write(to: file)
        var value = 0.5, derivative = 1.0
        for _ in 0..<n { value *= 1.00001; derivative *= 1.00001 }
        for run in [try gradtrace(["grad", file.path]), try gradtrace(["grad", "-"], stdin: Data(text.utf8))] {
            #expect(run.status == 0, "stderr: \(run.stderr)")
            let lines = run.stdout.split(separator: "\n")
            #expect(lines.count == 2)
            // Text output: 12 significant digits (JSON keeps every digit).
            #expect(lines.first.map(String.init) == "y = \(Double(String(format: "%.12g", value))!)")
            let g = try #require(gradLines(run.stdout)["x"])
            #expect(abs(g - derivative) <= 1e-12 * derivative, "dy/dx = \(g), expected \(derivative)")
        }
    }
}
