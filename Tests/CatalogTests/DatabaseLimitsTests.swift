import CatalogRPC
import CatalogSQL
import CatalogServer
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONValue
import Synchronization
import Testing

@testable import Catalog
@testable import CatalogStore

#if canImport(Glibc)
import Glibc
private let systemClose = Glibc.close
private let systemSend = Glibc.send
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let systemClose = Darwin.close
private let systemSend = Darwin.send
private let streamSocket = SOCK_STREAM
#endif

/// The work one call and one user can make the database do is bounded: statements stop at the statement timeout,
/// a cancelled call stops its statement in the database, one user cannot hold every connection, and a saturated
/// pool fails fast.
@Suite("Bounded database work", .timeLimit(.minutes(2)))
struct DatabaseLimitsTests {
    /// Datafiles enough that a cross join of four of them (about 1.7 billion rows) runs for minutes.
    static let datafileCount = 200
    static let endlessSearch = "SELECT COUNT(a) FROM Datafile a, Datafile b, Datafile c, Datafile d"

    /// The test configuration with these database limits.
    static func configuration(_ limits: DatabaseLimits) -> CatalogConfiguration {
        var configuration = TestCatalog.configuration
        configuration.database = limits
        return configuration
    }

    /// The fixture with `datafileCount` more datafiles, and a rule that lets everyone read datafiles.
    static func fixture(_ catalog: Catalog) async throws -> Fixture {
        let f = try await Fixture.make(catalog)
        _ = try await catalog.createMany(
            sessionId: f.root,
            entities: (0..<datafileCount).map { JSON.datafile("file-\($0)", dataset: f.dataset) }
        )
        _ = try await catalog.create(sessionId: f.root, entity: ["Rule": ["what": "Datafile", "crudFlags": "R"]])
        return f
    }

    @Test("a search past the statement timeout is stopped with an error that says so", arguments: Backend.allCases)
    func aSearchPastTheStatementTimeoutIsStopped(_ backend: Backend) async throws {
        let limits = DatabaseLimits(statementTimeout: .milliseconds(500))
        try await TestCatalog.with(backend, configuration: Self.configuration(limits)) { catalog in
            let f = try await Self.fixture(catalog)
            let started = ContinuousClock.now
            let error = await expectCatalogError(.validation) {
                try await catalog.search(sessionId: f.root, query: Self.endlessSearch)
            }
            #expect(error?.message.contains("statement timeout (0.5 s)") == true, "\(String(describing: error))")
            #expect(error?.message.contains("Narrow the query") == true)
            #expect(started.duration(to: .now) < .seconds(10))
            // The catalog still answers afterwards.
            let count = try await catalog.search(sessionId: f.root, query: "SELECT COUNT(df) FROM Datafile df")
            #expect(count == [.int(Int64(Self.datafileCount + 2))])
        }
    }

    @Test("a statement past the timeout rolls its transaction back", arguments: Backend.allCases)
    func aStatementPastTheTimeoutRollsItsTransactionBack(_ backend: Backend) async throws {
        let limits = DatabaseLimits(statementTimeout: .milliseconds(300))
        try await TestCatalog.withFreshDatabase(backend, limits: limits) { database in
            let dialect = database.dialect
            try await database.withConnection { connection in
                try await connection.execute(("CREATE TABLE written (x INTEGER)" as SQLFragment).statement(dialect))
            }
            let frozenInsert = ("INSERT INTO written (x) VALUES (\(Int64(1)))" as SQLFragment).statement(dialect)
            let endless: SQLFragment = """
                WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < \(Int64(1_000_000_000))) \
                SELECT COUNT(*) FROM c
                """
            let frozenEndless = endless.statement(dialect)
            do {
                try await database.withTransaction { connection in
                    try await connection.execute(frozenInsert)
                    _ = try await connection.query(frozenEndless)
                }
                Issue.record("the endless statement ended")
            } catch let error as DatabaseError {
                #expect(error.kind == .timedOut(after: .milliseconds(300)), "\(error)")
            }
            let rows = try await database.withConnection { connection in
                try await connection.query(("SELECT COUNT(*) FROM written" as SQLFragment).statement(dialect))
            }
            #expect(rows[0][0].int64Value == 0)
        }
    }

