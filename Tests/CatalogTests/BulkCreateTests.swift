import Catalog
import JSONValue
import Testing

/// `createMany` of many objects takes the bulk path (COPY / multi-row INSERT); these prove it keeps every check of
/// a single create and still names the item at fault.
@Suite("Creating in bulk")
struct BulkCreateTests {
    /// `count` datafiles named `prefix-i.nxs`, each with a temperature parameter of `temperature(i)`.
    func datafiles(_ f: Fixture, _ prefix: String, count: Int, temperature: (Int) -> Double = { _ in 300 }) -> [JSON] {
        (0..<count).map { i in
            [
                "Datafile": [
                    "name": .string("\(prefix)-\(i).nxs"), "dataset": ["id": .int(f.dataset)],
                    "fileSize": .int(Int64(i)),
                    "description": "line one\nline\ttwo \\ three",
                    "parameters": [["type": ["id": .int(f.temperature)], "numericValue": .double(temperature(i))]],
                ]
            ]
        }
    }

    @Test(arguments: Backend.allCases)
    func manyObjectsWithChildrenAreWrittenWithTheirValuesAndIdsInOrder(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let ids = try await catalog.createMany(sessionId: f.root, entities: datafiles(f, "bulk", count: 300))
            #expect(ids.count == 300)
            #expect(ids == ids.sorted() && Set(ids).count == 300)
            #expect(try await f.count("Datafile") == 302)
            #expect(try await f.count("DatafileParameter") == 300)
            let last = try await catalog.get(
                sessionId: f.root,
                query: "Datafile df INCLUDE df.parameters",
                id: ids[299]
            )
            #expect(last["Datafile"]?["name"] == "bulk-299.nxs")
            #expect(last["Datafile"]?["fileSize"] == 299)
            #expect(last["Datafile"]?["description"] == "line one\nline\ttwo \\ three")
            #expect(last["Datafile"]?["parameters"]?[0]?["numericValue"] == 300.0)
            // Ids handed out afterwards do not collide with the reserved ones.
            let next = try await catalog.create(sessionId: f.root, entity: .datafile("after.nxs", dataset: f.dataset))
            #expect(next > ids[299])
        }
    }

    @Test(arguments: Backend.allCases)
    func aDuplicateDeepInABulkNamesItsOffsetAndWritesNothing(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            var entities = datafiles(f, "dup", count: 50)
            entities.insert(.datafile("a.nxs", dataset: f.dataset), at: 37)
            let error = await expectCatalogError(.objectAlreadyExists) {
                try await catalog.createMany(sessionId: f.root, entities: entities)
            }
            #expect(error?.offset == 37)
            #expect(error?.message.contains("name = 'a.nxs'") == true)
            #expect(try await f.count("Datafile") == 2)
            #expect(try await f.count("DatafileParameter") == 0)

            let missing = await expectCatalogError(.noSuchObjectFound) {
                try await catalog.createMany(
                    sessionId: f.root,
                    entities: datafiles(f, "ok", count: 20) + [.datafile("lost.nxs", dataset: 987_654)]
                )
            }
            #expect(missing?.offset == 20)
            #expect(missing?.message == "Dataset[id:987654] not found.")
            #expect(try await f.count("Datafile") == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func parametersInABulkAreCheckedAgainstTheirTypes(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let error = await expectCatalogError(.validation) {
                try await catalog.createMany(
                    sessionId: f.root,
                    entities: datafiles(f, "hot", count: 40) { $0 == 33 ? 500 : 20 }
                )
            }
            #expect(error?.offset == 33)
            #expect(error?.message.contains("temperature") == true)
            #expect(try await f.count("Datafile") == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func mixedEntitiesInOneBulkAreWrittenParentsBeforeChildren(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            var entities: [JSON] = (0..<10).map { i in
                ["Keyword": ["name": .string("k\(i)"), "investigation": ["id": .int(f.investigation)]]]
            }
            entities.append([
                "ParameterType": [
                    "name": "colour", "units": "N/A", "valueType": "STRING", "applicableToInvestigation": true,
                    "enforced": true, "facility": ["id": .int(f.facility)],
                    "permissibleStringValues": [["value": "red"], ["value": "blue"]],
                ]
            ])
            _ = try await catalog.createMany(sessionId: f.root, entities: entities)
            #expect(try await f.count("Keyword") == 10)
            #expect(try await f.count("PermissibleStringValue") == 4)
        }
    }
}
