import DataStore
import Foundation
import JSONValue
import Logging
import Metrics

/// Moves datasets between the main store and the archive tier, one at a time, in the background: `archive` copies
/// a dataset's bytes to the archive tier and then drops them from the main store; `restore` copies them back,
/// checking each copy's CRC32 and SHA-256 against what was stored; `write` only copies to the archive tier.
actor TierMover {
    enum Move: String, Sendable {
        case archive = "ARCHIVE"
        case restore = "RESTORE"
        case write = "WRITE"
    }

    struct Job: Hashable, Sendable {
        var move: Move
        var datasetId: Int64
    }

    let ledger: StorageLedger
    let configuration: DataServiceConfiguration
    let sweeper: StorageSweeper
    let logger: Logger
    private let mismatches = Counter(label: "ids_checksum_mismatches_total")
    private var queue: [Job] = []
    private var running: Job?
    private var failures: [Int64: String] = [:]
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    private let (signals, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    init(ledger: StorageLedger, configuration: DataServiceConfiguration, sweeper: StorageSweeper, logger: Logger) {
        self.ledger = ledger
        self.configuration = configuration
        self.sweeper = sweeper
        self.logger = logger
    }

    func enqueue(_ move: Move, datasetId: Int64) {
        guard configuration.archive != nil else { return }
        let job = Job(move: move, datasetId: datasetId)
        guard running != job, !queue.contains(job) else { return }
        queue.append(job)
        signal.yield()
    }

    /// Marks an archived dataset RESTORING (at once, for every server to see) and queues its restore.
    func requestRestore(datasetId: Int64) async {
        guard configuration.archive != nil else { return }
        do {
            _ = try await ledger.changeStatus(of: datasetId, from: .archived, to: .restoring)
        } catch {
            logger.warning("data service: cannot mark Dataset[id:\(datasetId)] restoring: \(error)")
        }
        enqueue(.restore, datasetId: datasetId)
    }

    func forgetFailures(_ datasetIds: Set<Int64>) {
        for id in datasetIds { failures[id] = nil }
    }

    /// IDS's service status: the queued moves and the datasets whose last move failed.
    func status() -> JSON {
        let queued = ([running].compactMap { $0 } + queue).map { job -> JSON in
            ["data": .string("Dataset[id:\(job.datasetId)]"), "request": .string(job.move.rawValue)]
        }
        let failed = failures.keys.sorted().map { JSON.int($0) }
        return ["opsQueue": .array(queued), "failures": .array(failed)]
    }

    /// Returns once nothing is queued or moving.
    func settled() async {
        if queue.isEmpty && running == nil { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    /// Queues again the restores a stopped server left half done.
    func resumeRestores() async {
        guard configuration.archive != nil else { return }
        do {
            for id in try await ledger.datasets(in: .restoring) { enqueue(.restore, datasetId: id) }
        } catch {
            logger.warning("data service: cannot read the datasets being restored: \(error)")
        }
    }

    func run() async {
        for await _ in signals {
            while !queue.isEmpty, !Task.isCancelled {
                let job = queue.removeFirst()
                running = job
                await perform(job)
                running = nil
            }
            if queue.isEmpty {
                for waiter in idleWaiters { waiter.resume() }
                idleWaiters.removeAll()
            }
        }
    }

    private func perform(_ job: Job) async {
        guard let archive = configuration.archive else { return }
        do {
            switch job.move {
            case .write:
                try await copyToArchive(job.datasetId, archive)
            case .archive:
                guard try await ledger.statuses(of: [job.datasetId]).isEmpty else { return }
                try await copyToArchive(job.datasetId, archive)
                try await ledger.setStatus(.archived, of: job.datasetId)
                for bytes in try await ledger.storedBytes(inDataset: job.datasetId) where bytes.location != nil {
                    try await ledger.dropLocation(of: bytes.datafileId)
                }
                await sweeper.removeOrphans()
            case .restore:
                for bytes in try await ledger.storedBytes(inDataset: job.datasetId) where bytes.location == nil {
                    guard let from = bytes.archiveLocation else { continue }
                    let key = try await copy(bytes, from: from, in: archive, to: configuration.main, tier: "main")
                    if try await ledger.setLocation(key, of: bytes.datafileId) {
                        try await ledger.endUpload(key)
                    } else {
                        try await ledger.abandonUpload(key)
                        await sweeper.removeOrphans(of: key)
                    }
                }
                _ = try await ledger.changeStatus(of: job.datasetId, from: .restoring, to: .online)
            }
            failures[job.datasetId] = nil
        } catch {
            failures[job.datasetId] = "\(error)"
            logger.error("data service: \(job.move.rawValue) of Dataset[id:\(job.datasetId)] failed: \(error)")
            if job.move == .restore {
                _ = try? await ledger.changeStatus(of: job.datasetId, from: .restoring, to: .archived)
            }
        }
    }

    private func copyToArchive(_ datasetId: Int64, _ archive: any ObjectStore) async throws {
        for bytes in try await ledger.storedBytes(inDataset: datasetId) where bytes.archiveLocation == nil {
            guard let from = bytes.location else { continue }
            let key = try await copy(bytes, from: from, in: configuration.main, to: archive, tier: "archive")
            if try await ledger.setArchiveLocation(key, of: bytes.datafileId) {
                try await ledger.endUpload(key)
            } else {
                try await ledger.abandonUpload(key)
                await sweeper.removeOrphans(of: key)
            }
        }
    }

    /// Copies stored bytes to another store under a new key, and checks the copy's checksums against those
    /// recorded when the bytes were first stored; a mismatch leaves no copy.
    private func copy(
        _ bytes: StoredBytes,
        from key: StoreKey,
        in source: any ObjectStore,
        to target: any ObjectStore,
        tier: String
    ) async throws -> StoreKey {
        let read = try await source.read(key, from: 0)
        // Recorded before the first byte is written, so that a copy cut off (a crash, a shutdown) is removed by a
        // sweep; the record goes once the caller has recorded the copy's key, or with the copy.
        let newKey = StoreKey.make()
        try await ledger.beginUpload(newKey, owner: sweeper.owner, tier: tier)
        let copy: StoredObject
        do {
            copy = try await target.put(read.chunks, as: newKey, maximumBytes: nil)
        } catch {
            try? await ledger.abandonUpload(newKey)
            await sweeper.removeOrphans(of: newKey)
            throw error
        }
        guard copy.crc32 == bytes.crc32, copy.sha256Text == bytes.sha256, copy.size == bytes.size else {
            try? await ledger.abandonUpload(newKey)
            await sweeper.removeOrphans(of: newKey)
            mismatches.increment()
            throw DataStoreError(
                .storage,
                "checksum mismatch on Datafile[id:\(bytes.datafileId)]: stored \(bytes.size) bytes with CRC32 "
                    + "\(String(bytes.crc32, radix: 16)), read \(copy.size) with \(copy.checksum)"
            )
        }
        return copy.key
    }
}
