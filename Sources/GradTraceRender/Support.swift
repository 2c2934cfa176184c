import Foundation
// The atomic writer and RenderError live in GradTraceFiles (the lean `gradtrace` executable writes files
// without the drawing libraries); they stay part of this module's API.
@_exported import GradTraceFiles

/// A lock with a closure helper.
final class NSLockShim: @unchecked Sendable {
    private let lock = NSLock()
    func with<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

enum ProcessInfoShim {
    static var activeProcessorCount: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}
