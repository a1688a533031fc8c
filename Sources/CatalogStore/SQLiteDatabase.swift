import CatalogSQL
import Foundation
import GRDB
import GRDBSQLite
import Logging
import ServiceLifecycle

/// SQLite through GRDB's raw-SQL API on the system's libsqlite3, in WAL mode.
///
/// GRDB runs statements in synchronous closures, while the catalog's transactions are async. So this driver
/// opens transactions itself (`BEGIN IMMEDIATE`) on GRDB's writer connection, runs each statement of the
/// transaction as its own short writer access, and serializes transactions with an async lock so that no other
/// writer can slip a statement into an open transaction. Statements outside a transaction that only read go to
/// the pool's reader connections.
///
/// A statement is stopped by SQLite's progress handler once it has run for `limits.statementTimeout`, and by
/// `sqlite3_interrupt` (through GRDB) when its task is cancelled. A call waits for the writer (held by a
/// transaction) or for one of the reader connections at most `limits.maximumWait`, in the order calls came, and
/// then fails as `busy`, as it would with PostgreSQL's pool; so does a write while another process holds the file's
/// write lock.
public final class SQLiteDatabase: Database {
    public let dialect = SQLDialect.sqlite
    public let limits: DatabaseLimits
    public let connectionCount = 8
    let writer: any DatabaseWriter
    /// One turn for the writer connection, `connectionCount` for the readers.
    let turns: Turnstile<Access>
    let logger: Logger

    /// The connections a call waits its turn for.
    enum Access: Hashable, Sendable {
        case write
        case read
    }

