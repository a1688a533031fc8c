import Synchronization

/// At most `permits` holders at once for each key; a caller past them waits its turn, in the order callers came,
/// for at most a given time, and is then refused.
///
/// The catalog limits each user's calls with it (keyed by user name); the SQLite driver bounds its writer and its
/// reader connections with it (one key), so that a caller waits for a connection no longer than PostgreSQL's pool
/// lets it. A turn is handed from the caller that leaves directly to the first waiting one, so a newcomer never
/// overtakes a waiting caller.
public final class Turnstile<Key: Hashable & Sendable>: Sendable {
    /// Why a caller was not let in.
    public enum Refusal: Error, Sendable, Equatable {
        /// No turn came within the time the caller could wait.
        case timedOut
        /// The caller's task was cancelled while it waited.
        case cancelled
    }

    /// How many callers of a key may hold a turn at once.
    public let permits: @Sendable (Key) -> Int
    private let state = Mutex(State())

    private struct State {
        var keys: [Key: Turns] = [:]
        var lastTicket = 0
        /// Tickets handed out whose callers have not yet started waiting.
        var arriving: Set<Int> = []
        /// Tickets that timed out or were cancelled before their callers started waiting.
        var expired: Set<Int> = []
    }

    private struct Turns {
        var holding = 0
        var waiting: [(ticket: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    }

    /// A turnstile that lets `permits(key)` callers of each key in at once (at least one).
    public init(permits: @escaping @Sendable (Key) -> Int) {
        self.permits = { max(1, permits($0)) }
    }

    /// A turnstile that lets `permits` callers of each key in at once.
    public convenience init(permits: Int) {
        self.init(permits: { _ in permits })
    }

    /// Runs `body` in a turn of `key`, waiting for one at most `maximumWait`.
    public func withTurn<R>(
        _ key: Key,
        waitingAtMost maximumWait: Duration,
        _ body: () async throws -> R
    ) async throws -> R {
        try await enter(key, waitingAtMost: maximumWait)
        defer { leave(key) }
        return try await body()
    }

    /// Takes a turn of `key`, waiting for one at most `maximumWait`; every successful call is paired with `leave`.
    public func enter(_ key: Key, waitingAtMost maximumWait: Duration) async throws(Refusal) {
        let permits = permits(key)
        let ticket: Int? = state.withLock { state in
            if state.keys[key, default: Turns()].holding < permits {
                state.keys[key, default: Turns()].holding += 1
                return nil
            }
            state.lastTicket += 1
            state.arriving.insert(state.lastTicket)
            return state.lastTicket
        }
        guard let ticket else { return }
        let granted = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: maximumWait)
                self.expire(ticket, of: key)
            }
            let granted = await withTaskCancellationHandler {
                await withCheckedContinuation { self.wait(ticket, of: key, $0) }
            } onCancel: {
                self.expire(ticket, of: key)
            }
            group.cancelAll()
            return granted
        }
        guard granted else { throw Task.isCancelled ? .cancelled : .timedOut }
    }

    /// Gives back a turn of `key`: to its first waiting caller, or free.
    public func leave(_ key: Key) {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard var turns = state.keys[key] else { return nil }
            defer { state.keys[key] = turns.holding > 0 || !turns.waiting.isEmpty ? turns : nil }
            if turns.waiting.isEmpty {
                turns.holding -= 1
                return nil
            }
            return turns.waiting.removeFirst().continuation
        }
        next?.resume(returning: true)
    }

    /// How many callers of `key` hold a turn now.
    public func holding(_ key: Key) -> Int {
        state.withLock { $0.keys[key]?.holding ?? 0 }
    }

    /// How many callers of `key` wait for a turn now.
    public func waiting(_ key: Key) -> Int {
        state.withLock { $0.keys[key]?.waiting.count ?? 0 }
    }

    /// Queues `ticket`, unless it expired meanwhile or a turn came free since it was handed out.
    private func wait(_ ticket: Int, of key: Key, _ continuation: CheckedContinuation<Bool, Never>) {
        let permits = permits(key)
        let granted = state.withLock { state -> Bool? in
            state.arriving.remove(ticket)
            if state.expired.remove(ticket) != nil { return false }
            if state.keys[key, default: Turns()].holding < permits {
                state.keys[key, default: Turns()].holding += 1
                return true
            }
            state.keys[key, default: Turns()].waiting.append((ticket, continuation))
            return nil
        }
        if let granted { continuation.resume(returning: granted) }
    }

    /// Ends the wait of `ticket`, unless it has its turn already.
    private func expire(_ ticket: Int, of key: Key) {
        let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.arriving.contains(ticket) {
                state.expired.insert(ticket)
                return nil
            }
            guard let index = state.keys[key]?.waiting.firstIndex(where: { $0.ticket == ticket }) else { return nil }
            return state.keys[key]?.waiting.remove(at: index).continuation
        }
        continuation?.resume(returning: false)
    }
}
