import CatalogQuery
import CatalogSQL
import CatalogSchema
import JSONValue
import Testing

@testable import Catalog

/// Which access checks each operation needs, in ICAT's order: plans as values, without a database.
@Suite("Access plans")
struct AccessPlanTests {
    static let model = EntityModel.icat
    static let planner = AccessPlanner(model: model)

    static func entity(_ name: String) -> EntityDefinition { model.entity(named: name)! }

    static func lines(_ plan: AccessPlan) -> [String] { plan.checks.map(\.description) }

    @Test func createdObjectsAreCheckedForCreateOneByOneInTheOrderGiven() {
        let plan = Self.planner.created([
            (Self.entity("Dataset"), 11, 0), (Self.entity("Datafile"), 12, 1), (Self.entity("Dataset"), 13, 2),
        ])
        #expect(
            Self.lines(plan) == [
                "CREATE Dataset [11] item 0", "CREATE Datafile [12] item 1", "CREATE Dataset [13] item 2",
            ]
        )
        #expect(Self.lines(Self.planner.created([(Self.entity("Facility"), 5, nil)])) == ["CREATE Facility [5]"])
    }

    @Test func anUpdateOfAttributesNeedsUpdateOnEachAttributeInNameOrder() {
        let dataset = Self.entity("Dataset")
        let fields = ["name", "description", "complete"]
        #expect(
            Self.lines(Self.planner.updating(dataset, id: 7, fields: fields)) == [
                "UPDATE Dataset.complete [7]", "UPDATE Dataset.description [7]", "UPDATE Dataset.name [7]",
            ]
        )
        #expect(Self.planner.updating(dataset, id: 7, fields: [String]()).checks.isEmpty)
        // Writing the attributes creates nothing to check afterwards.
        #expect(Self.planner.updated(dataset, id: 7, fields: fields, children: []).checks.isEmpty)
    }

    @Test func anUpdateThatMovesAUniqueKeyRelationNeedsDeleteBeforeAndCreateAfter() {
        let dataset = Self.entity("Dataset")
        // A dataset is known by its investigation and name: changing the investigation moves it.
        #expect(Self.planner.movesKey(dataset, fields: ["investigation", "description"]))
        #expect(!Self.planner.movesKey(dataset, fields: ["name", "description"]))
        #expect(
            Self.lines(Self.planner.updating(dataset, id: 7, fields: ["investigation", "name"])) == [
                "DELETE Dataset [7]"
            ]
        )
        let after = Self.planner.updated(
            dataset,
            id: 7,
            fields: ["investigation", "name"],
            children: [(Self.entity("Datafile"), 30), (Self.entity("DatasetParameter"), 31)]
        )
        #expect(Self.lines(after) == ["CREATE Dataset [7]", "CREATE Datafile [30]", "CREATE DatasetParameter [31]"])
    }

    @Test func childrenAnUpdateCreatesNeedCreateEach() {
        let plan = Self.planner.updated(
            Self.entity("Dataset"),
            id: 7,
            fields: ["description"],
            children: [(Self.entity("Datafile"), 30), (Self.entity("Datafile"), 32)]
        )
        #expect(Self.lines(plan) == ["CREATE Datafile [30]", "CREATE Datafile [32]"])
    }

    @Test func aDeleteNeedsDeleteOnTheObjectThenOnItsDescendantsParentsFirst() {
        let plan = Self.planner.deleting(
            Self.entity("Investigation"),
            id: 3,
            cascaded: ["Datafile": [21, 22], "Dataset": [11], "DatasetParameter": [], "Keyword": [40]]
        )
        let lines = Self.lines(plan)
        #expect(lines.first == "DELETE Investigation [3]")
        #expect(
            Set(lines) == [
                "DELETE Investigation [3]", "DELETE Dataset [11]", "DELETE Datafile [21, 22]", "DELETE Keyword [40]",
            ]
        )
        #expect(lines.firstIndex(of: "DELETE Dataset [11]")! < lines.firstIndex(of: "DELETE Datafile [21, 22]")!)
        #expect(
            Self.lines(Self.planner.deleting(Self.entity("Datafile"), id: 21, cascaded: [:])) == [
                "DELETE Datafile [21]"
            ]
        )
    }

    @Test func readsAndQuestionsAboutOneObjectNeedThatAccessToIt() {
        #expect(Self.lines(Self.planner.accessing(.read, Self.entity("Dataset"), id: 7)) == ["READ Dataset [7]"])
        #expect(Self.lines(Self.planner.accessing(.update, Self.entity("Dataset"), id: 7)) == ["UPDATE Dataset [7]"])
    }

    @Test func aRefusedCheckIsICATsInsufficientPrivilegesAtItsItem() {
        let batch = AccessCheck(access: .create, entity: Self.entity("Datafile"), ids: [12], item: 4)
        #expect(batch.denial.type == .insufficientPrivileges)
        #expect(batch.denial.message == "CREATE access to this Datafile is not allowed.")
        #expect(batch.denial.offset == 4)
        #expect(AccessCheck(access: .delete, entity: Self.entity("Dataset"), ids: [7]).denial.offset == -1)
    }

    // MARK: What the rules decide alone

    static func caller(_ rules: [String: [AccessType: [String]]]) throws -> Caller {
        let compiler = QueryCompiler(model: model, dialect: .postgresql)
        return Caller(
            userName: "db/jdoe",
            isRoot: false,
            rules: try rules.mapValues { byAccess in try byAccess.mapValues { try $0.map(compiler.compileRule) } },
            publicSteps: [],
            restrictsJoins: false
        )
    }

    @Test func typesNoRuleLetsTheCallerCreateAreRefusedBeforeWriting() throws {
        let caller = try Self.caller([
            "Dataset": [.create: ["SELECT ds FROM Dataset ds WHERE ds.name = 'x'"], .read: ["Datafile <-> Dataset"]]
        ])
        #expect(caller.mayCreateAny(Self.entity("Dataset")))
        #expect(!caller.mayCreateAny(Self.entity("Datafile")))
        let root = Caller(userName: "simple/root", isRoot: true, rules: [:], publicSteps: [], restrictsJoins: false)
        #expect(root.mayCreateAny(Self.entity("Datafile")))
    }

    @Test func descendantsAreLookedUpOnlyWhenSomeRuleDependsOnTheRows() throws {
        let everything = try Self.caller(["Datafile": [.delete: ["Datafile"]], "Dataset": [.delete: ["Dataset"]]])
        #expect(!everything.restricts(.delete, anyOf: ["Datafile", "Dataset"]))
        let someRows = try Self.caller([
            "Datafile": [.delete: ["SELECT df FROM Datafile df WHERE df.name = 'x'"]],
            "Dataset": [.delete: ["Dataset"]],
        ])
        #expect(someRows.restricts(.delete, anyOf: ["Datafile", "Dataset"]))
        #expect(!someRows.restricts(.delete, anyOf: ["Dataset"]))
        // No rule at all refuses every row there is, so the rows must be known.
        #expect(everything.restricts(.delete, anyOf: ["Keyword"]))
    }
}

