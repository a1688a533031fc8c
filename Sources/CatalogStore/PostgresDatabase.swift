import CatalogSQL
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// PostgreSQL through PostgresNIO's pooled client.
///
/// Bounds: every connection runs with `statement_timeout`; a call waits at most `limits.maximumWait` for a
/// connection, then fails as `busy` (every connection in use) or `unavailable` (the server cannot be reached). Once
/// the server is known to be unreachable, calls fail at once after a fresh connection attempt (one at a time, its
/// answer reused briefly), and when the server answers again a pool left waiting out its back-off is replaced, so
/// that calls work again without a restart.
///
/// `run()` runs the pools, the first and every replacement, each as PostgresNIO's `PostgresClient.run()` in a
/// child task: calls get connections only while it runs.
public final class PostgresDatabase: Database {
    public let dialect = SQLDialect.postgresql
    public let limits: DatabaseLimits
    public var connectionCount: Int { clientConfiguration.options.maximumConnections }
    let logger: Logger
    private let clientConfiguration: PostgresClient.Configuration
    private let statementCapacity: Int
    /// How long a call waits for a connection the pool is still opening (rather than for one in use).
    private let connectTimeout: Duration
    private let probe: PostgresProbe
    private let state: Mutex<PoolState>
    /// The pools for `run()` to run: the first, then each replacement.
    private let pools: (stream: AsyncStream<PostgresPool>, continuation: AsyncStream<PostgresPool>.Continuation)

    private struct PoolState {
        var pool: PostgresPool
        /// Connections leased by calls, over every pool.
        var leased = 0
        /// A call found the server unreachable; the next call checks before waiting for a connection.
        var failing = false
        /// `run()` was entered.
        var hasRun = false
    }

    /// Opens a pool for `postgres://user:password@host:port/database`; `?maxConnections=N` sizes the pool,
    /// `?preparedStatements=N` the number of statements each connection keeps prepared (0: none).
    public init(url: String, limits: DatabaseLimits = DatabaseLimits(), logger: Logger) async throws {
        guard let components = URLComponents(string: url), let host = components.host else {
            throw DatabaseError(.other, "cannot read the PostgreSQL URL '\(url)'")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let username = components.user?.removingPercentEncoding ?? "postgres"
        let password = components.password?.removingPercentEncoding
        let port = components.port ?? 5432
        var connection = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database.isEmpty ? nil : database,
            tls: .disable
        )
        // Opening a connection can take seconds on a loaded machine: that is not a busy pool.
        let connectTimeout = max(limits.maximumWait, .seconds(10))
        connection.options.connectTimeout = .milliseconds(Self.milliseconds(connectTimeout))
        // Fail fast when the server cannot be reached; its version decides which settings it takes.
        let version = try await Self.serverVersion(connection, logger: logger)
        // A catalog's statements are short, but a rule-restricted one has a high estimated cost, over JIT's
        // threshold: compiling it took 33 ms of a 35 ms count (Tools/bench-authz.sh). Without JIT it took 4 ms.
        var parameters = [("jit", "off")]
        if limits.statementTimeout > .zero {
            parameters.append(("statement_timeout", String(max(1, Self.milliseconds(limits.statementTimeout)))))
        }
        if version >= 140000 {
            // A cancelled call closes its connection; the server then stops the statement within this interval
            // instead of running it to its end.
            parameters.append(("client_connection_check_interval", "1000"))
        }
        connection.options.additionalStartupParameters = parameters

        var configuration = PostgresClient.Configuration(
            host: host,
            port: port,
            username: username,
            password: password,
            database: database.isEmpty ? nil : database,
            tls: .disable
        )
        configuration.options.connectTimeout = connectTimeout
        configuration.options.additionalStartupParameters = parameters
        if let size = components.queryItems?.first(where: { $0.name == "maxConnections" })?.value.flatMap(Int.init) {
            configuration.options.maximumConnections = size
        }
        let prepared = components.queryItems?.first(where: { $0.name == "preparedStatements" })?.value
        self.statementCapacity = prepared.flatMap(Int.init) ?? 128
        self.connectTimeout = connectTimeout
        self.clientConfiguration = configuration
        self.limits = limits
        self.logger = logger
        self.probe = PostgresProbe(configuration: connection, logger: logger)
        let pool = PostgresPool(configuration: configuration, statementCapacity: statementCapacity, logger: logger)
        self.state = Mutex(PoolState(pool: pool))
        self.pools = AsyncStream.makeStream(of: PostgresPool.self)
        pools.continuation.yield(pool)
    }

