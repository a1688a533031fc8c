import Catalog
import CatalogRPC
import CatalogServer
import DataFileSamples
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONRPC
import JSONValue
import Metrics
import Prometheus
import Testing

/// The JSON-RPC protocol over HTTP, as a client meets it.
@Suite("JSON-RPC over HTTP")
struct RPCTests {
    /// swift-metrics has one global backend, so the suite bootstraps it once.
    static let metrics: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Runs `body` with an HTTP test client of a server over a fresh catalog.
    func withServer(
        _ backend: Backend,
        maximumRequestBytes: Int = 1 << 20,
        _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await TestCatalog.with(backend) { catalog in
            let app = CatalogServer.application(
                catalog: catalog,
                service: CatalogService.make(catalog: catalog),
                configuration: ServerConfiguration(maximumRequestBytes: maximumRequestBytes),
                metrics: Self.metrics,
                logger: TestCatalog.logger
            )
            try await app.test(.router, body)
        }
    }

    @discardableResult
    static func post(_ client: any TestClientProtocol, _ body: String) async throws -> (HTTPResponse.Status, JSON?) {
        try await client.execute(
            uri: "/rpc",
            method: .post,
            headers: [.contentType: "application/json"],
            body: ByteBuffer(string: body)
        ) {
            response in
            let text = String(buffer: response.body)
            return (response.status, text.isEmpty ? nil : try JSON(parsing: text))
        }
    }

    static func call(
        _ client: any TestClientProtocol,
        _ method: String,
        _ params: JSON = [:],
        id: Int64 = 1
    ) async throws -> JSON {
        let request: JSON = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
        return try #require(try await post(client, request.serialized).1)
    }

    static func rootSession(_ client: any TestClientProtocol) async throws -> String {
        let reply = try await call(
            client,
            "login",
            ["plugin": "simple", "credentials": ["username": "root", "password": "secret"]]
        )
        return try #require(reply["result"]?["sessionId"]?.stringValue)
    }

    @Test(arguments: Backend.allCases)
    func catalogErrorsCarryTheContractsCodeTypeAndOffset(_ backend: Backend) async throws {
        try await withServer(backend) { client in
            let session = try await Self.rootSession(client)
            let wrongPassword = try await Self.call(
                client,
                "login",
                ["plugin": "simple", "credentials": ["username": "root", "password": "nope"]]
            )
            #expect(wrongPassword["error"]?["code"] == -32005)
            #expect(wrongPassword["error"]?["data"] == ["type": "SESSION", "offset": -1])

            let facility = try await Self.call(
                client,
                "create",
                ["sessionId": .string(session), "entity": ["Facility": ["name": "F"]]]
            )
            let facilityId = try #require(facility["result"]?.int64Value)
            let batch = try await Self.call(
                client,
                "createMany",
                [
                    "sessionId": .string(session),
                    "entities": [["Facility": ["name": "G"]], ["Facility": ["name": "F"]]],
                ]
            )
            #expect(batch["error"]?["code"] == -32004)
            #expect(batch["error"]?["data"] == ["type": "OBJECT_ALREADY_EXISTS", "offset": 1])
            #expect(batch["error"]?["message"] == "Facility exists with name = 'F'")

            let invalid = try await Self.call(
                client,
                "create",
                ["sessionId": .string(session), "entity": ["Facility": [:]]]
            )
            #expect(invalid["error"]?["code"] == -32006)
            let bad = try await Self.call(client, "create", ["sessionId": .string(session), "entity": ["Nope": [:]]])
            #expect(bad["error"]?["code"] == -32001)
            let missing = try await Self.call(
                client,
                "get",
                ["sessionId": .string(session), "query": "Facility", "id": 4040]
            )
            #expect(missing["error"]?["code"] == -32003)
            let anon = try await Self.call(client, "login", ["plugin": "anon"])
            let anonSession = try #require(anon["result"]?["sessionId"])
            let denied = try await Self.call(
                client,
                "delete",
                ["sessionId": anonSession, "entity": ["Facility": ["id": .int(facilityId)]]]
            )
            #expect(denied["error"]?["code"] == -32002)
            #expect(denied["error"]?["data"]?["type"] == "INSUFFICIENT_PRIVILEGES")
        }
    }