    @Test("a cancelled search stops its statement in the database", arguments: Backend.allCases)
    func aCancelledSearchStopsItsStatementInTheDatabase(_ backend: Backend) async throws {
        let limits = DatabaseLimits(statementTimeout: .seconds(20))
        try await TestCatalog.with(backend, configuration: Self.configuration(limits)) { catalog in
            let f = try await Self.fixture(catalog)
            let alice = try await f.login("alice", "alice-pw")
            let search = Task { try await catalog.search(sessionId: alice, query: Self.endlessSearch) }
            try await eventually("alice's search holds its turn") {
                catalog.userCalls.running(for: "simple/alice") == 1
            }
            if backend == .postgresql {
                try await eventually("the search runs in PostgreSQL") { try await activeStatements(catalog) == 1 }
            }
            let cancelled = ContinuousClock.now
            search.cancel()
            let error = await expectCatalogError(.internal) { try await search.value }
            #expect(error?.message == "The call was cancelled")
            #expect(cancelled.duration(to: .now) < .seconds(5), "the search ran on after its task was cancelled")
            if backend == .postgresql {
                try await eventually("PostgreSQL stops the statement") { try await activeStatements(catalog) == 0 }
            }
            #expect(catalog.userCalls.running(for: "simple/alice") == 0)
        }
    }

    @Test("a client that hangs up stops its search in PostgreSQL")
    func aClientThatHangsUpStopsItsSearch() async throws {
        let limits = DatabaseLimits(statementTimeout: .seconds(20))
        try await TestCatalog.with(.postgresql, configuration: Self.configuration(limits)) { catalog in
            let f = try await Self.fixture(catalog)
            let app = CatalogServer.application(
                catalog: catalog,
                service: CatalogService.make(catalog: catalog),
                configuration: ServerConfiguration(port: 0),
                metrics: RPCTests.metrics,
                logger: TestCatalog.logger
            )
            try await app.test(.live) { client in
                let port = try #require(client.port)
                let body: JSON = [
                    "jsonrpc": "2.0", "id": 1, "method": "search",
                    "params": ["sessionId": .string(f.root), "query": .string(Self.endlessSearch)],
                ]
                let socket = try RawHTTPClient(port: port)
                try socket.send(
                    "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(body.serialized.utf8.count)\r\n\r\n\(body.serialized)"
                )
                try await eventually("the search runs in PostgreSQL") { try await activeStatements(catalog) == 1 }
                socket.close()
                try await eventually("PostgreSQL stops the statement") { try await activeStatements(catalog) == 0 }
            }
        }
    }

