import Catalog
import CatalogQuery
import CatalogRuleSets
import CatalogSQL
import CatalogStore
import Foundation
import JSONValue
import Logging
import Provenance

// Provenance benchmark: fills a PostgreSQL database with a generated provenance graph (Graph.swift: 1,000,000
// datasets by default, with their datafiles, investigations and members, and jobs on both job models in chains,
// fan-in, fan-out and a few cycles) using set-based SQL, loads Rules/facility.yaml, then times
// `Provenance.graph` downstream and upstream at depth 20 from a set of start points as root and as a member who
// may read the whole of each walk (one per start family), next to a hand-written recursive CTE (HandWritten.swift) computing the same
// nodes in the same run, and the catalog's own statement run alone. It checks that the three give the same nodes
// at the same depths, and prints figures; it asserts nothing else.
//
//   icat-provenance-benchmark --postgres URL [--datasets N] [--datafiles-per-dataset N] [--starts N] [--runs N]
//                             [--depth N] [--slow-seconds S] [--reuse] [--explain] [--print-sql] [--rules FILE]
//
// URL names an empty PostgreSQL database the benchmark may fill (Tools/bench-provenance.sh makes one); with
// --reuse, a database that already holds the graph of the same size is used as it is. --starts is the number of
// start families (two walks each, one each way); --runs how many times each walk is timed each way (once only
// when, checked first, it took over --slow-seconds as root or as the member, so that a slow catalog still gives
// figures within hours); --explain
// prints EXPLAIN (ANALYZE, BUFFERS) of the catalog's statement for the slowest walks even when the targets are met;
// --print-sql prints the catalog's statement of the first walk, as root and as the member, with its bound values,
// and stops (to try changes to it by hand in psql).

struct Options {
    var postgres: String?
    var datasets = 1_000_000
    var datafilesPerDataset = 2
    var starts = 20
    var runs = 5
    var depth = 20
    var reuse = false
    var explain = false
    var slowSeconds = 5.0
    var printSQL = false
    var rules = "Rules/facility.yaml"

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--postgres": postgres = iterator.next()
            case "--datasets": datasets = iterator.next().flatMap(Int.init) ?? datasets
            case "--datafiles-per-dataset":
                datafilesPerDataset = iterator.next().flatMap(Int.init) ?? datafilesPerDataset
            case "--starts": starts = iterator.next().flatMap(Int.init) ?? starts
            case "--runs": runs = iterator.next().flatMap(Int.init) ?? runs
            case "--depth": depth = iterator.next().flatMap(Int.init) ?? depth
            case "--reuse": reuse = true
            case "--explain": explain = true
            case "--slow-seconds": slowSeconds = iterator.next().flatMap(Double.init) ?? slowSeconds
            case "--print-sql": printSQL = true
            case "--rules": rules = iterator.next() ?? rules
            default:
                print("unknown argument \(argument)")
                exit(2)
            }
        }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

/// The milliseconds `body` takes, and what it returned.
func timed<R>(_ body: () async throws -> R) async rethrows -> (ms: Double, result: R) {
    let clock = ContinuousClock()
    let start = clock.now
    let result = try await body()
    return (seconds(clock.now - start) * 1000, result)
}

func sql(_ fragment: SQLFragment) -> SQLStatement { fragment.statement(.postgresql) }

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

