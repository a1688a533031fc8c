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
        var sql = SQLFragment("SELECT ")
        sql.append(entity.columns.map { "o." + dialect.quote($0.column!) }.joined(separator: ", "))
        sql.append(" FROM \(dialect.quote(entity.table)) o WHERE o.\(dialect.quote(column))")
        if values.count == 1 {
            sql.append(" = ")
            sql.bind(.integer(values[0]))
        } else {
            sql.append(" IN (")
            for (index, value) in values.enumerated() {
                if index > 0 { sql.append(", ") }
                sql.bind(.integer(value))
            }
            sql.append(")")
        }
        if let condition {
            sql.append(" AND ")
            sql.append(condition)
        }
        sql.append(" ORDER BY o.\(dialect.quote("id"))")
        return sql.statement(dialect)
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
        var sql = SQLFragment("SELECT ")
        sql.append(entity.columns.map { "o." + dialect.quote($0.column!) }.joined(separator: ", "))
        sql.append(" FROM \(dialect.quote(entity.table)) o WHERE o.\(dialect.quote("id")) > ")
        sql.bind(.integer(after))
        if let condition {
            sql.append(" AND ")
            sql.append(condition)
        }
        sql.append(" ORDER BY o.\(dialect.quote("id")) LIMIT ")
        sql.bind(.integer(Int64(limit)))
        return try await connection.query(sql.statement(dialect)).map(object(from:))
    }

    /// `INSERT INTO t (...) VALUES (...) RETURNING id` for the given column values (by field name).
    func insert(_ values: [String: SQLValue]) -> SQLStatement {
        let fields = entity.columns.filter { values[$0.name] != nil }
        var statement = SQLStatement(dialect, "INSERT INTO \(dialect.quote(entity.table)) (")
        statement.append(fields.map { dialect.quote($0.column!) }.joined(separator: ", "))
        statement.append(") VALUES (")
        statement.bindList(fields.map { values[$0.name]! })
        statement.append(") RETURNING \(dialect.quote("id"))")
        return statement
    }

    /// `UPDATE t SET ... WHERE id = ?`.
    func update(id: Int64, _ values: [String: SQLValue]) -> SQLStatement {
        let fields = entity.columns.filter { values[$0.name] != nil }
        var statement = SQLStatement(dialect, "UPDATE \(dialect.quote(entity.table)) SET ")
        for (index, field) in fields.enumerated() {
            if index > 0 { statement.append(", ") }
            statement.append("\(dialect.quote(field.column!)) = ")
            statement.bind(values[field.name]!)
        }
        statement.append(" WHERE \(dialect.quote("id")) = ")
        statement.bind(.integer(id))
        return statement
    }

    /// `DELETE FROM t WHERE id = ? RETURNING id`: no row back means there was nothing to delete.
    func delete(id: Int64) -> SQLStatement {
        var statement = SQLStatement(
            dialect,
            "DELETE FROM \(dialect.quote(entity.table)) WHERE \(dialect.quote("id")) = "
        )
        statement.bind(.integer(id))
        statement.append(" RETURNING \(dialect.quote("id"))")
        return statement
    }

    /// `SELECT id FROM t WHERE id = ?`.
    func exists(id: Int64) -> SQLStatement {
        var statement = SQLStatement(
            dialect,
            "SELECT \(dialect.quote("id")) FROM \(dialect.quote(entity.table)) WHERE "
        )
        statement.append("\(dialect.quote("id")) = ")
        statement.bind(.integer(id))
        return statement
    }
}
