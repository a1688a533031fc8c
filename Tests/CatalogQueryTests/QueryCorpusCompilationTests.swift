import CatalogQuery
import CatalogSQL
import CatalogSchema
import Foundation
import Testing

/// The query corpus (`Tests/CatalogTests/QueryCorpus`), compiled without a database: every query a real ICAT
/// answered compiles on both dialects, a placeholder for each bound value;
/// every query ICAT refuses for its form is refused here with the position of the problem. What the SQL answers is
/// proved on both databases by the catalog's own corpus test.
@Suite("The query corpus, compiled")
struct QueryCorpusCompilationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let corpus = repository.appendingPathComponent("Tests/CatalogTests/QueryCorpus")

    static func entries(_ file: String, _ key: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: corpus.appendingPathComponent(file))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require(object[key] as? [[String: Any]])
    }

    @Test func everyAnsweredQueryCompilesOnBothDialects() throws {
        // `${Entity:label}` stands for an object's id, known once the fixture is created; any id compiles.
        let queries = try Self.entries("corpus.json", "queries").compactMap { $0["q"] as? String }.map {
            $0.replacingOccurrences(of: #"\$\{[A-Za-z]+:[^}]*\}"#, with: "7", options: .regularExpression)
        }
        #expect(queries.count >= 100)
        for query in queries {
            var statements: [SQLDialect: SQLStatement] = [:]
            for dialect in SQLDialect.allCases {
                do {
                    let compiled = try QueryCompiler(model: .icat, dialect: dialect).compile(
                        query,
                        userName: "simple/root"
                    )
                    statements[dialect] = compiled.sql.statement(dialect, userName: "simple/root")
                } catch {
                    Issue.record("\(dialect): \(query)\n   \(error)")
                }
            }
            guard let postgres = statements[.postgresql], let sqlite = statements[.sqlite] else { continue }
            #expect(sqlite.text.filter { $0 == "?" }.count == sqlite.binds.count, "\(query): \(sqlite.text)")
            let numbered = (1...max(1, postgres.binds.count)).filter { postgres.text.contains("$\($0)") }
            #expect(numbered.count == postgres.binds.count, "\(query): \(postgres.text)")
        }
    }

    @Test func queriesRefusedForTheirFormNameThePosition() throws {
        var refusedHere = 0
        for entry in try Self.entries("rejected.json", "rejected") {
            let query = try #require(entry["q"] as? String)
            let problem = try #require(entry["error"] as? String)
            do {
                _ = try QueryCompiler(model: .icat, dialect: .postgresql).compile(query, userName: "simple/root")
            } catch {
                // Some refusals come from above the compiler (text the databases cannot store, replies too large).
                if error.message.lowercased().contains(problem.lowercased()) {
                    refusedHere += 1
                    #expect(error.description.contains("position"), "\(query): \(error)")
                }
            }
        }
        #expect(refusedHere >= 40)
    }
}
