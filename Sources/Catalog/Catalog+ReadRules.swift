import CatalogSQL
import CatalogStore
import JSONValue

/// What a caller may read, as SQL conditions on the catalog's tables: for modules that write their own statements
/// over those tables (provenance's recursive walks) and must apply the same READ rules as `search`, in the same
/// statement.
public struct ReadRules: Sendable {
    let caller: Caller

    public var userName: String { caller.userName }
    public var isRoot: Bool { caller.isRoot }

    /// The condition that the row of `entity` (by its name) aliased `alias` may be read; nil when every row may.
    /// Write the statement with `statement(dialect, userName: userName)`: rules may name the caller.
    public func condition(for entity: String, alias: String) -> SQLFragment? {
        caller.condition(.read, of: entity, alias: alias)
    }
}

extension Catalog {
    /// Runs `body` with the caller's READ rules and a connection, in the caller's turn at the database; errors
    /// other than the catalog's are reported as `INTERNAL`, as every operation's are.
    public func withReadRules<R: Sendable>(
        sessionId: String,
        _ body: @Sendable (ReadRules, any DatabaseConnection) async throws -> R
    ) async throws(CatalogError) -> R {
        let caller = try await caller(sessionId: sessionId)
        return try await perform(as: caller) {
            try await database.withConnection { connection in try await body(ReadRules(caller: caller), connection) }
        }
    }

    /// Fails as `get` would when the object does not exist (`NO_SUCH_OBJECT_FOUND`) or the caller may not read it
    /// (`INSUFFICIENT_PRIVILEGES`).
    public func requireReadable(sessionId: String, entity: String, id: Int64) async throws(CatalogError) {
        let readable = try await isAccessAllowed(
            sessionId: sessionId,
            entity: [entity: ["id": .int(id)]],
            access: .read
        )
        guard readable else { throw CatalogError.denied(.read, entity) }
        let caller = try await caller(sessionId: sessionId)
        if caller.isRoot {
            guard let definition = model.entity(named: entity) else {
                throw .badParameter("'\(entity)' is not an entity type")
            }
            let exists = try await perform {
                try await database.withConnection { connection in
                    try await writer.exists(definition, id: id, on: connection)
                }
            }
            guard exists else { throw CatalogError.notFound(entity, id) }
        }
    }
}