    @Test(
        "a user past their limit waits for a turn, is refused after the longest wait, and another user is served",
        arguments: Backend.allCases
    )
    func aUserPastTheirLimitWaitsAndIsRefusedWhileAnotherIsServed(_ backend: Backend) async throws {
        let limits = DatabaseLimits(statementTimeout: .seconds(20), maximumWait: .seconds(3), queriesPerUser: 1)
        try await TestCatalog.with(backend, configuration: Self.configuration(limits)) { catalog in
            let f = try await Self.fixture(catalog)
            let alice = try await f.login("alice", "alice-pw")
            let jdoe = try await catalog.login(plugin: "db", credentials: ["username": "jdoe", "password": "jdoe"])
            let long = Task { try await catalog.search(sessionId: alice, query: Self.endlessSearch) }
            try await eventually("alice's search holds her turn") {
                catalog.userCalls.running(for: "simple/alice") == 1
            }

            let refused = ContinuousClock.now
            let error = await expectCatalogError(.internal) {
                try await catalog.search(sessionId: alice, query: "SELECT COUNT(df) FROM Datafile df")
            }
            #expect(
                error?.message.contains("Too many calls of simple/alice at once") == true,
                "\(String(describing: error))"
            )
            let waited = refused.duration(to: .now)
            #expect(waited >= .seconds(3) && waited < .seconds(8), "refused after \(waited)")
            #expect(catalog.userCalls.waiting(for: "simple/alice") == 0)

            let count = try await catalog.search(sessionId: jdoe, query: "SELECT COUNT(df) FROM Datafile df")
            #expect(count == [.int(Int64(Self.datafileCount + 2))])
            #expect(catalog.userCalls.running(for: "simple/alice") == 1, "alice's long search is still running")

            // A call that waits gets the turn when the long search ends.
            let waiting = Task {
                try await catalog.search(sessionId: alice, query: "SELECT COUNT(df) FROM Datafile df")
            }
            try await eventually("alice's second call waits") { catalog.userCalls.waiting(for: "simple/alice") == 1 }
            long.cancel()
            _ = await long.result
            #expect(try await waiting.value == [.int(Int64(Self.datafileCount + 2))])
            #expect(catalog.userCalls.running(for: "simple/alice") == 0)
        }
    }

    @Test("the per-user limit leaves others room in a small pool")
    func thePerUserLimitLeavesRoomInASmallPool() async throws {
        try await TestCatalog.withFreshDatabase(.postgresql, postgresOptions: "maxConnections=3") { database in
            let limit = Catalog.userCallLimit(
                DatabaseLimits(queriesPerUser: 4),
                database: database,
                logger: TestCatalog.logger
            )
            #expect(limit.limit == 2)
        }
    }

    @Test("a saturated pool fails fast as busy, and /health says so")
    func aSaturatedPoolFailsFastAsBusy() async throws {
        let limits = DatabaseLimits(maximumWait: .milliseconds(300))
        try await TestCatalog.withFreshDatabase(.postgresql, postgresOptions: "maxConnections=2", limits: limits) {
            database in
            let release = Latch()
            let entered = AsyncStream<Void>.makeStream()
            let holders = (0..<2).map { _ in
                Task {
                    try await database.withConnection { _ in
                        entered.continuation.yield()
                        await release.wait()
                    }
                }
            }
            var arrivals = entered.stream.makeAsyncIterator()
            for _ in 0..<2 { await arrivals.next() }

            let started = ContinuousClock.now
            do {
                try await database.withConnection { connection in
                    try await connection.execute(("SELECT 1" as SQLFragment).statement(.postgresql))
                }
                Issue.record("a third connection was leased from a pool of two")
            } catch let error as DatabaseError {
                #expect(error.kind == .busy, "\(error)")
            }
            #expect(started.duration(to: .now) < .seconds(3))

            let catalog = Catalog(
                database: database,
                configuration: TestCatalog.configuration,
                logger: TestCatalog.logger
            )
            let (status, body) = try await Self.health(catalog)
            #expect(status == .serviceUnavailable)
            #expect(body?["status"] == "database busy")
            #expect(body?["reason"] == "every database connection is in use")

            release.open()
            for holder in holders { try await holder.value }
            let (after, _) = try await Self.health(catalog)
            #expect(after == .ok)
        }
    }

    /// A read that runs until its task is cancelled (or the statement timeout stops it).
    static let endlessSQLiteRead =
        ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c" as SQLFragment)
        .statement(.sqlite)

    @Test("SQLite's readers, saturated, fail fast as busy, and /health says so")
    func saturatedSQLiteReadersFailFastAsBusy() async throws {
        // The readers run until cancelled (or a minute): far longer than a call may wait. Eight CPU-bound readers on a
        // small machine delay the waiting call's own timer, so the bound below only has to tell failing fast from
        // waiting for a reader.
        let limits = DatabaseLimits(statementTimeout: .seconds(60), maximumWait: .milliseconds(300))
        try await TestCatalog.withFreshDatabase(.sqlite, limits: limits) { database in
            let readers = (0..<database.connectionCount).map { _ in
                Task {
                    try await database.withConnection { connection in
                        _ = try await connection.query(Self.endlessSQLiteRead)
                    }
                }
            }
            let sqlite = try #require(database as? SQLiteDatabase)
            try await eventually("every reader is in use") { sqlite.turns.holding(.read) == database.connectionCount }

            let started = ContinuousClock.now
            do {
                _ = try await database.withConnection { connection in
                    try await connection.query(("SELECT 1" as SQLFragment).statement(.sqlite))
                }
                Issue.record("a read ran while every reader was in use")
            } catch let error as DatabaseError {
                #expect(error.kind == .busy, "\(error)")
            }
            #expect(started.duration(to: .now) < .seconds(15))

            let catalog = Catalog(
                database: database,
                configuration: TestCatalog.configuration,
                logger: TestCatalog.logger
            )
            let (status, body) = try await Self.health(catalog)
            #expect(status == .serviceUnavailable)
            #expect(body?["status"] == "database busy")

            for reader in readers { reader.cancel() }
            for reader in readers { _ = await reader.result }
            let (after, _) = try await Self.health(catalog)
            #expect(after == .ok)
        }
    }

    @Test("a write waits for SQLite's writer at most the maximum wait, and reads go on meanwhile")
    func aWriteWaitsForTheSQLiteWriterAtMostTheMaximumWait() async throws {
        let limits = DatabaseLimits(maximumWait: .milliseconds(300))
        try await TestCatalog.with(.sqlite, configuration: Self.configuration(limits)) { catalog in
            let database = catalog.database
            let f = try await Fixture.make(catalog)
            let count = "SELECT COUNT(df) FROM Datafile df"
            let before = try await catalog.search(sessionId: f.root, query: count)[0]?.int64Value
            let release = Latch()
            let entered = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await database.withTransaction { _ in
                    entered.continuation.yield()
                    await release.wait()
                }
            }
            var arrivals = entered.stream.makeAsyncIterator()
            await arrivals.next()

            let started = ContinuousClock.now
            do {
                _ = try await catalog.create(sessionId: f.root, entity: JSON.datafile("late", dataset: f.dataset))
                Issue.record("a write ran while a transaction held the writer")
            } catch let error as CatalogError {
                #expect(error.type == .internal)
                #expect(error.message.contains("busy"), "\(error.message)")
            }
            #expect(started.duration(to: .now) < .seconds(10))
            let during = try await catalog.search(sessionId: f.root, query: count)[0]?.int64Value
            #expect(during == before, "reads go on while the writer is held")

            release.open()
            try await holder.value
            _ = try await catalog.create(sessionId: f.root, entity: JSON.datafile("late", dataset: f.dataset))
            let after = try await catalog.search(
                sessionId: f.root,
                query: "SELECT COUNT(df) FROM Datafile df WHERE df.name = 'late'"
            )
            #expect(after[0]?.int64Value == 1)
        }
    }

    @Test("the database limits are read from the configuration's database section")
    func theLimitsAreReadFromTheConfiguration() throws {
        let configured = try CatalogConfiguration(
            yaml: """
                authenticators: [{mnemonic: anon, anonymous: true}]
                database: {statementTimeoutSeconds: 1.5, maxWaitSeconds: 3, maxQueriesPerUser: 0}
                """
        )
        #expect(
            configured.database
                == DatabaseLimits(statementTimeout: .milliseconds(1500), maximumWait: .seconds(3), queriesPerUser: 0)
        )
        let defaults = try CatalogConfiguration(yaml: "authenticators: [{mnemonic: anon, anonymous: true}]")
        #expect(
            defaults.database
                == DatabaseLimits(statementTimeout: .seconds(30), maximumWait: .seconds(2), queriesPerUser: 4)
        )
        for wrong in [
            "{statementTimeoutSeconds: -1}", "{maxWaitSeconds: 0}", "{maxQueriesPerUser: 1.5}", "[1]",
            "{statementTimeout: 5}",
        ] {
            #expect(throws: ConfigurationError.self, "database: \(wrong)") {
                try CatalogConfiguration(
                    yaml: "authenticators: [{mnemonic: anon, anonymous: true}]\ndatabase: \(wrong)"
                )
            }
        }
    }

    /// `GET /health` of a server over `catalog`.
    static func health(_ catalog: Catalog) async throws -> (HTTPResponse.Status, JSON?) {
        let app = CatalogServer.application(
            catalog: catalog,
            service: CatalogService.make(catalog: catalog),
            configuration: ServerConfiguration(),
            metrics: RPCTests.metrics,
            logger: TestCatalog.logger
        )
        return try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                (response.status, try? JSON(parsing: String(buffer: response.body)))
            }
        }
    }
}

