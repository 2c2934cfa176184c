import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs a bash script with `$BIN` set to the gradtrace binary and `$D` to a fresh folder, from
/// the package root: for what needs redirections (a full disk, a closed stdout, stdin from a file).
func shell(_ script: String, timeout: Double = 60) throws -> (status: Int32, out: String, err: String, dir: URL) {
    let dir = try scratchDirectory().appendingPathComponent("safety-\(UUID().uuidString.prefix(8))", isDirectory: true)
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = ["-c", script]
    p.currentDirectoryURL = packageRoot
    var env = ProcessInfo.processInfo.environment
    env["BIN"] = try gradtraceURL.get().path
    env["D"] = dir.path
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { p.terminate(); throw CLITestError("script timed out after \(timeout) s: \(script)") }
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self), dir)
}

private func fileType(_ path: String) -> mode_t {
    var st = stat()
    return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
}

/// Each test here failed before the output-safety fixes (issue 13).
@Suite("output safety and hostile input", .serialized)
struct SafetyCLITests {
    @Test("-o into a FIFO or a device node writes into it and keeps it")
    func specialFilesAreNotReplaced() throws {
        let r = try shell("""
            mkfifo "$D/p" && (cat "$D/p" > "$D/got" &) && "$BIN" render samples/loss.grad -o "$D/p" --format svg || exit 9
            mknod "$D/null" c 1 3 && "$BIN" render samples/loss.grad -o "$D/null" --format svg || exit 8
            sleep 0.2
            """)
        #expect(r.status == 0, "\(r.err)")
        #expect(fileType(r.dir.appendingPathComponent("p").path) == S_IFIFO, "the FIFO was replaced")
        #expect(fileType(r.dir.appendingPathComponent("null").path) == S_IFCHR, "the device node was replaced")
        let got = try String(contentsOf: r.dir.appendingPathComponent("got"), encoding: .utf8)
        #expect(got.hasPrefix("<?xml"), "the FIFO's reader got \(got.prefix(40))")
    }

    @Test("write errors on standard output exit non-zero with a message")
    func stdoutErrors() throws {
        for command in ["\"$BIN\" trace samples/mlp-demo.grad > /dev/full",
                        "\"$BIN\" render samples/loss.grad -o - --format svg > /dev/full",
                        "\"$BIN\" grad samples/loss.grad >&-"] {
            let r = try shell(command)
            #expect(r.status == 2, "\(command): exit \(r.status)")
            #expect(r.err.contains("cannot write to standard output"), "\(command): \(r.err)")
        }
    }

    @Test("a signal during a write removes the temporary file and ends with the signal's status")
    func signalsRemoveTemporaryFiles() throws {
        for (signal, status) in [("TERM", 143), ("INT", 130), ("HUP", 129)] {
            // Job control on, so that the background job does not start with SIGINT ignored.
            let r = try shell("""
                set -m
                mkdir "$D/f"
                GRADTRACE_TEST_STALL_WRITES=1 "$BIN" frames samples/loss.grad -o "$D/f" &
                pid=$!
                for i in $(seq 100); do ls -a "$D/f" | grep -q '\\.tmp$' && break; sleep 0.1; done
                ls -a "$D/f" | grep -q '\\.tmp$' || { echo "no temporary file seen"; kill $pid; exit 7; }
                kill -\(signal) $pid; wait $pid; echo "status $?"
                ls -a "$D/f" | grep '\\.tmp$' || true
                """)
            #expect(r.out.contains("status \(status)"), "SIG\(signal): \(r.out) \(r.err)")
            #expect(!r.out.contains(".tmp"), "SIG\(signal) left a temporary file: \(r.out)")
        }
    }

    @Test("the file standard input comes from is never the output")
    func stdinInputIsKept() throws {
        let r = try shell("""
            cp samples/loss.grad "$D/i.grad"; cp samples/docs/guide.md "$D/g.md"
            "$BIN" render - -o "$D/i.grad" --format svg < "$D/i.grad"; echo "render $?"
            "$BIN" markdown - -o "$D/g.md" < "$D/g.md"; echo "markdown $?"
            cmp samples/loss.grad "$D/i.grad" && cmp samples/docs/guide.md "$D/g.md" && echo kept
            ls "$D" | grep -c . 
            """)
        #expect(r.out.contains("render 2") && r.out.contains("markdown 2") && r.out.contains("kept"), "\(r.out) \(r.err)")
        #expect(r.err.contains("refusing to write over the input"))
        #expect(r.out.hasSuffix("2\n"), "something else was written: \(r.out)")
    }

    @Test("replacing an output keeps its permissions")
    func modeIsKept() throws {
        let r = try shell("""
            "$BIN" render samples/loss.grad -o "$D/m.svg" && chmod 600 "$D/m.svg" && "$BIN" render samples/loss.grad -o "$D/m.svg" --step 2
            stat -c %a "$D/m.svg"
            """)
        #expect(r.out == "600\n", "\(r.out) \(r.err)")
    }

