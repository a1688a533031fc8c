import Catalog
import CatalogDataFormat
import CatalogRPC
import Foundation
import Hummingbird
import JSONRPC
import JSONValue

/// Streaming import and export of data files over plain HTTP, for files too large for a JSON-RPC string.
///
/// - `POST /data/import?format=…&duplicate=…&attributes=…` with the file as the body. The caller's session and
///   rights are checked first; then the body is spooled to a temporary file (memory stays flat), imported in one
///   transaction, and the file removed. The response is NDJSON: a
///   `{"progress": {...}}` line after each bulk write, then `{"result": {created, skipped, updated}}` or
///   `{"error": {code, message, data: {type, offset}}}` — the JSON-RPC error the same failure gets on `/rpc`.
/// - `GET /data/export?format=…&query=…&attributes=…` streams the file back.
///
/// The session goes in the `Authorization: Bearer <sessionId>` header (or a `sessionId` query parameter, as the
/// IDS takes it).
enum DataTransferRoutes {
    static func add(to router: Router<some RequestContext>, catalog: Catalog, spool: ImportSpool, maximumBytes: Int) {
        router.post("data/import") { request, context -> Response in
            let options: ImportOptions
            let format: DataFileFormat
            let sessionId: String
            do {
                sessionId = try Self.sessionId(request)
                format = try Self.option(request, "format", default: nil)
                options = ImportOptions(
                    duplicate: try Self.option(request, "duplicate", default: .throw),
                    attributes: try Self.option(request, "attributes", default: .user)
                )
                // Before any byte of the upload is stored.
                try await catalog.checkImportAllowed(sessionId: sessionId, options: options)
            } catch {
                return Self.errorResponse(error)
            }
            let file: SpoolFile
            do {
                file = try spool.create()
            } catch {
                context.logger.error("import upload refused: \(error)")
                return Self.errorResponse(
                    CatalogError(.internal, "The upload cannot be stored; the server log has the details")
                )
            }
            do {
                try await Self.receive(request.body, into: file, maximumBytes: maximumBytes)
            } catch {
                file.remove()
                context.logger.warning("import upload failed: \(error)")
                throw error
            }
            let channel = PieceChannel()
            let work = Task {
                let outcome: JSON
                do {
                    let summary = try await catalog.importData(
                        sessionId: sessionId,
                        format: format,
                        source: .file(path: file.url.path),
                        options: options
                    ) { progress in
                        // Never waits: an import must not stall, in its transaction, on a client that reads slowly.
                        await channel.post(Self.line(["progress": Self.json(progress)]))
                    }
                    outcome = ["result": Self.json(summary)]
                } catch {
                    outcome = Self.errorJSON(error)
                }
                // Removed before the last line goes out: a client that has its answer finds nothing left behind.
                file.remove()
                await channel.post(Self.line(outcome))
                await channel.finish()
            }
            return Response(
                status: .ok,
                headers: [.contentType: "application/x-ndjson"],
                body: ResponseBody { writer in
                    do {
                        while let piece = try await channel.next() {
                            try await writer.write(ByteBuffer(string: piece))
                        }
                    } catch {
                        // The client went away; the import still finishes or fails on its own, all or nothing.
                        await channel.cancel()
                        _ = await work.value
                        throw error
                    }
                    try await writer.finish(nil)
                }
            )
        }

        router.get("data/export") { request, context -> Response in
            let format: DataFileFormat
            let attributes: AttributeSelection
            let sessionId: String
            do {
                sessionId = try Self.sessionId(request)
                format = try Self.option(request, "format", default: nil)
                attributes = try Self.option(request, "attributes", default: .user)
            } catch {
                return Self.errorResponse(error)
            }
            let query = request.uri.queryParameters["query"].map(String.init)
            let channel = PieceChannel()
            let work = Task {
                do {
                    try await catalog.exportData(
                        sessionId: sessionId,
                        format: format,
                        query: query,
                        attributes: attributes
                    ) { piece in
                        try await channel.send(piece)
                    }
                    await channel.finish()
                } catch {
                    await channel.fail(error)
                }
            }
            // Nothing is sent until the export has written its first piece, so that a bad session or query still
            // gets an error response rather than a truncated file.
            let first: String?
            do {
                first = try await channel.next()
            } catch {
                return Self.errorResponse(error)
            }
            return Response(
                status: .ok,
                headers: [.contentType: format == .xml ? "application/xml" : "application/yaml"],
                body: ResponseBody { writer in
                    do {
                        if let first { try await writer.write(ByteBuffer(string: first)) }
                        while let piece = try await channel.next() {
                            try await writer.write(ByteBuffer(string: piece))
                        }
                    } catch {
                        context.logger.warning("export ended early: \(error)")
                        await channel.cancel()
                        work.cancel()
                        throw error
                    }
                    try await writer.finish(nil)
                }
            )
        }
    }

