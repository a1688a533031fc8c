import Catalog
import CatalogSchema
import Foundation
import JSONValue
import Testing

/// ICAT's read authorization, checked against an independent reference on random catalogs, rules and queries:
/// nothing leaks, nothing is missing.
///
/// For each seed: a random catalog (investigations, datasets, datafiles, parameters, members with roles, instrument
/// scientists, groupings), a random rule set with public steps, and random queries (entity selects, field
/// selects, aggregates, INCLUDE, both syntaxes). Every query runs as each user and is compared with a reference
/// computed without the authorization code: the same query (or its entity-select equivalent) run as root, kept to
/// the objects some applicable rule admits — each rule's query run on its own as root with `:user` written in —
/// and with included objects pruned the same way unless a public step frees the step. Then the rules, groupings,
/// members and public steps are changed at random and everything is compared again.
///
/// Subqueries and joins: a probe marks, in its text, what the catalog must restrict besides the selected entity —
/// `{S Entity path}` inside a subquery for what the subquery selects, `{J Entity path}` for a joined or navigated
/// variable. The catalog gets the text without the marks; the reference, run as root, gets each mark as
/// `AND path.id IN (the ids the user may read)`: `S` marks always, `J` marks only with `restrictJoins`.
@Suite("Authorization against a rule-by-rule reference")
struct AuthorizationDifferentialTests {
    static let seeds: [UInt64] = [1, 2, 3, 4, 5, 6]
    static let users = ["u0", "u1", "u2", "u3"]
    static let probesPerSeed = 30

    static func configuration(restrictJoins: Bool) -> CatalogConfiguration {
        var configuration = TestCatalog.configuration
        for user in users { configuration.authenticators[0].users[user] = .plain("\(user)-pw") }
        configuration.authorization.restrictJoins = restrictJoins
        return configuration
    }

