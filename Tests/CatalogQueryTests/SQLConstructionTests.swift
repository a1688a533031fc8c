import CatalogSQL
import Foundation
import Testing

/// SQL is written only through `SQLFragment`'s interpolation: literal text is SQL, an interpolated value is
/// bound, an identifier is quoted, and raw text goes in only where marked.
@Suite("SQL built by construction")
struct SQLFragmentTests {
    @Test func anInterpolatedValueIsBoundNeverWritten() {
        let name = "x'); DROP TABLE investigation; --"
        let sql: SQLFragment = "SELECT 1 WHERE \(identifier: "name") = \(name) AND \(identifier: "id") > \(Int64(7))"
        let postgres = sql.statement(.postgresql)
        #expect(postgres.text == #"SELECT 1 WHERE "name" = $1::text AND "id" > $2::int8"#)
        #expect(postgres.binds == [.text(name), .integer(7)])
        let sqlite = sql.statement(.sqlite)
        #expect(sqlite.text == #"SELECT 1 WHERE "name" = ? AND "id" > ?"#)
        #expect(sqlite.binds == [.text(name), .integer(7)])
    }

    @Test func identifiersAreQuotedWithEmbeddedQuotesDoubled() {
        let sql: SQLFragment = "SELECT \(identifiers: ["a", #"b"c"#]) FROM \(identifier: #"t""#)"
        #expect(sql.statement(.postgresql).text == #"SELECT "a", "b""c" FROM "t""""#)
    }

    @Test func aNestedFragmentKeepsItsValuesInOrder() {
        let inner: SQLFragment = "\(identifier: "x") IN (\(list: [.integer(1), .integer(2)]))"
        let outer: SQLFragment = "SELECT \(true) WHERE \(inner) AND \(identifier: "y") = \(2.5)"
        let statement = outer.statement(.postgresql)
        #expect(statement.text == #"SELECT $1::bool WHERE "x" IN ($2::int8, $3::int8) AND "y" = $4::float8"#)
        #expect(statement.binds == [.boolean(true), .integer(1), .integer(2), .double(2.5)])
    }

    @Test func aRuleSlotIsFilledWithTheRowAndTheCaller() {
        var condition: SQLFragment = "\(alias: SQLFragment.rowPlaceholder).\(identifier: "name") = "
        condition.bindUserName()
        condition.append(" AND \(alias: SQLFragment.rowPlaceholder).\(identifier: "id") > 0")
        let marked = condition.markingRow(SQLFragment.rowPlaceholder, keyColumn: "id")
        #expect(!marked.readsOnlyRowKey)
        let filled = marked.filling(rowAlias: "t3", rowKey: #"t0."investigation_id""#, userName: "simple/a")
        let statement = filled.statement(.sqlite)
        #expect(statement.text == #"t3."name" = ? AND t0."investigation_id" > 0"#)
        #expect(statement.binds == [.text("simple/a")])
    }

    @Test func joinedFragmentsAreSeparated() {
        let parts: [SQLFragment] = ["a", "\(Int64(1))", "b"]
        #expect(parts.joined(separator: " OR ").statement(.sqlite).text == "a OR ? OR b")
        #expect([SQLFragment]().joined().isEmpty)
    }
}

/// No SQL is written around `SQLFragment`: no identifier quoting outside CatalogSQL, no statement built from
/// text, and raw SQL (`\(unescaped:)`) only where this list says why.
@Suite("No SQL written by hand")
struct HandWrittenSQLTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The files that may put raw text into SQL, and why.
    static let unescapedAllowed: [String: String] = [
        "Sources/CatalogStore/Migrator.swift": "runs the statements of the migration scripts built into the binary",
        "Sources/CatalogStore/SchemaDDL.swift": "writes the schema's column lengths into its column types",
        "Tests/CatalogTests/PostgresStatementTests.swift":
            "makes statements whose texts differ by a number, to fill the prepared-statement cache",
    ]

    /// Where a label format, not SQL, has its own `quote` (`UniqueKeyLabel.quote`).
    static let labelQuoting = "Sources/Catalog/Transfer/UniqueKeyLabel.swift"

    /// A problem found in one line of code.
    struct Finding: CustomStringConvertible {
        let file: String
        let line: Int
        let problem: String
        var description: String { "\(file):\(line): \(problem)" }
    }

