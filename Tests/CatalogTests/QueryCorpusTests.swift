import Catalog
import CatalogSchema
import Foundation
import JSONValue
import Testing

/// The query language against a corpus of queries with their answers (`QueryCorpus/corpus.json`), run on both
/// databases over the catalog `QueryCorpus/fixture.json` describes, and a list of queries that must be refused
/// (`QueryCorpus/rejected.json`).
@Suite("The query corpus")
struct QueryCorpusTests {
    @Test(arguments: Backend.allCases)
    func everyCorpusQueryGivesItsExpectedAnswer(_ backend: Backend) async throws {
        let queries = try #require(try QueryCorpus.load("corpus.json")["queries"]?.arrayValue)
        #expect(queries.count >= 160)
        let concise = queries.filter { !($0["q"]?.stringValue ?? "").uppercased().hasPrefix("SELECT") }
        #expect(concise.count >= 40, "the corpus covers the concise form too")
        try await TestCatalog.with(backend) { catalog in
            let fixture = try await CorpusFixture.create(in: catalog)
            for entry in queries {
                let query = try #require(entry["q"]?.stringValue)
                let expected = try #require(entry["r"], "no expected result for \(query)")
                let ordered = query.uppercased().contains("ORDER BY")
                do {
                    let result = try await catalog.search(sessionId: fixture.root, query: try fixture.substitute(query))
                    let actual = CorpusFixture.canonical(fixture.render(result), ordered: ordered)
                    let wanted = CorpusFixture.canonical(expected, ordered: ordered)
                    #expect(
                        CorpusFixture.same(actual, wanted),
                        "\(backend): \(query)\n   got      \(actual.serialized)\n   expected \(wanted.serialized)"
                    )
                } catch {
                    Issue.record("\(backend): \(query)\n   failed: \(error)")
                }
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func malformedQueriesAreRefusedWithWhatAndWhereAndChangeNothing(_ backend: Backend) async throws {
        let rejected = try #require(try QueryCorpus.load("rejected.json")["rejected"]?.arrayValue)
        #expect(rejected.count >= 40)
        try await TestCatalog.with(backend) { catalog in
            let fixture = try await CorpusFixture.create(in: catalog)
            for entry in rejected {
                let query = try #require(entry["q"]?.stringValue)
                let problem = try #require(entry["error"]?.stringValue)
                do throws(CatalogError) {
                    let result = try await catalog.search(sessionId: fixture.root, query: query)
                    Issue.record("\(backend): \(query)\n   was accepted: \(result.serialized)")
                } catch {
                    #expect(error.type == .badParameter, "\(backend): \(query)\n   \(error)")
                    #expect(error.message.contains("position"), "\(backend): \(query)\n   \(error)")
                    #expect(
                        error.message.lowercased().contains(problem.lowercased()),
                        "\(backend): \(query)\n   \(error.message)\n   does not say '\(problem)'"
                    )
                }
            }
            for (entity, count) in fixture.counts {
                #expect(try await catalog.count(entity) == count, "\(entity) changed")
            }
            let datafiles = try await catalog.search(
                sessionId: fixture.root,
                query: "SELECT COUNT(df) FROM Datafile df"
            )
            #expect(datafiles == [10])
        }
    }

    @Test(arguments: Backend.allCases)
    func searchesReturningMoreThanMaxEntitiesCountingIncludedOnesAreRefused(_ backend: Backend) async throws {
        var configuration = TestCatalog.configuration
        configuration.maxEntities = 5
        try await TestCatalog.with(backend, configuration: configuration) { catalog in
            let fixture = try await CorpusFixture.create(in: catalog)
            func search(_ query: String) async throws(CatalogError) -> [JSON] {
                try await catalog.search(sessionId: fixture.root, query: query).arrayValue ?? []
            }
            // Ten datafiles, as entities or as values, are more than five.
            let tooMany = await expectCatalogError(.validation) { try await search("SELECT df FROM Datafile df") }
            #expect(tooMany?.message.contains("maxEntities") == true)
            await expectCatalogError(.validation) { try await search("SELECT df.name FROM Datafile df") }
            await expectCatalogError(.validation) { try await search("Datafile [fileSize >= 0]") }
            // Five are allowed, and so is a page of the ten, and an aggregate over them.
            #expect(try await search("SELECT df FROM Datafile df ORDER BY df.name LIMIT 0, 5").count == 5)
            #expect(
                try await search("SELECT df FROM Datafile df WHERE df.fileSize >= 100 ORDER BY df.name LIMIT 5, 5")
                    .count == 2
            )
            #expect(try await search("SELECT COUNT(df) FROM Datafile df") == [10])
            // Three datasets with their five datafiles are eight objects; with INCLUDE 1, three datasets each with
            // an investigation, a type and (two of them) a sample are eleven.
            #expect(try await search("SELECT ds FROM Dataset ds WHERE ds.investigation.name = 'inv-1'").count == 3)
            await expectCatalogError(.validation) {
                try await search("SELECT ds FROM Dataset ds WHERE ds.investigation.name = 'inv-1' INCLUDE ds.datafiles")
            }
            await expectCatalogError(.validation) {
                try await search("SELECT ds FROM Dataset ds WHERE ds.investigation.name = 'inv-1' INCLUDE 1")
            }
            // One dataset with its three datafiles and its investigation is five.
            let included = try await search(
                "SELECT ds FROM Dataset ds WHERE ds.name = 'ds-3a' INCLUDE ds.datafiles, ds.investigation"
            )
            #expect(included.count == 1)
            #expect(included.first?["Dataset"]?["datafiles"]?.arrayValue?.count == 3)
        }
    }
}

