import CatalogSQL

/// What a node of the provenance graph is: data (a dataset or a datafile) or a run of an application (a job).
public enum NodeKind: Int, Sendable, CaseIterable, Comparable {
    case dataset = 1
    case datafile = 2
    case job = 3

    public var entityName: String {
        switch self {
        case .dataset: "Dataset"
        case .datafile: "Datafile"
        case .job: "Job"
        }
    }

    public init?(entityName: String) {
        guard let kind = Self.allCases.first(where: { $0.entityName == entityName }) else { return nil }
        self = kind
    }

    public static func < (left: NodeKind, right: NodeKind) -> Bool { left.rawValue < right.rawValue }
}

/// A node by its entity and id.
public struct NodeRef: Hashable, Sendable, Comparable {
    public let kind: NodeKind
    public let id: Int64

    public init(_ kind: NodeKind, _ id: Int64) {
        self.kind = kind
        self.id = id
    }

    public static func < (left: NodeRef, right: NodeRef) -> Bool { (left.kind, left.id) < (right.kind, right.id) }

}

/// Which way a walk goes: with the flow of data (what came of it), against it (where it came from), or both.
public enum WalkDirection: String, Sendable, CaseIterable {
    case upstream
    case downstream
    case both
}

/// A walk to plan: where it starts, which way it goes, how many job hops deep, and whether datasets and their
/// datafiles are linked.
public struct Walk: Sendable, Equatable {
    /// Where the walk starts: given nodes, or the readable jobs of an application.
    public enum Start: Sendable, Equatable {
        case nodes([NodeRef])
        case jobs(application: String, version: String?)
        case jobsOfApplication(id: Int64)
    }

    public var start: Start
    public var direction: WalkDirection
    public var depth: Int
    public var containment: Bool

    public init(start: Start, direction: WalkDirection, depth: Int = 20, containment: Bool = false) {
        self.start = start
        self.direction = direction
        self.depth = depth
        self.containment = containment
    }
}

/// Writes a walk as one recursive statement for either database: no I/O, so that its SQL can be tested alone.
///
/// The edges of both job models (the link entities `InputDataset` … `OutputDatafile`, and the datasets and
/// datafiles of jobs' input and output data collections), RelatedDatafile, and with containment each dataset's
/// datafiles, are one derived table `pvedge(sk, s, dk, d, k)` pointing the way data flows. A recursive CTE walks them
/// from the start, down (`pvdown`) or up (`pvup`) or both, reaching only nodes the caller may read (`readable`); a row
/// records the node, its depth (job hops; the other hops are free) and the edge it was reached by, and rows are
/// distinct, so cycles end at the depth bound. The statement's rows are those walk rows with the nodes' details.
public struct WalkPlanner: Sendable {
    /// The READ condition on a row of a node's table aliased `alias`; nil when every row may be read.
    public typealias Readable = @Sendable (NodeKind, String) -> SQLFragment?

    public init() {}

    public func statement(_ walk: Walk, readable: Readable) -> SQLFragment {
        var sql: SQLFragment = "WITH RECURSIVE pvedge (\"sk\", \"s\", \"dk\", \"d\", \"k\") AS ("
        sql.append(edges(containment: walk.containment))
        sql.append(")")
        let directions: [WalkDirection] =
            walk.direction == .both ? [.downstream, .upstream] : [walk.direction]
        for direction in directions {
            sql.append(", ")
            sql.append(recursion(direction, walk, readable: readable))
        }
        sql.append(
            " SELECT pvwalk.\"kind\", pvwalk.\"id\", pvwalk.\"depth\", pvwalk.\"sk\", pvwalk.\"s\", pvwalk.\"dk\", pvwalk.\"d\", pvwalk.\"k\", "
        )
        sql.append("ds.\"name\", df.\"name\", df.\"file_size\", df.\"checksum\", df.\"datafile_create_time\", ")
        sql.append(
            "j.\"arguments\", j.\"create_id\", j.\"create_time\", j.\"mod_time\", a.\"name\", a.\"version\" FROM ("
        )
        sql.append(
            directions.map(\.table).map { table -> SQLFragment in "SELECT * FROM \(alias: table)" }.joined(
                separator: " UNION ALL "
            )
        )
        sql.append(
            """
            ) pvwalk LEFT JOIN "dataset" ds ON pvwalk."kind" = 1 AND ds."id" = pvwalk."id" \
            LEFT JOIN "datafile" df ON pvwalk."kind" = 2 AND df."id" = pvwalk."id" \
            LEFT JOIN "job" j ON pvwalk."kind" = 3 AND j."id" = pvwalk."id" \
            LEFT JOIN "application" a ON a."id" = j."application_id"
            """
        )
        return sql
    }

