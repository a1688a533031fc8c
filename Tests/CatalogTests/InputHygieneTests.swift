import Catalog
import CatalogDataFormat
import DataFileSamples
import Foundation
import JSONValue
import Testing

/// Input the databases cannot hold or that would make unbounded work is refused with a clear error before it
/// reaches a database, and a failed call stores nothing.
@Suite("Input hygiene: bad strings, malformed session ids, bounded data files and statements")
struct InputHygieneTests {
    static let nul = "\u{0}"

    // MARK: NUL in what clients send

    @Test(arguments: Backend.allCases)
    func aNULInAnAttributeIsRefusedOnCreateCreateManyAndUpdateAndNothingIsStored(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let fixture = try await Fixture.make(catalog)
            let before = try await fixture.count("Datafile")
            // As a client writes it: the JSON escape \u0000 in the request's text.
            let sent = try JSON(
                parsing: #"{"Datafile": {"name": "a\u0000junk", "dataset": {"id": \#(fixture.dataset)}}}"#
            )
            let created = await expectCatalogError(.badParameter) {
                try await catalog.create(sessionId: fixture.root, entity: sent)
            }
            #expect(created?.message.contains("Datafile.name") == true, "\(String(describing: created))")
            #expect(created?.message.contains("U+0000") == true)

            let many = await expectCatalogError(.badParameter) {
                try await catalog.createMany(
                    sessionId: fixture.root,
                    entities: [
                        .datafile("fine.nxs", dataset: fixture.dataset),
                        [
                            "Datafile": [
                                "name": "c.nxs", "dataset": ["id": .int(fixture.dataset)],
                                "parameters": [
                                    ["stringValue": .string("x\(Self.nul)"), "type": ["id": .int(fixture.mode)]]
                                ],
                            ]
                        ],
                    ]
                )
            }
            #expect(many?.offset == 1)
            #expect(many?.message.contains("DatafileParameter.stringValue") == true, "\(String(describing: many))")
            #expect(try await fixture.count("Datafile") == before)
            #expect(try await fixture.count("DatafileParameter") == 0)

            let updated = await expectCatalogError(.badParameter) {
                try await catalog.update(
                    sessionId: fixture.root,
                    entity: ["Dataset": ["id": .int(fixture.dataset), "description": .string("kept\(Self.nul)lost")]]
                )
            }
            #expect(updated?.message.contains("Dataset.description") == true)
            let dataset = try await catalog.get(sessionId: fixture.root, query: "Dataset ds", id: fixture.dataset)
            #expect(dataset["Dataset"]?["description"] == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func aNULInQueryTextIsRefusedRatherThanCutOff(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let fixture = try await Fixture.make(catalog)
            // SQLite used to compare only up to the NUL, finding a.nxs.
            let search = await expectCatalogError(.badParameter) {
                try await catalog.search(
                    sessionId: fixture.root,
                    query: "SELECT df.name FROM Datafile df WHERE df.name = 'a.nxs\(Self.nul)junk'"
                )
            }
            #expect(search?.message.contains("query") == true, "\(String(describing: search))")
            #expect(search?.message.contains("U+0000") == true)
            await expectCatalogError(.badParameter) {
                try await catalog.get(sessionId: fixture.root, query: "Dataset\(Self.nul)", id: fixture.dataset)
            }
            await expectCatalogError(.badParameter) {
                try await catalog.exportData(
                    sessionId: fixture.root,
                    format: .xml,
                    query: "Datafile [name = 'a.nxs\(Self.nul)']"
                ) as String
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aNULInLoginCredentialsIsRefusedNamingTheCredential(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let user = await expectCatalogError(.badParameter) {
                try await catalog.login(
                    plugin: "simple",
                    credentials: ["username": .string("root\(Self.nul)junk"), "password": "secret"]
                )
            }
            #expect(user?.message.contains("username") == true, "\(String(describing: user))")
            let password = await expectCatalogError(.badParameter) {
                try await catalog.login(
                    plugin: "simple",
                    credentials: ["username": "root", "password": .string("secret\(Self.nul)")]
                )
            }
            #expect(password?.message.contains("password") == true)
        }
    }

    @Test func aLoneSurrogateEscapeIsNotJSON() throws {
        #expect(throws: JSONParseError.self) { try JSON(parsing: #"{"name": "a\ud800b"}"#) }
        #expect(throws: JSONParseError.self) { try JSON(parsing: #"{"name": "a\udc00"}"#) }
        #expect(try JSON(parsing: #""\ud83d\ude00""#) == .string("😀"))
    }

    // MARK: Session ids

    @Test(arguments: Backend.allCases)
    func aSessionIdWithASuffixOrOfAnotherFormIsAnUnknownSession(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let session = try await catalog.login(plugin: "anon", credentials: [:])
            for malformed in [
                session + "\(Self.nul)junk", session + "0", String(session.dropLast()), session.uppercased(),
                String(repeating: "g", count: 64), "", " " + session,
            ] {
                await expectCatalogError(.session) { try await catalog.userName(sessionId: malformed) }
                await expectCatalogError(.session) { try await catalog.refresh(sessionId: malformed) }
                await expectCatalogError(.session) { try await catalog.logout(sessionId: malformed) }
            }
            #expect(try await catalog.userName(sessionId: session) == "anon/anon")
        }
    }

