import ArgumentParser
import AsyncHTTPClient
import CatalogRuleSets
import Foundation
import JSONValue
import NIOCore

/// Options naming a running catalog server and the account to log in with.
struct ServerOptions: ParsableArguments {
    @Option(help: "The server's base URL.")
    var url = "http://127.0.0.1:8080"

    @Option(help: "The authenticator to log in with.")
    var plugin = "simple"

    @Option(help: "The user name.")
    var username = "root"

    @Option(help: "The password (default: the ICAT_PASSWORD environment variable).")
    var password: String?
}

/// A small JSON-RPC client of a catalog server, logged in.
struct CatalogClient: RuleSetTarget {
    let endpoint: URL
    let sessionId: String

    static func login(_ options: ServerOptions) async throws -> CatalogClient {
        guard let base = URL(string: options.url) else { throw ValidationError("--url \(options.url) is not a URL") }
        let endpoint = base.appendingPathComponent("rpc")
        let password = options.password ?? ProcessInfo.processInfo.environment["ICAT_PASSWORD"] ?? ""
        let reply = try await call(
            endpoint,
            "login",
            [
                "plugin": .string(options.plugin),
                "credentials": ["username": .string(options.username), "password": .string(password)],
            ]
        )
        guard let session = reply["sessionId"]?.stringValue else { throw ClientError("login gave no session") }
        return CatalogClient(endpoint: endpoint, sessionId: session)
    }

    func call(_ method: String, _ params: [String: JSON]) async throws -> JSON {
        var params = params
        params["sessionId"] = .string(sessionId)
        return try await Self.call(endpoint, method, params)
    }

    func search(_ query: String) async throws -> JSON {
        try await call("search", ["query": .string(query)])
    }

    func createMany(_ entities: [JSON]) async throws -> [Int64] {
        try await call("createMany", ["entities": .array(entities)]).arrayValue?.compactMap(\.int64Value) ?? []
    }

    static func call(_ endpoint: URL, _ method: String, _ params: [String: JSON]) async throws -> JSON {
        var request = HTTPClientRequest(url: endpoint.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: JSON = ["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": .object(params)]
        request.body = .bytes(ByteBuffer(bytes: body.serializedBytes))
        let response = try await HTTPClient.shared.execute(request, timeout: .minutes(30))
        let data = try await response.body.collect(upTo: 1 << 30)
        let reply = try JSON(parsing: Array(buffer: data))
        if let error = reply["error"] {
            let type = error["data"]?["type"]?.stringValue ?? "\(error["code"]?.int64Value ?? 0)"
            throw ClientError("\(method): \(type): \(error["message"]?.stringValue ?? "")")
        }
        return reply["result"] ?? .null
    }
}

struct ClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
