import CatalogStore
import Foundation
import Yams

/// The server's catalog settings, read from the configuration file (YAML; JSON is valid YAML).
public struct CatalogConfiguration: Sendable {
    /// Users (`mnemonic/name`) who may do everything.
    public var rootUserNames: Set<String>
    /// How long a session lives without a `refresh`.
    public var lifetimeMinutes: Int
    /// The most objects one search may return, counting INCLUDEd ones.
    public var maxEntities: Int
    public var authenticators: [AuthenticatorConfiguration]
    /// How long a server may rely on a session it has checked (and on the rules version read with it) before
    /// checking again: a logout or a rule change made through another server reaches this one within it.
    /// Zero checks on every call.
    public var sessionCacheSeconds: Double
    public var authorization: AuthorizationConfiguration
    /// The hash threads and the limits on failed logins.
    public var logins = LoginConfiguration()
    /// The bounds on database work (`database:` in the file): the statement timeout, the longest wait for a
    /// connection, and how many calls one user may have at the database at once.
    public var database: DatabaseLimits

    public init(
        rootUserNames: Set<String>,
        lifetimeMinutes: Int = 120,
        maxEntities: Int = 10000,
        authenticators: [AuthenticatorConfiguration],
        sessionCacheSeconds: Double = 1,
        authorization: AuthorizationConfiguration = AuthorizationConfiguration(),
        database: DatabaseLimits = DatabaseLimits()
    ) {
        self.rootUserNames = rootUserNames
        self.lifetimeMinutes = lifetimeMinutes
        self.maxEntities = maxEntities
        self.authenticators = authenticators
        self.sessionCacheSeconds = sessionCacheSeconds
        self.authorization = authorization
        self.database = database
    }

    /// The development set-up used when no file is given: `simple/root` with password `secret`, and `anon`.
    public static let development = CatalogConfiguration(
        rootUserNames: ["simple/root"],
        authenticators: [
            AuthenticatorConfiguration(mnemonic: "simple", users: ["root": .plain("secret")], anonymous: false),
            AuthenticatorConfiguration(mnemonic: "anon", users: [:], anonymous: true),
        ]
    )

    public init(yaml: String) throws {
        guard let root = try Yams.load(yaml: yaml) as? [String: Any] else {
            throw ConfigurationError("the configuration must be a mapping")
        }
        let roots = root["rootUserNames"] as? [String] ?? []
        let lifetime = root["lifetimeMinutes"] as? Int ?? 120
        let maxEntities = root["maxEntities"] as? Int ?? 10000
        let cacheSeconds =
            (root["sessionCacheSeconds"] as? Double) ?? (root["sessionCacheSeconds"] as? Int).map(Double.init) ?? 1
        guard cacheSeconds >= 0 else { throw ConfigurationError("sessionCacheSeconds must not be negative") }
        guard lifetime > 0 else { throw ConfigurationError("lifetimeMinutes must be positive") }
        guard maxEntities > 0 else { throw ConfigurationError("maxEntities must be positive") }
        var authenticators: [AuthenticatorConfiguration] = []
        for (index, item) in (root["authenticators"] as? [Any] ?? []).enumerated() {
            guard let body = item as? [String: Any], let mnemonic = body["mnemonic"] as? String, !mnemonic.isEmpty
            else {
                throw ConfigurationError("authenticators[\(index)] needs a mnemonic")
            }
            var users: [String: Credential] = [:]
            for (name, value) in body["users"] as? [String: Any] ?? [:] {
                guard let spec = value as? [String: Any] else {
                    throw ConfigurationError("user \(mnemonic)/\(name) must be a mapping")
                }
                if let password = spec["password"] as? String {
                    users[name] = .plain(password)
                } else if let hash = spec["passwordHash"] as? String {
                    guard let parsed = PasswordHash(phc: hash) else {
                        throw ConfigurationError(
                            "user \(mnemonic)/\(name): passwordHash is not a PHC pbkdf2-sha256 or scrypt string"
                        )
                    }
                    users[name] = .hashed(parsed)
                } else {
                    throw ConfigurationError("user \(mnemonic)/\(name) needs password or passwordHash")
                }
            }
            authenticators.append(
                AuthenticatorConfiguration(
                    mnemonic: mnemonic,
                    users: users,
                    anonymous: body["anonymous"] as? Bool ?? false
                )
            )
        }
        if Set(authenticators.map(\.mnemonic)).count != authenticators.count {
            throw ConfigurationError("authenticator mnemonics must be unique")
        }
        self.init(
            rootUserNames: Set(roots),
            lifetimeMinutes: lifetime,
            maxEntities: maxEntities,
            authenticators: authenticators,
            sessionCacheSeconds: cacheSeconds,
            authorization: try AuthorizationConfiguration(yaml: root["authorization"]),
            database: try Self.databaseLimits(root["database"])
        )
        logins = try LoginConfiguration(yaml: root["logins"])
    }

