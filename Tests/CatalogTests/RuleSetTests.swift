import Catalog
import CatalogRuleSets
import Foundation
import JSONValue
import Testing

/// A catalog in this process as the target of a rule-set load, acting as root.
struct InProcessTarget: RuleSetTarget {
    let catalog: Catalog
    let session: String

    func search(_ query: String) async throws -> JSON {
        try await catalog.search(sessionId: session, query: query)
    }

    func createMany(_ entities: [JSON]) async throws -> [Int64] {
        try await catalog.createMany(sessionId: session, entities: entities)
    }
}

@Suite("Rule sets")
struct RuleSetTests {
    static let facilityRules = ModelTests.repository.appendingPathComponent("Rules/facility.yaml")

    @Test(arguments: Backend.allCases)
    func theStandardRuleSetLoadsOnceAndGivesMembersTheirData(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: AuthorizationTests.configuration) { catalog in
            let w = try await AuthorizationTests.World.make(catalog)
            let ruleSet = try RuleSet(contentsOf: Self.facilityRules)
            let loader = RuleSetLoader(target: InProcessTarget(catalog: catalog, session: w.root))
            let first = try await loader.load(ruleSet)
            #expect(first.rules == ruleSet.rules.count)
            #expect(first.publicSteps == ruleSet.publicSteps.count)
            #expect(first.groupings == 1)
            let second = try await loader.load(ruleSet)
            #expect(second == RuleSetLoader.Summary())

            // alice is a member of INV-1 only; nothing is released yet.
            #expect(
                try await catalog.search(sessionId: w.alice, query: "SELECT i.name FROM Investigation i") == ["INV-1"]
            )
            #expect(try await catalog.search(sessionId: w.alice, query: "SELECT COUNT(df) FROM Datafile df") == [2])
            #expect(try await catalog.search(sessionId: w.bob, query: "SELECT COUNT(df) FROM Datafile df") == [0])
            #expect(try await catalog.search(sessionId: w.bob, query: "SELECT COUNT(f) FROM Facility f") == [1])
            let included = try await catalog.search(
                sessionId: w.alice,
                query: "SELECT df FROM Datafile df INCLUDE df.dataset ds, ds.investigation"
            )
            #expect(included[0]?["Datafile"]?["dataset"]?["investigation"]?["name"] == "INV-1")

            // Released data is public.
            try await catalog.update(
                sessionId: w.root,
                entity: ["Investigation": ["id": .int(w.otherInvestigation), "releaseDate": "2001-01-01T00:00:00Z"]]
            )
            #expect(try await catalog.search(sessionId: w.bob, query: "SELECT COUNT(df) FROM Datafile df") == [1])

            // Members are readers, not writers, until their role says so.
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.create(sessionId: w.alice, entity: .datafile("new.nxs", dataset: w.f.dataset))
            }
            let membership = try await catalog.search(
                sessionId: w.root,
                query: "SELECT iu.id FROM InvestigationUser iu WHERE iu.user.name = 'simple/alice'"
            )
            try await catalog.update(
                sessionId: w.root,
                entity: ["InvestigationUser": ["id": membership[0]!, "role": "writer"]]
            )
            _ = try await catalog.create(sessionId: w.alice, entity: .datafile("new.nxs", dataset: w.f.dataset))
            try await catalog.update(
                sessionId: w.root,
                entity: ["Dataset": ["id": .int(w.f.dataset), "complete": true]]
            )
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.create(sessionId: w.alice, entity: .datafile("late.nxs", dataset: w.f.dataset))
            }
        }
    }

    @Test func ruleSetFilesAreCheckedWhenRead() throws {
        #expect(throws: RuleSetError.self) { try RuleSet(yaml: "rules: [{crudFlags: R}]") }
        #expect(throws: RuleSetError.self) { try RuleSet(yaml: "rules: [{crudFlags: R, what: X, grouping: nobody}]") }
        #expect(throws: RuleSetError.self) { try RuleSet(yaml: "rulez: []") }
        let ruleSet = try RuleSet(contentsOf: Self.facilityRules)
        #expect(ruleSet.rules.count > 50)
    }
}
