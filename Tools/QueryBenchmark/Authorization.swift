import Catalog
import CatalogQuery
import CatalogSQL
import CatalogSchema
import CatalogStore
import Foundation
import JSONValue
import Logging

// Authorization benchmark (--authorization): on the generated catalog, adds users, memberships, instrument
// scientists and released investigations, loads the standard rule set (Rules/facility.yaml) as root, then times a
// member browsing (their investigations, the datasets of one, the datafiles of one dataset: a page of 50 and the
// count each) three ways in the same run: as the member (authorized), the same query text as root, and
// hand-written SQL for what the member may see, through the same driver.

/// The member whose browsing is timed.
let memberName = "simple/member"

// MARK: The rule set

/// A rule set file, read without a YAML library: the benchmark target does not depend on CatalogRuleSets (nor on
/// Yams), and Rules/facility.yaml writes every rule, public step and grouping as a one-line flow mapping
/// (`- {crudFlags: R, what: "...", grouping: useroffice}`).
struct RuleFile {
    var groupings: [String] = []
    var rules: [(crudFlags: String, what: String, grouping: String?)] = []
    var publicSteps: [(origin: String, field: String)] = []

    init(contentsOf path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var section = ""
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || line.isEmpty { continue }
            if !rawLine.hasPrefix(" "), line.hasSuffix(":") {
                section = String(line.dropLast())
                continue
            }
            switch section {
            case "groupings":
                if line.hasPrefix("- name:") {
                    groupings.append(line.dropFirst("- name:".count).trimmingCharacters(in: .whitespaces))
                } else if line.hasPrefix("members:") {
                    guard line.replacingOccurrences(of: " ", with: "") == "members:[]" else {
                        throw BenchmarkError("grouping members are not supported by this reader: \(line)")
                    }
                }
            case "rules":
                let fields = try Self.flowMapping(line)
                guard let flags = fields["crudFlags"], let what = fields["what"] else {
                    throw BenchmarkError("a rule needs crudFlags and what: \(line)")
                }
                rules.append((flags, what, fields["grouping"]))
            case "publicSteps":
                let fields = try Self.flowMapping(line)
                guard let origin = fields["origin"], let field = fields["field"] else {
                    throw BenchmarkError("a public step needs origin and field: \(line)")
                }
                publicSteps.append((origin, field))
            default:
                throw BenchmarkError("unexpected line in the rule set: \(line)")
            }
        }
    }

    /// `- {key: value, key: "quoted, value"}` as a dictionary.
    static func flowMapping(_ line: String) throws -> [String: String] {
        guard line.hasPrefix("- {"), line.hasSuffix("}") else {
            throw BenchmarkError("expected a one-line flow mapping: \(line)")
        }
        var rest = Substring(line.dropFirst(3).dropLast())
        var fields: [String: String] = [:]
        while true {
            rest = rest.drop(while: { $0 == " " || $0 == "," })
            if rest.isEmpty { break }
            guard let colon = rest.firstIndex(of: ":") else { throw BenchmarkError("expected key: value in \(line)") }
            let key = rest[..<colon].trimmingCharacters(in: .whitespaces)
            rest = rest[rest.index(after: colon)...].drop(while: { $0 == " " })
            if rest.first == "\"" {
                rest = rest.dropFirst()
                guard let end = rest.firstIndex(of: "\"") else { throw BenchmarkError("unterminated string: \(line)") }
                fields[key] = String(rest[..<end])
                rest = rest[rest.index(after: end)...]
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                fields[key] = rest[..<end].trimmingCharacters(in: .whitespaces)
                rest = rest[end...]
            }
        }
        return fields
    }

    /// Creates the groupings, rules and public steps through the catalog, as `session` (a root user), as
    /// RuleSetLoader does; does nothing when the catalog already has rules.
    func load(into catalog: Catalog, session: String) async throws -> Bool {
        let present = try await catalog.search(sessionId: session, query: "SELECT COUNT(r) FROM Rule r")
        if present[0]?.int64Value ?? 0 > 0 { return false }
        var groupingIds: [String: Int64] = [:]
        for grouping in groupings {
            groupingIds[grouping] = try await catalog.createMany(
                sessionId: session,
                entities: [["Grouping": ["name": .string(grouping)]]]
            )[0]
        }
        let ruleEntities: [JSON] = try rules.map { rule in
            var body: [String: JSON] = ["crudFlags": .string(rule.crudFlags), "what": .string(rule.what)]
            if let grouping = rule.grouping {
                guard let id = groupingIds[grouping] else { throw BenchmarkError("unknown grouping \(grouping)") }
                body["grouping"] = ["id": .int(id)]
            }
            return ["Rule": .object(body)]
        }
        _ = try await catalog.createMany(sessionId: session, entities: ruleEntities)
        _ = try await catalog.createMany(
            sessionId: session,
            entities: publicSteps.map { ["PublicStep": ["origin": .string($0.origin), "field": .string($0.field)]] }
        )
        return true
    }
}