    /// Opens (creating if needed) the database file at `path`; `:memory:` opens a private in-memory database.
    public init(path: String, limits: DatabaseLimits = DatabaseLimits(), logger: Logger) throws {
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(max(1, Double(limits.maximumWait.components.seconds)))
        configuration.maximumReaderCount = connectionCount
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // LIKE is case-sensitive on PostgreSQL and in ICAT; SQLite's default is not.
            try db.execute(sql: "PRAGMA case_sensitive_like = ON")
        }
        self.logger = logger
        self.limits = limits
        let readers = connectionCount
        turns = Turnstile(permits: { $0 == .write ? 1 : readers })
        do {
            if path == ":memory:" || path.isEmpty {
                writer = try DatabaseQueue(configuration: configuration)
            } else {
                let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                writer = try DatabasePool(path: path, configuration: configuration)
            }
        } catch let error as GRDB.DatabaseError {
            throw Self.classify(error)
        }
    }

    public func withConnection<R: Sendable>(
        _ body: @Sendable (any DatabaseConnection) async throws -> R
    ) async throws -> R {
        try await body(SQLiteAutocommitConnection(database: self))
    }

    public func withTransaction<R: Sendable>(
        ending end: TransactionEnd,
        _ body: @Sendable (any DatabaseConnection) async throws -> R
    ) async throws -> R {
        try await enter(.write, waitingAtMost: limits.maximumWait)
        do {
            try await run { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        } catch {
            turns.leave(.write)
            throw error
        }
        do {
            let result = try await body(SQLiteTransactionConnection(database: self))
            let ending = end == .commit ? "COMMIT" : "ROLLBACK"
            try await run { db in try db.execute(sql: ending) }
            turns.leave(.write)
            return result
        } catch {
            // A task that is cancelled can run no more statements through GRDB: the rollback gets a task of its own.
            let rollback = Task {
                try await run { db in
                    if !db.isInsideTransaction { return }
                    try db.execute(sql: "ROLLBACK")
                }
            }
            do {
                try await rollback.value
            } catch {
                logger.error("rollback failed: \(error)")
            }
            turns.leave(.write)
            throw error
        }
    }

    public func checkHealth() async throws(DatabaseError) {
        let wait = min(limits.maximumWait, .seconds(1))
        _ = try await read(waitingAtMost: wait) { db in
            try SQLiteDatabase.rows(db, ("SELECT 1" as SQLFragment).statement(.sqlite))
        }
    }

    /// Takes a turn at the writer or at a reader, waiting at most `wait`.
    func enter(_ access: Access, waitingAtMost wait: Duration) async throws(DatabaseError) {
        do {
            try await turns.enter(access, waitingAtMost: wait)
        } catch .cancelled {
            throw DatabaseError(.cancelled, "the call was cancelled while it waited for a connection")
        } catch {
            throw DatabaseError(
                .busy,
                access == .write
                    ? "the writer connection stayed in use for \(wait)"
                    : "all \(connectionCount) reader connections stayed in use for \(wait)"
            )
        }
    }

    /// One statement outside a transaction on the writer connection, in a turn of its own.
    func write<T: Sendable>(_ work: @Sendable @escaping (GRDB.Database) throws -> T) async throws(DatabaseError) -> T {
        try await enter(.write, waitingAtMost: limits.maximumWait)
        defer { turns.leave(.write) }
        return try await run(work)
    }

    /// Waits until the task is cancelled or the service shuts down gracefully, then closes the database. SQLite
    /// has no background work: calls work whether or not it runs.
    public func run() async {
        try? await gracefulShutdown()
        if let pool = writer as? DatabasePool {
            try? pool.close()
        } else if let queue = writer as? DatabaseQueue {
            try? queue.close()
        }
    }

    /// One access to the writer connection, stopped after the statement timeout.
    func run<T: Sendable>(_ work: @Sendable @escaping (GRDB.Database) throws -> T) async throws(DatabaseError) -> T {
        let timeout = StatementDeadline.nanoseconds(of: limits.statementTimeout)
        do {
            return try await writer.writeWithoutTransaction { db in try StatementDeadline.run(db, timeout, work) }
        } catch {
            throw classify(error)
        }
    }

    /// One access to a reader connection, in a turn, stopped after the statement timeout.
    func read<T: Sendable>(
        waitingAtMost wait: Duration? = nil,
        _ work: @Sendable @escaping (GRDB.Database) throws -> T
    ) async throws(DatabaseError) -> T {
        try await enter(.read, waitingAtMost: wait ?? limits.maximumWait)
        defer { turns.leave(.read) }
        let timeout = StatementDeadline.nanoseconds(of: limits.statementTimeout)
        do {
            return try await writer.read { db in try StatementDeadline.run(db, timeout, work) }
        } catch {
            throw classify(error)
        }
    }

    /// An error of one access. GRDB reports an access stopped for its cancelled task as `CancellationError`; an
    /// interrupt that is not a cancellation is the progress handler's, at the statement timeout.
    func classify(_ error: any Error) -> DatabaseError {
        switch error {
        case let error as DatabaseError:
            return error
        case is CancellationError:
            return DatabaseError(.cancelled, "the statement was stopped: its task was cancelled")
        case let error as GRDB.DatabaseError where error.resultCode == .SQLITE_INTERRUPT:
            if Task.isCancelled {
                return DatabaseError(.cancelled, "the statement was stopped: its task was cancelled")
            }
            return DatabaseError(
                .timedOut(after: limits.statementTimeout),
                "the statement ran longer than the statement timeout (\(limits.statementTimeout)) and was stopped"
            )
        case let error as GRDB.DatabaseError:
            return Self.classify(error)
        default:
            return DatabaseError(.other, "\(error)")
        }
    }

    /// Refuses a statement with more bound values than this SQLite takes (its `SQLITE_MAX_VARIABLE_NUMBER`, set
    /// when it was built: 32,766 by default, 250,000 in Debian's), before it is prepared.
    static func checkValueCount(_ db: GRDB.Database, _ statement: SQLStatement) throws(DatabaseError) {
        let maximum = db.maximumStatementArgumentCount
        if statement.binds.count > maximum {
            throw .tooManyValues(statement.binds.count, maximum: maximum, database: "SQLite")
        }
    }

    static func rows(_ db: GRDB.Database, _ statement: SQLStatement) throws -> [SQLRow] {
        try checkValueCount(db, statement)
        let prepared = try db.cachedStatement(sql: statement.text)
        let cursor = try Row.fetchCursor(prepared, arguments: arguments(statement.binds))
        var result: [SQLRow] = []
        while let row = try cursor.next() {
            var values: [SQLValue] = []
            values.reserveCapacity(row.count)
            for index in 0..<row.count {
                let value: DatabaseValue = row[index]
                switch value.storage {
                case .null: values.append(.null)
                case .int64(let i): values.append(.integer(i))
                case .double(let d): values.append(.double(d))
                case .string(let s): values.append(.text(s))
                case .blob(let data): values.append(.text(String(decoding: data, as: UTF8.self)))
                }
            }
            result.append(SQLRow(values))
        }
        return result
    }

    static func execute(_ db: GRDB.Database, _ statement: SQLStatement) throws {
        try checkValueCount(db, statement)
        let prepared = try db.cachedStatement(sql: statement.text)
        try prepared.execute(arguments: arguments(statement.binds))
    }

    static func arguments(_ binds: [SQLValue]) -> StatementArguments {
        StatementArguments(
            binds.map { value -> DatabaseValue in
                switch value {
                case .null: .null
                case .integer(let i): i.databaseValue
                case .double(let d): d.databaseValue
                case .text(let s): s.databaseValue
                case .boolean(let b): (b ? Int64(1) : Int64(0)).databaseValue
                case .timestamp(let date): SQLTimestamp.format(date).databaseValue
                }
            }
        )
    }

    static func classify(_ error: GRDB.DatabaseError) -> DatabaseError {
        let message = error.message ?? "\(error)"
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE, .SQLITE_CONSTRAINT_PRIMARYKEY:
            // "UNIQUE constraint failed: dataset.investigation_id, dataset.name"
            let columns =
                message.split(separator: ":", maxSplits: 1).last.map { list in
                    list.split(separator: ",").map { column in
                        String(column.trimmingCharacters(in: .whitespaces).split(separator: ".").last ?? "")
                    }
                } ?? []
            return DatabaseError(.uniqueViolation(constraint: nil, columns: columns), message)
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            return DatabaseError(.foreignKeyViolation(constraint: nil), message)
        case .SQLITE_CONSTRAINT_NOTNULL:
            return DatabaseError(.notNullViolation(column: nil), message)
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return DatabaseError(.busy, "another connection holds the database file's lock: \(message)")
        case .SQLITE_CANTOPEN, .SQLITE_IOERR, .SQLITE_FULL:
            return DatabaseError(.unavailable, message)
        case .SQLITE_TOOBIG:
            return DatabaseError(.limitExceeded, "SQLite: \(message)")
        default:
            if limitMessages.contains(where: { message.hasPrefix($0) }) {
                return DatabaseError(.limitExceeded, "SQLite: \(message)")
            }
            return DatabaseError(.other, message)
        }
    }

    /// How SQLite's messages for a statement over one of its limits begin (they come with the general error code),
    /// e.g. "Expression tree is too large (maximum depth 1000)" for a long chain of ORs.
    static let limitMessages = [
        "Expression tree is too large", "too many SQL variables", "parser stack overflow",
        "at most 64 tables in a join", "too many columns", "too many terms", "too many arguments",
        "too many FROM clause terms", "LIKE or GLOB pattern too complex",
    ]
}

