import CZlib
import Foundation
import NIOCore

/// One file of a zip being written: its name, size and CRC32 are known before its bytes are read (the data
/// service stored them), so stored entries need no data descriptor and the whole zip's length is known up front.
struct ZipEntry: Sendable, Equatable {
    var name: String
    var size: Int64
    var crc32: UInt32
    /// The entry's modification time (the Datafile's), so that the same selection always gives the same bytes and
    /// a download can be resumed.
    var modified: Date = Date(timeIntervalSince1970: 315_532_800)
}

/// Writes a zip archive as a stream, entry by entry (PKWARE's APPNOTE 6.3): local headers, the entries' bytes as
/// the caller passes them, then the central directory. ZIP64 records are written where sizes, offsets or the entry
/// count pass the classic format's limits. Entries are stored, or deflated (`compress`) with a data descriptor
/// after their bytes.
struct ZipWriter {
    private struct Written {
        var entry: ZipEntry
        var offset: Int64
        var compressedSize: Int64
        var zip64: Bool
    }

    let compress: Bool
    private(set) var offset: Int64 = 0
    private var written: [Written] = []
    private var current: (entry: ZipEntry, offset: Int64, zip64: Bool)?
    private var deflater: Deflater?

    init(compress: Bool) {
        self.compress = compress
    }

    /// The length of a zip of stored entries, without writing it.
    static func storedLength(of entries: [ZipEntry]) -> Int64 {
        var writer = ZipWriter(compress: false)
        for entry in entries {
            _ = writer.begin(entry)
            writer.offset += entry.size
            _ = try? writer.end()
        }
        return writer.offset + Int64(writer.finish().readableBytes)
    }

    private static let limit32: Int64 = 0xFFFF_FFFF

    /// Sizes from here on may pass 4 GiB once deflated (deflate can grow data a little).
    private static let deflateLimit: Int64 = 0xF000_0000

    /// The local header of the next entry.
    mutating func begin(_ entry: ZipEntry) -> ByteBuffer {
        precondition(current == nil, "an entry is already open")
        let zip64 = entry.size >= (compress ? Self.deflateLimit : Self.limit32)
        let name = Array(entry.name.utf8)
        var header = ByteBuffer()
        header.writeInteger(UInt32(0x0403_4b50), endianness: .little)
        header.writeInteger(UInt16(zip64 ? 45 : 20), endianness: .little)
        header.writeInteger(flags, endianness: .little)
        header.writeInteger(UInt16(compress ? 8 : 0), endianness: .little)
        let dosTime = Self.dosTime(entry.modified)
        header.writeInteger(dosTime.time, endianness: .little)
        header.writeInteger(dosTime.date, endianness: .little)
        // A deflated entry's CRC and sizes follow its bytes, in the data descriptor.
        header.writeInteger(compress ? 0 : entry.crc32, endianness: .little)
        let size32 = compress ? 0 : (zip64 ? UInt32.max : UInt32(entry.size))
        header.writeInteger(size32, endianness: .little)
        header.writeInteger(size32, endianness: .little)
        header.writeInteger(UInt16(name.count), endianness: .little)
        header.writeInteger(UInt16(zip64 ? 20 : 0), endianness: .little)
        header.writeBytes(name)
        if zip64 {
            header.writeInteger(UInt16(1), endianness: .little)
            header.writeInteger(UInt16(16), endianness: .little)
            header.writeInteger(UInt64(compress ? 0 : entry.size), endianness: .little)
            header.writeInteger(UInt64(compress ? 0 : entry.size), endianness: .little)
        }
        current = (entry, offset, zip64)
        offset += Int64(header.readableBytes)
        if compress { deflater = Deflater() }
        return header
    }

    /// The bytes to write for a piece of the open entry's data.
    mutating func data(_ chunk: ByteBuffer) throws -> ByteBuffer {
        guard let deflater else {
            offset += Int64(chunk.readableBytes)
            return chunk
        }
        let out = try deflater.deflate(chunk, finish: false)
        offset += Int64(out.readableBytes)
        return out
    }

