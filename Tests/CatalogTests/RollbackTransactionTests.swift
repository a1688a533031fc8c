import CatalogSQL
import CatalogStore
import Testing

/// Transactions that end with a rollback even when their body returns: dry runs that change nothing.
@Suite("Rollback-only transactions")
struct RollbackTransactionTests {
    struct Refusal: Error, Equatable {}

    static func count(_ database: any Database) async throws -> Int64? {
        try await database.withConnection { connection in
            try await connection.query(("SELECT COUNT(*) FROM probe" as SQLFragment).statement(database.dialect))[0][0]
                .int64Value
        }
    }

    static func insert(_ value: Int64, on connection: any DatabaseConnection) async throws {
        let insert: SQLFragment = "INSERT INTO probe (n) VALUES (\(value))"
        try await connection.execute(insert.statement(connection.dialect))
    }

    @Test(arguments: Backend.allCases)
    func rowsWrittenInsideAreGoneAfterwardsAndTheBodysResultIsReturned(_ backend: Backend) async throws {
        try await TestCatalog.withFreshDatabase(backend) { database in
            try await database.withConnection {
                try await $0.execute(("CREATE TABLE probe (n INTEGER)" as SQLFragment).statement(database.dialect))
            }
            let seenInside = try await database.withTransaction(ending: .rollBack) { connection -> Int64? in
                try await Self.insert(1, on: connection)
                try await Self.insert(2, on: connection)
                return try await connection.query(
                    ("SELECT COUNT(*) FROM probe" as SQLFragment).statement(connection.dialect)
                )[0][0]
                .int64Value
            }
            #expect(seenInside == 2)
            #expect(try await Self.count(database) == 0)
            // The connection (SQLite: the writer's turn) is free again, and committing still commits.
            try await database.withTransaction { try await Self.insert(3, on: $0) }
            #expect(try await Self.count(database) == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func anErrorInsideStillPropagatesAndWritesNothing(_ backend: Backend) async throws {
        try await TestCatalog.withFreshDatabase(backend) { database in
            try await database.withConnection {
                try await $0.execute(("CREATE TABLE probe (n INTEGER)" as SQLFragment).statement(database.dialect))
            }
            await #expect(throws: Refusal()) {
                try await database.withTransaction(ending: .rollBack) { connection in
                    try await Self.insert(1, on: connection)
                    throw Refusal()
                }
            }
            #expect(try await Self.count(database) == 0)
            try await database.withTransaction(ending: .rollBack) { try await Self.insert(2, on: $0) }
            #expect(try await Self.count(database) == 0)
        }
    }
}