    /// Runs the connection pools until the task is cancelled or the service shuts down gracefully; then every
    /// connection is closed. A database runs once: it cannot be run again after it stopped.
    public func run() async {
        let first = state.withLock { state in
            defer { state.hasRun = true }
            return !state.hasRun
        }
        precondition(first, "a PostgresDatabase runs once")
        let pools = pools.stream
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await pool in pools {
                    group.addTask { await pool.run() }
                }
            }
        }
    }

    public func withConnection<R: Sendable>(
        _ body: @Sendable (any DatabaseConnection) async throws -> R
    ) async throws -> R {
        try await withoutActuallyEscaping(body) { body in
            try await lease(wait: limits.maximumWait) { connection, pool in
                try await body(self.handle(connection, pool))
            }
        }
    }

    public func withTransaction<R: Sendable>(
        ending end: TransactionEnd,
        _ body: @Sendable (any DatabaseConnection) async throws -> R
    ) async throws -> R {
        try await withoutActuallyEscaping(body) { body in
            try await lease(wait: limits.maximumWait) { connection, pool in
                // BEGIN, COMMIT and ROLLBACK go through the handle, as every statement, so that they too fail at once
                // on a connection that has closed (PostgresNIO's own transaction would wait for good there).
                let handle = self.handle(connection, pool)
                try await handle.control("BEGIN")
                let result: R
                do {
                    result = try await body(handle)
                } catch {
                    // The body's own error is what the caller needs; a failed rollback after it is only logged, and
                    // the connection, in a transaction no one can end, is closed rather than given to another call.
                    do {
                        try await handle.control("ROLLBACK")
                    } catch {
                        if !connection.isClosed { self.logger.error("rollback failed: \(error)") }
                        try? await connection.close()
                    }
                    throw error
                }
                try await handle.control(end == .commit ? "COMMIT" : "ROLLBACK")
                return result
            }
        }
    }

    public func checkHealth() async throws(DatabaseError) {
        do {
            try await lease(wait: min(limits.maximumWait, .seconds(1))) { connection, pool in
                try await self.handle(connection, pool).execute(("SELECT 1" as SQLFragment).statement(.postgresql))
            }
        } catch let error as DatabaseError {
            throw error
        } catch {
            throw DatabaseError(.other, String(reflecting: error))
        }
    }

    private func handle(_ connection: PostgresConnection, _ pool: PostgresPool) -> PostgresConnectionHandle {
        PostgresConnectionHandle(
            connection: connection,
            statements: pool.statements,
            timeout: limits.statementTimeout,
            logger: logger
        )
    }

    /// Runs `body` on a connection of the current pool, waiting at most `wait` for one.
    private func lease<R: Sendable>(
        wait: Duration,
        _ body: @escaping @Sendable (PostgresConnection, PostgresPool) async throws -> R
    ) async throws -> R {
        if Task.isCancelled { throw DatabaseError(.cancelled, "the call was cancelled before it had a connection") }
        if state.withLock({ $0.failing }) { try await recover() }
        let pool = state.withLock { $0.pool }
        let race = LeaseRace()
        do {
            return try await withThrowingTaskGroup(of: R?.self) { group in
                group.addTask {
                    try await pool.client.withConnection { connection in
                        guard race.begin() else { throw CancellationError() }
                        self.state.withLock { $0.leased += 1 }
                        defer { self.state.withLock { $0.leased -= 1 } }
                        do {
                            return try await body(connection, pool)
                        } catch {
                            // A connection that broke under a call: the server may be gone.
                            if connection.isClosed, !Task.isCancelled { self.markFailing(pool) }
                            throw error
                        }
                    }
                }
                group.addTask {
                    do {
                        try await Task.sleep(for: wait)
                        // With a connection free to open, the pool is opening one, not busy: the call waits for it
                        // as long as opening may take, unless the server cannot be reached.
                        if self.state.withLock({ $0.leased }) < self.connectionCount, await self.probe.isReachable() {
                            try await Task.sleep(for: self.connectTimeout - wait)
                        }
                    } catch {
                        return nil
                    }
                    if race.abandon() { throw CancellationError() }
                    return nil
                }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let result { return result }
                }
                throw DatabaseError(.other, "a connection lease ended without a result")
            }
        } catch {
            if race.hasBegun { throw error }
            if Task.isCancelled {
                throw DatabaseError(.cancelled, "the call was cancelled while it waited for a connection")
            }
            if race.wasAbandoned { throw await explainWait(on: pool, wait: wait) }
            // The pool refused the lease: it has given up connecting for now, or it is shut down (replaced).
            markFailing(pool)
            throw DatabaseError(.unavailable, "no connection from the pool: \(String(reflecting: error))")
        }
    }

    /// Why no connection came within `wait`: every connection is in use, or the server cannot be reached, or the
    /// pool still waits out its back-off from an outage that is over (it is then replaced).
    private func explainWait(on pool: PostgresPool, wait: Duration) async -> DatabaseError {
        let leased = state.withLock { $0.leased }
        let busy = DatabaseError(.busy, "all \(connectionCount) connections stayed in use for \(wait)")
        if leased >= connectionCount { return busy }
        guard await probe.isReachable() else {
            state.withLock { $0.failing = true }
            return DatabaseError(.unavailable, "the server cannot be reached")
        }
        if leased > 0 { return busy }
        replace(pool)
        return DatabaseError(.unavailable, "the connection pool was still reconnecting to the server")
    }

    /// After a failure: fails at once while the server cannot be reached; once it answers, replaces the pool if
    /// no call holds one of its connections (a pool that failed to connect retries only after a back-off that
    /// grows to a minute).
    private func recover() async throws(DatabaseError) {
        guard await probe.isReachable() else {
            throw DatabaseError(.unavailable, "the server cannot be reached")
        }
        let (pool, idle) = state.withLock { state in
            state.failing = false
            return (state.pool, state.leased == 0)
        }
        if idle { replace(pool) }
    }

    /// Notes that `pool` failed, unless it was replaced meanwhile: the calls a replaced pool fails as it shuts down
    /// say nothing of its successor.
    private func markFailing(_ pool: PostgresPool) {
        state.withLock { state in
            if state.pool === pool { state.failing = true }
        }
    }

    /// Puts a new pool in place of `pool`, unless that happened already.
    private func replace(_ pool: PostgresPool) {
        let replacement = state.withLock { state -> PostgresPool? in
            guard state.pool === pool else { return nil }
            state.pool = PostgresPool(
                configuration: clientConfiguration,
                statementCapacity: statementCapacity,
                logger: logger
            )
            state.failing = false
            return state.pool
        }
        if let replacement {
            logger.notice("PostgreSQL answers again: replacing the connection pool")
            pools.continuation.yield(replacement)
            pool.retire()
        }
    }

    /// The server's `server_version_num`, read on a connection of its own.
    private static func serverVersion(
        _ configuration: PostgresConnection.Configuration,
        logger: Logger
    ) async throws -> Int {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            throw DatabaseError(.unavailable, "cannot connect to PostgreSQL: \(String(reflecting: error))")
        }
        do {
            var version = 0
            for try await text in try await connection.query("SHOW server_version_num", logger: logger).decode(
                String.self
            ) {
                version = Int(text) ?? 0
            }
            try await connection.close()
            return version
        } catch {
            try? await connection.close()
            throw PostgresConnectionHandle.classify(error, timeout: .zero)
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// One PostgresNIO client (its pool of connections) and the statements its connections keep prepared.
final class PostgresPool: Sendable {
    let client: PostgresClient
    let statements: PostgresStatementCache
    private let retirement = AsyncStream.makeStream(of: Never.self)

    init(configuration: PostgresClient.Configuration, statementCapacity: Int, logger: Logger) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.statements = PostgresStatementCache(capacity: statementCapacity)
    }

    /// Runs the client until the pool is retired or the task cancelled.
    func run() async {
        let retirement = retirement.stream
        await withDiscardingTaskGroup { group in
            group.addTask { await self.client.run() }
            for await _ in retirement {}
            group.cancelAll()
        }
    }

    /// Stops the client: a replacement serves new calls.
    func retire() {
        retirement.continuation.finish()
    }
}