// MARK: Users and memberships

/// The steps that add users, memberships, instrument scientists and release dates to the generated catalog:
/// `memberName` is a member of 20 investigations (one in every `investigations / 20`); 3,000 other users are
/// members of three investigations each; five instrument scientists, one per instrument; one investigation in ten
/// is released (releaseDate in the past), none of the member's; the rest are released in the future.
func authorizationSteps(_ shape: Shape) -> [(String, SQLStatement)] {
    let every = max(1, shape.investigations / 20)
    var steps: [(String, SQLStatement)] = []
    func step(_ label: String, _ fragment: SQLFragment) {
        steps.append((label, sql(fragment)))
    }
    step(
        "users",
        """
        INSERT INTO "user" (\(auditColumns), "name", "full_name")
        SELECT \(auditValues), u.name, u.full_name FROM (
            SELECT 0 AS n, \(memberName) AS name, 'The Member' AS full_name
            UNION ALL SELECT g, 'simple/user' || lpad(g::text, 5, '0'), 'User ' || g FROM generate_series(1, 3000) g
            UNION ALL SELECT 10000 + g, 'simple/scientist' || g, 'Scientist ' || g FROM generate_series(1, 5) g
        ) u ORDER BY u.n
        """
    )
    step(
        "instrument scientists",
        """
        INSERT INTO "instrument_scientist" (\(auditColumns), "instrument_id", "user_id")
        SELECT \(auditValues), ins."id", u."id" FROM "instrument" ins
        JOIN "user" u ON u."name" = 'simple/scientist' || substr(ins."name", 6)
        """
    )
    step(
        "investigation users",
        """
        INSERT INTO "investigation_user" (\(auditColumns), "role", "investigation_id", "user_id")
        SELECT \(auditValues), m.role, m.investigation_id, u."id" FROM (
            SELECT \(memberName) AS name, 'member' AS role, i."id" AS investigation_id
            FROM (SELECT "id", row_number() OVER (ORDER BY "id") AS n FROM "investigation") i \
            WHERE i.n % \(Int64(every)) = \(Int64(7 % every))
            UNION ALL
            SELECT 'simple/user' || lpad((1 + (i.n * 3 + k) % 3000)::text, 5, '0'),
                CASE k WHEN 0 THEN 'principal_investigator' WHEN 1 THEN 'writer' ELSE 'member' END, i."id"
            FROM (SELECT "id", row_number() OVER (ORDER BY "id") AS n FROM "investigation") i
            CROSS JOIN generate_series(0, 2) k
        ) m JOIN "user" u ON u."name" = m.name ORDER BY m.investigation_id, u."id"
        """
    )
    step(
        "release dates",
        """
        UPDATE "investigation" i SET "release_date" = CASE WHEN r.n % 10 = 3 AND r.n % \(Int64(every)) <> \(Int64(7 % every))
            THEN TIMESTAMPTZ '2021-01-01 00:00:00+00' + r.n * INTERVAL '1 hour'
            ELSE TIMESTAMPTZ '2090-01-01 00:00:00+00' + r.n * INTERVAL '1 hour' END
        FROM (SELECT "id", row_number() OVER (ORDER BY "id") AS n FROM "investigation") r WHERE r."id" = i."id"
        """
    )
    return steps
}

/// Adds users and memberships unless the member exists already (a reused database).
func prepareAuthorization(_ database: any Database, shape: Shape) async throws {
    let existing = try await database.withConnection { connection in
        try await connection.query(sql("SELECT count(*) FROM \"user\" WHERE \"name\" = \(memberName)"))
    }
    if existing.first?[0].int64Value ?? 0 > 0 {
        print("reusing the users and memberships in the database")
        return
    }
    print("adding users, memberships, instrument scientists and release dates")
    for (label, statement) in authorizationSteps(shape) {
        let elapsed = try await time {
            try await database.withTransaction { connection in try await connection.execute(statement) }
        }
        print("  \(pad(label, 30)) \(String(format: "%7.2f s", elapsed))")
    }
    try await database.withConnection { connection in
        try await connection.execute(sql("VACUUM (ANALYZE)"))
    }
}

