import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// One put's way into the bucket: the body fills a part; a body that fits in one part goes as one PutObject, a
/// larger one as a multipart upload whose full parts are sent while the next one fills (one at a time, so about two
/// parts are held). What a failed put may have left is removed by `removeLeftovers()`.
struct S3Upload {
    let store: S3ObjectStore
    let objectKey: String
    /// The multipart upload begun, if one was.
    private var uploadID: String?
    /// Whether the request that makes the object (PutObject, CompleteMultipartUpload) was sent: if the put then
    /// failed, the object may exist all the same.
    private var objectMayExist = false

    /// S3's largest part number.
    static let maximumParts = 10_000

    init(store: S3ObjectStore, objectKey: String) {
        self.store = store
        self.objectKey = objectKey
    }

    /// Sends the body's bytes, with their checksums computed as they go by.
    mutating func send<Body: AsyncSequence>(
        _ body: Body,
        maximumBytes: Int64?
    ) async throws -> (crc32: UInt32, sha256: [UInt8], size: Int64) where Body.Element == ByteBuffer {
        let partSize = store.configuration.partSize
        var checksums = StreamingChecksums()
        var part = PartBytes()
        var parts: [(number: Int, etag: String)] = []
        var nextNumber = 1
        try await withThrowingTaskGroup(of: (number: Int, etag: String).self) { group in
            var sending = false
            for try await var chunk in body {
                try Task.checkCancellation()
                if let maximumBytes, checksums.byteCount + Int64(chunk.readableBytes) > maximumBytes {
                    throw DataStoreError(.tooLarge(limit: maximumBytes), "more than \(maximumBytes) bytes")
                }
                checksums.update(chunk)
                while chunk.readableBytes > 0 {
                    if part.count == partSize {
                        // More bytes than the part holds: the body is larger than one part, and this part goes.
                        if sending, let sent = try await group.next() { parts.append(sent) }
                        if uploadID == nil { uploadID = try await store.createMultipartUpload(objectKey) }
                        guard nextNumber < Self.maximumParts else {
                            throw DataStoreError(
                                .storage,
                                "S3 put of \(objectKey): more than \(Self.maximumParts) parts of \(partSize) bytes"
                            )
                        }
                        let (store, objectKey, uploadID, number, bytes) = (
                            store, objectKey, uploadID!, nextNumber, part
                        )
                        group.addTask { try await store.uploadPart(bytes, number: number, of: objectKey, in: uploadID) }
                        sending = true
                        nextNumber += 1
                        part = PartBytes()
                    }
                    part.fill(from: &chunk, upTo: partSize)
                }
            }
            try Task.checkCancellation()
            while let sent = try await group.next() { parts.append(sent) }
        }
        let (crc32, sha256) = checksums.finish()
        if let uploadID {
            parts.append(try await store.uploadPart(part, number: nextNumber, of: objectKey, in: uploadID))
            objectMayExist = true
            try await store.completeMultipartUpload(objectKey, uploadID, parts: parts.sorted { $0.number < $1.number })
        } else {
            objectMayExist = true
            try await store.putObject(objectKey, part, sha256: SigV4.hex(sha256))
        }
        return (crc32, sha256, checksums.byteCount)
    }

    /// Aborts the multipart upload and removes the object if they may exist; in a task of its own, so that a
    /// cancelled put cleans up all the same. What cannot be removed now (the service unreachable) is left to
    /// `S3ObjectStore.removeLeftovers(begunBefore:)` or the bucket's lifecycle rule.
    func removeLeftovers() async {
        let (store, objectKey, uploadID, objectMayExist) = (store, objectKey, uploadID, objectMayExist)
        guard uploadID != nil || objectMayExist else { return }
        await Task {
            if let uploadID { try? await store.abortUpload(objectKey, id: uploadID) }
            if objectMayExist { try? await store.deleteObject(objectKey) }
        }.value
    }
}

extension S3ObjectStore {
    func putObject(_ objectKey: String, _ bytes: PartBytes, sha256: String) async throws(DataStoreError) {
        let response = try await request("put", "PUT", objectKey: objectKey, body: bytes.body, payloadHash: sha256)
        guard response.status.code == 200 else { throw await failure("put", objectKey, response) }
        await Self.drain(response)
    }

