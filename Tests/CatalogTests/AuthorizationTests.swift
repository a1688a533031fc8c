import Catalog
import JSONValue
import Testing

/// Rule-based authorization as ICAT 6.2 does it.
@Suite("Authorization by rules")
struct AuthorizationTests {
    /// The fixture plus a second investigation, users alice (a member of INV-1 only) and bob, and a grouping.
    struct World {
        let f: Fixture
        let alice: String
        let bob: String
        let aliceUser: Int64
        let otherInvestigation: Int64
        let otherDataset: Int64
        let writers: Int64

        var catalog: Catalog { f.catalog }
        var root: String { f.root }

        static func make(_ catalog: Catalog) async throws -> World {
            let f = try await Fixture.make(catalog)
            let users = try await catalog.createMany(
                sessionId: f.root,
                entities: [["User": ["name": "simple/alice"]], ["User": ["name": "simple/bob"]]]
            )
            _ = try await catalog.create(
                sessionId: f.root,
                entity: [
                    "InvestigationUser": [
                        "role": "member", "user": ["id": .int(users[0])],
                        "investigation": ["id": .int(f.investigation)],
                    ]
                ]
            )
            let other = try await catalog.create(
                sessionId: f.root,
                entity: [
                    "Investigation": [
                        "name": "INV-2", "visitId": "1", "title": "Other", "facility": ["id": .int(f.facility)],
                        "type": ["id": .int(f.investigationType)],
                        "datasets": [
                            [
                                "name": "other-run", "type": ["id": .int(f.datasetType)],
                                "datafiles": [["name": "z.nxs"]],
                            ]
                        ],
                    ]
                ]
            )
            let otherDataset = try await catalog.search(
                sessionId: f.root,
                query: "SELECT ds.id FROM Dataset ds WHERE ds.name = 'other-run'"
            )[0]!.int64Value!
            let writers = try await catalog.create(sessionId: f.root, entity: ["Grouping": ["name": "writers"]])
            return World(
                f: f,
                alice: try await f.login("alice", "alice-pw"),
                bob: try await f.login("bob", "bob-pw"),
                aliceUser: users[0],
                otherInvestigation: other,
                otherDataset: otherDataset,
                writers: writers
            )
        }

        /// Adds a rule as root; `grouping` nil is a rule for every logged-in user.
        @discardableResult
        func rule(_ flags: String, _ what: String, grouping: Int64? = nil) async throws -> Int64 {
            var rule: [String: JSON] = ["crudFlags": .string(flags), "what": .string(what)]
            if let grouping { rule["grouping"] = ["id": .int(grouping)] }
            return try await catalog.create(sessionId: root, entity: ["Rule": .object(rule)])
        }

        static let memberDatasets =
            "SELECT ds FROM Dataset ds JOIN ds.investigation i JOIN i.investigationUsers iu JOIN iu.user u WHERE u.name = :user"
    }

    static let configuration: CatalogConfiguration = {
        var configuration = TestCatalog.configuration
        configuration.authenticators[0].users["bob"] = .plain("bob-pw")
        return configuration
    }()

