import Catalog
import DataStore
import Foundation
import JSONValue
import Logging
import NIOCore
import ServiceLifecycle

/// Where the data service keeps bytes, and its limits.
public struct DataServiceConfiguration: Sendable {
    /// The main store, from which data is served.
    public var main: any ObjectStore
    /// The archive tier of a two-level service; nil for one level (then `archive`, `restore` and `write` are
    /// NotImplemented).
    public var archive: (any ObjectStore)?
    /// The largest upload `put` takes.
    public var maximumUploadBytes: Int64
    /// What `getIcatUrl` answers; nil: the catalog on this server.
    public var icatURL: String?
    /// An upload whose server has not marked it alive for this long is taken for dead, and its bytes removed.
    public var abandonedUploadSeconds: Int64
    /// How often the sweeper removes orphaned bytes and marks this server's uploads alive.
    public var sweepInterval: Duration

    public init(
        main: any ObjectStore,
        archive: (any ObjectStore)? = nil,
        maximumUploadBytes: Int64 = 1 << 40,
        icatURL: String? = nil,
        abandonedUploadSeconds: Int64 = 300,
        sweepInterval: Duration = .seconds(60)
    ) {
        self.main = main
        self.archive = archive
        self.maximumUploadBytes = maximumUploadBytes
        self.icatURL = icatURL
        self.abandonedUploadSeconds = abandonedUploadSeconds
        self.sweepInterval = sweepInterval
    }
}

/// What a successful `put` made: the new Datafile's id and its stored bytes.
public struct PutResult: Sendable, Equatable {
    public let id: Int64
    /// zlib's CRC32 of the bytes, as IDS reports it (a number).
    public let checksum: UInt32
    public let location: String
    public let size: Int64
}

/// How a call names its data: a session with a selection, or a prepared id (which carries its session).
public enum DataRequest: Sendable, Equatable {
    case selection(sessionId: String, DataSelection)
    case prepared(String)
}

/// The options of a new Datafile that `put` takes besides its bytes.
public struct NewDatafile: Sendable {
    public var name: String
    public var datasetId: Int64
    public var datafileFormatId: Int64?
    public var description: String?
    public var doi: String?
    public var createTime: Date?
    public var modTime: Date?

    public init(
        name: String,
        datasetId: Int64,
        datafileFormatId: Int64?,
        description: String? = nil,
        doi: String? = nil,
        createTime: Date? = nil,
        modTime: Date? = nil
    ) {
        self.name = name
        self.datasetId = datasetId
        self.datafileFormatId = datafileFormatId
        self.description = description
        self.doi = doi
        self.createTime = createTime
        self.modTime = modTime
    }
}

/// ICAT IDS's operations over the catalog and an object store: datafiles' bytes stored, served alone or zipped,
/// prepared, archived and restored, with every access decided by the catalog's rules. Knows nothing of HTTP.
///
/// The catalog and the store stay consistent through the service's tables (`ids_*`): an upload is recorded before
/// its first byte is stored and claimed by the Datafile's INSERT (a trigger); a deleted Datafile's bytes are queued
/// for removal by its DELETE (a trigger), whatever deleted it. `run()` (a service) removes queued and abandoned
/// bytes and moves datasets between tiers.
public final class DataService: Service, Sendable {
    /// The IDS version `version` reports.
    public static let version = "2.1.0"

    public let catalog: Catalog
    public let configuration: DataServiceConfiguration
    let ledger: StorageLedger
    let resolver: SelectionResolver
    let tiers: TierMover
    let sweeper: StorageSweeper
    let logger: Logger
    /// This server's name for the uploads it receives.
    let owner = UUID().uuidString

    public init(catalog: Catalog, configuration: DataServiceConfiguration, logger: Logger) {
        self.catalog = catalog
        self.configuration = configuration
        self.ledger = StorageLedger(database: catalog.database)
        self.resolver = SelectionResolver(catalog: catalog)
        self.logger = logger
        self.sweeper = StorageSweeper(ledger: ledger, configuration: configuration, owner: owner, logger: logger)
        self.tiers = TierMover(ledger: ledger, configuration: configuration, sweeper: sweeper, logger: logger)
    }

