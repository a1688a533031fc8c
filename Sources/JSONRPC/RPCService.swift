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

    /// Handles a request or a batch; nil when nothing is to be sent back (only notifications).
    public func handle(_ body: [UInt8], context: RPCRequestContext) async -> [UInt8]? {
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
            var responses: [JSON] = []
            for request in requests {
                if let response = await handle(request: request, context: context) { responses.append(response) }
            }
            return responses.isEmpty ? nil : JSON.array(responses).serializedBytes
        default:
            return await handle(request: document, context: context)?.serializedBytes
        }
    }

    /// Handles one request object; nil for a notification.
    public func handle(request: JSON, context: RPCRequestContext) async -> JSON? {
        guard case .object(let members) = request else {
            return Self.response(id: .null, error: .invalidRequest("A request must be an object"))
        }
        let id = members["id"]
        if let id {
            switch id {
            case .string, .int, .double, .null: break
            default: return Self.response(id: .null, error: .invalidRequest("The id must be a string, number or null"))
            }
        }
        let replyId = id ?? .null
        guard members["jsonrpc"] == .string("2.0") else {
            return Self.response(id: replyId, error: .invalidRequest("The request must have \"jsonrpc\": \"2.0\""))
        }
        guard let name = members["method"]?.stringValue else {
            return Self.response(id: replyId, error: .invalidRequest("The request needs a method name"))
        }
        let params: [String: JSON]
        switch members["params"] {
        case nil, .null?: params = [:]
        case .object(let named)?: params = named
        case .array?:
            return id == nil
                ? nil : Self.response(id: replyId, error: .invalidParams("Parameters must be named (an object)"))
        default:
            return id == nil ? nil : Self.response(id: replyId, error: .invalidRequest("params must be an object"))
        }
        let result: Result<JSON, RPCError>
        if let method = methods[name] {
            result = await call(method, params: params, context: context)
        } else {
            result = .failure(.methodNotFound(name))
        }
        guard id != nil else { return nil }
        switch result {
        case .success(let value): return ["jsonrpc": "2.0", "result": value, "id": replyId]
        case .failure(let error): return Self.response(id: replyId, error: error)
        }
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
