import Catalog
import CatalogServer
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONValue
import Testing

@testable import JSONRPC

/// What one JSON-RPC request may cost: the requests in a batch and the size of a reply are capped.
@Suite("Bounded JSON-RPC batches and replies")
struct RPCBoundsTests {
    static func post(_ client: any TestClientProtocol, _ body: String) async throws -> (bytes: Int, reply: JSON) {
        try await client.execute(uri: "/rpc", method: .post, body: ByteBuffer(string: body)) { response in
            #expect(response.status == .ok)
            return (response.body.readableBytes, try JSON(parsing: String(buffer: response.body)))
        }
    }

    static func request(_ id: Int64, _ method: String, _ params: JSON) -> JSON {
        ["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]
    }

    static func createFacility(_ id: Int64, _ session: String, _ name: String) -> JSON {
        request(id, "create", ["sessionId": .string(session), "entity": ["Facility": ["name": .string(name)]]])
    }

    static func facilityCount(_ catalog: Catalog, _ root: String) async throws -> JSON {
        try await catalog.search(sessionId: root, query: "SELECT COUNT(f) FROM Facility f")
    }

    static func root(_ catalog: Catalog) async throws -> String {
        try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])
    }

    @Test(arguments: Backend.allCases)
    func aBatchOverTheCapIsRefusedWholeAndRunsNothing(_ backend: Backend) async throws {
        let configuration = ServerConfiguration(rpcLimits: RPCLimits(maximumBatchRequests: 5))
        try await TestServer.with(backend, configuration) { catalog, client in
            let root = try await Self.root(catalog)
            let six = JSON.array((1...6).map { Self.createFacility($0, root, "F\($0)") })
            let refused = try await Self.post(client, six.serialized).reply
            #expect(refused["error"]?["code"] == -32600)
            #expect(refused["error"]?["message"]?.stringValue?.contains("at most 5 requests") == true)
            #expect(refused["id"] == .null)
            #expect(try await Self.facilityCount(catalog, root) == [0])

            // Invalid entries count toward the cap.
            let padded = "[1,1,1,1,1,\(Self.createFacility(1, root, "F1").serialized)]"
            #expect(try await Self.post(client, padded).reply["error"]?["code"] == -32600)
            #expect(try await Self.facilityCount(catalog, root) == [0])

            // At the cap, every entry is answered: the invalid ones with -32600 each.
            let five = "[1,1,1,1,\(Self.createFacility(9, root, "F1").serialized)]"
            let answered = try #require(try await Self.post(client, five).reply.arrayValue)
            #expect(answered.count == 5)
            #expect(answered.prefix(4).allSatisfy { $0["error"]?["code"] == -32600 })
            #expect(answered[4]["id"] == 9)
            #expect(answered[4]["result"]?.int64Value != nil)
            #expect(try await Self.facilityCount(catalog, root) == [1])
        }
    }

    @Test(arguments: Backend.allCases)
    func aHugeBatchOfInvalidEntriesGetsOneSmallAnswerWithoutLogin(_ backend: Backend) async throws {
        let configuration = ServerConfiguration(maximumRequestBytes: 8 << 20)
        try await TestServer.with(backend, configuration) { _, client in
            // 2.4 MB of `1,` once multiplied into a 460-byte-per-entry reply of 1 GB.
            let body = "[" + Array(repeating: "1", count: 1_200_000).joined(separator: ",") + "]"
            let (bytes, reply) = try await Self.post(client, body)
            #expect(reply["error"]?["code"] == -32600)
            #expect(reply["error"]?["message"]?.stringValue?.contains("at most 1000 requests") == true)
            #expect(bytes < 512)

            let atCap = "[" + Array(repeating: "1", count: 1000).joined(separator: ",") + "]"
            let answers = try #require(try await Self.post(client, atCap).reply.arrayValue)
            #expect(answers.count == 1000)
            #expect(answers.allSatisfy { $0["error"]?["code"] == -32600 && $0["id"] == .null })
        }
    }

    /// Logs in as root and creates 60 facilities of about 130 bytes of JSON each: more than a 4 KiB reply holds.
    static func sixtyFacilities(_ catalog: Catalog) async throws -> String {
        let root = try await Self.root(catalog)
        let facilities: [JSON] = (0..<60).map { i in
            ["Facility": ["name": .string("facility-\(i)"), "fullName": .string(String(repeating: "x", count: 100))]]
        }
        _ = try await catalog.createMany(sessionId: root, entities: facilities)
        return root
    }

    @Test(arguments: Backend.allCases)
    func aResultTooLargeForTheReplyIsAnErrorWhileASmallerPageIsAnswered(_ backend: Backend) async throws {
        let limit = 4096
        let configuration = ServerConfiguration(rpcLimits: RPCLimits(maximumReplyBytes: limit))
        try await TestServer.with(backend, configuration) { catalog, client in
            let root = try await Self.sixtyFacilities(catalog)
            let session = JSON.string(root)

            let all = Self.request(7, "search", ["sessionId": session, "query": "SELECT f FROM Facility f"])
            let (bytes, tooLarge) = try await Self.post(client, all.serialized)
            #expect(bytes < 1024)
            #expect(tooLarge["id"] == 7)
            #expect(tooLarge["error"]?["code"] == -32006)
            #expect(tooLarge["error"]?["data"]?["type"] == "VALIDATION")
            #expect(tooLarge["error"]?["data"]?["offset"] == -1)
            let message = try #require(tooLarge["error"]?["message"]?.stringValue)
            #expect(message.contains("\(limit) bytes") && message.contains("smaller page"), "\(message)")

            let page = Self.request(
                8,
                "search",
                ["sessionId": session, "query": "SELECT f FROM Facility f ORDER BY f.name LIMIT 0, 3"]
            )
            let answered = try await Self.post(client, page.serialized).reply
            #expect(answered["result"]?.arrayValue?.count == 3)
            #expect(answered["result"]?[0]?["Facility"]?["name"] == "facility-0")
        }
    }

    @Test(arguments: Backend.allCases)
    func aBatchStopsAtTheReplyCapAndRunsNothingAfterIt(_ backend: Backend) async throws {
        let limit = 4096
        let configuration = ServerConfiguration(rpcLimits: RPCLimits(maximumReplyBytes: limit))
        try await TestServer.with(backend, configuration) { catalog, client in
            let root = try await Self.sixtyFacilities(catalog)
            let session = JSON.string(root)
            let batch: JSON = [
                Self.request(1, "search", ["sessionId": session, "query": "SELECT COUNT(f) FROM Facility f"]),
                Self.request(2, "search", ["sessionId": session, "query": "SELECT f FROM Facility f"]),
                Self.createFacility(3, root, "after the cap"),
                1,
                ["jsonrpc": "2.0", "method": "getApiVersion"],
                Self.request(4, "getApiVersion", [:]),
            ]
            let (bytes, reply) = try await Self.post(client, batch.serialized)
            let answers = try #require(reply.arrayValue)
            #expect(bytes < limit)
            #expect(answers.count == 5)
            #expect(answers[0]["result"] == [60])
            #expect(answers[1]["id"] == 2)
            #expect(answers[1]["error"]?["data"]?["type"] == "VALIDATION")
            #expect(answers[1]["error"]?["message"]?.stringValue?.contains("smaller page") == true)
            #expect(answers[2]["id"] == 3)
            #expect(answers[2]["error"]?["message"]?.stringValue?.hasPrefix("Not run") == true)
            #expect(answers[3]["error"]?["code"] == -32600)
            #expect(answers[4]["id"] == 4)
            #expect(answers[4]["error"]?["message"]?.stringValue?.hasPrefix("Not run") == true)
            #expect(try await Self.facilityCount(catalog, root) == [60])
        }
    }
}
