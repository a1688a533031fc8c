import CatalogSQL
import CatalogSchema
import CatalogStore

/// The SQL that reads and writes one entity's table. Every value is bound.
struct EntityTable: Sendable {
    let entity: EntityDefinition
    let dialect: SQLDialect

    /// The most values bound in one `IN (...)` list.
    static let maximumListLength = 1000

    /// `SELECT <every column> FROM t o WHERE o.<column> IN (...) [AND condition]`, in id order. The condition
    /// (what the caller may read) refers to the table as `o`.
    func select(where column: String, in values: [Int64], condition: SQLFragment? = nil) -> SQLStatement {
        var sql: SQLFragment = "SELECT \(columns) FROM \(identifier: entity.table) o WHERE o.\(identifier: column)"
        if values.count == 1 {
            sql.append(" = \(values[0])")
        } else {
            sql.append(" IN (\(list: values.map(SQLValue.integer)))")
        }
        if let condition {
            sql.append(" AND \(condition)")
        }
        sql.append(" ORDER BY o.\(identifier: "id")")
        return sql.statement(dialect)
    }

    /// Every column of the table as `o."column"`, in `EntityDefinition.columns` order.
    var columns: SQLFragment {
        entity.columns.map { "o.\(identifier: $0.column!)" as SQLFragment }.joined()
    }

    /// Reads a row selected by `select`.
    func object(from row: SQLRow) -> StoredObject {
        var values: [String: SQLValue] = [:]
        values.reserveCapacity(entity.columns.count)
        for (index, field) in entity.columns.enumerated() where field.name != "id" {
            values[field.name] = row[index]
        }
        return StoredObject(entity: entity, id: row[0].int64Value ?? 0, values: values)
    }

    /// Objects whose `column` is one of `values`, fetched in bounded lists.
    func fetch(
        where column: String,
        in values: [Int64],
        condition: SQLFragment? = nil,
        on connection: any DatabaseConnection
    ) async throws(DatabaseError) -> [StoredObject] {
        var result: [StoredObject] = []
        var start = 0
        let unique = Array(Set(values)).sorted()
        while start < unique.count {
            let chunk = Array(unique[start..<min(start + Self.maximumListLength, unique.count)])
            for row in try await connection.query(select(where: column, in: chunk, condition: condition)) {
                result.append(object(from: row))
            }
            start += Self.maximumListLength
        }
        return result
    }

    /// Up to `limit` objects with ids above `after`, in id order, admitted by `condition` (on alias `o`).
    func page(
        after: Int64,
        limit: Int,
        condition: SQLFragment?,
        on connection: any DatabaseConnection
    ) async throws(DatabaseError) -> [StoredObject] {
        var sql: SQLFragment =
            "SELECT \(columns) FROM \(identifier: entity.table) o WHERE o.\(identifier: "id") > \(after)"
        if let condition {
            sql.append(" AND \(condition)")
        }
        sql.append(" ORDER BY o.\(identifier: "id") LIMIT \(Int64(limit))")
        return try await connection.query(sql.statement(dialect)).map(object(from:))
    }

    /// `INSERT INTO t (...) VALUES (...) RETURNING id` for the given column values (by field name).
    func insert(_ values: [String: SQLValue]) -> SQLStatement {
        let fields = entity.columns.filter { values[$0.name] != nil }
        let sql: SQLFragment = """
            INSERT INTO \(identifier: entity.table) (\(identifiers: fields.map { $0.column! })) \
            VALUES (\(list: fields.map { values[$0.name]! })) RETURNING \(identifier: "id")
            """
        return sql.statement(dialect)
    }

    /// `UPDATE t SET ... WHERE id = ?`.
    func update(id: Int64, _ values: [String: SQLValue]) -> SQLStatement {
        let fields = entity.columns.filter { values[$0.name] != nil }
        let assignments = fields.map { "\(identifier: $0.column!) = \(values[$0.name]!)" as SQLFragment }
        let sql: SQLFragment = """
            UPDATE \(identifier: entity.table) SET \(assignments.joined()) WHERE \(identifier: "id") = \(id)
            """
        return sql.statement(dialect)
    }

    /// `DELETE FROM t WHERE id = ? RETURNING id`: no row back means there was nothing to delete.
    func delete(id: Int64) -> SQLStatement {
        let sql: SQLFragment = """
            DELETE FROM \(identifier: entity.table) WHERE \(identifier: "id") = \(id) RETURNING \(identifier: "id")
            """
        return sql.statement(dialect)
    }

    /// `SELECT id FROM t WHERE id = ?`.
    func exists(id: Int64) -> SQLStatement {
        let sql: SQLFragment = """
            SELECT \(identifier: "id") FROM \(identifier: entity.table) WHERE \(identifier: "id") = \(id)
            """
        return sql.statement(dialect)
    }
}
