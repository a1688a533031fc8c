import Catalog
import CatalogDataFormat
import JSONRPC
import JSONValue

/// The catalog's operations as JSON-RPC methods, with the names and parameters of the contract.
public enum CatalogService {
    /// The catalog's methods, with `additionalMethods` (another module's, such as the data service's `ids.*`),
    /// which map their own errors to `RPCError`s.
    public static func make(catalog: Catalog, additionalMethods: [RPCMethod] = []) -> RPCService {
        RPCService(
            title: "ICAT-compatible catalog",
            version: Catalog.apiVersion,
            methods: methods(catalog) + additionalMethods,
            mapError: RPCError.from
        )
    }

    static let sessionId = RPCParameter("sessionId", Schema.string, description: "A session id from login")
    static let entity = RPCParameter("entity", Schema.entity, description: "An entity wrapped in its type name")
    static let entities = RPCParameter("entities", ["type": "array", "items": Schema.entity])

    static let format = RPCParameter(
        "format",
        ["enum": .array(DataFileFormat.allCases.map { .string($0.rawValue) })],
        description: "icatdata-xml or icatdata-yaml"
    )
    static let attributes = RPCParameter(
        "attributes",
        ["enum": .array(AttributeSelection.allCases.map { .string($0.rawValue) })],
        required: false,
        description: "USER (default) or ALL, which includes createId, createTime, modId and modTime"
    )

    static func option<Value: CatalogOption>(
        _ params: RPCParams,
        _ name: String,
        default fallback: Value?
    ) throws -> Value {
        try Value.parse(try params.optionalString(name), name: name, default: fallback)
    }