/// Reads the corpus files, which lie beside this source file.
enum QueryCorpus {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "QueryCorpus"
    )

    static func load(_ name: String) throws -> JSON {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try JSON(parsing: data)
    }
}

/// The catalog of `fixture.json`, created through `createMany`, with every object's id by label and back.
struct CorpusFixture {
    let catalog: Catalog
    let root: String
    /// Ids by entity type and label.
    private(set) var ids: [String: [String: Int64]] = [:]
    /// Labels by entity type and id.
    private(set) var labels: [String: [Int64: String]] = [:]
    /// How many objects of each type the fixture created.
    private(set) var counts: [String: Int] = [:]

    static func create(in catalog: Catalog) async throws -> CorpusFixture {
        let root = try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])
        var fixture = CorpusFixture(catalog: catalog, root: root)
        let batches = try #require(try QueryCorpus.load("fixture.json")["batches"]?.arrayValue)
        for batch in batches {
            var entities: [JSON] = []
            var named: [(entity: String, label: String)] = []
            for item in try #require(batch.arrayValue) {
                let (entity, label, json) = try fixture.resolve(item)
                entities.append(json)
                named.append((entity, label))
            }
            let created = try await catalog.createMany(sessionId: root, entities: entities)
            for ((entity, label), id) in zip(named, created) {
                #expect(fixture.ids[entity, default: [:]][label] == nil, "the label \(entity):\(label) is used twice")
                fixture.ids[entity, default: [:]][label] = id
                fixture.labels[entity, default: [:]][id] = label
                fixture.counts[entity, default: 0] += 1
            }
        }
        return fixture
    }

    /// `{"Type": {"$": label, field: value, relation: "label", ...}}` as the entity to create, with its label.
    private func resolve(_ item: JSON) throws -> (String, String, JSON) {
        let wrapper = try #require(item.objectValue)
        let (name, body) = try #require(wrapper.first)
        let entity = try #require(catalog.model.entity(named: name), "\(name) is not an entity")
        var members = try #require(body.objectValue)
        let label = try #require(members.removeValue(forKey: "$")?.stringValue ?? members["name"]?.stringValue)
        for (key, value) in members {
            guard let field = entity.field(named: key), field.isOne, let target = field.target,
                let reference = value.stringValue
            else { continue }
            let id = try #require(ids[target]?[reference], "\(name) \(label): no \(target) labelled \(reference)")
            members[key] = ["id": .int(id)]
        }
        return (name, label, [name: .object(members)])
    }

    /// The query with each `${Type:label}` replaced by that object's id.
    func substitute(_ query: String) throws -> String {
        var text = query
        while let start = text.range(of: "${") {
            let end = try #require(text[start.upperBound...].firstIndex(of: "}"), "unclosed ${ in \(query)")
            let reference = text[start.upperBound..<end].split(separator: ":", maxSplits: 1).map(String.init)
            let id = try #require(reference.count == 2 ? ids[reference[0]]?[reference[1]] : nil, "\(query)")
            text.replaceSubrange(start.lowerBound...end, with: String(id))
        }
        return text
    }

    // MARK: Comparing results

    /// A search result with each entity as `Type:label`, or `{"Type:label": {relation: ...}}` when it carries
    /// included relations.
    func render(_ result: JSON) -> JSON {
        switch result {
        case .array(let items): return .array(items.map(render))
        case .object(let wrapper):
            guard wrapper.count == 1, let (name, body) = wrapper.first, let entity = catalog.model.entity(named: name),
                let members = body.objectValue
            else { return result }
            return render(members, of: entity)
        default: return result
        }
    }

    private func render(_ members: [String: JSON], of entity: EntityDefinition) -> JSON {
        let id = members["id"]?.int64Value ?? -1
        let name = "\(entity.name):\(labels[entity.name]?[id] ?? "id \(id)")"
        var relations: [String: JSON] = [:]
        for (key, value) in members {
            guard let field = entity.field(named: key), let targetName = field.target,
                let target = catalog.model.entity(named: targetName)
            else { continue }
            switch value {
            case .object(let related): relations[key] = render(related, of: target)
            case .array(let children):
                relations[key] = .array(children.map { render($0.objectValue ?? [:], of: target) })
            default: relations[key] = value
            }
        }
        return relations.isEmpty ? .string(name) : [name: .object(relations)]
    }

    /// Included collections sorted, and the rows too when the query does not order them.
    static func canonical(_ result: JSON, ordered: Bool) -> JSON {
        guard case .array(let rows) = result else { return result }
        let canonicalRows = rows.map { row -> JSON in
            if case .array(let items) = row { return .array(items.map(canonicalEntity)) }
            return canonicalEntity(row)
        }
        return .array(ordered ? canonicalRows : canonicalRows.sorted { $0.serialized < $1.serialized })
    }

    private static func canonicalEntity(_ value: JSON) -> JSON {
        guard case .object(let wrapper) = value else { return value }
        return .object(
            wrapper.mapValues { body in
                guard case .object(let relations) = body else { return body }
                return .object(
                    relations.mapValues { related in
                        guard case .array(let children) = related else { return canonicalEntity(related) }
                        return .array(children.map(canonicalEntity).sorted { $0.serialized < $1.serialized })
                    }
                )
            }
        )
    }

    /// Equal, with integers and decimals told apart and decimals compared to a relative 1e-9.
    static func same(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return abs(x - y) <= 1e-9 * max(1, abs(y))
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        default: return a == b
        }
    }
}
