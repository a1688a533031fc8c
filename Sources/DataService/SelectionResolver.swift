import Catalog
import CatalogSQL
import Foundation
import JSONValue

/// A datafile of a resolved selection, with the names its zip entry is made of.
struct SelectedFile: Sendable, Equatable {
    var id: Int64
    var name: String
    /// The catalog's `fileSize` (what `getSize` reports).
    var fileSize: Int64
    var datasetId: Int64
    var datasetName: String
    var investigationName: String
    var visitId: String
    var facilityName: String
    /// When the Datafile was last changed in the catalog: its zip entry's time.
    var modified: Date

    /// The entry name IDS gives the file in a zip. Each name is one segment: slashes, backslashes and a `..` in it
    /// are replaced, so that no extractor writes outside its folder.
    var zipEntryName: String {
        "ids/" + [facilityName, investigationName, visitId, datasetName, name].map(Self.segment).joined(separator: "/")
    }

    static func segment(_ name: String) -> String {
        let flat = String(name.unicodeScalars.map { $0 == "/" || $0 == "\\" || $0.value < 0x20 ? "_" : Character($0) })
        return flat.isEmpty || flat == "." || flat == ".." ? "_" + flat : flat
    }
}

/// Turns a selection into the datafiles the caller may read, through the catalog's search (so through the same
/// compiled READ rules): one query per kind of id named, to tell 403 and 404 apart, and one for the datafiles, each
/// paged by `maxEntities`; then one statement for the names of the datafiles found.
struct SelectionResolver: Sendable {
    let catalog: Catalog

    var pageSize: Int { max(1, catalog.configuration.maxEntities) }

    /// The datafiles of `selection` the session may read, by id. An id named in the selection that does not exist
    /// is NotFound, one the caller may not read InsufficientPrivileges; within readable datasets and investigations,
    /// unreadable datafiles are left out.
    func resolve(_ selection: DataSelection, sessionId: String) async throws(IDSError) -> [SelectedFile] {
        try await checkReadable("Investigation", selection.investigationIds, sessionId: sessionId)
        try await checkReadable("Dataset", selection.datasetIds, sessionId: sessionId)
        try await checkReadable("Datafile", selection.datafileIds, sessionId: sessionId)
        if selection.isEmpty {
            // Nothing to look up, but the session must still be valid.
            do {
                _ = try await catalog.userName(sessionId: sessionId)
            } catch {
                throw IDSError(error)
            }
            return []
        }
        // Each kind of id in chunks (a query's IN list stays small), each chunk paged by id (each page one short
        // statement, however large the investigation). Only the datafile is selected, so that the caller's READ
        // rules decide about it alone; the names its zip entry is made of are read below, as IDS reads them with
        // its own account.
        var found: Set<Int64> = []
        for (path, named) in [
            ("df.id", selection.datafileIds), ("df.dataset.id", selection.datasetIds),
            ("df.dataset.investigation.id", selection.investigationIds),
        ] {
            for chunk in named.chunked(into: 1000) {
                var last: Int64 = -1
                while true {
                    let page = try await search(
                        """
                        SELECT df.id FROM Datafile df WHERE \(path) IN (\(DataSelection.text(Array(chunk)))) \
                        AND df.id > \(last) ORDER BY df.id LIMIT 0, \(pageSize)
                        """,
                        sessionId: sessionId
                    ).compactMap(\.int64Value)
                    found.formUnion(page)
                    guard page.count == pageSize, let next = page.last else { break }
                    last = next
                }
            }
        }
        let ids = found.sorted()
        do {
            return try await describe(ids)
        } catch {
            throw IDSError(.internal, "The data service cannot read the datafiles' names: \(error)")
        }
    }

    /// The datafiles' names and those of their dataset, investigation and facility, in the order of `ids`.
    private func describe(_ ids: [Int64]) async throws -> [SelectedFile] {
        var found: [Int64: SelectedFile] = [:]
        for chunk in ids.chunked(into: 10_000) {
            let select: SQLFragment = """
                SELECT df."id", df."name", df."file_size", ds."id", ds."name", inv."name", inv."visit_id", fac."name", \
                df."mod_time" \
                FROM "datafile" df JOIN "dataset" ds ON ds."id" = df."dataset_id" \
                JOIN "investigation" inv ON inv."id" = ds."investigation_id" \
                JOIN "facility" fac ON fac."id" = inv."facility_id" \
                WHERE df."id" IN (\(list: chunk.map(SQLValue.integer)))
                """
            let rows = try await catalog.database.withConnection { connection in
                try await connection.query(select.statement(connection.dialect))
            }
            for row in rows {
                guard let id = row[0].int64Value, let datasetId = row[3].int64Value else { continue }
                found[id] = SelectedFile(
                    id: id,
                    name: row[1].stringValue ?? "",
                    fileSize: row[2].int64Value ?? 0,
                    datasetId: datasetId,
                    datasetName: row[4].stringValue ?? "",
                    investigationName: row[5].stringValue ?? "",
                    visitId: row[6].stringValue ?? "",
                    facilityName: row[7].stringValue ?? "",
                    modified: Self.date(row[8])
                )
            }
        }
        return ids.compactMap { found[$0] }
    }

    /// A timestamp column (SQLite gives text).
    static func date(_ value: SQLValue) -> Date {
        value.dateValue ?? value.stringValue.flatMap(SQLTimestamp.parse) ?? Date(timeIntervalSince1970: 315_532_800)
    }

    /// Refuses the first of `ids` that does not exist (NotFound) or that the caller may not read.
    func checkReadable(_ entity: String, _ ids: [Int64], sessionId: String) async throws(IDSError) {
        guard !ids.isEmpty else { return }
        var readable: Set<Int64> = []
        for chunk in ids.chunked(into: pageSize) {
            let found = try await search(
                "SELECT x.id FROM \(entity) x WHERE x.id IN (\(DataSelection.text(Array(chunk))))",
                sessionId: sessionId
            )
            for value in found { if let id = value.int64Value { readable.insert(id) } }
        }
        for id in ids where !readable.contains(id) {
            let allowed: Bool
            do {
                allowed = try await catalog.isAccessAllowed(
                    sessionId: sessionId,
                    entity: [entity: ["id": .int(id)]],
                    access: .read
                )
            } catch {
                throw IDSError(error)
            }
            // Allowed yet not found by the search: it does not exist (root may read anything).
            throw allowed
                ? IDSError(.notFound, "\(entity)[id:\(id)] not found")
                : IDSError(.insufficientPrivileges, "The caller may not read \(entity)[id:\(id)]")
        }
    }

    private func search(_ query: String, sessionId: String) async throws(IDSError) -> [JSON] {
        do {
            return try await catalog.search(sessionId: sessionId, query: query).arrayValue ?? []
        } catch {
            throw IDSError(error)
        }
    }
}
