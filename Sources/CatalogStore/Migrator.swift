import CatalogSQL
import Foundation
import Logging

/// One versioned SQL script under `Migrations/<dialect>/NNNN_name.sql`.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    /// The script's statements. Scripts are split where a line ends with `;`, so a statement must not end a
    /// line inside a string or a function body.
    public var statements: [String] {
        var result: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || (trimmed.isEmpty && current.isEmpty) { continue }
            current += line + "\n"
            if trimmed.hasSuffix(";") {
                result.append(String(current.trimmingCharacters(in: .whitespacesAndNewlines).dropLast()))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { result.append(rest) }
        return result
    }
}

/// Applies migrations in order and records each in `icat_schema_version`.
///
/// Safe on every start and from several servers at once: each migration runs in its own transaction that first
/// takes a lock (an advisory lock on PostgreSQL, the database's write lock on SQLite) and then checks the version
/// table, so a migration is applied exactly once.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// The migrations built into this binary from `Migrations/<dialect>/`.
    public static func bundled(for dialect: SQLDialect) throws -> Migrator {
        let prefix = "Migrations/\(dialect.rawValue)/"
        return try Migrator(files: EmbeddedFiles.contents.filter { $0.key.hasPrefix(prefix) })
    }

    /// Migrations from `NNNN_name.sql` files, by path and text.
    public init(files: [String: String]) throws {
        var migrations: [Migration] = []
        for (path, sql) in files where path.hasSuffix(".sql") {
            let stem = (path.split(separator: "/").last ?? "").dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw DatabaseError(.other, "migration file \(path) is not named NNNN_name.sql")
            }
            migrations.append(
                Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql)
            )
        }
        self.init(migrations: migrations)
    }

    /// Applies what is missing; returns the versions applied by this call.
    @discardableResult
    public func migrate(_ database: any Database, logger: Logger) async throws -> [Int] {
        var applied: [Int] = []
        for migration in migrations {
            let didApply = try await Self.waitingForTheWriter { () async throws -> Bool in
                try await database.withTransaction { connection in
                    let dialect = connection.dialect
                    if dialect == .postgresql {
                        // Waiting for another server's migration, or building an index on a large table, may take
                        // longer than a call's statement timeout.
                        try await connection.execute(
                            ("SET LOCAL statement_timeout = 0" as SQLFragment).statement(dialect)
                        )
                        try await connection.execute(
                            ("SELECT pg_advisory_xact_lock(727001)" as SQLFragment).statement(dialect)
                        )
                    }
                    let create: SQLFragment = """
                        CREATE TABLE IF NOT EXISTS "icat_schema_version" ("version" INTEGER PRIMARY KEY, \
                        "name" VARCHAR(255) NOT NULL, "applied_at" VARCHAR(32) NOT NULL)
                        """
                    try await connection.execute(create.statement(dialect))
                    let version = Int64(migration.version)
                    let check: SQLFragment = """
                        SELECT "version" FROM "icat_schema_version" WHERE "version" = \(version)
                        """
                    if try await !connection.query(check.statement(dialect)).isEmpty { return false }
                    for statement in migration.statements {
                        // A script's statements are SQL the project wrote, shipped in the binary.
                        let script: SQLFragment = "\(unescaped: statement)"
                        try await connection.execute(script.statement(dialect))
                    }
                    let appliedAt = SQLTimestamp.format(Date(), separator: "T", suffix: "Z")
                    let record: SQLFragment = """
                        INSERT INTO "icat_schema_version" ("version", "name", "applied_at") \
                        VALUES (\(version), \(migration.name), \(appliedAt))
                        """
                    try await connection.execute(record.statement(dialect))
                    return true
                }
            }
            if didApply {
                logger.info("applied migration \(migration.version) \(migration.name)")
                applied.append(migration.version)
            }
        }
        return applied
    }

    /// How long a migration waits, in turns of the database's longest wait, for a writer another server's (or
    /// another task's) migration holds: on SQLite the writer is held for the whole of a migration.
    static let longestWaitForTheWriter: Duration = .seconds(600)

    /// Runs `transaction` again while it fails because the writer (or every connection) stayed in use, for at most
    /// `longestWaitForTheWriter`; each try waits its turn in the order calls came.
    static func waitingForTheWriter<R>(_ transaction: () async throws -> R) async throws -> R {
        let deadline = ContinuousClock.now + longestWaitForTheWriter
        while true {
            do {
                return try await transaction()
            } catch let error as DatabaseError where error.kind == .busy && ContinuousClock.now < deadline {
                continue
            }
        }
    }
}
