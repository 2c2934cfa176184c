import Foundation

/// Writes output files safely: to a temporary file beside the target, then renamed into place;
/// a file whose bytes would not change is left alone (its modification time too); the input is
/// never written over.
public struct Writer: Sendable {
    /// Paths that must never be written (the program being rendered).
    public var protectedPaths: [String]

    public init(protecting paths: [String] = []) {
        self.protectedPaths = paths.map(Writer.canonical)
    }

    /// What happened to a file.
    public enum Outcome: Sendable, Equatable { case written, unchanged }

    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Writes `bytes` to `path` atomically, unless the file already holds exactly those bytes.
    @discardableResult
    public func write(_ bytes: [UInt8], to path: String) throws(RenderError) -> Outcome {
        let target = Writer.canonical(path)
        if protectedPaths.contains(target) { throw RenderError.wouldOverwriteInput(path) }
        let fm = FileManager.default
        if let existing = fm.contents(atPath: path), existing.count == bytes.count, Array(existing) == bytes {
            return .unchanged
        }
        // Write beside the real file (a symbolic link at `path` keeps pointing at it).
        let destination = FileManager.default.fileExists(atPath: path) ? target : path
        let dir = (destination as NSString).deletingLastPathComponent
        let base = (destination as NSString).lastPathComponent
        let tmp = (dir.isEmpty ? "" : dir + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard fm.createFile(atPath: tmp, contents: Data(bytes)) else {
            let reason = fm.fileExists(atPath: dir.isEmpty ? "." : dir) ? "permission denied or disk full" : "the folder '\(dir)' does not exist"
            throw RenderError.write(path: path, reason: reason)
        }
        if rename(tmp, destination) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw RenderError.write(path: path, reason: reason)
        }
        return .written
    }

    /// Creates a folder (and its parents) if missing.
    public func makeDirectory(_ path: String) throws(RenderError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RenderError.write(path: path, reason: "cannot create the folder")
        }
    }
}
