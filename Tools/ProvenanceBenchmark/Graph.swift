import CatalogSQL
import CatalogStore
import Foundation

// The generated provenance graph: families of 1,000 datasets (100 investigations of 10 datasets each), each a
// layered workflow in which the jobs of one layer read datasets of that layer and write those of the next.
//
// - chain (families 0-2 of every 10): one dataset per layer, 1,000 layers: a chain of 999 jobs.
// - pipeline (3-7): 20 datasets per layer, 50 layers; each of the 5 jobs of a layer reads a block of 4 datasets
//   and one dataset of each of two other blocks (fan-in 6) and writes a block of 4 (fan-out 4), so that a walk
//   spreads over the whole layer within a few hops.
// - wide (8-9): 50 datasets per layer, 20 layers, 10 jobs a layer, fan-in 7, fan-out 5.
// - one pipeline family in 20 also has two jobs that close cycles: one reads layer 30 and writes layer 12, one
//   reads layer 10 and writes layer 8.
//
// Even jobs use the link entities (InputDataset, OutputDataset), odd jobs their input and output data collections
// (DataCollectionDataset); one job in 7 also reads the first datafile of each of its inputs, one in 7 also writes
// the first datafile of each of its outputs (InputDatafile/OutputDatafile or DataCollectionDatafile, by the job's
// model); the first datafile of one dataset in 13 is related (RelatedDatafile) to that of the dataset at the same
// place of the next layer. Ids are given explicitly, as formulas of the family, layer and place.

/// What a family looks like.
struct FamilyKind: Sendable, Equatable {
    let name: String
    /// Datasets per layer.
    let width: Int
    /// Datasets a job writes (and the block it reads).
    let block: Int

    var layers: Int { GraphShape.datasetsPerFamily / width }
    var jobsPerLayer: Int { width / block }

    static let chain = FamilyKind(name: "chain", width: 1, block: 1)
    static let pipeline = FamilyKind(name: "pipeline", width: 20, block: 4)
    static let wide = FamilyKind(name: "wide", width: 50, block: 5)

    static func of(family: Int) -> FamilyKind {
        switch family % 10 {
        case 0..<3: .chain
        case 3..<8: .pipeline
        default: .wide
        }
    }

    static func isCyclic(family: Int) -> Bool { family % 20 == 4 }
}

/// The size of the generated graph.
struct GraphShape: Sendable {
    static let datasetsPerFamily = 1000
    static let datasetsPerInvestigation = 10
    static let investigationsPerFamily = datasetsPerFamily / datasetsPerInvestigation
    /// Users other than the member, each the principal investigator of one investigation in this many.
    static let users = 5000

    let families: Int
    let datafilesPerDataset: Int

    init(datasets: Int, datafilesPerDataset: Int) {
        families = max(1, datasets / Self.datasetsPerFamily)
        self.datafilesPerDataset = max(1, datafilesPerDataset)
    }

    var datasets: Int { families * Self.datasetsPerFamily }
    var investigations: Int { families * Self.investigationsPerFamily }
    var datafiles: Int { datasets * datafilesPerDataset }

    /// The id of the dataset at `place` of `layer` of `family`.
    func dataset(family: Int, layer: Int, place: Int) -> Int64 {
        Int64(family * Self.datasetsPerFamily + layer * FamilyKind.of(family: family).width + place + 1)
    }

    /// The families the starts are in, spread over the graph, two or three of each kind in every ten.
    func startFamilies(_ count: Int) -> [Int] {
        (0..<count).map { i in
            let tens = (i * families / count) / 10 * 10
            return min(families - 1, tens + i % 10)
        }
    }
}

/// A walk to time: a dataset and the direction, with the family it is in.
struct StartPoint: Sendable {
    let family: Int
    let dataset: Int64
    let downstream: Bool

    var label: String {
        let kind = FamilyKind.of(family: family).name + (FamilyKind.isCyclic(family: family) ? "+cycles" : "")
        return "\(downstream ? "down" : "up") ds \(dataset) (\(kind))"
    }
}

extension GraphShape {
    /// Two walks per start family: downstream from an early layer and upstream from a late one, each with 20 or
    /// more job hops ahead of it where the family has them; in a family with cycles, from layers whose walks go
    /// round them.
    func startPoints(_ count: Int) -> [StartPoint] {
        startFamilies(count).enumerated().flatMap { i, family -> [StartPoint] in
            let kind = FamilyKind.of(family: family)
            let place = (i * 7) % kind.width
            let (down, up): (Int, Int)
            if FamilyKind.isCyclic(family: family) {
                (down, up) = (14, 20)
            } else if kind == .chain {
                (down, up) = (100 + i, 900 - i)
            } else if kind == .pipeline {
                (down, up) = (1 + i % 3, kind.layers - 2 - i % 3)
            } else {
                (down, up) = (0, kind.layers - 1)
            }
            return [
                StartPoint(
                    family: family,
                    dataset: dataset(family: family, layer: down, place: place),
                    downstream: true
                ),
                StartPoint(
                    family: family,
                    dataset: dataset(family: family, layer: up, place: place),
                    downstream: false
                ),
            ]
        }
    }
}

