import CatalogSQL
import CatalogStore
import Foundation
import Testing

/// The PostgreSQL driver keeps statements it runs again prepared on each connection (SQLite's driver caches its
/// compiled statements through GRDB). These prove that a prepared run reads and answers like an unprepared one, that
/// no more than the configured number stay prepared, and that a failure does not stick.
@Suite("Prepared statements on PostgreSQL")
struct PostgresStatementTests {
    static func sql(_ fragment: SQLFragment) -> SQLStatement {
        fragment.statement(.postgresql)
    }

    static let preparedCount = ("SELECT count(*) FROM pg_prepared_statements" as SQLFragment).statement(.postgresql)

    /// Runs `body` on the one connection of a fresh database's pool, which keeps `preparedStatements` prepared
    /// (the default when nil).
    static func onOneConnection(
        preparedStatements: Int? = nil,
        _ body: @Sendable (any DatabaseConnection) async throws -> Void
    ) async throws {
        let options = "maxConnections=1" + (preparedStatements.map { "&preparedStatements=\($0)" } ?? "")
        try await TestCatalog.withFreshDatabase(.postgresql, postgresOptions: options) { database in
            try await database.withConnection(body)
        }
    }

    @Test func everyValueTypeReadsTheSameOnceTheStatementIsPrepared() async throws {
        try await Self.onOneConnection { connection in
            let moment = Date(timeIntervalSince1970: 1_300_000_000.125)
            for run in 0..<4 {
                let values: [SQLValue] = [
                    .integer(Int64(run) - 7), .double(2.5 * Double(run)), .text("run \(run) ü"),
                    .boolean(run % 2 == 0), .timestamp(moment.addingTimeInterval(Double(run))),
                ]
                let rows = try await connection.query(
                    Self.sql(
                        """
                        SELECT \(values[0]), \(values[1]), \(values[2]), \(values[3]), \(values[4]), \
                        CAST(\(SQLValue.null) AS text), \(values[0]) + 1
                        """
                    )
                )
                #expect(Array(rows[0].values.prefix(5)) == values, "run \(run)")
                #expect(rows[0][5].isNull)
                #expect(rows[0][6] == .integer(Int64(run) - 6))
            }
            // Seen twice: prepared from the second run on.
            #expect(try await connection.query(Self.preparedCount)[0][0].int64Value ?? 0 >= 1)
        }
    }

    @Test func noMoreStatementsStayPreparedThanTheConnectionKeeps() async throws {
        try await Self.onOneConnection(preparedStatements: 2) { connection in
            for round in 0..<3 {
                for offset in 1...5 {
                    let rows = try await connection.query(
                        Self.sql("SELECT \(Int64(round * 10)) + \(unescaped: String(offset))")
                    )
                    #expect(rows[0][0] == .integer(Int64(round * 10 + offset)))
                    let prepared = try await connection.query(Self.preparedCount)[0][0].int64Value ?? -1
                    #expect((0...2).contains(prepared), "round \(round), statement \(offset): \(prepared) prepared")
                }
            }
        }
    }

    @Test func withNoStatementsToKeepNothingIsPrepared() async throws {
        try await Self.onOneConnection(preparedStatements: 0) { connection in
            for run in 0..<4 {
                let rows = try await connection.query(Self.sql("SELECT \(Int64(run)) * 2"))
                #expect(rows[0][0] == .integer(Int64(run * 2)))
            }
            let prepared = try await connection.query(Self.preparedCount)
            #expect(prepared[0][0] == .integer(0))
        }
    }

    @Test func failingRunsLeaveNoStatementsBehind() async throws {
        try await Self.onOneConnection(preparedStatements: 4) { connection in
            try await connection.execute(("CREATE TABLE once (a int8 UNIQUE)" as SQLFragment).statement(.postgresql))
            for run in 0..<20 {
                let divisor = Int64(run % 2)
                if divisor == 0 {
                    await #expect(throws: DatabaseError.self) {
                        try await connection.query(Self.sql("SELECT 100 / \(divisor)"))
                    }
                } else {
                    #expect(
                        try await connection.query(Self.sql("SELECT 100 / \(divisor)"))[0][0]
                            == .integer(100)
                    )
                }
                let insert = Self.sql("INSERT INTO once (a) VALUES (\(Int64(run % 3)))")
                if run < 3 {
                    try await connection.execute(insert)
                } else {
                    await #expect(throws: DatabaseError.self) { try await connection.execute(insert) }
                }
            }
            #expect(try await connection.query(Self.preparedCount)[0][0].int64Value ?? 99 <= 4)
        }
    }

    @Test func aFailedRunIsReportedAndTheNextRunSucceeds() async throws {
        try await Self.onOneConnection { connection in
            let divide = { (divisor: Int64) in Self.sql("SELECT 100 / \(divisor)") }
            for _ in 0..<3 { _ = try await connection.query(divide(4)) }
            await #expect(throws: DatabaseError.self) { try await connection.query(divide(0)) }
            #expect(try await connection.query(divide(5))[0][0] == .integer(20))

            // A table that changes shape under a prepared statement: PostgreSQL refuses the old plan once, the
            // statement is forgotten, and the next run prepares it again.
            try await connection.execute(("CREATE TABLE shape (a int8)" as SQLFragment).statement(.postgresql))
            try await connection.execute(Self.sql("INSERT INTO shape (a) VALUES (\(Int64(1)))"))
            let everything = ("SELECT * FROM shape" as SQLFragment).statement(.postgresql)
            for _ in 0..<3 { #expect(try await connection.query(everything)[0].values == [.integer(1)]) }
            try await connection.execute(("ALTER TABLE shape ADD COLUMN b int8" as SQLFragment).statement(.postgresql))
            await #expect(throws: DatabaseError.self) { try await connection.query(everything) }
            #expect(try await connection.query(everything)[0].values == [.integer(1), .null])
        }
    }

    @Test func connectionsRunWithoutJIT() async throws {
        try await TestCatalog.withFreshDatabase(.postgresql) { database in
            let setting = try await database.withConnection { connection in
                try await connection.query(("SHOW jit" as SQLFragment).statement(.postgresql))
            }
            #expect(setting[0][0] == .text("off"))
        }
    }
}
