import Synchronization

/// Failed logins counted per key (a user name or a client address), with refusal periods that grow.
///
/// Once `maxFailures` logins have failed, the key's logins are refused, without checking any password, for
/// `backoff`; after that each further failure refuses them again for twice as long as the time before, up to
/// `maxBackoff`. A key is forgotten when `window` passes after its last failure or refusal period. A login that is
/// being checked counts as a failure until it is decided, so that a burst of concurrent guesses gets no more checks
/// than one guess after another would.
final class LoginThrottle: Sendable {
    /// What a key has done lately.
    private struct Entry {
        var failures = 0
        var checking = 0
        var strikes = 0
        var lastFailure: ContinuousClock.Instant
        var blockedUntil: ContinuousClock.Instant?

        /// When the key may be forgotten, if nothing is being checked for it.
        var quietSince: ContinuousClock.Instant { max(lastFailure, blockedUntil ?? lastFailure) }
    }

    /// The most keys kept: past it, forgotten keys are dropped first, then keys that are not refused.
    static let capacity = 100_000

    let maxFailures: Int
    let window: Duration
    let backoff: Duration
    let maxBackoff: Duration
    private let entries = Mutex<[String: Entry]>([:])

    init(maxFailures: Int, window: Duration, backoff: Duration, maxBackoff: Duration) {
        self.maxFailures = maxFailures
        self.window = window
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// Starts checking a login for `key`; the time until its logins are accepted again when they are refused now.
    /// Each `begin` that returns nil is followed by exactly one of `failed`, `succeeded` or `abandoned`.
    func begin(_ key: String) -> Duration? {
        guard maxFailures > 0 else { return nil }
        let now = ContinuousClock.now
        return entries.withLock { entries in
            var entry = entries[key].flatMap { forgetting($0, now: now) } ?? Entry(lastFailure: now)
            if let until = entry.blockedUntil, until > now { return until - now }
            if entry.failures + entry.checking >= maxFailures { return delay(entry.strikes) }
            entry.checking += 1
            if entries[key] == nil { makeRoom(in: &entries, now: now) }
            entries[key] = entry
            return nil
        }
    }

    /// The login begun for `key` failed.
    func failed(_ key: String) {
        let now = ContinuousClock.now
        finish(key) { entry in
            entry.failures += 1
            entry.lastFailure = now
            if entry.failures >= maxFailures {
                entry.blockedUntil = now + delay(entry.strikes)
                entry.strikes += 1
                // One more failure after the refusal period refuses again.
                entry.failures = maxFailures - 1
            }
        }
    }

    /// The login begun for `key` succeeded: with `resetting`, the key's failures are forgotten.
    func succeeded(_ key: String, resetting: Bool) {
        finish(key) { entry in
            if resetting { entry = Entry(checking: entry.checking, lastFailure: entry.lastFailure) }
        }
    }

    /// The login begun for `key` was not decided (no hash thread was free).
    func abandoned(_ key: String) {
        finish(key) { _ in }
    }

    private func finish(_ key: String, _ change: (inout Entry) -> Void) {
        guard maxFailures > 0 else { return }
        entries.withLock { entries in
            guard var entry = entries[key] else { return }
            entry.checking -= 1
            change(&entry)
            let idle = entry.checking == 0 && entry.failures == 0 && entry.blockedUntil == nil
            entries[key] = idle ? nil : entry
        }
    }

    /// The keys kept now.
    var count: Int { entries.withLock { $0.count } }

    private func delay(_ strikes: Int) -> Duration {
        var delay = backoff
        for _ in 0..<min(strikes, 64) where delay < maxBackoff { delay *= 2 }
        return min(delay, maxBackoff)
    }

    /// The entry, or nil when it is old enough to be forgotten.
    private func forgetting(_ entry: Entry, now: ContinuousClock.Instant) -> Entry? {
        entry.checking == 0 && now - entry.quietSince > window ? nil : entry
    }

    private func makeRoom(in entries: inout [String: Entry], now: ContinuousClock.Instant) {
        guard entries.count >= Self.capacity else { return }
        entries = entries.filter { forgetting($0.value, now: now) != nil }
        guard entries.count >= Self.capacity * 9 / 10 else { return }
        var excess = entries.count - Self.capacity * 9 / 10
        for (key, entry) in entries where excess > 0 && entry.checking == 0 && (entry.blockedUntil ?? now) <= now {
            entries[key] = nil
            excess -= 1
        }
    }
}
