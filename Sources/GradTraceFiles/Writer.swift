import CTempFiles
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Writes output files safely.
///
/// - A regular file is written to a temporary file of our own beside the target (created
///   exclusively, named `.NAME.gradtrace-PID-N.tmp`), then renamed into place, so a reader never
///   sees half a file; the replaced file's permission bits (and, as root, its owner) are kept.
/// - A file whose bytes would not change is left alone (its modification time too).
/// - A device or a named pipe (`/dev/null`, `/dev/stdout`, a FIFO) is written into directly:
///   renaming over it would replace the device node with a regular file.
/// - An input is never written over: not a protected path, and not the file that standard
///   input comes from, compared by device and inode, so `render - -o prog.grad < prog.grad`
///   is refused.
/// - Temporary files in flight are listed in ``TemporaryFiles``; the CLI removes them when a
///   signal stops it.
public struct Writer: Sendable {
    /// Paths that must never be written (the program being rendered).
    public var protectedPaths: [String]
    /// Device and inode of every protected file that exists, and of standard input when asked.
    private var protectedFiles: [FileIdentity]

    /// A writer that refuses to write over `paths`, and, with `protectingStandardInput`, over
    /// the file standard input reads from (when it is a regular file).
    public init(protecting paths: [String] = [], protectingStandardInput: Bool = false) {
        self.protectedPaths = paths.map(Writer.canonical)
        var ids = paths.compactMap { FileIdentity(path: $0) }
        if protectingStandardInput, let s = FileIdentity(descriptor: 0), s.isRegular { ids.append(s) }
        self.protectedFiles = ids
    }

    /// What happened to a file.
    public enum Outcome: Sendable, Equatable { case written, unchanged }

    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Throws when `path` is an input this writer protects: lets a command refuse before it
    /// spends time drawing.
    public func checkNotInput(_ path: String) throws(RenderError) {
        if let e = FileIdentity(path: path), protectedFiles.contains(e) { throw RenderError.wouldOverwriteInput(path) }
        if protectedPaths.contains(Writer.canonical(path)) { throw RenderError.wouldOverwriteInput(path) }
    }

    /// Writes `bytes` to `path`: atomically for a regular file (unless it already holds exactly
    /// those bytes), straight into a device or FIFO.
    @discardableResult
    public func write(_ bytes: [UInt8], to path: String) throws(RenderError) -> Outcome {
        try checkNotInput(path)
        let existing = FileIdentity(path: path)
        if let e = existing {
            switch e.kind {
            case .directory: throw RenderError.write(path: path, reason: "it is a folder")
            case .special:
                try Writer.writeDirectly(bytes, to: path)
                return .written
            case .regular:
                if e.size == bytes.count, let old = try? Writer.read(path), old == bytes { return .unchanged }
            }
        }
        // Write beside the real file (a symbolic link at `path` keeps pointing at it).
        let destination = existing != nil ? Writer.canonical(path) : path
        let (dir, base) = Writer.splitPath(destination)
        let tmp = TemporaryFiles.create(folder: dir, base: base)
        guard let fd = tmp.descriptor else {
            let reason = errno == ENOENT ? "the folder '\(dir)' does not exist" : String(cString: strerror(errno))
            throw RenderError.write(path: path, reason: reason)
        }
        var failure: String?
        if let e = existing {
            // Keep the replaced file's permissions (and, when we may, its owner).
            if fchmod(fd, mode_t(e.mode & 0o7777)) != 0 { failure = String(cString: strerror(errno)) }
            _ = fchown(fd, e.owner, e.group)
        }
        if failure == nil { failure = Writer.writeAll(fd, bytes) }
        TemporaryFiles.stallForTesting()
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil && rename(tmp.path, destination) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp.path)
            TemporaryFiles.forget(tmp)
            throw RenderError.write(path: path, reason: failure)
        }
        TemporaryFiles.forget(tmp)
        return .written
    }

    /// A path's folder and last component, as `NSString`'s `deletingLastPathComponent` and
    /// `lastPathComponent` give them: `a/b.svg` → (`a`, `b.svg`), `b.svg` → (``, `b.svg`), `/b` → (`/`, `b`).
    static func splitPath(_ path: String) -> (folder: String, base: String) {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else { return ("", String(p)) }
        let base = p[p.index(after: slash)...]
        var folder = p[..<slash]
        while folder.count > 1 && folder.hasSuffix("/") { folder.removeLast() }
        return (folder.isEmpty ? "/" : String(folder), base.isEmpty ? "/" : String(base))
    }

    /// Creates a folder (and its parents) if missing.
    public func makeDirectory(_ path: String) throws(RenderError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RenderError.write(path: path, reason: "cannot create the folder")
        }
    }

    /// Writes into an existing device or FIFO without replacing it.
    static func writeDirectly(_ bytes: [UInt8], to path: String) throws(RenderError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RenderError.write(path: path, reason: String(cString: strerror(errno))) }
        let failure = writeAll(fd, bytes)
        close(fd)
        if let failure { throw RenderError.write(path: path, reason: failure) }
    }

    /// Writes every byte, retrying short writes and EINTR; the error text on failure.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { raw -> String? in
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                if n == 0 { return "nothing could be written" }
                off += n
            }
            return nil
        }
    }

    static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RenderError.write(path: path, reason: "unreadable") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw RenderError.write(path: path, reason: "unreadable") }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// What a path or descriptor is, by `stat`: enough to compare files and choose how to write.
