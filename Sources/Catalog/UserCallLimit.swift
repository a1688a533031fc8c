import Synchronization

/// At most `limit` calls of one user at the database at once, so that one user cannot hold every connection while
/// others wait. A call past the limit fails at once, without waiting. A limit of zero limits nothing.
final class UserCallLimit: Sendable {
    let limit: Int
    private let running = Mutex<[String: Int]>([:])

    init(limit: Int) {
        self.limit = limit
    }

    /// Runs `body` in one of `user`'s turns; throws when `user` already has `limit` calls running.
    func run<R>(for user: String, _ body: () async throws -> R) async throws -> R {
        guard limit > 0 else { return try await body() }
        let admitted = running.withLock { running in
            guard running[user, default: 0] < limit else { return false }
            running[user, default: 0] += 1
            return true
        }
        guard admitted else {
            throw CatalogError(
                .internal,
                "Too many calls of \(user) at once: at most \(limit) may use the database together; "
                    + "try again when one of them has finished"
            )
        }
        defer {
            running.withLock { running in
                let left = running[user, default: 1] - 1
                running[user] = left > 0 ? left : nil
            }
        }
        return try await body()
    }

    /// How many calls of `user` hold a turn now.
    func running(for user: String) -> Int {
        running.withLock { $0[user, default: 0] }
    }
}
