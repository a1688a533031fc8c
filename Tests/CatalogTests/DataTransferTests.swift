import Catalog
import CatalogDataFormat
import DataFileSamples
import Foundation
import JSONValue
import Testing

/// Importing and exporting ICAT data files through the catalog, on both databases.
@Suite("Importing and exporting data files")
struct DataTransferTests {
    /// What a real ICAT holds after python-icat's icatdump-6.2 example is ingested: every object of the file, top
    /// level or nested, counted per entity type.
    static let exampleCounts: [String: Int] = [
        "Affiliation": 2, "Application": 1, "DataCollection": 5, "DataCollectionDatafile": 4,
        "DataCollectionDataset": 6, "DataCollectionInvestigation": 1, "DataCollectionParameter": 1,
        "DataPublication": 1, "DataPublicationDate": 2, "DataPublicationFunding": 1, "DataPublicationType": 2,
        "DataPublicationUser": 1, "Datafile": 11, "DatafileFormat": 6, "DatafileParameter": 10, "Dataset": 9,
        "DatasetInstrument": 7, "DatasetParameter": 6, "DatasetTechnique": 5, "DatasetType": 3, "Facility": 1,
        "FacilityCycle": 20, "FundingReference": 1, "Grouping": 15, "Instrument": 3, "InstrumentScientist": 3,
        "Investigation": 3, "InvestigationFacilityCycle": 3, "InvestigationFunding": 1, "InvestigationGroup": 9,
        "InvestigationInstrument": 3, "InvestigationParameter": 3, "InvestigationType": 5, "InvestigationUser": 5,
        "Job": 1, "Keyword": 9, "ParameterType": 9, "PermissibleStringValue": 6, "PublicStep": 38, "Publication": 1,
        "RelatedDatafile": 1, "RelatedItem": 1, "Rule": 161, "Sample": 3, "SampleParameter": 2, "SampleType": 3,
        "Shift": 4, "Study": 1, "StudyInvestigation": 2, "Subject": 4, "Technique": 4, "User": 11, "UserGroup": 19,
    ]

    static func example(_ name: String) throws -> DataFileSource {
        .file(path: try DataFileSamples.example(name))
    }

