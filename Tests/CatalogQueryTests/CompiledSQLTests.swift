import CatalogQuery
import CatalogSQL
import CatalogSchema
import Testing

/// The shape of the SQL the compiler writes where the shape is the point: tables that need not be read are not.
/// What the SQL answers is proved by the query corpus and the authorization tests on both databases.
@Suite("Compiled SQL")
struct CompiledSQLTests {
    static let compiler = QueryCompiler(model: EntityModel.icat, dialect: .postgresql)

    static func tables(in sql: String) -> Set<String> {
        var tables: Set<String> = []
        for keyword in ["FROM ", "JOIN "] {
            for piece in sql.components(separatedBy: keyword).dropFirst() {
                if piece.hasPrefix("\""), let end = piece.dropFirst().firstIndex(of: "\"") {
                    tables.insert(String(piece[piece.index(after: piece.startIndex)..<end]))
                }
            }
        }
        return tables
    }

    @Test func aJoinedEntityUsedOnlyByItsIdIsNotRead() throws {
        let compiled = try Self.compiler.compile(
            "SELECT COUNT(iu) FROM Dataset ds JOIN ds.investigation i JOIN i.investigationUsers iu",
            userName: "simple/root"
        )
        let text = compiled.sql.statement(.postgresql).text
        #expect(Self.tables(in: text) == ["dataset", "investigation_user"], "\(text)")

        let named = try Self.compiler.compile(
            "SELECT COUNT(iu) FROM Dataset ds JOIN ds.investigation i JOIN i.investigationUsers iu WHERE i.name = 'x'",
            userName: "simple/root"
        )
        #expect(
            Self.tables(in: named.sql.statement(.postgresql).text) == [
                "dataset", "investigation", "investigation_user",
            ]
        )
    }

    @Test func aRuleTestsTheRowWithoutReadingTheRowsTable() throws {
        let member = try Self.compiler.compileRule(
            "SELECT df FROM Datafile df JOIN df.dataset ds JOIN ds.investigation i JOIN i.investigationUsers iu "
                + "JOIN iu.user u WHERE u.name = :user"
        )
        let condition = member.condition(alias: "t7", userName: "simple/alice").statement(.postgresql)
        #expect(condition.text.hasPrefix("(EXISTS (SELECT 1 FROM "), "\(condition.text)")
        #expect(Self.tables(in: condition.text) == ["dataset", "investigation_user", "user"], "\(condition.text)")
        #expect(condition.text.contains("= t7.\"dataset_id\""), "\(condition.text)")
        #expect(condition.binds == [.text("simple/alice")])
        #expect(!member.isOnRowAlone)

        let released = try Self.compiler.compileRule(
            "SELECT i FROM Investigation i WHERE i.releaseDate < CURRENT_TIMESTAMP"
        )
        let releasedSQL = released.condition(alias: "t2", userName: "x").statement(.postgresql).text
        #expect(releasedSQL == "(((t2.\"release_date\" < CURRENT_TIMESTAMP)))")
        #expect(released.isOnRowAlone)

        // Selecting another variable than the first: the rule's query correlated with the row by id.
        let joined = try Self.compiler.compileRule(
            "SELECT i FROM Dataset ds JOIN ds.investigation i WHERE ds.complete = TRUE"
        )
        let joinedSQL = joined.condition(alias: "t0", userName: "x").statement(.postgresql).text
        #expect(joinedSQL.contains("\"investigation_id\" = t0.\"id\""), "\(joinedSQL)")
        #expect(Self.tables(in: joinedSQL) == ["dataset"], "\(joinedSQL)")
    }

    @Test func rulesAreTestedCheapestFirst() throws {
        let rules = try [
            "SELECT i FROM Investigation i JOIN i.investigationUsers iu JOIN iu.user u WHERE u.name = :user",
            "SELECT i FROM Investigation i WHERE i.releaseDate < CURRENT_TIMESTAMP",
        ].map { try Self.compiler.compileRule($0) }
        let text = CompiledRule.anyAdmits(rules, alias: "t0", userName: "u").statement(.postgresql).text
        #expect(text.hasPrefix("(((t0.\"release_date\" < CURRENT_TIMESTAMP)) OR EXISTS ("), "\(text)")
    }

    @Test func rulesThroughTheSameReferencesShareOneExists() throws {
        let member =
            "SELECT df FROM Datafile df JOIN df.dataset ds JOIN ds.investigation i JOIN i.investigationUsers iu "
            + "JOIN iu.user u WHERE u.name = :user"
        let rules = try [
            member,
            "SELECT df FROM Datafile df JOIN df.dataset ds JOIN ds.investigation i WHERE i.releaseDate < CURRENT_TIMESTAMP",
            // Names the dataset after the join to the investigation: its steps stop at the dataset.
            member + " AND ds.complete = FALSE",
            // An outer join is not a step: the row's reference may be null.
            "SELECT df FROM Datafile df LEFT JOIN df.datafileFormat f WHERE f.name = 'nexus'",
        ].map { try Self.compiler.compileRule($0) }
        let text = CompiledRule.anyAdmits(rules, alias: "t0", userName: "u").statement(.postgresql).text
        // The member and released rules: the dataset once; the member's investigations from its reference to
        // them, without reading the investigation; the investigation's row for its release date.
        let throughTheDataset =
            "EXISTS (SELECT 1 FROM \"dataset\" c1 WHERE c1.\"id\" = t0.\"dataset_id\" AND (EXISTS (SELECT 1 FROM "
        #expect(text.components(separatedBy: throughTheDataset).count == 3, "two chains start so: \(text)")
        #expect(text.contains("\"investigation_id\" = c1.\"investigation_id\""), "\(text)")
        let released =
            "EXISTS (SELECT 1 FROM \"investigation\" c2 WHERE c2.\"id\" = c1.\"investigation_id\" AND "
            + "(((c2.\"release_date\" < CURRENT_TIMESTAMP))))"
        #expect(text.contains(released), "\(text)")
        #expect(text.components(separatedBy: "FROM \"investigation\"").count == 2, "read once: \(text)")
        #expect(text.contains("c1.\"complete\""), "the writer rule tests its dataset: \(text)")
        #expect(!text.contains("\"datafile_format\" c1"), "\(text)")
        #expect(text.hasPrefix("(EXISTS (SELECT 1 FROM \"datafile\" "), "the outer-join rule, untouched: \(text)")
    }

    /// A rule through a reference that may be null (`Dataset.sample`) admits only rows whose reference leads to
    /// an object: the object's table is read, even for a condition on its key alone.
    @Test func aRuleThroughANullableReferenceReadsTheObject() throws {
        let rule = try Self.compiler.compileRule("SELECT ds FROM Dataset ds JOIN ds.sample s")
        let text = rule.condition(alias: "t0", userName: "u").statement(.postgresql).text
        #expect(text.contains("FROM \"sample\" c1 WHERE c1.\"id\" = t0.\"sample_id\""), "\(text)")
        let longer = try Self.compiler.compileRule("SELECT df FROM Datafile df JOIN df.dataset ds JOIN ds.sample s")
        let longerText = longer.condition(alias: "t0", userName: "u").statement(.postgresql).text
        #expect(longerText.contains("FROM \"sample\" c2 WHERE c2.\"id\" = c1.\"sample_id\""), "\(longerText)")
    }
}