// MARK: Browsing

extension EntityColumns {
    static let investigation = EntityColumns(columns: [
        ("id", "id", .long), ("create_id", "createId", .string), ("create_time", "createTime", .date),
        ("mod_id", "modId", .string), ("mod_time", "modTime", .date), ("doi", "doi", .string),
        ("end_date", "endDate", .date), ("file_count", "fileCount", .long), ("file_size", "fileSize", .long),
        ("name", "name", .string), ("release_date", "releaseDate", .date), ("start_date", "startDate", .date),
        ("summary", "summary", .string), ("title", "title", .string), ("visit_id", "visitId", .string),
    ])
}

/// What the member's browsing varies over: their investigations and the datasets of those.
struct MemberWorkload: Sendable {
    let investigations: [Int64]
    let datasets: [Int64]

    func investigation(_ i: Int) -> Int64 { investigations[i % investigations.count] }
    func dataset(_ i: Int) -> Int64 { datasets[Int((UInt64(i) &* 7919 &+ 13) % UInt64(datasets.count))] }
}

/// The hand-written condition that investigation `i` is readable by the member, under the standard rule set:
/// released, or the member is a member, an instrument scientist of one of its instruments, or in a grouping
/// given to it (the investigations of those three, computed once per statement). Binds the member's name three
/// times.
let readableInvestigation: SQLFragment = """
    (i."release_date" < CURRENT_TIMESTAMP OR i."id" IN (
        SELECT iu."investigation_id" FROM "investigation_user" iu JOIN "user" u ON u."id" = iu."user_id"
        WHERE u."name" = \(memberName)
        UNION ALL
        SELECT ii."investigation_id" FROM "investigation_instrument" ii
        JOIN "instrument_scientist" s ON s."instrument_id" = ii."instrument_id" JOIN "user" u ON u."id" = s."user_id"
        WHERE u."name" = \(memberName)
        UNION ALL
        SELECT ig."investigation_id" FROM "investigation_group" ig
        JOIN "user_group" ug ON ug."grouping_id" = ig."grouping_id" JOIN "user" u ON u."id" = ug."user_id"
        WHERE u."name" = \(memberName)))
    """

func count(_ rows: [SQLRow]) -> JSON {
    .array(rows.map { .int($0[0].int64Value ?? -1) })
}

