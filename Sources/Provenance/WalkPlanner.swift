import CatalogSQL

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
/// datafiles, are one derived table `pe(sk, s, dk, d, k)` pointing the way data flows. A recursive CTE walks them
/// from the start, down (`pd`) or up (`pu`) or both, reaching only nodes the caller may read (`readable`); a row
/// records the node, its depth (job hops; the other hops are free) and the edge it was reached by, and rows are
/// distinct, so cycles end at the depth bound. The statement's rows are those walk rows with the nodes' details.
public struct WalkPlanner: Sendable {
    /// The READ condition on a row of a node's table aliased `alias`; nil when every row may be read.
    public typealias Readable = @Sendable (NodeKind, String) -> SQLFragment?

    public init() {}

    public func statement(_ walk: Walk, readable: Readable) -> SQLFragment {
        var sql: SQLFragment = "WITH RECURSIVE pe (\"sk\", \"s\", \"dk\", \"d\", \"k\") AS ("
        sql.append(edges(containment: walk.containment))
        sql.append(")")
        let directions: [WalkDirection] =
            walk.direction == .both ? [.downstream, .upstream] : [walk.direction]
        for direction in directions {
            sql.append(", ")
            sql.append(recursion(direction, walk, readable: readable))
        }
        sql.append(" SELECT w.\"kind\", w.\"id\", w.\"depth\", w.\"sk\", w.\"s\", w.\"dk\", w.\"d\", w.\"k\", ")
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
            ) w LEFT JOIN "dataset" ds ON w."kind" = 1 AND ds."id" = w."id" \
            LEFT JOIN "datafile" df ON w."kind" = 2 AND df."id" = w."id" \
            LEFT JOIN "job" j ON w."kind" = 3 AND j."id" = w."id" \
            LEFT JOIN "application" a ON a."id" = j."application_id"
            """
        )
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
        let next: (kind: SQLFragment, id: SQLFragment) = down ? ("pe.\"dk\"", "pe.\"d\"") : ("pe.\"sk\"", "pe.\"s\"")
        let here: (kind: SQLFragment, id: SQLFragment) = down ? ("pe.\"sk\"", "pe.\"s\"") : ("pe.\"dk\"", "pe.\"d\"")
        let depth: SQLFragment = "w.\"depth\" + CASE WHEN \(next.kind) = 3 THEN 1 ELSE 0 END"
        sql.append(
            """
            SELECT CAST(\(next.kind) AS BIGINT), \(next.id), \(depth), CAST(pe."sk" AS BIGINT), pe."s", \
            CAST(pe."dk" AS BIGINT), pe."d", CAST(pe."k" AS BIGINT) \
            FROM \(alias: table) w JOIN pe ON \(here.kind) = w."kind" AND \(here.id) = w."id" \
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

    /// The rows the walk starts from, at depth 0 (a job started from counts as one hop).
    func start(_ start: Walk.Start, readable: Readable) -> SQLFragment {
        let noEdge: SQLFragment =
            "CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS BIGINT)"
        switch start {
        case .nodes(let nodes):
            return nodes.map { node -> SQLFragment in
                "SELECT CAST(\(Int64(node.kind.rawValue)) AS BIGINT), CAST(\(node.id) AS BIGINT), CAST(0 AS BIGINT), \(noEdge)"
            }.joined(separator: " UNION ")
        case .jobs(let application, let version):
            var sql: SQLFragment = """
                SELECT CAST(3 AS BIGINT), pr."id", CAST(1 AS BIGINT), \(noEdge) FROM "job" pr \
                JOIN "application" a ON a."id" = pr."application_id" WHERE a."name" = \(application)
                """
            if let version { sql.append(" AND a.\"version\" = \(version)") }
            if let condition = readable(.job, "pr") { sql.append(" AND \(condition)") }
            return sql
        case .jobsOfApplication(let id):
            var sql: SQLFragment = """
                SELECT CAST(3 AS BIGINT), pr."id", CAST(1 AS BIGINT), \(noEdge) FROM "job" pr \
                WHERE pr."application_id" = \(id)
                """
            if let condition = readable(.job, "pr") { sql.append(" AND \(condition)") }
            return sql
        }
    }

    /// That the node `(kind, id)` may be read: nil when every node may.
    func reachable(kind: SQLFragment, id: SQLFragment, readable: Readable) -> SQLFragment? {
        let tests = NodeKind.allCases.map { ($0, readable($0, "pr")) }
        guard tests.contains(where: { $0.1 != nil }) else { return nil }
        var sql: SQLFragment = "(CASE \(kind)"
        for (node, condition) in tests {
            sql.append(" WHEN \(Int64(node.rawValue)) THEN ")
            if let condition {
                sql.append(
                    "EXISTS (SELECT 1 FROM \(identifier: node.table) pr WHERE pr.\"id\" = \(id) AND \(condition))"
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
    var table: String { self == .upstream ? "pu" : "pd" }
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
