import DataService
import Foundation
import Hummingbird
import JSONValue

/// ICAT IDS 2.x's HTTP API under `/ids/`, with its names, parameters, status codes and bodies, so that existing IDS
/// clients (python-icat's `IDSClient` among them) work unchanged. Parameters come from the query string, and for
/// POST also from a form body; errors are IDS's `{"code", "message"}` in ASCII.
enum IDSRoutes {
    static func add(to router: Router<some RequestContext>, service: DataService) {
        let ids = router.group("ids")
        ids.get("ping") { _, _ in text("IdsOK") }
        ids.get("version") { _, _ in json(["version": .string(DataService.version)]) }
        ids.get("isReadOnly") { _, _ in text("false") }
        ids.get("isTwoLevel") { _, _ in text(service.isTwoLevel ? "true" : "false") }
        ids.get("getIcatUrl") { request, _ in
            text(service.configuration.icatURL ?? request.head.authority.map { "http://\($0)" } ?? "")
        }
        ids.get("getServiceStatus") { request, _ in
            try await answer(request) { parameters in
                json(try await service.serviceStatus(sessionId: try parameters.required("sessionId")))
            }
        }
        ids.get("getSize") { request, _ in
            try await answer(request) { parameters in
                text(String(try await service.size(try parameters.dataRequest())))
            }
        }
        ids.get("getStatus") { request, _ in
            try await answer(request) { parameters in
                text(try await service.status(try parameters.dataRequest()).rawValue)
            }
        }
        ids.get("isPrepared") { request, _ in
            try await answer(request) { parameters in
                text(try await service.isPrepared(try parameters.required("preparedId")) ? "true" : "false")
            }
        }
        ids.get("getDatafileIds") { request, _ in
            try await answer(request) { parameters in
                let found = try await service.datafileIds(try parameters.dataRequest())
                return json([
                    "zip": .bool(found.zip), "compress": .bool(found.compress), "ids": .array(found.ids.map(JSON.int)),
                ])
            }
        }
        ids.get("getData") { request, _ in
            try await answer(request) { parameters in
                let download = try await service.getData(
                    try parameters.dataRequest(),
                    zip: parameters.flag("zip"),
                    compress: parameters.flag("compress"),
                    outname: parameters["outname"],
                    offset: try offset(request)
                )
                return dataResponse(download)
            }
        }
        ids.post("prepareData") { request, _ in
            try await answer(request) { parameters in
                text(
                    try await service.prepareData(
                        sessionId: try parameters.required("sessionId"),
                        selection: try parameters.selection(),
                        zip: parameters.flag("zip"),
                        compress: parameters.flag("compress")
                    )
                )
            }
        }
        ids.post("archive") { request, _ in
            try await answer(request) { parameters in
                try await service.archive(
                    sessionId: try parameters.required("sessionId"),
                    selection: try parameters.selection()
                )
                return Response(status: .ok)
            }
        }
        ids.post("restore") { request, _ in
            try await answer(request) { parameters in
                try await service.restore(
                    sessionId: try parameters.required("sessionId"),
                    selection: try parameters.selection()
                )
                return Response(status: .ok)
            }
        }
        ids.post("write") { request, _ in
            try await answer(request) { parameters in
                try await service.write(
                    sessionId: try parameters.required("sessionId"),
                    selection: try parameters.selection()
                )
                return Response(status: .ok)
            }
        }
        ids.post("reset") { request, _ in
            try await answer(request) { parameters in
                try await service.reset(try parameters.dataRequest())
                return Response(status: .ok)
            }
        }
        ids.post("getLink") { request, _ in
            try await answer(request) { _ in
                throw IDSError(.notImplemented, "getLink is not offered: IDS deprecated it; use getData")
            }
        }
        ids.delete("delete") { request, _ in
            try await answer(request) { parameters in
                try await service.delete(
                    sessionId: try parameters.required("sessionId"),
                    selection: try parameters.selection()
                )
                return Response(status: .ok)
            }
        }
        ids.put("put") { request, _ in
            try await answer(request) { parameters in
                let datafile = NewDatafile(
                    name: try parameters.required("name"),
                    datasetId: try parameters.id("datasetId"),
                    datafileFormatId: try parameters.optionalId("datafileFormatId"),
                    description: parameters["description"],
                    doi: parameters["doi"],
                    createTime: try parameters.time("datafileCreateTime"),
                    modTime: try parameters.time("datafileModTime")
                )
                let sessionId = try parameters.required("sessionId")
                let result = try await service.put(request.body, sessionId: sessionId, datafile: datafile)
                var response = json([
                    "id": .int(result.id), "checksum": .int(Int64(result.checksum)),
                    "location": .string(result.location), "size": .int(result.size),
                ])
                response.status = .created
                return response
            }
        }
    }

    /// Runs a call with its parameters, answering an IDS error as IDS does.
    private static func answer(
        _ request: Request,
        _ body: (IDSParameters) async throws -> Response
    ) async throws -> Response {
        do {
            return try await body(try await IDSParameters(request))
        } catch let error as IDSError {
            return errorResponse(error)
        }
    }