/// The statement timeout on SQLite: a progress handler, installed for one access, that interrupts the statement
/// once the access's deadline has passed. The deadline (monotonic nanoseconds) travels as the handler's context
/// pointer, so nothing is allocated per access.
enum StatementDeadline {
    /// How many virtual-machine instructions SQLite runs between two looks at the clock.
    static let instructionsPerCheck: Int32 = 1000

    static func nanoseconds(of duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Runs `work` on `db`, interrupted once `timeout` nanoseconds have passed (never when it is zero).
    static func run<T>(_ db: GRDB.Database, _ timeout: UInt64, _ work: (GRDB.Database) throws -> T) throws -> T {
        guard timeout > 0, let connection = db.sqliteConnection else { return try work(db) }
        let deadline = UnsafeMutableRawPointer(bitPattern: UInt(now() + timeout))
        sqlite3_progress_handler(connection, instructionsPerCheck, isPast, deadline)
        defer { sqlite3_progress_handler(connection, 0, nil, nil) }
        return try work(db)
    }

    private static let isPast: @convention(c) (UnsafeMutableRawPointer?) -> Int32 = { deadline in
        StatementDeadline.now() >= UInt64(UInt(bitPattern: deadline)) ? 1 : 0
    }
}

/// Statements inside a transaction: all on the writer connection, which the transaction holds.
struct SQLiteTransactionConnection: DatabaseConnection {
    let database: SQLiteDatabase
    var dialect: SQLDialect { .sqlite }

    func query(_ statement: SQLStatement) async throws(DatabaseError) -> [SQLRow] {
        try await database.run { db in try SQLiteDatabase.rows(db, statement) }
    }

    func execute(_ statement: SQLStatement) async throws(DatabaseError) {
        try await database.run { db in try SQLiteDatabase.execute(db, statement) }
    }
}

/// Statements outside a transaction: reads on a reader connection; writes take the write lock for one statement.
struct SQLiteAutocommitConnection: DatabaseConnection {
    let database: SQLiteDatabase
    var dialect: SQLDialect { .sqlite }

    func query(_ statement: SQLStatement) async throws(DatabaseError) -> [SQLRow] {
        if Self.isRead(statement) {
            return try await database.read { db in try SQLiteDatabase.rows(db, statement) }
        }
        return try await database.write { db in try SQLiteDatabase.rows(db, statement) }
    }

    func execute(_ statement: SQLStatement) async throws(DatabaseError) {
        try await database.write { db in try SQLiteDatabase.execute(db, statement) }
    }

    static func isRead(_ statement: SQLStatement) -> Bool {
        let head = statement.text.prefix(8).uppercased()
        return head.hasPrefix("SELECT") || head.hasPrefix("WITH")
    }
}
