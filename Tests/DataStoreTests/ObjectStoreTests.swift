import Foundation
import NIOCore
import Testing

@testable import DataStore

/// The stores the shared behaviour tests run over: the local disk always; S3 when an S3 API server is given
/// (`ICAT_TEST_S3_URL`) or on CI, where its absence fails the S3 cases.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case localDisk
    case s3

    static var available: [StoreKind] { S3TestServer.isRequired ? allCases : [.localDisk] }

    var testDescription: String { rawValue }
}

/// A store made for one test, and what it holds.
struct StoreUnderTest: Sendable {
    let store: any ObjectStore
    let listing: @Sendable () async throws -> [String]

    /// Everything the store holds, unfinished or not: files (partial ones included), or objects and unfinished
    /// multipart uploads.
    func contents() async throws -> [String] { try await listing() }

    /// A store of `kind` of its own (a new directory, a new bucket), removed or shut down afterwards.
    static func with(_ kind: StoreKind, _ body: (StoreUnderTest) async throws -> Void) async throws {
        switch kind {
        case .localDisk:
            try await LocalDiskStoreTests.withStore { store in
                try await body(StoreUnderTest(store: store, listing: { LocalDiskStoreTests.files(in: store) }))
            }
        case .s3:
            try await S3TestServer.withStore { store in
                try await body(StoreUnderTest(store: store, listing: { try await S3TestServer.contents(of: store) }))
            }
        }
    }
}

/// What every object store does: all or nothing, checksums as the bytes go by, reads from any offset.
@Suite("Object stores")
struct ObjectStoreTests {
    static func chunks(_ bytes: [UInt8], size: Int = 1000) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            var start = 0
            while start < bytes.count {
                continuation.yield(ByteBuffer(bytes: bytes[start..<min(start + size, bytes.count)]))
                start += size
            }
            continuation.finish()
        }
    }

    /// The bytes from `offset` on, checked against the count the read announced; and how many chunks they came in.
    static func readAll(
        _ store: any ObjectStore,
        _ key: StoreKey,
        from offset: Int64 = 0
    ) async throws -> (bytes: [UInt8], chunks: Int) {
        let read = try await store.read(key, from: offset)
        var all: [UInt8] = []
        var chunks = 0
        for try await chunk in read.chunks {
            all += Array(buffer: chunk)
            chunks += 1
        }
        #expect(Int64(all.count) == read.count)
        return (all, chunks)
    }

    @Test(arguments: StoreKind.available)
    func aPutStoresTheBytesWithTheirChecksumsAndReadsThemBackFromAnyOffset(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { tested in
            let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let stored = try await tested.store.put(Self.chunks(bytes), maximumBytes: nil)
            #expect(stored.size == 10_000)
            var expected = StreamingChecksums()
            expected.update(bytes)
            #expect(stored.crc32 == expected.finish().crc32)
            #expect(stored.sha256 == expected.finish().sha256)
            #expect(stored.checksum == String(expected.finish().crc32, radix: 16))
            #expect(try await Self.readAll(tested.store, stored.key).bytes == bytes)
            #expect(try await Self.readAll(tested.store, stored.key, from: 9_000).bytes == Array(bytes[9_000...]))
            #expect(try await tested.store.size(of: stored.key) == 10_000)
            #expect(try await tested.contents() == [stored.key.rawValue])
        }
    }

    @Test(arguments: StoreKind.available)
    func anEmptyBodyIsStoredAsNoBytes(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { tested in
            let stored = try await tested.store.put(Self.chunks([]), maximumBytes: 0)
            #expect(stored.size == 0)
            #expect(stored.checksum == "0")
            #expect(try await Self.readAll(tested.store, stored.key).bytes == [])
            #expect(try await tested.store.size(of: stored.key) == 0)
        }
    }

    @Test(arguments: StoreKind.available)
    func aBodyThatFailsOrPassesTheLimitLeavesNothing(_ kind: StoreKind) async throws {
        struct Broken: Error {}
        try await StoreUnderTest.with(kind) { tested in
            let failing = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
                continuation.yield(ByteBuffer(bytes: [1, 2, 3]))
                continuation.finish(throwing: Broken())
            }
            await #expect(throws: Broken.self) { try await tested.store.put(failing, maximumBytes: nil) }
            let tooLarge = await #expect(throws: DataStoreError.self) {
                try await tested.store.put(Self.chunks(Array(repeating: 7, count: 5000)), maximumBytes: 4096)
            }
            #expect(tooLarge?.kind == .tooLarge(limit: 4096))
            let left = try await tested.contents()
            #expect(left.isEmpty)
        }
    }

    @Test(arguments: StoreKind.available)
    func aCancelledPutLeavesNothing(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { tested in
            let (body, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
            continuation.yield(ByteBuffer(bytes: [1, 2, 3]))
            let store = tested.store
            let put = Task { try await store.put(body, maximumBytes: nil) }
            put.cancel()
            continuation.yield(ByteBuffer(bytes: [4]))
            continuation.finish()
            await #expect(throws: CancellationError.self) { try await put.value }
            let left = try await tested.contents()
            #expect(left.isEmpty)
        }
    }

    @Test(arguments: StoreKind.available)
    func missingBytesAndRangesPastTheEndAreRefused(_ kind: StoreKind) async throws {
        try await StoreUnderTest.with(kind) { tested in
            let store = tested.store
            let stored = try await store.put(Self.chunks([1, 2, 3]), maximumBytes: nil)
            for offset: Int64 in [3, 4, -1] {
                let past = await #expect(throws: DataStoreError.self) { try await store.read(stored.key, from: offset) }
                #expect(past?.kind == .unsatisfiableRange)
            }
            try await store.delete(stored.key)
            try await store.delete(stored.key)
            let gone = await #expect(throws: DataStoreError.self) { try await store.read(stored.key, from: 0) }
            #expect(gone?.kind == .notFound)
            let noSize = await #expect(throws: DataStoreError.self) { try await store.size(of: stored.key) }
            #expect(noSize?.kind == .notFound)
            #expect(try await tested.contents() == [])
        }
    }
}