    @Test(arguments: Backend.allCases)
    func badRulesAndPublicStepsAreRefusedWhenCreated(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            for (flags, what) in [
                ("X", "Dataset"), ("", "Dataset"), ("RR", "Dataset"), ("R", "SELECT x FROM Nope x"), ("R", "Dataset ["),
                ("R", "SELECT ds.name FROM Dataset ds"), ("CR", "SELECT COUNT(ds) FROM Dataset ds"),
                ("R", "SELECT ds, df FROM Dataset ds, Datafile df"),
            ] {
                await expectCatalogError(.badParameter) { try await w.rule(flags, what) }
            }
            try await w.rule("U", "SELECT ds.description FROM Dataset ds")
            try await w.rule("CRUD", "Datafile [name = 'x'] <-> Dataset [complete = FALSE]")
            await expectCatalogError(.badParameter) {
                try await catalog.create(sessionId: w.root, entity: ["PublicStep": ["origin": "Nope", "field": "x"]])
            }
            await expectCatalogError(.badParameter) {
                try await catalog.create(
                    sessionId: w.root,
                    entity: ["PublicStep": ["origin": "Dataset", "field": "name"]]
                )
            }
            #expect(try await catalog.count("Rule") == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func searchesReturnOnlyWhatARuleAdmitsAndCountEachObjectOnce(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await w.rule("R", World.memberDatasets)
            let names = try await catalog.search(
                sessionId: w.alice,
                query: "SELECT ds.name FROM Dataset ds ORDER BY ds.name"
            )
            #expect(names == ["run-1"])
            #expect(try await catalog.search(sessionId: w.bob, query: "SELECT ds.name FROM Dataset ds") == [])
            #expect(try await catalog.search(sessionId: w.root, query: "SELECT COUNT(ds) FROM Dataset ds") == [2])
            // A second, overlapping rule: run-1 is admitted twice but counted once.
            try await w.rule("R", "Dataset [name = 'run-1' OR name = 'other-run']")
            #expect(try await catalog.search(sessionId: w.alice, query: "SELECT COUNT(ds) FROM Dataset ds") == [2])
            #expect(try await catalog.search(sessionId: w.alice, query: "COUNT(Dataset) [name = 'run-1']") == [1])
            // Datafiles have no rule: alice sees none, and aggregates over none give ICAT's answers.
            #expect(try await catalog.search(sessionId: w.alice, query: "SELECT COUNT(df) FROM Datafile df") == [0])
            #expect(
                try await catalog.search(sessionId: w.alice, query: "SELECT MAX(df.fileSize) FROM Datafile df") == [
                    .null
                ]
            )
        }
    }

    @Test(arguments: Backend.allCases)
    func getNeedsReadAndTellsMissingFromForbidden(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await w.rule("R", World.memberDatasets)
            let mine = try await catalog.get(sessionId: w.alice, query: "Dataset", id: w.f.dataset)
            #expect(mine["Dataset"]?["name"] == "run-1")
            let forbidden = await expectCatalogError(.insufficientPrivileges) {
                try await catalog.get(sessionId: w.alice, query: "Dataset", id: w.otherDataset)
            }
            #expect(forbidden?.message == "READ access to this Dataset is not allowed.")
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.get(sessionId: w.alice, query: "Dataset", id: 987_654)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func includedObjectsAreFilteredUnlessAPublicStepFreesTheStep(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await w.rule("R", World.memberDatasets)
            let query = "SELECT ds FROM Dataset ds INCLUDE ds.datafiles, ds.investigation"
            let hidden = try await catalog.search(sessionId: w.alice, query: query)
            #expect(hidden.arrayValue?.count == 1)
            #expect(hidden[0]?["Dataset"]?["datafiles"] == [])
            #expect(hidden[0]?["Dataset"]?["investigation"] == nil)
            _ = try await catalog.create(
                sessionId: w.root,
                entity: ["PublicStep": ["origin": "Dataset", "field": "datafiles"]]
            )
            try await w.rule("R", "Investigation")  // a public table
            let shown = try await catalog.search(sessionId: w.alice, query: query)
            #expect(shown[0]?["Dataset"]?["datafiles"]?.arrayValue?.count == 2)
            #expect(shown[0]?["Dataset"]?["investigation"]?["name"] == "INV-1")
            let viaGet = try await catalog.get(
                sessionId: w.alice,
                query: "Dataset ds INCLUDE ds.datafiles",
                id: w.f.dataset
            )
            #expect(viaGet["Dataset"]?["datafiles"]?.arrayValue?.count == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func groupingRulesApplyToMembersAndChangesReachEveryServer(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await w.rule("CR", "SELECT df FROM Datafile df", grouping: w.writers)
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.create(sessionId: w.alice, entity: .datafile("new.nxs", dataset: w.f.dataset))
            }
            let membership = try await catalog.create(
                sessionId: w.root,
                entity: ["UserGroup": ["user": ["id": .int(w.aliceUser)], "grouping": ["id": .int(w.writers)]]]
            )
            _ = try await catalog.create(sessionId: w.alice, entity: .datafile("new.nxs", dataset: w.f.dataset))
            // A second server over the same database, which has compiled the rules already, sees the change within
            // its session cache window; the server that made the change sees it at once.
            var configuration = catalog.configuration
            configuration.sessionCacheSeconds = 0.2
            let other = Catalog(database: catalog.database, configuration: configuration, logger: TestCatalog.logger)
            #expect(try await other.search(sessionId: w.alice, query: "SELECT COUNT(df) FROM Datafile df") == [4])
            try await catalog.delete(sessionId: w.root, entity: ["UserGroup": ["id": .int(membership)]])
            #expect(try await catalog.search(sessionId: w.alice, query: "SELECT COUNT(df) FROM Datafile df") == [0])
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await other.search(sessionId: w.alice, query: "SELECT COUNT(df) FROM Datafile df") == [0])
            await expectCatalogError(.insufficientPrivileges) {
                try await other.create(sessionId: w.alice, entity: .datafile("newer.nxs", dataset: w.f.dataset))
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func createIsCheckedAfterInsertionAndARefusalWritesNothing(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await catalog.update(
                sessionId: w.root,
                entity: ["Dataset": ["id": .int(w.otherDataset), "complete": true]]
            )
            try await w.rule("C", "SELECT df FROM Datafile df WHERE df.dataset.complete = FALSE")
            _ = try await catalog.create(sessionId: w.alice, entity: .datafile("ok.nxs", dataset: w.f.dataset))
            let error = await expectCatalogError(.insufficientPrivileges) {
                try await catalog.createMany(
                    sessionId: w.alice,
                    entities: [
                        .datafile("ok2.nxs", dataset: w.f.dataset), .datafile("no.nxs", dataset: w.otherDataset),
                    ]
                )
            }
            #expect(error?.offset == 1)
            #expect(error?.message == "CREATE access to this Datafile is not allowed.")
            #expect(try await catalog.count("Datafile") == 4)
        }
    }

    @Test(arguments: Backend.allCases)
    func updateRulesThatNameAnAttributeAllowOnlyThatAttribute(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await w.rule("U", "SELECT ds.description FROM Dataset ds WHERE ds.complete = FALSE")
            try await catalog.update(
                sessionId: w.alice,
                entity: ["Dataset": ["id": .int(w.f.dataset), "description": "checked"]]
            )
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.update(
                    sessionId: w.alice,
                    entity: ["Dataset": ["id": .int(w.f.dataset), "name": "renamed"]]
                )
            }
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.update(
                    sessionId: w.alice,
                    entity: ["Dataset": ["id": .int(w.f.dataset), "description": "both", "name": "renamed"]]
                )
            }
            try await w.rule("U", World.memberDatasets)
            try await catalog.update(
                sessionId: w.alice,
                entity: ["Dataset": ["id": .int(w.f.dataset), "name": "renamed"]]
            )
            let stored = try await catalog.get(sessionId: w.root, query: "Dataset", id: w.f.dataset)
            #expect(stored["Dataset"]?["name"] == "renamed")
            #expect(stored["Dataset"]?["description"] == "checked")
        }
    }

    @Test(arguments: Backend.allCases)
    func movingAUniqueKeyRelationNeedsDeleteBeforeAndCreateAfter(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await w.rule("U", "Dataset")
            let move: JSON = [
                "Dataset": ["id": .int(w.f.dataset), "investigation": ["id": .int(w.otherInvestigation)]]
            ]
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.update(sessionId: w.alice, entity: move)
            }
            try await w.rule("D", World.memberDatasets)
            // DELETE before is allowed now, but CREATE after (in INV-2) is not.
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.update(sessionId: w.alice, entity: move)
            }
            try await w.rule("C", "Dataset [name = 'run-1'] <-> Investigation [name = 'INV-2']")
            try await catalog.update(sessionId: w.alice, entity: move)
            let moved = try await catalog.get(sessionId: w.root, query: "Dataset INCLUDE 1", id: w.f.dataset)
            #expect(moved["Dataset"]?["investigation"]?["name"] == "INV-2")
        }
    }

    @Test(arguments: Backend.allCases)
    func deleteNeedsDeleteOnEveryCascadedDescendant(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await w.rule("D", World.memberDatasets)
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.delete(sessionId: w.alice, entity: ["Dataset": ["id": .int(w.f.dataset)]])
            }
            #expect(try await catalog.count("Datafile") == 3)
            try await w.rule("D", "SELECT df FROM Datafile df WHERE df.name LIKE '%.nxs'")
            try await catalog.delete(sessionId: w.alice, entity: ["Dataset": ["id": .int(w.f.dataset)]])
            #expect(try await catalog.count("Dataset") == 1)
            #expect(try await catalog.count("Datafile") == 1)
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.delete(sessionId: w.alice, entity: ["Dataset": ["id": .int(w.otherDataset)]])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func isAccessAllowedAnswersWithoutChangingAnything(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration) { catalog in
            let w = try await World.make(catalog)
            try await w.rule("CR", World.memberDatasets)
            let mine: JSON = ["Dataset": ["id": .int(w.f.dataset)]]
            let others: JSON = ["Dataset": ["id": .int(w.otherDataset)]]
            #expect(try await catalog.isAccessAllowed(sessionId: w.alice, entity: mine, access: .read))
            #expect(try await !catalog.isAccessAllowed(sessionId: w.alice, entity: others, access: .read))
            #expect(try await !catalog.isAccessAllowed(sessionId: w.alice, entity: mine, access: .delete))
            #expect(try await catalog.isAccessAllowed(sessionId: w.root, entity: others, access: .delete))
            let newDataset: (Int64) -> JSON = { investigation in
                [
                    "Dataset": [
                        "name": "maybe", "investigation": ["id": .int(investigation)],
                        "type": ["id": .int(w.f.datasetType)],
                    ]
                ]
            }
            #expect(
                try await catalog.isAccessAllowed(
                    sessionId: w.alice,
                    entity: newDataset(w.f.investigation),
                    access: .create
                )
            )
            #expect(
                try await !catalog.isAccessAllowed(
                    sessionId: w.alice,
                    entity: newDataset(w.otherInvestigation),
                    access: .create
                )
            )
            #expect(try await catalog.count("Dataset") == 2)
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.isAccessAllowed(
                    sessionId: w.alice,
                    entity: ["Dataset": ["id": 123_456]],
                    access: .read
                )
            }
        }
    }
}
