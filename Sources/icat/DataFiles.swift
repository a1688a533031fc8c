import ArgumentParser
import AsyncHTTPClient
import CatalogDataFormat
import Foundation
import JSONValue
import NIOCore

/// `icat import FILE`: uploads an ICAT data file to a running catalog, which imports it in one transaction.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import an ICAT data file (python-icat's icatdata, XML or YAML): all of it or, on error, nothing."
    )

    @Argument(help: "The data file.")
    var file: String

    @Option(help: "icatdata-xml or icatdata-yaml (default: from the file name).")
    var format: String?

    @Option(help: "What to do with objects that exist already: THROW, IGNORE, CHECK or OVERWRITE.")
    var duplicate = "THROW"

    @Option(help: "USER, or ALL to keep createId, createTime, modId and modTime from the file (root only).")
    var attributes = "USER"

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let format = try resolvedFormat(format, file: file)
        let url = URL(fileURLWithPath: file)
        guard FileManager.default.isReadableFile(atPath: url.path) else { throw ValidationError("cannot read \(file)") }
        let client = try await CatalogClient.login(server)
        var request = HTTPClientRequest(
            url: client.dataURL(
                "import",
                ["format": format.rawValue, "duplicate": duplicate, "attributes": attributes]
            ).absoluteString
        )
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(client.sessionId)")
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        let progress = ProgressLine()
        request.body = .stream(
            FileChunks(path: url.path) { sent in
                progress.update("uploading \(size > 0 ? "\(sent * 100 / size)%" : "\(sent) bytes")")
            },
            length: .known(Int64(size))
        )
        var finished = false
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .hours(24 * 7))
            var pending: [UInt8] = []
            for try await piece in response.body {
                pending.append(contentsOf: piece.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    if try handleLine(Array(pending[..<newline]), progress: progress) { finished = true }
                    pending.removeSubrange(...newline)
                }
            }
            if !finished, !pending.isEmpty { _ = try handleLine(pending, progress: progress) }
            progress.finish()
            if !finished {
                throw ClientError("import: the server answered HTTP \(response.status.code) without a result")
            }
        } catch let error as HTTPClientError where !finished {
            progress.finish()
            throw ClientError(
                "\(file): the connection to the server broke before the import's result came (\(error)); "
                    + "an import is all or nothing, so the file is either wholly imported or not at all"
            )
        }
    }

    /// One NDJSON line of the server's answer: progress, the result (true), or the error (thrown).
    private func handleLine(_ bytes: [UInt8], progress: ProgressLine) throws -> Bool {
        let json = try JSON(parsing: bytes)
        if let counts = json["progress"] {
            progress.update(
                "\(counts["objects"]?.int64Value ?? 0) objects read, \(counts["created"]?.int64Value ?? 0) created",
                objects: Int(counts["objects"]?.int64Value ?? 0)
            )
        } else if let result = json["result"] {
            progress.finish()
            print(
                "\(file): \(result["created"]?.int64Value ?? 0) created, \(result["skipped"]?.int64Value ?? 0) skipped, "
                    + "\(result["updated"]?.int64Value ?? 0) updated"
            )
            return true
        } else if let error = json["error"] {
            progress.finish()
            let type = error["data"]?["type"]?.stringValue ?? "ERROR"
            let offset = error["data"]?["offset"]?.int64Value ?? -1
            throw ClientError(
                "\(file): \(type): \(error["message"]?.stringValue ?? "")\(offset >= 0 ? " (object \(offset))" : "")"
            )
        }
        return false
    }
}

/// `icat export FILE`: writes what the caller may read (or what a query selects) to an ICAT data file.
struct Export: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the catalog, or a query's objects, to a data file."
    )

    @Argument(help: "The data file to write.")
    var file: String

    @Option(help: "icatdata-xml or icatdata-yaml (default: from the file name).")
    var format: String?

    @Option(help: "Export only what this query selects, with everything that cascades from it.")
    var query: String?

    @Option(help: "USER, or ALL to include createId, createTime, modId and modTime.")
    var attributes = "USER"

    @OptionGroup var server: ServerOptions

    func run() async throws {
        let format = try resolvedFormat(format, file: file)
        let client = try await CatalogClient.login(server)
        var parameters = ["format": format.rawValue, "attributes": attributes]
        if let query { parameters["query"] = query }
        var request = HTTPClientRequest(url: client.dataURL("export", parameters).absoluteString)
        request.headers.add(name: "Authorization", value: "Bearer \(client.sessionId)")
        let response = try await HTTPClient.shared.execute(request, timeout: .hours(24 * 7))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 1 << 20)
            let reply = try? JSON(parsing: Array(buffer: body))
            let message = reply?["error"]?["message"]?.stringValue ?? "HTTP status \(response.status.code)"
            throw ClientError("export: \(reply?["error"]?["data"]?["type"]?.stringValue ?? "ERROR"): \(message)")
        }
        let partial = file + ".part"
        guard FileManager.default.createFile(atPath: partial, contents: nil),
            let handle = FileHandle(forWritingAtPath: partial)
        else { throw ValidationError("cannot write \(partial)") }
        let progress = ProgressLine()
        var written = 0
        do {
            for try await piece in response.body {
                try handle.write(contentsOf: piece.readableBytesView)
                written += piece.readableBytes
                progress.update("\(written / 1024) KiB received")
            }
            try handle.close()
            progress.finish()
            try? FileManager.default.removeItem(atPath: file)
            try FileManager.default.moveItem(atPath: partial, toPath: file)
            print("\(file): \(written) bytes")
        } catch {
            progress.finish()
            try? handle.close()
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }
}

private func resolvedFormat(_ option: String?, file: String) throws -> DataFileFormat {
    if let option {
        guard let format = DataFileFormat(rawValue: option) else {
            throw ValidationError("--format must be icatdata-xml or icatdata-yaml")
        }
        return format
    }
    guard let format = DataFileFormat(fileName: file) else {
        throw ValidationError("cannot tell the format from '\(file)'; name it .xml or .yaml, or give --format")
    }
    return format
}

extension CatalogClient {
    /// `<server>/data/<name>?<parameters>`.
    func dataURL(_ name: String, _ parameters: [String: String]) -> URL {
        var components = URLComponents(
            url: endpoint.deletingLastPathComponent().appendingPathComponent("data/\(name)"),
            resolvingAgainstBaseURL: false
        )!
        components.queryItems = parameters.sorted { $0.key < $1.key }.map {
            URLQueryItem(name: $0.key, value: $0.value)
        }
        return components.url!
    }
}

/// Progress on one line: rewritten in place on a terminal, a plain line every few seconds otherwise.
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let start = Date()
    private var lastPrinted = Date.distantPast
    private var shown = false
    private let isTerminal = isatty(STDERR_FILENO) != 0

    func update(_ text: String, objects: Int? = nil) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        var line = text
        if let objects, elapsed > 0 { line += ", \(Int(Double(objects) / elapsed)) objects/s" }
        line += String(format: ", %.0f s", elapsed)
        if isTerminal {
            guard now.timeIntervalSince(lastPrinted) >= 0.1 else { return }
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            shown = true
        } else {
            guard now.timeIntervalSince(lastPrinted) >= 5 else { return }
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        lastPrinted = now
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
        shown = false
    }
}

/// A file read in chunks of 1 MiB, as a request body; `read` hears the bytes read so far.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let read: @Sendable (Int) -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        let read: @Sendable (Int) -> Void
        var total = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let handle, let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else {
                try handle?.close()
                return nil
            }
            total += data.count
            read(total)
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: FileHandle(forReadingAtPath: path), read: read)
    }
}