/// The members whose walks are timed: one per start family, a member of the family's 100 investigations (1,000
/// datasets) and of no other, so that they may read the whole of each walk from their family (and root's walks and
/// theirs must be equal), and no more data than a busy user has.
func memberName(family: Int) -> String { "simple/member\(family)" }

/// The audit columns every table has, and the values the generator gives them.
let auditColumns: SQLFragment = "\"create_id\", \"create_time\", \"mod_id\", \"mod_time\""
let auditValues: SQLFragment = "'simple/root', now(), 'simple/root', now()"

/// The generation steps after the helper table `bench_family` is filled: a label and its statements.
func generationSteps(_ shape: GraphShape) -> [(String, [SQLFragment])] {
    let perFamily = Int64(GraphShape.datasetsPerFamily)
    let perInvestigation = Int64(GraphShape.datasetsPerInvestigation)
    let perFamilyInvestigations = Int64(GraphShape.investigationsPerFamily)
    let files = Int64(shape.datafilesPerDataset)
    let users = Int64(GraphShape.users)
    var steps: [(String, [SQLFragment])] = []
    func step(_ label: String, _ statements: SQLFragment...) { steps.append((label, statements)) }
    step(
        "reference rows",
        """
        INSERT INTO "facility" ("id", \(auditColumns), "name", "full_name", "days_until_release")
        VALUES (1, \(auditValues), 'PROVBENCH', 'Provenance benchmark facility', 1095)
        """,
        """
        INSERT INTO "investigation_type" ("id", \(auditColumns), "name", "facility_id")
        VALUES (1, \(auditValues), 'experiment', 1)
        """,
        """
        INSERT INTO "dataset_type" ("id", \(auditColumns), "name", "facility_id")
        VALUES (1, \(auditValues), 'processed', 1)
        """,
        """
        INSERT INTO "application" ("id", \(auditColumns), "name", "version", "facility_id")
        SELECT g, \(auditValues), 'app-' || (g % 5), '1.' || (g / 5), 1 FROM generate_series(1, 10) g
        """
    )
    step(
        "job plan (helper table)",
        """
        INSERT INTO "bench_job" ("id", "f", "w", "b", "l", "q")
        SELECT row_number() OVER (ORDER BY s.f, s.l, s.q), s.f, s.w, s.b, s.l, s.q FROM (
            SELECT fm."f", fm."w", fm."b", l, q FROM "bench_family" fm
            CROSS JOIN LATERAL generate_series(0, fm."layers" - 2) l
            CROSS JOIN LATERAL generate_series(0, fm."w" / fm."b" - 1) q
            UNION ALL
            SELECT fm."f", fm."w", fm."b", c.l, 0 FROM "bench_family" fm CROSS JOIN (VALUES (-1), (-2)) c(l)
            WHERE fm."cyclic"
        ) s(f, w, b, l, q)
        """
    )
    step(
        "edge plan (helper table)",
        """
        INSERT INTO "bench_edge" ("job_id", "dataset_id", "output")
        SELECT j."id", j."f" * \(perFamily) + e.layer * j."w" + e.place + 1, e.output FROM "bench_job" j
        CROSS JOIN LATERAL (
            SELECT j."l", j."q" * j."b" + k, false FROM generate_series(0, j."b" - 1) k WHERE j."l" >= 0
            UNION ALL SELECT j."l", ((j."q" + 1) * j."b") % j."w", false WHERE j."l" >= 0 AND j."w" > j."b"
            UNION ALL SELECT j."l", ((j."q" + 3) * j."b") % j."w", false WHERE j."l" >= 0 AND j."w" > j."b"
            UNION ALL SELECT j."l" + 1, j."q" * j."b" + k, true FROM generate_series(0, j."b" - 1) k
                WHERE j."l" >= 0
            UNION ALL SELECT c.layer, c.place, c.output
                FROM (VALUES (-1, 30, 0, false), (-1, 12, 0, true), (-2, 10, 0, false), (-2, 8, 1, true))
                AS c(l, layer, place, output) WHERE c.l = j."l"
        ) e(layer, place, output)
        """
    )
    step(
        "\(shape.investigations) investigations",
        """
        INSERT INTO "investigation" ("id", \(auditColumns), "name", "visit_id", "title", "start_date",
            "release_date", "facility_id", "type_id")
        SELECT g, \(auditValues), 'PROV-' || lpad(g::text, 7, '0'), '1', 'Investigation ' || g,
            TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1 minute',
            CASE WHEN g % 10 = 3 AND NOT fm."member" THEN TIMESTAMPTZ '2021-01-01 00:00:00+00'
                ELSE TIMESTAMPTZ '2090-01-01 00:00:00+00' END, 1, 1
        FROM generate_series(1, \(Int64(shape.investigations))) g
        JOIN "bench_family" fm ON fm."f" = (g - 1) / \(perFamilyInvestigations)
        ORDER BY g
        """
    )
    step(
        "\(shape.datasets) datasets",
        """
        INSERT INTO "dataset" ("id", \(auditColumns), "complete", "name", "location", "investigation_id",
            "type_id")
        SELECT g, \(auditValues), true, 'ds-' || lpad(g::text, 8, '0'), '/data/ds-' || g,
            (g - 1) / \(perInvestigation) + 1, 1
        FROM generate_series(1, \(Int64(shape.datasets))) g ORDER BY g
        """
    )
    step(
        "\(shape.datafiles) datafiles",
        """
        INSERT INTO "datafile" ("id", \(auditColumns), "name", "location", "file_size", "checksum",
            "datafile_create_time", "dataset_id")
        SELECT (d - 1) * \(files) + k + 1, \(auditValues), 'ds-' || lpad(d::text, 8, '0') || '-' || k || '.nxs',
            '/data/ds-' || d || '/' || k || '.nxs', 1024 + (d * 7919 + k) % 1000000, md5(d || ':' || k),
            TIMESTAMPTZ '2020-01-01 00:00:00+00' + d * INTERVAL '1 second', d
        FROM generate_series(1, \(Int64(shape.datasets))) d CROSS JOIN generate_series(0, \(files - 1)) k
        ORDER BY d, k
        """
    )
    step(
        "jobs and data collections",
        """
        INSERT INTO "data_collection" ("id", \(auditColumns))
        SELECT 2 * j."id" - 1 + c.n, \(auditValues) FROM "bench_job" j CROSS JOIN (VALUES (0), (1)) c(n)
        WHERE j."id" % 2 = 1 ORDER BY j."id", c.n
        """,
        """
        INSERT INTO "job" ("id", \(auditColumns), "arguments", "application_id", "input_data_collection_id",
            "output_data_collection_id")
        SELECT j."id", \(auditValues), '--family ' || j."f" || ' --layer ' || j."l" || ' --block ' || j."q",
            1 + j."id" % 10, CASE WHEN j."id" % 2 = 1 THEN 2 * j."id" - 1 END,
            CASE WHEN j."id" % 2 = 1 THEN 2 * j."id" END
        FROM "bench_job" j ORDER BY j."id"
        """
    )
    step(
        "InputDataset, OutputDataset",
        """
        INSERT INTO "input_dataset" (\(auditColumns), "job_id", "dataset_id")
        SELECT \(auditValues), e."job_id", e."dataset_id" FROM "bench_edge" e
        WHERE e."job_id" % 2 = 0 AND NOT e."output" ORDER BY e."job_id", e."dataset_id"
        """,
        """
        INSERT INTO "output_dataset" (\(auditColumns), "job_id", "dataset_id")
        SELECT \(auditValues), e."job_id", e."dataset_id" FROM "bench_edge" e
        WHERE e."job_id" % 2 = 0 AND e."output" ORDER BY e."job_id", e."dataset_id"
        """
    )
    step(
        "DataCollectionDataset",
        """
        INSERT INTO "data_collection_dataset" (\(auditColumns), "data_collection_id", "dataset_id")
        SELECT \(auditValues), 2 * e."job_id" - CASE WHEN e."output" THEN 0 ELSE 1 END, e."dataset_id"
        FROM "bench_edge" e WHERE e."job_id" % 2 = 1 ORDER BY e."job_id", e."dataset_id"
        """
    )
    step(
        "datafile edges (both job models)",
        """
        INSERT INTO "input_datafile" (\(auditColumns), "job_id", "datafile_id")
        SELECT \(auditValues), e."job_id", (e."dataset_id" - 1) * \(files) + 1 FROM "bench_edge" e
        WHERE e."job_id" % 2 = 0 AND e."job_id" % 7 = 3 AND NOT e."output"
        """,
        """
        INSERT INTO "output_datafile" (\(auditColumns), "job_id", "datafile_id")
        SELECT \(auditValues), e."job_id", (e."dataset_id" - 1) * \(files) + 1 FROM "bench_edge" e
        WHERE e."job_id" % 2 = 0 AND e."job_id" % 7 = 5 AND e."output"
        """,
        """
        INSERT INTO "data_collection_datafile" (\(auditColumns), "data_collection_id", "datafile_id")
        SELECT \(auditValues), 2 * e."job_id" - CASE WHEN e."output" THEN 0 ELSE 1 END,
            (e."dataset_id" - 1) * \(files) + 1
        FROM "bench_edge" e WHERE e."job_id" % 2 = 1
        AND ((e."job_id" % 7 = 3 AND NOT e."output") OR (e."job_id" % 7 = 5 AND e."output"))
        """
    )
    step(
        "RelatedDatafile",
        """
        INSERT INTO "related_datafile" (\(auditColumns), "relation", "source_datafile_id", "dest_datafile_id")
        SELECT \(auditValues), 'calibrates', (d - 1) * \(files) + 1, (d + fm."w" - 1) * \(files) + 1
        FROM generate_series(13, \(Int64(shape.datasets)), 13) d
        JOIN "bench_family" fm ON fm."f" = (d - 1) / \(perFamily)
        WHERE ((d - 1) % \(perFamily)) / fm."w" < fm."layers" - 1
        """
    )
    step(
        "users and memberships",
        """
        INSERT INTO "user" ("id", \(auditColumns), "name", "full_name")
        SELECT g, \(auditValues), 'simple/user' || lpad(g::text, 5, '0'), 'User ' || g
        FROM generate_series(1, \(users)) g
        UNION ALL SELECT \(users) + 1 + fm."f", \(auditValues), 'simple/member' || fm."f", 'Member of family ' || fm."f"
        FROM "bench_family" fm WHERE fm."member"
        """,
        """
        INSERT INTO "investigation_user" (\(auditColumns), "role", "investigation_id", "user_id")
        SELECT \(auditValues), 'principal_investigator', g, 1 + g % \(users)
        FROM generate_series(1, \(Int64(shape.investigations))) g
        UNION ALL
        SELECT \(auditValues), 'member', fm."f" * \(perFamilyInvestigations) + k, \(users) + 1 + fm."f"
        FROM "bench_family" fm CROSS JOIN generate_series(1, \(perFamilyInvestigations)) k WHERE fm."member"
        """
    )
    let sequences = explicitIdTables.map { table -> SQLFragment in
        let quoted: SQLFragment = "\(identifier: table)"
        return """
            SELECT setval(pg_get_serial_sequence(\(quoted.statement(.postgresql).text), 'id'), \
            (SELECT max("id") FROM \(identifier: table)))
            """
    }
    steps.append(("id sequences", sequences))
    steps.append(("helper tables dropped", ["DROP TABLE \"bench_edge\"", "DROP TABLE \"bench_job\""]))
    return steps
}