    // MARK: Data files

    /// A facility whose name holds a character the databases cannot store, in each format's own escape.
    @Test(arguments: Backend.allCases, DataFileFormat.allCases)
    func aNULInADataFileIsRefusedAtItsLineAndNothingIsStored(_ backend: Backend, _ format: DataFileFormat) async throws
    {
        try await TestCatalog.with(backend) { catalog in
            let root = try await DataTransferTests.root(catalog)
            let escaped = format == .xml ? "a&#0;b" : #"a\0b"#
            let error = await expectCatalogError(.badParameter) {
                try await catalog.importData(
                    sessionId: root,
                    format: format,
                    source: .text(DataFileSamples.facilityFile(format, name: escaped))
                )
            }
            // YAML reads the NUL and the catalog refuses it; XML 1.0 has no NUL, and libxml2 refuses the reference.
            let line = format == .xml ? "line 4:" : "line 3:"
            #expect(error?.message.hasPrefix(line) == true, "\(String(describing: error))")
            if format == .yaml { #expect(error?.message.contains("Facility.name") == true) }
            #expect(try await catalog.count("Facility") == 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func aNULInAYAMLLabelReferenceOrNestedObjectIsRefused(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let root = try await DataTransferTests.root(catalog)
            let files = [
                "---\nfacility:\n  \"F\\0x\":\n    name: F\n",
                "---\nfacility:\n  F1:\n    name: F\ninvestigationType:\n  T1:\n    name: t\n    facility: \"F1\\0\"\n",
                "---\nfacility:\n  F1:\n    name: F\n    datasetTypes:\n    - name: \"raw\\0\"\n",
            ]
            for file in files {
                await expectCatalogError(.badParameter) {
                    try await catalog.importData(sessionId: root, format: .yaml, source: .text(file))
                }
            }
            #expect(try await catalog.count("Facility") == 0)
        }
    }

    /// About 1 KB that stands for 30⁴ = 810,000 datafile parameters through aliases, four levels deep.
    static let billionLaughs: String = {
        let width = 30
        func repeated(_ anchor: String) -> String {
            Array(repeating: "*\(anchor)", count: width - 1).joined(separator: ", ")
        }
        return "---\nfacility:\n  F:\n    name: F\n    investigations:\n"
            + "    - &I {name: I, visitId: '1', datasets: [&D {name: D, datafiles: [&F {name: f, parameters: "
            + "[&P {stringValue: x}, \(repeated("P"))]}, \(repeated("F"))]}, \(repeated("D"))]}\n"
            + String(repeating: "    - *I\n", count: width - 1)
    }()

    @Test(arguments: Backend.allCases)
    func aBillionLaughsYAMLFileIsRefusedAtOnceAndNothingIsStored(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let root = try await DataTransferTests.root(catalog)
            let clock = ContinuousClock()
            let started = clock.now
            let error = await expectCatalogError(.badParameter) {
                try await catalog.importData(sessionId: root, format: .yaml, source: .text(Self.billionLaughs))
            }
            let took = clock.now - started
            #expect(error?.message.hasPrefix("line 6: YAML aliases") == true, "\(String(describing: error))")
            #expect(took < .seconds(5), "took \(took)")
            #expect(try await catalog.count("Facility") == 0)
        }
    }

    static func read(_ format: DataFileFormat, _ text: String, limit: Int) throws -> [DataFileObject] {
        var reader = try makeDataFileReader(
            format,
            .text(text),
            model: .icat,
            limits: DataFileLimits(objectsPerLevel: limit)
        )
        var objects: [DataFileObject] = []
        while let object = try reader.next() { objects.append(object) }
        return objects
    }

    /// A YAML document of `count` facilities.
    static func facilities(_ count: Int) -> String {
        "---\nfacility:\n" + (1...count).map { "  F\($0):\n    name: F\($0)\n" }.joined()
    }

    /// A facility with `count` dataset types, nested, in either format.
    static func datasetTypes(_ format: DataFileFormat, _ count: Int) -> String {
        switch format {
        case .xml:
            "<?xml version=\"1.0\"?>\n<icatdata>\n<data>\n<facility id=\"F1\">\n<name>F</name>\n"
                + (1...count).map { "<datasetTypes><name>t\($0)</name></datasetTypes>\n" }.joined()
                + "</facility>\n</data>\n</icatdata>\n"
        case .yaml:
            "---\nfacility:\n  F1:\n    name: F\n    datasetTypes:\n"
                + (1...count).map { "    - name: t\($0)\n" }.joined()
        }
    }

