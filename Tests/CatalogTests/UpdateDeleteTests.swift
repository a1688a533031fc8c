import Catalog
import JSONValue
import Testing

@Suite("Updating, deleting and cloning")
struct UpdateDeleteTests {
    @Test(arguments: Backend.allCases)
    func updateChangesOnlyTheGivenFieldsAndTheModificationStamp(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let before = try await catalog.get(sessionId: f.root, query: "Dataset", id: f.dataset)["Dataset"]!
            try await Task.sleep(for: .milliseconds(5))
            try await catalog.update(
                sessionId: f.root,
                entity: ["Dataset": ["id": .int(f.dataset), "description": "calibrated", "complete": true]]
            )
            let after = try await catalog.get(sessionId: f.root, query: "Dataset", id: f.dataset)["Dataset"]!
            #expect(after["description"] == "calibrated")
            #expect(after["complete"] == true)
            #expect(after["name"] == before["name"])
            #expect(after["createTime"] == before["createTime"])
            #expect(after["modTime"] != before["modTime"])
            try await catalog.update(
                sessionId: f.root,
                entity: ["Dataset": ["id": .int(f.dataset), "description": .null]]
            )
            let cleared = try await catalog.get(sessionId: f.root, query: "Dataset", id: f.dataset)["Dataset"]!
            #expect(cleared["description"] == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func updateErrorsLeaveTheObjectUnchanged(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let fileId = try await catalog.create(sessionId: f.root, entity: .datafile("c.nxs", dataset: f.dataset))
            await expectCatalogError(.objectAlreadyExists) {
                try await catalog.update(
                    sessionId: f.root,
                    entity: ["Datafile": ["id": .int(fileId), "name": "a.nxs"]]
                )
            }
            await expectCatalogError(.validation) {
                try await catalog.update(sessionId: f.root, entity: ["Datafile": ["id": .int(fileId), "name": .null]])
            }
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.update(sessionId: f.root, entity: ["Datafile": ["id": 987_654, "name": "q"]])
            }
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.update(
                    sessionId: f.root,
                    entity: ["Datafile": ["id": .int(fileId), "dataset": ["id": 5555]]]
                )
            }
            await expectCatalogError(.badParameter) {
                try await catalog.update(sessionId: f.root, entity: ["Datafile": ["name": "no id"]])
            }
            let file = try await catalog.get(sessionId: f.root, query: "Datafile", id: fileId)
            #expect(file["Datafile"]?["name"] == "c.nxs")
        }
    }

    @Test(arguments: Backend.allCases)
    func updateCreatesNewChildrenGivenWithoutId(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            try await catalog.update(
                sessionId: f.root,
                entity: ["Dataset": ["id": .int(f.dataset), "datafiles": [["name": "new.nxs"]]]]
            )
            #expect(try await f.count("Datafile") == 3)
        }
    }

    @Test(arguments: Backend.allCases)
    func deleteCascadesToEveryDescendant(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            _ = try await catalog.create(
                sessionId: f.root,
                entity: [
                    "DatasetParameter": [
                        "dataset": ["id": .int(f.dataset)], "type": ["id": .int(f.temperature)], "numericValue": 4,
                    ]
                ]
            )
            try await catalog.delete(sessionId: f.root, entity: ["Investigation": ["id": .int(f.investigation)]])
            #expect(try await f.count("Investigation") == 0)
            #expect(try await f.count("Dataset") == 0)
            #expect(try await f.count("Datafile") == 0)
            #expect(try await f.count("DatasetParameter") == 0)
            #expect(try await f.count("Facility") == 1)
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.delete(sessionId: f.root, entity: ["Investigation": ["id": .int(f.investigation)]])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func deleteManyIsAllOrNothingWithTheFailingOffset(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let ids = try await catalog.createMany(
                sessionId: f.root,
                entities: [.datafile("c", dataset: f.dataset), .datafile("d", dataset: f.dataset)]
            )
            let error = await expectCatalogError(.noSuchObjectFound) {
                try await catalog.deleteMany(
                    sessionId: f.root,
                    entities: [
                        ["Datafile": ["id": .int(ids[0])]], ["Datafile": ["id": .int(ids[1])]],
                        ["Datafile": ["id": 31337]],
                    ]
                )
            }
            #expect(error?.offset == 2)
            #expect(try await f.count("Datafile") == 4)
            try await catalog.deleteMany(
                sessionId: f.root,
                entities: [["Datafile": ["id": .int(ids[0])]], ["Datafile": ["id": .int(ids[1])]]]
            )
            #expect(try await f.count("Datafile") == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func cloneCopiesTheTreeWithNewKeysAndRemapsInnerReferences(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            // A sample of the investigation, used by its dataset: the clone's dataset must use the clone's sample.
            let sample = try await catalog.create(
                sessionId: f.root,
                entity: ["Sample": ["name": "water", "investigation": ["id": .int(f.investigation)]]]
            )
            try await catalog.update(
                sessionId: f.root,
                entity: ["Dataset": ["id": .int(f.dataset), "sample": ["id": .int(sample)]]]
            )
            let copy = try await catalog.cloneEntity(
                sessionId: f.root,
                name: "Investigation",
                id: f.investigation,
                keys: ["name": "INV-1-copy"]
            )
            #expect(copy != f.investigation)
            #expect(try await f.count("Investigation") == 2)
            #expect(try await f.count("Dataset") == 2)
            #expect(try await f.count("Datafile") == 4)
            #expect(try await f.count("Sample") == 2)
            let cloned = try await catalog.get(
                sessionId: f.root,
                query: "Investigation i INCLUDE i.datasets ds, ds.sample, i.samples",
                id: copy
            )["Investigation"]!
            #expect(cloned["name"] == "INV-1-copy")
            #expect(cloned["visitId"] == "1.1-N")
            let clonedSample = cloned["samples"]!.arrayValue![0]["id"]!
            #expect(clonedSample != .int(sample))
            #expect(cloned["datasets"]!.arrayValue![0]["sample"]?["id"] == clonedSample)

            await expectCatalogError(.objectAlreadyExists) {
                try await catalog.cloneEntity(sessionId: f.root, name: "Investigation", id: f.investigation, keys: [:])
            }
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.cloneEntity(sessionId: f.root, name: "Investigation", id: 5555, keys: ["name": "z"])
            }
            #expect(try await f.count("Investigation") == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func cloneReachesObjectsThroughSeveralCascadesAndCopiesEachOnce(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            // The dataset is reached from the facility both through its dataset type and through the
            // investigation; whichever comes first, its copy must belong to the copied investigation.
            let copy = try await catalog.cloneEntity(
                sessionId: f.root,
                name: "Facility",
                id: f.facility,
                keys: ["name": "ISIS-copy"]
            )
            #expect(try await f.count("Facility") == 2)
            #expect(try await f.count("Investigation") == 2)
            #expect(try await f.count("Dataset") == 2)
            #expect(try await f.count("Datafile") == 4)
            #expect(try await f.count("ParameterType") == 4)
            #expect(try await f.count("PermissibleStringValue") == 4)
            let cloned = try await catalog.get(
                sessionId: f.root,
                query: "Facility f INCLUDE f.investigations i, i.datasets ds, ds.type, f.datasetTypes",
                id: copy
            )["Facility"]!
            let dataset = cloned["investigations"]!.arrayValue![0]["datasets"]!.arrayValue![0]
            #expect(dataset["type"]?["id"] == cloned["datasetTypes"]!.arrayValue![0]["id"])
            #expect(dataset["type"]?["id"] != .int(f.datasetType))
        }
    }

    @Test(arguments: Backend.allCases)
    func usersWithoutRulesMayNeitherReadNorWrite(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let alice = try await f.login("alice", "alice-pw")
            let denied = await expectCatalogError(.insufficientPrivileges) {
                try await catalog.create(sessionId: alice, entity: .datafile("mine", dataset: f.dataset))
            }
            #expect(denied?.message == "CREATE access to this Datafile is not allowed.")
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.update(
                    sessionId: alice,
                    entity: ["Dataset": ["id": .int(f.dataset), "description": "x"]]
                )
            }
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.delete(sessionId: alice, entity: ["Dataset": ["id": .int(f.dataset)]])
            }
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.cloneEntity(sessionId: alice, name: "Dataset", id: f.dataset, keys: ["name": "y"])
            }
            let anon = try await catalog.login(plugin: "anon", credentials: [:])
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.createMany(sessionId: anon, entities: [.datafile("anon", dataset: f.dataset)])
            }
            let unreadable = await expectCatalogError(.insufficientPrivileges) {
                try await catalog.get(sessionId: alice, query: "Dataset", id: f.dataset)
            }
            #expect(unreadable?.message == "READ access to this Dataset is not allowed.")
            #expect(try await catalog.search(sessionId: alice, query: "SELECT ds FROM Dataset ds") == [])
            #expect(try await catalog.search(sessionId: alice, query: "SELECT COUNT(ds) FROM Dataset ds") == [0])
            #expect(try await f.count("Datafile") == 2)
        }
    }
}
