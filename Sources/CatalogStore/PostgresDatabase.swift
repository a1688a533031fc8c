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
    let statements: PostgresStatementCache
    private let runTask: Task<Void, Never>

    /// Opens a pool for `postgres://user:password@host:port/database`; `?maxConnections=N` sizes the pool,
    /// `?preparedStatements=N` the number of statements each connection keeps prepared (0: none).
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
        // A catalog's statements are short, but a rule-restricted one has a high estimated cost, over JIT's
        // threshold: compiling it took 33 ms of a 35 ms count (Tools/bench-authz.sh). Without JIT it took 4 ms.
        configuration.options.additionalStartupParameters = [("jit", "off")]
        let prepared = components.queryItems?.first(where: { $0.name == "preparedStatements" })?.value
        self.statements = PostgresStatementCache(capacity: prepared.flatMap(Int.init) ?? 128)
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
                try await body(PostgresConnectionHandle(connection: connection, statements: statements, logger: logger))
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
                try await body(PostgresConnectionHandle(connection: connection, statements: statements, logger: logger))
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
    let statements: PostgresStatementCache
    let logger: Logger
    var dialect: SQLDialect { .postgresql }

    func query(_ statement: SQLStatement) async throws(DatabaseError) -> [SQLRow] {
        try Self.checkValueCount(statement)
        do {
            var result: [SQLRow] = []
            if let rows = try await runPrepared(statement) {
                result.reserveCapacity(rows.count)
                for row in rows { result.append(try Self.row(row, inBinary: true)) }
                return result
            }
            for try await row in try await connection.query(Self.postgresQuery(statement), logger: logger) {
                result.append(try Self.row(row))
            }
            return result
        } catch {
            throw classify(error)
        }
    }

    func execute(_ statement: SQLStatement) async throws(DatabaseError) {
        try Self.checkValueCount(statement)
        do {
            if try await runPrepared(statement) != nil { return }
            // The server's error arrives with the rows: they must be read for a failure to show.
            for try await _ in try await connection.query(Self.postgresQuery(statement), logger: logger) {}
        } catch {
            throw classify(error)
        }
    }

    /// The most values one statement may bind: the protocol counts them in 16 bits.
    static let maximumBoundValues = Int(UInt16.max)

    /// Refuses a statement with more bound values than PostgreSQL takes, before it reaches the server.
    static func checkValueCount(_ statement: SQLStatement) throws(DatabaseError) {
        if statement.binds.count > maximumBoundValues {
            throw .tooManyValues(statement.binds.count, maximum: maximumBoundValues, database: "PostgreSQL")
        }
    }

    /// An error of a statement on this connection: whatever it is, the database is unavailable when the
    /// connection has closed.
    private func classify(_ error: any Error) -> DatabaseError {
        let classified = Self.classify(error)
        if classified.kind == .other, connection.isClosed { return DatabaseError(.unavailable, classified.message) }
        return classified
    }

    /// The rows of `statement` run as a named prepared statement, or nil when the cache says to run it unnamed.
    private func runPrepared(_ statement: SQLStatement) async throws -> [PostgresRow]? {
        let prepared: PreparedQuery
        switch statements.decide(statement.text, on: connection) {
        case .runUnnamed:
            return nil
        case .run(let query):
            prepared = query
        case .prepare:
            prepared = try await connection.prepare(query: statement.text).get()
            for evicted in statements.remember(prepared, for: statement.text, on: connection) {
                await close(evicted)
            }
        }
        do {
            return try await prepared.execute(statement.binds.map(Self.data)).get()
        } catch {
            if PostgresStatementCache.isBroken(sqlState: Self.serverFields(of: error)?.sqlState),
                let broken = statements.forget(statement.text, on: connection)
            {
                await close(broken)
            }
            throw error
        }
    }

    /// Closes a prepared statement on the server; a failure only costs the server some memory until the
    /// connection closes, so it is logged, not thrown.
    private func close(_ statement: PreparedQuery) async {
        do {
            try await statement.deallocate().get()
        } catch {
            logger.warning("closing a prepared statement failed: \(String(reflecting: error))")
        }
    }

    /// A row as values. `inBinary`: every cell is in binary format, whatever it says. PostgresNIO 1.33 asks for
    /// a prepared statement's rows in binary but describes them with the text formats of the statement's
    /// description.
    static func row(_ row: PostgresRow, inBinary: Bool = false) throws -> SQLRow {
        var values: [SQLValue] = []
        values.reserveCapacity(row.count)
        for cell in row {
            if inBinary, cell.format != .binary {
                let binary = PostgresCell(
                    bytes: cell.bytes,
                    dataType: cell.dataType,
                    format: .binary,
                    columnName: cell.columnName,
                    columnIndex: cell.columnIndex
                )
                values.append(try value(of: binary))
            } else {
                values.append(try value(of: cell))
            }
        }
        return SQLRow(values)
    }

    /// A value as the legacy prepared-statement interface takes it, in the type `SQLStatement` casts it to.
    static func data(_ value: SQLValue) -> PostgresData {
        switch value {
        case .null: PostgresData(type: .null, value: nil)
        case .integer(let i): PostgresData(int64: i)
        case .double(let d): PostgresData(double: d)
        case .text(let s): PostgresData(string: s)
        case .boolean(let b): PostgresData(bool: b)
        case .timestamp(let date): PostgresData(date: date)
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

    /// A driver error as a `DatabaseError`. The prepared-statement interface reports server errors as the older
    /// `PostgresError`, with the same fields.
    static func classify(_ error: any Error) -> DatabaseError {
        if let error = error as? DatabaseError { return error }
        guard let fields = serverFields(of: error) else {
            switch error {
            case PostgresError.connectionClosed, PostgresError.protocol:
                return DatabaseError(.unavailable, String(reflecting: error))
            case is PSQLError: return DatabaseError(.unavailable, String(reflecting: error))
            default: return DatabaseError(.other, String(reflecting: error))
            }
        }
        let text = fields.message ?? String(reflecting: error)
        if fields.sqlState?.hasPrefix("54") == true {
            // Class 54, program limit exceeded: "stack depth limit exceeded", "target lists can have at most ...".
            return DatabaseError(.limitExceeded, "PostgreSQL: \(text)")
        }
        switch fields.sqlState {
        case "23505": return DatabaseError(.uniqueViolation(constraint: fields.constraint, columns: []), text)
        case "23503": return DatabaseError(.foreignKeyViolation(constraint: fields.constraint), text)
        case "23502": return DatabaseError(.notNullViolation(column: fields.column), text)
        default: return DatabaseError(.other, text)
        }
    }

    /// What the server said about an error, when it came from the server. The prepared-statement interface
    /// reports server errors as the older `PostgresError`, with the same fields.
    static func serverFields(
        of error: any Error
    ) -> (sqlState: String?, message: String?, constraint: String?, column: String?)? {
        switch error {
        case let error as PSQLError:
            guard let info = error.serverInfo else { return nil }
            return (info[.sqlState], info[.message], info[.constraintName], info[.columnName])
        case PostgresError.server(let info):
            let fields = info.fields
            return (fields[.sqlState], fields[.message], fields[.constraintName], fields[.columnName])
        default:
            return nil
        }
    }
}
