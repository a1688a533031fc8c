import CZlib
import Crypto
import NIOCore

/// The checksums of a file computed as its bytes go by, in one pass: CRC32 (zlib's, the one ICAT's IDS gives) and
/// SHA-256.
public struct StreamingChecksums: Sendable {
    private var crc: UInt = 0
    private var sha = SHA256()
    public private(set) var byteCount: Int64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var offset = 0
        // zlib takes at most UInt32.max bytes per call.
        while offset < bytes.count {
            let length = min(bytes.count - offset, Int(UInt32.max))
            crc = CZlib.crc32(crc, base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), uInt(length))
            offset += length
        }
        sha.update(bufferPointer: bytes)
        byteCount += Int64(bytes.count)
    }

    public mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { update($0) }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// zlib's CRC32 of `bytes` continued from `crc` (0 to start).
    public static func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        var value = UInt(crc)
        var offset = 0
        while offset < bytes.count {
            let length = min(bytes.count - offset, Int(UInt32.max))
            value = CZlib.crc32(value, base.advanced(by: offset).assumingMemoryBound(to: UInt8.self), uInt(length))
            offset += length
        }
        return UInt32(truncatingIfNeeded: value)
    }

    /// The CRC32 and the SHA-256 of everything given so far.
    public func finish() -> (crc32: UInt32, sha256: [UInt8]) {
        (UInt32(truncatingIfNeeded: crc), Array(sha.finalize()))
    }
}