/// The tables whose ids the generator gives explicitly, whose id sequences must then go on after them.
let explicitIdTables = [
    "facility", "investigation_type", "dataset_type", "application", "investigation", "dataset", "datafile",
    "data_collection", "job", "user",
]

/// The helper tables: the families (kept, so that a reused database can be checked against the shape asked for),
/// and the planned jobs and dataset edges (dropped once the catalog's tables are filled).
let helperTables: [SQLFragment] = [
    """
    CREATE TABLE "bench_family" ("f" BIGINT PRIMARY KEY, "w" BIGINT NOT NULL, "b" BIGINT NOT NULL,
        "layers" BIGINT NOT NULL, "cyclic" BOOLEAN NOT NULL, "member" BOOLEAN NOT NULL)
    """,
    """
    CREATE UNLOGGED TABLE "bench_job" ("id" BIGINT PRIMARY KEY, "f" BIGINT NOT NULL, "w" BIGINT NOT NULL,
        "b" BIGINT NOT NULL, "l" BIGINT NOT NULL, "q" BIGINT NOT NULL)
    """,
    """
    CREATE UNLOGGED TABLE "bench_edge" ("job_id" BIGINT NOT NULL, "dataset_id" BIGINT NOT NULL,
        "output" BOOLEAN NOT NULL)
    """,
]

/// The families' rows for `bench_family`: f, w, b, layers, cyclic, member.
func familyRows(_ shape: GraphShape, memberFamilies: Set<Int>) -> [[SQLValue]] {
    (0..<shape.families).map { f in
        let kind = FamilyKind.of(family: f)
        return [
            .integer(Int64(f)), .integer(Int64(kind.width)), .integer(Int64(kind.block)),
            .integer(Int64(kind.layers)), .boolean(FamilyKind.isCyclic(family: f)),
            .boolean(memberFamilies.contains(f)),
        ]
    }
}
