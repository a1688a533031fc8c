import CatalogSQL
import Logging
import ServiceLifecycle

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
///
/// Every statement is bounded by `limits.statementTimeout`, and a statement whose task is cancelled is stopped in
/// the database too.
///
/// A database is a service (swift-service-lifecycle): `run()` does its background work (PostgreSQL's connection
/// pools) until it is cancelled or shut down gracefully, and then closes it. The server runs it in its service
/// group, before the HTTP server; elsewhere `withRunning` runs it around a piece of work. PostgreSQL's calls wait for
/// it to run.
public protocol Database: Service {
    var dialect: SQLDialect { get }
    /// The bounds this database puts on statements and on waits for a connection.
    var limits: DatabaseLimits { get }
    /// How many statements can run at once: the PostgreSQL pool's connections, SQLite's reader connections.
    var connectionCount: Int { get }
    /// Whether a call could use the database now; throws `busy` while every connection stays in use and
    /// `unavailable` while the database cannot be reached (at once, when that is already known).
    func checkHealth() async throws(DatabaseError)
    /// Runs `body` on a connection outside any transaction (each statement commits on its own).
    func withConnection<R: Sendable>(_ body: @Sendable (any DatabaseConnection) async throws -> R) async throws -> R
    /// Runs `body` in one transaction, which ends as `end` says when `body` returns, and is rolled back when it
    /// throws.
    func withTransaction<R: Sendable>(
        ending end: TransactionEnd,
        _ body: @Sendable (any DatabaseConnection) async throws -> R
    ) async throws -> R
}

extension Database {
    /// Runs `body` while the database runs, then stops it (closing its connections) and waits for that.
    public func withRunning<R: Sendable>(_ body: () async throws -> R) async throws -> R {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body()
        }
    }
}

extension Database {
    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    public func withTransaction<R: Sendable>(
        _ body: @Sendable (any DatabaseConnection) async throws -> R
    ) async throws -> R {
        try await withTransaction(ending: .commit, body)
    }
}

/// How a transaction whose body returned ends.
public enum TransactionEnd: Sendable {
    case commit
    /// Rolled back all the same: a dry run, whose writes only the body sees (`isAccessAllowed` tries a CREATE so).
    case rollBack
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
        /// Every connection stayed in use for as long as a call may wait for one.
        case busy
        /// The statement ran longer than the statement timeout and was stopped.
        case timedOut(after: Duration)
        /// The task running the statement was cancelled (its client went away); the statement was stopped.
        case cancelled
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

/// The bounds on the work of one call, so that no call and no user can hold the database.
public struct DatabaseLimits: Sendable, Equatable {
    /// The longest one statement may run; the database stops it (and its transaction rolls back). Zero: no limit.
    public var statementTimeout: Duration
    /// The longest a call waits for a free connection before it fails as busy (or unavailable).
    public var maximumWait: Duration
    /// How many calls of one (non-root) user may use the database at once; a call past it waits its turn, at most
    /// `maximumWait`. Zero: no limit. The catalog enforces it, below the database's `connectionCount` so that
    /// others keep room.
    public var queriesPerUser: Int

    public init(statementTimeout: Duration = .seconds(30), maximumWait: Duration = .seconds(2), queriesPerUser: Int = 4)
    {
        self.statementTimeout = statementTimeout
        self.maximumWait = maximumWait
        self.queriesPerUser = queriesPerUser
    }
}

/// Opens the database a URL names: `sqlite:PATH` (or `sqlite::memory:`) or `postgres://user:pass@host:port/db`.
/// The database then needs running (`run()`, or `withRunning`).
public enum DatabaseOpener {
    public static func open(
        url: String,
        limits: DatabaseLimits = DatabaseLimits(),
        logger: Logger
    ) async throws
        -> any Database
    {
        if url.hasPrefix("sqlite:") {
            return try SQLiteDatabase(path: String(url.dropFirst("sqlite:".count)), limits: limits, logger: logger)
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            return try await PostgresDatabase(url: url, limits: limits, logger: logger)
        }
        throw DatabaseError(
            .other,
            "unsupported database URL '\(url)': use sqlite:PATH or postgres://user:pass@host:port/db"
        )
    }
}