    /// The ids of the nodes of `kind` the walk reaches, for the query language's `DERIVED FROM` and `ANCESTOR OF`:
    /// a complete statement to put inside `IN (...)`.
    public func reached(_ kind: NodeKind, by walk: Walk, readable: Readable) -> SQLFragment {
        var sql: SQLFragment = "WITH RECURSIVE pvedge (\"sk\", \"s\", \"dk\", \"d\", \"k\") AS ("
        sql.append(edges(containment: walk.containment))
        sql.append("), ")
        sql.append(recursion(walk.direction, walk, readable: readable))
        // Rows reached along an edge: the start is among them only when a cycle leads back to it.
        sql.append(" SELECT pvwalk.\"id\" FROM \(alias: walk.direction.table) pvwalk WHERE pvwalk.\"kind\" = ")
        sql.append("\(Int64(kind.rawValue)) AND pvwalk.\"k\" IS NOT NULL")
        return sql
    }

    /// Every edge of the graph, pointing the way data flows.
    func edges(containment: Bool) -> SQLFragment {
        var parts: [SQLFragment] = [
            "SELECT 1, \"dataset_id\", 3, \"job_id\", 1 FROM \"input_dataset\"",
            "SELECT 2, \"datafile_id\", 3, \"job_id\", 1 FROM \"input_datafile\"",
            "SELECT 3, \"job_id\", 1, \"dataset_id\", 2 FROM \"output_dataset\"",
            "SELECT 3, \"job_id\", 2, \"datafile_id\", 2 FROM \"output_datafile\"",
            """
            SELECT 1, c."dataset_id", 3, j."id", 1 FROM "job" j \
            JOIN "data_collection_dataset" c ON c."data_collection_id" = j."input_data_collection_id"
            """,
            """
            SELECT 2, c."datafile_id", 3, j."id", 1 FROM "job" j \
            JOIN "data_collection_datafile" c ON c."data_collection_id" = j."input_data_collection_id"
            """,
            """
            SELECT 3, j."id", 1, c."dataset_id", 2 FROM "job" j \
            JOIN "data_collection_dataset" c ON c."data_collection_id" = j."output_data_collection_id"
            """,
            """
            SELECT 3, j."id", 2, c."datafile_id", 2 FROM "job" j \
            JOIN "data_collection_datafile" c ON c."data_collection_id" = j."output_data_collection_id"
            """,
            "SELECT 2, \"source_datafile_id\", 2, \"dest_datafile_id\", 3 FROM \"related_datafile\"",
        ]
        if containment { parts.append("SELECT 1, \"dataset_id\", 2, \"id\", 4 FROM \"datafile\"") }
        return parts.joined(separator: " UNION ALL ")
    }

