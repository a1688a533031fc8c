import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where `/data/import` keeps uploads while it imports them: files named `icat-import-…` in one directory, each
/// locked (`flock`) by the server writing it for as long as it needs it.
///
/// A spool file that no one locks was left by a server that died during an import, and `removeLeftovers()` (run
/// at start) removes it. Servers may share the directory: none removes a file another is using, and files
/// without the prefix are never touched.
struct ImportSpool: Sendable {
    static let prefix = "icat-import-"
    let directory: URL

    /// A new, empty, locked spool file.
    func create() throws -> SpoolFile {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        while true {
            let url = directory.appendingPathComponent(Self.prefix + UUID().uuidString)
            let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw SpoolError("Cannot create the spool file \(url.path)", errno) }
            guard flock(descriptor, LOCK_EX) == 0 else {
                let code = errno
                unlink(url.path)
                close(descriptor)
                throw SpoolError("Cannot lock the spool file \(url.path)", code)
            }
            // A server starting at this very moment may have removed the file before it was locked: take another.
            var status = stat()
            if fstat(descriptor, &status) == 0, status.st_nlink > 0 {
                return SpoolFile(url: url, handle: FileHandle(fileDescriptor: descriptor, closeOnDealloc: false))
            }
            close(descriptor)
        }
    }

    /// Removes the spool files no running server holds, and returns their names.
    func removeLeftovers() -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [String] = []
        for name in names.sorted() where name.hasPrefix(Self.prefix) {
            let path = directory.appendingPathComponent(name).path
            let descriptor = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else { continue }
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0, unlink(path) == 0 { removed.append(name) }
            close(descriptor)
        }
        return removed
    }
}

/// One upload's spool file, locked while it exists. The request that made it calls `remove()` once, whichever
/// way it ends.
struct SpoolFile: Sendable {
    let url: URL
    let handle: FileHandle

    func write(_ buffer: ByteBuffer) throws {
        try handle.write(contentsOf: buffer.readableBytesView)
    }

    /// Removes the file, then lets go of its lock.
    func remove() {
        unlink(url.path)
        try? handle.close()
    }
}

/// A spool file that could not be made.
struct SpoolError: Error, CustomStringConvertible {
    let description: String

    init(_ what: String, _ code: Int32) {
        description = "\(what): \(String(cString: strerror(code)))"
    }
}