/// Which came first for one call: its connection or the end of its wait.
final class LeaseRace: Sendable {
    private enum Phase { case waiting, begun, abandoned }
    private let phase = Mutex(Phase.waiting)

    /// The connection came: true unless the wait had ended.
    func begin() -> Bool {
        phase.withLock { phase in
            guard phase == .waiting else { return false }
            phase = .begun
            return true
        }
    }

    /// The wait ended: true unless the connection had come.
    func abandon() -> Bool {
        phase.withLock { phase in
            guard phase == .waiting else { return false }
            phase = .abandoned
            return true
        }
    }

    var hasBegun: Bool { phase.withLock { $0 == .begun } }
    var wasAbandoned: Bool { phase.withLock { $0 == .abandoned } }
}

/// Whether the server accepts a new connection now, found by opening one: at most one attempt at a time, and its
/// answer reused for half a second. It tells an unreachable server from a busy pool.
actor PostgresProbe {
    let configuration: PostgresConnection.Configuration
    let logger: Logger
    private var last: (at: ContinuousClock.Instant, reachable: Bool)?
    private var attempt: Task<Bool, Never>?

    init(configuration: PostgresConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    func isReachable() async -> Bool {
        if let last, last.at.duration(to: .now) < .milliseconds(500) { return last.reachable }
        if let attempt { return await attempt.value }
        let attempt = Task { [configuration, logger] in
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: configuration,
                    id: 0,
                    logger: logger
                )
                try? await connection.close()
                return true
            } catch {
                logger.warning("PostgreSQL cannot be reached: \(String(reflecting: error))")
                return false
            }
        }
        self.attempt = attempt
        let reachable = await attempt.value
        self.attempt = nil
        last = (.now, reachable)
        return reachable
    }
}

