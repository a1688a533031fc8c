import Logging
import Metrics

/// Decides whether a user's password is right, under the limits on failed logins.
///
/// - Hashes are checked on `PasswordHasher`'s threads, never on those that serve requests.
/// - A user name the authenticator does not know is checked against a dummy hash made like the authenticator's
///   own, so it costs as much as a wrong password and user names cannot be told apart by timing.
/// - Failed logins are limited per user name and per client address (`LoginThrottle`); a refused login checks no
///   password. A success forgets the user name's failures, not the address's.
/// - `/metrics` counts failures (`icat_login_failures_total`), refusals (`icat_login_throttled_total`, by user or
///   address) and logins turned away because too many were waiting for a hash thread (`icat_login_busy_total`).
final class LoginGuard: Sendable {
    let hasher: PasswordHasher
    let users: LoginThrottle
    let addresses: LoginThrottle
    /// By authenticator mnemonic: what an unknown user's password is checked against.
    private let dummies: [String: PasswordHash]
    private let failures: Counter
    private let throttledUsers: Counter
    private let throttledAddresses: Counter
    private let busy: Counter
    private let logger: Logger

    static let maxNameBytes = 255

    /// Metrics go to the factory bound when the guard is made (`MetricsSystem.factory`).
    init(configuration: LoginConfiguration, authenticators: [AuthenticatorConfiguration], logger: Logger) {
        hasher = PasswordHasher(threads: configuration.hashThreads, maxQueued: configuration.maxQueuedHashes)
        let window = Duration.seconds(configuration.windowSeconds)
        let backoff = Duration.seconds(configuration.backoffSeconds)
        let maxBackoff = Duration.seconds(configuration.maxBackoffSeconds)
        users = LoginThrottle(
            maxFailures: configuration.maxFailures,
            window: window,
            backoff: backoff,
            maxBackoff: maxBackoff
        )
        addresses = LoginThrottle(
            maxFailures: configuration.maxFailuresPerAddress,
            window: window,
            backoff: backoff,
            maxBackoff: maxBackoff
        )
        var dummies: [String: PasswordHash] = [:]
        for authenticator in authenticators {
            dummies[authenticator.mnemonic] = Self.dummy(like: authenticator.users)
        }
        self.dummies = dummies
        failures = Counter(label: "icat_login_failures_total")
        throttledUsers = Counter(label: "icat_login_throttled_total", dimensions: [("by", "user")])
        throttledAddresses = Counter(label: "icat_login_throttled_total", dimensions: [("by", "address")])
        busy = Counter(label: "icat_login_busy_total")
        self.logger = logger
    }

    /// Checks `password` for user `name` of `authenticator`. Throws SESSION when it is wrong, when the user name or
    /// the client address has failed too often lately, or when too many logins are waiting for a hash thread.
    func check(
        _ password: String,
        of name: String,
        in authenticator: AuthenticatorConfiguration,
        from clientAddress: String?
    ) async throws(CatalogError) {
        // ICAT's user names fit in 255 characters; longer ones would only make the throttle's keys large.
        guard name.utf8.count <= Self.maxNameBytes else {
            throw CatalogError(.session, "A username has at most \(Self.maxNameBytes) bytes")
        }
        let userName = "\(authenticator.mnemonic)/\(name)"
        if let wait = users.begin(userName) {
            throttledUsers.increment()
            logger.notice("login refused: too many failures", metadata: ["user": "\(userName)"])
            throw CatalogError(.session, "Too many failed logins for \(userName); retry \(Self.after(wait))")
        }
        if let clientAddress, let wait = addresses.begin(clientAddress) {
            users.abandoned(userName)
            throttledAddresses.increment()
            logger.notice("login refused: too many failures", metadata: ["address": "\(clientAddress)"])
            throw CatalogError(.session, "Too many failed logins from this address; retry \(Self.after(wait))")
        }
        let matches: Bool?
        switch authenticator.users[name] ?? dummies[authenticator.mnemonic].map(Credential.hashed) {
        case .plain(let expected)?: matches = constantTimeEqual(Array(expected.utf8), Array(password.utf8))
        case .hashed(let hash)?: matches = await hasher.verify(password, against: hash)
        case nil: matches = false
        }
        switch matches {
        case true?:
            users.succeeded(userName, resetting: true)
            if let clientAddress { addresses.succeeded(clientAddress, resetting: false) }
        case false?:
            users.failed(userName)
            if let clientAddress { addresses.failed(clientAddress) }
            failures.increment()
            logger.notice(
                "login failed",
                metadata: ["user": "\(userName)", "address": "\(clientAddress ?? "unknown")"]
            )
            throw CatalogError(.session, "The username and password do not match")
        case nil:
            users.abandoned(userName)
            if let clientAddress { addresses.abandoned(clientAddress) }
            busy.increment()
            throw CatalogError(.session, "Too many logins are being checked at once; retry in a moment")
        }
    }

    /// "in N seconds", N rounded up.
    private static func after(_ wait: Duration) -> String {
        let seconds = max(1, Int((wait / .seconds(1)).rounded(.up)))
        return seconds == 1 ? "in 1 second" : "in \(seconds) seconds"
    }

    /// A hash of nothing, with the algorithm, cost and lengths most of `users`' hashes have; nil when none is hashed.
    static func dummy(like users: [String: Credential]) -> PasswordHash? {
        var counts: [String: Int] = [:]
        var best: (hash: PasswordHash, count: Int)?
        for name in users.keys.sorted() {
            guard case .hashed(let hash) = users[name] else { continue }
            let kind = "\(hash.algorithm) \(hash.salt.count) \(hash.hash.count)"
            let count = counts[kind, default: 0] + 1
            counts[kind] = count
            if count > best?.count ?? 0 { best = (hash, count) }
        }
        guard let template = best?.hash else { return nil }
        var generator = SystemRandomNumberGenerator()
        func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in generator.next() } }
        return PasswordHash(
            algorithm: template.algorithm,
            salt: random(template.salt.count),
            hash: random(template.hash.count)
        )
    }
}
