/// How logins are guarded: the pool that checks password hashes, and the limits on failed logins.
///
/// Read from the configuration file's optional `logins` mapping; every key is optional. A limit of 0 turns that
/// limit off.
public struct LoginConfiguration: Sendable, Equatable {
    /// Failed logins for one user name (`mnemonic/name`) before its logins are refused for a while.
    public var maxFailures: Int
    /// Failed logins from one client address before its logins are refused for a while. Higher than
    /// `maxFailures` by default: several people may share an address.
    public var maxFailuresPerAddress: Int
    /// Failures count towards a limit until this long passes without a failure or a refusal period.
    public var windowSeconds: Double
    /// The first refusal period; each further failure while over the limit doubles it.
    public var backoffSeconds: Double
    /// The longest refusal period.
    public var maxBackoffSeconds: Double
    /// Threads of their own that check password hashes, so that hashing never takes a thread serving requests.
    public var hashThreads: Int
    /// Logins waiting for a hash thread beyond those being checked; past it a login fails at once.
    public var maxQueuedHashes: Int

    public init(
        maxFailures: Int = 5,
        maxFailuresPerAddress: Int = 20,
        windowSeconds: Double = 300,
        backoffSeconds: Double = 1,
        maxBackoffSeconds: Double = 900,
        hashThreads: Int = 2,
        maxQueuedHashes: Int = 32
    ) {
        self.maxFailures = maxFailures
        self.maxFailuresPerAddress = maxFailuresPerAddress
        self.windowSeconds = windowSeconds
        self.backoffSeconds = backoffSeconds
        self.maxBackoffSeconds = maxBackoffSeconds
        self.hashThreads = hashThreads
        self.maxQueuedHashes = maxQueuedHashes
    }

    /// Reads the `logins` mapping of a configuration file (nil when the file has none).
    init(yaml value: Any?) throws {
        self.init()
        guard let value else { return }
        guard let body = value as? [String: Any] else { throw ConfigurationError("logins must be a mapping") }
        let known: Set<String> = [
            "maxFailures", "maxFailuresPerAddress", "windowSeconds", "backoffSeconds", "maxBackoffSeconds",
            "hashThreads", "maxQueuedHashes",
        ]
        if let unknown = body.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigurationError("logins has no key '\(unknown)'")
        }
        func count(_ key: String, least: Int) throws -> Int? {
            guard let raw = body[key] else { return nil }
            guard let value = raw as? Int, value >= least else {
                throw ConfigurationError("logins.\(key) must be an integer of at least \(least)")
            }
            return value
        }
        func seconds(_ key: String) throws -> Double? {
            guard let raw = body[key] else { return nil }
            guard let value = (raw as? Double) ?? (raw as? Int).map(Double.init), value > 0, value.isFinite else {
                throw ConfigurationError("logins.\(key) must be a positive number of seconds")
            }
            return value
        }
        maxFailures = try count("maxFailures", least: 0) ?? maxFailures
        maxFailuresPerAddress = try count("maxFailuresPerAddress", least: 0) ?? maxFailuresPerAddress
        windowSeconds = try seconds("windowSeconds") ?? windowSeconds
        backoffSeconds = try seconds("backoffSeconds") ?? backoffSeconds
        maxBackoffSeconds = try seconds("maxBackoffSeconds") ?? maxBackoffSeconds
        hashThreads = try count("hashThreads", least: 1) ?? hashThreads
        maxQueuedHashes = try count("maxQueuedHashes", least: 0) ?? maxQueuedHashes
        guard maxBackoffSeconds >= backoffSeconds else {
            throw ConfigurationError("logins.maxBackoffSeconds must not be less than logins.backoffSeconds")
        }
    }
}
