import JSONValue
import Logging
import Testing

@testable import JSONRPC

@Suite("JSON")
struct JSONTests {
    @Test func parsesAndSerializesEveryKindOfValue() throws {
        let text = #"{"a":[1,-2.5,true,false,null,"x\"y\u00e9\ud83d\ude00"],"b":{"c":9007199254740993}}"#
        let value = try JSON(parsing: text)
        #expect(value["b"]?["c"] == .int(9_007_199_254_740_993))
        #expect(value["a"]?.arrayValue?[5] == "x\"yé😀")
        #expect(try JSON(parsing: value.serialized) == value)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "01", "1.", "[1] 2", "\"\\x\"", "{\"a\":1,}",
    ])
    func rejectsMalformedText(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSON(parsing: text) }
    }

    @Test func refusesHostileNesting() {
        #expect(throws: JSONParseError.self) { try JSON(parsing: String(repeating: "[", count: 100_000)) }
    }

    @Test
    func theBoundedWriterWritesWhatTheSerializerWritesOrNothing() {
        let value: JSON = [
            "b": [1, 2.5, "tab\there", ["nested": .null, "a": true]], "a": "quote \" and \\ and \u{1}",
            "é": 3,
        ]
        let whole = value.serializedBytes
        var exact = BoundedJSONWriter(limit: whole.count)
        let fits = exact.append(value)
        #expect(fits)
        #expect(exact.bytes == whole)
        var short = BoundedJSONWriter(limit: whole.count - 1)
        short.append(byte: UInt8(ascii: "["))
        let fitsShort = short.append(value)
        #expect(!fitsShort)
        #expect(short.bytes == Array("[".utf8))
    }
}

/// JSON-RPC 2.0 on its own, without HTTP or a catalog: one `echo` method.
@Suite("JSON-RPC")
struct JSONRPCTests {
    static let service = RPCService(
        title: "test",
        version: "1",
        methods: [
            RPCMethod(
                name: "echo",
                summary: "Its params.",
                params: [
                    RPCParameter("a", ["type": "integer"], required: false),
                    RPCParameter("n", ["type": "integer"], required: false),
                ],
                result: ["type": "object"]
            ) { params, _ in .object(params.members) }
        ],
        mapError: { error in RPCError.internalError("\(error)") }
    )
    static let context = RPCRequestContext(logger: Logger(label: "test"))

    static func reply(_ text: String, limits: RPCLimits = RPCLimits()) async throws -> JSON? {
        guard let bytes = await service.handle(Array(text.utf8), limits: limits, context: context) else { return nil }
        return try JSON(parsing: bytes)
    }

    @Test func aRequestIsAnsweredWithItsIdAndResult() async throws {
        let reply = try await Self.reply(#"{"jsonrpc":"2.0","id":7,"method":"echo","params":{"a":1}}"#)
        #expect(reply?["id"] == 7)
        #expect(reply?["result"]?["a"] == 1)
        #expect(reply?["error"] == nil)
    }

    @Test(arguments: [
        ("{", -32700), ("[]", -32600), (#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#, -32601),
        (#"{"jsonrpc":"2.0","id":1}"#, -32600), (#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"z":1}}"#, -32602),
    ])
    func malformedRequestsGetTheirErrorCodes(_ text: String, _ code: Int64) async throws {
        let reply = try await Self.reply(text)
        #expect(reply?["error"]?["code"] == .int(code), "\(text): \(String(describing: reply))")
    }

    @Test func aBatchIsAnsweredInOrderWithoutItsNotifications() async throws {
        let reply = try await Self.reply(
            #"[{"jsonrpc":"2.0","id":1,"method":"echo","params":{"n":1}},"#
                + #"{"jsonrpc":"2.0","method":"echo","params":{"n":2}},"#
                + #"{"jsonrpc":"2.0","id":3,"method":"echo","params":{"n":3}}]"#
        )
        let answers = try #require(reply?.arrayValue)
        #expect(answers.map { $0["id"] } == [1, 3])
        #expect(answers.map { $0["result"]?["n"] } == [1, 3])
        #expect(try await Self.reply(#"{"jsonrpc":"2.0","method":"echo"}"#) == nil, "a notification has no reply")
    }

    @Test func aBatchOverTheLimitIsRefusedWhole() async throws {
        let request = #"{"jsonrpc":"2.0","id":1,"method":"echo"}"#
        let batch = "[" + Array(repeating: request, count: 3).joined(separator: ",") + "]"
        let reply = try await Self.reply(batch, limits: RPCLimits(maximumBatchRequests: 2))
        #expect(reply?["error"]?["code"] == -32600)
        #expect(reply?["error"]?["message"]?.stringValue?.contains("at most 2 requests") == true)
    }
}
