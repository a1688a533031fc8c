import CatalogSQL
import Foundation
import Logging
import PostgresNIO

/// PostgreSQL through PostgresNIO's pooled client.
///
/// The pool runs in a task owned by this value, started on open and ended by `close()`.
public final class PostgresDatabase: Database {
    public let dialect = SQLDialect.postgresql
    let client: PostgresClient
    let logger: Logger
    private let runTask: Task<Void, Never>

    /// Opens a pool for `postgres://user:password@host:port/database`; `?maxConnections=N` sizes the pool.
    public init(url: String, logger: Logger) async throws {
        guard let components = URLComponents(string: url), let host = components.host else {
            throw DatabaseError(.other, "cannot read the PostgreSQL URL '\(url)'")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        var configuration = PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: database.isEmpty ? nil : database,
            tls: .disable
        )
        if let size = components.queryItems?.first(where: { $0.name == "maxConnections" })?.value.flatMap(Int.init) {
            configuration.options.maximumConnections = size
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.runTask = Task { await client.run() }
        // Give the pool's run task a moment to start: PostgresNIO warns about leases made before it runs.
        try await Task.sleep(for: .milliseconds(2))
        // Fail fast when the server cannot be reached.
        try await withConnection { connection in
            try await connection.execute(SQLStatement(.postgresql, "SELECT 1"))
        }
    }

    public func withConnection<R: Sendable>(
        _ body: @Sendable (any DatabaseConnection) async throws -> R
    ) async throws -> R {
        do {
            return try await client.withConnection { connection in
                try await body(PostgresConnectionHandle(connection: connection, logger: logger))
            }
        } catch let error as PSQLError {
            throw PostgresConnectionHandle.classify(error)
        }
    }

    public func withTransaction<R: Sendable>(
        _ body: @Sendable (any DatabaseConnection) async throws -> R
    ) async throws -> R {
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await body(PostgresConnectionHandle(connection: connection, logger: logger))
            }
        } catch let error as PostgresTransactionError {
            // The body's own error is what the caller needs; a failed rollback after it is only logged.
            if let rollbackError = error.rollbackError {
                logger.error("rollback failed: \(String(reflecting: rollbackError))")
            }
            if let closureError = error.closureError { throw closureError }
            if let beginError = error.beginError as? PSQLError { throw PostgresConnectionHandle.classify(beginError) }
            if let commitError = error.commitError as? PSQLError {
                throw PostgresConnectionHandle.classify(commitError)
            }
            throw DatabaseError(.other, "transaction failed: \(String(reflecting: error))")
        } catch let error as PSQLError {
            throw PostgresConnectionHandle.classify(error)
        }
    }

    public func close() async {
        runTask.cancel()
        await runTask.value
    }
}

/// A leased PostgreSQL connection.
struct PostgresConnectionHandle: DatabaseConnection {
    let connection: PostgresConnection
    let logger: Logger
    var dialect: SQLDialect { .postgresql }

    func query(_ statement: SQLStatement) async throws(DatabaseError) -> [SQLRow] {
        do {
            let rows = try await connection.query(Self.postgresQuery(statement), logger: logger)
            var result: [SQLRow] = []
            for try await row in rows {
                var values: [SQLValue] = []
                values.reserveCapacity(row.count)
                for cell in row {
                    values.append(try Self.value(of: cell))
                }
                result.append(SQLRow(values))
            }
            return result
        } catch let error as PSQLError {
            throw Self.classify(error)
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw DatabaseError(.other, String(reflecting: error))
        }
    }

    func execute(_ statement: SQLStatement) async throws(DatabaseError) {
        do {
            // The server's error arrives with the rows: they must be read for a failure to show.
            for try await _ in try await connection.query(Self.postgresQuery(statement), logger: logger) {}
        } catch let error as PSQLError {
            throw Self.classify(error)
        } catch {
            throw DatabaseError(.other, String(reflecting: error))
        }
    }

    static func postgresQuery(_ statement: SQLStatement) throws -> PostgresQuery {
        var bindings = PostgresBindings(capacity: statement.binds.count)
        for value in statement.binds {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let i): bindings.append(i)
            case .double(let d): bindings.append(d)
            case .text(let s): bindings.append(s)
            case .boolean(let b): bindings.append(b)
            case .timestamp(let date): bindings.append(date)
            }
        }
        return PostgresQuery(unsafeSQL: statement.text, binds: bindings)
    }

    static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8: return .integer(try cell.decode(Int64.self))
        case .int4: return .integer(Int64(try cell.decode(Int32.self)))
        case .int2: return .integer(Int64(try cell.decode(Int16.self)))
        case .float8: return .double(try cell.decode(Double.self))
        case .float4: return .double(Double(try cell.decode(Float.self)))
        case .bool: return .boolean(try cell.decode(Bool.self))
        case .timestamptz, .timestamp: return .timestamp(try cell.decode(Date.self))
        case .numeric:
            let decimal = try cell.decode(Decimal.self)
            let text = "\(decimal)"
            if let integer = Int64(text) { return .integer(integer) }
            return .double(Double(text) ?? NSDecimalNumber(decimal: decimal).doubleValue)
        default: return .text(try cell.decode(String.self))
        }
    }

    static func classify(_ error: PSQLError) -> DatabaseError {
        let message = error.serverInfo?[.message] ?? String(reflecting: error)
        switch error.serverInfo?[.sqlState] {
        case "23505":
            return DatabaseError(.uniqueViolation(constraint: error.serverInfo?[.constraintName], columns: []), message)
        case "23503":
            return DatabaseError(.foreignKeyViolation(constraint: error.serverInfo?[.constraintName]), message)
        case "23502":
            return DatabaseError(.notNullViolation(column: error.serverInfo?[.columnName]), message)
        case .some:
            return DatabaseError(.other, message)
        case .none:
            return DatabaseError(.unavailable, message)
        }
    }
}