func padLeft(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

func format(_ value: Double, _ decimals: Int = 1) -> String { String(format: "%.\(decimals)f", value) }

/// The value below which `fraction` of `values` lie (nearest rank).
func percentile(_ values: [Double], _ fraction: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return sorted[min(sorted.count - 1, max(0, rank - 1))]
}

func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

// MARK: Generation

/// Generates the graph, unless `reuse` and the database already holds one of this shape.
func generate(_ database: any Database, shape: GraphShape, memberFamilies: Set<Int>, reuse: Bool) async throws {
    let existing = try await database.withConnection { connection in
        try await connection.query(sql("SELECT count(*) FROM \"dataset\""))
    }
    if let count = existing.first?[0].int64Value, count > 0 {
        guard reuse else {
            throw BenchmarkError("the database already holds datasets; give the benchmark an empty database")
        }
        let families = try await database.withConnection { connection in
            try await connection.query(
                sql("SELECT \"f\", \"member\" FROM \"bench_family\" ORDER BY \"f\"")
            )
        }
        let members = Set(families.filter { $0[1].boolValue == true }.compactMap { $0[0].int64Value }.map(Int.init))
        guard count == shape.datasets, families.count == shape.families, members == memberFamilies else {
            throw BenchmarkError(
                "the database holds a graph of \(count) datasets (\(families.count) families, member in "
                    + "\(members.count)), not the one asked for (\(shape.datasets) datasets, member in "
                    + "\(memberFamilies.count) families): give the same --datasets and --starts, or an empty database"
            )
        }
        print("reusing the graph in the database (\(count) datasets)")
        return
    }
    // As a superuser, the generator skips the foreign-key triggers: every generated id is a formula of rows that
    // the same generation writes, so nothing is left unchecked that could be wrong.
    let superuser =
        try await database.withConnection { connection in
            try await connection.query(
                sql("SELECT \"rolsuper\" FROM \"pg_roles\" WHERE \"rolname\" = current_user")
            )
        }.first?[0].boolValue ?? false
    print(
        "generating: \(shape.families) families, \(shape.investigations) investigations, \(shape.datasets) datasets, "
            + "\(shape.datafiles) datafiles" + (superuser ? " (foreign-key triggers off while generating)" : "")
    )
    var total =
        try await timed {
            try await database.withTransaction { connection in
                for statement in helperTables { try await connection.execute(sql(statement)) }
                try await connection.bulkInsert(
                    into: "bench_family",
                    columns: ["f", "w", "b", "layers", "cyclic", "member"],
                    rows: familyRows(shape, memberFamilies: memberFamilies)
                )
            }
        }.ms / 1000
    for (label, statements) in generationSteps(shape) {
        let elapsed =
            try await timed {
                try await database.withTransaction { connection in
                    try await connection.execute(sql("SET LOCAL work_mem = '256MB'"))
                    if superuser {
                        try await connection.execute(sql("SET LOCAL session_replication_role = replica"))
                    }
                    for statement in statements { try await connection.execute(sql(statement)) }
                }
            }.ms / 1000
        total += elapsed
        print("  \(pad(label, 36)) \(String(format: "%7.2f s", elapsed))")
        fflush(nil)
    }
    let analyze =
        try await timed {
            try await database.withConnection { connection in try await connection.execute(sql("VACUUM (ANALYZE)")) }
        }.ms / 1000
    total += analyze
    print("  \(pad("VACUUM (ANALYZE)", 36)) \(String(format: "%7.2f s", analyze))")
    print(String(format: "generation took %.1f s", total))
}

/// Counts of the generated graph's rows, printed once.
func printCounts(_ database: any Database) async throws {
    let tables = [
        "investigation", "dataset", "datafile", "job", "data_collection", "input_dataset", "output_dataset",
        "data_collection_dataset", "input_datafile", "output_datafile", "data_collection_datafile",
        "related_datafile", "investigation_user",
    ]
    var parts: [String] = []
    for table in tables {
        let rows = try await database.withConnection { connection in
            try await connection.query(sql("SELECT count(*) FROM \(identifier: table)"))
        }
        parts.append("\(table) \(rows.first?[0].int64Value ?? -1)")
    }
    print("rows: " + parts.joined(separator: ", "))
}

// MARK: Walks

/// A node set: each node with its depth (job hops from the start).
typealias NodeSet = [NodeRef: Int]

func nodeSet(_ graph: ProvenanceGraph) -> NodeSet {
    Dictionary(uniqueKeysWithValues: graph.nodes.map { ($0.ref, $0.depth) })
}

func nodeSet(_ rows: [SQLRow]) -> NodeSet {
    var nodes: NodeSet = [:]
    for row in rows {
        guard let kind = row[0].int64Value.flatMap({ NodeKind(rawValue: Int($0)) }), let id = row[1].int64Value,
            let depth = row[2].int64Value
        else { continue }
        nodes[NodeRef(kind, id)] = Int(depth)
    }
    return nodes
}

/// Prints loudly, and counts, when two ways of walking gave different nodes or depths.
func compare(_ one: (way: String, nodes: NodeSet), _ other: (way: String, nodes: NodeSet), for walk: String) -> Bool {
    guard one.nodes != other.nodes else { return true }
    let onlyOne = one.nodes.keys.filter { other.nodes[$0] == nil }.sorted()
    let onlyOther = other.nodes.keys.filter { one.nodes[$0] == nil }.sorted()
    let depths = one.nodes.keys.filter { other.nodes[$0] != nil && other.nodes[$0] != one.nodes[$0] }.sorted()
    func show(_ refs: [NodeRef]) -> String {
        refs.prefix(8).map { "\($0.kind.entityName) \($0.id)" }.joined(separator: ", ")
            + (refs.count > 8 ? ", ..." : "")
    }
    print("!!! MISMATCH in \(walk): \(one.way) \(one.nodes.count) nodes, \(other.way) \(other.nodes.count) nodes")
    if !onlyOne.isEmpty { print("!!!   only \(one.way) (\(onlyOne.count)): \(show(onlyOne))") }
    if !onlyOther.isEmpty { print("!!!   only \(other.way) (\(onlyOther.count)): \(show(onlyOther))") }
    if !depths.isEmpty { print("!!!   other depths (\(depths.count)): \(show(depths))") }
    return false
}

/// One walk's figures.
struct WalkFigures {
    let start: StartPoint
    var nodes = 0
    var edges = 0
    /// Rows of the catalog's statement (a node once per depth and edge it is reached by).
    var statementRows = 0
    var runs = 0
    var root: [Double] = []
    var member: [Double] = []
    var hand: [Double] = []
    var statement: [Double] = []
}

// MARK: Main

var logger = Logger(label: "provenance-benchmark")
logger.logLevel = .warning
let options = Options(Array(CommandLine.arguments.dropFirst()))
guard let url = options.postgres else {
    print(
        "usage: icat-provenance-benchmark --postgres URL [--datasets N] [--datafiles-per-dataset N] [--starts N] "
            + "[--runs N] [--depth N] [--slow-seconds S] [--reuse] [--explain] [--print-sql] [--rules FILE]"
    )
    exit(2)
}

let shape = GraphShape(datasets: options.datasets, datafilesPerDataset: options.datafilesPerDataset)
let starts = shape.startPoints(options.starts)
// Generation and the largest walks take longer than the default 30 s statement timeout.
let database = try await PostgresDatabase(
    url: url,
    limits: DatabaseLimits(statementTimeout: .seconds(3600)),
    logger: logger
)
let running = Task { await database.run() }
try await Migrator.bundled(for: .postgresql).migrate(database, logger: logger)
try await generate(database, shape: shape, memberFamilies: Set(starts.map(\.family)), reuse: options.reuse)
try await printCounts(database)

let configuration = CatalogConfiguration(
    rootUserNames: ["simple/root"],
    authenticators: [
        AuthenticatorConfiguration(
            mnemonic: "simple",
            users: Dictionary(
                uniqueKeysWithValues: [("root", .plain("secret"))]
                    + Set(starts.map(\.family)).map { ("member\($0)", .plain("member-secret")) }
            ),
            anonymous: false
        )
    ],
    database: DatabaseLimits(statementTimeout: .seconds(600))
)
let catalog = Catalog(database: database, configuration: configuration, logger: logger)
let provenance = Provenance(catalog: catalog)
let root = try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])

