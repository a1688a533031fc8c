import Catalog
import JSONValue
import Testing

/// Queries built to exhaust the server (chains of thousands of terms, deep nesting) get an answer or a
/// BAD_PARAMETER, never a crash.
@Suite("Hostile queries")
struct HostileQueryTests {
    static func chain(_ term: String, _ separator: String, count: Int) -> String {
        Array(repeating: term, count: count).joined(separator: separator)
    }

    @Test(arguments: Backend.allCases)
    func chainsUpToTheLimitGetAnAnswerAndAHundredThousandTermsAreRefused(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            // Terms without literals: each literal would be a bound value, and databases bind a limited number.
            for separator in [" OR ", " AND "] {
                let longest =
                    "SELECT COUNT(ds) FROM Dataset ds WHERE " + Self.chain("ds.id = ds.id", separator, count: 10_001)
                #expect(try await catalog.search(sessionId: f.root, query: longest) == [1])
                let hostile =
                    "SELECT COUNT(ds) FROM Dataset ds WHERE " + Self.chain("ds.id = ds.id", separator, count: 100_000)
                let error = await expectCatalogError(.badParameter) {
                    try await catalog.search(sessionId: f.root, query: hostile)
                }
                #expect(
                    error?.message.contains("more than 10000 AND and OR operators") == true,
                    "\(String(describing: error))"
                )
            }
            // Two thousand bound values, as a client listing ids would send them.
            let ids = (0..<2_000).map { "ds.id = \($0 == 1_000 ? f.dataset : -Int64($0))" }
            let listed = "SELECT COUNT(ds) FROM Dataset ds WHERE " + ids.joined(separator: " OR ")
            #expect(try await catalog.search(sessionId: f.root, query: listed) == [1])
        }
    }

    @Test(arguments: Backend.allCases)
    func nestingPastTheLimitIsRefused(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let deep = 100_000
            let queries = [
                "SELECT ds FROM Dataset ds WHERE " + String(repeating: "(", count: deep) + "ds.id = 1"
                    + String(repeating: ")", count: deep),
                "SELECT ds FROM Dataset ds WHERE " + String(repeating: "NOT ", count: deep) + "ds.id = 1",
                "SELECT ds FROM Dataset ds WHERE ds.id = " + Self.chain("1", " + ", count: deep),
                "SELECT ds FROM Dataset ds WHERE ds.id = " + Self.chain("2", " * ", count: deep),
                "SELECT ds FROM Dataset ds WHERE ds.id = " + String(repeating: "-", count: deep) + "1",
                "SELECT ds FROM Dataset ds WHERE "
                    + String(repeating: "EXISTS (SELECT ds2 FROM Dataset ds2 WHERE ", count: 2_000) + "1 = 1"
                    + String(repeating: ")", count: 2_000),
            ]
            for query in queries {
                let error = await expectCatalogError(.badParameter) {
                    try await catalog.search(sessionId: f.root, query: query)
                }
                #expect(error?.message.contains("nested") == true, "\(String(describing: error))")
            }
            // Within the limit, an arithmetic chain still works.
            let sum =
                "SELECT COUNT(ds) FROM Dataset ds WHERE ds.id = " + Self.chain("0", " + ", count: 40)
                + " + \(f.dataset)"
            #expect(try await catalog.search(sessionId: f.root, query: sum) == [1])
        }
    }
}
