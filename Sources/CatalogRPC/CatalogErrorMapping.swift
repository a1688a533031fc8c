import Catalog
import JSONRPC
import JSONValue

extension CatalogErrorType {
    /// The JSON-RPC error code of each catalog error type, as the contract fixes them.
    public var rpcCode: Int {
        switch self {
        case .badParameter: -32001
        case .insufficientPrivileges: -32002
        case .noSuchObjectFound: -32003
        case .objectAlreadyExists: -32004
        case .session: -32005
        case .validation: -32006
        case .internal: -32007
        case .notImplemented: -32008
        }
    }
}

extension RPCError {
    /// The one mapping of catalog errors to JSON-RPC errors: the contract's code, the message, and
    /// `data: {type, offset}`. A reply too large is `VALIDATION`, as a search past `maxEntities` is; anything
    /// else that is not a catalog error is an `INTERNAL` catalog error.
    public static func from(_ error: any Error) -> RPCError {
        let catalogError =
            (error as? CatalogError)
            ?? (error as? ReplyTooLarge).map { CatalogError(.validation, $0.description) }
            ?? CatalogError(.internal, "Unexpected error; the server log has the details")
        return RPCError(
            code: catalogError.type.rpcCode,
            message: catalogError.message,
            data: ["type": .string(catalogError.type.rawValue), "offset": .int(Int64(catalogError.offset))]
        )
    }
}
