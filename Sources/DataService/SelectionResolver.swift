import Catalog
import CatalogSQL
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

    /// The entry name IDS gives the file in a zip.
    var zipEntryName: String {
        "ids/\(facilityName)/\(investigationName)/\(visitId)/\(datasetName)/\(name)"
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
        var conditions: [String] = []
        if !selection.datafileIds.isEmpty {
            conditions.append("df.id IN (\(DataSelection.text(selection.datafileIds)))")
        }
        if !selection.datasetIds.isEmpty {
            conditions.append("df.dataset.id IN (\(DataSelection.text(selection.datasetIds)))")
        }
        if !selection.investigationIds.isEmpty {
            conditions.append("df.dataset.investigation.id IN (\(DataSelection.text(selection.investigationIds)))")
        }
        // Only the datafile is selected, so that the caller's READ rules decide about it alone; the names its zip
        // entry is made of are read below, as IDS reads them with its own account.
        let query = "SELECT df.id FROM Datafile df WHERE \(conditions.joined(separator: " OR ")) ORDER BY df.id"
        var ids: [Int64] = []
        var offset = 0
        while true {
            let page = try await search("\(query) LIMIT \(offset), \(pageSize)", sessionId: sessionId)
            ids.append(contentsOf: page.compactMap(\.int64Value))
            if page.count < pageSize { break }
            offset += pageSize
        }
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
                SELECT df."id", df."name", df."file_size", ds."id", ds."name", inv."name", inv."visit_id", fac."name" \
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
                    facilityName: row[7].stringValue ?? ""
                )
            }
        }
        return ids.compactMap { found[$0] }
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