/// The rule set, loaded through the catalog as root (adding only what is missing, so a reused database keeps its).
struct InProcessTarget: RuleSetTarget {
    let catalog: Catalog
    let session: String
    func search(_ query: String) async throws -> JSON { try await catalog.search(sessionId: session, query: query) }
    func createMany(_ entities: [JSON]) async throws -> [Int64] {
        try await catalog.createMany(sessionId: session, entities: entities)
    }
}
let summary = try await RuleSetLoader(target: InProcessTarget(catalog: catalog, session: root))
    .load(RuleSet(contentsOf: URL(fileURLWithPath: options.rules)))
print("rules \(options.rules): \(summary)")
var members: [Int: String] = [:]
for family in Set(starts.map(\.family)) {
    members[family] = try await catalog.login(
        plugin: "simple",
        credentials: ["username": .string("member\(family)"), "password": "member-secret"]
    )
}
let someMember = starts[0].family
let visible = try await catalog.search(sessionId: members[someMember]!, query: "SELECT COUNT(ds) FROM Dataset ds")
print(
    "\(members.count) members, one per start family; \(memberName(family: someMember)) reads "
        + "\(visible[0]?.int64Value ?? -1) of \(shape.datasets) datasets (their family's, and released ones)"
)

func walk(_ start: StartPoint) -> Walk {
    Walk(
        start: .nodes([NodeRef(.dataset, start.dataset)]),
        direction: start.downstream ? .downstream : .upstream,
        depth: options.depth
    )
}

