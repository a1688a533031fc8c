import Catalog
import JSONValue
import Testing

@Suite("Creating objects")
struct CreateTests {
    @Test(arguments: Backend.allCases)
    func cascadedCreateStoresChildrenAndServerFields(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            #expect(try await f.count("Datafile") == 2)
            let dataset = try await catalog.get(
                sessionId: f.root,
                query: "Dataset ds INCLUDE ds.datafiles, ds.investigation",
                id: f.dataset
            )
            let body = try #require(dataset["Dataset"])
            #expect(body["name"] == "run-1")
            #expect(body["complete"] == false)  // the schema's default
            #expect(body["createId"] == "simple/root")
            #expect(body["modId"] == "simple/root")
            let created = try #require(body["createTime"]?.stringValue)
            #expect(created.hasSuffix("Z") && created.count == 24)
            #expect(body["investigation"]?["name"] == "INV-1")
            let names = body["datafiles"]?.arrayValue?.compactMap { $0["name"]?.stringValue }.sorted()
            #expect(names == ["a.nxs", "b.nxs"])
        }
    }

    @Test(arguments: Backend.allCases)
    func getWithoutIncludeOmitsRelationsAndIncludeOneAddsManyToOne(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let plain = try await catalog.get(sessionId: f.root, query: "Dataset", id: f.dataset)["Dataset"]!
            #expect(plain["investigation"] == nil)
            #expect(plain["datafiles"] == nil)
            let one = try await catalog.get(sessionId: f.root, query: "Dataset INCLUDE 1", id: f.dataset)["Dataset"]!
            #expect(one["investigation"]?["visitId"] == "1.1-N")
            #expect(one["type"]?["name"] == "raw")
            #expect(one["datafiles"] == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func nestedIncludePathsLoadGrandchildren(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let investigation = try await catalog.get(
                sessionId: f.root,
                query: "Investigation i INCLUDE i.datasets ds, ds.datafiles",
                id: f.investigation
            )
            let datasets = try #require(investigation["Investigation"]?["datasets"]?.arrayValue)
            #expect(datasets.count == 1)
            #expect(datasets[0]["datafiles"]?.arrayValue?.count == 2)
            await expectCatalogError(.badParameter) {
                try await catalog.get(sessionId: f.root, query: "Investigation i INCLUDE i.name", id: f.investigation)
            }
            await expectCatalogError(.badParameter) {
                try await catalog.get(
                    sessionId: f.root,
                    query: "Investigation i INCLUDE x.datasets",
                    id: f.investigation
                )
            }
            await expectCatalogError(.badParameter) {
                try await catalog.get(sessionId: f.root, query: "Investigaton", id: f.investigation)
            }
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.get(sessionId: f.root, query: "Investigation", id: 999_999)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func createManyIsOneTransactionAndNamesTheFailingItem(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let ids = try await catalog.createMany(
                sessionId: f.root,
                entities: [.datafile("c.nxs", dataset: f.dataset), .datafile("d.nxs", dataset: f.dataset)]
            )
            #expect(ids.count == 2 && ids[0] != ids[1])
            #expect(try await f.count("Datafile") == 4)

            let error = await expectCatalogError(.objectAlreadyExists) {
                try await catalog.createMany(
                    sessionId: f.root,
                    entities: [
                        .datafile("e.nxs", dataset: f.dataset), .datafile("f.nxs", dataset: f.dataset),
                        .datafile("a.nxs", dataset: f.dataset),
                    ]
                )
            }
            #expect(error?.offset == 2)
            #expect(error?.message.contains("name = 'a.nxs'") == true)
            #expect(try await f.count("Datafile") == 4, "a failed batch writes nothing")

            let duplicateInBatch = await expectCatalogError(.objectAlreadyExists) {
                try await catalog.createMany(
                    sessionId: f.root,
                    entities: [.datafile("g.nxs", dataset: f.dataset), .datafile("g.nxs", dataset: f.dataset)]
                )
            }
            #expect(duplicateInBatch?.offset == 1)
            #expect(try await f.count("Datafile") == 4)
        }
    }

    @Test(arguments: Backend.allCases)
    func singleCreateErrorsHaveOffsetMinusOne(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let error = await expectCatalogError(.objectAlreadyExists) {
                try await catalog.create(sessionId: f.root, entity: .datafile("a.nxs", dataset: f.dataset))
            }
            #expect(error?.offset == -1)
            #expect(error?.message == "Datafile exists with dataset.id = \(f.dataset), name = 'a.nxs'")
        }
    }

    @Test(arguments: Backend.allCases)
    func missingMandatoryFieldsAndOverlongStringsGiveValidation(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let missingName = await expectCatalogError(.validation) {
                try await catalog.create(sessionId: f.root, entity: ["Datafile": ["dataset": ["id": .int(f.dataset)]]])
            }
            #expect(missingName?.message == "Datafile: name cannot be null.")
            let missingParent = await expectCatalogError(.validation) {
                try await catalog.create(sessionId: f.root, entity: ["Datafile": ["name": "x"]])
            }
            #expect(missingParent?.message == "Datafile: dataset cannot be null.")
            let tooLong = await expectCatalogError(.validation) {
                try await catalog.create(
                    sessionId: f.root,
                    entity: [
                        "Datafile": [
                            "name": .string(String(repeating: "é", count: 256)), "dataset": ["id": .int(f.dataset)],
                        ]
                    ]
                )
            }
            #expect(tooLong?.message == "Datafile: name cannot have length > 255")
            // Exactly the limit, counted in characters not bytes, is fine.
            _ = try await catalog.create(
                sessionId: f.root,
                entity: [
                    "Datafile": [
                        "name": .string(String(repeating: "é", count: 255)), "dataset": ["id": .int(f.dataset)],
                    ]
                ]
            )
            let childError = await expectCatalogError(.validation) {
                try await catalog.createMany(
                    sessionId: f.root,
                    entities: [
                        .datafile("ok.nxs", dataset: f.dataset),
                        [
                            "Dataset": [
                                "name": "run-2", "investigation": ["id": .int(f.investigation)],
                                "type": ["id": .int(f.datasetType)], "datafiles": [["fileSize": 3]],
                            ]
                        ],
                    ]
                )
            }
            #expect(childError?.offset == 1)
            #expect(try await f.count("Datafile") == 3)
        }
    }

    @Test(arguments: Backend.allCases)
    func badlyTypedOrUnknownInputGivesBadParameter(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let cases: [JSON] = [
                ["Datafile": ["name": 7, "dataset": ["id": .int(f.dataset)]]],
                ["Datafile": ["name": "x", "fileSize": "big", "dataset": ["id": .int(f.dataset)]]],
                ["Datafile": ["name": "x", "datafileCreateTime": "yesterday", "dataset": ["id": .int(f.dataset)]]],
                ["Datafile": ["name": "x", "colour": "red", "dataset": ["id": .int(f.dataset)]]],
                ["Datafile": ["name": "x", "dataset": 5]],
                ["Dataset": ["name": "x", "complete": "yes"]],
                [
                    "ParameterType": [
                        "name": "p", "units": "m", "valueType": "COMPLEX", "facility": ["id": .int(f.facility)],
                    ]
                ],
                ["Datafil": ["name": "x"]],
                ["Datafile": "x"],
                ["Datafile": [:], "Dataset": [:]],
                ["Datafile": ["id": 5, "name": "x", "dataset": ["id": .int(f.dataset)]]],
            ]
            for entity in cases {
                await expectCatalogError(.badParameter) { try await catalog.create(sessionId: f.root, entity: entity) }
            }
            #expect(try await f.count("Datafile") == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func referencesToMissingObjectsGiveNoSuchObjectFound(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let error = await expectCatalogError(.noSuchObjectFound) {
                try await catalog.create(sessionId: f.root, entity: .datafile("x", dataset: 424_242))
            }
            #expect(error?.message == "Dataset[id:424242] not found.")
            let nested = await expectCatalogError(.noSuchObjectFound) {
                try await catalog.create(
                    sessionId: f.root,
                    entity: [
                        "Dataset": [
                            "name": "run-9", "investigation": ["id": .int(f.investigation)],
                            "type": ["id": .int(f.datasetType)],
                            "datafiles": [["name": "z", "datafileFormat": ["id": 777]]],
                        ]
                    ]
                )
            }
            #expect(nested?.message == "DatafileFormat[id:777] not found.")
            #expect(try await f.count("Dataset") == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func datesAreReadWithOffsetsAndWrittenInUTC(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let id = try await catalog.create(
                sessionId: f.root,
                entity: [
                    "Datafile": [
                        "name": "dated", "dataset": ["id": .int(f.dataset)],
                        "datafileCreateTime": "2010-10-12T17:00:00.250+02:00",
                    ]
                ]
            )
            let file = try await catalog.get(sessionId: f.root, query: "Datafile", id: id)
            #expect(file["Datafile"]?["datafileCreateTime"] == "2010-10-12T15:00:00.250Z")
        }
    }

    @Test(arguments: Backend.allCases)
    func textThatLooksLikeSQLIsStoredVerbatim(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let hostile = "x'); DROP TABLE \"datafile\"; --"
            let id = try await catalog.create(sessionId: f.root, entity: .datafile(hostile, dataset: f.dataset))
            let file = try await catalog.get(sessionId: f.root, query: "Datafile", id: id)
            #expect(file["Datafile"]?["name"] == .string(hostile))
            #expect(try await f.count("Datafile") == 3)
        }
    }
}
