import JSONValue
import Logging

/// A JSON-RPC 2.0 service: a table of methods that dispatches requests and describes itself as OpenRPC.
///
/// It takes request bytes and returns response bytes, so it knows nothing of the transport. Errors a handler
/// throws that are not `RPCError`s go through `mapError`, the one place a service turns its own errors into
/// JSON-RPC errors.
public struct RPCService: Sendable {
    public let title: String
    public let version: String
    public let methods: [String: RPCMethod]
    let mapError: @Sendable (any Error) -> RPCError

    public init(
        title: String,
        version: String,
        methods: [RPCMethod],
        mapError: @escaping @Sendable (any Error) -> RPCError
    ) {
        self.title = title
        self.version = version
        self.mapError = mapError
        var table = Dictionary(methods.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let discover = RPCMethod(
            name: "rpc.discover",
            summary: "This service's OpenRPC document.",
            params: [],
            result: ["type": "object"]
        ) { _, _ in .null }
        table[discover.name] = discover
        self.methods = table
    }

    /// Handles a request or a batch within `limits`; nil when nothing is to be sent back (only notifications).
    public func handle(
        _ body: [UInt8],
        limits: RPCLimits = RPCLimits(),
        context: RPCRequestContext
    ) async -> [UInt8]? {
        if let count = BatchSize.count(body, upTo: limits.maximumBatchRequests),
            count > limits.maximumBatchRequests
        {
            return Self.tooManyRequests(limits).serializedBytes
        }
        let document: JSON
        do {
            document = try JSON(parsing: body)
        } catch {
            return Self.response(id: .null, error: .parseError("Parse error: \(error)")).serializedBytes
        }
        switch document {
        case .array(let requests):
            guard !requests.isEmpty else {
                return Self.response(id: .null, error: .invalidRequest("An empty batch is not a request"))
                    .serializedBytes
            }
            guard requests.count <= limits.maximumBatchRequests else {
                return Self.tooManyRequests(limits).serializedBytes
            }
            return await handle(batch: requests, limits: limits, context: context)
        default:
            guard let response = await handle(request: document, context: context) else { return nil }
            var reply = BoundedJSONWriter(limit: limits.maximumReplyBytes)
            if reply.append(response) { return reply.bytes }
            return tooLarge(response, limits, ran: true).serializedBytes
        }
    }

    /// Answers the requests of a batch in order, each result written into the reply as soon as it is known. Once
    /// a result does not fit, it and every later request get the reply-too-large error, and those later requests
    /// are not run (notifications, which add nothing to the reply, still are). Errors that need no run, such as
    /// an invalid entry's, always go in.
    private func handle(batch requests: [JSON], limits: RPCLimits, context: RPCRequestContext) async -> [UInt8]? {
        var reply = BoundedJSONWriter(limit: limits.maximumReplyBytes)
        var answered = 0
        var full = false
        for request in requests {
            let response: JSON
            var isResult = false
            switch read(request) {
            case .answer(nil):
                continue
            case .answer(let answer?):
                response = answer
            case .call(nil, let method, let params):
                _ = await run(method, params: params, context: context)
                continue
            case .call(let id?, let method, let params):
                if full {
                    let notRun = ReplyTooLarge(limit: limits.maximumReplyBytes, ran: false)
                    response = Self.response(id: id, error: mapError(notRun))
                } else {
                    response = Self.response(id: id, await run(method, params: params, context: context))
                    isResult = true
                }
            }
            reply.append(byte: UInt8(ascii: answered == 0 ? "[" : ","))
            answered += 1
            if !isResult {
                reply.appendRegardless(response)
            } else if !reply.append(response) {
                full = true
                reply.appendRegardless(tooLarge(response, limits, ran: true))
            }
        }
        guard answered > 0 else { return nil }
        reply.append(byte: UInt8(ascii: "]"))
        return reply.bytes
    }

    /// Handles one request object; nil for a notification.
    public func handle(request: JSON, context: RPCRequestContext) async -> JSON? {
        switch read(request) {
        case .answer(let answer):
            return answer
        case .call(let id, let method, let params):
            let result = await run(method, params: params, context: context)
            guard let id else { return nil }
            return Self.response(id: id, result)
        }
    }

    /// What a request asks for, or the answer it gets without running anything.
    private enum Reading {
        /// The answer (nil: none, for a notification) of a request that runs nothing.
        case answer(JSON?)
        /// A method to run; `id` is nil for a notification.
        case call(id: JSON?, method: String, params: [String: JSON])
    }

    private func read(_ request: JSON) -> Reading {
        guard case .object(let members) = request else {
            return .answer(Self.response(id: .null, error: .invalidRequest("A request must be an object")))
        }
        let id = members["id"]
        if let id {
            switch id {
            case .string, .int, .double, .null: break
            default:
                return .answer(
                    Self.response(id: .null, error: .invalidRequest("The id must be a string, number or null"))
                )
            }
        }
        let replyId = id ?? .null
        guard members["jsonrpc"] == .string("2.0") else {
            return .answer(
                Self.response(id: replyId, error: .invalidRequest("The request must have \"jsonrpc\": \"2.0\""))
            )
        }
        guard let name = members["method"]?.stringValue else {
            return .answer(Self.response(id: replyId, error: .invalidRequest("The request needs a method name")))
        }
        switch members["params"] {
        case nil, .null?:
            return .call(id: id, method: name, params: [:])
        case .object(let named)?:
            return .call(id: id, method: name, params: named)
        case .array?:
            return .answer(
                id == nil
                    ? nil : Self.response(id: replyId, error: .invalidParams("Parameters must be named (an object)"))
            )
        default:
            return .answer(
                id == nil ? nil : Self.response(id: replyId, error: .invalidRequest("params must be an object"))
            )
        }
    }

    private func run(_ name: String, params: [String: JSON], context: RPCRequestContext) async -> Result<JSON, RPCError>
    {
        guard let method = methods[name] else { return .failure(.methodNotFound(name)) }
        return await call(method, params: params, context: context)
    }

    /// The reply-too-large error for the request `response` answers, through the service's error mapping.
    private func tooLarge(_ response: JSON, _ limits: RPCLimits, ran: Bool) -> JSON {
        Self.response(
            id: response["id"] ?? .null,
            error: mapError(ReplyTooLarge(limit: limits.maximumReplyBytes, ran: ran))
        )
    }

    private static func tooManyRequests(_ limits: RPCLimits) -> JSON {
        response(
            id: .null,
            error: .invalidRequest(
                "A batch may hold at most \(limits.maximumBatchRequests) requests; send the rest in further batches"
            )
        )
    }

    private func call(
        _ method: RPCMethod,
        params: [String: JSON],
        context: RPCRequestContext
    ) async -> Result<
        JSON, RPCError
    > {
        let known = Set(method.params.map(\.name))
        if let unknown = params.keys.sorted().first(where: { !known.contains($0) }) {
            return .failure(.invalidParams("\(method.name) has no parameter '\(unknown)'"))
        }
        if let missing = method.params.first(where: { $0.required && (params[$0.name] ?? .null).isNull }) {
            return .failure(.invalidParams("\(method.name) needs parameter '\(missing.name)'"))
        }
        if method.name == "rpc.discover" { return .success(openRPCDocument) }
        do {
            return .success(try await method.handler(RPCParams(params), context))
        } catch let error as RPCError {
            return .failure(error)
        } catch {
            return .failure(mapError(error))
        }
    }

    static func response(id: JSON, error: RPCError) -> JSON {
        ["jsonrpc": "2.0", "error": error.json, "id": id]
    }

    static func response(id: JSON, _ result: Result<JSON, RPCError>) -> JSON {
        switch result {
        case .success(let value): ["jsonrpc": "2.0", "result": value, "id": id]
        case .failure(let error): response(id: id, error: error)
        }
    }

    /// The OpenRPC 1.2 document describing every method of the table.
    public var openRPCDocument: JSON {
        let described = methods.keys.sorted().map { name -> JSON in
            let method = methods[name]!
            return [
                "name": .string(method.name),
                "summary": .string(method.summary),
                "paramStructure": "by-name",
                "params": .array(
                    method.params.map { param in
                        [
                            "name": .string(param.name), "required": .bool(param.required),
                            "description": .string(param.description), "schema": param.schema,
                        ]
                    }
                ),
                "result": ["name": "result", "schema": method.result],
            ]
        }
        return [
            "openrpc": "1.2.6",
            "info": ["title": .string(title), "version": .string(version)],
            "methods": .array(described),
        ]
    }
}
