import CatalogQuery
import CatalogSQL
import CatalogSchema
import Testing

/// The query language's provenance predicates, `DERIVED FROM` and `ANCESTOR OF`, without a database: what they
/// parse to, the one recursive subquery they compile to on both dialects, and misuse refused at its position.
@Suite struct ProvenancePredicateTests {
    static func compile(_ query: String, _ dialect: SQLDialect = .postgresql) throws(QueryError) -> String {
        try QueryCompiler(model: .icat, dialect: dialect).compile(query, userName: "simple/root").sql.statement(dialect)
            .text
    }

    @Test(arguments: SQLDialect.allCases)
    func aPredicateIsOneRecursiveSubqueryOverBothJobModels(_ dialect: SQLDialect) throws {
        let sql = try Self.compile(
            "SELECT COUNT(ds) FROM Dataset ds WHERE ds DERIVED FROM Dataset 12 DEPTH 3 AND ds.name LIKE 'f%'",
            dialect
        )
        #expect(sql.components(separatedBy: "WITH RECURSIVE").count == 2)
        for table in ["input_dataset", "output_datafile", "data_collection_dataset", "related_datafile"] {
            #expect(sql.contains("\"\(table)\""), "\(table)")
        }
        #expect(sql.contains(" IN (WITH RECURSIVE"))
        let up = try Self.compile("SELECT df FROM Datafile df WHERE df NOT ANCESTOR OF Job 4", dialect)
        #expect(up.contains(" NOT IN (WITH RECURSIVE") && up.contains("pvup"))
    }

    @Test func theWordsAreNotReserved() throws {
        _ = try Self.compile("SELECT derived FROM Dataset derived WHERE derived.name = 'depth'")
        _ = try Self.compile("SELECT ancestor.name FROM Dataset ancestor ORDER BY ancestor.name")
    }

    @Test(arguments: [
        ("SELECT ds FROM Dataset ds WHERE ds.name DERIVED FROM Dataset 1", 40, "needs a Dataset, Datafile or Job"),
        ("SELECT s FROM Sample s WHERE s DERIVED FROM Dataset 1", 31, "needs a Dataset, Datafile or Job"),
        ("SELECT ds FROM Dataset ds WHERE ds DERIVED FROM Sample 1", 48, "not 'Sample'"),
        ("SELECT ds FROM Dataset ds WHERE ds DERIVED FROM Dataset 'x'", 56, "Expected the id"),
        ("SELECT ds FROM Dataset ds WHERE ds DERIVED Dataset 1", 43, "Expected FROM"),
        ("SELECT ds FROM Dataset ds WHERE ds ANCESTOR OF Dataset 1 DEPTH 101", 35, "DEPTH must be from 0 to 100"),
    ])
    func misuseIsRefusedAtItsPosition(_ query: String, _ position: Int, _ message: String) {
        do {
            _ = try Self.compile(query)
            Issue.record("compiled: \(query)")
        } catch {
            #expect(error.position == position, "\(error)")
            #expect(error.message.contains(message), "\(error)")
        }
    }
}