    public var isTwoLevel: Bool { configuration.archive != nil }

    /// Sweeps orphaned and abandoned bytes, and moves datasets between tiers, until cancelled or shut down.
    ///
    /// The first sweep comes one interval after the start, once the server has migrated its database.
    public func run() async throws {
        sweeper.removeLocalLeftovers()
        let outcome: Result<Void, any Error>
        do {
            try await work()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        // The server has drained its requests by now: nothing uses the stores any more.
        for store in [configuration.main, configuration.archive].compactMap({ $0 }) { try? await store.shutdown() }
        try outcome.get()
    }

    private func work() async throws {
        try await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.tiers.run() }
                group.addTask {
                    // Marks this server's writes alive well within `abandonedUploadSeconds`, whatever a sweep does.
                    let beat = Duration.seconds(max(1, self.configuration.abandonedUploadSeconds / 10))
                    while (try? await Task.sleep(for: beat)) != nil {
                        try? await self.ledger.touchUploads(owner: self.owner)
                    }
                }
                group.addTask {
                    // A period, not a wait for readiness: the next sweep is due then. Cancellation ends the wait.
                    while (try? await Task.sleep(for: self.configuration.sweepInterval)) != nil {
                        await self.sweepNow()
                    }
                }
            }
        }
    }

    /// What `run()` does every interval: this server's uploads marked alive, the bytes of deleted datafiles and of
    /// abandoned uploads removed, and restores a stopped server left half done queued again.
    public func sweepNow() async {
        await sweeper.sweep()
        await tiers.resumeRestores()
    }

    /// Returns once no tier move is queued or running.
    public func settled() async {
        await tiers.settled()
    }

    // MARK: Upload

    /// Stores `body` as a new Datafile in a dataset. The caller's right to create it is checked before the first
    /// byte is stored, and again as the Datafile is written; on any failure neither the Datafile nor the bytes stay.
    public func put<Body: AsyncSequence>(
        _ body: Body,
        sessionId: String,
        datafile: NewDatafile
    ) async throws(IDSError) -> PutResult where Body.Element == ByteBuffer {
        guard !datafile.name.isEmpty else { throw IDSError(.badRequest, "The name parameter must not be empty") }
        try await resolver.checkReadable("Dataset", [datafile.datasetId], sessionId: sessionId)
        try await requireOnline(datasetIds: [datafile.datasetId])
        var entity: [String: JSON] = [
            "name": .string(datafile.name),
            "dataset": ["id": .int(datafile.datasetId)],
        ]
        if let format = datafile.datafileFormatId { entity["datafileFormat"] = ["id": .int(format)] }
        if let description = datafile.description { entity["description"] = .string(description) }
        if let doi = datafile.doi { entity["doi"] = .string(doi) }
        if let time = datafile.createTime { entity["datafileCreateTime"] = .string(Self.timestamp(time)) }
        if let time = datafile.modTime { entity["datafileModTime"] = .string(Self.timestamp(time)) }
        let allowed: Bool
        do {
            allowed = try await catalog.isAccessAllowed(
                sessionId: sessionId,
                entity: ["Datafile": .object(entity)],
                access: .create
            )
        } catch {
            throw IDSError(error)
        }
        guard allowed else {
            throw IDSError(
                .insufficientPrivileges,
                "The caller may not create this Datafile in Dataset[id:\(datafile.datasetId)]"
            )
        }

        let key = StoreKey.make()
        let stored: StoredObject
        do {
            try await ledger.beginUpload(key, owner: owner)
        } catch {
            throw internalError("cannot record an upload", error)
        }
        do {
            stored = try await configuration.main.put(body, as: key, maximumBytes: configuration.maximumUploadBytes)
            try await ledger.completeUpload(stored)
        } catch {
            await abandon(key)
            if let error = error as? DataStoreError { throw IDSError(error) }
            // The body failed: the client went away or sent less than it announced.
            logger.notice("data service: an upload was cut off: \(error)")
            throw IDSError(.badRequest, "The upload did not complete: \(error)")
        }
        entity["location"] = .string(key.rawValue)
        entity["fileSize"] = .int(stored.size)
        entity["checksum"] = .string(stored.checksum)
        let id: Int64
        do {
            id = try await catalog.create(sessionId: sessionId, entity: ["Datafile": .object(entity)])
        } catch {
            await abandon(key)
            throw IDSError(error)
        }
        if isTwoLevel { await tiers.enqueue(.write, datasetId: datafile.datasetId) }
        return PutResult(id: id, checksum: stored.crc32, location: key.rawValue, size: stored.size)
    }

    /// Removes an upload's bytes and record, unless a Datafile has claimed them already: the record first becomes
    /// an orphan, so that the bytes stay tracked whatever happens next, then the bytes go.
    private func abandon(_ key: StoreKey) async {
        // Runs to its end even when the request was cancelled (its client gone).
        let (ledger, sweeper, logger) = (ledger, sweeper, logger)
        await Task.detached {
            do {
                if try await ledger.abandonUpload(key) { await sweeper.removeOrphans(of: key) }
            } catch {
                logger.warning("could not give up a failed upload at once (the sweeper will): \(error)")
            }
        }.value
    }

    static func timestamp(_ date: Date) -> String {
        ISO8601DateFormatter.string(
            from: date,
            timeZone: TimeZone(identifier: "UTC")!,
            formatOptions: [.withInternetDateTime, .withFractionalSeconds]
        )
    }

    // MARK: Reading about data

    /// The session, selection and flags a request stands for; a prepared id not known is NotFound.
    func unpack(_ request: DataRequest) async throws(IDSError) -> PreparedSelection {
        switch request {
        case .selection(let sessionId, let selection):
            return PreparedSelection(sessionId: sessionId, selection: selection, zip: false, compress: false)
        case .prepared(let id):
            let found: PreparedSelection?
            do {
                found = try await ledger.prepared(id)
            } catch {
                throw internalError("cannot read a prepared selection", error)
            }
            guard let found else { throw IDSError(.notFound, "The preparedId \(id) is not known") }
            return found
        }
    }

    func files(_ request: DataRequest) async throws(IDSError) -> (PreparedSelection, [SelectedFile]) {
        let unpacked = try await unpack(request)
        return (unpacked, try await resolver.resolve(unpacked.selection, sessionId: unpacked.sessionId))
    }

    /// The total `fileSize` of the datafiles the request names.
    public func size(_ request: DataRequest) async throws(IDSError) -> Int64 {
        try await files(request).1.reduce(0) { $0 + $1.fileSize }
    }

    /// The ids of the datafiles the request names, with the prepared flags.
    public func datafileIds(_ request: DataRequest) async throws(IDSError) -> (zip: Bool, compress: Bool, ids: [Int64])
    {
        let (unpacked, files) = try await files(request)
        return (unpacked.zip, unpacked.compress, files.map(\.id))
    }

    /// ONLINE, or the least available status of the datasets the request's data is in.
    public func status(_ request: DataRequest) async throws(IDSError) -> DataStatus {
        let (unpacked, files) = try await files(request)
        let datasets = Set(files.map(\.datasetId)).union(unpacked.selection.datasetIds)
        return try await statuses(Array(datasets)).values.max() ?? .online
    }

    func statuses(_ datasetIds: [Int64]) async throws(IDSError) -> [Int64: DataStatus] {
        do {
            return try await ledger.statuses(of: datasetIds)
        } catch {
            throw internalError("cannot read the datasets' status", error)
        }
    }

    /// Fails with DataNotOnline when any of the datasets is archived, and starts restoring those.
    func requireOnline(datasetIds: [Int64]) async throws(IDSError) {
        let offline = try await statuses(datasetIds)
        guard !offline.isEmpty else { return }
        for (id, status) in offline where status == .archived {
            await tiers.requestRestore(datasetId: id)
        }
        throw IDSError(
            .dataNotOnline,
            "The data is not online: \(offline.count) dataset(s) archived or being restored; a restore has been started"
        )
    }

    // MARK: Preparing

    /// Keeps a selection for later downloads by its id; access is checked now and again when it is downloaded.
    public func prepareData(
        sessionId: String,
        selection: DataSelection,
        zip: Bool,
        compress: Bool
    ) async throws(IDSError) -> String {
        let files = try await resolver.resolve(selection, sessionId: sessionId)
        await startRestores(Set(files.map(\.datasetId)).union(selection.datasetIds))
        do {
            return try await ledger.prepare(
                PreparedSelection(sessionId: sessionId, selection: selection, zip: zip, compress: compress)
            )
        } catch {
            throw internalError("cannot record the prepared selection", error)
        }
    }

    /// Whether a prepared selection can be downloaded now; if not, its archived datasets are being restored.
    public func isPrepared(_ preparedId: String) async throws(IDSError) -> Bool {
        let (_, files) = try await files(.prepared(preparedId))
        let datasets = Set(files.map(\.datasetId))
        let offline = try await statuses(Array(datasets))
        if offline.isEmpty { return true }
        await startRestores(Set(offline.keys))
        return false
    }

    private func startRestores(_ datasetIds: Set<Int64>) async {
        guard isTwoLevel, !datasetIds.isEmpty, let offline = try? await statuses(Array(datasetIds)) else { return }
        for (id, status) in offline where status == .archived { await tiers.requestRestore(datasetId: id) }
    }

    // MARK: Deleting

    /// Deletes the datafiles the selection names (DELETE on each, all or none) and then their bytes.
    public func delete(sessionId: String, selection: DataSelection) async throws(IDSError) {
        let files = try await resolver.resolve(selection, sessionId: sessionId)
        try await requireOnline(datasetIds: Array(Set(files.map(\.datasetId))))
        guard !files.isEmpty else { return }
        do {
            try await catalog.deleteMany(
                sessionId: sessionId,
                entities: files.map { ["Datafile": ["id": .int($0.id)]] }
            )
        } catch {
            throw IDSError(error)
        }
        await sweeper.removeOrphans()
    }

    // MARK: Tiers

    /// Moves the datasets of the selection to the archive tier (in the background, as IDS does).
    public func archive(sessionId: String, selection: DataSelection) async throws(IDSError) {
        for id in try await datasets(of: selection, sessionId: sessionId) {
            await tiers.enqueue(.archive, datasetId: id)
        }
    }

    /// Brings the datasets of the selection back to the main store (in the background).
    public func restore(sessionId: String, selection: DataSelection) async throws(IDSError) {
        for id in try await datasets(of: selection, sessionId: sessionId) { await tiers.requestRestore(datasetId: id) }
    }

    /// Makes sure the archive tier holds a copy of the selection's data (in the background).
    public func write(sessionId: String, selection: DataSelection) async throws(IDSError) {
        let ids = try await datasets(of: selection, sessionId: sessionId)
        try await requireOnline(datasetIds: ids)
        for id in ids { await tiers.enqueue(.write, datasetId: id) }
    }

    /// Forgets the failures recorded for the selection's datasets, so that they can be tried again.
    public func reset(_ request: DataRequest) async throws(IDSError) {
        let (unpacked, files) = try await files(request)
        await tiers.forgetFailures(Set(files.map(\.datasetId)).union(unpacked.selection.datasetIds))
    }

    private func datasets(of selection: DataSelection, sessionId: String) async throws(IDSError) -> [Int64] {
        guard isTwoLevel else {
            throw IDSError(.notImplemented, "This data service has one level: no archive tier is configured")
        }
        let files = try await resolver.resolve(selection, sessionId: sessionId)
        return Array(Set(files.map(\.datasetId)).union(selection.datasetIds)).sorted()
    }

    // MARK: Service

    /// What the service is doing: queued tier moves and failures. Root only, as in IDS.
    public func serviceStatus(sessionId: String) async throws(IDSError) -> JSON {
        let user: String
        do {
            user = try await catalog.userName(sessionId: sessionId)
        } catch {
            throw IDSError(error)
        }
        guard catalog.configuration.rootUserNames.contains(user) else {
            throw IDSError(.insufficientPrivileges, "getServiceStatus is for root users only")
        }
        return await tiers.status()
    }

    func internalError(_ what: String, _ error: any Error) -> IDSError {
        logger.error("data service: \(what): \(String(reflecting: error))")
        return IDSError(.internal, "The data service \(what); the server log has the details")
    }
}
