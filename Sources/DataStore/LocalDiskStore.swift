import Crypto
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
    /// The threads the store's disk I/O runs on: its own, so that a slow disk never delays what else uses NIO's
    /// shared pool (name resolution for database connections, among others).
    static let ioThreads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()
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
        // The SHA-256 is computed here as bytes arrive; gathered into writes of `chunkSize`, each batch's CRC32, its
        // write and every 64 MiB a flush run on NIO's thread pool, while the next batch arrives: a write that waits
        // for the disk never holds one of the few threads that run requests, and the last flush has little left.
        var sha = SHA256()
        var size: Int64 = 0
        var crc: UInt32 = 0
        var unflushed = 0
        var writing: Task<UInt32, any Error>?
        var pending = ByteBufferAllocator().buffer(capacity: chunkSize)
        func submit() async throws {
            crc = try await writing?.value ?? crc
            let (batch, start, flush) = (pending, crc, unflushed >= 64 << 20)
            if flush { unflushed = 0 }
            writing = Task {
                try await LocalDiskStore.ioThreads.runIfActive {
                    let next = batch.withUnsafeReadableBytes { StreamingChecksums.crc32(start, $0) }
                    try batch.withUnsafeReadableBytes { try Self.writeAll(descriptor, $0, temporary) }
                    if flush, fdatasync(descriptor) != 0 { throw Self.failure("flush", temporary) }
                    return next
                }
            }
            pending = ByteBufferAllocator().buffer(capacity: chunkSize)
        }
        do {
            for try await chunk in body {
                try Task.checkCancellation()
                if let maximumBytes, size + Int64(chunk.readableBytes) > maximumBytes {
                    throw DataStoreError(.tooLarge(limit: maximumBytes), "more than \(maximumBytes) bytes")
                }
                chunk.withUnsafeReadableBytes { sha.update(bufferPointer: $0) }
                size += Int64(chunk.readableBytes)
                unflushed += chunk.readableBytes
                var chunk = chunk
                pending.writeBuffer(&chunk)
                if pending.readableBytes >= chunkSize { try await submit() }
            }
            if pending.readableBytes > 0 { try await submit() }
            crc = try await writing?.value ?? crc
            writing = nil
        } catch {
            // The descriptor is closed on the way out: the write in flight must be done with it first.
            _ = try? await writing?.value
            throw error
        }
        try Task.checkCancellation()
        let destination = path(of: key)
        closed = true
        try await LocalDiskStore.ioThreads.runIfActive {
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
        return StoredObject(key: key, size: size, crc32: crc, sha256: Array(sha.finalize()))
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
        let reading = ReadAhead(reader)
        return ObjectBytes(count: size - offset, chunks: AsyncThrowingStream(unfolding: { try await reading.next() }))
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
        try await LocalDiskStore.ioThreads.runIfActive {
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

/// Reads a file's chunks in order, each on NIO's thread pool, the next one while the last is being sent.
final class ReadAhead: @unchecked Sendable {
    // Used by one task at a time (an AsyncThrowingStream's unfolding closure); the reads follow one another.
    private let reader: FileReader
    private var ahead: Task<ByteBuffer?, any Error>?

    init(_ reader: FileReader) { self.reader = reader }

    func next() async throws -> ByteBuffer? {
        let current = ahead ?? read()
        let chunk = try await current.value
        ahead = chunk == nil ? nil : read()
        return chunk
    }

    private func read() -> Task<ByteBuffer?, any Error> {
        let reader = reader
        return Task { try await LocalDiskStore.ioThreads.runIfActive { try reader.next() } }
    }

    deinit { ahead?.cancel() }
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