    /// One direction's recursive CTE: the start rows, then each step along (down) or against (up) an edge.
    func recursion(_ direction: WalkDirection, _ walk: Walk, readable: Readable) -> SQLFragment {
        let table = direction.table
        let down = direction == .downstream
        var sql: SQLFragment = """
            \(alias: table) ("kind", "id", "depth", "sk", "s", "dk", "d", "k") AS (
            """
        sql.append(start(walk.start, readable: readable))
        sql.append(" UNION ")
        let next: (kind: SQLFragment, id: SQLFragment) =
            down ? ("pvedge.\"dk\"", "pvedge.\"d\"") : ("pvedge.\"sk\"", "pvedge.\"s\"")
        let here: (kind: SQLFragment, id: SQLFragment) =
            down ? ("pvedge.\"sk\"", "pvedge.\"s\"") : ("pvedge.\"dk\"", "pvedge.\"d\"")
        let depth: SQLFragment = "pvwalk.\"depth\" + CASE WHEN \(next.kind) = 3 THEN 1 ELSE 0 END"
        sql.append(
            """
            SELECT CAST(\(next.kind) AS BIGINT), \(next.id), \(depth), CAST(pvedge."sk" AS BIGINT), pvedge."s", \
            CAST(pvedge."dk" AS BIGINT), pvedge."d", CAST(pvedge."k" AS BIGINT) \
            FROM \(alias: table) pvwalk JOIN pvedge ON \(here.kind) = pvwalk."kind" AND \(here.id) = pvwalk."id" \
            WHERE \(depth) <= \(Int64(walk.depth))
            """
        )
        if let condition = reachable(kind: next.kind, id: next.id, readable: readable) {
            sql.append(" AND ")
            sql.append(condition)
        }
        sql.append(")")
        return sql
    }

    /// The rows the walk starts from: data at depth 0, a job at depth 1 (it is a hop itself, as when reached).
    func start(_ start: Walk.Start, readable: Readable) -> SQLFragment {
        let noEdge: SQLFragment =
            "CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)"
        switch start {
        case .nodes(let nodes):
            // A start that does not exist, or that the caller may not read, starts nothing.
            return nodes.map { node -> SQLFragment in
                var sql: SQLFragment = """
                    SELECT CAST(\(Int64(node.kind.rawValue)) AS BIGINT), pvrow."id", \
                    CAST(\(node.kind == .job ? Int64(1) : Int64(0)) AS BIGINT), \(noEdge) \
                    FROM \(identifier: node.kind.table) pvrow WHERE pvrow."id" = \(node.id)
                    """
                if let condition = readable(node.kind, "pvrow") { sql.append(" AND \(condition)") }
                return sql
            }.joined(separator: " UNION ")
        case .jobs(let application, let version):
            var sql: SQLFragment = """
                SELECT CAST(3 AS BIGINT), pvrow."id", CAST(1 AS BIGINT), \(noEdge) FROM "job" pvrow \
                JOIN "application" a ON a."id" = pvrow."application_id" WHERE a."name" = \(application)
                """
            if let version { sql.append(" AND a.\"version\" = \(version)") }
            if let condition = readable(.job, "pvrow") { sql.append(" AND \(condition)") }
            return sql
        case .jobsOfApplication(let id):
            var sql: SQLFragment = """
                SELECT CAST(3 AS BIGINT), pvrow."id", CAST(1 AS BIGINT), \(noEdge) FROM "job" pvrow \
                WHERE pvrow."application_id" = \(id)
                """
            if let condition = readable(.job, "pvrow") { sql.append(" AND \(condition)") }
            return sql
        }
    }

    /// That the node `(kind, id)` may be read: nil when every node may.
    func reachable(kind: SQLFragment, id: SQLFragment, readable: Readable) -> SQLFragment? {
        let tests = NodeKind.allCases.map { ($0, readable($0, "pvrow")) }
        guard tests.contains(where: { $0.1 != nil }) else { return nil }
        var sql: SQLFragment = "(CASE \(kind)"
        for (node, condition) in tests {
            sql.append(" WHEN \(Int64(node.rawValue)) THEN ")
            if let condition {
                sql.append(
                    "EXISTS (SELECT 1 FROM \(identifier: node.table) pvrow WHERE pvrow.\"id\" = \(id) AND \(condition))"
                )
            } else {
                sql.append("1 = 1")
            }
        }
        sql.append(" END)")
        return sql
    }
}

extension WalkDirection {
    /// The recursive CTE of a direction.
    var table: String { self == .upstream ? "pvup" : "pvdown" }
}

extension NodeKind {
    var table: String {
        switch self {
        case .dataset: "dataset"
        case .datafile: "datafile"
        case .job: "job"
        }
    }
}