    @Test(arguments: Backend.allCases)
    func protocolErrorsUseJSONRPCCodes(_ backend: Backend) async throws {
        try await withServer(backend) { client in
            let (status, parseError) = try await Self.post(client, "{\"jsonrpc\": \"2.0\", ")
            #expect(status == .ok)
            #expect(parseError?["error"]?["code"] == -32700)
            #expect(parseError?["id"] == .null)
            let unknown = try await Self.call(client, "noSuchMethod")
            #expect(unknown["error"]?["code"] == -32601)
            let notRequest = try await Self.post(client, #"{"jsonrpc": "1.0", "id": 3, "method": "getApiVersion"}"#).1
            #expect(notRequest?["error"]?["code"] == -32600)
            #expect(notRequest?["id"] == 3)
            let positional = try await Self.post(
                client,
                #"{"jsonrpc": "2.0", "id": 4, "method": "getEntityInfo", "params": ["Dataset"]}"#
            ).1
            #expect(positional?["error"]?["code"] == -32602)
            let missingParam = try await Self.call(client, "getEntityInfo", [:])
            #expect(missingParam["error"]?["code"] == -32602)
            let extraParam = try await Self.call(client, "getApiVersion", ["verbose": true])
            #expect(extraParam["error"]?["code"] == -32602)
            let wrongType = try await Self.call(client, "get", ["sessionId": "s", "query": "Dataset", "id": "seven"])
            #expect(wrongType["error"]?["code"] == -32602)
            let emptyBatch = try await Self.post(client, "[]").1
            #expect(emptyBatch?["error"]?["code"] == -32600)
        }
    }

    @Test(arguments: Backend.allCases)
    func batchesAnswerEachRequestAndSkipNotifications(_ backend: Backend) async throws {
        try await withServer(backend) { client in
            let (_, reply) = try await Self.post(
                client,
                #"""
                [{"jsonrpc": "2.0", "id": "a", "method": "getApiVersion"},
                 {"jsonrpc": "2.0", "method": "getApiVersion"},
                 {"jsonrpc": "2.0", "id": "b", "method": "nope"},
                 42,
                 {"jsonrpc": "2.0", "id": "c", "method": "getEntityNames"}]
                """#
            )
            let replies = try #require(reply?.arrayValue)
            #expect(replies.count == 4)
            #expect(replies[0]["id"] == "a" && replies[0]["result"] == .string(Catalog.apiVersion))
            #expect(replies[1]["id"] == "b" && replies[1]["error"]?["code"] == -32601)
            #expect(replies[2]["error"]?["code"] == -32600)
            #expect(replies[3]["result"]?.arrayValue?.count == 57)
            let (status, nothing) = try await Self.post(client, #"{"jsonrpc": "2.0", "method": "getApiVersion"}"#)
            #expect(status == .noContent)
            #expect(nothing == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func oversizedRequestsAreRefusedWith413(_ backend: Backend) async throws {
        try await withServer(backend, maximumRequestBytes: 1024) { client in
            let big =
                #"{"jsonrpc": "2.0", "id": 1, "method": "getApiVersion", "params": {"pad": ""#
                + String(repeating: "x", count: 4096) + "\"}}"
            let status = try await client.execute(uri: "/rpc", method: .post, body: ByteBuffer(string: big)) {
                $0.status
            }
            #expect(status == .contentTooLarge)
        }
    }

    @Test(arguments: Backend.allCases)
    func healthMetricsAndDiscoveryAnswer(_ backend: Backend) async throws {
        try await withServer(backend) { client in
            let health = try await client.execute(uri: "/health", method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(health.0 == .ok)
            #expect(health.1.contains("ok"))
            _ = try await Self.call(client, "getApiVersion")
            let metrics = try await client.execute(uri: "/metrics", method: .get) {
                ($0.status, String(buffer: $0.body))
            }
            #expect(metrics.0 == .ok)
            #expect(metrics.1.contains("# TYPE"))
            let discover = try await Self.call(client, "rpc.discover")
            let document = try #require(discover["result"])
            #expect(document["openrpc"]?.stringValue?.hasPrefix("1.") == true)
            let names = Set(document["methods"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
            for method in [
                "login", "logout", "refresh", "getRemainingMinutes", "getUserName", "getApiVersion", "getEntityNames",
                "getEntityInfo", "getProperties", "create", "createMany", "get", "update", "delete", "deleteMany",
                "cloneEntity", "rpc.discover",
            ] {
                #expect(names.contains(method), "\(method)")
            }
            let create = document["methods"]?.arrayValue?.first { $0["name"] == "create" }
            #expect(create?["params"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["sessionId", "entity"])
        }
    }

    @Test(arguments: Backend.allCases)
    func sessionMethodsWorkOverTheWire(_ backend: Backend) async throws {
        try await withServer(backend) { client in
            let session = try await Self.rootSession(client)
            #expect(
                try await Self.call(client, "getUserName", ["sessionId": .string(session)])["result"] == "simple/root"
            )
            let minutes = try await Self.call(client, "getRemainingMinutes", ["sessionId": .string(session)])["result"]?
                .doubleValue
            #expect((minutes ?? 0) > 119)
            #expect(try await Self.call(client, "refresh", ["sessionId": .string(session)])["result"] == .null)
            #expect(try await Self.call(client, "logout", ["sessionId": .string(session)])["result"] == .null)
            #expect(
                try await Self.call(client, "getUserName", ["sessionId": .string(session)])["error"]?["code"] == -32005
            )
            let properties = try await Self.call(client, "getProperties")["result"]
            #expect(properties?["maxEntities"] == 10000)
        }
    }
}

/// Data files over HTTP: JSON-RPC's importData/exportData, and the streamed `/data/` routes.
@Suite("Data files over HTTP")
struct DataFileHTTPTests {
    @Test(arguments: Backend.allCases)
    func importDataAndExportDataWorkOverJSONRPCWithOptionsChecked(_ backend: Backend) async throws {
        try await RPCTests().withServer(backend, maximumRequestBytes: 4 << 20) { client in
            let session = JSON.string(try await RPCTests.rootSession(client))
            let text = try String(contentsOfFile: try DataFileSamples.example("icatdump-6.2.yaml"), encoding: .utf8)
            let imported = try await RPCTests.call(
                client,
                "importData",
                ["sessionId": session, "format": "icatdata-yaml", "data": .string(text)]
            )
            #expect(imported["result"] == ["created": 439, "skipped": 0, "updated": 0])
            let bad = try await RPCTests.call(
                client,
                "importData",
                ["sessionId": session, "format": "icatdata-yaml", "data": .string(text), "duplicate": "MAYBE"]
            )
            #expect(bad["error"]?["data"]?["type"] == "BAD_PARAMETER")
            #expect(bad["error"]?["message"]?.stringValue?.contains("THROW, IGNORE, CHECK, OVERWRITE") == true)
            let exported = try await RPCTests.call(
                client,
                "exportData",
                ["sessionId": session, "format": "icatdata-xml", "query": "Investigation [name='08100122-EF']"]
            )
            let xml = try #require(exported["result"]?.stringValue)
            #expect(xml.hasPrefix("<?xml"))
            #expect(
                xml.contains(
                    "<investigation id=\"Investigation_facility-(name-ESNF)_name-08100122=2DEF_visitId-1=2E1=2DP\">"
                )
            )
            #expect(!xml.contains("<investigation id=\"Investigation_facility-(name-ESNF)_name-10100601"))
        }
    }

    @Test(arguments: Backend.allCases)
    func theDataRoutesStreamAnImportWithProgressAndAnExport(_ backend: Backend) async throws {
        try await RPCTests().withServer(backend) { client in
            let session = try await RPCTests.rootSession(client)
            let file = try Data(contentsOf: URL(fileURLWithPath: try DataFileSamples.example("icatdump-6.2.xml")))
            let lines = try await client.execute(
                uri: "/data/import?format=icatdata-xml",
                method: .post,
                headers: [.authorization: "Bearer \(session)"],
                body: ByteBuffer(bytes: file)
            ) { response in
                #expect(response.status == .ok)
                return try String(buffer: response.body).split(separator: "\n").map { try JSON(parsing: String($0)) }
            }
            #expect(lines.last?["result"]?["created"] == 439)
            #expect(lines.dropLast().allSatisfy { $0["progress"] != nil })

            // The same file again fails, as the last line says, with the object and line.
            let again = try await client.execute(
                uri: "/data/import?format=icatdata-xml",
                method: .post,
                headers: [.authorization: "Bearer \(session)"],
                body: ByteBuffer(bytes: file)
            ) { response in
                try JSON(parsing: String(String(buffer: response.body).split(separator: "\n").last ?? ""))
            }
            #expect(again["error"]?["data"]?["type"] == "OBJECT_ALREADY_EXISTS")
            #expect(again["error"]?["data"]?["offset"] == 0)
            #expect(again["error"]?["code"] == -32004)

            let export = try await client.execute(
                uri: "/data/export?format=icatdata-yaml&attributes=ALL",
                method: .get,
                headers: [.authorization: "Bearer \(session)"]
            ) { response in (response.status, String(buffer: response.body)) }
            #expect(export.0 == .ok)
            #expect(export.1.hasPrefix("%YAML 1.1"))
            #expect(export.1.contains("createId: \"simple/root\""))

            let unauthorized = try await client.execute(uri: "/data/export?format=icatdata-yaml", method: .get) {
                response in response.status
            }
            #expect(unauthorized == .unauthorized)
            let badQuery = try await client.execute(
                uri: "/data/export?format=icatdata-xml&query=SELECT%20x%20FROM",
                method: .get,
                headers: [.authorization: "Bearer \(session)"]
            ) { response in (response.status, try JSON(parsing: String(buffer: response.body))) }
            #expect(badQuery.0 == .badRequest)
            #expect(badQuery.1["error"]?["data"]?["type"] == "BAD_PARAMETER")
        }
    }
}
