import CatalogDataFormat
import CatalogSQL
import CatalogStore
import Foundation
import JSONValue

extension Catalog {
    /// Imports a data file in one transaction: all of it, or (on any error, which names the object by offset and
    /// line) nothing. `progress` hears the running totals after each bulk write.
    public func importData(
        sessionId: String,
        format: DataFileFormat,
        source: DataFileSource,
        options: ImportOptions = ImportOptions(),
        progress: @escaping @Sendable (ImportSummary) async -> Void = { _ in }
    ) async throws(CatalogError) -> ImportSummary {
        let caller = try await caller(sessionId: sessionId)
        try Self.checkAttributes(options, caller: caller)
        var touched: Set<String> = []
        defer { noteWrites(to: touched.compactMap(model.entity(named:)), cascading: false) }
        let (summary, written) = try await perform(as: caller) {
            try await database.withTransaction { connection -> (ImportSummary, Set<String>) in
                var reader: any DataFileReader
                do {
                    reader = try makeDataFileReader(format, source, model: model, limits: options.limits)
                } catch let error as DataFileError {
                    throw CatalogError(.badParameter, error.description, offset: 0)
                }
                var importer = DataImporter(
                    model: model,
                    bulk: bulkWriter,
                    caller: caller,
                    options: options,
                    now: Date(),
                    connection: connection
                )
                let summary = try await importer.run(&reader, progress: progress)
                return (summary, importer.touched)
            }
        }
        touched = written
        logger.info(
            "imported \(summary.objects) objects: \(summary.created) created, \(summary.skipped) skipped, \(summary.updated) updated"
        )
        return summary
    }

    /// Refuses, before any of a data file is read, an import that no file could make: no valid session, attributes
    /// ALL by anyone but root, or a caller whom no rule lets create anything (nor, with OVERWRITE, update
    /// anything). For a file that has to be received first (an upload), so that nothing is stored for nothing.
    public func checkImportAllowed(sessionId: String, options: ImportOptions) async throws(CatalogError) {
        let caller = try await caller(sessionId: sessionId)
        try Self.checkAttributes(options, caller: caller)
        let mayWrite = { (access: AccessType) in caller.rules.values.contains { !($0[access] ?? []).isEmpty } }
        guard caller.isRoot || mayWrite(.create) || (options.duplicate == .overwrite && mayWrite(.update)) else {
            throw CatalogError(
                .insufficientPrivileges,
                "No rule lets \(caller.userName) create anything, so there is nothing a data file could import"
            )
        }
    }

    private static func checkAttributes(_ options: ImportOptions, caller: Caller) throws(CatalogError) {
        if options.attributes == .all, !caller.isRoot {
            throw CatalogError(.insufficientPrivileges, "Only root may import with attributes ALL")
        }
    }

    /// Writes what the caller may read as a data file to `sink`, in pieces: everything, or the objects `query`
    /// selects with everything that cascades from them. References to objects left out are written as unique-key
    /// labels, which an importing catalog resolves against its own objects.
    public func exportData(
        sessionId: String,
        format: DataFileFormat,
        query: String? = nil,
        attributes: AttributeSelection = .user,
        to sink: @escaping @Sendable (String) async throws -> Void
    ) async throws(CatalogError) {
        let caller = try await caller(sessionId: sessionId)
        // On PostgreSQL one read-only snapshot serves the whole file, however long it takes to write. On SQLite a
        // transaction would hold the write lock for as long, so there each page is read on its own.
        try await perform(as: caller) {
            if database.dialect == .postgresql {
                try await database.withTransaction { connection in
                    try await connection.execute(
                        ("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY" as SQLFragment).statement(
                            .postgresql
                        )
                    )
                    try await export(format, query, attributes, caller: caller, to: sink, on: connection)
                }
            } else {
                try await database.withConnection { connection in
                    try await export(format, query, attributes, caller: caller, to: sink, on: connection)
                }
            }
        }
    }

    private func export(
        _ format: DataFileFormat,
        _ query: String?,
        _ attributes: AttributeSelection,
        caller: Caller,
        to sink: @Sendable (String) async throws -> Void,
        on connection: any DatabaseConnection
    ) async throws {
        var selection: [String: Set<Int64>]?
        if let query, !query.trimmingCharacters(in: .whitespaces).isEmpty {
            selection = try await exportSelection(query, caller: caller, on: connection)
        }
        var exporter = DataExporter(
            model: model,
            format: format,
            caller: caller,
            attributes: attributes,
            connection: connection
        )
        try await exporter.run(selection: selection, to: sink)
    }

    /// The whole file `exportData` writes, as one string.
    public func exportData(
        sessionId: String,
        format: DataFileFormat,
        query: String? = nil,
        attributes: AttributeSelection = .user
    ) async throws(CatalogError) -> String {
        let collected = TextCollector()
        try await exportData(sessionId: sessionId, format: format, query: query, attributes: attributes) { piece in
            await collected.append(piece)
        }
        return await collected.text
    }

    /// The objects a query selects, by entity, with their cascaded descendants.
    private func exportSelection(
        _ query: String,
        caller: Caller,
        on connection: any DatabaseConnection
    ) async throws -> [String: Set<Int64>] {
        let results = try await searcher.search(
            query,
            userName: caller.userName,
            restriction: caller.readRestriction,
            caller: caller,
            on: connection
        )
        var selection: [String: Set<Int64>] = [:]
        for result in results.arrayValue ?? [] {
            guard case .object(let wrapper) = result, wrapper.count == 1, let (name, body) = wrapper.first,
                let entity = model.entity(named: name), let id = body["id"]?.int64Value
            else {
                throw CatalogError.badParameter(
                    "The query of exportData must select objects, e.g. 'Investigation [name=\"x\"]'"
                )
            }
            guard selection[name, default: []].insert(id).inserted else { continue }
            for (descendant, ids) in try await writer.cascadeDescendants(of: entity, id: id, on: connection) {
                selection[descendant, default: []].formUnion(ids)
            }
        }
        return selection
    }
}

/// Gathers the pieces of an export into one string.
private actor TextCollector {
    var text = ""
    func append(_ piece: String) { text += piece }
}