    /// Begins a multipart upload; returns its id.
    func createMultipartUpload(_ objectKey: String) async throws(DataStoreError) -> String {
        let operation = "create multipart upload"
        let response = try await request(operation, "POST", objectKey: objectKey, query: [("uploads", "")])
        guard response.status.code == 200 else { throw await failure(operation, objectKey, response) }
        guard let id = S3XML.value("UploadId", in: try await Self.text(of: response, operation: operation)) else {
            throw DataStoreError(.storage, "S3 \(operation) of \(objectKey): the answer has no UploadId")
        }
        return id
    }

    /// Sends one part, signed with its SHA-256; returns its number and the ETag S3 gave it.
    func uploadPart(
        _ bytes: PartBytes,
        number: Int,
        of objectKey: String,
        in uploadID: String
    ) async throws(DataStoreError) -> (number: Int, etag: String) {
        let operation = "upload of part \(number)"
        let hash = bytes.sha256()
        let response = try await request(
            operation,
            "PUT",
            objectKey: objectKey,
            query: [("partNumber", "\(number)"), ("uploadId", uploadID)],
            body: bytes.body,
            payloadHash: hash
        )
        guard response.status.code == 200 else { throw await failure(operation, objectKey, response) }
        await Self.drain(response)
        guard let etag = response.headers.first(name: "etag") else {
            throw DataStoreError(.storage, "S3 \(operation) of \(objectKey): the answer has no ETag")
        }
        return (number, etag)
    }

    func completeMultipartUpload(
        _ objectKey: String,
        _ uploadID: String,
        parts: [(number: Int, etag: String)]
    ) async throws(DataStoreError) {
        let operation = "completion of the multipart upload"
        let document =
            "<CompleteMultipartUpload>"
            + parts.map {
                "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(S3XML.escape($0.etag))</ETag></Part>"
            }
            .joined() + "</CompleteMultipartUpload>"
        let response = try await request(
            operation,
            "POST",
            objectKey: objectKey,
            query: [("uploadId", uploadID)],
            headers: [("content-type", "application/xml")],
            body: .bytes(ByteBuffer(string: document)),
            payloadHash: SigV4.hex(SHA256.hash(data: Array(document.utf8)))
        )
        guard response.status.code == 200 else { throw await failure(operation, objectKey, response) }
        // S3 may answer 200 and report an error in the body, once the answer has begun.
        let text = try await Self.text(of: response, operation: operation)
        if text.contains("<Error>") {
            let detail = [S3XML.value("Code", in: text), S3XML.value("Message", in: text)].compactMap { $0 }
            throw DataStoreError(.storage, "S3 \(operation) of \(objectKey): \(detail.joined(separator: ": "))")
        }
    }
}

/// The bytes of one part, copied from the body into pages of at most 1 MiB: a part is never one large allocation,
/// so the pages of a sent part go back to the allocator in pieces it gives out again for the next part, and a put's
/// memory stays at about two parts (one allocation per part, which the allocator would keep, grew it to five).
struct PartBytes: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    static let pageSize = 1 << 20
    private(set) var pages: [ByteBuffer] = []
    /// How many bytes the part holds.
    private(set) var count = 0

    /// Moves bytes from the start of `chunk` into the part until it holds `limit` bytes or `chunk` is empty.
    mutating func fill(from chunk: inout ByteBuffer, upTo limit: Int) {
        while count < limit, chunk.readableBytes > 0 {
            if pages.last.map({ $0.writableBytes == 0 }) ?? true {
                pages.append(ByteBufferAllocator().buffer(capacity: Swift.min(Self.pageSize, limit - count)))
            }
            let length = Swift.min(chunk.readableBytes, pages[pages.count - 1].writableBytes, limit - count)
            var piece = chunk.readSlice(length: length)!
            pages[pages.count - 1].writeBuffer(&piece)
            count += length
        }
    }

    /// The SHA-256 of the part's bytes, in lowercase hexadecimal.
    func sha256() -> String {
        var hash = SHA256()
        for page in pages { page.withUnsafeReadableBytes { hash.update(bufferPointer: $0) } }
        return SigV4.hex(hash.finalize())
    }

    /// The part as a request's body, of known length.
    var body: HTTPClientRequest.Body { .stream(self, length: .known(Int64(count))) }

    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { rest.popFirst() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: pages[...]) }
}
