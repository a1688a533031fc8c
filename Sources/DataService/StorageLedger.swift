import CatalogSQL
import CatalogStore
import DataStore
import Foundation

/// Whether a dataset's bytes are on the main store.
public enum DataStatus: String, Sendable, Comparable {
    case online = "ONLINE"
    case archived = "ARCHIVED"
    case restoring = "RESTORING"

    /// The status of a selection is its least available part's: RESTORING before ARCHIVED before ONLINE.
    public static func < (left: DataStatus, right: DataStatus) -> Bool { left.rank < right.rank }

    private var rank: Int {
        switch self {
        case .online: 0
        case .archived: 1
        case .restoring: 2
        }
    }
}

/// Where a datafile's bytes are, with what they were when stored.
struct StoredBytes: Sendable, Equatable {
    var datafileId: Int64
    /// The key on the main store; nil while the bytes are only on the archive tier.
    var location: StoreKey?
    var archiveLocation: StoreKey?
    var size: Int64
    var crc32: UInt32
    var sha256: String
}

/// A selection kept for a later `getData`, with the session that prepared it.
struct PreparedSelection: Sendable {
    var sessionId: String
    var selection: DataSelection
    var zip: Bool
    var compress: Bool
}

/// The data service's own tables (`Migrations/*/0003_data_service.sql`): uploads in progress, stored bytes, bytes
/// to remove, datasets' tiers and prepared selections. Each method is one statement.
struct StorageLedger: Sendable {
    let database: any Database

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    private func run(_ fragment: SQLFragment) async throws {
        try await database.withConnection { connection in
            try await connection.execute(fragment.statement(connection.dialect))
        }
    }

    private func rows(_ fragment: SQLFragment) async throws -> [SQLRow] {
        try await database.withConnection { connection in
            try await connection.query(fragment.statement(connection.dialect))
        }
    }

    // MARK: Uploads

    /// Records bytes about to be written to `tier` ("main" or "archive") under `key`, before the first of them.
    func beginUpload(_ key: StoreKey, owner: String, tier: String = "main") async throws {
        try await run(
            """
            INSERT INTO "ids_upload" ("location", "tier", "owner", "touched") \
            VALUES (\(key.rawValue), \(tier), \(owner), \(Self.now()))
            """
        )
    }

    /// Records that all of an upload's bytes are stored; fails when the upload is no longer recorded (the sweeper
    /// took it for dead), so that no Datafile is made for bytes nobody tracks.
    func completeUpload(_ stored: StoredObject) async throws {
        let updated = try await rows(
            """
            UPDATE "ids_upload" SET "size" = \(stored.size), "crc32" = \(Int64(stored.crc32)), \
            "sha256" = \(stored.sha256Text) WHERE "location" = \(stored.key.rawValue) RETURNING "location"
            """
        )
        guard !updated.isEmpty else {
            throw DataStoreError(.storage, "the upload to \(stored.key) was taken for abandoned before it completed")
        }
    }

    /// Forgets a write whose key is now recorded elsewhere (a tier copy).
    func endUpload(_ key: StoreKey) async throws {
        try await run("DELETE FROM \"ids_upload\" WHERE \"location\" = \(key.rawValue)")
    }

    /// Gives up a write: its record becomes an orphan to remove, in one transaction, so that its bytes are never
    /// left untracked. False when there was none (a Datafile claimed it, or the sweeper took it).
    @discardableResult
    func abandonUpload(_ key: StoreKey) async throws -> Bool {
        try await database.withTransaction { connection in
            let orphan: SQLFragment = """
                INSERT INTO "ids_orphan" ("tier", "location") \
                SELECT "tier", "location" FROM "ids_upload" WHERE "location" = \(key.rawValue)
                """
            try await connection.execute(orphan.statement(connection.dialect))
            let delete: SQLFragment = """
                DELETE FROM "ids_upload" WHERE "location" = \(key.rawValue) RETURNING "location"
                """
            return try await !connection.query(delete.statement(connection.dialect)).isEmpty
        }
    }

    /// Marks the uploads `owner` is still receiving as alive.
    func touchUploads(owner: String) async throws {
        try await run("UPDATE \"ids_upload\" SET \"touched\" = \(Self.now()) WHERE \"owner\" = \(owner)")
    }