    /// `database: {statementTimeoutSeconds: 30, maxWaitSeconds: 2, maxQueriesPerUser: 4}`, each optional.
    static func databaseLimits(_ section: Any?) throws -> DatabaseLimits {
        var limits = DatabaseLimits()
        guard let section else { return limits }
        guard let body = section as? [String: Any] else { throw ConfigurationError("database must be a mapping") }
        let known: Set<String> = ["statementTimeoutSeconds", "maxWaitSeconds", "maxQueriesPerUser"]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError("database has no key '\(unknown)'")
        }
        func seconds(_ key: String) throws -> Duration? {
            guard let value = body[key] else { return nil }
            guard let number = (value as? Double) ?? (value as? Int).map(Double.init), number >= 0 else {
                throw ConfigurationError("database.\(key) must be a number of seconds, not negative")
            }
            return .milliseconds(Int64((number * 1000).rounded()))
        }
        if let timeout = try seconds("statementTimeoutSeconds") { limits.statementTimeout = timeout }
        if let wait = try seconds("maxWaitSeconds") {
            guard wait > .zero else { throw ConfigurationError("database.maxWaitSeconds must be positive") }
            limits.maximumWait = wait
        }
        if let perUser = body["maxQueriesPerUser"] {
            guard let count = perUser as? Int, count >= 0 else {
                throw ConfigurationError("database.maxQueriesPerUser must be a whole number, 0 for no limit")
            }
            limits.queriesPerUser = count
        }
        return limits
    }

    public init(contentsOf url: URL) throws {
        try self.init(yaml: String(contentsOf: url, encoding: .utf8))
    }
}

/// How searches are restricted to what their caller may read (`authorization:` in the configuration file).
public struct AuthorizationConfiguration: Sendable {
    /// False (the default, ICAT's meaning): READ rules restrict the entity a search and each of its subqueries
    /// select; joined variables may be filtered on without being readable, as ICAT's portals expect. True: every
    /// variable a search names is restricted too, as PostgreSQL's row-level security restricts every table a
    /// statement reads, so that nothing can be inferred through a join.
    public var restrictJoins: Bool

    public init(restrictJoins: Bool = false) {
        self.restrictJoins = restrictJoins
    }

    init(yaml value: Any?) throws {
        guard let value else {
            self.init()
            return
        }
        guard let body = value as? [String: Any] else {
            throw ConfigurationError("authorization must be a mapping, e.g. {restrictJoins: true}")
        }
        for key in body.keys where key != "restrictJoins" {
            throw ConfigurationError("authorization: unknown key '\(key)'; the only one is restrictJoins")
        }
        var restrictJoins = false
        if let flag = body["restrictJoins"] {
            guard let flag = flag as? Bool else {
                throw ConfigurationError("authorization.restrictJoins must be true or false")
            }
            restrictJoins = flag
        }
        self.init(restrictJoins: restrictJoins)
    }
}

/// A configuration file that cannot be used, and why.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One authenticator: a mnemonic (the login `plugin`) with its users, or an anonymous one.
public struct AuthenticatorConfiguration: Sendable {
    public var mnemonic: String
    public var users: [String: Credential]
    /// Any credentials log in as `<mnemonic>/anon`.
    public var anonymous: Bool

    public init(mnemonic: String, users: [String: Credential], anonymous: Bool) {
        self.mnemonic = mnemonic
        self.users = users
        self.anonymous = anonymous
    }
}

/// How a user's password is checked.
public enum Credential: Sendable {
    /// A plain password, for development set-ups.
    case plain(String)
    case hashed(PasswordHash)
}

func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count { difference |= a[i] ^ b[i] }
    return difference == 0
}
