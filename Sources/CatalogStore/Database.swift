import CatalogSQL
import Logging

/// A connection, or a transaction on one, through which statements run.
public protocol DatabaseConnection: Sendable {
    var dialect: SQLDialect { get }
    /// Runs a statement and returns its rows.
    func query(_ statement: SQLStatement) async throws(DatabaseError) -> [SQLRow]
    /// Runs a statement whose rows are not needed.
    func execute(_ statement: SQLStatement) async throws(DatabaseError)
    /// Takes `count` new ids from `table`'s id sequence, for rows that `bulkInsert` then writes with explicit ids.
    /// No other writer is given these ids, whether or not they are used.
    func reserveIds(in table: String, count: Int) async throws(DatabaseError) -> [Int64]
    /// Writes `rows` (values in the order of `columns`) into `table` at once: `COPY FROM STDIN` on PostgreSQL,
    /// multi-row `INSERT` statements on SQLite. Constraints are checked as for single inserts; a violation fails
    /// the whole call without saying which row.
    func bulkInsert(into table: String, columns: [String], rows: [[SQLValue]]) async throws(DatabaseError)
}

/// One database the catalog keeps its data in: PostgreSQL or SQLite, behind the same small interface.
public protocol Database: Sendable {
    var dialect: SQLDialect { get }
    /// Runs `body` on a connection outside any transaction (each statement commits on its own).
    func withConnection<R: Sendable>(_ body: @Sendable (any DatabaseConnection) async throws -> R) async throws -> R
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func withTransaction<R: Sendable>(_ body: @Sendable (any DatabaseConnection) async throws -> R) async throws -> R
    /// Closes every connection. The database is unusable afterwards.
    func close() async
}

/// A failure reported by a database, classified so that the catalog can say what went wrong.
public struct DatabaseError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A unique constraint was violated; `constraint` names it when the database says (PostgreSQL),
        /// `columns` lists its columns when the database says (SQLite).
        case uniqueViolation(constraint: String?, columns: [String])
        /// A foreign key points to nothing; `constraint` names it when the database says.
        case foreignKeyViolation(constraint: String?)
        case notNullViolation(column: String?)
        /// The database could not be reached or the connection broke.
        case unavailable
        /// The statement is over one of the database's limits (values bound to one statement, depth of an
        /// expression, ...): the input that made it is too large. `message` names the limit.
        case limitExceeded
        /// Anything else: a bug in the SQL we generated, or a problem of the server.
        case other
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// A statement binding `count` values where `database` takes at most `maximum` in one statement.
    static func tooManyValues(_ count: Int, maximum: Int, database: String) -> DatabaseError {
        DatabaseError(
            .limitExceeded,
            "\(count) values bound to one SQL statement, more than \(database)'s limit of \(maximum)"
        )
    }
}

/// Opens the database a URL names: `sqlite:PATH` (or `sqlite::memory:`) or `postgres://user:pass@host:port/db`.
public enum DatabaseOpener {
    public static func open(url: String, logger: Logger) async throws -> any Database {
        if url.hasPrefix("sqlite:") {
            return try SQLiteDatabase(path: String(url.dropFirst("sqlite:".count)), logger: logger)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try await PostgresDatabase(url: url, logger: logger)
        }
        throw DatabaseError(
            .other,
            "unsupported database URL '\(url)': use sqlite:PATH or postgres://user:pass@host:port/db"
        )
    }
}
