import CatalogDataFormat
import CatalogSchema
import DataFileSamples
import Foundation
import Testing

@Suite("The icatdata file format")
struct DataFileFormatTests {
    static let model = EntityModel.icat

    static func example(_ name: String) throws -> String { try DataFileSamples.example(name) }

    static func readAll(_ format: DataFileFormat, _ source: DataFileSource) throws -> [DataFileObject] {
        try DataFileSamples.readAll(format, source)
    }

    /// The error reading `text` gives, nil if it reads without one.
    static func readError(_ format: DataFileFormat, _ text: String) -> DataFileError? {
        do {
            return try DataFileSamples.readError(format, text)
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    /// Objects per entity name, top-level and nested separately.
    static func census(_ objects: [DataFileObject]) -> (topLevel: [String: Int], nested: [String: Int]) {
        var topLevel: [String: Int] = [:]
        var nested: [String: Int] = [:]
        func countChildren(_ object: DataFileObject) {
            for case (_, .child(let child)) in object.fields {
                nested[child.entity.name, default: 0] += 1
                countChildren(child)
            }
        }
        for object in objects {
            topLevel[object.entity.name, default: 0] += 1
            countChildren(object)
        }
        return (topLevel, nested)
    }

    // MARK: python-icat's examples

    @Test func theXMLAndYAMLExamplesOfICAT62HoldTheSameObjects() throws {
        let xml = try Self.readAll(.xml, .file(path: try Self.example("icatdump-6.2.xml")))
        let yaml = try Self.readAll(.yaml, .file(path: try Self.example("icatdump-6.2.yaml")))
        let xmlCensus = Self.census(xml)
        let yamlCensus = Self.census(yaml)
        #expect(xmlCensus.topLevel == yamlCensus.topLevel)
        #expect(xmlCensus.nested == yamlCensus.nested)
        #expect(xml.count == 319)
        #expect(yaml.count == 319)
        #expect(xmlCensus.topLevel["Rule"] == 161)
        #expect(xmlCensus.topLevel["User"] == 11)
        #expect(xmlCensus.topLevel["Datafile"] == 11)
        #expect(xmlCensus.topLevel["Dataset"] == 9)
        #expect(xmlCensus.topLevel["Investigation"] == 3)
        #expect(xmlCensus.nested["UserGroup"] == 19)
        #expect(Set(xml.compactMap(\.label)) == Set(yaml.compactMap(\.label)))
    }

    @Test func theExampleHeadsAreRead() throws {
        let xml = try XMLDataFileReader(.file(path: try Self.example("icatdump-6.2.xml")))
        #expect(xml.head?.apiVersion == "6.2.0")
        #expect(xml.head?.date == "2025-12-01T16:03:43+00:00")
        #expect(xml.head?.generator == "icatdump (python-icat 1.7.0)")
        let yaml = try YAMLDataFileReader(.file(path: try Self.example("icatdump-6.2.yaml")))
        #expect(yaml.head?.apiVersion == "6.2.0")
        #expect(yaml.head?.date == "Mon, 01 Dec 2025 16:03:33 +0000")
        #expect(yaml.head?.generator == "icatdump (python-icat 1.7.0)")
    }

    @Test func xmlObjectsCarryTheirFieldsReferencesChildrenAndLines() throws {
        let objects = try Self.readAll(.xml, .file(path: try Self.example("icatdump-6.2.xml")))
        let user = try #require(objects.first)
        #expect(user.entity.name == "User")
        #expect(user.label == "User_name-db=2Facord")
        #expect(user.line == 10)
        #expect(Self.text(user, "name") == "db/acord")
        let jbotu = try #require(objects.first { $0.label == "User_name-db=2Fjbotu" })
        #expect(Self.text(jbotu, "affiliation") == "Université Paul-Valéry Montpellier 3")
        let grouping = try #require(
            objects.first { $0.label == "Grouping_name-investigation=5F08100122=2DEF=5Fwriter" }
        )
        let members = grouping.fields.compactMap { field -> DataFileObject? in
            if case .child(let child) = field.value, field.name == "userGroups" { return child }
            return nil
        }
        #expect(members.count == 3)
        #expect(members.allSatisfy { $0.entity.name == "UserGroup" && $0.label == nil })
        #expect(Self.reference(members[1], "user") == .label("User_name-db=2Fnbour"))
    }

    @Test func yamlScalarsKeepTheTextTheFileWrites() throws {
        let objects = try Self.readAll(.yaml, .file(path: try Self.example("icatdump-simple.yaml")))
        let investigation = try #require(objects.first { $0.entity.name == "Investigation" })
        #expect(Self.text(investigation, "name") == "10100601-ST")
        #expect(Self.text(investigation, "visitId") == "1.1-N")
        #expect(Self.text(investigation, "startDate") == "2010-09-30T10:27:24+00:00")
        #expect(Self.text(investigation, "fileCount") == "4")
        #expect(Self.reference(investigation, "facility") == .label("Facility_name-ESNF"))
        let ahau = try #require(objects.first { $0.label == "User_name-db=2Fahau" })
        #expect(Self.text(ahau, "orcidId") == "0000-0002-3263")
        #expect(ahau.line == 23)
    }

    @Test(arguments: ["4.4", "4.7", "4.10", "5.0", "6.2", "simple"])
    func everyExampleVersionReadsInBothFormats(_ version: String) throws {
        let xml = try Self.readAll(.xml, .file(path: try Self.example("icatdump-\(version).xml")))
        let yaml = try Self.readAll(.yaml, .file(path: try Self.example("icatdump-\(version).yaml")))
        #expect(!xml.isEmpty)
        #expect(Self.census(xml).topLevel == Self.census(yaml).topLevel)
        #expect(Self.census(xml).nested == Self.census(yaml).nested)
    }

    @Test func yamlReferencesWithinADocumentComeAfterTheObjectsTheyName() throws {
        let objects = try Self.readAll(.yaml, .file(path: try Self.example("icatdump-6.2.yaml")))
        var defined = Set<String>()
        let documentLabels = Set(objects.compactMap(\.label))
        for object in objects {
            for label in Self.referencedLabels(object) where documentLabels.contains(label) {
                #expect(defined.contains(label), "\(object.label ?? "?") refers to \(label) before it is read")
            }
            if let label = object.label { defined.insert(label) }
        }
    }

    // MARK: Round trips

    static func sampleObjects() -> [[DataFileObject]] {
        let model = Self.model
        let facility = model["Facility"]!
        let investigation = model["Investigation"]!
        let dataset = model["Dataset"]!
        let grouping = model["Grouping"]!
        let userGroup = model["UserGroup"]!
        let user = model["User"]!
        let parameter = model["DatasetParameter"]!
        let first: [DataFileObject] = [
            DataFileObject(
                entity: user,
                label: "User_name-db=2Fa",
                fields: [
                    ("name", .text("db/a")), ("fullName", .text("A \"quoted\" <name> & 'more'")),
                    ("affiliation", .text("Université\nline two\ttab")), ("email", .text("")),
                ]
            ),
            DataFileObject(
                entity: user,
                label: "User_b",
                fields: [("name", .text("null")), ("orcidId", .text("007"))]
            ),
            DataFileObject(
                entity: grouping,
                label: "Grouping_name-g",
                fields: [
                    ("name", .text(" leading and trailing ")),
                    (
                        "userGroups",
                        .child(DataFileObject(entity: userGroup, fields: [("user", .reference(.label("User_b")))]))
                    ),
                    (
                        "userGroups",
                        .child(
                            DataFileObject(
                                entity: userGroup,
                                fields: [("user", .reference(.label("User_name-db=2Fa")))]
                            )
                        )
                    ),
                ]
            ),
            DataFileObject(
                entity: facility,
                label: "Facility_1",
                fields: [("name", .text("ESNF")), ("createId", .text("root"))]
            ),
        ]
        let second: [DataFileObject] = [
            DataFileObject(
                entity: investigation,
                label: "inv",
                fields: [
                    ("name", .text("10100601-ST")), ("visitId", .text("1.1-N")), ("title", .text("true")),
                    ("startDate", .text("2010-09-30T10:27:24+00:00")), ("fileCount", .text("4")),
                    ("fileSize", .text("-12")), ("facility", .reference(.label("Facility_1"))),
                ]
            ),
            DataFileObject(
                entity: dataset,
                label: "ds: #1",
                fields: [
                    ("name", .text("e208339")), ("complete", .text("false")),
                    (
                        "investigation",
                        .reference(
                            .key([
                                .init(name: "name", value: "10100601-ST"), .init(name: "visitId", value: "1.1-N"),
                                .init(name: "facility.ref", value: "Facility_1"),
                            ])
                        )
                    ),
                    (
                        "parameters",
                        .child(
                            DataFileObject(
                                entity: parameter,
                                fields: [
                                    ("numericValue", .text("1.0")), ("type", .reference(.label("ParameterType_x"))),
                                ]
                            )
                        )
                    ),
                    ("parameters", .child(DataFileObject(entity: parameter))),
                ]
            ),
            DataFileObject(entity: dataset, label: "empty"),
            DataFileObject(
                entity: dataset,
                label: String(repeating: "long", count: 300),
                fields: [("name", .text("x"))]
            ),
        ]
        return [first, second]
    }

    static func write(_ format: DataFileFormat, _ chunks: [[DataFileObject]]) -> String {
        var writer = DataFileWriter(format: format)
        var output = writer.start(
            DataFileHead(date: "2025-12-01T16:03:43+00:00", apiVersion: "6.2.0", generator: "test")
        )
        for chunk in chunks {
            output += writer.startChunk()
            for object in chunk { output += writer.write(object) }
            output += writer.endChunk()
        }
        return output + writer.finish()
    }

    @Test(arguments: DataFileFormat.allCases)
    func whatTheWriterWritesReadsBackToEqualObjects(_ format: DataFileFormat) throws {
        let chunks = Self.sampleObjects()
        let text = Self.write(format, chunks)
        let objects = try Self.readAll(format, .text(text))
        let expected = chunks.flatMap { $0 }
        #expect(objects.count == expected.count)
        for (read, written) in zip(objects, expected) {
            #expect(Self.same(read, written), "\(read.label ?? "?") differs:\n\(text)")
        }
    }

    @Test func yamlNullsReadBackAndXMLLeavesThemOut() throws {
        let user = Self.model["User"]!
        let object = DataFileObject(entity: user, label: "u", fields: [("name", .text("x")), ("email", .null)])
        let yaml = try Self.readAll(.yaml, .text(Self.write(.yaml, [[object]])))
        #expect(yaml.count == 1 && Self.same(yaml[0], object))
        let xml = try Self.readAll(.xml, .text(Self.write(.xml, [[object]])))
        #expect(xml.count == 1 && xml[0].fields.count == 1)
    }

    @Test func theExamplesSurviveARoundTripThroughBothFormats() throws {
        for file in ["icatdump-6.2.xml", "icatdump-6.2.yaml"] {
            let objects = try Self.readAll(DataFileFormat(fileName: file)!, .file(path: try Self.example(file)))
            for format in DataFileFormat.allCases {
                // Consecutive runs of one entity make one chunk each, as the YAML writer requires.
                let chunks = objects.reduce(into: [[DataFileObject]]()) { chunks, object in
                    if chunks.last?.last?.entity.name == object.entity.name {
                        chunks[chunks.count - 1].append(object)
                    } else {
                        chunks.append([object])
                    }
                }
                let again = try Self.readAll(format, .text(Self.write(format, chunks)))
                #expect(again.count == objects.count)
                #expect(zip(again, objects).allSatisfy { Self.same($0, $1) }, "\(file) through \(format)")
            }
        }
    }

    // MARK: Malformed files

    static let xmlStart = """
        <?xml version="1.0" encoding="utf-8"?>
        <icatdata>
        <data>

        """

    @Test(
        arguments: [
            ("unclosed tag", xmlStart + "  <user id=\"u\">\n    <name>x</name>\n</data>\n</icatdata>\n", 6),
            ("undefined entity", xmlStart + "  <user id=\"u\">\n    <name>a &bogus; b</name>\n  </user>\n", 5),
            ("garbage after the root", xmlStart + "</data>\n</icatdata>\n<more/>\n", 6),
            ("text where elements belong", xmlStart + "  <user id=\"u\">\n    stray text\n    <name>x</name>\n", 5),
            ("mismatched end tag", xmlStart + "  <user id=\"u\">\n    <name>x</fullName>\n  </user>\n", 5),
            ("unterminated attribute", xmlStart + "  <user id=\"u>\n  </user>\n</data></icatdata>\n", 5),
            (
                "document type declaration",
                "<?xml version=\"1.0\"?>\n<!DOCTYPE icatdata [\n<!ENTITY x \"y\">\n]>\n<icatdata/>\n", nil
            ),
        ]
    )
    func malformedXMLIsAnErrorAtItsLine(_ problem: String, _ text: String, _ line: Int?) throws {
        let error = try #require(Self.readError(.xml, text), "\(problem)")
        #expect(error.line == line, "\(problem): \(error)")
    }

    @Test func xmlStructureTheModelDoesNotAllowIsAnErrorAtItsLine() throws {
        let unknownField = try #require(
            Self.readError(
                .xml,
                Self.xmlStart + "  <dataset id=\"d\">\n    <foo>x</foo>\n  </dataset>\n</data></icatdata>"
            )
        )
        #expect(unknownField.message == "Dataset has no field 'foo'")
        #expect(unknownField.line == 5)
        let unknownEntity = try #require(
            Self.readError(.xml, Self.xmlStart + "  <gadget id=\"g\"/>\n</data></icatdata>")
        )
        #expect(unknownEntity.message.contains("'gadget'"))
        #expect(unknownEntity.line == 4)
        let nested = try #require(
            Self.readError(
                .xml,
                Self.xmlStart
                    + "  <user id=\"u\">\n    <name>\n      <b>x</b>\n    </name>\n  </user>\n</data></icatdata>"
            )
        )
        #expect(nested.line == 6)
        let bareReference = try #require(
            Self.readError(
                .xml,
                Self.xmlStart + "  <dataset id=\"d\">\n    <investigation/>\n  </dataset>\n</data></icatdata>"
            )
        )
        #expect(bareReference.line == 5)
        let id = try #require(
            Self.readError(
                .xml,
                Self.xmlStart + "  <dataset id=\"d\">\n\n    <id>4</id>\n  </dataset>\n</data></icatdata>"
            )
        )
        #expect(id.line == 6)
        let wrongRoot = try #require(Self.readError(.xml, "<?xml version=\"1.0\"?>\n<icat/>\n"))
        #expect(wrongRoot.line == 2)
    }

    @Test func xmlKeepsManagedFieldsOtherThanIdAndEmptyElementsAsText() throws {
        let text =
            Self.xmlStart + """
                  <user id="u">
                    <createId>root</createId>
                    <modTime>2025-01-01T00:00:00Z</modTime>
                    <email></email>
                    <fullName/>
                  </user>
                </data>
                </icatdata>
                """
        let objects = try Self.readAll(.xml, .text(text))
        #expect(Self.text(objects[0], "createId") == "root")
        #expect(Self.text(objects[0], "modTime") == "2025-01-01T00:00:00Z")
        #expect(Self.text(objects[0], "email") == "")
        #expect(Self.text(objects[0], "fullName") == "")
    }

    @Test func xmlKeyReferencesKeepTheirAttributesInOrder() throws {
        let text =
            Self.xmlStart + """
                  <dataset id="d">
                    <name>x</name>
                    <investigation name="10100601-ST" visitId="1.1-N" facility.ref="Facility_1"/>
                    <type ref="DatasetType_name-raw"></type>
                  </dataset>
                </data>
                </icatdata>
                """
        let objects = try Self.readAll(.xml, .text(text))
        #expect(
            Self.reference(objects[0], "investigation")
                == .key([
                    .init(name: "name", value: "10100601-ST"), .init(name: "visitId", value: "1.1-N"),
                    .init(name: "facility.ref", value: "Facility_1"),
                ])
        )
        #expect(Self.reference(objects[0], "type") == .label("DatasetType_name-raw"))
        let badKey = try #require(
            Self.readError(
                .xml,
                Self.xmlStart
                    + "  <dataset id=\"d\">\n    <investigation colour=\"red\"/>\n  </dataset>\n</data></icatdata>"
            )
        )
        #expect(badKey.line == 5)
    }

    @Test func xmlRefElementsLookUpExistingObjects() throws {
        let text =
            Self.xmlStart + """
                  <investigationRef id="inv" name="10100601-ST" visitId="1.1-N" facility.ref="Facility_1"/>
                  <facilityRef id="fac" ref="Facility_name-ESNF"/>
                  <dataset id="d">
                    <name>x</name>
                    <investigation ref="inv"/>
                  </dataset>
                </data>
                </icatdata>
                """
        let objects = try Self.readAll(.xml, .text(text))
        #expect(objects.count == 3)
        #expect(objects[0].entity.name == "Investigation")
        #expect(objects[0].label == "inv")
        #expect(objects[0].fields.isEmpty)
        #expect(
            objects[0].lookup
                == .key([
                    .init(name: "name", value: "10100601-ST"), .init(name: "visitId", value: "1.1-N"),
                    .init(name: "facility.ref", value: "Facility_1"),
                ])
        )
        #expect(objects[0].line == 4)
        #expect(objects[1].lookup == .label("Facility_name-ESNF"))
        #expect(objects[1].label == "fac")
        #expect(objects[2].lookup == nil)
    }

    @Test(
        arguments: [
            ("bad indentation", "---\nuser:\n  u:\n    name: x\n   fullName: y\n", 5),
            ("unclosed quote", "%YAML 1.1\n# Date: x\n---\nuser:\n  u:\n    name: \"x\n---\nuser: {}\n", 7),
            ("tab indentation", "---\nuser:\n  u:\n\tname: x\n", 4),
            ("duplicate key", "---\nuser:\n  u:\n    name: x\n  u:\n    name: y\n", 3),
            ("error in a later document", "---\nuser:\n  u:\n    name: x\n---\nuser:\n  v: [a\n", 8),
        ]
    )
    func malformedYAMLIsAnErrorAtItsLine(_ problem: String, _ text: String, _ line: Int) throws {
        let error = try #require(Self.readError(.yaml, text), "\(problem)")
        #expect(error.line == line, "\(problem): \(error)")
    }

    @Test func yamlStructureTheModelDoesNotAllowIsAnErrorAtItsLine() throws {
        let unknownField = try #require(Self.readError(.yaml, "---\ndataset:\n  d:\n    name: x\n    foo: 1\n"))
        #expect(unknownField.message == "Dataset has no field 'foo'")
        #expect(unknownField.line == 5)
        let unknownEntity = try #require(Self.readError(.yaml, "---\nuser: {}\n---\ngadget:\n  g: {}\n"))
        #expect(unknownEntity.message.contains("'gadget'"))
        #expect(unknownEntity.line == 4)
        let listAsAttribute = try #require(Self.readError(.yaml, "---\nuser:\n  u:\n    name:\n    - x\n"))
        #expect(listAsAttribute.line == 5)
    }

    @Test func yamlNullScalarsAreNullAndQuotedOnesText() throws {
        let objects = try Self.readAll(
            .yaml,
            .text(
                "---\nuser:\n  u:\n    name: x\n    email: null\n    fullName: ~\n    affiliation:\n    orcidId: 'null'\n"
            )
        )
        let fields = objects[0].fields
        #expect(fields.count == 5)
        for name in ["email", "fullName", "affiliation"] {
            #expect(fields.contains { if case .null = $0.value { $0.name == name } else { false } }, "\(name)")
        }
        #expect(Self.text(objects[0], "orcidId") == "null")
    }

    @Test func aYAMLForwardReferenceWithinADocumentIsReordered() throws {
        let text = """
            ---
            dataset:
              ds:
                name: e1
                investigation: inv
                type: type
            investigation:
              inv:
                name: i
                visitId: v
                facility: fac
                investigationUsers:
                - user: someone
                  role: PI
            facility:
              fac:
                name: ESNF
            datasetType:
              type:
                name: raw
                facility: fac
            """
        let objects = try Self.readAll(.yaml, .text(text))
        #expect(objects.map { $0.label ?? "" } == ["fac", "inv", "type", "ds"])
        #expect(objects.map(\.line) == [16, 8, 19, 3])
    }

    @Test func aYAMLReferenceCycleIsRefused() throws {
        let text = """
            ---
            user:
              u1:
                name: x
            dataset:
              ds:
                name: e1
                investigation: inv
                parameters:
                - type: pt
                  stringValue: s
            investigation:
              inv:
                name: i
                datasets:
                - name: e2
                  type: ds
            parameterType:
              pt:
                name: p
                units: u
                facility: inv
            """
        let error = try #require(Self.readError(.yaml, text))
        #expect(error.message.contains("cycle"))
        #expect(error.line == 6 || error.line == 13)
    }

    // MARK: Helpers

    static func text(_ object: DataFileObject, _ name: String) -> String? {
        for (field, value) in object.fields where field == name {
            if case .text(let text) = value { return text }
        }
        return nil
    }

    static func reference(_ object: DataFileObject, _ name: String) -> DataFileReference? {
        for (field, value) in object.fields where field == name {
            if case .reference(let reference) = value { return reference }
        }
        return nil
    }

    static func referencedLabels(_ object: DataFileObject) -> [String] {
        object.fields.flatMap { field -> [String] in
            switch field.value {
            case .reference(.label(let label)): [label]
            case .child(let child): referencedLabels(child)
            default: []
            }
        }
    }

    /// Structural equality: entity, label, lookup and fields in order (lines are not compared).
    static func same(_ a: DataFileObject, _ b: DataFileObject) -> Bool {
        guard a.entity.name == b.entity.name, a.label == b.label, a.lookup == b.lookup,
            a.fields.count == b.fields.count
        else { return false }
        return zip(a.fields, b.fields).allSatisfy { x, y in
            guard x.name == y.name else { return false }
            switch (x.value, y.value) {
            case (.text(let s), .text(let t)): return s == t
            case (.null, .null): return true
            case (.reference(let r), .reference(let s)): return r == s
            case (.child(let c), .child(let d)): return same(c, d)
            default: return false
            }
        }
    }
}