    /// Uploads no server has touched since `before` (seconds since 1970): their servers died.
    func abandonedUploads(before: Int64) async throws -> [String] {
        try await rows("SELECT \"location\" FROM \"ids_upload\" WHERE \"touched\" < \(before)").compactMap {
            $0[0].stringValue
        }
    }

    // MARK: Stored bytes

    func storedBytes(of datafileIds: [Int64]) async throws -> [Int64: StoredBytes] {
        var found: [Int64: StoredBytes] = [:]
        for chunk in datafileIds.chunked(into: 10_000) {
            let rows = try await rows(
                """
                SELECT "datafile_id", "location", "archive_location", "size", "crc32", "sha256" FROM "ids_object" \
                WHERE "datafile_id" IN (\(list: chunk.map(SQLValue.integer)))
                """
            )
            for row in rows {
                let bytes = Self.storedBytes(row)
                found[bytes.datafileId] = bytes
            }
        }
        return found
    }

    /// The stored bytes of a dataset's datafiles.
    func storedBytes(inDataset datasetId: Int64) async throws -> [StoredBytes] {
        try await rows(
            """
            SELECT o."datafile_id", o."location", o."archive_location", o."size", o."crc32", o."sha256" \
            FROM "ids_object" o JOIN "datafile" d ON d."id" = o."datafile_id" WHERE d."dataset_id" = \(datasetId) \
            ORDER BY o."datafile_id"
            """
        ).map(Self.storedBytes)
    }

    private static func storedBytes(_ row: SQLRow) -> StoredBytes {
        StoredBytes(
            datafileId: row[0].int64Value ?? 0,
            location: row[1].stringValue.flatMap(StoreKey.init(validating:)),
            archiveLocation: row[2].stringValue.flatMap(StoreKey.init(validating:)),
            size: row[3].int64Value ?? 0,
            crc32: UInt32(truncatingIfNeeded: row[4].int64Value ?? 0),
            sha256: row[5].stringValue ?? ""
        )
    }

    /// Records a copy of a datafile's bytes on the archive tier; false when another copy was recorded first.
    func setArchiveLocation(_ key: StoreKey, of datafileId: Int64) async throws -> Bool {
        try await !rows(
            """
            UPDATE "ids_object" SET "archive_location" = \(key.rawValue) \
            WHERE "datafile_id" = \(datafileId) AND "archive_location" IS NULL RETURNING "datafile_id"
            """
        ).isEmpty
    }

    /// Records the bytes restored to the main store; false when another copy was recorded first.
    func setLocation(_ key: StoreKey, of datafileId: Int64) async throws -> Bool {
        try await !rows(
            """
            UPDATE "ids_object" SET "location" = \(key.rawValue) \
            WHERE "datafile_id" = \(datafileId) AND "location" IS NULL RETURNING "datafile_id"
            """
        ).isEmpty
    }

    /// Forgets the main store's copy of a datafile whose bytes are on the archive tier; the bytes become an orphan
    /// of the main store, in the same transaction.
    func dropLocation(of datafileId: Int64) async throws {
        try await database.withTransaction { connection in
            let orphan: SQLFragment = """
                INSERT INTO "ids_orphan" ("tier", "location") SELECT 'main', "location" FROM "ids_object" \
                WHERE "datafile_id" = \(datafileId) AND "location" IS NOT NULL AND "archive_location" IS NOT NULL
                """
            try await connection.execute(orphan.statement(connection.dialect))
            let drop: SQLFragment = """
                UPDATE "ids_object" SET "location" = NULL \
                WHERE "datafile_id" = \(datafileId) AND "archive_location" IS NOT NULL
                """
            try await connection.execute(drop.statement(connection.dialect))
        }
    }

    // MARK: Orphans

    /// Bytes no datafile refers to: (row id, tier, key).
    func orphans(limit: Int) async throws -> [(id: Int64, tier: String, key: String)] {
        try await rows(
            "SELECT \"id\", \"tier\", \"location\" FROM \"ids_orphan\" ORDER BY \"id\" LIMIT \(Int64(limit))"
        )
        .map { ($0[0].int64Value ?? 0, $0[1].stringValue ?? "", $0[2].stringValue ?? "") }
    }

    func removeOrphan(_ id: Int64) async throws {
        try await run("DELETE FROM \"ids_orphan\" WHERE \"id\" = \(id)")
    }

