import GradTrace
import GradTraceFiles

#if canImport(Glibc)
import Glibc
#endif

/// Buffered standard output as a `TextOutputStream` (large traces are written in big chunks).
///
/// A failed write (a full disk, a closed descriptor) is remembered, not ignored: ``finish()``
/// reports it, so `gradtrace trace … > /dev/full` exits non-zero.
package final class StandardOutput: UTF8OutputStream, @unchecked Sendable {
    package static let shared = StandardOutput()
    private var buffer: [UInt8] = []
    /// Why standard output could not be written, once a write has failed.
    private(set) var failure: String?

    package func write(_ string: String) {
        buffer.append(contentsOf: string.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    package func write(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        if buffer.count + bytes.count > 1 << 16 { flush() }
        if bytes.count >= 1 << 16 {
            writeAll(UnsafeRawBufferPointer(bytes))
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    package func write(bytes: [UInt8]) {
        flush()
        writeAll(bytes)
    }

    package func flush() {
        guard !buffer.isEmpty else { return }
        writeAll(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, then throws when any write to standard output failed.
    package func finish() throws {
        flush()
        if let failure { throw CLIError("cannot write to standard output: \(failure)") }
    }

    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { writeAll($0) }
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        if StandardStreams.outputWasClosed { failure = "it is closed"; return }
        do {
            var off = 0
            while off < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + off, raw.count - off)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { failure = n < 0 ? String(cString: strerror(errno)) : "nothing could be written"; return }
                off += n
            }
        }
    }
}

/// Start-up care of descriptors 0, 1 and 2, and of signals.
package enum StandardStreams {
    /// True when the process started with descriptor 1 closed (`gradtrace trace x >&-`).
    nonisolated(unsafe) private(set) static var outputWasClosed = false

    /// A closed 0, 1 or 2 gets /dev/null, so that no file we open later takes its number and
    /// receives what was meant for standard output; a closed 1 is remembered and reported.
    package static func prepare() {
        for fd: Int32 in [0, 1, 2] where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            if fd == 1 { outputWasClosed = true }
            let n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if n >= 0 && n != fd { dup2(n, fd); close(n) }
        }
    }

}

package enum StandardError {
    package static func write(_ s: String) {
        var bytes = Array(s.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { if errno == EINTR { continue }; return }
                off += n
            }
        }
    }

    /// True when standard error is a terminal (progress bars are shown only then).
    package static var isTerminal: Bool { isatty(2) != 0 }
}

/// A failure the CLI reports itself: message and exit code.
package struct CLIError: Error {
    package var message: String
    package var exitCode: Int32 = 2

    package init(_ message: String, exitCode: Int32 = 2) {
        self.message = "gradtrace: error: " + message
        self.exitCode = exitCode
    }

    /// A message that is already located (`file:line:column: error: …` with its excerpt), printed as it is.
    package init(located message: String) {
        self.message = message
    }
}

/// Whole-file reads through POSIX calls.
package enum Files {
    package static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw CLIError("cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            throw CLIError("'\(path)' is a directory, not a program file")
        }
        let regular = (st.st_mode & S_IFMT) == S_IFREG
        return try readAll(fd: fd, name: path, expected: regular ? Int(st.st_size) : 0)
    }

    /// Reads a regular file of at most `limit` bytes: a FIFO, a device, a socket or a directory is refused
    /// without waiting on it (opened non-blocking, checked with fstat before any read), and so is a larger file.
    package static func readRegular(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CLIError("cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw CLIError("cannot read '\(path)': \(String(cString: strerror(errno)))") }
        let kind: String?
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = nil
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO"
        case S_IFCHR, S_IFBLK: kind = "a device"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        if let kind { throw CLIError("'\(path)' is \(kind), not a program file") }
        if Int(st.st_size) > limit { throw CLIError("'\(path)' is \(st.st_size) bytes; program files are at most \(limit) bytes") }
        // Regular files read without blocking anyway; /proc files report size 0, so the limit is kept while reading.
        return try readAll(fd: fd, name: "'\(path)'", expected: Int(st.st_size), limit: limit)
    }

    /// Reads to the end; `expected` (a regular file's size) reserves room once, and more than `limit` bytes
    /// are refused as soon as they have been read.
    package static func readAll(fd: Int32, name: String, expected: Int = 0, limit: Int = .max) throws -> [UInt8] {
        // Straight into the array's storage (no chunk copies): sized for the whole file when its size is known.
        var failure: Int32 = 0
        var end = false
        var out = [UInt8](unsafeUninitializedCapacity: expected > 0 && expected < 1 << 32 ? expected + 1 : 1 << 16) { buffer, count in
            count = 0
            while count < buffer.count && count <= limit {
                let n = Glibc.read(fd, buffer.baseAddress! + count, buffer.count - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { end = true; return }
                count += n
            }
        }
        var chunk = [UInt8]()
        while failure == 0 && !end && out.count <= limit {
            if chunk.isEmpty { chunk = [UInt8](repeating: 0, count: 1 << 16) }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno != EINTR { failure = errno }
                continue
            }
            if n == 0 { end = true } else { out.append(contentsOf: chunk[0..<n]) }
        }
        if failure != 0 { throw CLIError("cannot read \(name): \(String(cString: strerror(failure)))") }
        if out.count > limit { throw CLIError("\(name) is more than \(limit) bytes; program files are at most \(limit) bytes") }
        return out
    }
}

/// Writes bytes to a file (atomically, skipping unchanged files) or to standard output.
package func emit(_ bytes: [UInt8], to path: String, writer: Writer) throws {
    if path == "-" {
        StandardOutput.shared.write(bytes: bytes)
        return
    }
    try writer.write(bytes, to: path)
}