/// A leased PostgreSQL connection.
struct PostgresConnectionHandle: DatabaseConnection {
    let connection: PostgresConnection
    let statements: PostgresStatementCache
    /// The connections' `statement_timeout`, for the error that reports it.
    let timeout: Duration
    let logger: Logger
    var dialect: SQLDialect { .postgresql }

    func query(_ statement: SQLStatement) async throws(DatabaseError) -> [SQLRow] {
        try Self.checkValueCount(statement)
        return try await stoppable {
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
        }
    }

    func execute(_ statement: SQLStatement) async throws(DatabaseError) {
        try Self.checkValueCount(statement)
        try await stoppable {
            if try await runPrepared(statement) != nil { return }
            // The server's error arrives with the rows: they must be read for a failure to show.
            for try await _ in try await connection.query(Self.postgresQuery(statement), logger: logger) {}
        }
    }

    /// Runs a transaction-control statement (`BEGIN`, `COMMIT`, `ROLLBACK`), never prepared.
    func control(_ sql: String) async throws(DatabaseError) {
        let (connection, logger) = (connection, logger)
        try await stoppable {
            for try await _ in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {}
        }
    }

    /// Runs the work of one statement. When the task is cancelled meanwhile (its client went away), the
    /// connection is closed: PostgresNIO would only stop reading the rows, while a closed connection makes the
    /// server stop the statement (within `client_connection_check_interval`) and roll its transaction back.
    func stoppable<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws(DatabaseError) -> T {
        if Task.isCancelled { throw DatabaseError(.cancelled, "the call was cancelled") }
        do {
            return try await withTaskCancellationHandler {
                try await ClosedConnectionGuard.run(on: connection, work)
            } onCancel: { [connection] in
                let _: EventLoopFuture<Void> = connection.close()
            }
        } catch {
            // The connection goes back to the pool only once closed, so that no other call is handed it half-shut.
            if Task.isCancelled { try? await connection.closeFuture.get() }
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
    func classify(_ error: any Error) -> DatabaseError {
        let classified = Self.classify(error, timeout: timeout)
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
    /// `PostgresError`, with the same fields. A statement stopped by the server (57014) was stopped by
    /// `statement_timeout` unless its task was cancelled.
    static func classify(_ error: any Error, timeout: Duration) -> DatabaseError {
        if let error = error as? DatabaseError { return error }
        if Task.isCancelled { return DatabaseError(.cancelled, "the call was cancelled: \(String(reflecting: error))") }
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
        case "57014": return DatabaseError(.timedOut(after: timeout), text)
        default:
            // Class 08 (connection exception) and 57P (the server shutting down, crashed, or starting up).
            if let state = fields.sqlState, state.hasPrefix("08") || state.hasPrefix("57P") {
                return DatabaseError(.unavailable, text)
            }
            return DatabaseError(.other, text)
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

/// Ends a statement's wait when its connection closes. PostgresNIO (1.33) can leave a statement waiting for good
/// when the connection closes before the server's answer (seen when the server crashed under a write): the work
/// then runs in a task of its own, and the call fails as soon as the connection is seen closed, leaving that task
/// to its fate.
enum ClosedConnectionGuard {
    static let pollInterval = Duration.milliseconds(50)

    static func run<T: Sendable>(
        on connection: PostgresConnection,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let outcome = Outcome<T>()
        let work = Task {
            do {
                outcome.finish(with: .success(try await work()))
            } catch {
                outcome.finish(with: .failure(error))
            }
        }
        // One watcher per statement, stopped with it: a callback on the connection's closeFuture instead would
        // stay registered, and hold its statement's state, for as long as the connection lives.
        let watcher = Task {
            while !Task.isCancelled, !outcome.isFinished {
                if connection.isClosed {
                    work.cancel()
                    outcome.finish(with: .failure(PostgresError.connectionClosed))
                    return
                }
                try? await Task.sleep(for: pollInterval)
            }
        }
        defer { watcher.cancel() }
        return try await withCheckedThrowingContinuation { outcome.wait($0) }
    }

    /// The first result of a statement (its own, or the connection's closing), handed to its waiter once.
    final class Outcome<T: Sendable>: Sendable {
        private struct State: Sendable {
            var waiter: CheckedContinuation<T, any Error>?
            var result: Result<T, any Error>?
            var delivered = false
        }
        private let state = Mutex(State())

        var isFinished: Bool { state.withLock { $0.result != nil || $0.delivered } }

        func finish(with result: Result<T, any Error>) {
            let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
                guard state.result == nil, !state.delivered else { return nil }
                guard let waiter = state.waiter else {
                    state.result = result
                    return nil
                }
                state.delivered = true
                return waiter
            }
            waiter?.resume(with: result)
        }

        func wait(_ continuation: CheckedContinuation<T, any Error>) {
            let result = state.withLock { state -> Result<T, any Error>? in
                guard let result = state.result else {
                    state.waiter = continuation
                    return nil
                }
                state.delivered = true
                return result
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
