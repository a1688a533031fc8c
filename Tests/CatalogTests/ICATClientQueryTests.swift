import CatalogDataFormat
import DataFileSamples
import Foundation
import JSONValue
import Testing

@testable import Catalog

/// Queries that ICAT's own clients send, on python-icat's example data, answered as a real ICAT answers them: the
/// counts are those python-icat's query tests expect of ICAT 5 and later (`test_06_query.py`).
@Suite("What ICAT's clients send")
struct ICATClientQueryTests {
    /// A catalog with python-icat's example data, and root's session.
    static func withExampleData(_ backend: Backend, _ body: (Catalog, String) async throws -> Void) async throws {
        try await TestCatalog.with(backend) { catalog in
            let root = try await catalog.login(
                plugin: "simple",
                credentials: ["username": "root", "password": "secret"]
            )
            let text = try String(contentsOfFile: try DataFileSamples.example("icatdump-6.2.yaml"), encoding: .utf8)
            _ = try await catalog.importData(sessionId: root, format: .yaml, source: .text(text))
            try await body(catalog, root)
        }
    }

    static func count(_ catalog: Catalog, _ session: String, _ query: String) async throws -> Int64? {
        let found = try await catalog.search(sessionId: session, query: query)
        guard let rows = found.arrayValue else { return nil }
        if rows.count == 1, let count = rows[0].int64Value { return count }
        return Int64(rows.count)
    }

    @Test(arguments: Backend.allCases)
    func aTimestampIsComparedWithAQuotedDateAsWithItsMidnight(_ backend: Backend) async throws {
        try await Self.withExampleData(backend) { catalog, root in
            let since2012 = "SELECT o FROM Datafile o WHERE o.datafileCreateTime >= '2012-01-01'"
            #expect(try await Self.count(catalog, root, since2012) == 5)
            let before2012 = "SELECT o FROM Datafile o WHERE o.datafileCreateTime < '2012-01-01'"
            #expect(try await Self.count(catalog, root, before2012) == 6)
            let in2012 =
                "SELECT o FROM Datafile o WHERE o.datafileCreateTime >= '2012-01-01' AND o.datafileCreateTime "
                + "< '2013-01-01'"
            #expect(try await Self.count(catalog, root, in2012) == 4)

            let quoted = try await Self.count(
                catalog,
                root,
                "SELECT COUNT(i) FROM Investigation i WHERE i.startDate < '2011-01-01'"
            )
            let escaped = try await Self.count(
                catalog,
                root,
                "SELECT COUNT(i) FROM Investigation i WHERE i.startDate < {ts 2011-01-01 00:00:00}"
            )
            #expect(quoted == escaped)
            #expect((quoted ?? 0) > 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func anEntityNamedAgainInAConciseChainIsTheSameObject(_ backend: Backend) async throws {
        try await Self.withExampleData(backend) { catalog, root in
            let concise = try await Self.count(
                catalog,
                root,
                "COUNT(Datafile) <-> Dataset [name = 'e208945'] <-> Datafile [datafileFormat.name IN ('NeXus', 'x')]"
            )
            let jpql = try await Self.count(
                catalog,
                root,
                "SELECT COUNT(df) FROM Datafile df WHERE df.dataset.name = 'e208945' "
                    + "AND df.datafileFormat.name IN ('NeXus', 'x')"
            )
            #expect(concise == 3)
            #expect(concise == jpql)
        }
    }

    @Test(arguments: Backend.allCases)
    func anIncludeThatNamesAStepTwiceIsRefused(_ backend: Backend) async throws {
        try await Self.withExampleData(backend) { catalog, root in
            let error = await #expect(throws: CatalogError.self) {
                try await catalog.search(
                    sessionId: root,
                    query: "SELECT i FROM Investigation i "
                        + "INCLUDE i.investigationInstruments, i.investigationInstruments.instrument"
                )
            }
            #expect(error?.type == .badParameter)
            #expect(error?.message.contains("names the step 'investigationInstruments' a second time") == true)

            let stepwise = try await catalog.search(
                sessionId: root,
                query: "SELECT i FROM Investigation i WHERE i.name = '10100601-ST' "
                    + "INCLUDE i.investigationInstruments ii, ii.instrument"
            )
            let instruments = stepwise[0]?["Investigation"]?["investigationInstruments"]?.arrayValue
            #expect(instruments?.isEmpty == false)
            #expect(instruments?.allSatisfy { $0["instrument"]?["name"] != nil } == true)
        }
    }
}
