import CatalogStore

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
    private let turns: Turnstile<String>

    init(limit: Int, maximumWait: Duration) {
        self.limit = limit
        self.maximumWait = maximumWait
        turns = Turnstile(permits: max(1, limit))
    }

    /// Runs `body` in one of `user`'s turns, waiting for one at most `maximumWait`.
    func run<R>(for user: String, _ body: () async throws -> R) async throws -> R {
        guard limit > 0 else { return try await body() }
        do {
            try await turns.enter(user, waitingAtMost: maximumWait)
        } catch .cancelled {
            throw CatalogError(.internal, "The call was cancelled")
        } catch {
            throw CatalogError(
                .internal,
                "Too many calls of \(user) at once: at most \(limit) may use the database together, and none "
                    + "finished within \(maximumWait); try again when one of them has"
            )
        }
        defer { turns.leave(user) }
        return try await body()
    }

    /// How many calls of `user` hold a turn now.
    func running(for user: String) -> Int { turns.holding(user) }

    /// How many calls of `user` wait for a turn now.
    func waiting(for user: String) -> Int { turns.waiting(user) }
}
