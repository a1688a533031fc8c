import Catalog
import DataStore

/// The one error type of the data service: ICAT IDS's exception names, each with the HTTP status IDS gives it.
public struct IDSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// IDS's exception names, as clients see them in the `code` of an error body.
    public enum Code: String, Sendable, CaseIterable {
        case badRequest = "BadRequestException"
        case insufficientPrivileges = "InsufficientPrivilegesException"
        case notFound = "NotFoundException"
        case dataNotOnline = "DataNotOnlineException"
        case `internal` = "InternalException"
        case insufficientStorage = "InsufficientStorageException"
        case notImplemented = "NotImplementedException"

        /// The HTTP status IDS answers with.
        public var httpStatus: Int {
            switch self {
            case .badRequest: 400
            case .insufficientPrivileges: 403
            case .notFound: 404
            case .dataNotOnline: 503
            case .internal: 500
            case .insufficientStorage: 507
            case .notImplemented: 501
            }
        }
    }

    public let code: Code
    public let message: String
    /// Set for a Range past the end of the data: the size of what could have been served (HTTP 416).
    public let unsatisfiableRangeSize: Int64?

    public init(_ code: Code, _ message: String, unsatisfiableRangeSize: Int64? = nil) {
        self.code = code
        self.message = message
        self.unsatisfiableRangeSize = unsatisfiableRangeSize
    }

    public var httpStatus: Int { unsatisfiableRangeSize == nil ? code.httpStatus : 416 }

    public var description: String { "\(code.rawValue): \(message)" }

    /// A catalog error as IDS reports it: a bad or expired session is a lack of privileges, as in ICAT IDS.
    init(_ error: CatalogError) {
        switch error.type {
        case .badParameter, .validation, .objectAlreadyExists: self.init(.badRequest, error.message)
        case .insufficientPrivileges, .session: self.init(.insufficientPrivileges, error.message)
        case .noSuchObjectFound: self.init(.notFound, error.message)
        case .notImplemented: self.init(.notImplemented, error.message)
        case .internal: self.init(.internal, error.message)
        }
    }

    init(_ error: DataStoreError) {
        switch error.kind {
        case .notFound: self.init(.notFound, error.message)
        case .tooLarge(let limit): self.init(.badRequest, "The upload is larger than the \(limit) bytes allowed")
        case .unsatisfiableRange: self.init(.badRequest, error.message)
        case .storage: self.init(.internal, "The data store failed: \(error.message)")
        }
    }
}