func graph(_ session: String, _ start: StartPoint) async throws -> ProvenanceGraph {
    try await provenance.graph(
        sessionId: session,
        entity: "Dataset",
        id: start.dataset,
        direction: start.downstream ? .downstream : .upstream,
        depth: options.depth
    )
}

func handWritten(_ start: StartPoint) async throws -> [SQLRow] {
    let statement = sql(handWrittenWalk(start: start.dataset, downstream: start.downstream, depth: options.depth))
    return try await database.withConnection { connection in try await connection.query(statement) }
}

/// The statement `Provenance.graph` runs for `session`'s walk, with its READ rules in it, and the user name it binds.
func catalogStatement(_ session: String, _ start: StartPoint) async throws -> (sql: SQLFragment, userName: String) {
    let walk = walk(start)
    return try await catalog.withReadRules(sessionId: session) { rules, _ in
        let sql = WalkPlanner().statement(walk) { kind, alias in
            rules.condition(for: kind.entityName, alias: alias)
        }
        return (sql, rules.userName)
    }
}

func run(_ statement: SQLStatement) async throws -> [SQLRow] {
    try await database.withConnection { connection in try await connection.query(statement) }
}

if options.printSQL, let first = starts.first {
    for (who, session) in [("root", root), ("the member", members[first.family]!)] {
        let (fragment, userName) = try await catalogStatement(session, first)
        let statement = fragment.statement(.postgresql, userName: userName)
        print("")
        print("-- the catalog's statement as \(who), \(first.label)")
        print(statement.text)
        print("-- bound: " + statement.binds.enumerated().map { "$\($0 + 1) = \($1)" }.joined(separator: ", "))
    }
    running.cancel()
    await running.value
    exit(0)
}

print("")
print(
    "walks: \(starts.count) from \(options.starts) start families, depth \(options.depth), \(options.runs) timed runs "
        + "each (1 for a walk that took over \(format(options.slowSeconds, 0)) s when checked)"
)
var figures = starts.map { WalkFigures(start: $0) }
var statements: [SQLStatement] = []
var mismatches = 0
// Every way once, which warms the caches, checking that the node sets agree.
for (index, start) in starts.enumerated() {
    let (rootMs, rootGraph) = try await timed { try await graph(root, start) }
    let (memberMs, memberGraph) = try await timed { try await graph(members[start.family]!, start) }
    let (handMs, handRows) = try await timed { try await handWritten(start) }
    let asRoot = nodeSet(rootGraph)
    if !compare(("provenance.graph as root", asRoot), ("the hand-written CTE", nodeSet(handRows)), for: start.label) {
        mismatches += 1
    }
    let asMember = nodeSet(memberGraph)
    if !compare(("provenance.graph as root", asRoot), ("provenance.graph as the member", asMember), for: start.label) {
        mismatches += 1
    }
    let (fragment, userName) = try await catalogStatement(root, start)
    statements.append(fragment.statement(.postgresql, userName: userName))
    figures[index].nodes = asRoot.count
    figures[index].edges = rootGraph.edges.count
    figures[index].runs = max(rootMs, memberMs) > options.slowSeconds * 1000 ? 1 : options.runs
    print(
        "  checked \(pad(start.label, 36)) \(padLeft("\(asRoot.count)", 6)) nodes: root \(format(rootMs)) ms, member "
            + "\(format(memberMs)) ms, hand-written \(format(handMs)) ms"
    )
    fflush(nil)
}

