import CatalogQuery
import CatalogSQL
import CatalogSchema
import Foundation
import Testing

/// Inputs the query fuzzer once broke the compiler with (Tools/QueryFuzzer/crashes-found) now end in a result or
/// a QueryError, on both dialects.
@Suite("Query fuzzer findings")
struct QueryFuzzRegressionTests {
    static let directory = QueryCorpusCompilationTests.repository.appendingPathComponent(
        "Tools/QueryFuzzer/crashes-found"
    )

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".txt") }
            .sorted()
    }

    @Test func findingsAreKept() {
        #expect(Self.inputs.count >= 6)
    }

    @Test(arguments: inputs)
    func findingIsAnsweredWithoutCrashing(_ name: String) throws {
        let text = try String(contentsOf: Self.directory.appendingPathComponent(name), encoding: .utf8)
        for dialect in SQLDialect.allCases {
            do {
                _ = try QueryCompiler(model: .icat, dialect: dialect).compile(text, userName: "simple/root")
                #expect(!name.hasPrefix("stack-overflow"), "\(name) should be refused as too deep")
            } catch {
                if name.hasPrefix("stack-overflow") {
                    #expect(error.message.contains("nested"), "\(name): \(error)")
                }
            }
        }
    }

    @Test(arguments: SQLDialect.allCases)
    func nestingJustUnderTheLimitCompiles(_ dialect: SQLDialect) throws {
        let condition = String(repeating: "(", count: 20) + "ds.id > 0" + String(repeating: ")", count: 20)
        let minus = "ds.id = " + String(repeating: "- ", count: 30) + "1"
        for query in ["SELECT ds FROM Dataset ds WHERE \(condition)", "SELECT ds FROM Dataset ds WHERE \(minus)"] {
            _ = try QueryCompiler(model: .icat, dialect: dialect).compile(query, userName: "simple/root")
        }
    }
}
