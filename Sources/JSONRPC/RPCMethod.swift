import JSONValue
import Logging

/// One method of a JSON-RPC service: its name, its description for OpenRPC, and its handler.
public struct RPCMethod: Sendable {
    public typealias Handler = @Sendable (RPCParams, RPCRequestContext) async throws -> JSON

    public let name: String
    public let summary: String
    public let params: [RPCParameter]
    /// A JSON Schema of the result.
    public let result: JSON
    public let handler: Handler

    public init(name: String, summary: String, params: [RPCParameter], result: JSON, handler: @escaping Handler) {
        self.name = name
        self.summary = summary
        self.params = params
        self.result = result
        self.handler = handler
    }
}

/// A named parameter of a method, with a JSON Schema of its value.
public struct RPCParameter: Sendable {
    public let name: String
    public let schema: JSON
    public let required: Bool
    public let description: String

    public init(_ name: String, _ schema: JSON, required: Bool = true, description: String = "") {
        self.name = name
        self.schema = schema
        self.required = required
        self.description = description
    }
}

/// What the transport knows of a request: a logger carrying its request id, and the client's address when known.
public struct RPCRequestContext: Sendable {
    public var logger: Logger
    public var clientAddress: String?

    public init(logger: Logger, clientAddress: String? = nil) {
        self.logger = logger
        self.clientAddress = clientAddress
    }
}

/// The named parameters of a call, with typed accessors that answer `-32602 invalid params` when a parameter
/// is missing or of the wrong type.
public struct RPCParams: Sendable {
    public let members: [String: JSON]

    public init(_ members: [String: JSON]) {
        self.members = members
    }

    public func json(_ name: String) throws(RPCError) -> JSON {
        guard let value = members[name], !value.isNull else { throw .invalidParams("Missing parameter '\(name)'") }
        return value
    }

    public func string(_ name: String) throws(RPCError) -> String {
        guard let value = try json(name).stringValue else {
            throw .invalidParams("Parameter '\(name)' must be a string")
        }
        return value
    }

    public func optionalString(_ name: String) throws(RPCError) -> String? {
        guard let value = members[name], !value.isNull else { return nil }
        guard let s = value.stringValue else { throw .invalidParams("Parameter '\(name)' must be a string") }
        return s
    }

    public func int64(_ name: String) throws(RPCError) -> Int64 {
        guard let value = try json(name).int64Value else {
            throw .invalidParams("Parameter '\(name)' must be an integer")
        }
        return value
    }

    public func optionalInt64(_ name: String) throws(RPCError) -> Int64? {
        guard let value = members[name], !value.isNull else { return nil }
        guard let i = value.int64Value else { throw .invalidParams("Parameter '\(name)' must be an integer") }
        return i
    }

    public func optionalBool(_ name: String) throws(RPCError) -> Bool? {
        guard let value = members[name], !value.isNull else { return nil }
        guard let b = value.boolValue else { throw .invalidParams("Parameter '\(name)' must be true or false") }
        return b
    }

    public func object(_ name: String) throws(RPCError) -> [String: JSON] {
        guard let value = try json(name).objectValue else {
            throw .invalidParams("Parameter '\(name)' must be an object")
        }
        return value
    }

    public func array(_ name: String) throws(RPCError) -> [JSON] {
        guard let value = try json(name).arrayValue else {
            throw .invalidParams("Parameter '\(name)' must be an array")
        }
        return value
    }
}
