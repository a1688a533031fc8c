import DataStore
import Foundation
import Logging

/// Removes bytes the catalog no longer refers to: those of deleted Datafiles (queued by a trigger), those of uploads
/// whose server died before the Datafile was written, and S3 multipart uploads a stopped server left unfinished.
/// Marks this server's uploads alive meanwhile.
struct StorageSweeper: Sendable {
    let ledger: StorageLedger
    let configuration: DataServiceConfiguration
    let owner: String
    let logger: Logger

    /// One round: this server's uploads marked alive, orphaned bytes removed, abandoned uploads removed.
    func sweep() async {
        do {
            try await ledger.touchUploads(owner: owner)
        } catch {
            logger.warning("data service: cannot mark this server's uploads alive: \(error)")
        }
        await removeOrphans()
        await removeAbandonedUploads()
        await removeUnfinishedMultipartUploads()
    }

    /// Multipart uploads to S3 stores begun more than a day ago and never finished: a server stopped in the middle
    /// of a put. (A put that takes longer than a day would lose its parts; a bucket lifecycle rule does the same.)
    func removeUnfinishedMultipartUploads() async {
        for store in [configuration.main, configuration.archive].compactMap({ $0 as? S3ObjectStore }) {
            do {
                for key in try await store.removeLeftovers(begunBefore: Date(timeIntervalSinceNow: -86_400)) {
                    logger.notice("data service: aborted an unfinished multipart upload a stopped server left: \(key)")
                }
            } catch {
                logger.warning("data service: cannot list unfinished multipart uploads (tried again later): \(error)")
            }
        }
    }

    /// Removes the bytes queued for removal (by deleted Datafiles, tier moves and abandoned writes).
    func removeOrphans() async {
        do {
            while true {
                let orphans = try await ledger.orphans(limit: 500)
                for orphan in orphans { try await remove(orphan) }
                if orphans.count < 500 { return }
            }
        } catch {
            logger.warning("data service: removing orphaned bytes failed (tried again at the next sweep): \(error)")
        }
    }

    /// Removes one key's orphaned bytes now (a failed write's), leaving the rest to the sweeps.
    func removeOrphans(of key: StoreKey) async {
        do {
            for orphan in try await ledger.orphans(of: key) { try await remove(orphan) }
        } catch {
            logger.warning("data service: removing \(key) failed (tried again at the next sweep): \(error)")
        }
    }

    private func remove(_ orphan: (id: Int64, tier: String, key: String)) async throws {
        if let key = StoreKey(validating: orphan.key) {
            let store = orphan.tier == "archive" ? configuration.archive : configuration.main
            try await store?.delete(key)
        }
        try await ledger.removeOrphan(orphan.id)
    }

    /// Writes no server has marked alive for `abandonedUploadSeconds`: their servers died. Their records become
    /// orphans, whose bytes are then removed.
    func removeAbandonedUploads() async {
        do {
            let before = StorageLedger.now() - configuration.abandonedUploadSeconds
            var abandoned = 0
            for location in try await ledger.abandonedUploads(before: before) {
                guard let key = StoreKey(validating: location) else { continue }
                if try await ledger.abandonUpload(key) { abandoned += 1 }
            }
            if abandoned > 0 {
                logger.notice("data service: removing the bytes of \(abandoned) writes their servers abandoned")
                await removeOrphans()
            }
        } catch {
            logger.warning("data service: removing abandoned uploads failed (tried again at the next sweep): \(error)")
        }
    }

    /// Partial files a stopped server left in a local store.
    func removeLocalLeftovers() {
        for store in [configuration.main, configuration.archive].compactMap({ $0 as? LocalDiskStore }) {
            for name in store.removeLeftovers() {
                logger.notice("data service: removed \(name), an upload a stopped server did not finish")
            }
        }
    }
}