func browseCases(_ w: MemberWorkload) -> [QueryCase] {
    let inv = EntityColumns.investigation
    let ds = EntityColumns.dataset
    let df = EntityColumns.datafile
    return [
        QueryCase(
            name: "my investigations page",
            text: { _ in
                "SELECT i FROM Investigation i JOIN i.investigationUsers iu JOIN iu.user u WHERE u.name = "
                    + "'\(memberName)' ORDER BY i.name LIMIT 0, 50"
            },
            handWritten: { _, connection in
                let rows = try await connection.query(
                    sql(
                        "SELECT \(inv.select("i")) FROM \"investigation\" i "
                            + "JOIN \"investigation_user\" m ON m.\"investigation_id\" = i.\"id\" "
                            + "JOIN \"user\" mu ON mu.\"id\" = m.\"user_id\" "
                            + "WHERE mu.\"name\" = \(memberName) AND \(readableInvestigation) ORDER BY i.\"name\" LIMIT 50"
                    )
                )
                return inv.search(rows, "Investigation")
            }
        ),
        QueryCase(
            name: "my investigations count",
            text: { _ in
                "SELECT COUNT(i) FROM Investigation i JOIN i.investigationUsers iu JOIN iu.user u WHERE u.name = "
                    + "'\(memberName)'"
            },
            handWritten: { _, connection in
                count(
                    try await connection.query(
                        sql(
                            "SELECT count(*) FROM \"investigation\" i "
                                + "JOIN \"investigation_user\" m ON m.\"investigation_id\" = i.\"id\" "
                                + "JOIN \"user\" mu ON mu.\"id\" = m.\"user_id\" "
                                + "WHERE mu.\"name\" = \(memberName) AND \(readableInvestigation)"
                        )
                    )
                )
            }
        ),
        QueryCase(
            name: "datasets page",
            text: {
                "SELECT ds FROM Dataset ds WHERE ds.investigation.id = \(w.investigation($0)) ORDER BY ds.name "
                    + "LIMIT 0, 50"
            },
            handWritten: { n, connection in
                let rows = try await connection.query(
                    sql(
                        "SELECT \(ds.select("ds")) FROM \"dataset\" ds "
                            + "JOIN \"investigation\" i ON i.\"id\" = ds.\"investigation_id\" "
                            + "WHERE ds.\"investigation_id\" = \(w.investigation(n)) AND \(readableInvestigation) "
                            + "ORDER BY ds.\"name\" LIMIT 50"
                    )
                )
                return ds.search(rows, "Dataset")
            }
        ),
        QueryCase(
            name: "datasets count",
            text: { "SELECT COUNT(ds) FROM Dataset ds WHERE ds.investigation.id = \(w.investigation($0))" },
            handWritten: { n, connection in
                count(
                    try await connection.query(
                        sql(
                            "SELECT count(*) FROM \"dataset\" ds "
                                + "JOIN \"investigation\" i ON i.\"id\" = ds.\"investigation_id\" "
                                + "WHERE ds.\"investigation_id\" = \(w.investigation(n)) AND \(readableInvestigation)"
                        )
                    )
                )
            }
        ),
        QueryCase(
            name: "datafiles page",
            text: {
                "SELECT df FROM Datafile df WHERE df.dataset.id = \(w.dataset($0)) ORDER BY df.name LIMIT 0, 50"
            },
            handWritten: { n, connection in
                let rows = try await connection.query(
                    sql(
                        "SELECT \(df.select("df")) FROM \"datafile\" df "
                            + "JOIN \"dataset\" ds ON ds.\"id\" = df.\"dataset_id\" "
                            + "JOIN \"investigation\" i ON i.\"id\" = ds.\"investigation_id\" "
                            + "WHERE df.\"dataset_id\" = \(w.dataset(n)) AND \(readableInvestigation) ORDER BY df.\"name\" LIMIT 50"
                    )
                )
                return df.search(rows, "Datafile")
            }
        ),
        QueryCase(
            name: "datafiles count",
            text: { "SELECT COUNT(df) FROM Datafile df WHERE df.dataset.id = \(w.dataset($0))" },
            handWritten: { n, connection in
                count(
                    try await connection.query(
                        sql(
                            "SELECT count(*) FROM \"datafile\" df "
                                + "JOIN \"dataset\" ds ON ds.\"id\" = df.\"dataset_id\" "
                                + "JOIN \"investigation\" i ON i.\"id\" = ds.\"investigation_id\" "
                                + "WHERE df.\"dataset_id\" = \(w.dataset(n)) AND \(readableInvestigation)"
                        )
                    )
                )
            }
        ),
        // Catalog-wide: every investigation the member may read (1,020 of 10,000), not the same rows as root's.
        QueryCase(
            name: "visible investigations page",
            text: { _ in "SELECT i FROM Investigation i ORDER BY i.name LIMIT 0, 50" },
            isCatalogWide: true,
            handWritten: { _, connection in
                let rows = try await connection.query(
                    sql(
                        "SELECT \(inv.select("i")) FROM \"investigation\" i WHERE \(readableInvestigation) "
                            + "ORDER BY i.\"name\" LIMIT 50"
                    )
                )
                return inv.search(rows, "Investigation")
            }
        ),
        QueryCase(
            name: "visible investigations count",
            text: { _ in "SELECT COUNT(i) FROM Investigation i" },
            isCatalogWide: true,
            handWritten: { _, connection in
                count(
                    try await connection.query(
                        sql("SELECT count(*) FROM \"investigation\" i WHERE \(readableInvestigation)")
                    )
                )
            }
        ),
    ]
}

// MARK: Measuring

/// Queries per second of each way, each timed for `seconds` in all, in short slices taken in the order given,
/// then in reverse, repeated, so that changes in the machine's load during the run affect every way alike.
func compareWays(
    seconds: Double,
    concurrency: Int,
    _ ways: [@Sendable (Int) async throws -> Void]
) async throws -> [Double] {
    let slice = 0.25
    let groups = max(1, Int((seconds / (2 * slice)).rounded()))
    var calls = Array(repeating: 0, count: ways.count)
    var elapsed = Array(repeating: 0.0, count: ways.count)
    let order = Array(ways.indices) + ways.indices.reversed()
    for group in 0..<groups {
        for (round, way) in order.enumerated() {
            let (made, took) = try await run(
                for: seconds / Double(2 * groups),
                concurrency: concurrency,
                // Every way goes through the same literals in a half-group.
                offset: (group * 2 + round / ways.count) * 1_000_003,
                ways[way]
            )
            calls[way] += made
            elapsed[way] += took
        }
    }
    return zip(calls, elapsed).map { Double($0) / $1 }
}