    static func methods(_ catalog: Catalog) -> [RPCMethod] {
        [
            RPCMethod(
                name: "login",
                summary: "Logs in through an authenticator; returns a session id.",
                params: [
                    RPCParameter("plugin", Schema.string, description: "The authenticator's mnemonic"),
                    RPCParameter(
                        "credentials",
                        ["type": "object"],
                        required: false,
                        description: "username and password"
                    ),
                ],
                result: ["type": "object", "properties": ["sessionId": Schema.string]]
            ) { params, context in
                let credentials = params.members["credentials"]?.objectValue ?? [:]
                let id = try await catalog.login(
                    plugin: try params.string("plugin"),
                    credentials: credentials,
                    clientAddress: context.clientAddress
                )
                return ["sessionId": .string(id)]
            },
            RPCMethod(name: "logout", summary: "Ends a session.", params: [sessionId], result: Schema.null) {
                params,
                _ in
                try await catalog.logout(sessionId: try params.string("sessionId"))
                return .null
            },
            RPCMethod(
                name: "refresh",
                summary: "Restarts a session's lifetime.",
                params: [sessionId],
                result: Schema.null
            ) {
                params,
                _ in
                try await catalog.refresh(sessionId: try params.string("sessionId"))
                return .null
            },
            RPCMethod(
                name: "getRemainingMinutes",
                summary: "Minutes until the session expires.",
                params: [sessionId],
                result: Schema.number
            ) { params, _ in
                .double(try await catalog.remainingMinutes(sessionId: try params.string("sessionId")))
            },
            RPCMethod(
                name: "getUserName",
                summary: "The session's user, as mnemonic/username.",
                params: [sessionId],
                result: Schema.string
            ) { params, _ in
                .string(try await catalog.userName(sessionId: try params.string("sessionId")))
            },
            RPCMethod(name: "getApiVersion", summary: "The ICAT API version.", params: [], result: Schema.string) {
                _,
                _ in
                .string(Catalog.apiVersion)
            },
            RPCMethod(
                name: "getEntityNames",
                summary: "Every entity type.",
                params: [],
                result: ["type": "array", "items": Schema.string]
            ) { _, _ in
                .array(catalog.entityNames.map(JSON.string))
            },
            RPCMethod(
                name: "getEntityInfo",
                summary: "An entity type's comment, unique keys and fields.",
                params: [RPCParameter("beanName", Schema.string, description: "An entity type, e.g. Dataset")],
                result: ["type": "object"]
            ) { params, _ in
                try catalog.entityInfo(try params.string("beanName"))
            },
            RPCMethod(
                name: "getProperties",
                summary: "maxEntities, lifetimeMinutes and the authenticators.",
                params: [],
                result: ["type": "object"]
            ) { _, _ in
                catalog.properties
            },
            RPCMethod(
                name: "create",
                summary: "Creates an object with its children; returns its id.",
                params: [sessionId, entity],
                result: Schema.integer
            ) { params, _ in
                .int(
                    try await catalog.create(
                        sessionId: try params.string("sessionId"),
                        entity: try params.json("entity")
                    )
                )
            },
            RPCMethod(
                name: "createMany",
                summary: "Creates objects in one transaction; returns their ids.",
                params: [sessionId, entities],
                result: ["type": "array", "items": Schema.integer]
            ) { params, _ in
                let ids = try await catalog.createMany(
                    sessionId: try params.string("sessionId"),
                    entities: try params.array("entities")
                )
                return .array(ids.map(JSON.int))
            },
            RPCMethod(
                name: "isAccessAllowed",
                summary: "Whether the caller may create the entity, or read, update or delete the object it names.",
                params: [
                    sessionId, entity,
                    RPCParameter("accessType", ["enum": ["CREATE", "READ", "UPDATE", "DELETE"]]),
                ],
                result: ["type": "boolean"]
            ) { params, _ in
                let name = try params.string("accessType")
                guard let access = AccessType(rawValue: name) else {
                    throw RPCError.invalidParams("accessType must be CREATE, READ, UPDATE or DELETE, not '\(name)'")
                }
                return .bool(
                    try await catalog.isAccessAllowed(
                        sessionId: try params.string("sessionId"),
                        entity: try params.json("entity"),
                        access: access
                    )
                )
            },
            RPCMethod(
                name: "importData",
                summary: "Imports an ICAT data file (python-icat's icatdata, XML or YAML) in one transaction.",
                params: [
                    sessionId, format,
                    RPCParameter("data", Schema.string, description: "The file's text"),
                    RPCParameter(
                        "duplicate",
                        ["enum": .array(DuplicateAction.allCases.map { .string($0.rawValue) })],
                        required: false
                    ),
                    attributes,
                ],
                result: [
                    "type": "object",
                    "properties": ["created": Schema.integer, "skipped": Schema.integer, "updated": Schema.integer],
                ]
            ) { params, _ in
                let options = ImportOptions(
                    duplicate: try option(params, "duplicate", default: .throw),
                    attributes: try option(params, "attributes", default: .user)
                )
                let summary = try await catalog.importData(
                    sessionId: try params.string("sessionId"),
                    format: try option(params, "format", default: nil),
                    source: .text(try params.string("data")),
                    options: options
                )
                return [
                    "created": .int(Int64(summary.created)), "skipped": .int(Int64(summary.skipped)),
                    "updated": .int(Int64(summary.updated)),
                ]
            },
            RPCMethod(
                name: "exportData",
                summary: "Writes what the caller may read, or what a query selects, as an ICAT data file.",
                params: [
                    sessionId, format,
                    RPCParameter("query", Schema.string, required: false, description: "What to export; all if absent"),
                    attributes,
                ],
                result: Schema.string
            ) { params, _ in
                .string(
                    try await catalog.exportData(
                        sessionId: try params.string("sessionId"),
                        format: try option(params, "format", default: nil),
                        query: try params.optionalString("query"),
                        attributes: try option(params, "attributes", default: .user)
                    )
                )
            },
            RPCMethod(
                name: "search",
                summary: "What a query in ICAT's language finds.",
                params: [
                    sessionId,
                    RPCParameter(
                        "query",
                        Schema.string,
                        description:
                            "JPQL form (SELECT ds FROM Dataset ds WHERE ...) or concise form (Dataset [name='x'])"
                    ),
                ],
                result: ["type": "array"]
            ) { params, _ in
                try await catalog.search(sessionId: try params.string("sessionId"), query: try params.string("query"))
            },
            RPCMethod(
                name: "get",
                summary: "One object by id, with what the query's INCLUDE names.",
                params: [
                    sessionId,
                    RPCParameter("query", Schema.string, description: "e.g. 'Dataset ds INCLUDE ds.datafiles'"),
                    RPCParameter("id", Schema.integer),
                ],
                result: Schema.entity
            ) { params, _ in
                try await catalog.get(
                    sessionId: try params.string("sessionId"),
                    query: try params.string("query"),
                    id: try params.int64("id")
                )
            },
            RPCMethod(
                name: "update",
                summary: "Sets the given fields of the object the entity's id names.",
                params: [sessionId, entity],
                result: Schema.null
            ) { params, _ in
                try await catalog.update(sessionId: try params.string("sessionId"), entity: try params.json("entity"))
                return .null
            },
            RPCMethod(
                name: "delete",
                summary: "Deletes an object and what cascades from it.",
                params: [sessionId, entity],
                result: Schema.null
            ) { params, _ in
                try await catalog.delete(sessionId: try params.string("sessionId"), entity: try params.json("entity"))
                return .null
            },
            RPCMethod(
                name: "deleteMany",
                summary: "Deletes objects in one transaction.",
                params: [sessionId, entities],
                result: Schema.null
            ) { params, _ in
                try await catalog.deleteMany(
                    sessionId: try params.string("sessionId"),
                    entities: try params.array("entities")
                )
                return .null
            },
            RPCMethod(
                name: "cloneEntity",
                summary: "Copies an object and its descendants, setting keys on the copy.",
                params: [
                    sessionId, RPCParameter("name", Schema.string), RPCParameter("id", Schema.integer),
                    RPCParameter("keys", ["type": "object"], required: false, description: "Field values of the copy"),
                ],
                result: Schema.integer
            ) { params, _ in
                .int(
                    try await catalog.cloneEntity(
                        sessionId: try params.string("sessionId"),
                        name: try params.string("name"),
                        id: try params.int64("id"),
                        keys: params.members["keys"]?.objectValue ?? [:]
                    )
                )
            },
        ]
    }

    /// JSON Schemas used in the method descriptions.
    enum Schema {
        static let string: JSON = ["type": "string"]
        static let integer: JSON = ["type": "integer"]
        static let number: JSON = ["type": "number"]
        static let null: JSON = ["type": "null"]
        static let entity: JSON = [
            "type": "object", "minProperties": 1, "maxProperties": 1,
            "description": "{\"EntityName\": {field: value, ...}}",
        ]
    }
}
