import CatalogSQL
import CatalogStore
import Foundation
import Synchronization

/// Sessions recently read from the database, by id, with when each was read.
///
/// A search costs one database round trip less when its session was checked within the window. The price: a
/// logout, or a change of rules, made through another server is seen by this one up to a window later. Changes
/// made through this server clear the cache at once. A window of zero turns the cache off.
final class SessionCache: Sendable {
    let entries = Mutex<[String: (session: Session, checked: ContinuousClock.Instant)]>([:])
    let window: Duration

    init(window: Duration) { self.window = window }

    func get(_ id: String, now: Date) -> Session? {
        let clock = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[id], clock - entry.checked < window, entry.session.expires > now else {
                return nil
            }
            return entry.session
        }
    }

    func put(_ id: String, _ session: Session) {
        let clock = ContinuousClock.now
        entries.withLock { entries in
            if entries.count > 100_000 { entries.removeAll() }
            entries[id] = (session, clock)
        }
    }

    func remove(_ id: String) { _ = entries.withLock { $0.removeValue(forKey: id) } }

    func removeAll() { entries.withLock { $0.removeAll() } }
}

/// A live session.
struct Session: Sendable {
    let userName: String
    let expires: Date
    /// The authorization rules' version when the session was looked up.
    let rulesVersion: Int64
}

/// Sessions kept in the database, so that several servers can share them.
///
/// A session id is 256 random bits from the system's secure generator, written as 64 hex digits.
struct SessionStore: Sendable {
    let database: any Database
    let lifetime: TimeInterval
    let cache: SessionCache

    init(database: any Database, lifetime: TimeInterval, cacheWindow: Duration) {
        self.database = database
        self.lifetime = lifetime
        self.cache = SessionCache(window: cacheWindow)
    }

    private var table: SQLFragment { "\(identifier: SchemaDDL.sessionTable)" }

    /// Starts a session for `userName` and returns its id.
    func open(for userName: String, now: Date = Date()) async throws -> String {
        var generator = SystemRandomNumberGenerator()
        let id = (0..<4).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
        try await database.withConnection { connection in
            // Expired sessions are swept whenever one is opened; the index on expires_at keeps this cheap.
            let sweep: SQLFragment = "DELETE FROM \(table) WHERE \(identifier: "expires_at") < \(now)"
            try await connection.execute(sweep.statement(connection.dialect))
            let insert: SQLFragment = """
                INSERT INTO \(table) (\(identifiers: ["id", "user_name", "expires_at"])) \
                VALUES (\(id), \(userName), \(now.addingTimeInterval(lifetime)))
                """
            try await connection.execute(insert.statement(connection.dialect))
        }
        return id
    }

    private static let hexDigits = Set("0123456789abcdef".utf8)

    /// Whether `id` has the exact form `open` gives ids: 64 lowercase hexadecimal digits.
    static func isWellFormed(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { hexDigits.contains($0) }
    }

    /// The user of a live session, when it expires, and the version of the authorization rules (read in the
    /// same statement, so that checking a session also tells whether compiled rules are stale); `SESSION` when the
    /// session is unknown or has expired, or the id is not of the form sessions have (then without a lookup).
    func lookup(_ sessionId: String, now: Date = Date()) async throws -> Session {
        guard Self.isWellFormed(sessionId) else {
            throw CatalogError(.session, "Unable to find user by sessionid: not a session id (64 hexadecimal digits)")
        }
        if let session = cache.get(sessionId, now: now) { return session }
        let rows = try await database.withConnection { connection in
            let select: SQLFragment = """
                SELECT \(identifier: "user_name"), \(identifier: "expires_at"), \
                (SELECT \(identifier: "version") FROM \(identifier: "icat_rules_version") WHERE \(identifier: "id") = 1) \
                FROM \(table) WHERE \(identifier: "id") = \(sessionId)
                """
            return try await connection.query(select.statement(connection.dialect))
        }
        guard let row = rows.first, let userName = row[0].stringValue, let expires = row[1].dateValue, expires > now
        else {
            throw CatalogError(.session, "Unable to find user by sessionid: \(sessionId)")
        }
        let session = Session(userName: userName, expires: expires, rulesVersion: row[2].int64Value ?? 0)
        cache.put(sessionId, session)
        return session
    }

    /// Extends a live session by the full lifetime.
    func refresh(_ sessionId: String, now: Date = Date()) async throws {
        _ = try await lookup(sessionId, now: now)
        cache.remove(sessionId)
        try await database.withConnection { connection in
            let update: SQLFragment = """
                UPDATE \(table) SET \(identifier: "expires_at") = \(now.addingTimeInterval(lifetime)) \
                WHERE \(identifier: "id") = \(sessionId)
                """
            try await connection.execute(update.statement(connection.dialect))
        }
    }

    /// Ends a session; `SESSION` when it is unknown or has expired.
    func close(_ sessionId: String) async throws {
        _ = try await lookup(sessionId)
        cache.remove(sessionId)
        try await database.withConnection { connection in
            let delete: SQLFragment = "DELETE FROM \(table) WHERE \(identifier: "id") = \(sessionId)"
            try await connection.execute(delete.statement(connection.dialect))
        }
    }
}
