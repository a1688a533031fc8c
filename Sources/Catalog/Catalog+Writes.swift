import CatalogSchema
import CatalogStore
import Foundation
import JSONValue
import Synchronization

/// Several creates and searches in one transaction, each checked as `create` and `search` check them: for modules
/// whose one call writes several objects that refer to each other (provenance's `record`). All or nothing.
public final class CatalogWrites: Sendable {
    let catalog: Catalog
    let caller: Caller
    let connection: any DatabaseConnection
    let now = Date()
    let touched = Mutex<[EntityDefinition]>([])

    init(catalog: Catalog, caller: Caller, connection: any DatabaseConnection) {
        self.catalog = catalog
        self.caller = caller
        self.connection = connection
    }

    public var userName: String { caller.userName }

    /// Creates an object with its children (as `create`), checking the caller's CREATE rules; returns its id.
    public func create(_ entity: JSON) async throws -> Int64 {
        let input = try catalog.codec.decodeWrapped(entity)
        guard caller.mayCreateAny(input.entity) else { throw CatalogError.denied(.create, input.entity.name) }
        touched.withLock { $0.append(input.entity) }
        let id = try await catalog.writer.create(input, user: caller.userName, now: now, on: connection)
        try await caller.check(catalog.accessPlanner.created([(input.entity, id, nil)]), on: connection)
        return id
    }

    /// What a query finds among what the caller may read, this transaction's writes included (as `search`).
    public func search(_ query: String) async throws -> JSON {
        try await catalog.searcher.search(
            query,
            userName: caller.userName,
            restriction: caller.readRestriction,
            caller: caller,
            on: connection
        )
    }
}

extension Catalog {
    /// Runs `body`'s creates and searches in one transaction, in the caller's turn at the database; any error
    /// rolls all of it back.
    public func withWrites<R: Sendable>(
        sessionId: String,
        _ body: @Sendable (CatalogWrites) async throws -> R
    ) async throws(CatalogError) -> R {
        let caller = try await caller(sessionId: sessionId)
        let written = Mutex<[EntityDefinition]>([])
        defer { noteWrites(to: written.withLock { $0 }, cascading: false) }
        return try await perform(as: caller) {
            try await database.withTransaction { connection in
                let writes = CatalogWrites(catalog: self, caller: caller, connection: connection)
                defer { written.withLock { $0 = writes.touched.withLock { $0 } } }
                return try await body(writes)
            }
        }
    }
}