    static func root(_ catalog: Catalog) async throws -> String {
        try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])
    }

    static func counts(_ catalog: Catalog) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for name in catalog.entityNames {
            let count = try await catalog.count(name)
            if count > 0 { counts[name] = count }
        }
        return counts
    }

    /// The file without its head, whose date changes from one export to the next.
    static func body(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("<date>") && !$0.hasPrefix("# Date:") }
            .joined(separator: "\n")
    }

    @Test(arguments: Backend.allCases, DataFileFormat.allCases)
    func thePublishedExampleImportsWithEveryObjectARealICATHolds(
        _ backend: Backend,
        _ format: DataFileFormat
    )
        async throws
    {
        try await TestCatalog.with(backend) { catalog in
            let root = try await Self.root(catalog)
            let file = format == .xml ? "icatdump-6.2.xml" : "icatdump-6.2.yaml"
            let summary = try await catalog.importData(sessionId: root, format: format, source: try Self.example(file))
            #expect(summary.created == Self.exampleCounts.values.reduce(0, +))
            #expect(summary.skipped == 0)
            #expect(try await Self.counts(catalog) == Self.exampleCounts)
            // References landed on the right objects.
            let dataset = try await catalog.search(
                sessionId: root,
                query: "SELECT ds.investigation.name FROM Dataset ds WHERE ds.name = 'e208339'"
            )
            #expect(dataset == ["10100601-ST"])
            let members = try await catalog.search(
                sessionId: root,
                query:
                    "SELECT u.name FROM User u JOIN u.userGroups ug WHERE ug.grouping.name = 'investigation_10100601-ST_reader' ORDER BY u.name"
            )
            #expect(members == ["db/jbotu", "db/jdoe", "db/nbour"])
        }
    }

    @Test(arguments: Backend.allCases, DataFileFormat.allCases)
    func anExportImportedIntoAnEmptyCatalogGivesTheSameContent(
        _ backend: Backend,
        _ format: DataFileFormat
    )
        async throws
    {
        let (first, counts) = try await TestCatalog.with(backend) { catalog in
            let root = try await Self.root(catalog)
            _ = try await catalog.importData(
                sessionId: root,
                format: .xml,
                source: try Self.example("icatdump-6.2.xml")
            )
            let text = try await catalog.exportData(sessionId: root, format: format, attributes: .all)
            return (text, try await Self.counts(catalog))
        }
        #expect(counts == Self.exampleCounts)
        let second = try await TestCatalog.with(backend) { catalog in
            let root = try await Self.root(catalog)
            let summary = try await catalog.importData(
                sessionId: root,
                format: format,
                source: .text(first),
                options: ImportOptions(attributes: .all)
            )
            #expect(summary.created == counts.values.reduce(0, +))
            #expect(try await Self.counts(catalog) == counts)
            return try await catalog.exportData(sessionId: root, format: format, attributes: .all)
        }
        #expect(Self.body(second) == Self.body(first))
        #expect(first.contains("Investigation_facility-(name-ESNF)_name-10100601=2DST_visitId-1=2E1=2DN"))
    }

    @Test(arguments: Backend.allCases)
    func aBrokenFileLeavesTheCatalogUnchangedAndSaysWhere(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let root = try await Self.root(catalog)
            let good = try String(contentsOfFile: try DataFileSamples.example("icatdump-6.2.xml"), encoding: .utf8)

            // The last object refers to nothing, after hundreds of good ones written in several bulk writes.
            let stray = good.replacingOccurrences(
                of: "</data>\n</icatdata>",
                with:
                    "  <keyword>\n    <name>stray</name>\n    <investigation ref=\"Investigation_nowhere\"/>\n  </keyword>\n</data>\n</icatdata>"
            )
            let strayLine = stray.split(separator: "\n", omittingEmptySubsequences: false)
                .firstIndex { $0.contains("<keyword>") }.map { $0 + 1 }
            let unknown = await expectCatalogError(.noSuchObjectFound) {
                try await catalog.importData(
                    sessionId: root,
                    format: .xml,
                    source: .text(stray),
                    options: ImportOptions(batchSize: 50)
                )
            }
            #expect(unknown?.message.contains("Investigation_nowhere") == true)
            #expect(unknown?.message.hasPrefix("line \(strayLine ?? -1):") == true, "\(unknown?.message ?? "")")
            #expect(unknown?.offset == 319)
            #expect(try await Self.counts(catalog) == [:])

            // Malformed XML near the end.
            let truncated = good.split(separator: "\n", omittingEmptySubsequences: false).dropLast(5)
                .joined(separator: "\n")
            let malformed = await expectCatalogError(.badParameter) {
                try await catalog.importData(
                    sessionId: root,
                    format: .xml,
                    source: .text(truncated),
                    options: ImportOptions(batchSize: 50)
                )
            }
            #expect(malformed?.message.hasPrefix("line ") == true)
            #expect(try await Self.counts(catalog) == [:])

            _ = try await catalog.importData(sessionId: root, format: .xml, source: .text(good))
            #expect(try await Self.counts(catalog) == Self.exampleCounts)
            // The same file again: its first object exists already.
            let duplicate = await expectCatalogError(.objectAlreadyExists) {
                try await catalog.importData(sessionId: root, format: .xml, source: .text(good))
            }
            #expect(duplicate?.offset == 0)
            #expect(duplicate?.message.hasPrefix("line 10: User exists") == true, "\(duplicate?.message ?? "")")
            #expect(try await Self.counts(catalog) == Self.exampleCounts)
        }
    }

    @Test(arguments: Backend.allCases)
    func duplicatesAreIgnoredCheckedOrOverwrittenAsAsked(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let root = try await Self.root(catalog)
            let source = try Self.example("icatdump-6.2.yaml")
            _ = try await catalog.importData(sessionId: root, format: .yaml, source: source)
            let before = try await Self.counts(catalog)

            let ignored = try await catalog.importData(
                sessionId: root,
                format: .yaml,
                source: source,
                options: ImportOptions(duplicate: .ignore)
            )
            // Objects without a unique key cannot be recognised, so they (and what they hold) are created again,
            // as ICAT does; everything with a key is skipped.
            let afterIgnore = try await Self.counts(catalog)
            #expect(ignored.skipped > 0)
            #expect(ignored.created == afterIgnore.values.reduce(0, +) - before.values.reduce(0, +))
            let keyed = [
                "User", "Grouping", "Facility", "Investigation", "Dataset", "Datafile", "ParameterType", "Sample",
            ]
            for name in keyed { #expect(afterIgnore[name] == before[name], "\(name)") }

            let checked = try await catalog.importData(
                sessionId: root,
                format: .yaml,
                source: source,
                options: ImportOptions(duplicate: .check)
            )
            #expect(checked.skipped == ignored.skipped)

            let text = try String(contentsOfFile: try DataFileSamples.example("icatdump-6.2.yaml"), encoding: .utf8)
            let changed = text.replacingOccurrences(of: "fullName: Nicolas Bourbaki", with: "fullName: N. Bourbaki")
            #expect(changed != text)
            let mismatch = await expectCatalogError(.objectAlreadyExists) {
                try await catalog.importData(
                    sessionId: root,
                    format: .yaml,
                    source: .text(changed),
                    options: ImportOptions(duplicate: .check)
                )
            }
            #expect(mismatch?.message.contains("fullName") == true)

            let overwritten = try await catalog.importData(
                sessionId: root,
                format: .yaml,
                source: .text(changed),
                options: ImportOptions(duplicate: .overwrite)
            )
            #expect(overwritten.updated == ignored.skipped)
            let name = try await catalog.search(
                sessionId: root,
                query: "SELECT u.fullName FROM User u WHERE u.name = 'db/nbour'"
            )
            #expect(name == ["N. Bourbaki"])
            let afterOverwrite = try await Self.counts(catalog)
            for name in keyed { #expect(afterOverwrite[name] == before[name], "\(name)") }
        }
    }

    @Test(arguments: Backend.allCases)
    func reingestingADatasetWithDuplicatesIgnoredAddsOnlyItsNewFiles(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let file = """
                <icatdata><data>
                  <dataset>
                    <name>run-1</name>
                    <investigation ref="Investigation_facility-(name-ISIS)_name-INV=2D1_visitId-1=2E1=2DN"/>
                    <type ref="DatasetType_facility-(name-ISIS)_name-raw"/>
                    <datafiles><name>a.nxs</name><fileSize>10</fileSize></datafiles>
                    <datafiles><name>new.nxs</name><fileSize>30</fileSize></datafiles>
                  </dataset>
                </data></icatdata>
                """
            await expectCatalogError(.objectAlreadyExists) {
                try await catalog.importData(sessionId: f.root, format: .xml, source: .text(file))
            }
            let summary = try await catalog.importData(
                sessionId: f.root,
                format: .xml,
                source: .text(file),
                options: ImportOptions(duplicate: .ignore)
            )
            #expect(summary.created == 1)
            #expect(summary.skipped == 2)
            let names = try await catalog.search(
                sessionId: f.root,
                query: "SELECT df.name FROM Datafile df WHERE df.dataset.id = \(f.dataset) ORDER BY df.name"
            )
            #expect(names == ["a.nxs", "b.nxs", "new.nxs"])
            let changed = file.replacingOccurrences(of: "<fileSize>10</fileSize>", with: "<fileSize>11</fileSize>")
            let mismatch = await expectCatalogError(.objectAlreadyExists) {
                try await catalog.importData(
                    sessionId: f.root,
                    format: .xml,
                    source: .text(changed),
                    options: ImportOptions(duplicate: .check)
                )
            }
            #expect(mismatch?.message.contains("fileSize") == true)
        }
    }

    @Test(arguments: Backend.allCases)
    func labelsBeyondTheMemoryLimitAreStillFound(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let root = try await Self.root(catalog)
            let summary = try await catalog.importData(
                sessionId: root,
                format: .xml,
                source: try Self.example("icatdump-6.2.xml"),
                options: ImportOptions(batchSize: 7, labelsInMemory: 5)
            )
            #expect(summary.created == Self.exampleCounts.values.reduce(0, +))
            #expect(try await Self.counts(catalog) == Self.exampleCounts)
        }
    }

    @Test(arguments: Backend.allCases)
    func referencesByKeyAndLookupsFindObjectsAlreadyInTheCatalog(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let file = """
                <?xml version="1.0" encoding="utf-8"?>
                <icatdata>
                <data>
                  <investigationRef id="inv" name="INV-1" visitId="1.1-N" facility.ref="Facility_name-ISIS"/>
                  <dataset id="ds">
                    <name>run-2</name>
                    <investigation ref="inv"/>
                    <type name="raw" facility.ref="Facility_name-ISIS"/>
                    <datafiles>
                      <name>c.nxs</name>
                    </datafiles>
                  </dataset>
                  <datafile>
                    <name>d.nxs</name>
                    <dataset ref="Dataset_investigation-(facility-(name-ISIS)_name-INV=2D1_visitId-1=2E1=2DN)_name-run=2D1"/>
                  </datafile>
                </data>
                </icatdata>
                """
            let summary = try await catalog.importData(sessionId: f.root, format: .xml, source: .text(file))
            #expect(summary.created == 3)
            let names = try await catalog.search(
                sessionId: f.root,
                query: "SELECT df.name FROM Datafile df WHERE df.dataset.investigation.name = 'INV-1' ORDER BY df.name"
            )
            #expect(names == ["a.nxs", "b.nxs", "c.nxs", "d.nxs"])
            // A database id means nothing in another catalog: it never names an object.
            let byId = """
                <icatdata><data>
                  <datafile><name>e.nxs</name><dataset ref="Dataset_id-\(f.dataset)"/></datafile>
                </data></icatdata>
                """
            await expectCatalogError(.noSuchObjectFound) {
                try await catalog.importData(sessionId: f.root, format: .xml, source: .text(byId))
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aFailureFoundWhenALookupWritesThePendingObjectsNamesTheObjectAtFault(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let dataset = "Dataset_investigation-(facility-(name-ISIS)_name-INV=2D1_visitId-1=2E1=2DN)_name-run=2D1"
            let file = """
                <icatdata>
                <data>
                  <datafile><name>x.nxs</name><dataset ref="\(dataset)"/></datafile>
                  <datafile><name>x.nxs</name><dataset ref="\(dataset)"/></datafile>
                  <datafileRef id="a" name="x.nxs" dataset.ref="\(dataset)"/>
                </data>
                </icatdata>
                """
            let error = await expectCatalogError(.objectAlreadyExists) {
                try await catalog.importData(sessionId: f.root, format: .xml, source: .text(file))
            }
            #expect(error?.offset == 1)
            #expect(error?.message.hasPrefix("line 4: Datafile exists") == true, "\(error?.message ?? "")")
            #expect(try await f.count("Datafile") == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func othersFindOnlyWhatTheyMayReadNeedCreateRulesAndCannotImportAllAttributes(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            _ = try await catalog.create(sessionId: f.root, entity: ["User": ["name": "simple/alice"]])
            let alice = try await f.login("alice", "alice-pw")
            let file = """
                %YAML 1.1
                ---
                keyword:
                  k1:
                    name: hello
                    investigation: Investigation_facility-(name-ISIS)_name-INV=2D1_visitId-1=2E1=2DN
                """
            // A reference resolves only to what the caller may read, as their own search would.
            let hidden = await expectCatalogError(.noSuchObjectFound) {
                try await catalog.importData(sessionId: alice, format: .yaml, source: .text(file))
            }
            #expect(hidden?.message.contains("No Investigation labelled") == true)
            for entity in ["Facility", "Investigation"] {
                _ = try await catalog.create(
                    sessionId: f.root,
                    entity: ["Rule": ["what": .string(entity), "crudFlags": "R"]]
                )
            }
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.importData(
                    sessionId: alice,
                    format: .yaml,
                    source: .text(file),
                    options: ImportOptions(attributes: .all)
                )
            }
            let refused = await expectCatalogError(.insufficientPrivileges) {
                try await catalog.importData(sessionId: alice, format: .yaml, source: .text(file))
            }
            #expect(refused?.offset == 0)
            #expect(try await f.count("Keyword") == 0)
            _ = try await catalog.create(
                sessionId: f.root,
                entity: ["Rule": ["what": "Keyword", "crudFlags": "CR"]]
            )
            let summary = try await catalog.importData(sessionId: alice, format: .yaml, source: .text(file))
            #expect(summary.created == 1)
            let keyword = try await catalog.search(sessionId: f.root, query: "SELECT k.createId FROM Keyword k")
            #expect(keyword == ["simple/alice"])
        }
    }

    @Test(arguments: Backend.allCases)
    func aQueryExportHoldsTheSelectedObjectsWithTheirDescendants(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let text = try await catalog.exportData(sessionId: f.root, format: .xml, query: "Dataset [name='run-1']")
            #expect(
                text.contains(
                    "<dataset id=\"Dataset_investigation-(facility-(name-ISIS)_name-INV=2D1_visitId-1=2E1=2DN)_name-run=2D1\">"
                )
            )
            #expect(text.components(separatedBy: "<datafile id=").count == 3)
            #expect(!text.contains("<investigation id="))
            await expectCatalogError(.badParameter) {
                try await catalog.exportData(sessionId: f.root, format: .xml, query: "SELECT ds.name FROM Dataset ds")
            }
            // Importing it elsewhere in the same catalog under a new name resolves the investigation by its key.
            let moved = text.replacingOccurrences(of: "<name>run-1</name>", with: "<name>run-9</name>")
                .replacingOccurrences(of: "name-run=2D1", with: "name-run=2D9")
            let summary = try await catalog.importData(sessionId: f.root, format: .xml, source: .text(moved))
            #expect(summary.created == 3)
            #expect(try await f.count("Dataset") == 2)
        }
    }
}
