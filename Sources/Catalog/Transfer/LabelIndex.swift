import CatalogSQL
import CatalogStore

/// The objects a data file's labels stand for, as the import goes.
///
/// A file of millions of objects has millions of labels, so past `limit` labels the index moves them to a
/// temporary table of the import's transaction and keeps only newer ones in memory: memory stays bounded however
/// large the file. A label defined again stands for its newest object.
struct LabelIndex {
    let limit: Int
    private var memory: [String: (entity: String, id: Int64)] = [:]
    private var spilled = false
    private var sequence: Int64 = 0

    static let table = "icat_import_label"
    static let slice = 5000

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    mutating func insert(
        _ label: String,
        _ entity: String,
        _ id: Int64,
        on connection: any DatabaseConnection
    ) async throws {
        memory[label] = (entity, id)
        recent.removeAll { $0.label == label }
        if memory.count >= limit { try await spill(on: connection) }
    }

    mutating func lookup(
        _ label: String,
        on connection: any DatabaseConnection
    ) async throws -> (entity: String, id: Int64)? {
        // Files refer to the same few objects over and over (a dataset's files, the parameter types): comparing a
        // handful of recent labels is cheaper than hashing a long label again.
        if let hit = recent.first(where: { $0.label == label }) { return (hit.entity, hit.id) }
        if let hit = memory[label] {
            remember(label, hit)
            return hit
        }
        guard spilled else { return nil }
        let dialect = connection.dialect
        let select: SQLFragment = """
            SELECT \(identifiers: ["entity", "object_id"]) FROM \(identifier: Self.table) \
            WHERE \(identifier: "label") = \(label) ORDER BY \(identifier: "seq") DESC LIMIT 1
            """
        guard let row = try await connection.query(select.statement(dialect)).first, let entity = row[0].stringValue,
            let id = row[1].int64Value
        else { return nil }
        remember(label, (entity, id))
        return (entity, id)
    }

    private var recent: [(label: String, entity: String, id: Int64)] = []

    private mutating func remember(_ label: String, _ object: (entity: String, id: Int64)) {
        if recent.count == 8 { recent.removeLast() }
        recent.insert((label, object.entity, object.id), at: 0)
    }

    private mutating func spill(on connection: any DatabaseConnection) async throws {
        let dialect = connection.dialect
        if !spilled {
            try await dropTable(on: connection, force: true)
            let lifetime: SQLFragment = dialect == .postgresql ? " ON COMMIT DROP" : ""
            let create: SQLFragment = """
                CREATE TEMPORARY TABLE \(identifier: Self.table) (\(identifier: "seq") BIGINT NOT NULL, \
                \(identifier: "label") TEXT NOT NULL, \(identifier: "entity") TEXT NOT NULL, \
                \(identifier: "object_id") BIGINT NOT NULL)\(lifetime)
                """
            try await connection.execute(create.statement(dialect))
            let index: SQLFragment = """
                CREATE INDEX \(identifier: Self.table + "_label") ON \(identifier: Self.table) (\(identifier: "label"))
                """
            try await connection.execute(index.statement(dialect))
            spilled = true
        }
        // In slices, so that moving the labels out does not itself take as much memory again.
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(Self.slice)
        for (label, object) in memory {
            sequence += 1
            rows.append([.integer(sequence), .text(label), .text(object.entity), .integer(object.id)])
            if rows.count == Self.slice {
                try await connection.bulkInsert(
                    into: Self.table,
                    columns: ["seq", "label", "entity", "object_id"],
                    rows: rows
                )
                rows.removeAll(keepingCapacity: true)
            }
        }
        try await connection.bulkInsert(into: Self.table, columns: ["seq", "label", "entity", "object_id"], rows: rows)
        memory.removeAll()
    }

    /// Drops the temporary table, if the import made one (or, with `force`, if an earlier one left it).
    func dropTable(on connection: any DatabaseConnection, force: Bool = false) async throws {
        guard spilled || force else { return }
        let drop: SQLFragment = "DROP TABLE IF EXISTS \(identifier: Self.table)"
        try await connection.execute(drop.statement(connection.dialect))
    }
}
