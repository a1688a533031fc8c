import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore

/// Data files' bytes as objects in a bucket of an S3-compatible service (AWS S3, MinIO, Ceph), under
/// `<keyPrefix>/<key>`, signed with AWS Signature Version 4.
///
/// A `put` smaller than one part is one PutObject; a larger one is a multipart upload whose parts go while the next
/// one fills (so a put holds about two parts in memory), aborted on any failure so that no object and no unfinished
/// upload is left. Reads are ranged GETs streamed as they arrive.
///
/// The store owns its HTTP client: whoever makes a store calls `shutdown()` once, after its last use (copies share
/// the client).
public struct S3ObjectStore: ObjectStore {
    public let configuration: S3Configuration
    let client: HTTPClient
    let signer: SigV4
    /// How long a request may wait for its answer to begin.
    let requestTimeout: TimeAmount = .seconds(300)

    public init(configuration: S3Configuration) throws(DataStoreError) {
        if let problem = configuration.problem() { throw DataStoreError(.storage, "S3 configuration: \(problem)") }
        self.configuration = configuration
        signer = SigV4(
            accessKeyID: configuration.accessKeyID,
            secretAccessKey: configuration.secretAccessKey,
            region: configuration.region
        )
        // Redirects would go unsigned to another host, and S3 objects are sent as stored: neither is followed.
        client = HTTPClient(
            configuration: HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .seconds(10)),
                decompression: .disabled
            )
        )
    }

    /// Closes the HTTP client's connections; the store (and its copies) cannot be used afterwards.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// The object key of stored bytes: the prefix, then the store's key.
    func objectKey(_ key: StoreKey) -> String { configuration.normalizedPrefix + key.rawValue }

    public func put<Body: AsyncSequence>(
        _ body: Body,
        as key: StoreKey,
        maximumBytes: Int64?
    ) async throws
        -> StoredObject
    where Body.Element == ByteBuffer {
        var upload = S3Upload(store: self, objectKey: objectKey(key))
        do {
            let (crc32, sha256, size) = try await upload.send(body, maximumBytes: maximumBytes)
            return StoredObject(key: key, size: size, crc32: crc32, sha256: sha256)
        } catch {
            await upload.removeLeftovers()
            if Task.isCancelled, !(error is CancellationError) { throw CancellationError() }
            throw error
        }
    }

    public func read(_ key: StoreKey, from offset: Int64) async throws(DataStoreError) -> ObjectBytes {
        guard offset >= 0 else { throw DataStoreError(.unsatisfiableRange, "offset \(offset) is negative") }
        let objectKey = objectKey(key)
        // An empty object has no byte 0, so a read from the start asks for no range.
        let range = offset > 0 ? [(name: "range", value: "bytes=\(offset)-")] : []
        let response = try await request("read", "GET", objectKey: objectKey, headers: range)
        guard response.status.code == (offset > 0 ? 206 : 200) else {
            throw await failure("read", objectKey, response)
        }
        guard let count = response.headers.first(name: "content-length").flatMap({ Int64($0) }) else {
            throw DataStoreError(.storage, "S3 read of \(objectKey): the answer has no Content-Length")
        }
        let chunks = ResponseChunks(response.body)
        return ObjectBytes(count: count, chunks: AsyncThrowingStream(unfolding: { try await chunks.next() }))
    }

    public func size(of key: StoreKey) async throws(DataStoreError) -> Int64 {
        let objectKey = objectKey(key)
        let response = try await request("size", "HEAD", objectKey: objectKey)
        guard response.status.code == 200 else { throw await failure("size", objectKey, response) }
        guard let size = response.headers.first(name: "content-length").flatMap({ Int64($0) }) else {
            throw DataStoreError(.storage, "S3 size of \(objectKey): the answer has no Content-Length")
        }
        return size
    }

    public func delete(_ key: StoreKey) async throws(DataStoreError) {
        try await deleteObject(objectKey(key))
    }

    func deleteObject(_ objectKey: String) async throws(DataStoreError) {
        let response = try await request("delete", "DELETE", objectKey: objectKey)
        // S3 answers 204 whether or not the object was there; some services answer 404 when it was not.
        guard response.status.code == 204 || response.status.code == 200 || response.status.code == 404 else {
            throw await failure("delete", objectKey, response)
        }
        await Self.drain(response)
    }

    /// Removes the unfinished multipart uploads under the prefix begun before `date` (those of servers stopped in
    /// the middle of a put); returns their object keys. Uploads begun later may be running puts of this or another
    /// server, so give a date well before any running put began (a day ago, say). A bucket lifecycle rule that
    /// aborts incomplete multipart uploads does the same on the service's side.
    @discardableResult
    public func removeLeftovers(begunBefore date: Date) async throws(DataStoreError) -> [String] {
        var removed: [String] = []
        for upload in try await unfinishedUploads() where upload.initiated.map({ $0 < date }) ?? false {
            try await abortUpload(upload.key, id: upload.id)
            removed.append(upload.key)
        }
        return removed.sorted()
    }

    /// The multipart uploads under the prefix that were neither completed nor aborted.
    func unfinishedUploads() async throws(DataStoreError) -> [(key: String, id: String, initiated: Date?)] {
        var uploads: [(key: String, id: String, initiated: Date?)] = []
        var markers: [(name: String, value: String)] = []
        while true {
            let query = [(name: "uploads", value: ""), (name: "prefix", value: configuration.normalizedPrefix)]
            let response = try await request("list uploads", "GET", objectKey: nil, query: query + markers)
            guard response.status.code == 200 else { throw await failure("list uploads", "", response) }
            let text = try await Self.text(of: response, operation: "list uploads")
            for upload in S3XML.elements("Upload", in: text) {
                guard let key = S3XML.value("Key", in: upload), let id = S3XML.value("UploadId", in: upload) else {
                    continue
                }
                uploads.append((key, id, S3XML.value("Initiated", in: upload).flatMap(Self.date)))
            }
            guard S3XML.value("IsTruncated", in: text) == "true",
                let keyMarker = S3XML.value("NextKeyMarker", in: text),
                let idMarker = S3XML.value("NextUploadIdMarker", in: text)
            else { return uploads }
            markers = [("key-marker", keyMarker), ("upload-id-marker", idMarker)]
        }
    }

    /// A time as S3 writes it, `2010-11-10T20:48:33.000Z`, with or without the fraction.
    static func date(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }

    func abortUpload(_ objectKey: String, id: String) async throws(DataStoreError) {
        let response = try await request(
            "abort multipart upload",
            "DELETE",
            objectKey: objectKey,
            query: [("uploadId", id)]
        )
        guard response.status.code == 204 || response.status.code == 200 || response.status.code == 404 else {
            throw await failure("abort multipart upload", objectKey, response)
        }
        await Self.drain(response)
    }

    /// Sends one signed request about the bucket (`objectKey` nil) or one of its objects; a failure to reach the
    /// service is a `storage` error naming `operation`.
    func request(
        _ operation: String,
        _ method: String,
        objectKey: String?,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: HTTPClientRequest.Body? = nil,
        payloadHash: String? = nil
    ) async throws(DataStoreError) -> HTTPClientResponse {
        let endpoint = configuration.endpoint
        var host = endpoint.host ?? ""
        if host.contains(":") { host = "[\(host)]" }
        if let port = endpoint.port, port != (endpoint.scheme?.lowercased() == "https" ? 443 : 80) {
            host += ":\(port)"
        }
        var path = objectKey.map { "/" + $0 } ?? "/"
        if configuration.pathStyle {
            path = "/" + configuration.bucket + (objectKey.map { "/" + $0 } ?? "")
        } else {
            host = configuration.bucket + "." + host
        }
        var signable = SigV4.Request(
            method: method,
            path: path,
            query: query,
            headers: [("host", host)] + headers,
            payloadHash: payloadHash ?? SigV4.emptyPayloadHash
        )
        signable.headers += signer.signingHeaders(for: signable, at: Date())
        let encodedQuery = signable.encodedQuery
        var request = HTTPClientRequest(
            url: "\(endpoint.scheme!.lowercased())://\(host)\(signable.encodedPath)"
                + (encodedQuery.isEmpty ? "" : "?" + encodedQuery)
        )
        request.method = .init(rawValue: method)
        for (name, value) in signable.headers { request.headers.add(name: name, value: value) }
        request.body = body
        do {
            return try await client.execute(request, timeout: requestTimeout)
        } catch {
            let target = objectKey ?? configuration.bucket
            throw DataStoreError(
                .storage,
                "S3 \(operation) of \(target) at \(endpoint.absoluteString) failed: \(error)"
            )
        }
    }

    /// The error an answer that is not the expected one means: `notFound` for 404, `unsatisfiableRange` for 416,
    /// else `storage`; with S3's error code and message when its body has them.
    func failure(_ operation: String, _ objectKey: String, _ response: HTTPClientResponse) async -> DataStoreError {
        let text = (try? await Self.text(of: response, operation: operation)) ?? ""
        let code = S3XML.value("Code", in: text)
        let message = S3XML.value("Message", in: text)
        let detail = [code, message].compactMap { $0 }.joined(separator: ": ")
        let what =
            "S3 \(operation) of \(configuration.bucket)/\(objectKey): HTTP \(response.status.code)"
            + (detail.isEmpty ? "" : " \(detail)")
        switch (response.status.code, code) {
        case (404, nil), (404, "NoSuchKey"): return DataStoreError(.notFound, what)
        case (416, _): return DataStoreError(.unsatisfiableRange, what)
        default: return DataStoreError(.storage, what)
        }
    }

    /// The body of a small answer (an XML document) as text.
    static func text(of response: HTTPClientResponse, operation: String) async throws(DataStoreError) -> String {
        do {
            return String(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            throw DataStoreError(.storage, "S3 \(operation): cannot read the answer: \(error)")
        }
    }

    /// Reads an answer's body to its end, so that its connection can serve the next request.
    static func drain(_ response: HTTPClientResponse) async {
        do { for try await _ in response.body {} } catch {}
    }
}

/// An answer's body, read on demand. One reader is iterated by one task at a time (an AsyncThrowingStream's
/// unfolding closure); dropping it unread cancels the request.
final class ResponseChunks: @unchecked Sendable {
    private var iterator: HTTPClientResponse.Body.AsyncIterator

    init(_ body: HTTPClientResponse.Body) { iterator = body.makeAsyncIterator() }

    func next() async throws -> ByteBuffer? { try await iterator.next() }
}