struct FileIdentity: Equatable, Sendable {
    enum Kind: Sendable { case regular, directory, special }
    var device: UInt64
    var inode: UInt64
    var kind: Kind
    var mode: UInt32
    var owner: uid_t
    var group: gid_t
    var size: Int

    var isRegular: Bool { kind == .regular }

    static func == (a: FileIdentity, b: FileIdentity) -> Bool { a.device == b.device && a.inode == b.inode }

    /// The file at `path` (following symbolic links), or nil when there is none.
    init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        self.init(st)
    }

    /// The file open at `descriptor`, or nil when it is closed.
    init?(descriptor: Int32) {
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { return nil }
        self.init(st)
    }

    private init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        let type = st.st_mode & S_IFMT
        kind = type == S_IFREG ? .regular : type == S_IFDIR ? .directory : .special
        mode = UInt32(st.st_mode)
        owner = st.st_uid
        group = st.st_gid
        size = Int(st.st_size)
    }
}

/// The temporary files being written right now, listed where a signal handler can remove them.
///
/// Names are our own (`.NAME.gradtrace-PID-N.tmp`), created with `O_EXCL`, so a file of someone
/// else's is never opened or removed.
public enum TemporaryFiles {
    nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    nonisolated(unsafe) private static var counter = 0

    struct Created { var path: String; var descriptor: Int32?; var slot: Int32 }

    static func create(folder: String, base: String) -> Created {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        while true {
            counter += 1
            let path = (folder.isEmpty ? "" : folder + "/") + ".\(base).gradtrace-\(getpid())-\(counter).tmp"
            // Listed before it exists, so that no moment has an unlisted file on disk.
            let slot = gt_temp_register(path)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd < 0 {
                let e = errno
                gt_temp_unregister(slot)
                errno = e
                if e == EEXIST { continue }
            }
            return Created(path: path, descriptor: fd >= 0 ? fd : nil, slot: slot)
        }
    }

    static func forget(_ file: Created) {
        gt_temp_unregister(file.slot)
    }

    /// On SIGINT, SIGTERM and SIGHUP (each unless ignored at start), remove the temporary files
    /// in flight and end with the signal's conventional status. For command-line tools: a
    /// library should leave the process's signals alone.
    public static func removeOnSignals() {
        gt_temp_install_signal_handlers()
    }

    /// How many temporary files are being written now (for tests).
    public static var inFlight: Int { Int(gt_temp_count()) }

    /// `GRADTRACE_TEST_STALL_WRITES=1` holds every finished temporary file for ten seconds before
    /// renaming it: the signal tests use it to stop the CLI while a temporary file exists.
    static let stall = ProcessInfo.processInfo.environment["GRADTRACE_TEST_STALL_WRITES"] == "1"
    static func stallForTesting() {
        if stall { usleep(10_000_000) }
    }
}