/// The restriction the catalog adds for the member, rebuilt from the rule set with the catalog's own compiler
/// (`compileRule` and `CompiledRule.anyAdmits`, as `Caller.condition` does), to show the SQL a search runs.
struct MemberRestriction: QueryRestriction {
    let rules: [String: [CompiledRule]]
    let restrictsEveryVariable: Bool

    init(_ ruleFile: RuleFile, restrictsEveryVariable: Bool) throws {
        self.restrictsEveryVariable = restrictsEveryVariable
        let compiler = QueryCompiler(model: EntityModel.icat, dialect: .postgresql)
        var rules: [String: [CompiledRule]] = [:]
        for rule in ruleFile.rules where rule.grouping == nil && rule.crudFlags.uppercased().contains("R") {
            let compiled = try compiler.compileRule(rule.what)
            rules[compiled.entity.name, default: []].append(compiled)
        }
        self.rules = rules
    }

    func condition(for entity: EntityDefinition, alias: String) -> SQLFragment? {
        guard let rules = rules[entity.name] else { return "1 = 0" }
        if rules.contains(where: \.isUnrestricted) { return nil }
        return CompiledRule.anyAdmits(rules, alias: alias, userName: memberName)
    }
}

/// Prints EXPLAIN ANALYZE of the SQL the catalog runs for the member's query `text`.
func explain(_ text: String, restriction: MemberRestriction, database: any Database) async throws {
    let compiler = QueryCompiler(model: EntityModel.icat, dialect: .postgresql)
    let compiled = try compiler.compile(text, userName: memberName, maximumRows: 10_001, restriction: restriction)
    let statement = compiled.sql.statement(.postgresql, userName: memberName)
    print("")
    print("-- \(text)")
    print(statement.text)
    let plan = try await database.withConnection { connection in
        try await connection.query(("EXPLAIN (ANALYZE, BUFFERS) " + compiled.sql).statement(.postgresql))
    }
    for row in plan { print(row[0].stringValue ?? "") }
}

// MARK: The mode