    /// The code of a line: what is left of it before a `//` comment that is not inside a string literal.
    static func code(of line: Substring) -> Substring {
        var inString = false
        var previous: Character = " "
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if character == "\"" && previous != "\\" { inString.toggle() }
            if !inString, character == "/", previous == "/" { return line[..<line.index(before: index)] }
            previous = character
            index = line.index(after: index)
        }
        return line
    }

    /// `code` with the text of its string literals blanked out.
    static func blankingStrings(_ code: Substring) -> String {
        var inString = false
        var previous: Character = " "
        var result = ""
        for character in code {
            if character == "\"" && previous != "\\" {
                inString.toggle()
                result.append(character)
            } else {
                result.append(inString ? " " : character)
            }
            previous = character
        }
        return result
    }

    /// `quote(` with the name path before it (`dialect.quote(`, `unquote(`).
    static var quoteCall: Regex<AnyRegexOutput> { try! Regex(#"[\w.]*quote\("#) }
    static var statementFromText: Regex<AnyRegexOutput> { try! Regex(#"\bSQLStatement\("#) }
    static var unescaped: Regex<AnyRegexOutput> { try! Regex(#"\\\(unescaped:"#) }

    /// The problems in one file's text.
    static func findings(in text: String, file: String) -> [Finding] {
        var found: [Finding] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            // Only lines that name one of the three are read closely (Swift's Regex is slow).
            guard line.contains("quote(") || line.contains("SQLStatement(") || line.contains("unescaped:") else {
                continue
            }
            let code = code(of: line)
            if code.trimmingCharacters(in: .whitespaces).hasPrefix("///") { continue }
            let bare = blankingStrings(code)
            for match in bare.matches(of: quoteCall) {
                let call = bare[match.range]
                let before = call.dropLast("quote(".count)
                if let last = before.last, last != "." { continue }  // another name: `unquote(`
                let isLabel = call.hasPrefix("UniqueKeyLabel.") || (file == labelQuoting && call == "quote(")
                if !isLabel { found.append(Finding(file: file, line: number + 1, problem: "quotes SQL: \(call)")) }
            }
            if bare.contains(statementFromText) {
                found.append(
                    Finding(file: file, line: number + 1, problem: "builds an SQLStatement; use fragment.statement")
                )
            }
            if code.contains(unescaped), unescapedAllowed[file] == nil {
                found.append(Finding(file: file, line: number + 1, problem: "raw SQL not in the allow-list"))
            }
        }
        return found
    }

    /// The Swift files of Sources, Tools and Tests, by path from the repository, but CatalogSQL's and this one.
    static func swiftFiles() throws -> [String] {
        var paths: [String] = []
        for top in ["Sources", "Tools", "Tests"] {
            let root = repository.appendingPathComponent(top)
            guard let walker = FileManager.default.enumerator(atPath: root.path) else { continue }
            for case let path as String in walker where path.hasSuffix(".swift") {
                paths.append(top + "/" + path)
            }
        }
        let own = URL(fileURLWithPath: #filePath).lastPathComponent
        return paths.filter { !$0.hasPrefix("Sources/CatalogSQL/") && !$0.hasSuffix("/" + own) }.sorted()
    }

    @Test func noCodeOutsideCatalogSQLWritesSQLText() throws {
        let files = try Self.swiftFiles()
        #expect(files.count > 50)
        var findings: [Finding] = []
        for file in files {
            let text = try String(contentsOf: Self.repository.appendingPathComponent(file), encoding: .utf8)
            findings += Self.findings(in: text, file: file)
        }
        #expect(findings.isEmpty, "\(findings.map(\.description).joined(separator: "\n"))")
    }

    @Test func everyAllowedFileStillNeedsRawSQL() throws {
        for file in Self.unescapedAllowed.keys {
            let text = try String(contentsOf: Self.repository.appendingPathComponent(file), encoding: .utf8)
            #expect(text.contains(Self.unescaped), "\(file) no longer needs its place in the allow-list")
        }
    }

    @Test func theCheckFindsHandWrittenSQLAndIgnoresComments() {
        let code = #"""
            let a = dialect.quote(name)
            let b = quote(name)  // quote(x) in a comment is fine
            // SQLStatement(dialect, "SELECT 1") in a comment is fine
            /// `quote(x)` in a doc comment is fine
            let c = SQLStatement(.sqlite, "SELECT " + text)
            let d: SQLFragment = "\(unescaped: text)"
            let e = "quote(it) // not a comment"
            let f = unquote(label) + UniqueKeyLabel.quote(label)
            """#
        let found = Self.findings(in: code, file: "Sources/Catalog/Example.swift").map(\.line)
        #expect(found == [1, 2, 5, 6])
    }
}
