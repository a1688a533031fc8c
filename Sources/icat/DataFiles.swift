import ArgumentParser
import CatalogDataFormat
import Foundation
import JSONValue

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

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
        var request = URLRequest(
            url: client.dataURL(
                "import",
                ["format": format.rawValue, "duplicate": duplicate, "attributes": attributes]
            )
        )
        request.httpMethod = "POST"
        request.setValue("Bearer \(client.sessionId)", forHTTPHeaderField: "Authorization")
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        let progress = ProgressLine()
        var finished = false
        let transfer = StreamingTransfer { data, buffer in
            buffer.append(data)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = buffer[buffer.startIndex..<newline]
                buffer.removeSubrange(buffer.startIndex...newline)
                if try handleLine(Array(line), progress: progress) { finished = true }
            }
        } sent: { bytes in
            progress.update("uploading \(size > 0 ? "\(bytes * 100 / Int64(size))%" : "\(bytes) bytes")")
        }
        let status: Int
        do {
            status = try await transfer.upload(request, fromFile: url)
        } catch let error as URLError {
            progress.finish()
            throw ClientError(
                "\(file): the connection to the server broke before the import's result came (\(error.localizedDescription)); "
                    + "an import is all or nothing, so the file is either wholly imported or not at all"
            )
        }
        progress.finish()
        if !finished { throw ClientError("import: the server answered HTTP \(status) without a result") }
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
        var request = URLRequest(url: client.dataURL("export", parameters))
        request.setValue("Bearer \(client.sessionId)", forHTTPHeaderField: "Authorization")
        let partial = file + ".part"
        guard FileManager.default.createFile(atPath: partial, contents: nil),
            let handle = FileHandle(forWritingAtPath: partial)
        else { throw ValidationError("cannot write \(partial)") }
        let progress = ProgressLine()
        var written = 0
        let transfer = StreamingTransfer { data, _ in
            try handle.write(contentsOf: data)
            written += data.count
            progress.update("\(written / 1024) KiB received")
        }
        do {
            let status = try await transfer.download(request)
            try handle.close()
            progress.finish()
            guard status == 200 else {
                let reply = try? JSON(parsing: Array(FileManager.default.contents(atPath: partial) ?? Data()))
                try? FileManager.default.removeItem(atPath: partial)
                let message = reply?["error"]?["message"]?.stringValue ?? "HTTP status \(status)"
                throw ClientError("export: \(reply?["error"]?["data"]?["type"]?.stringValue ?? "ERROR"): \(message)")
            }
            try? FileManager.default.removeItem(atPath: file)
            try FileManager.default.moveItem(atPath: partial, toPath: file)
            print("\(file): \(written) bytes")
        } catch {
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

/// One HTTP transfer whose response is handed over piece by piece as it arrives (URLSession's delegate API, the
/// one that streams on Linux too).
final class StreamingTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    typealias Receive = (Data, inout Data) throws -> Void
    private let receive: Receive
    private let sent: (Int64) -> Void
    private var buffer = Data()
    private var failure: (any Error)?
    private var status = 0
    private var continuation: CheckedContinuation<Int, any Error>?

    init(receive: @escaping Receive, sent: @escaping (Int64) -> Void = { _ in }) {
        self.receive = receive
        self.sent = sent
    }

    /// Sends the file as the request body; returns the HTTP status.
    func upload(_ request: URLRequest, fromFile file: URL) async throws -> Int {
        try await run { session in session.uploadTask(with: request, fromFile: file) }
    }

    func download(_ request: URLRequest) async throws -> Int {
        try await run { session in session.dataTask(with: request) }
    }

    private func run(_ makeTask: (URLSession) -> URLSessionTask) async throws -> Int {
        let session = URLSession(configuration: .default, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            self.continuation = continuation
            makeTask(session).resume()
        }
    }

    func urlSession(
        _ session: URLSession,
        dataTask: URLSessionDataTask,
        didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        status = (response as? HTTPURLResponse)?.statusCode ?? 0
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        do {
            try receive(data, &buffer)
        } catch {
            failure = error
            dataTask.cancel()
        }
    }

    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        didSendBodyData bytesSent: Int64,
        totalBytesSent: Int64,
        totalBytesExpectedToSend: Int64
    ) {
        sent(totalBytesSent)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        if let failure {
            continuation?.resume(throwing: failure)
        } else if let error {
            continuation?.resume(throwing: error)
        } else {
            continuation?.resume(returning: status)
        }
        continuation = nil
    }
}