    static func sessionId(_ request: Request) throws -> String {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            return String(header.dropFirst("Bearer ".count))
        }
        if let id = request.uri.queryParameters["sessionId"] { return String(id) }
        throw CatalogError(.session, "No session: send Authorization: Bearer <sessionId>")
    }

    static func option<Value: CatalogOption>(
        _ request: Request,
        _ name: String,
        default fallback: Value?
    ) throws -> Value {
        try Value.parse(request.uri.queryParameters[Substring(name)].map(String.init), name: name, default: fallback)
    }

    /// Writes the request body to `file`, refusing bodies over `maximumBytes`.
    static func receive(_ body: RequestBody, into file: SpoolFile, maximumBytes: Int) async throws {
        var total = 0
        for try await buffer in body {
            total += buffer.readableBytes
            if total > maximumBytes { throw HTTPError(.contentTooLarge) }
            try file.write(buffer)
        }
    }

    static func json(_ summary: ImportSummary) -> JSON {
        [
            "objects": .int(Int64(summary.objects)), "created": .int(Int64(summary.created)),
            "skipped": .int(Int64(summary.skipped)), "updated": .int(Int64(summary.updated)),
        ]
    }

    static func line(_ json: JSON) -> String {
        json.serialized + "\n"
    }

    /// A catalog error as the JSON-RPC error `/rpc` would give, with an HTTP status that fits it.
    /// `{"error": {code, message, data}}`: the JSON-RPC error `/rpc` gives the same failure.
    static func errorJSON(_ error: any Error) -> JSON {
        let rpc = RPCError.from(error)
        return ["error": ["code": .int(Int64(rpc.code)), "message": .string(rpc.message), "data": rpc.data ?? .null]]
    }

    static func errorResponse(_ error: any Error) -> Response {
        let status: HTTPResponse.Status
        switch (error as? CatalogError)?.type {
        case .session: status = .unauthorized
        case .insufficientPrivileges: status = .forbidden
        case .internal, nil: status = .internalServerError
        default: status = .badRequest
        }
        let body = errorJSON(error)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body.serialized + "\n"))
        )
    }
}

/// Hands pieces of text from one task to another, holding at most a few: the producer waits while the consumer
/// is behind, so a slow client never makes the server buffer a whole file. A producer left waiting for
/// `stallTimeout` (a client that stopped reading, or a response that was never sent) is cancelled, so that the
/// transaction behind it ends.
actor PieceChannel {
    private var pieces: [String] = []
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false
    private var waitingConsumer: CheckedContinuation<Void, Never>?
    private var waitingProducer: CheckedContinuation<Void, Never>?
    private var waits = 0
    let capacity: Int
    let stallTimeout: Duration

    init(capacity: Int = 4, stallTimeout: Duration = .seconds(300)) {
        self.capacity = capacity
        self.stallTimeout = stallTimeout
    }

    struct Cancelled: Error {}

    /// Adds a piece, waiting while the channel is full.
    func send(_ piece: String) async throws {
        while pieces.count >= capacity, !cancelled {
            waits += 1
            let wait = waits
            let timeout = stallTimeout
            let watchdog = Task { [weak self] in
                try await Task.sleep(for: timeout)
                await self?.cancelIfStillWaiting(wait)
            }
            await withCheckedContinuation { waitingProducer = $0 }
            watchdog.cancel()
        }
        if cancelled { throw Cancelled() }
        pieces.append(piece)
        wakeConsumer()
    }

    /// Adds a piece without waiting, however full the channel is (for small, rare pieces such as progress lines).
    func post(_ piece: String) {
        guard !cancelled else { return }
        pieces.append(piece)
        wakeConsumer()
    }

    private func cancelIfStillWaiting(_ wait: Int) {
        if wait == waits, waitingProducer != nil { cancel() }
    }

    func finish() {
        finished = true
        wakeConsumer()
    }

    func fail(_ error: any Error) {
        failure = error
        finished = true
        wakeConsumer()
    }

    func cancel() {
        cancelled = true
        pieces.removeAll()
        waitingProducer?.resume()
        waitingProducer = nil
    }

    /// The next piece; nil once the producer has finished and every piece is taken.
    func next() async throws -> String? {
        while pieces.isEmpty {
            if let failure { throw failure }
            if finished { return nil }
            await withCheckedContinuation { waitingConsumer = $0 }
        }
        let piece = pieces.removeFirst()
        waitingProducer?.resume()
        waitingProducer = nil
        return piece
    }

    private func wakeConsumer() {
        waitingConsumer?.resume()
        waitingConsumer = nil
    }
}