/// Running a plan on a database: one statement per access and entity, the first refused check in the plan's order.
@Suite("Access plans run")
struct AccessPlanRunTests {
    @Test(arguments: Backend.allCases)
    func theFirstRefusedCheckInThePlansOrderIsReportedWithItsItem(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            try await Self.rule(f, "R", "SELECT ds FROM Dataset ds WHERE ds.name = 'run-1'")
            try await Self.rule(f, "R", "SELECT i FROM Investigation i WHERE i.name = 'INV-2'")
            let alice = try await catalog.caller(sessionId: try await f.login("alice", "alice-pw"))
            let dataset = catalog.model.entity(named: "Dataset")!
            let investigation = catalog.model.entity(named: "Investigation")!
            let plan = AccessPlan([
                AccessCheck(access: .read, entity: dataset, ids: [f.dataset], item: 0),
                AccessCheck(access: .read, entity: investigation, ids: [f.investigation], item: 1),
                AccessCheck(access: .read, entity: dataset, ids: [f.dataset + 1000], item: 2),
            ])
            let refused = try await catalog.database.withConnection { connection in
                try await alice.firstRefused(plan, on: connection)
            }
            #expect(refused == plan.checks[1])
            let readable = AccessPlan([plan.checks[0]])
            #expect(try await catalog.database.withConnection { try await alice.firstRefused(readable, on: $0) } == nil)
            let root = try await catalog.caller(sessionId: f.root)
            #expect(try await catalog.database.withConnection { try await root.firstRefused(plan, on: $0) } == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func anAttributeCheckPassesByARuleOnTheObjectOrByOneThatNamesTheAttribute(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            try await Self.rule(f, "U", "SELECT ds.description FROM Dataset ds WHERE ds.name = 'run-1'")
            let alice = try await catalog.caller(sessionId: try await f.login("alice", "alice-pw"))
            let dataset = catalog.model.entity(named: "Dataset")!
            let planner = AccessPlanner(model: catalog.model)
            func firstRefused(_ fields: [String]) async throws -> String? {
                let plan = planner.updating(dataset, id: f.dataset, fields: fields)
                return try await catalog.database.withConnection { try await alice.firstRefused(plan, on: $0) }?
                    .description
            }
            #expect(try await firstRefused(["description"]) == nil)
            #expect(try await firstRefused(["description", "name"]) == "UPDATE Dataset.name [\(f.dataset)]")
            try await Self.rule(f, "U", "SELECT ds FROM Dataset ds WHERE ds.name = 'run-1'")
            let refreshed = try await catalog.caller(sessionId: try await f.login("alice", "alice-pw"))
            let plan = planner.updating(dataset, id: f.dataset, fields: ["description", "name"])
            #expect(try await catalog.database.withConnection { try await refreshed.firstRefused(plan, on: $0) } == nil)
        }
    }

    static func rule(_ f: Fixture, _ flags: String, _ what: String) async throws {
        _ = try await f.catalog.create(
            sessionId: f.root,
            entity: ["Rule": ["crudFlags": .string(flags), "what": .string(what)]]
        )
    }
}
