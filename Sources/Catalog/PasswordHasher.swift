import Foundation
import Synchronization

/// Checks passwords against their hashes on a few threads of its own.
///
/// A hash is made to be slow (hundreds of milliseconds of CPU). Run where requests are served, on Swift
/// concurrency's cooperative pool or an event loop, a burst of logins would stall every other request until it was
/// done. Here a login waits for one of `threads` dedicated threads instead; when more than `maxQueued` logins are
/// already waiting, it fails at once. The threads start with the first check and end when the hasher goes away.
final class PasswordHasher: Sendable {
    private let workers: HashWorkers
    private let finished = Atomic<Int>(0)

    init(threads: Int, maxQueued: Int) {
        workers = HashWorkers(threads: max(1, threads), maxQueued: max(0, maxQueued))
    }

    deinit { workers.stop() }

    /// Whether `password` is the one `hash` was made of; nil when too many checks are waiting already.
    func verify(_ password: String, against hash: PasswordHash) async -> Bool? {
        await withCheckedContinuation { continuation in
            let accepted = workers.submit { [self] in
                let matches = hash.verify(password)
                finished.add(1, ordering: .relaxed)
                continuation.resume(returning: matches)
            }
            if !accepted { continuation.resume(returning: nil) }
        }
    }

    /// The checks finished so far, counted before their logins go on.
    var verifications: Int { finished.load(ordering: .relaxed) }
}

/// The threads of a `PasswordHasher` and the checks waiting for them.
///
/// A thread pool of its own rather than a dispatch queue: dispatch's worker threads are shared, and their number
/// is not ours to bound. The state is guarded by `condition`.
private final class HashWorkers: @unchecked Sendable {
    private let condition = NSCondition()
    private let threads: Int
    private let maxQueued: Int
    private var waiting: [@Sendable () -> Void] = []
    private var started = 0
    private var busy = 0
    private var stopping = false

    init(threads: Int, maxQueued: Int) {
        self.threads = threads
        self.maxQueued = maxQueued
    }

    /// Queues `job`; false, and `job` is dropped, when every thread is busy and `maxQueued` jobs are waiting.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.withLock {
            guard !stopping, busy + waiting.count < threads + maxQueued else { return false }
            waiting.append(job)
            if started < threads {
                started += 1
                let thread = Thread { [self] in run() }
                thread.name = "icat-password-hash"
                thread.start()
            }
            condition.signal()
            return true
        }
    }

    /// Lets the threads finish what is queued, then end.
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    private func run() {
        while let job = next() {
            job()
            condition.withLock { busy -= 1 }
        }
    }

    private func next() -> (@Sendable () -> Void)? {
        condition.withLock {
            while waiting.isEmpty && !stopping { condition.wait() }
            guard !waiting.isEmpty else { return nil }
            busy += 1
            return waiting.removeFirst()
        }
    }
}
