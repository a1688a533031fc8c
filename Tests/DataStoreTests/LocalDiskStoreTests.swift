import DataStore
import Foundation
import NIOCore
import Testing

/// The local-disk store: partial files cleaned up, keys that no client input can steer. What every store does is in
/// `ObjectStoreTests`.
@Suite("The local-disk store")
struct LocalDiskStoreTests {
    /// A store in a directory of its own, removed afterwards.
    static func withStore(_ body: (LocalDiskStore) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try await body(try LocalDiskStore(root: root, chunkSize: 4096))
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

    @Test func partialFilesAStoppedServerLeftAreRemoved() async throws {
        try await Self.withStore { store in
            let partial = store.root.appendingPathComponent(".partial/0123456789abcdef0123456789abcdef")
            try Data([1, 2]).write(to: partial)
            #expect(store.removeLeftovers() == ["0123456789abcdef0123456789abcdef"])
            #expect(Self.files(in: store).isEmpty)
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