func authorizationBenchmark(
    database: any Database,
    shape: Shape,
    options: Options,
    logger: Logger
) async throws {
    try await prepareAuthorization(database, shape: shape)
    let configuration = CatalogConfiguration(
        rootUserNames: ["simple/root"],
        authenticators: [
            AuthenticatorConfiguration(
                mnemonic: "simple",
                users: ["root": .plain("secret"), "member": .plain("member-secret")],
                anonymous: false
            )
        ],
        authorization: AuthorizationConfiguration(restrictJoins: options.restrictJoins)
    )
    print("authorization.restrictJoins: \(options.restrictJoins)")
    let catalog = Catalog(database: database, configuration: configuration, logger: logger)
    let root = try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])
    let ruleFile = try RuleFile(contentsOf: options.rules)
    let loaded = try await time {
        if try await ruleFile.load(into: catalog, session: root) {
            print(
                "loaded \(options.rules): \(ruleFile.groupings.count) groupings, \(ruleFile.rules.count) rules, "
                    + "\(ruleFile.publicSteps.count) public steps"
            )
        } else {
            print("the catalog has rules already; \(options.rules) not loaded")
        }
    }
    print(String(format: "  (%.2f s)", loaded))
    let member = try await catalog.login(
        plugin: "simple",
        credentials: ["username": "member", "password": "member-secret"]
    )

    let mine = try await database.withConnection { connection in
        try await connection.query(
            sql(
                "SELECT iu.\"investigation_id\" FROM \"investigation_user\" iu JOIN \"user\" u ON u.\"id\" = iu.\"user_id\" "
                    + "WHERE u.\"name\" = \(memberName) ORDER BY 1"
            )
        )
    }.compactMap { $0[0].int64Value }
    guard !mine.isEmpty else { throw BenchmarkError("\(memberName) belongs to no investigation") }
    var datasetIds: [Int64] = []
    for id in mine {
        let rows = try await database.withConnection { connection in
            try await connection.query(
                sql("SELECT \"id\" FROM \"dataset\" WHERE \"investigation_id\" = \(id) ORDER BY \"id\"")
            )
        }
        datasetIds += rows.compactMap { $0[0].int64Value }
    }
    let workload = MemberWorkload(investigations: mine, datasets: datasetIds)
    let visible = try await catalog.search(sessionId: member, query: "SELECT COUNT(i) FROM Investigation i")
    print(
        "\(memberName) is a member of \(mine.count) investigations (\(datasetIds.count) datasets) and reads "
            + "\(visible[0]?.int64Value ?? -1) of \(shape.investigations) investigations"
    )

    let cases = browseCases(workload)
    print("")
    print("browsing (iteration 0; ids vary across the run over the member's investigations and datasets):")
    for query in cases { print("  \(pad(query.name, 30)) \(query.text(0))") }
    let restriction = try MemberRestriction(ruleFile, restrictsEveryVariable: options.restrictJoins)
    if options.explain {
        for query in cases { try await explain(query.text(0), restriction: restriction, database: database) }
    }
    print("")
    print("compiling (mean µs per query, \(options.compilations) compilations):")
    for query in cases {
        let member = try compileMicroseconds(
            query,
            count: options.compilations,
            userName: memberName,
            restriction: restriction
        )
        let root = try compileMicroseconds(query, count: options.compilations)
        print(
            "  \(pad(query.name, 30)) member \(String(format: "%6.1f", member)), root \(String(format: "%6.1f", root))"
        )
    }
    print("")

    var results: [(query: QueryCase, rates: [Double])] = []
    for query in cases {
        // The member's results equal the hand-written SQL's, and, on the member's own data, root's, first.
        for i in 0..<20 {
            let authorized = try await catalog.search(sessionId: member, query: query.text(i))
            if !query.isCatalogWide {
                let asRoot = try await catalog.search(sessionId: root, query: query.text(i))
                try requireSame(("the member", authorized), ("root", asRoot), for: query.name, query.text(i))
            }
            let byHand = try await database.withConnection { connection in try await query.handWritten(i, connection) }
            try requireSame(("the member", authorized), ("hand-written SQL", byHand), for: query.name, query.text(i))
        }
        let ways: [@Sendable (Int) async throws -> Void] = [
            { i in _ = try await catalog.search(sessionId: member, query: query.text(i)) },
            { i in _ = try await catalog.search(sessionId: root, query: query.text(i)) },
            { i in _ = try await database.withConnection { connection in try await query.handWritten(i, connection) } },
        ]
        for way in ways { _ = try await run(for: 0.25, concurrency: 1, offset: 50_000_017, way) }
        let rates = try await compareWays(seconds: options.seconds, concurrency: 1, ways)
        results.append((query, rates))
        print(
            "  " + pad(query.name, 30)
                + String(format: " authorized %.1f, root %.1f, hand-written %.1f q/s", rates[0], rates[1], rates[2])
        )
    }

    print("")
    print(
        pad("browse step", 30) + padLeft("authorized q/s", 16) + padLeft("root q/s", 11) + padLeft("hand q/s", 11)
            + padLeft("auth/root time", 16) + padLeft("auth/hand q/s", 15) + padLeft("hand/root time", 15)
    )
    for (query, rates) in results {
        print(
            pad(query.name + (query.isCatalogWide ? " *" : ""), 30) + padLeft(String(format: "%.1f", rates[0]), 16)
                + padLeft(String(format: "%.1f", rates[1]), 11)
                + padLeft(String(format: "%.1f", rates[2]), 11)
                + padLeft(String(format: "%.2f", rates[1] / rates[0]), 16)
                + padLeft(String(format: "%.2f", rates[0] / rates[2]), 15)
                + padLeft(String(format: "%.2f", rates[1] / rates[2]), 15)
        )
    }
    let browsing = results.filter { !$0.query.isCatalogWide }.map { $0.rates[1] / $0.rates[0] }
    print(
        "(sequential, one task; auth/root time = authorized time per query / root's, target <= 1.5; "
            + "auth/hand q/s = authorized throughput / hand-written's; hand/root time = the hand-written SQL's time "
            + "per query / root's, what the member's SQL cannot beat)"
    )
    print(
        "* catalog-wide: root reads all \(shape.investigations) investigations, the member those they may read; the "
            + "ratio includes that difference"
    )
    print(
        String(format: "the member's browsing: largest auth/root time %.2f, ", browsing.max() ?? 0)
            + ((browsing.max() ?? .infinity) <= 1.5 ? "within" : "over") + " the target of 1.5"
    )
}
