import Foundation
import NIOCore

/// The name of stored bytes. The store makes it (`make()`); it never comes from a client's input, so no file name,
/// however strange, reaches a path. The catalog keeps it as the Datafile's `location`.
public struct StoreKey: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    private init(rawValue: String) { self.rawValue = rawValue }

    /// A new key, `ab/cd/<32 hex digits>`: random, spread over 65,536 directories.
    public static func make() -> StoreKey {
        let hex = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let start = hex.startIndex
        let first = hex[start..<hex.index(start, offsetBy: 2)]
        let second = hex[hex.index(start, offsetBy: 2)..<hex.index(start, offsetBy: 4)]
        return StoreKey(rawValue: "\(first)/\(second)/\(hex)")
    }

    /// A key read back (from the catalog); nil unless it has exactly the form `make()` gives.
    public init?(validating text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 2, parts[1].count == 2, parts[2].count == 32,
            parts[2].hasPrefix(parts[0] + parts[1]),
            text.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) || $0 == 47 })
        else { return nil }
        self.rawValue = text
    }

    public var description: String { rawValue }
}

/// What a completed `put` stored.
public struct StoredObject: Sendable, Equatable {
    public let key: StoreKey
    public let size: Int64
    /// zlib's CRC32 of the bytes.
    public let crc32: UInt32
    /// The SHA-256 of the bytes.
    public let sha256: [UInt8]

    public init(key: StoreKey, size: Int64, crc32: UInt32, sha256: [UInt8]) {
        self.key = key
        self.size = size
        self.crc32 = crc32
        self.sha256 = sha256
    }

    /// The checksum as ICAT's IDS writes it: the CRC32 in lowercase hexadecimal.
    public var checksum: String { String(crc32, radix: 16) }

    /// The SHA-256 in lowercase hexadecimal.
    public var sha256Text: String { sha256.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() }
}

/// Why a store refused or failed.
public struct DataStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// No bytes under the key.
        case notFound
        /// More bytes arrived than the call allows.
        case tooLarge(limit: Int64)
        /// The offset is past the end of the bytes.
        case unsatisfiableRange
        /// The store could not read or write (disk full, permissions, the object store's answer).
        case storage
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Where data files' bytes live: one small protocol, with a local-disk implementation (the embedded default).
///
/// A `put` is all or nothing: its bytes become readable under their key only once every one of them is stored;
/// when the body fails, the task is cancelled or the limit is passed, nothing is left behind. Checksums are
/// computed as the bytes go by.
public protocol ObjectStore: Sendable {
    /// Stores the bytes of `body` under `key` (a new one, from `StoreKey.make()`), refusing more than
    /// `maximumBytes` of them. The caller chooses the key so that it can record it before the first byte is stored.
    func put<Body: AsyncSequence>(_ body: Body, as key: StoreKey, maximumBytes: Int64?) async throws -> StoredObject
    where Body.Element == ByteBuffer

    /// The bytes stored under `key`, from `offset` to the end, in chunks.
    func read(_ key: StoreKey, from offset: Int64) async throws(DataStoreError) -> ObjectBytes

    /// How many bytes are stored under `key`.
    func size(of key: StoreKey) async throws(DataStoreError) -> Int64

    /// Removes the bytes under `key`; nothing to remove is no error.
    func delete(_ key: StoreKey) async throws(DataStoreError)

    /// Releases what the store holds (an HTTP client's connections) after its last use.
    func shutdown() async throws
}

extension ObjectStore {
    public func shutdown() async throws {}

    /// Stores the bytes of `body` under a new key.
    public func put<Body: AsyncSequence>(_ body: Body, maximumBytes: Int64?) async throws -> StoredObject
    where Body.Element == ByteBuffer {
        try await put(body, as: StoreKey.make(), maximumBytes: maximumBytes)
    }
}

/// Stored bytes being read: their total size from the offset, and the chunks.
public struct ObjectBytes: Sendable {
    /// How many bytes the chunks hold in all.
    public let count: Int64
    public let chunks: AsyncThrowingStream<ByteBuffer, any Error>

    public init(count: Int64, chunks: AsyncThrowingStream<ByteBuffer, any Error>) {
        self.count = count
        self.chunks = chunks
    }
}
