import Catalog
import JSONValue
import Testing

@Suite("Parameters and their types")
struct ParameterTests {
    func parameter(_ f: Fixture, type: Int64, _ value: (String, JSON), owner: (String, String, Int64)? = nil) -> JSON {
        let (entity, field, id) = owner ?? ("DatasetParameter", "dataset", f.dataset)
        return [entity: [field: ["id": .int(id)], "type": ["id": .int(type)], value.0: value.1]]
    }

    @Test(arguments: Backend.allCases)
    func enforcedNumericTypesCheckTheRange(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            _ = try await catalog.create(
                sessionId: f.root,
                entity: parameter(f, type: f.temperature, ("numericValue", 273.15))
            )
            let high = await expectCatalogError(.validation) {
                try await catalog.create(
                    sessionId: f.root,
                    entity: parameter(f, type: f.temperature, ("numericValue", 401))
                )
            }
            #expect(high?.message.contains("temperature") == true)
            await expectCatalogError(.validation) {
                try await catalog.create(
                    sessionId: f.root,
                    entity: parameter(
                        f,
                        type: f.temperature,
                        ("numericValue", -1),
                        owner: ("DatafileParameter", "datafile", 1)
                    )
                )
            }
            #expect(try await f.count("DatasetParameter") == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func enforcedStringTypesCheckPermissibleValues(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            _ = try await catalog.create(sessionId: f.root, entity: parameter(f, type: f.mode, ("stringValue", "fast")))
            let error = await expectCatalogError(.validation) {
                try await catalog.createMany(
                    sessionId: f.root,
                    entities: [
                        .datafile("fine.nxs", dataset: f.dataset),
                        parameter(
                            f,
                            type: f.mode,
                            ("stringValue", "medium"),
                            owner: ("DatasetParameter", "dataset", f.dataset)
                        ),
                    ]
                )
            }
            #expect(error?.offset == 1)
            #expect(error?.message.contains("'fast', 'slow'") == true)
        }
    }

    @Test(arguments: Backend.allCases)
    func typesApplyOnlyWhereTheirFlagsSayAndNeedTheirKindOfValue(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let notApplicable = await expectCatalogError(.validation) {
                try await catalog.create(
                    sessionId: f.root,
                    entity: parameter(
                        f,
                        type: f.temperature,
                        ("numericValue", 10),
                        owner: ("InvestigationParameter", "investigation", f.investigation)
                    )
                )
            }
            #expect(notApplicable?.message == "Parameter of type temperature is not applicable to a Investigation")
            await expectCatalogError(.validation) {
                try await catalog.create(
                    sessionId: f.root,
                    entity: parameter(f, type: f.temperature, ("stringValue", "hot"))
                )
            }
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.create(sessionId: f.root, entity: parameter(f, type: 9999, ("numericValue", 1)))
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func unenforcedTypesAcceptAnyValueOfTheirKind(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let loose = try await catalog.create(
                sessionId: f.root,
                entity: [
                    "ParameterType": [
                        "name": "pressure", "units": "bar", "valueType": "NUMERIC", "applicableToDataset": true,
                        "minimumNumericValue": 0, "maximumNumericValue": 1, "facility": ["id": .int(f.facility)],
                    ]
                ]
            )
            _ = try await catalog.create(sessionId: f.root, entity: parameter(f, type: loose, ("numericValue", 50)))
            #expect(try await f.count("DatasetParameter") == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func updatesOfParametersAreCheckedToo(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let id = try await catalog.create(
                sessionId: f.root,
                entity: parameter(f, type: f.temperature, ("numericValue", 20))
            )
            await expectCatalogError(.validation) {
                try await catalog.update(
                    sessionId: f.root,
                    entity: ["DatasetParameter": ["id": .int(id), "numericValue": 1000]]
                )
            }
            let stored = try await catalog.get(sessionId: f.root, query: "DatasetParameter", id: id)
            #expect(stored["DatasetParameter"]?["numericValue"] == 20.0)
        }
    }
}