// Timed runs: each walk each way, the ways in a different order each run.
for runIndex in 0..<options.runs {
    for (index, start) in starts.enumerated() where runIndex < figures[index].runs {
        let statement = statements[index]
        let ways: [(WritableKeyPath<WalkFigures, [Double]>, () async throws -> Int)] = [
            (\.root, { try await graph(root, start).nodes.count }),
            (\.member, { try await graph(members[start.family]!, start).nodes.count }),
            (\.hand, { nodeSet(try await handWritten(start)).count }),
            (\.statement, { try await run(statement).count }),
        ]
        for offset in 0..<ways.count {
            let (path, body) = ways[(offset + runIndex + index) % ways.count]
            let (ms, count) = try await timed(body)
            figures[index][keyPath: path].append(ms)
            if path == \WalkFigures.statement { figures[index].statementRows = count }
        }
    }
}

// MARK: Figures

print("")
print(
    pad("walk (median ms of its runs)", 40) + padLeft("runs", 5) + padLeft("nodes", 7) + padLeft("edges", 7)
        + padLeft("rows", 7) + " |" + padLeft("root", 9) + padLeft("member", 9) + padLeft("hand", 9)
        + padLeft("SQL", 9) + " |" + padLeft("root/hand", 10) + padLeft("mem/root", 9)
)
for walk in figures {
    print(
        pad(walk.start.label, 40) + padLeft("\(walk.runs)", 5) + padLeft("\(walk.nodes)", 7)
            + padLeft("\(walk.edges)", 7)
            + padLeft("\(walk.statementRows)", 7) + " |" + padLeft(format(median(walk.root)), 9)
            + padLeft(format(median(walk.member)), 9) + padLeft(format(median(walk.hand)), 9)
            + padLeft(format(median(walk.statement)), 9) + " |"
            + padLeft(format(median(walk.root) / median(walk.hand), 2), 10)
            + padLeft(format(median(walk.member) / median(walk.root), 2), 9)
    )
}
print(
    "(rows: rows of the catalog's statement, a node once per depth and edge it is reached by; root, member: "
        + "provenance.graph; hand: the hand-written CTE; SQL: the catalog's statement alone, as root)"
)

struct Summary {
    let root, member, hand, statement: [Double]

    init(_ walks: [WalkFigures]) {
        root = walks.flatMap(\.root)
        member = walks.flatMap(\.member)
        hand = walks.flatMap(\.hand)
        statement = walks.flatMap(\.statement)
    }
}

