/// The kinds of access a rule can grant, with ICAT's names.
public enum AccessType: String, Sendable, CaseIterable {
    case create = "CREATE"
    case read = "READ"
    case update = "UPDATE"
    case delete = "DELETE"
}

/// Decides who may do what.
///
/// For now root users (`rootUserNames`) may do everything, everyone may read, and nobody else may write; the
/// rule-based authorization replaces the body of `check`, not its callers.
public struct Gatekeeper: Sendable {
    public let rootUserNames: Set<String>

    public init(rootUserNames: Set<String>) {
        self.rootUserNames = rootUserNames
    }

    public func isRoot(_ userName: String) -> Bool {
        rootUserNames.contains(userName)
    }

    /// Whether `userName` may perform `access` on an object of `entity`.
    public func isAllowed(_ access: AccessType, to entity: String, by userName: String) -> Bool {
        access == .read || isRoot(userName)
    }

    /// Throws `INSUFFICIENT_PRIVILEGES` with ICAT's message unless access is allowed.
    public func check(_ access: AccessType, to entity: String, by userName: String) throws(CatalogError) {
        guard isAllowed(access, to: entity, by: userName) else {
            throw CatalogError(.insufficientPrivileges, "\(access.rawValue) access to this \(entity) is not allowed.")
        }
    }
}
