import Catalog
import CatalogSQL
import CatalogStore
import Foundation
import JSONValue
import Testing

/// PostgreSQL going away and coming back, on a cluster of the test's own: calls fail fast with an error that
/// says so, `/health` answers 503 at once, calls work again when the server is back (no restart of the catalog),
/// and a write cut off by a crash leaves nothing behind.
@Suite("PostgreSQL faults", .timeLimit(.minutes(2)))
struct PostgresFaultTests {
    static let count = "SELECT COUNT(df) FROM Datafile df"

    @Test("while PostgreSQL is down calls fail fast and /health is 503; a write cut off leaves nothing")
    func callsFailFastWhileDownAndWorkWhenBack() async throws {
        let cluster = try await PrivatePostgres.start()
        do {
            let database = try await PostgresDatabase(
                url: cluster.url + "?maxConnections=4",
                logger: TestCatalog.logger
            )
            try await database.withRunning {
                try await Migrator.bundled(for: .postgresql).migrate(database, logger: TestCatalog.logger)
                let catalog = Catalog(
                    database: database,
                    configuration: TestCatalog.configuration,
                    logger: TestCatalog.logger
                )
                let f = try await Fixture.make(catalog)
                #expect(try await catalog.search(sessionId: f.root, query: Self.count) == [2])

                try await cluster.stop()
                try await Self.expectUnavailable(catalog, f)
                try await cluster.start()
                try await Self.expectWorking(catalog, f)

                try await Self.expectCrashMidWriteLeavesNothing(catalog, f, cluster: cluster)
            }
        } catch {
            await cluster.destroy()
            throw error
        }
        await cluster.destroy()
    }

    /// Calls fail within seconds with the unavailable error; `/health` says 503 at once.
    static func expectUnavailable(_ catalog: Catalog, _ f: Fixture) async throws {
        let started = ContinuousClock.now
        let error = await expectCatalogError(.internal) { try await catalog.search(sessionId: f.root, query: count) }
        #expect(error?.message == "The database is not available; the call can be retried when it is back")
        #expect(started.duration(to: .now) < .seconds(5), "the call took \(started.duration(to: .now))")

        for attempt in 0..<2 {
            let asked = ContinuousClock.now
            let (status, body) = try await DatabaseLimitsTests.health(catalog)
            #expect(status == .serviceUnavailable)
            #expect(body?["status"] == "database unavailable")
            #expect(body?["reason"] == "the database cannot be reached")
            #expect(asked.duration(to: .now) < .seconds(2), "health check \(attempt) took too long")
        }
    }

    /// Calls and `/health` work again, without a new catalog.
    static func expectWorking(_ catalog: Catalog, _ f: Fixture) async throws {
        let back = ContinuousClock.now
        try await eventually("calls work again") {
            (try? await catalog.search(sessionId: f.root, query: count)) == [2]
        }
        #expect(back.duration(to: .now) < .seconds(10), "calls worked again only after \(back.duration(to: .now))")
        let (status, _) = try await DatabaseLimitsTests.health(catalog)
        #expect(status == .ok)
    }

    /// A `createMany` stopped in its transaction by a crash of the server writes none of its objects. The write is
    /// held inside its transaction, after its rows went in, by a lock the test holds on their dataset.
    static func expectCrashMidWriteLeavesNothing(
        _ catalog: Catalog,
        _ f: Fixture,
        cluster: PrivatePostgres
    ) async throws {
        let locker = try await PostgresDatabase(url: cluster.url + "?maxConnections=1", logger: TestCatalog.logger)
        try await locker.withRunning {
            let release = Latch()
            let lock = Task {
                try await locker.withTransaction { connection in
                    let statement: SQLFragment = "SELECT id FROM dataset WHERE id = \(f.dataset) FOR UPDATE"
                    _ = try await connection.query(statement.statement(.postgresql))
                    await release.wait()
                }
            }
            try await eventually("the test holds the dataset's row") { try await lockedRows(catalog) == 1 }
            let entities = (0..<2000).map { JSON.datafile("crash-\($0)", dataset: f.dataset) }
            let write = Task { try await catalog.createMany(sessionId: f.root, entities: entities) }
            try await eventually("the write waits in its transaction, its rows written") {
                try await writesWaitingForALock(catalog) == 1
            }

            try await cluster.stop("immediate")
            let error = await expectCatalogError(.internal) { try await write.value }
            #expect(error?.message == "The database is not available; the call can be retried when it is back")
            release.open()
            _ = await lock.result
        }

        try await cluster.start()
        try await expectWorking(catalog, f)
        #expect(try await catalog.count("Datafile") == 2)
    }

    /// Row locks held by a transaction other than the asking one.
    static func lockedRows(_ catalog: Catalog) async throws -> Int {
        try await countActivity(catalog, "state = 'idle in transaction'")
    }

    /// Transactions that have written and now wait for a lock.
    static func writesWaitingForALock(_ catalog: Catalog) async throws -> Int {
        try await countActivity(catalog, "backend_xid IS NOT NULL AND wait_event_type = 'Lock'")
    }

    static func countActivity(_ catalog: Catalog, _ condition: SQLFragment) async throws -> Int {
        let rows = try await catalog.database.withConnection { connection in
            try await connection.query(
                ("SELECT COUNT(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND \(condition)" as SQLFragment)
                    .statement(.postgresql)
            )
        }
        return Int(rows[0][0].int64Value ?? -1)
    }
}