print("")
print(
    pad("direction", 22) + padLeft("walks", 6) + padLeft("nodes med/max", 15) + " |"
        + padLeft("root ms med/p90", 18) + padLeft("member ms", 18) + padLeft("hand ms", 18)
        + padLeft("SQL ms", 18) + " |" + padLeft("root/hand med/p90", 19) + padLeft("mem/root med/p90", 18)
)
var ratios: (rootHand: Double, memberRoot: Double) = (0, 0)
for (label, walks) in [
    ("downstream", figures.filter(\.start.downstream)), ("upstream", figures.filter { !$0.start.downstream }),
    ("all", figures),
] {
    let s = Summary(walks)
    func pair(_ values: [Double]) -> String { "\(format(median(values))) / \(format(percentile(values, 0.9)))" }
    let rootHand = (median(s.root) / median(s.hand), percentile(s.root, 0.9) / percentile(s.hand, 0.9))
    let memberRoot = (median(s.member) / median(s.root), percentile(s.member, 0.9) / percentile(s.root, 0.9))
    let nodes = walks.map { Double($0.nodes) }
    print(
        pad(label, 22) + padLeft("\(walks.count)", 6)
            + padLeft("\(Int(median(nodes))) / \(Int(nodes.max() ?? 0))", 15) + " |" + padLeft(pair(s.root), 18)
            + padLeft(pair(s.member), 18) + padLeft(pair(s.hand), 18) + padLeft(pair(s.statement), 18) + " |"
            + padLeft("\(format(rootHand.0, 2)) / \(format(rootHand.1, 2))", 19)
            + padLeft("\(format(memberRoot.0, 2)) / \(format(memberRoot.1, 2))", 18)
    )
    if label == "all" { ratios = (rootHand.0, memberRoot.0) }
}
print("(med/p90 over every run of every walk of that direction; ratios of those medians and of those p90s)")

let small = figures.filter { $0.nodes <= 1000 }
let largestSmall = small.max { $0.nodes < $1.nodes }
let slowestSmall = small.map { max(percentile($0.root, 0.9), percentile($0.member, 0.9)) }.max() ?? .nan
if let walk = largestSmall {
    print("")
    print(
        "the largest walk of at most 1,000 nodes: \(walk.start.label), \(walk.nodes) nodes: root "
            + "\(format(median(walk.root))) ms median, \(format(percentile(walk.root, 0.9))) ms p90; member "
            + "\(format(median(walk.member))) ms median, \(format(percentile(walk.member, 0.9))) ms p90"
    )
    print("the slowest run of any walk of at most 1,000 nodes (root or member): \(format(slowestSmall)) ms")
}

let rootMet = ratios.rootHand <= 1.5
let memberMet = ratios.memberRoot <= 2
let smallMet = slowestSmall < 1000
print("")
print(
    "targets: root / hand-written \(format(ratios.rootHand, 2)) (<= 1.5: \(rootMet ? "met" : "MISSED")); "
        + "member / root \(format(ratios.memberRoot, 2)) (<= 2: \(memberMet ? "met" : "MISSED")); "
        + "walks of <= 1,000 nodes \(format(slowestSmall)) ms at worst (< 1 s: \(smallMet ? "met" : "MISSED"))"
)
print(mismatches == 0 ? "node sets: all equal" : "!!! node sets: \(mismatches) MISMATCHES (see above)")

/// Prints EXPLAIN (ANALYZE, BUFFERS) of a statement.
func explain(_ title: String, _ fragment: SQLFragment, userName: String) async throws {
    let plan = try await run(("EXPLAIN (ANALYZE, BUFFERS) " + fragment).statement(.postgresql, userName: userName))
    print("")
    print("-- \(title)")
    for row in plan { print(row[0].stringValue ?? "") }
}

if options.explain || !rootMet || !memberMet || !smallMet {
    if let worst = figures.max(by: { median($0.root) / median($0.hand) < median($1.root) / median($1.hand) }) {
        let (fragment, userName) = try await catalogStatement(root, worst.start)
        try await explain("the catalog's statement as root, \(worst.start.label)", fragment, userName: userName)
        try await explain(
            "the hand-written CTE, \(worst.start.label)",
            handWrittenWalk(start: worst.start.dataset, downstream: worst.start.downstream, depth: options.depth),
            userName: ""
        )
    }
    if let worst = figures.max(by: { median($0.member) / median($0.root) < median($1.member) / median($1.root) }) {
        let (fragment, userName) = try await catalogStatement(members[worst.start.family]!, worst.start)
        try await explain("the catalog's statement as the member, \(worst.start.label)", fragment, userName: userName)
    }
}

running.cancel()
await running.value
exit(mismatches == 0 ? 0 : 1)
