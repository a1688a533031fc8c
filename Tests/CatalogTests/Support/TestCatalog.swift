import Catalog
import CatalogSQL
import CatalogStore
import Foundation
import JSONValue
import Logging
import Testing

/// The databases every behaviour test runs on.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case postgresql
    case sqlite

    var testDescription: String { rawValue }
}

/// A catalog on a new, empty, migrated database of one backend, dropped afterwards.
///
/// PostgreSQL comes from `ICAT_TEST_POSTGRES_URL`, which `Tools/test.sh` sets after starting a throwaway cluster.
/// Its absence is a failure, never a skip: the suite must prove the behaviour on both databases.
enum TestCatalog {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    static let configuration: CatalogConfiguration = {
        let fastHash = try! PasswordHash.make(password: "hashed-secret", algorithm: .pbkdf2SHA256(iterations: 1000))
        let scryptHash = try! PasswordHash.make(password: "scrypt-secret", algorithm: .scrypt(logN: 4, r: 8, p: 1))
        return CatalogConfiguration(
            rootUserNames: ["simple/root"],
            lifetimeMinutes: 120,
            maxEntities: 10000,
            authenticators: [
                AuthenticatorConfiguration(
                    mnemonic: "simple",
                    users: [
                        "root": .plain("secret"), "alice": .plain("alice-pw"), "hashed": .hashed(fastHash),
                        "scrypted": .hashed(scryptHash),
                    ],
                    anonymous: false
                ),
                AuthenticatorConfiguration(mnemonic: "anon", users: [:], anonymous: true),
                // The users of python-icat's example data, each with their name as password.
                AuthenticatorConfiguration(
                    mnemonic: "db",
                    users: Dictionary(
                        uniqueKeysWithValues: ["acord", "ahau", "jbotu", "jdoe", "nbour", "rbeck"].map {
                            ($0, .plain($0))
                        }
                    ),
                    anonymous: false
                ),
            ]
        )
    }()

    /// Runs `body` with a catalog on a fresh database.
    static func with<R: Sendable>(
        _ backend: Backend,
        configuration: CatalogConfiguration = configuration,
        _ body: (Catalog) async throws -> R
    ) async throws -> R {
        try await withFreshDatabase(backend, limits: configuration.database) { database in
            try await Migrator.bundled(for: database.dialect).migrate(database, logger: logger)
            return try await body(Catalog(database: database, configuration: configuration, logger: logger))
        }
    }

    /// Runs `body` on a new empty (unmigrated) database, running: a temporary SQLite file, or a new PostgreSQL
    /// database on the test cluster, opened with `postgresOptions` (the URL's query) and `limits`; removed after.
    static func withFreshDatabase<R: Sendable>(
        _ backend: Backend,
        postgresOptions: String = "maxConnections=4",
        limits: DatabaseLimits = DatabaseLimits(),
        _ body: (any Database) async throws -> R
    ) async throws -> R {
        let name = "icat_t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        switch backend {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(name)
            defer { try? FileManager.default.removeItem(at: directory) }
            let database = try SQLiteDatabase(
                path: directory.appendingPathComponent("catalog.sqlite").path,
                limits: limits,
                logger: logger
            )
            return try await database.withRunning { try await body(database) }
        case .postgresql:
            let base = try postgresURL()
            try await PostgresAdmin.shared.execute("CREATE DATABASE \(identifier: name)", on: base)
            let drop: SQLFragment = "DROP DATABASE IF EXISTS \(identifier: name) WITH (FORCE)"
            do {
                let url = replacingDatabase(in: base, with: String(name))
                let database = try await PostgresDatabase(
                    url: url + "?" + postgresOptions,
                    limits: limits,
                    logger: logger
                )
                let result = try await database.withRunning { try await body(database) }
                try? await PostgresAdmin.shared.execute(drop, on: base)
                return result
            } catch {
                try? await PostgresAdmin.shared.execute(drop, on: base)
                throw error
            }
        }
    }

    static func postgresURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["ICAT_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw TestSetupError(
                "ICAT_TEST_POSTGRES_URL is not set: run the suite with Tools/test.sh, which starts PostgreSQL"
            )
        }
        return url
    }

    static func replacingDatabase(in url: String, with name: String) -> String {
        var components = URLComponents(string: url)!
        components.path = "/" + name
        components.query = nil
        return components.string!
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One connection pool to the test cluster's base database, for creating and dropping test databases. It runs
/// for as long as the test process does.
actor PostgresAdmin {
    static let shared = PostgresAdmin()
    private var database: PostgresDatabase?

    func execute(_ sql: SQLFragment, on url: String) async throws {
        if database == nil {
            let opened = try await PostgresDatabase(url: url + "?maxConnections=2", logger: TestCatalog.logger)
            Task { await opened.run() }
            database = opened
        }
        try await database!.withConnection { connection in
            try await connection.execute(sql.statement(.postgresql))
        }
    }
}

/// Expects `body` to fail with a catalog error of `type`, and returns it for further checks.
@discardableResult
func expectCatalogError<R>(
    _ type: CatalogErrorType,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> R
) async -> CatalogError? {
    do {
        let result = try await body()
        Issue.record("expected \(type.rawValue) but the call succeeded with \(result)", sourceLocation: sourceLocation)
        return nil
    } catch let error as CatalogError {
        #expect(error.type == type, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(type.rawValue) but got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