    static func errorResponse(_ error: IDSError) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let size = error.unsatisfiableRangeSize { headers[.contentRange] = "bytes */\(size)" }
        let body = "{\"code\":\(asciiJSONString(error.code.rawValue)),\"message\":\(asciiJSONString(error.message))}"
        return Response(
            status: HTTPResponse.Status(code: error.httpStatus),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }

    /// A JSON string with everything outside printable ASCII escaped: IDS clients read error bodies as ASCII.
    static func asciiJSONString(_ text: String) -> String {
        var out = "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out + "\""
    }

    private static func text(_ value: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value))
        )
    }

    private static func json(_ value: JSON) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: value.serializedBytes))
        )
    }

    /// The N of a `Range: bytes=N-` header, the only form IDS serves; 0 without one.
    private static func offset(_ request: Request) throws(IDSError) -> Int64 {
        guard let range = request.headers[.range] else { return 0 }
        let trimmed = range.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("bytes="), trimmed.hasSuffix("-"),
            let offset = Int64(trimmed.dropFirst(6).dropLast()), offset >= 0
        else {
            throw IDSError(.badRequest, "The Range header must have the form 'bytes=N-', not '\(range)'")
        }
        return offset
    }

    private static func dataResponse(_ download: DataDownload) -> Response {
        var headers: HTTPFields = [
            .contentType: download.isZip ? "application/zip" : "application/octet-stream",
            .contentDisposition: contentDisposition(download.name),
            .acceptRanges: "bytes",
        ]
        if let length = download.length {
            headers[.contentLength] = String(length - download.offset)
            if download.offset > 0 { headers[.contentRange] = "bytes \(download.offset)-\(length - 1)/\(length)" }
        }
        return Response(
            status: download.offset > 0 ? .partialContent : .ok,
            headers: headers,
            body: ResponseBody { writer in
                for try await chunk in download.body { try await writer.write(chunk) }
                try await writer.finish(nil)
            }
        )
    }

    /// `attachment` with the name: an ASCII fallback, and the exact name in RFC 6266's `filename*`.
    static func contentDisposition(_ name: String) -> String {
        let fallback = String(
            name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_" }
        )
        let encoded = name.addingPercentEncoding(withAllowedCharacters: .urlUnreservedCharacters) ?? fallback
        return "attachment; filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }
}

extension CharacterSet {
    static let urlUnreservedCharacters = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )
}

/// An IDS call's parameters: the query string's, and for a POST also the form body's (decoded as HTML forms are:
/// `+` is a space).
struct IDSParameters: Sendable {
    private var values: [String: String] = [:]

    init(_ request: Request) async throws(IDSError) {
        if let query = request.uri.query { Self.decode(query, into: &values) }
        if request.method == .post {
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: 1 << 20)
            } catch {
                throw IDSError(.badRequest, "The form body is larger than 1 MiB or could not be read")
            }
            Self.decode(String(buffer: body), into: &values)
        }
    }

    static func decode(_ text: String, into values: inout [String: String]) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            values[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
    }

    subscript(name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

    func required(_ name: String) throws(IDSError) -> String {
        guard let value = self[name] else { throw IDSError(.badRequest, "The \(name) parameter must be given") }
        return value
    }

    func flag(_ name: String) -> Bool { self[name]?.lowercased() == "true" }

    func id(_ name: String) throws(IDSError) -> Int64 {
        guard let id = try optionalId(name) else { throw IDSError(.badRequest, "The \(name) parameter must be given") }
        return id
    }

    func optionalId(_ name: String) throws(IDSError) -> Int64? {
        guard let text = self[name] else { return nil }
        guard let id = Int64(text), id >= 0 else {
            throw IDSError(.badRequest, "The \(name) parameter must be an id, not '\(text)'")
        }
        return id
    }

    /// A time as IDS takes it (milliseconds since 1970), or as an ISO 8601 timestamp.
    func time(_ name: String) throws(IDSError) -> Date? {
        guard let text = self[name] else { return nil }
        if let milliseconds = Int64(text) { return Date(timeIntervalSince1970: Double(milliseconds) / 1000) }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        throw IDSError(
            .badRequest,
            "The \(name) parameter must be milliseconds since 1970 or an ISO 8601 time, not '\(text)'"
        )
    }

    func selection() throws(IDSError) -> DataSelection {
        try DataSelection(
            investigationIds: self["investigationIds"],
            datasetIds: self["datasetIds"],
            datafileIds: self["datafileIds"]
        )
    }

    /// A prepared id, or a session with a selection.
    func dataRequest() throws(IDSError) -> DataRequest {
        if let prepared = self["preparedId"] {
            guard self["sessionId"] == nil else {
                throw IDSError(.badRequest, "Give either preparedId or sessionId with a selection, not both")
            }
            return .prepared(prepared)
        }
        return .selection(sessionId: try required("sessionId"), try selection())
    }
}