    @Test(arguments: Backend.allCases, [false, true])
    func whatEachUserFindsIsWhatTheirRulesAdmitOneByOne(_ backend: Backend, restrictJoins: Bool) async throws {
        var total = Tally()
        // The restricted-joins mode shares all but its join marks with the default mode: fewer seeds suffice.
        let seeds = restrictJoins ? Array(Self.seeds.prefix(3)) : Self.seeds
        for seed in seeds {
            let configuration = Self.configuration(restrictJoins: restrictJoins)
            let tally = try await TestCatalog.with(backend, configuration: configuration) { catalog in
                try await Run(seed: seed, backend: backend, catalog: catalog, restrictJoins: restrictJoins).execute()
            }
            total.add(tally)
        }
        #expect(
            total.mismatches == 0,
            "\(backend), restrictJoins \(restrictJoins): \(total.mismatches) of \(total.comparisons) comparisons differ"
        )
        #expect(total.comparisons >= seeds.count * Self.users.count * Self.probesPerSeed)
    }

    // MARK: Generation

    /// SplitMix64: a small deterministic generator, so that a seed reproduces its catalog, rules and queries.
    struct SplitMix64 {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        mutating func int(_ range: ClosedRange<Int>) -> Int {
            range.lowerBound + Int(next() % UInt64(range.count))
        }

        mutating func chance(_ probability: Double) -> Bool {
            Double(next() >> 11) / Double(UInt64(1) << 53) < probability
        }

        mutating func pick<T>(_ items: [T]) -> T {
            items[int(0...(items.count - 1))]
        }

        /// Each item with the given probability, in order.
        mutating func subset<T>(_ items: [T], _ probability: Double) -> [T] {
            items.filter { _ in chance(probability) }
        }
    }

    static let entities = ["Investigation", "Dataset", "Datafile", "DatasetParameter"]
    static let variables = ["Investigation": "i", "Dataset": "ds", "Datafile": "df", "DatasetParameter": "p"]
    /// Joins from the entity's variable to its investigation, `i`.
    static let toInvestigation = [
        "Investigation": "", "Dataset": " JOIN ds.investigation i",
        "Datafile": " JOIN df.dataset ds JOIN ds.investigation i",
        "DatasetParameter": " JOIN p.dataset ds JOIN ds.investigation i",
    ]
    static let datasetNames = ["alpha", "beta", "gamma", "delta", "omega"]
    static let datafileNames = ["a1", "b2", "c3", "d4", "e5", "f6"]
    static let roles = ["PI", "member", "guest"]
    static let publicStepPool = [
        ("Dataset", "datafiles"), ("Datafile", "dataset"), ("Dataset", "investigation"), ("Investigation", "datasets"),
        ("Dataset", "parameters"), ("DatasetParameter", "dataset"), ("DatasetParameter", "type"),
        ("Investigation", "investigationUsers"), ("Dataset", "type"),
    ]

    /// A condition on an entity, with `{v}` where the variable and a dot go (nothing in the concise form), and the
    /// marks of the variables it navigates to, which restrict the whole query (an implicit join filters its rows
    /// whatever the condition around it says).
    struct Condition {
        var text: String
        var joins: [String] = []
    }

    static func condition(_ entity: String, _ random: inout SplitMix64) -> Condition {
        let investigation = "inv\(random.int(0...5))"
        let dataset = random.pick(datasetNames)
        let size = random.int(0...9) * 100
        let options: [Condition]
        switch entity {
        case "Investigation":
            options = [
                .init(text: "{v}name = '\(investigation)'"), .init(text: "{v}name IN ('inv0', 'inv2', 'inv4')"),
                .init(text: "{v}releaseDate < CURRENT_TIMESTAMP"), .init(text: "{v}releaseDate IS NULL"),
                .init(text: "{v}releaseDate > {ts 2050-01-01 00:00:00}"),
                .init(text: "{v}title LIKE '%\(random.int(0...3))'"),
                .init(
                    text:
                        "{v}id IN (SELECT x.investigation.id FROM Dataset x WHERE x.complete = TRUE{S Investigation x.investigation}{J Dataset x})"
                ),
                .init(text: "EXISTS (SELECT x FROM Datafile x WHERE x.name = 'a1'{S Datafile x})"),
            ]
        case "Dataset":
            options = [
                .init(text: "{v}complete = TRUE"), .init(text: "{v}name = '\(dataset)'"),
                .init(text: "{v}name LIKE '%a%'"),
                .init(
                    text: "{v}investigation.name = '\(investigation)'",
                    joins: ["{J Investigation {v}investigation}"]
                ),
                .init(text: "{v}type.name = 'raw'", joins: ["{J DatasetType {v}type}"]),
                .init(text: "{v}investigation.releaseDate IS NOT NULL", joins: ["{J Investigation {v}investigation}"]),
                .init(
                    text:
                        "{v}id IN (SELECT x.dataset.id FROM Datafile x WHERE x.fileSize > \(size){S Dataset x.dataset}{J Datafile x})"
                ),
                .init(text: "{v}name IN (SELECT x.name FROM Dataset x WHERE x.complete = FALSE{S Dataset x})"),
            ]
        case "Datafile":
            options = [
                .init(text: "{v}fileSize > \(size)"), .init(text: "{v}fileSize IS NULL"),
                .init(text: "{v}name = '\(random.pick(datafileNames))'"),
                .init(text: "{v}dataset.complete = FALSE", joins: ["{J Dataset {v}dataset}"]),
                .init(
                    text: "{v}dataset.investigation.name = '\(investigation)'",
                    joins: ["{J Dataset {v}dataset}", "{J Investigation {v}dataset.investigation}"]
                ),
                .init(text: "{v}fileSize BETWEEN \(size) AND \(size + 400)"),
                .init(
                    text:
                        "{v}dataset.id IN (SELECT x.dataset.id FROM DatasetParameter x WHERE x.numericValue IS NOT NULL{S Dataset x.dataset}{J DatasetParameter x})"
                ),
                .init(text: "{v}fileSize < (SELECT MAX(x.fileSize) FROM Datafile x WHERE x.id > 0{S Datafile x})"),
            ]
        default:
            options = [
                .init(text: "{v}numericValue > \(random.int(0...200))"),
                .init(text: "{v}type.name = 'mode'", joins: ["{J ParameterType {v}type}"]),
                .init(text: "{v}stringValue = 'fast'"),
                .init(text: "{v}dataset.name = '\(dataset)'", joins: ["{J Dataset {v}dataset}"]),
                .init(
                    text:
                        "{v}numericValue >= (SELECT AVG(x.numericValue) FROM DatasetParameter x WHERE x.numericValue IS NOT NULL{S DatasetParameter x})"
                ),
            ]
        }
        let first = random.pick(options)
        guard random.chance(0.25) else { return first }
        let second = random.pick(options)
        return Condition(
            text: "\(first.text) \(random.chance(0.5) ? "AND" : "OR") \(second.text)",
            joins: first.joins + second.joins
        )
    }

    static func jpql(_ condition: String, _ variable: String) -> String {
        condition.replacingOccurrences(of: "{v}", with: variable + ".")
    }

    static func concise(_ condition: String) -> String {
        condition.replacingOccurrences(of: "{v}", with: "")
    }

    /// A mark: `{S Entity path}` or `{J Entity path}`.
    nonisolated(unsafe) static let mark = #/\{([SJ]) ([A-Za-z]+) ([A-Za-z0-9_.]+)\}/#

    /// The text the catalog gets: without marks.
    static func unmarked(_ text: String) -> String {
        text.replacing(mark, with: "")
    }

    /// A random rule: flags, query, and whether it belongs to a grouping (decided by the caller).
    static func rule(_ random: inout SplitMix64) -> (flags: String, what: String) {
        let flags = self.flags(&random)
        if random.chance(0.1) {
            // Entities reached only through INCLUDE: a public table, or one's own memberships.
            return (
                flags,
                random.pick([
                    "ParameterType", "InvestigationUser",
                    "SELECT iu FROM InvestigationUser iu JOIN iu.user u WHERE u.name = :user",
                ])
            )
        }
        let entity = random.pick(["Investigation", "Dataset", "Dataset", "Datafile", "Datafile", "DatasetParameter"])
        let v = variables[entity]!
        let head = "SELECT \(v) FROM \(entity) \(v)"
        let joins = toInvestigation[entity]!
        let role = random.pick(roles)
        let what: String
        switch random.int(0...9) {
        case 0:
            what = random.chance(0.5) ? entity : head
        case 1:
            let condition = unmarked(condition(entity, &random).text)
            what = random.chance(0.5) ? "\(entity) [\(concise(condition))]" : "\(head) WHERE \(jpql(condition, v))"
        case 2:
            what = "\(head)\(joins) JOIN i.investigationUsers iu JOIN iu.user u WHERE u.name = :user"
        case 3:
            what =
                "\(head)\(joins) JOIN i.investigationUsers iu JOIN iu.user u WHERE u.name = :user AND iu.role = '\(role)'"
        case 4:
            if random.chance(0.5) {
                what = "\(head)\(joins) WHERE i.releaseDate < CURRENT_TIMESTAMP"
            } else if entity == "Investigation" {
                what = "Investigation [releaseDate < CURRENT_TIMESTAMP]"
            } else {
                what = "\(entity) <-> Investigation [releaseDate < CURRENT_TIMESTAMP]"
            }
        case 5:
            what =
                "\(head)\(joins) JOIN i.investigationInstruments ii JOIN ii.instrument ins "
                + "JOIN ins.instrumentScientists s JOIN s.user u WHERE u.name = :user"
        case 6:
            let roleCondition = random.chance(0.4) ? " [role = '\(role)']" : ""
            what = "\(entity) <-> InvestigationUser\(roleCondition) <-> User [name = :user]"
        case 7:
            what =
                "\(head)\(joins) WHERE i.id IN "
                + "(SELECT iu.investigation.id FROM InvestigationUser iu WHERE iu.user.name = :user)"
        case 8:
            what =
                "\(head)\(joins) LEFT JOIN i.investigationUsers iu LEFT JOIN iu.user u "
                + "WHERE u.name = :user OR i.releaseDate < CURRENT_TIMESTAMP"
        default:
            // The entity reached from another one: selected along a relation, or as a joined variable.
            let options =
                [
                    "Investigation": [
                        "SELECT ds.investigation FROM Dataset ds", "Dataset.investigation",
                        "SELECT i FROM Dataset ds JOIN ds.investigation i WHERE ds.complete = TRUE",
                    ],
                    "Dataset": [
                        "SELECT df.dataset FROM Datafile df", "Datafile.dataset",
                        "SELECT df.dataset FROM Datafile df WHERE df.fileSize > 500",
                        // An inner join after an outer one filters: datasets without a sample are not admitted.
                        "SELECT ds FROM Dataset ds LEFT JOIN ds.sample s JOIN s.investigation si",
                    ],
                    "Datafile": ["SELECT df FROM Dataset ds JOIN ds.datafiles df WHERE ds.complete = TRUE"],
                    "DatasetParameter": ["SELECT p FROM Dataset ds JOIN ds.parameters p WHERE ds.name = 'beta'"],
                ][entity]!
            what = random.pick(options)
        }
        return (flags, what)
    }

    /// Random CRUD flags, R more often than not, sometimes in lower case (which ICAT accepts).
    static func flags(_ random: inout SplitMix64) -> String {
        var flags = ""
        for (flag, probability) in [("C", 0.3), ("R", 0.75), ("U", 0.3), ("D", 0.2)] where random.chance(probability) {
            flags += flag
        }
        if flags.isEmpty { flags = "R" }
        return random.chance(0.15) ? flags.lowercased() : flags
    }

    /// A query, and how to compute its answer from root's answers.
    struct Probe {
        enum Shape {
            /// The query selects objects of the entity; root's answer to the query itself is the reference.
            case entities(String)
            /// Attributes of the entity's objects that `reference` (an entity select) finds.
            case fields(reference: String, entity: String, fields: [String], distinct: Bool)
            /// An aggregate over the objects `reference` finds: COUNT of the objects, or of an attribute.
            case aggregate(reference: String, entity: String, function: String, field: String?, distinct: Bool)
            /// `key, COUNT` per value of an attribute of the objects `reference` finds.
            case grouped(reference: String, entity: String, key: String)
        }

        /// The query, with marks (see the suite's comment).
        let text: String
        let shape: Shape
        let ordered: Bool
        /// The `get` query with the same INCLUDE, for INCLUDE probes.
        var get: String?
        /// A concise probe whose joins have no marks, compared only when joins are not restricted.
        var hasUnmarkedJoins = false
    }

    static let orderKeys = [
        "Investigation": "i.name", "Dataset": "ds.name", "Datafile": "df.fileSize DESC",
        "DatasetParameter": "p.numericValue",
    ]
    static let attributes = [
        "Investigation": ["name", "releaseDate", "title"], "Dataset": ["name", "complete"],
        "Datafile": ["name", "fileSize"], "DatasetParameter": ["numericValue", "stringValue"],
    ]
    static let aggregates: [String: [(String, String?)]] = [
        "Investigation": [("COUNT", nil), ("MAX", "releaseDate"), ("MIN", "name")],
        "Dataset": [("COUNT", nil), ("MIN", "name"), ("MAX", "name")],
        "Datafile": [
            ("COUNT", nil), ("COUNT", "fileSize"), ("SUM", "fileSize"), ("MIN", "fileSize"), ("MAX", "fileSize"),
            ("AVG", "fileSize"),
        ],
        "DatasetParameter": [
            ("COUNT", nil), ("SUM", "numericValue"), ("MAX", "numericValue"), ("AVG", "numericValue"),
        ],
    ]
    static let includes = [
        "Investigation": [
            "i.datasets", "i.datasets ds, ds.datafiles", "i.investigationUsers", "i.datasets ds, ds.parameters",
        ],
        "Dataset": [
            "ds.datafiles", "ds.investigation", "ds.datafiles, ds.investigation", "ds.parameters p, p.type", "1",
        ],
        "Datafile": ["df.dataset", "df.dataset ds, ds.investigation", "1"],
        "DatasetParameter": ["p.dataset", "p.dataset, p.type", "1"],
    ]
    static let conciseIncludes = [
        "Investigation": ["Dataset", "Datafile"],
        "Dataset": ["Datafile", "Investigation", "Datafile, DatasetParameter"],
        "Datafile": ["Dataset", "Investigation"], "DatasetParameter": ["Dataset"],
    ]
    /// FROM clauses a query may use instead of the entity alone, with a condition on what they join; `true` when
    /// the joins may repeat the selected object. `:user` is the caller.
    /// The marks of the joined variables follow.
    static let joinVariants: [String: [(from: String, condition: String, multiplies: Bool, joins: [String])]] = [
        "Investigation": [
            ("Investigation i JOIN i.datasets ds", "ds.complete = TRUE", true, ["{J Dataset ds}"]),
            ("Investigation i JOIN i.investigationUsers iu", "iu.role = 'PI'", true, ["{J InvestigationUser iu}"]),
            (
                "Investigation i JOIN i.investigationUsers iu", "iu.user.name = :user", true,
                ["{J InvestigationUser iu}", "{J User iu.user}"]
            ),
            ("Dataset x JOIN x.investigation i", "x.complete = FALSE", true, ["{J Dataset x}"]),
        ],
        "Dataset": [
            ("Dataset ds JOIN ds.datafiles df", "df.fileSize > 300", true, ["{J Datafile df}"]),
            ("Dataset ds JOIN ds.investigation i", "i.name <> 'inv1'", false, ["{J Investigation i}"]),
            (
                "Dataset ds JOIN ds.investigation i JOIN i.investigationUsers iu", "iu.user.name = :user", true,
                ["{J Investigation i}", "{J InvestigationUser iu}", "{J User iu.user}"]
            ),
            ("Datafile x JOIN x.dataset ds", "x.fileSize > 200", true, ["{J Datafile x}"]),
        ],
        "Datafile": [
            (
                "Datafile df JOIN df.dataset ds JOIN ds.investigation i", "i.releaseDate IS NULL OR ds.complete = TRUE",
                false, ["{J Dataset ds}", "{J Investigation i}"]
            ),
            ("Dataset x JOIN x.datafiles df", "x.name <> 'beta'", false, ["{J Dataset x}"]),
        ],
        "DatasetParameter": [
            ("DatasetParameter p JOIN p.dataset ds", "ds.name IN ('beta', 'gamma')", false, ["{J Dataset ds}"])
        ],
    ]

    /// Queries that select an entity along a relation of another.
    static let navigatedSelects = [
        "Investigation": [
            "SELECT x.investigation FROM Dataset x WHERE x.complete = TRUE{J Dataset x}",
            "SELECT DISTINCT x.investigation FROM Dataset x WHERE x.id > 0{J Dataset x}",
        ],
        "Dataset": [
            "SELECT x.dataset FROM Datafile x WHERE x.fileSize > 300{J Datafile x}",
            "SELECT DISTINCT x.dataset FROM DatasetParameter x WHERE x.id > 0{J DatasetParameter x}",
        ],
    ]

    static func probe(_ random: inout SplitMix64) -> Probe {
        let entity = random.pick(entities)
        let v = variables[entity]!
        let condition: Condition? = random.chance(0.7) ? Self.condition(entity, &random) : nil
        let kind = random.int(0...99)
        let useConcise = random.chance(0.3)
        if useConcise {
            // The concise form's joins are not marked: with restrictJoins, such probes are not compared.
            let bracket = condition.map { " [\(concise($0.text))]" } ?? ""
            var related = ""
            if entity != "Investigation", random.chance(0.2) {
                related = " <-> Investigation [name <> 'inv\(random.int(0...5))']"
            } else if random.chance(0.15) {
                related = " <-> InvestigationUser <-> User [name = :user]"
            }
            let hasJoins = !related.isEmpty || !(condition?.joins.isEmpty ?? true)
            let reference = "\(entity)\(bracket)\(related)"
            var probe: Probe
            switch kind {
            case 0..<30:
                probe = Probe(text: reference, shape: .entities(entity), ordered: false)
            case 30..<55:
                let include = random.pick(conciseIncludes[entity]!)
                probe = Probe(
                    text: "\(entity) INCLUDE \(include)\(bracket)\(related)",
                    shape: .entities(entity),
                    ordered: false
                )
            case 55..<75:
                let field = random.pick(attributes[entity]!)
                let distinct = random.chance(0.3)
                probe = Probe(
                    text: "\(distinct ? "DISTINCT " : "")\(entity).\(field)\(bracket)\(related)",
                    shape: .fields(reference: reference, entity: entity, fields: [field], distinct: distinct),
                    ordered: false
                )
            default:
                let (function, field) = random.pick(aggregates[entity]!)
                let argument = field.map { "\(entity).\($0)" } ?? entity
                probe = Probe(
                    text: "\(function)(\(argument))\(bracket)\(related)",
                    shape: .aggregate(
                        reference: reference,
                        entity: entity,
                        function: function,
                        field: field,
                        distinct: false
                    ),
                    ordered: false
                )
            }
            probe.hasUnmarkedJoins = hasJoins
            return probe
        }
        if kind < 30, let navigated = navigatedSelects[entity], random.chance(0.15) {
            return Probe(text: random.pick(navigated), shape: .entities(entity), ordered: false)
        }
        var from = "\(entity) \(v)"
        var conditions = condition.map { [jpql($0.text, v)] } ?? []
        var marks = condition.map { $0.joins.map { jpql($0, v) } } ?? []
        var multiplies = false
        if kind >= 30 && kind < 55 {
            // INCLUDE: no joins, so that INCLUDE variables cannot collide with FROM variables.
        } else if random.chance(0.25) {
            let variant = random.pick(joinVariants[entity]!)
            from = variant.from
            conditions.append(variant.condition)
            marks += variant.joins
            multiplies = variant.multiplies
        }
        let whereText =
            conditions.isEmpty
            ? "" : " WHERE " + conditions.map { "(\($0))" }.joined(separator: " AND ") + marks.joined()
        switch kind {
        case 0..<30:
            let distinct = multiplies && random.chance(0.5)
            let ordered = random.chance(0.3)
            let order = ordered ? " ORDER BY \(orderKeys[entity]!), \(v).id" : ""
            return Probe(
                text: "SELECT \(distinct ? "DISTINCT " : "")\(v) FROM \(from)\(whereText)\(order)",
                shape: .entities(entity),
                ordered: ordered
            )
        case 30..<55:
            let include = random.pick(includes[entity]!)
            return Probe(
                text: "SELECT \(v) FROM \(from)\(whereText) INCLUDE \(include)",
                shape: .entities(entity),
                ordered: false,
                get: include == "1" ? "\(entity) INCLUDE 1" : "\(entity) \(v) INCLUDE \(include)"
            )
        case 55..<75:
            var fields = [random.pick(attributes[entity]!)]
            if random.chance(0.3), let other = attributes[entity]!.first(where: { $0 != fields[0] }) {
                fields.append(other)
            }
            let distinct = random.chance(0.3)
            let ordered = !distinct && random.chance(0.3)
            let order = ordered ? " ORDER BY \(orderKeys[entity]!), \(v).id" : ""
            let selected = fields.map { "\(v).\($0)" }.joined(separator: ", ")
            return Probe(
                text: "SELECT \(distinct ? "DISTINCT " : "")\(selected) FROM \(from)\(whereText)\(order)",
                shape: .fields(
                    reference: "SELECT \(v) FROM \(from)\(whereText)\(order)",
                    entity: entity,
                    fields: fields,
                    distinct: distinct
                ),
                ordered: ordered
            )
        case 75..<85:
            let key = random.pick(attributes[entity]!)
            return Probe(
                text: "SELECT \(v).\(key), COUNT(\(v)) FROM \(from)\(whereText) GROUP BY \(v).\(key)",
                shape: .grouped(reference: "SELECT \(v) FROM \(from)\(whereText)", entity: entity, key: key),
                ordered: false
            )
        default:
            let (function, field) = random.pick(aggregates[entity]!)
            let distinct = field == nil && multiplies && random.chance(0.5)
            let argument = (distinct ? "DISTINCT " : "") + v + (field.map { ".\($0)" } ?? "")
            return Probe(
                text: "SELECT \(function)(\(argument)) FROM \(from)\(whereText)",
                shape: .aggregate(
                    reference: "SELECT \(v) FROM \(from)\(whereText)",
                    entity: entity,
                    function: function,
                    field: field,
                    distinct: distinct
                ),
                ordered: false
            )
        }
    }

    // MARK: Running one seed

    struct Tally: Sendable {
        var comparisons = 0
        var mismatches = 0

        mutating func add(_ other: Tally) {
            comparisons += other.comparisons
            mismatches += other.mismatches
        }
    }

    /// What the reference knows, read back from the database as root: the rules, who is in which grouping, the
    /// public steps, and (lazily) the ids each rule admits for each user.
    struct Authorization {
        struct Rule {
            let id: Int64
            let flags: String
            let what: String
            let grouping: Int64?
        }

        let rules: [Rule]
        /// "grouping id/user name".
        let memberships: Set<String>
        /// "Origin.field".
        let publicSteps: Set<String>

        var description: String {
            let rules = self.rules.map { rule in
                "    #\(rule.id) \(rule.flags)\(rule.grouping.map { " grouping \($0)" } ?? ""): \(rule.what)"
            }
            return "rules:\n" + rules.joined(separator: "\n") + "\n  public steps: \(publicSteps.sorted())"
                + "\n  group members: \(memberships.sorted())"
        }
    }

    final class Run {
        let seed: UInt64
        let backend: Backend
        let catalog: Catalog
        var random: SplitMix64
        var root = ""
        var sessions: [String: String] = [:]
        var tally = Tally()
        var phase = 1
        var authorization = Authorization(rules: [], memberships: [], publicSteps: [])
        /// Ids each user may read, by user and entity.
        var readable: [String: [String: Set<Int64>]] = [:]
        /// Root's answers in this phase, by query.
        var rootAnswers: [String: [JSON]] = [:]
        var userIds: [String: Int64] = [:]
        var groupings: [Int64] = []
        var investigations: [Int64] = []
        var recorded = 0

        let restrictJoins: Bool

        init(seed: UInt64, backend: Backend, catalog: Catalog, restrictJoins: Bool) {
            self.seed = seed
            self.backend = backend
            self.catalog = catalog
            self.restrictJoins = restrictJoins
            self.random = SplitMix64(state: seed)
        }

        var model: EntityModel { catalog.model }

        func execute() async throws -> Tally {
            root = try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])
            try await populate()
            let ruleCount = random.int(4...10)
            for _ in 0..<ruleCount { try await addRule() }
            for (origin, field) in AuthorizationDifferentialTests.publicStepPool where random.chance(0.35) {
                _ = try await catalog.create(
                    sessionId: root,
                    entity: ["PublicStep": ["origin": .string(origin), "field": .string(field)]]
                )
            }
            let probes = (0..<AuthorizationDifferentialTests.probesPerSeed).map { _ in
                AuthorizationDifferentialTests.probe(&random)
            }
            for user in AuthorizationDifferentialTests.users {
                sessions["simple/\(user)"] = try await catalog.login(
                    plugin: "simple",
                    credentials: ["username": .string(user), "password": .string("\(user)-pw")]
                )
            }
            try await compareEverything(probes)
            phase = 2
            for _ in 0..<random.int(2...4) { try await mutate() }
            try await compareEverything(probes)
            return tally
        }

        // MARK: The catalog

        func populate() async throws {
            let facility = try await catalog.create(
                sessionId: root,
                entity: [
                    "Facility": [
                        "name": .string("F\(seed)"),
                        "investigationTypes": [["name": "experiment"]],
                        "datasetTypes": [["name": "raw"], ["name": "processed"]],
                        "parameterTypes": [
                            [
                                "name": "temperature", "units": "K", "valueType": "NUMERIC",
                                "applicableToDataset": true,
                            ],
                            ["name": "mode", "units": "N/A", "valueType": "STRING", "applicableToDataset": true],
                        ],
                        "instruments": [["name": "ins0"], ["name": "ins1"], ["name": "ins2"]],
                    ]
                ]
            )
            let body = try await catalog.get(
                sessionId: root,
                query: "Facility f INCLUDE f.investigationTypes, f.datasetTypes, f.parameterTypes, f.instruments",
                id: facility
            )["Facility"]!
            func ids(_ relation: String) -> [String: Int64] {
                var ids: [String: Int64] = [:]
                for item in body[relation]!.arrayValue! { ids[item["name"]!.stringValue!] = item["id"]!.int64Value! }
                return ids
            }
            let investigationType = ids("investigationTypes")["experiment"]!
            let datasetTypes = ids("datasetTypes")
            let parameterTypes = ids("parameterTypes")
            let instruments = ids("instruments").sorted { $0.key < $1.key }.map(\.value)

            // Users: u0–u2 always have a User row; u3 only sometimes (then no member rule can name them).
            var withRows = ["u0", "u1", "u2"]
            if random.chance(0.7) { withRows.append("u3") }
            let created = try await catalog.createMany(
                sessionId: root,
                entities: withRows.map { ["User": ["name": .string("simple/\($0)")]] }
            )
            for (user, id) in zip(withRows, created) { userIds["simple/\(user)"] = id }
            let people = withRows.map { userIds["simple/\($0)"]! }

            var entities: [JSON] = []
            for index in 0..<random.int(3...6) {
                var investigation: [String: JSON] = [
                    "name": .string("inv\(index)"), "visitId": "v1", "title": .string("title \(random.int(0...3))"),
                    "facility": ["id": .int(facility)], "type": ["id": .int(investigationType)],
                ]
                switch random.int(0...2) {
                case 0: investigation["releaseDate"] = .string("20\(10 + random.int(0...9))-03-04T05:06:07.000Z")
                case 1: investigation["releaseDate"] = .string("20\(80 + random.int(0...9))-03-04T05:06:07.000Z")
                default: break
                }
                var datasets: [JSON] = []
                for name in random.subset(AuthorizationDifferentialTests.datasetNames, 0.4).prefix(4) {
                    var datafiles: [JSON] = []
                    for file in random.subset(AuthorizationDifferentialTests.datafileNames, 0.35).prefix(4) {
                        var datafile: [String: JSON] = ["name": .string(file)]
                        if random.chance(0.8) { datafile["fileSize"] = .int(Int64(random.int(0...999))) }
                        datafiles.append(.object(datafile))
                    }
                    var parameters: [JSON] = []
                    if random.chance(0.5) {
                        parameters.append([
                            "type": ["id": .int(parameterTypes["temperature"]!)],
                            "numericValue": .double(Double(random.int(0...400)) / 2),
                        ])
                    }
                    if random.chance(0.4) {
                        parameters.append([
                            "type": ["id": .int(parameterTypes["mode"]!)],
                            "stringValue": .string(random.pick(["fast", "slow"])),
                        ])
                    }
                    datasets.append([
                        "name": .string(name), "complete": .bool(random.chance(0.5)),
                        "type": ["id": .int(random.pick(Array(datasetTypes.values).sorted()))],
                        "datafiles": .array(datafiles), "parameters": .array(parameters),
                    ])
                }
                investigation["datasets"] = .array(datasets)
                var members: [JSON] = []
                for person in people where random.chance(0.5) {
                    let roles = random.subset(AuthorizationDifferentialTests.roles, 0.4)
                    for role in roles.isEmpty ? [random.pick(AuthorizationDifferentialTests.roles)] : roles {
                        members.append(["role": .string(role), "user": ["id": .int(person)]])
                    }
                }
                investigation["investigationUsers"] = .array(members)
                investigation["investigationInstruments"] = .array(
                    random.subset(instruments, 0.4).map { ["instrument": ["id": .int($0)]] }
                )
                entities.append(["Investigation": .object(investigation)])
            }
            for index in 0..<random.int(1...2) {
                entities.append([
                    "Grouping": [
                        "name": .string("g\(index)"),
                        "userGroups": .array(random.subset(people, 0.5).map { ["user": ["id": .int($0)]] }),
                    ]
                ])
            }
            for instrument in instruments {
                for person in people where random.chance(0.3) {
                    entities.append([
                        "InstrumentScientist": ["instrument": ["id": .int(instrument)], "user": ["id": .int(person)]]
                    ])
                }
            }
            let ids = try await catalog.createMany(sessionId: root, entities: entities)
            for (entity, id) in zip(entities, ids) {
                if entity["Investigation"] != nil { investigations.append(id) }
                if entity["Grouping"] != nil { groupings.append(id) }
            }
        }

        func addRule() async throws {
            let (flags, what) = AuthorizationDifferentialTests.rule(&random)
            var rule: [String: JSON] = ["crudFlags": .string(flags), "what": .string(what)]
            if random.chance(0.25) { rule["grouping"] = ["id": .int(random.pick(groupings))] }
            do {
                _ = try await catalog.create(sessionId: root, entity: ["Rule": .object(rule)])
            } catch {
                Issue.record("\(backend) seed \(seed): the rule \(flags) '\(what)' was refused: \(error)")
            }
        }

        /// One random change of what authorization depends on.
        func mutate() async throws {
            switch random.int(0...6) {
            case 6:
                let rules = try await rootSearch("SELECT r.id FROM Rule r ORDER BY r.id")
                let (flags, what) = AuthorizationDifferentialTests.rule(&random)
                try await catalog.update(
                    sessionId: root,
                    entity: ["Rule": ["id": random.pick(rules), "crudFlags": .string(flags), "what": .string(what)]]
                )
            case 0:
                let rules = try await rootSearch("SELECT r.id FROM Rule r ORDER BY r.id")
                if rules.count > 1 {
                    try await catalog.delete(sessionId: root, entity: ["Rule": ["id": random.pick(rules)]])
                }
            case 1:
                try await addRule()
            case 2:
                let grouping = random.pick(groupings)
                let user = random.pick(userIds.keys.sorted())
                let existing = try await rootSearch(
                    "SELECT ug.id FROM UserGroup ug WHERE ug.grouping.id = \(grouping) AND ug.user.name = '\(user)'"
                )
                if let membership = existing.first {
                    try await catalog.delete(sessionId: root, entity: ["UserGroup": ["id": membership]])
                } else {
                    _ = try await catalog.create(
                        sessionId: root,
                        entity: [
                            "UserGroup": ["grouping": ["id": .int(grouping)], "user": ["id": .int(userIds[user]!)]]
                        ]
                    )
                }
            case 3:
                let members = try await rootSearch("SELECT iu.id FROM InvestigationUser iu ORDER BY iu.id")
                if !members.isEmpty {
                    try await catalog.delete(
                        sessionId: root,
                        entity: ["InvestigationUser": ["id": random.pick(members)]]
                    )
                }
            case 4:
                let (origin, field) = random.pick(AuthorizationDifferentialTests.publicStepPool)
                let existing = try await rootSearch(
                    "SELECT s.id FROM PublicStep s WHERE s.origin = '\(origin)' AND s.field = '\(field)'"
                )
                if let step = existing.first {
                    try await catalog.delete(sessionId: root, entity: ["PublicStep": ["id": step]])
                } else {
                    _ = try await catalog.create(
                        sessionId: root,
                        entity: ["PublicStep": ["origin": .string(origin), "field": .string(field)]]
                    )
                }
            default:
                let released = random.chance(0.5) ? "2015-01-01T00:00:00.000Z" : "2095-01-01T00:00:00.000Z"
                try await catalog.update(
                    sessionId: root,
                    entity: [
                        "Investigation": ["id": .int(random.pick(investigations)), "releaseDate": .string(released)]
                    ]
                )
            }
        }

        func rootSearch(_ query: String) async throws -> [JSON] {
            try await catalog.search(sessionId: root, query: query).arrayValue ?? []
        }

        // MARK: The reference

        /// Reads the rules, memberships and public steps back, and computes what each user may read, rule by rule.
        func loadReference() async throws {
            var rules: [Authorization.Rule] = []
            for item in try await rootSearch("SELECT r FROM Rule r INCLUDE r.grouping") {
                let rule = item["Rule"]!
                let what = rule["what"]!.stringValue!
                rules.append(
                    Authorization.Rule(
                        id: rule["id"]!.int64Value!,
                        flags: rule["crudFlags"]!.stringValue!,
                        what: what,
                        grouping: rule["grouping"]?["id"]?.int64Value
                    )
                )
            }
            var memberships: Set<String> = []
            for item in try await rootSearch("SELECT ug FROM UserGroup ug INCLUDE ug.user, ug.grouping") {
                let membership = item["UserGroup"]!
                memberships.insert(
                    "\(membership["grouping"]!["id"]!.int64Value!)/\(membership["user"]!["name"]!.stringValue!)"
                )
            }
            var steps: Set<String> = []
            for item in try await rootSearch("SELECT s FROM PublicStep s") {
                steps.insert(
                    "\(item["PublicStep"]!["origin"]!.stringValue!).\(item["PublicStep"]!["field"]!.stringValue!)"
                )
            }
            authorization = Authorization(rules: rules, memberships: memberships, publicSteps: steps)
            readable = [:]
            for user in sessions.keys.sorted() {
                var byEntity: [String: Set<Int64>] = [:]
                for rule in rules where rule.flags.uppercased().contains("R") {
                    if let grouping = rule.grouping, !memberships.contains("\(grouping)/\(user)") { continue }
                    let query = rule.what.replacingOccurrences(of: ":user", with: "'\(user)'")
                    // What the rule is about is what its query returns.
                    for case .object(let wrapped) in try await rootSearch(query) {
                        for (entity, members) in wrapped {
                            if let id = members["id"]?.int64Value { byEntity[entity, default: []].insert(id) }
                        }
                    }
                }
                readable[user] = byEntity
            }
            rootAnswers = [:]
        }

        func mayRead(_ user: String, _ entity: String, _ id: Int64?) -> Bool {
            guard let id else { return false }
            return readable[user]?[entity]?.contains(id) ?? false
        }

        /// Root's members of an object, with included objects the user may not read left out (unless a public
        /// step frees the step).
        func prune(_ members: [String: JSON], of entity: EntityDefinition, for user: String) -> [String: JSON] {
            var result = members
            for (name, value) in members {
                guard let field = entity.field(named: name), let targetName = field.target,
                    let target = model.entity(named: targetName)
                else { continue }
                let free = authorization.publicSteps.contains("\(entity.name).\(name)")
                switch value {
                case .object(let related):
                    if free || mayRead(user, targetName, related["id"]?.int64Value) {
                        result[name] = .object(prune(related, of: target, for: user))
                    } else {
                        result[name] = nil
                    }
                case .array(let items):
                    result[name] = .array(
                        items.compactMap { item -> JSON? in
                            guard let related = item.objectValue,
                                free || mayRead(user, targetName, related["id"]?.int64Value)
                            else { return nil }
                            return .object(prune(related, of: target, for: user))
                        }
                    )
                default:
                    continue
                }
            }
            return result
        }

        func rootAnswer(_ query: String) async throws -> [JSON] {
            if let answer = rootAnswers[query] { return answer }
            let answer = try await rootSearch(query)
            rootAnswers[query] = answer
            return answer
        }

        /// The query root runs for `user`: each mark that applies as a condition on the ids the user may read.
        func reference(_ query: String, for user: String) -> String {
            query.replacing(AuthorizationDifferentialTests.mark) { match in
                let (_, kind, entity, path) = match.output
                guard kind == "S" || restrictJoins else { return "" }
                let ids = (readable[user]?[String(entity)] ?? []).sorted()
                return " AND \(path).id IN (\(ids.isEmpty ? "-1" : ids.map(String.init).joined(separator: ", ")))"
            }
            .replacingOccurrences(of: ":user", with: "'\(user)'")
        }

        /// Root's rows of `entity` that the user may read, in root's order.
        func readableRows(_ query: String, _ entity: String, for user: String) async throws -> [[String: JSON]] {
            try await rootAnswer(reference(query, for: user)).compactMap { row in
                guard let members = row[entity]?.objectValue, mayRead(user, entity, members["id"]?.int64Value) else {
                    return nil
                }
                return members
            }
        }

        func expected(_ probe: Probe, for user: String) async throws -> JSON {
            switch probe.shape {
            case .entities(let entity):
                let definition = model.entity(named: entity)!
                return .array(
                    try await readableRows(probe.text, entity, for: user).map { members in
                        [entity: .object(prune(members, of: definition, for: user))]
                    }
                )
            case .fields(let reference, let entity, let fields, let distinct):
                var values: [JSON] = []
                var seen: Set<JSON> = []
                for members in try await readableRows(reference, entity, for: user) {
                    let projected = fields.map { members[$0] ?? .null }
                    let value = projected.count == 1 ? projected[0] : .array(projected)
                    if distinct, !seen.insert(value).inserted { continue }
                    values.append(value)
                }
                return .array(values)
            case .aggregate(let reference, let entity, let function, let field, let distinct):
                let rows = try await readableRows(reference, entity, for: user)
                guard let field else {
                    let count = distinct ? Set(rows.compactMap { $0["id"] }).count : rows.count
                    return [.int(Int64(count))]
                }
                let values = rows.compactMap { row -> JSON? in
                    guard let value = row[field], !value.isNull else { return nil }
                    return value
                }
                if function == "COUNT" { return [.int(Int64(values.count))] }
                if values.isEmpty { return [.null] }
                switch function {
                case "SUM":
                    return [.double(values.reduce(0) { $0 + $1.doubleValue! })]
                case "AVG":
                    return [.double(values.reduce(0) { $0 + $1.doubleValue! } / Double(values.count))]
                default:
                    let sorted = values.sorted { a, b in
                        if let x = a.doubleValue, let y = b.doubleValue { return x < y }
                        return (a.stringValue ?? "") < (b.stringValue ?? "")
                    }
                    return [function == "MIN" ? sorted.first! : sorted.last!]
                }
            case .grouped(let reference, let entity, let key):
                var keys: [JSON] = []
                var counts: [JSON: Int64] = [:]
                for members in try await readableRows(reference, entity, for: user) {
                    let value = members[key] ?? .null
                    if counts[value] == nil { keys.append(value) }
                    counts[value, default: 0] += 1
                }
                return .array(keys.map { [$0, .int(counts[$0]!)] })
            }
        }

        // MARK: Comparing

        func compareEverything(_ probes: [Probe]) async throws {
            try await loadReference()
            for probe in probes where !(restrictJoins && probe.hasUnmarkedJoins) {
                for user in sessions.keys.sorted() {
                    try await compare(probe, as: user)
                }
                if probe.get != nil {
                    try await compareGets(probe)
                }
            }
            try await compareAccessChecks()
        }

        func compare(_ probe: Probe, as user: String) async throws {
            let expected: JSON
            do {
                expected = try await self.expected(probe, for: user)
            } catch {
                Issue.record("\(backend) seed \(seed): the reference for '\(probe.text)' failed: \(error)")
                return
            }
            tally.comparisons += 1
            do {
                let got = try await catalog.search(
                    sessionId: sessions[user]!,
                    query: AuthorizationDifferentialTests.unmarked(probe.text)
                )
                if !Self.same(
                    Self.canonical(got, ordered: probe.ordered),
                    Self.canonical(expected, ordered: probe.ordered)
                ) {
                    mismatch(
                        user: user,
                        query: AuthorizationDifferentialTests.unmarked(probe.text),
                        expected: expected.serialized,
                        got: got.serialized + Self.objectDifference(expected: expected, got: got)
                    )
                }
            } catch {
                mismatch(
                    user: user,
                    query: AuthorizationDifferentialTests.unmarked(probe.text),
                    expected: expected.serialized,
                    got: "\(error)"
                )
            }
        }

        /// `get` with the probe's INCLUDE, on a few of the objects root finds.
        func compareGets(_ probe: Probe) async throws {
            guard case .entities(let entity) = probe.shape, let query = probe.get else { return }
            let definition = model.entity(named: entity)!
            let everything = try await rootAnswer(AuthorizationDifferentialTests.unmarked(probe.text))
            let ids = Array(Set(everything.compactMap { $0[entity]?["id"]?.int64Value })).sorted()
            guard !ids.isEmpty else { return }
            for _ in 0..<min(3, ids.count) {
                let id = random.pick(ids)
                let whole = try await catalog.get(sessionId: root, query: query, id: id)
                for user in sessions.keys.sorted() {
                    tally.comparisons += 1
                    let label = "get '\(query)' id \(id)"
                    let expected: JSON? =
                        mayRead(user, entity, id)
                        ? [entity: .object(prune(whole[entity]!.objectValue!, of: definition, for: user))] : nil
                    do {
                        let got = try await catalog.get(sessionId: sessions[user]!, query: query, id: id)
                        if expected == nil || !Self.same(Self.canonical(got), Self.canonical(expected!)) {
                            mismatch(
                                user: user,
                                query: label,
                                expected: expected?.serialized ?? "INSUFFICIENT_PRIVILEGES",
                                got: got.serialized
                            )
                        }
                    } catch {
                        if expected != nil || error.type != .insufficientPrivileges {
                            mismatch(
                                user: user,
                                query: label,
                                expected: expected?.serialized ?? "INSUFFICIENT_PRIVILEGES",
                                got: "\(error)"
                            )
                        }
                    }
                }
            }
        }

        /// `isAccessAllowed` READ on a few objects of each entity.
        func compareAccessChecks() async throws {
            for entity in AuthorizationDifferentialTests.entities {
                let v = AuthorizationDifferentialTests.variables[entity]!
                let ids = try await rootSearch("SELECT \(v).id FROM \(entity) \(v) ORDER BY \(v).id").compactMap {
                    $0.int64Value
                }
                guard !ids.isEmpty else { continue }
                for _ in 0..<min(4, ids.count) {
                    let id = random.pick(ids)
                    for user in sessions.keys.sorted() {
                        tally.comparisons += 1
                        let expected = mayRead(user, entity, id)
                        let label = "isAccessAllowed READ \(entity) \(id)"
                        do {
                            let got = try await catalog.isAccessAllowed(
                                sessionId: sessions[user]!,
                                entity: [entity: ["id": .int(id)]],
                                access: .read
                            )
                            if got != expected {
                                mismatch(user: user, query: label, expected: "\(expected)", got: "\(got)")
                            }
                        } catch {
                            mismatch(user: user, query: label, expected: "\(expected)", got: "\(error)")
                        }
                    }
                }
            }
        }

        func mismatch(user: String, query: String, expected: String, got: String) {
            tally.mismatches += 1
            recorded += 1
            guard recorded <= 8 else { return }
            Issue.record(
                """
                \(backend) seed \(seed) phase \(phase) as \(user)
                  query:    \(query)
                  expected: \(Self.shown(expected))
                  got:      \(Self.shown(got))
                  \(authorization.description)
                """
            )
        }

        /// For lists of objects: which the user got but may not read, and which are missing.
        static func objectDifference(expected: JSON, got: JSON) -> String {
            func ids(_ json: JSON) -> [String]? {
                json.arrayValue?.compactMap { item in
                    guard let (entity, members) = item.objectValue?.first, let id = members["id"]?.int64Value else {
                        return nil
                    }
                    return "\(entity) \(id)"
                }
            }
            guard let wanted = ids(expected), let found = ids(got), !(wanted.isEmpty && found.isEmpty) else {
                return ""
            }
            let leaked = Set(found).subtracting(wanted).sorted()
            let missing = Set(wanted).subtracting(found).sorted()
            return "\n  leaked: \(leaked), missing: \(missing)"
        }

        /// JSON text without the bookkeeping members every object has, to keep messages short.
        static func shown(_ text: String) -> String {
            text.replacing(/"(createId|modId)":"[^"]*",?|"(createTime|modTime)":"[^"]*",?/, with: "")
        }

        /// Arrays inside objects (included collections) sorted; the top-level list sorted too unless ordered.
        static func canonical(_ json: JSON, ordered: Bool = false) -> JSON {
            guard case .array(let items) = json else { return deep(json) }
            let canonical = items.map(deep)
            return .array(ordered ? canonical : canonical.sorted { $0.serialized < $1.serialized })
        }

        static func deep(_ json: JSON) -> JSON {
            switch json {
            case .object(let members):
                return .object(
                    members.mapValues { value in
                        if case .array(let items) = value {
                            return .array(items.map(deep).sorted { $0.serialized < $1.serialized })
                        }
                        return deep(value)
                    }
                )
            case .array(let items):
                return .array(items.map(deep))
            default:
                return json
            }
        }

        /// Equal, with numbers compared as numbers (an aggregate may come back as an integer or a double).
        static func same(_ a: JSON, _ b: JSON) -> Bool {
            switch (a, b) {
            case (.array(let x), .array(let y)):
                return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
            case (.object(let x), .object(let y)):
                return x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
            default:
                if let x = a.doubleValue, let y = b.doubleValue {
                    return abs(x - y) <= 1e-9 * max(1, abs(x), abs(y))
                }
                return a == b
            }
        }
    }
}
