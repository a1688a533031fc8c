import DataStore
import Foundation
import NIOCore

/// Data being downloaded: one datafile's bytes, or a zip of several, from `offset` on.
public struct DataDownload: Sendable {
    /// The name to save it under: `outname`, or the datafile's name, or `ids.zip`.
    public let name: String
    public let isZip: Bool
    /// The length of the whole download, when known before it is written (not for compressed zips).
    public let length: Int64?
    /// Where the body starts (a `Range: bytes=N-` request's N).
    public let offset: Int64
    public let body: AsyncThrowingStream<ByteBuffer, any Error>
}

extension DataService {
    /// The data a request names: one datafile alone (unless `zip`), otherwise a zip of all, entries named
    /// `ids/<facility>/<investigation>/<visitId>/<dataset>/<datafile>` as IDS names them. Archived data is
    /// DataNotOnline, and its restore starts.
    public func getData(
        _ request: DataRequest,
        zip: Bool = false,
        compress: Bool = false,
        outname: String? = nil,
        offset: Int64 = 0
    ) async throws(IDSError) -> DataDownload {
        let (unpacked, files) = try await files(request)
        let zip = zip || unpacked.zip || files.count != 1
        let compress = compress || unpacked.compress
        // A deflated zip's bytes are known only as they are written: a range of it is answered with all of it.
        let offset = zip && compress ? 0 : offset
        try await requireOnline(datasetIds: Array(Set(files.map(\.datasetId))))
        let stored: [Int64: StoredBytes]
        do {
            stored = try await ledger.storedBytes(of: files.map(\.id))
        } catch {
            throw internalError("cannot read where the data is stored", error)
        }
        var sources: [(SelectedFile, StoredBytes, StoreKey)] = []
        for file in files {
            guard let bytes = stored[file.id], let key = bytes.location else {
                throw IDSError(.notFound, "Datafile[id:\(file.id)] has no bytes in this data service")
            }
            sources.append((file, bytes, key))
        }
        if !zip, let (file, bytes, key) = sources.first {
            guard offset == 0 || offset < bytes.size else {
                throw IDSError(.badRequest, "The range starts past the end", unsatisfiableRangeSize: bytes.size)
            }
            let read: ObjectBytes
            do {
                read = try await configuration.main.read(key, from: offset)
            } catch {
                throw IDSError(error)
            }
            return DataDownload(
                name: outname ?? file.name,
                isZip: false,
                length: bytes.size,
                offset: offset,
                body: read.chunks
            )
        }
        let entries = sources.map {
            ZipEntry(name: $0.0.zipEntryName, size: $0.1.size, crc32: $0.1.crc32, modified: $0.0.modified)
        }
        let length = compress ? nil : ZipWriter.storedLength(of: entries)
        if let length, offset > 0, offset >= length {
            throw IDSError(.badRequest, "The range starts past the end", unsatisfiableRangeSize: length)
        }
        let producer = ZipProducer(
            entries: entries,
            keys: sources.map(\.2),
            store: configuration.main,
            compress: compress,
            skip: offset
        )
        let name = outname.map { $0.hasSuffix(".zip") ? $0 : $0 + ".zip" } ?? "ids.zip"
        return DataDownload(
            name: name,
            isZip: true,
            length: length,
            offset: offset,
            body: AsyncThrowingStream(unfolding: { try await producer.next() })
        )
    }
}

/// Writes a zip piece by piece as the client reads it: one header, or one chunk of a file, per call. Bytes before
/// `skip` are not sent; with stored entries, files wholly before it are not even read.
final class ZipProducer: @unchecked Sendable {
    // Used by one task at a time: the unfolding closure of the download's stream.
    private let entries: [ZipEntry]
    private let keys: [StoreKey]
    private let store: any ObjectStore
    private var writer: ZipWriter
    private var skip: Int64
    /// Bytes of the zip produced so far, sent or skipped.
    private var position: Int64 = 0
    private var index = 0
    private var chunks: AsyncThrowingStream<ByteBuffer, any Error>.AsyncIterator?
    private var finished = false
    /// Data of the open entry counted as skipped but never read; added to `position` after its header.
    private var unreadData: Int64 = 0
    private var skippedEntryOpen = false

    init(entries: [ZipEntry], keys: [StoreKey], store: any ObjectStore, compress: Bool, skip: Int64) {
        self.entries = entries
        self.keys = keys
        self.store = store
        self.writer = ZipWriter(compress: compress)
        self.skip = skip
    }

    func next() async throws -> ByteBuffer? {
        while true {
            guard let piece = try await produce() else { return nil }
            let sent = trim(piece)
            position += unreadData
            unreadData = 0
            if let sent { return sent }
        }
    }

    /// The part of `piece` at or after `skip`.
    private func trim(_ piece: ByteBuffer) -> ByteBuffer? {
        let start = position
        position += Int64(piece.readableBytes)
        guard position > skip else { return nil }
        guard start < skip else { return piece.readableBytes == 0 ? nil : piece }
        return piece.getSlice(at: piece.readerIndex + Int(skip - start), length: Int(position - skip))
    }

    private func produce() async throws -> ByteBuffer? {
        if skippedEntryOpen {
            skippedEntryOpen = false
            index += 1
            return try writer.end()
        }
        if var iterator = chunks {
            if let chunk = try await iterator.next() {
                chunks = iterator
                return try writer.data(chunk)
            }
            chunks = nil
            index += 1
            return try writer.end()
        }
        if index < entries.count {
            let entry = entries[index]
            let header = writer.begin(entry)
            let dataStart = position + Int64(header.readableBytes)
            if !writer.compress, dataStart + entry.size <= skip {
                // Wholly before the range: counted, never read.
                writer.skipStored(entry.size)
                unreadData = entry.size
                skippedEntryOpen = true
                return header
            }
            let from = !writer.compress && skip > dataStart ? skip - dataStart : 0
            if from > 0 {
                writer.skipStored(from)
                unreadData = from
            }
            chunks = try await store.read(keys[index], from: from).chunks.makeAsyncIterator()
            return header
        }
        guard !finished else { return nil }
        finished = true
        return writer.finish()
    }
}