/// How many statements other than the asking one run in the catalog's PostgreSQL database.
func activeStatements(_ catalog: Catalog) async throws -> Int {
    let rows = try await catalog.database.withConnection { connection in
        try await connection.query(
            ("""
            SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' \
            AND pid <> pg_backend_pid()
            """ as SQLFragment).statement(.postgresql)
        )
    }
    return Int(rows[0][0].int64Value ?? -1)
}

/// Waits until `condition` holds, looking again every 20 ms; fails after `timeout`.
func eventually(
    _ what: String,
    timeout: Duration = .seconds(10),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("\(what): not within \(timeout)", sourceLocation: sourceLocation)
            throw TestSetupError("\(what): not within \(timeout)")
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}

/// A gate that tasks wait at until it is opened.
final class Latch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if isOpen { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A TCP connection to a local port through the C socket API: what a client that sends a request and hangs up
/// before the answer does.
final class RawHTTPClient {
    private var descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, streamSocket, 0)
        guard descriptor >= 0 else { throw TestSetupError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            _ = systemClose(descriptor)
            throw TestSetupError("connect() to port \(port) failed")
        }
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { systemSend(descriptor, $0.baseAddress, $0.count, 0) }
            guard written > 0 else { throw TestSetupError("send() failed") }
            sent += written
        }
    }

    func close() {
        if descriptor >= 0 { _ = systemClose(descriptor) }
        descriptor = -1
    }

    deinit { close() }
}
