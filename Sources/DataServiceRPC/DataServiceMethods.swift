import DataService
import JSONRPC
import JSONValue

/// The data service's calls that carry no bytes, as JSON-RPC methods `ids.<name>`: IDS's parameters (ids as arrays
/// of numbers) and result shapes, with IDS's errors mapped once, here, to the catalog's JSON-RPC codes.
public enum DataServiceMethods {
    /// The JSON-RPC error of an IDS error: the contract's code and `data: {type, offset}` as catalog errors have.
    public static func rpcError(_ error: IDSError) -> RPCError {
        let (code, type): (Int, String) =
            switch error.code {
            case .badRequest: (-32001, "BAD_PARAMETER")
            case .insufficientPrivileges: (-32002, "INSUFFICIENT_PRIVILEGES")
            case .notFound: (-32003, "NO_SUCH_OBJECT_FOUND")
            case .notImplemented: (-32008, "NOT_IMPLEMENTED")
            case .dataNotOnline: (-32009, "DATA_NOT_ONLINE")
            case .internal, .insufficientStorage: (-32007, "INTERNAL")
            }
        return RPCError(code: code, message: error.message, data: ["type": .string(type), "offset": -1])
    }

    public static func all(_ service: DataService) -> [RPCMethod] {
        let sessionId = RPCParameter("sessionId", string, description: "A session id from login")
        let selection = [
            RPCParameter("investigationIds", ids, required: false),
            RPCParameter("datasetIds", ids, required: false),
            RPCParameter("datafileIds", ids, required: false),
        ]
        let optionalSession = RPCParameter(
            "sessionId",
            string,
            required: false,
            description: "A session id, with a selection; or give preparedId"
        )
        let preparedId = RPCParameter("preparedId", string, required: false, description: "From ids.prepareData")
        let request = [optionalSession, preparedId] + selection
        let flags = [RPCParameter("zip", boolean, required: false), RPCParameter("compress", boolean, required: false)]
        return [
            method("ping", "Answers IdsOK.", [], string) { _ in "IdsOK" },
            method("version", "The IDS version this service implements.", [], ["type": "object"]) { _ in
                ["version": .string(DataService.version)]
            },
            method("isReadOnly", "Whether the service refuses writes (never).", [], boolean) { _ in false },
            method("isTwoLevel", "Whether an archive tier is configured.", [], boolean) { _ in
                .bool(service.isTwoLevel)
            },
            method("getIcatUrl", "The catalog's URL, when configured (storage.icatUrl); else null.", [], string) { _ in
                service.configuration.icatURL.map(JSON.string) ?? .null
            },
            method("getServiceStatus", "Queued tier moves and failures; root only.", [sessionId], ["type": "object"]) {
                try await service.serviceStatus(sessionId: try $0.string("sessionId"))
            },
            method("getSize", "The total fileSize of the selection.", request, integer) {
                .int(try await service.size(try dataRequest($0)))
            },
            method("getStatus", "ONLINE, ARCHIVED or RESTORING.", request, string) {
                .string(try await service.status(try dataRequest($0)).rawValue)
            },
            method("getDatafileIds", "The datafiles of the selection.", request, ["type": "object"]) {
                let found = try await service.datafileIds(try dataRequest($0))
                return [
                    "zip": .bool(found.zip), "compress": .bool(found.compress), "ids": .array(found.ids.map(JSON.int)),
                ]
            },
            method(
                "prepareData",
                "Keeps a selection for later downloads; returns its preparedId.",
                [sessionId] + selection + flags,
                string
            ) {
                .string(
                    try await service.prepareData(
                        sessionId: try $0.string("sessionId"),
                        selection: try dataSelection($0),
                        zip: try $0.optionalBool("zip") ?? false,
                        compress: try $0.optionalBool("compress") ?? false
                    )
                )
            },
            method("isPrepared", "Whether a prepared selection can be downloaded now.", [preparedId], boolean) {
                .bool(try await service.isPrepared(try $0.string("preparedId")))
            },
            method("delete", "Deletes the selection's datafiles and their bytes.", [sessionId] + selection, null) {
                try await service.delete(sessionId: try $0.string("sessionId"), selection: try dataSelection($0))
                return .null
            },
            method("archive", "Moves the selection's datasets to the archive tier.", [sessionId] + selection, null) {
                try await service.archive(sessionId: try $0.string("sessionId"), selection: try dataSelection($0))
                return .null
            },
            method("restore", "Brings the selection's datasets back online.", [sessionId] + selection, null) {
                try await service.restore(sessionId: try $0.string("sessionId"), selection: try dataSelection($0))
                return .null
            },
            method("write", "Copies the selection's data to the archive tier.", [sessionId] + selection, null) {
                try await service.write(sessionId: try $0.string("sessionId"), selection: try dataSelection($0))
                return .null
            },
            method("reset", "Forgets the failures of the selection's datasets.", request, null) {
                try await service.reset(try dataRequest($0))
                return .null
            },
            method("getLink", "Not offered: IDS deprecated it.", [sessionId], null) { _ in
                throw IDSError(.notImplemented, "getLink is not offered: IDS deprecated it; use getData")
            },
        ]
    }

    private static let string: JSON = ["type": "string"]
    private static let integer: JSON = ["type": "integer"]
    private static let boolean: JSON = ["type": "boolean"]
    private static let null: JSON = ["type": "null"]
    private static let ids: JSON = ["type": "array", "items": ["type": "integer", "minimum": 0]]

    private static func method(
        _ name: String,
        _ summary: String,
        _ params: [RPCParameter],
        _ result: JSON,
        _ body: @escaping @Sendable (RPCParams) async throws -> JSON
    ) -> RPCMethod {
        RPCMethod(name: "ids.\(name)", summary: summary, params: params, result: result) { params, _ in
            do {
                return try await body(params)
            } catch let error as IDSError {
                throw rpcError(error)
            }
        }
    }

    private static func dataSelection(_ params: RPCParams) throws -> DataSelection {
        func ids(_ name: String) throws -> [Int64] {
            guard let value = params.members[name], !value.isNull else { return [] }
            guard let array = value.arrayValue else {
                throw RPCError.invalidParams("Parameter '\(name)' must be an array of ids")
            }
            return try array.map { element in
                guard let id = element.int64Value, id >= 0 else {
                    throw RPCError.invalidParams("Parameter '\(name)' must be an array of ids, not \(value.serialized)")
                }
                return id
            }
        }
        return DataSelection(
            investigationIds: try ids("investigationIds"),
            datasetIds: try ids("datasetIds"),
            datafileIds: try ids("datafileIds")
        )
    }

    private static func dataRequest(_ params: RPCParams) throws -> DataRequest {
        if let prepared = try params.optionalString("preparedId") {
            guard params.members["sessionId"] == nil else {
                throw IDSError(.badRequest, "Give either preparedId or sessionId with a selection, not both")
            }
            return .prepared(prepared)
        }
        return .selection(sessionId: try params.string("sessionId"), try dataSelection(params))
    }
}