    /// Counts stored data that is not written (a download resumed past it).
    mutating func skipStored(_ count: Int64) {
        precondition(deflater == nil, "a deflated entry's bytes cannot be skipped")
        offset += count
    }

    /// Closes the open entry: for a deflated one, the rest of its compressed bytes and its data descriptor.
    mutating func end() throws -> ByteBuffer {
        guard let open = current else { preconditionFailure("no entry is open") }
        var tail = ByteBuffer()
        var compressedSize = open.entry.size
        if let deflater {
            tail = try deflater.deflate(ByteBuffer(), finish: true)
            offset += Int64(tail.readableBytes)
            compressedSize = offset - open.offset - Int64(headerLength(open.entry, zip64: open.zip64))
            let descriptorStart = tail.writerIndex
            tail.writeInteger(UInt32(0x0807_4b50), endianness: .little)
            tail.writeInteger(open.entry.crc32, endianness: .little)
            if open.zip64 {
                tail.writeInteger(UInt64(compressedSize), endianness: .little)
                tail.writeInteger(UInt64(open.entry.size), endianness: .little)
            } else {
                tail.writeInteger(UInt32(truncatingIfNeeded: compressedSize), endianness: .little)
                tail.writeInteger(UInt32(open.entry.size), endianness: .little)
            }
            offset += Int64(tail.writerIndex - descriptorStart)
            self.deflater = nil
        }
        written.append(
            Written(entry: open.entry, offset: open.offset, compressedSize: compressedSize, zip64: open.zip64)
        )
        current = nil
        return tail
    }

    /// The central directory and the end records.
    mutating func finish() -> ByteBuffer {
        precondition(current == nil, "an entry is still open")
        var directory = ByteBuffer()
        let directoryStart = offset
        for file in written {
            let name = Array(file.entry.name.utf8)
            var extra: [UInt64] = []
            let bigSizes = file.entry.size >= Self.limit32 || file.compressedSize >= Self.limit32
            if bigSizes {
                extra.append(UInt64(file.entry.size))
                extra.append(UInt64(file.compressedSize))
            }
            if file.offset >= Self.limit32 { extra.append(UInt64(file.offset)) }
            directory.writeInteger(UInt32(0x0201_4b50), endianness: .little)
            directory.writeInteger(UInt16(0x0300 | 45), endianness: .little)
            directory.writeInteger(UInt16(extra.isEmpty && !file.zip64 ? 20 : 45), endianness: .little)
            directory.writeInteger(flags, endianness: .little)
            directory.writeInteger(UInt16(compress ? 8 : 0), endianness: .little)
            let dosTime = Self.dosTime(file.entry.modified)
            directory.writeInteger(dosTime.time, endianness: .little)
            directory.writeInteger(dosTime.date, endianness: .little)
            directory.writeInteger(file.entry.crc32, endianness: .little)
            directory.writeInteger(bigSizes ? UInt32.max : UInt32(file.compressedSize), endianness: .little)
            directory.writeInteger(bigSizes ? UInt32.max : UInt32(file.entry.size), endianness: .little)
            directory.writeInteger(UInt16(name.count), endianness: .little)
            directory.writeInteger(UInt16(extra.isEmpty ? 0 : 4 + 8 * extra.count), endianness: .little)
            directory.writeInteger(UInt16(0), endianness: .little)  // comment
            directory.writeInteger(UInt16(0), endianness: .little)  // disk
            directory.writeInteger(UInt16(0), endianness: .little)  // internal attributes
            directory.writeInteger(UInt32(0o100644) << 16, endianness: .little)  // a regular file, rw-r--r--
            directory.writeInteger(file.offset >= Self.limit32 ? UInt32.max : UInt32(file.offset), endianness: .little)
            directory.writeBytes(name)
            if !extra.isEmpty {
                directory.writeInteger(UInt16(1), endianness: .little)
                directory.writeInteger(UInt16(8 * extra.count), endianness: .little)
                for value in extra { directory.writeInteger(value, endianness: .little) }
            }
        }
        let directorySize = Int64(directory.readableBytes)
        let count = written.count
        if count >= 0xFFFF || directorySize >= Self.limit32 || directoryStart >= Self.limit32 {
            let recordStart = directoryStart + directorySize
            directory.writeInteger(UInt32(0x0606_4b50), endianness: .little)
            directory.writeInteger(UInt64(44), endianness: .little)
            directory.writeInteger(UInt16(0x0300 | 45), endianness: .little)
            directory.writeInteger(UInt16(45), endianness: .little)
            directory.writeInteger(UInt32(0), endianness: .little)
            directory.writeInteger(UInt32(0), endianness: .little)
            directory.writeInteger(UInt64(count), endianness: .little)
            directory.writeInteger(UInt64(count), endianness: .little)
            directory.writeInteger(UInt64(directorySize), endianness: .little)
            directory.writeInteger(UInt64(directoryStart), endianness: .little)
            directory.writeInteger(UInt32(0x0706_4b50), endianness: .little)
            directory.writeInteger(UInt32(0), endianness: .little)
            directory.writeInteger(UInt64(recordStart), endianness: .little)
            directory.writeInteger(UInt32(1), endianness: .little)
        }
        directory.writeInteger(UInt32(0x0605_4b50), endianness: .little)
        directory.writeInteger(UInt16(0), endianness: .little)
        directory.writeInteger(UInt16(0), endianness: .little)
        directory.writeInteger(UInt16(min(count, 0xFFFF)), endianness: .little)
        directory.writeInteger(UInt16(min(count, 0xFFFF)), endianness: .little)
        directory.writeInteger(UInt32(min(directorySize, Self.limit32)), endianness: .little)
        directory.writeInteger(UInt32(min(directoryStart, Self.limit32)), endianness: .little)
        directory.writeInteger(UInt16(0), endianness: .little)
        offset += Int64(directory.readableBytes)
        return directory
    }