    /// The orphan records of one key.
    func orphans(of key: StoreKey) async throws -> [(id: Int64, tier: String, key: String)] {
        try await rows(
            "SELECT \"id\", \"tier\", \"location\" FROM \"ids_orphan\" WHERE \"location\" = \(key.rawValue)"
        ).map { ($0[0].int64Value ?? 0, $0[1].stringValue ?? "", $0[2].stringValue ?? "") }
    }

    func addOrphan(_ key: StoreKey, tier: String) async throws {
        try await run("INSERT INTO \"ids_orphan\" (\"tier\", \"location\") VALUES (\(tier), \(key.rawValue))")
    }

    // MARK: Datasets' tiers

    func statuses(of datasetIds: [Int64]) async throws -> [Int64: DataStatus] {
        var found: [Int64: DataStatus] = [:]
        for chunk in datasetIds.chunked(into: 10_000) {
            let rows = try await rows(
                """
                SELECT "dataset_id", "state" FROM "ids_dataset_state" \
                WHERE "dataset_id" IN (\(list: chunk.map(SQLValue.integer)))
                """
            )
            for row in rows {
                if let id = row[0].int64Value, let status = row[1].stringValue.flatMap(DataStatus.init(rawValue:)) {
                    found[id] = status
                }
            }
        }
        return found
    }

    func datasets(in status: DataStatus) async throws -> [Int64] {
        try await rows("SELECT \"dataset_id\" FROM \"ids_dataset_state\" WHERE \"state\" = \(status.rawValue)")
            .compactMap { $0[0].int64Value }
    }

    func setStatus(_ status: DataStatus, of datasetId: Int64) async throws {
        if status == .online {
            try await run("DELETE FROM \"ids_dataset_state\" WHERE \"dataset_id\" = \(datasetId)")
        } else {
            try await run(
                """
                INSERT INTO "ids_dataset_state" ("dataset_id", "state") VALUES (\(datasetId), \(status.rawValue)) \
                ON CONFLICT ("dataset_id") DO UPDATE SET "state" = excluded."state"
                """
            )
        }
    }

    /// Moves a dataset from one status to another; false when it was not in `from`.
    func changeStatus(of datasetId: Int64, from: DataStatus, to: DataStatus) async throws -> Bool {
        switch (from, to) {
        case (.online, _):
            return try await !rows(
                """
                INSERT INTO "ids_dataset_state" ("dataset_id", "state") VALUES (\(datasetId), \(to.rawValue)) \
                ON CONFLICT ("dataset_id") DO NOTHING RETURNING "dataset_id"
                """
            ).isEmpty
        case (_, .online):
            return try await !rows(
                """
                DELETE FROM "ids_dataset_state" WHERE "dataset_id" = \(datasetId) AND "state" = \(from.rawValue) \
                RETURNING "dataset_id"
                """
            ).isEmpty
        default:
            return try await !rows(
                """
                UPDATE "ids_dataset_state" SET "state" = \(to.rawValue) \
                WHERE "dataset_id" = \(datasetId) AND "state" = \(from.rawValue) RETURNING "dataset_id"
                """
            ).isEmpty
        }
    }

    // MARK: Prepared selections

    func prepare(_ prepared: PreparedSelection) async throws -> String {
        let id = UUID().uuidString.lowercased()
        try await run(
            """
            INSERT INTO "ids_prepared" ("prepared_id", "session_id", "investigation_ids", "dataset_ids", \
            "datafile_ids", "zip", "compress", "created") VALUES (\(id), \(prepared.sessionId), \
            \(DataSelection.text(prepared.selection.investigationIds)), \
            \(DataSelection.text(prepared.selection.datasetIds)), \
            \(DataSelection.text(prepared.selection.datafileIds)), \(prepared.zip), \(prepared.compress), \(Self.now()))
            """
        )
        return id
    }

    func prepared(_ id: String) async throws -> PreparedSelection? {
        let rows = try await rows(
            """
            SELECT "session_id", "investigation_ids", "dataset_ids", "datafile_ids", "zip", "compress" \
            FROM "ids_prepared" WHERE "prepared_id" = \(id)
            """
        )
        guard let row = rows.first else { return nil }
        return PreparedSelection(
            sessionId: row[0].stringValue ?? "",
            selection: try DataSelection(
                investigationIds: row[1].stringValue,
                datasetIds: row[2].stringValue,
                datafileIds: row[3].stringValue
            ),
            zip: row[4].boolValue ?? false,
            compress: row[5].boolValue ?? false
        )
    }
}

extension Array {
    func chunked(into size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
