import Catalog
import CatalogDataFormat
import DataFileSamples
import Foundation
import JSONValue
import Testing

/// With python-icat's 6.2 example imported (its users, groupings, 161 rules and public steps), root and each
/// example user see, for every entity type, as many objects as a real ICAT 6.2 showed them: python-icat's reference
/// summaries, made by its `icatsummary` (`SELECT COUNT(e) FROM <Entity> e` per type) against a real server.
///
/// python-icat's test set-up made a few objects as the users themselves (two data collections, a job with its two,
/// a related datafile), and rules admit them by `createId`; the dump does not say so, so the test adds those
/// creators to the file and imports it with `attributes: ALL`, as a migration keeping creators would.
@Suite("What each user of python-icat's example sees, against a real ICAT")
struct ReferenceSummaryTests {
    static let users = ["root", "acord", "ahau", "jbotu", "jdoe", "nbour", "rbeck"]

    /// The reference counts: `Entity : count` lines of `summary-6.2[.user]`.
    static func reference(_ user: String) throws -> [String: Int64] {
        let name = user == "root" ? "summary-6.2" : "summary-6.2.\(user)"
        let text = try String(contentsOfFile: try DataFileSamples.example(name), encoding: .utf8)
        var counts: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, let count = Int64(parts[1]), !parts[0].contains(" ") { counts[parts[0]] = count }
        }
        return counts
    }

    /// A count selects no joined variable, so it is the same whether joins are restricted or not.
    @Test(arguments: Backend.allCases, [false, true])
    func everyUserSeesAsManyObjectsOfEachTypeAsARealICATShowed(_ backend: Backend, restrictJoins: Bool) async throws {
        var configuration = TestCatalog.configuration
        configuration.authorization.restrictJoins = restrictJoins
        try await TestCatalog.with(backend, configuration: configuration) { catalog in
            let root = try await catalog.login(
                plugin: "simple",
                credentials: ["username": "root", "password": "secret"]
            )
            var text = try String(contentsOfFile: try DataFileSamples.example("icatdump-6.2.xml"), encoding: .utf8)
            let creators = [
                "<dataCollection id=\"DataCollection_00000001\">": "db/jbotu",
                "<dataCollection id=\"DataCollection_00000002\">": "db/rbeck",
                "<dataCollection id=\"DataCollection_00000003\">": "db/nbour",
                "<dataCollection id=\"DataCollection_00000004\">": "db/nbour",
                "<job id=\"Job_00000001\">": "db/nbour",
                "<relatedDatafile id=\"RelatedDatafile_": "db/nbour",
            ]
            for (start, user) in creators {
                let line = try #require(text.range(of: start)).upperBound
                let end = try #require(text[line...].firstIndex(of: "\n"))
                text.insert(contentsOf: "\n    <createId>\(user)</createId>", at: end)
            }
            _ = try await catalog.importData(
                sessionId: root,
                format: .xml,
                source: .text(text),
                options: ImportOptions(attributes: .all)
            )
            for user in Self.users {
                let expected = try Self.reference(user)
                #expect(expected.count == 53, "the reference for \(user) lists every ICAT 6.2 entity")
                let session =
                    user == "root"
                    ? root
                    : try await catalog.login(
                        plugin: "db",
                        credentials: ["username": .string(user), "password": .string(user)]
                    )
                var seen: [String: Int64] = [:]
                for entity in expected.keys {
                    let result = try await catalog.search(sessionId: session, query: "SELECT COUNT(e) FROM \(entity) e")
                    seen[entity] = result.arrayValue?.first?.int64Value
                }
                let differences = expected.keys.sorted().filter { seen[$0] != expected[$0] }.map {
                    "\($0): \(seen[$0].map(String.init) ?? "nil") (ICAT \(expected[$0]!))"
                }
                #expect(differences.isEmpty, "\(user) sees \(differences.joined(separator: ", "))")
            }
        }
    }
}