    @Test func aYAMLDocumentWithMoreTopLevelObjectsThanTheLimitIsRefusedAtTheFirstOneOver() throws {
        #expect(try Self.read(.yaml, Self.facilities(3), limit: 3).count == 3)
        do {
            _ = try Self.read(.yaml, Self.facilities(4), limit: 3)
            Issue.record("four objects in a document read with a limit of three")
        } catch let error as DataFileError {
            #expect(error.line == 9, "\(error)")
            #expect(error.message.contains("more than 3 objects"), "\(error)")
        }
    }

    @Test(arguments: DataFileFormat.allCases)
    func anObjectWithMoreChildrenThanTheLimitIsRefusedAtTheFirstOneOver(_ format: DataFileFormat) throws {
        let read = try Self.read(format, Self.datasetTypes(format, 3), limit: 3)
        #expect(read.first?.fields.count == 4)
        do {
            _ = try Self.read(format, Self.datasetTypes(format, 4), limit: 3)
            Issue.record("four children read with a limit of three")
        } catch let error as DataFileError {
            #expect(error.line == 9, "\(error)")
            #expect(error.message.contains("more than 3 objects"), "\(error)")
        }
    }

    @Test(arguments: Backend.allCases)
    func anImportOverTheLimitOfObjectsPerLevelIsABadParameterAndStoresNothing(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let root = try await DataTransferTests.root(catalog)
            let error = await expectCatalogError(.badParameter) {
                try await catalog.importData(
                    sessionId: root,
                    format: .yaml,
                    source: .text(Self.facilities(4)),
                    options: ImportOptions(limits: DataFileLimits(objectsPerLevel: 3))
                )
            }
            #expect(error?.message.hasPrefix("line 9:") == true, "\(String(describing: error))")
            #expect(try await catalog.count("Facility") == 0)
        }
    }

    // MARK: Statements over a database's limits

    /// The most values one statement may bind: PostgreSQL's protocol counts them in 16 bits; SQLite's limit is set
    /// when it is built (Debian's and this project's: 250,000).
    static func boundValueLimit(_ backend: Backend) -> Int {
        backend == .postgresql ? 65_535 : 250_000
    }

    @Test(arguments: Backend.allCases, [100_000, 300_000])
    func anINListIsAnsweredWithinTheLimitOfBoundValuesAndRefusedAtOnceBeyondIt(
        _ backend: Backend,
        _ count: Int
    ) async throws {
        try await TestCatalog.with(backend) { catalog in
            let fixture = try await Fixture.make(catalog)
            let ids = (1...count).map(String.init).joined(separator: ", ")
            let query = "SELECT df.name FROM Datafile df WHERE df.id IN (\(ids)) ORDER BY df.name"
            let limit = Self.boundValueLimit(backend)
            let clock = ContinuousClock()
            let started = clock.now
            if count <= limit {
                #expect(try await catalog.search(sessionId: fixture.root, query: query) == ["a.nxs", "b.nxs"])
            } else {
                let error = await expectCatalogError(.badParameter) {
                    try await catalog.search(sessionId: fixture.root, query: query)
                }
                let database = backend == .postgresql ? "PostgreSQL" : "SQLite"
                let refusal = "values bound to one SQL statement, more than \(database)'s limit of \(limit)"
                #expect(error?.message.contains(refusal) == true, "\(String(describing: error))")
            }
            // Refused before anything is sent: 100,000 values once took PostgreSQL minutes to fail.
            let took = clock.now - started
            #expect(took < .seconds(20), "took \(took)")
            // Nothing was left broken: the next search answers.
            let names = try await catalog.search(
                sessionId: fixture.root,
                query: "SELECT df.name FROM Datafile df WHERE df.id IN (1, 2, 3, 4, 5) ORDER BY df.name"
            )
            #expect(names == ["a.nxs", "b.nxs"])
        }
    }

    /// Longer than SQLite's limit on the depth of an expression (1,000): the compiler writes chains as balanced
    /// trees, so their depth is the logarithm of their length.
    static let orChainLength = 2_000

    @Test(arguments: Backend.allCases)
    func aChainOfORsDeeperThanSQLiteAllowsIsAnswered(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let fixture = try await Fixture.make(catalog)
            let terms = (0..<Self.orChainLength).map { "df.name = 'n\($0)'" } + ["df.name = 'a.nxs'"]
            let query = "SELECT df.name FROM Datafile df WHERE " + terms.joined(separator: " OR ")
            #expect(try await catalog.search(sessionId: fixture.root, query: query) == ["a.nxs"])
        }
    }
}
