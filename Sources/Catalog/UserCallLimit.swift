import Synchronization

/// At most `limit` calls of one user at the database at once, so that one user cannot hold every connection while
/// others wait. A call past the limit waits for one of the user's calls to finish, in the order the calls came,
/// for at most `maximumWait`; then it fails. A limit of zero limits nothing.
///
/// Waiting rather than refusing at once keeps an ingestion account's parallel clients working (they take turns)
/// while the pool stays shared: 64 clients of four users were refused four calls in five with a limit that did not
/// wait (`Tools/load-and-fault.sh`).
final class UserCallLimit: Sendable {
    let limit: Int
    let maximumWait: Duration
    private let state = Mutex(State())

    private struct State {
        var users: [String: Turns] = [:]
        var lastTicket = 0
        /// Tickets handed out whose calls have not yet started waiting.
        var arriving: Set<Int> = []
        /// Tickets that timed out or were cancelled before their calls started waiting.
        var expired: Set<Int> = []
    }

    private struct Turns {
        var running = 0
        var waiting: [(ticket: Int, continuation: CheckedContinuation<Bool, Never>)] = []
    }

    init(limit: Int, maximumWait: Duration) {
        self.limit = limit
        self.maximumWait = maximumWait
    }

    /// Runs `body` in one of `user`'s turns, waiting for one at most `maximumWait`.
    func run<R>(for user: String, _ body: () async throws -> R) async throws -> R {
        guard limit > 0 else { return try await body() }
        try await acquire(user)
        defer { release(user) }
        return try await body()
    }

    /// How many calls of `user` hold a turn now.
    func running(for user: String) -> Int {
        state.withLock { $0.users[user]?.running ?? 0 }
    }

    /// How many calls of `user` wait for a turn now.
    func waiting(for user: String) -> Int {
        state.withLock { $0.users[user]?.waiting.count ?? 0 }
    }

    private func acquire(_ user: String) async throws {
        let limit = limit
        let ticket: Int? = state.withLock { state in
            if state.users[user, default: Turns()].running < limit {
                state.users[user, default: Turns()].running += 1
                return nil
            }
            state.lastTicket += 1
            state.arriving.insert(state.lastTicket)
            return state.lastTicket
        }
        guard let ticket else { return }
        let granted = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(for: self.maximumWait)
                self.expire(ticket, of: user)
            }
            let granted = await withTaskCancellationHandler {
                await withCheckedContinuation { self.wait(ticket, of: user, $0) }
            } onCancel: {
                self.expire(ticket, of: user)
            }
            group.cancelAll()
            return granted
        }
        guard granted else {
            if Task.isCancelled { throw CatalogError(.internal, "The call was cancelled") }
            throw CatalogError(
                .internal,
                "Too many calls of \(user) at once: at most \(limit) may use the database together, and none "
                    + "finished within \(maximumWait); try again when one of them has"
            )
        }
    }

    private func wait(_ ticket: Int, of user: String, _ continuation: CheckedContinuation<Bool, Never>) {
        let expired = state.withLock { state in
            state.arriving.remove(ticket)
            if state.expired.remove(ticket) != nil { return true }
            state.users[user, default: Turns()].waiting.append((ticket, continuation))
            return false
        }
        if expired { continuation.resume(returning: false) }
    }

    /// Ends the wait of `ticket`, unless it has its turn already.
    private func expire(_ ticket: Int, of user: String) {
        let continuation = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.arriving.contains(ticket) {
                state.expired.insert(ticket)
                return nil
            }
            guard let index = state.users[user]?.waiting.firstIndex(where: { $0.ticket == ticket }) else {
                return nil
            }
            return state.users[user]?.waiting.remove(at: index).continuation
        }
        continuation?.resume(returning: false)
    }

    /// Hands the turn to the user's first waiting call, or gives it back.
    private func release(_ user: String) {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard var turns = state.users[user] else { return nil }
            defer { state.users[user] = turns.running > 0 || !turns.waiting.isEmpty ? turns : nil }
            if turns.waiting.isEmpty {
                turns.running -= 1
                return nil
            }
            return turns.waiting.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}
