/// The kinds of catalog error, with ICAT's names. Clients see the name as `data.type`.
public enum CatalogErrorType: String, Sendable, CaseIterable {
    case badParameter = "BAD_PARAMETER"
    case insufficientPrivileges = "INSUFFICIENT_PRIVILEGES"
    case noSuchObjectFound = "NO_SUCH_OBJECT_FOUND"
    case objectAlreadyExists = "OBJECT_ALREADY_EXISTS"
    case session = "SESSION"
    case validation = "VALIDATION"
    case `internal` = "INTERNAL"
    case notImplemented = "NOT_IMPLEMENTED"
}

/// The one error type of the catalog: a kind, a message a person can act on, and for batch calls the index of
/// the failing item (`offset`, else -1).
public struct CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    public var type: CatalogErrorType
    public var message: String
    public var offset: Int

    public init(_ type: CatalogErrorType, _ message: String, offset: Int = -1) {
        self.type = type
        self.message = message
        self.offset = offset
    }

    /// The same error placed at item `offset` of a batch.
    public func at(offset: Int) -> CatalogError {
        CatalogError(type, message, offset: offset)
    }

    public var description: String { "\(type.rawValue): \(message)" }

    static func badParameter(_ message: String) -> CatalogError { CatalogError(.badParameter, message) }
    static func validation(_ message: String) -> CatalogError { CatalogError(.validation, message) }
    static func notFound(_ entity: String, _ id: Int64) -> CatalogError {
        CatalogError(.noSuchObjectFound, "\(entity)[id:\(id)] not found.")
    }
}
