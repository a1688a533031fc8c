import Foundation
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Data files on a local disk, under one directory: each at `<root>/<key>` (`ab/cd/<hex>`), never at a name a
/// client chose. A `put` writes `<root>/.partial/<hex>`, flushes it to the disk, then renames it into place, so a
/// file is either complete or absent; partial files a stopped server left are removed by `removeLeftovers()`.
public struct LocalDiskStore: ObjectStore {
    public let root: URL
    /// The size of the chunks reads give.
    let chunkSize: Int

    public init(root: URL, chunkSize: Int = 1 << 20) throws {
        self.root = root.standardizedFileURL
        self.chunkSize = chunkSize
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
    }

    var partial: URL { root.appendingPathComponent(".partial", isDirectory: true) }

    func path(of key: StoreKey) -> String { root.appendingPathComponent(key.rawValue).path }

    /// Removes the partial files of puts that never finished (a server stopped in the middle); returns their names.
    @discardableResult
    public func removeLeftovers() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: partial.path)) ?? []
        for name in names { try? FileManager.default.removeItem(at: partial.appendingPathComponent(name)) }
        return names.sorted()
    }

    public func put<Body: AsyncSequence>(
        _ body: Body,
        as key: StoreKey,
        maximumBytes: Int64?
    ) async throws
        -> StoredObject
    where Body.Element == ByteBuffer {
        let temporary = partial.appendingPathComponent(key.rawValue.split(separator: "/").last.map(String.init)!).path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw Self.failure("create", temporary) }
        var closed = false
        var placed = false
        defer {
            if !closed { close(descriptor) }
            if !placed { unlink(temporary) }
        }
        var checksums = StreamingChecksums()
        // Bytes are gathered into writes of `chunkSize`, each made on NIO's thread pool: a write or flush that
        // waits for the disk must not hold one of the few threads that run requests.
        var pending = ByteBufferAllocator().buffer(capacity: chunkSize)
        for try await chunk in body {
            try Task.checkCancellation()
            if let maximumBytes, checksums.byteCount + Int64(chunk.readableBytes) > maximumBytes {
                throw DataStoreError(.tooLarge(limit: maximumBytes), "more than \(maximumBytes) bytes")
            }
            checksums.update(chunk)
            var chunk = chunk
            pending.writeBuffer(&chunk)
            if pending.readableBytes >= chunkSize {
                try await Self.writeOnThreadPool(pending, to: descriptor, temporary)
                pending.clear()
            }
        }
        if pending.readableBytes > 0 { try await Self.writeOnThreadPool(pending, to: descriptor, temporary) }
        try Task.checkCancellation()
        let destination = path(of: key)
        closed = true
        try await NIOThreadPool.singleton.runIfActive {
            guard fsync(descriptor) == 0 else {
                close(descriptor)
                throw Self.failure("flush", temporary)
            }
            guard close(descriptor) == 0 else { throw Self.failure("close", temporary) }
            try FileManager.default.createDirectory(
                atPath: (destination as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true
            )
            guard rename(temporary, destination) == 0 else { throw Self.failure("rename", destination) }
        }
        placed = true
        let (crc32, sha256) = checksums.finish()
        return StoredObject(key: key, size: checksums.byteCount, crc32: crc32, sha256: sha256)
    }

    public func read(_ key: StoreKey, from offset: Int64) async throws(DataStoreError) -> ObjectBytes {
        let path = path(of: key)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            if errno == ENOENT { throw DataStoreError(.notFound, "no stored bytes for \(key)") }
            throw Self.failure("open", path)
        }
        let reader = FileReader(descriptor: descriptor, offset: offset, chunkSize: chunkSize)
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Self.failure("read the size of", path) }
        let size = Int64(status.st_size)
        guard offset == 0 || (offset > 0 && offset < size) else {
            throw DataStoreError(.unsatisfiableRange, "offset \(offset) is past the end (\(size) bytes)")
        }
        return ObjectBytes(
            count: size - offset,
            chunks: AsyncThrowingStream(unfolding: {
                try await NIOThreadPool.singleton.runIfActive { try reader.next() }
            })
        )
    }

    public func size(of key: StoreKey) async throws(DataStoreError) -> Int64 {
        var status = stat()
        guard stat(path(of: key), &status) == 0 else {
            if errno == ENOENT { throw DataStoreError(.notFound, "no stored bytes for \(key)") }
            throw Self.failure("read the size of", path(of: key))
        }
        return Int64(status.st_size)
    }

    public func delete(_ key: StoreKey) async throws(DataStoreError) {
        guard unlink(path(of: key)) == 0 || errno == ENOENT else { throw Self.failure("delete", path(of: key)) }
    }

    static func writeOnThreadPool(_ buffer: ByteBuffer, to descriptor: Int32, _ path: String) async throws {
        try await NIOThreadPool.singleton.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes in try writeAll(descriptor, bytes, path) }
        }
    }

    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, _ path: String) throws {
        var written = 0
        while written < bytes.count {
            let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            written += count
        }
    }

    static func failure(_ action: String, _ path: String) -> DataStoreError {
        DataStoreError(.storage, "cannot \(action) \(path): \(String(cString: strerror(errno)))")
    }
}

/// Reads a file's chunks in order, on demand; closes the file when done or dropped.
final class FileReader: @unchecked Sendable {
    // One reader is iterated by one task at a time (an AsyncThrowingStream's unfolding closure), each call on NIO's
    // thread pool; the calls follow one another.
    private var descriptor: Int32
    private var offset: Int64
    private let chunkSize: Int

    init(descriptor: Int32, offset: Int64, chunkSize: Int) {
        self.descriptor = descriptor
        self.offset = offset
        self.chunkSize = chunkSize
    }

    func next() throws -> ByteBuffer? {
        guard descriptor >= 0 else { return nil }
        var buffer = ByteBufferAllocator().buffer(capacity: chunkSize)
        let count = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: chunkSize) { bytes in
            while true {
                let count = pread(descriptor, bytes.baseAddress!, chunkSize, off_t(offset))
                if count >= 0 { return count }
                if errno != EINTR { throw LocalDiskStore.failure("read", "a stored file") }
            }
        }
        if count == 0 {
            close(descriptor)
            descriptor = -1
            return nil
        }
        offset += Int64(count)
        return buffer
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }
}