    @Test("frames removes only the frames its own manifest listed")
    func framesLeavesForeignFiles() throws {
        let r = try shell("""
            mkdir "$D/f" && echo mine > "$D/f/step-5.png" && echo mine > "$D/f/step-099.svg"
            "$BIN" frames samples/neuron.grad -o "$D/f" > /dev/null && "$BIN" frames samples/loss.grad -o "$D/f" > /dev/null
            ls "$D/f" | tr '\\n' ' '; echo
            mkdir "$D/g" && echo '{"mine": true}' > "$D/g/manifest.json"
            "$BIN" frames samples/loss.grad -o "$D/g"; echo "foreign $?"; cat "$D/g/manifest.json"
            cd "$D" && "$BIN" frames "$OLDPWD/samples/loss.grad" -o -; echo "dash $?"; ls -d -- - 2>/dev/null
            """)
        let lines = r.out.split(separator: "\n").map(String.init)
        #expect(lines.first == "manifest.json step-000.png step-001.png step-002.png step-003.png step-004.png step-099.svg step-5.png ",
                "\(r.out) \(r.err)")
        #expect(r.out.contains("foreign 2") && r.out.contains(#"{"mine": true}"#), "\(r.out)")
        #expect(r.err.contains("was not written by gradtrace frames"), "\(r.err)")
        #expect(r.out.contains("dash 2") && !lines.contains("-"), "\(r.out)")
    }

    @Test("markdown on a folder skips a FIFO named *.md")
    func markdownSkipsFIFOs() throws {
        let r = try shell("""
            mkdir "$D/docs" && mkfifo "$D/docs/pipe.md" && printf '# hi\\n' > "$D/docs/a.md"
            "$BIN" markdown "$D/docs" -o "$D/out"; echo "exit $?"; ls "$D/out"
            """, timeout: 30)
        #expect(r.out.contains("exit 0") && r.out.contains("a.md") && !r.out.contains("pipe.md"), "\(r.out) \(r.err)")
    }

    @Test("a 20 kB title gives DOT that Graphviz reads")
    func longTitleDOT() throws {
        let r = try shell("""
            "$BIN" render samples/loss.grad -o "$D/a.dot" --title "$(printf 'A%.0s' $(seq 20000))" && dot -Tcanon "$D/a.dot" > /dev/null && echo ok
            """)
        #expect(r.out == "ok\n", "\(r.out) \(r.err.prefix(300))")
    }

    @Test("a UTF-8 byte-order mark is skipped; invisible and bidi characters in names are located errors")
    func bomAndInvisibleNames() throws {
        let bom = try gradtrace(["grad", "-"], stdin: Data([0xEF, 0xBB, 0xBF] + Array("x = 2\nL = x * 3\n".utf8)))
        #expect(bom.status == 0 && bom.stdout.contains("dL/dx = 3"), "\(bom.stdout) \(bom.stderr)")
        for (bad, code, column) in [("x\u{200B}y", "U+200B", 2), ("a\u{202E}b", "U+202E", 2), ("\u{00A0}x", "U+00A0", 1), ("w\u{2066}", "U+2066", 2)] {
            let r = try gradtrace(["grad", "-e", "\(bad) = 2; L = \(bad) * 3"])
            #expect(r.status == 2 && r.stdout.isEmpty)
            #expect(r.stderr.contains("<expr>:1:\(column): error: the name"), "\(r.stderr)")
            #expect(r.stderr.contains(code), "\(r.stderr)")
            #expect(!r.stderr.contains("\u{202E}") && !r.stderr.contains("\u{2066}"), "a bidi control echoed raw")
        }
    }

    @Test("check samples inputs when checking all would take too long, and says so")
    func checkIsBounded() throws {
        var program = ""
        for i in 0..<30_000 { program += "x\(i) = \(i % 7)\n" }
        program += "L = " + (0..<30_000).map { "x\($0)" }.joined(separator: " + ") + "\n"
        let r = try gradtrace(["check", "-"], stdin: Data(program.utf8), timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Checked an even sample of"), "\(r.stdout.suffix(300))")
    }

    @Test("option values: empty --layers item, repeated --at, out-of-range and hexadecimal numbers")
    func strictOptions() throws {
        let cases: [([String], String)] = [
            (["generate", "mlp", "--layers", "4,,1", "-o", "-"], "--layers"),
            (["grad", "-e", "x = 1; L = x*2", "--at", "x=1", "--at", "x=2"], "given twice"),
            (["grad", "-e", "x = 1; L = x*2", "--at", "x=1e309"], "out of range"),
            (["grad", "-e", "x = 1; L = x*2", "--at", "x=0x10"], "is not a number"),
        ]
        for (args, fragment) in cases {
            let r = try gradtrace(args)
            #expect(r.status == 2 && r.stdout.isEmpty, "\(args): exit \(r.status)")
            #expect(r.stderr.contains(fragment), "\(args): \(r.stderr)")
        }
    }

    @Test("Markdown alt text drops ESC and DEL")
    func altTextControls() throws {
        let dir = try scratchDirectory().appendingPathComponent("safety-alt", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let md = "```gradtrace alt=\"a\u{1B}[31mred\u{7F}\"\nx = 2\nL = x*3\n```\n"
        try Data(md.utf8).write(to: dir.appendingPathComponent("a.md"))
        let r = try gradtrace(["markdown", dir.appendingPathComponent("a.md").path, "-o", dir.appendingPathComponent("b.md").path])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try String(contentsOf: dir.appendingPathComponent("b.md"), encoding: .utf8)
        #expect(out.contains("![a\\[31mred]") && !out.contains("\u{1B}") && !out.contains("\u{7F}"), "\(out)")
    }
}