    /// Names are UTF-8 (bit 11); a deflated entry's sizes follow its data (bit 3).
    private var flags: UInt16 { compress ? 0x0808 : 0x0800 }

    private func headerLength(_ entry: ZipEntry, zip64: Bool) -> Int {
        30 + entry.name.utf8.count + (zip64 ? 20 : 0)
    }

    /// MS-DOS's date and time (UTC, two-second steps, 1980–2107), computed from the civil date without a Calendar:
    /// a zip of 66,000 entries asks twice per entry.
    static func dosTime(_ date: Date) -> (time: UInt16, date: UInt16) {
        let seconds = min(max(Int64(date.timeIntervalSince1970.rounded(.down)), 315_532_800), 4_354_819_198)
        let days = seconds / 86_400
        let rest = Int(seconds % 86_400)
        // Howard Hinnant's days-to-civil.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = Int(yearOfEra + era * 400 + (month <= 2 ? 1 : 0))
        let time = UInt16((rest / 3600) << 11 | (rest % 3600 / 60) << 5 | (rest % 60) / 2)
        let dosDate = UInt16((year - 1980) << 9 | month << 5 | day)
        return (time, dosDate)
    }
}

/// zlib's raw deflate over a stream of buffers.
final class Deflater {
    private var stream = z_stream()

    init() {
        let status = deflateInit2_(
            &stream,
            Z_DEFAULT_COMPRESSION,
            Z_DEFLATED,
            -15,
            8,
            Z_DEFAULT_STRATEGY,
            ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size)
        )
        precondition(status == Z_OK, "zlib's deflateInit2 failed (\(status))")
    }

    deinit { deflateEnd(&stream) }

    func deflate(_ input: ByteBuffer, finish: Bool) throws -> ByteBuffer {
        var output = ByteBuffer()
        var input = input
        try input.withUnsafeMutableReadableBytes { bytes in
            stream.next_in = bytes.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_in = uInt(bytes.count)
            repeat {
                let capacity = max(64 * 1024, bytes.count / 2 + 1024)
                _ = try output.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { out -> Int in
                    stream.next_out = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(out.count)
                    let status = CZlib.deflate(&stream, finish ? Z_FINISH : Z_NO_FLUSH)
                    guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                        throw IDSError(.internal, "zlib's deflate failed (\(status))")
                    }
                    return out.count - Int(stream.avail_out)
                }
            } while stream.avail_out == 0
        }
        return output
    }
}
