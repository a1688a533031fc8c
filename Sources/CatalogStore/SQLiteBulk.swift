import CatalogSQL
import GRDB

extension SQLiteDatabase {
    /// Moves `table`'s AUTOINCREMENT counter on by `count` and returns the ids passed over. The counter lives in
    /// `sqlite_sequence`, which only gets a row at a table's first insert, so the row is made first if needed.
    static func reserveIds(_ db: GRDB.Database, in table: String, count: Int) throws -> [Int64] {
        guard count > 0 else { return [] }
        let highest: SQLFragment = "COALESCE((SELECT MAX(\"id\") FROM \(identifier: table)), 0)"
        let insert: SQLFragment = """
            INSERT INTO sqlite_sequence (name, seq) SELECT \(table), \(highest) \
            WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = \(table))
            """
        try execute(db, insert.statement(.sqlite))
        let update: SQLFragment = """
            UPDATE sqlite_sequence SET seq = MAX(seq, \(highest)) + \(Int64(count)) WHERE name = \(table) RETURNING seq
            """
        guard let last = try rows(db, update.statement(.sqlite)).first?[0].int64Value else {
            throw DatabaseError(.other, "no sqlite_sequence row for \(table)")
        }
        return Array((last - Int64(count) + 1)...last)
    }

    /// Multi-row INSERTs of as many rows as SQLite's bound-variable limit allows, through one cached statement.
    static func bulkInsert(_ db: GRDB.Database, into table: String, columns: [String], rows: [[SQLValue]]) throws {
        guard !rows.isEmpty, !columns.isEmpty else { return }
        let rowsPerStatement = max(1, min(500, 32_000 / columns.count))
        let head: SQLFragment = "INSERT INTO \(identifier: table) (\(identifiers: columns)) VALUES "
        var start = 0
        while start < rows.count {
            let end = min(start + rowsPerStatement, rows.count)
            let sql = head + rows[start..<end].map { "(\(list: $0))" as SQLFragment }.joined()
            let insert = sql.statement(.sqlite)
            // Full chunks share one cached statement; the one shorter remainder is not worth caching.
            let statement =
                end - start == rowsPerStatement
                ? try db.cachedStatement(sql: insert.text) : try db.makeStatement(sql: insert.text)
            try statement.execute(arguments: arguments(insert.binds))
            start = end
        }
    }
}

extension SQLiteTransactionConnection {
    func reserveIds(in table: String, count: Int) async throws(DatabaseError) -> [Int64] {
        try await database.run { db in try SQLiteDatabase.reserveIds(db, in: table, count: count) }
    }

    func bulkInsert(into table: String, columns: [String], rows: [[SQLValue]]) async throws(DatabaseError) {
        try await database.run { db in
            try SQLiteDatabase.bulkInsert(db, into: table, columns: columns, rows: rows)
        }
    }
}

extension SQLiteAutocommitConnection {
    func reserveIds(in table: String, count: Int) async throws(DatabaseError) -> [Int64] {
        try await database.write { db in try SQLiteDatabase.reserveIds(db, in: table, count: count) }
    }

    /// Outside a transaction the rows are written in one, so that a failure leaves none of them.
    func bulkInsert(into table: String, columns: [String], rows: [[SQLValue]]) async throws(DatabaseError) {
        try await database.write { db in
            try db.inTransaction {
                try SQLiteDatabase.bulkInsert(db, into: table, columns: columns, rows: rows)
                return .commit
            }
        }
    }
}
