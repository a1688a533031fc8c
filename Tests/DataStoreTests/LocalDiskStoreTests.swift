import DataStore
import Foundation
import NIOCore
import Testing

/// The local-disk store: all or nothing, checksums as the bytes go by, keys that no client input can steer.
@Suite("The local-disk store")
struct LocalDiskStoreTests {
    /// A store in a directory of its own, removed afterwards.
    static func withStore(_ body: (LocalDiskStore) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try await body(try LocalDiskStore(root: root, chunkSize: 4096))
    }

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

    static func readAll(_ store: LocalDiskStore, _ key: StoreKey, from offset: Int64 = 0) async throws -> [UInt8] {
        let bytes = try await store.read(key, from: offset)
        var all: [UInt8] = []
        for try await chunk in bytes.chunks { all += Array(buffer: chunk) }
        #expect(Int64(all.count) == bytes.count)
        return all
    }

    /// Files left in the store's directory, partial ones included.
    static func files(in store: LocalDiskStore) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: store.root.path)
        var files: [String] = []
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(
                atPath: store.root.appendingPathComponent(name).path,
                isDirectory: &isDirectory
            )
            if !isDirectory.boolValue { files.append(name) }
        }
        return files
    }

    @Test func checksumsAreTheKnownOnesOfTheStandardCheckInput() {
        var checksums = StreamingChecksums()
        checksums.update(Array("12345".utf8))
        checksums.update(Array("6789".utf8))
        let (crc32, sha256) = checksums.finish()
        #expect(crc32 == 0xCBF4_3926)
        #expect(
            sha256.map { String(format: "%02x", $0) }.joined()
                == "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"
        )
        #expect(checksums.byteCount == 9)
    }

    @Test func aPutStoresTheBytesWithTheirChecksumsAndReadsThemBackFromAnyOffset() async throws {
        try await Self.withStore { store in
            let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let stored = try await store.put(Self.chunks(bytes), maximumBytes: nil)
            #expect(stored.size == 10_000)
            var expected = StreamingChecksums()
            expected.update(bytes)
            #expect(stored.crc32 == expected.finish().crc32)
            #expect(stored.checksum == String(expected.finish().crc32, radix: 16))
            #expect(try await Self.readAll(store, stored.key) == bytes)
            #expect(try await Self.readAll(store, stored.key, from: 9_000) == Array(bytes[9_000...]))
            #expect(try await store.size(of: stored.key) == 10_000)
            #expect(Self.files(in: store) == [stored.key.rawValue])
        }
    }

    @Test func aBodyThatFailsOrPassesTheLimitLeavesNothing() async throws {
        struct Broken: Error {}
        try await Self.withStore { store in
            let failing = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
                continuation.yield(ByteBuffer(bytes: [1, 2, 3]))
                continuation.finish(throwing: Broken())
            }
            await #expect(throws: Broken.self) { try await store.put(failing, maximumBytes: nil) }
            let tooLarge = await #expect(throws: DataStoreError.self) {
                try await store.put(Self.chunks(Array(repeating: 7, count: 5000)), maximumBytes: 4096)
            }
            #expect(tooLarge?.kind == .tooLarge(limit: 4096))
            #expect(Self.files(in: store).isEmpty)
        }
    }

    @Test func aCancelledPutLeavesNothing() async throws {
        try await Self.withStore { store in
            let (body, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
            continuation.yield(ByteBuffer(bytes: [1, 2, 3]))
            let put = Task { try await store.put(body, maximumBytes: nil) }
            put.cancel()
            continuation.yield(ByteBuffer(bytes: [4]))
            continuation.finish()
            await #expect(throws: CancellationError.self) { try await put.value }
            #expect(Self.files(in: store).isEmpty)
        }
    }

    @Test func partialFilesAStoppedServerLeftAreRemoved() async throws {
        try await Self.withStore { store in
            let partial = store.root.appendingPathComponent(".partial/0123456789abcdef0123456789abcdef")
            try Data([1, 2]).write(to: partial)
            #expect(store.removeLeftovers() == ["0123456789abcdef0123456789abcdef"])
            #expect(Self.files(in: store).isEmpty)
        }
    }

    @Test func missingBytesAndRangesPastTheEndAreRefused() async throws {
        try await Self.withStore { store in
            let stored = try await store.put(Self.chunks([1, 2, 3]), maximumBytes: nil)
            let past = await #expect(throws: DataStoreError.self) { try await store.read(stored.key, from: 3) }
            #expect(past?.kind == .unsatisfiableRange)
            try await store.delete(stored.key)
            try await store.delete(stored.key)
            let gone = await #expect(throws: DataStoreError.self) { try await store.read(stored.key, from: 0) }
            #expect(gone?.kind == .notFound)
        }
    }

    @Test(arguments: [
        "../../etc/passwd", "ab/cd/../../x", "/etc/passwd", "AB/CD/ABCD0000000000000000000000000000",
        "ab/cd/abce0000000000000000000000000000", "ab/cd/abcd000000000000000000000000000", "",
    ])
    func onlyKeysOfTheStoresOwnFormAreAccepted(_ text: String) {
        #expect(StoreKey(validating: text) == nil)
    }

    @Test func theKeysTheStoreMakesAreAcceptedBack() {
        let key = StoreKey.make()
        #expect(StoreKey(validating: key.rawValue) == key)
    }
}
