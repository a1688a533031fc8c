import CatalogQuery
import CatalogSQL
import CatalogSchema

/// What the fuzzer checks for one input: the tokenizer, the parser, `parseGet`, `resolveGet` and the compiler for
/// both dialects must each end in a result or a `QueryError`, and what they produce must hold together.
///
/// A failure traps (`fatalError`), which libFuzzer reports as a crash with the input that caused it.
enum QueryChecks {
    /// The caller's name, with a quote in it: `:user` must be bound like any literal, never written into the SQL.
    static let userName = "simple/o'brien"
    /// What the catalog passes by default: `maxEntities` (10000) plus one.
    static let maximumRows = 10_001
    static let compilers = SQLDialect.allCases.map { QueryCompiler(model: .icat, dialect: $0) }

    /// Queries whose SQL holds the string constants the compiler writes itself (its clock functions, e.g.
    /// SQLite's `strftime('%Y-%m-%d %H:%M:%f', 'now')`). Those the compiler refuses are skipped.
    static let constantProbes = ["CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP"].map {
        "SELECT COUNT(f) FROM Facility f WHERE f.createTime < \($0)"
    }

    /// The quoted string constants the compiler writes itself, per dialect: any other in the SQL text came from
    /// the query.
    static let programConstants: [SQLDialect: Set<String>] = {
        var constants: [SQLDialect: Set<String>] = [:]
        for compiler in compilers {
            for probe in constantProbes {
                guard let query = try? compiler.compile(probe, userName: userName) else { continue }
                let text = query.sql.statement(compiler.dialect).text
                guard let quoted = quotedStrings(text) else { fatalError("query fuzzer: unbalanced quotes in \(text)") }
                constants[compiler.dialect, default: []].formUnion(quoted)
            }
        }
        return constants
    }()

    /// Checks one input; inputs that are not UTF-8 are ignored (a query is always text).
    static func check(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        check(expandingChain(text))
    }

    /// The longest chain an input may ask for: past the 1,000 terms that overflowed the debug build's stack before
    /// chains were flat, and short enough that the debug build with AddressSanitizer and coverage checks it well
    /// within libFuzzer's timeout (20,000 terms take 9 s there). HostileQueryTests sends 100,000 to the server.
    static let maximumChainLength = 4_000

    /// An input of the form `*N` newline, prefix, newline, unit, newline, suffix is the prefix, the unit repeated
    /// N times and the suffix (`*5000`, `SELECT ds FROM Dataset ds WHERE`, ` ds.id = 1 OR`, ` ds.id = 2`): so that
    /// small inputs, which libFuzzer mutates well, reach chains of thousands of terms. Any other input is itself.
    static func expandingChain(_ text: String) -> String {
        guard text.hasPrefix("*") else { return text }
        let lines = text.dropFirst().split(separator: "\n", maxSplits: 3, omittingEmptySubsequences: false)
        guard lines.count == 4, let count = Int(lines[0]), (0...maximumChainLength).contains(count) else {
            return text
        }
        return lines[1] + String(repeating: String(lines[2]), count: count) + lines[3]
    }

    static func check(_ text: String) {
        let length = text.unicodeScalars.count

        // 1. Tokens.
        let tokens = outcome("Lexer.tokens", text, length) { try Lexer.tokens(text) }
        var literals: [String] = [userName]
        if case .success(let tokens) = tokens {
            checkTokens(tokens, text: text, length: length)
            for token in tokens {
                if case .string(let value) = token.kind { literals.append(value) }
            }
        }

        // 2. The query of search, parsed alone.
        let parsed = outcome("Parser.parse", text, length) { try Parser.parse(text) }
        if case .failure(let error) = tokens, case .success = parsed {
            fail("Parser.parse accepted text the tokenizer refused (\(error))", text)
        }

        // 3. The query of get.
        let get = outcome("Parser.parseGet", text, length) { try Parser.parseGet(text) }
        let resolved = outcome("QueryCompiler.resolveGet", text, length) {
            try compilers[0].resolveGet(text)
        }
        if case .failure(let error) = get {
            guard case .failure(let resolveError) = resolved, resolveError == error else {
                fail("resolveGet did not fail as parseGet did (\(error)): \(resolved)", text)
            }
        }

        // 4. The compiler, for each dialect.
        var compiled: [(SQLDialect, Result<CompiledQuery, QueryError>)] = []
        for compiler in compilers {
            let result = outcome("QueryCompiler.compile (\(compiler.dialect))", text, length) {
                try compiler.compile(text, userName: userName, maximumRows: maximumRows)
            }
            if case .failure(let parseError) = parsed {
                guard case .failure(let compileError) = result, compileError == parseError else {
                    fail("compile (\(compiler.dialect)) did not fail as parse did (\(parseError))", text)
                }
            }
            if case .success(let query) = result {
                let statement = query.sql.statement(compiler.dialect)
                checkStatement(statement, literals: literals, text: text)
                if statement.dialect == .sqlite, let oracle = SQLiteOracle.shared {
                    checkWithSQLite(statement, query, oracle: oracle, text: text)
                }
            }
            compiled.append((compiler.dialect, result))
        }
        checkDialectsAgree(compiled, text: text)
    }

    /// Runs `body`, accepting a result or a `QueryError` whose position lies in the query; anything else that is
    /// thrown fails. `body` throws untyped so that any error type gets here, whatever the API declares.
    static func outcome<T>(
        _ what: String,
        _ text: String,
        _ length: Int,
        _ body: () throws -> T
    ) -> Result<T, QueryError> {
        do {
            return .success(try body())
        } catch let error as QueryError {
            guard (0...length).contains(error.position) else {
                fail(
                    "\(what): error position \(error.position) outside the query of \(length) characters: \(error)",
                    text
                )
            }
            guard !error.message.isEmpty, !error.description.isEmpty else { fail("\(what): empty error message", text) }
            return .failure(error)
        } catch {
            fail("\(what) threw \(type(of: error)), not a QueryError: \(error)", text)
        }
    }

    /// Tokens are in order, inside the text, and end with exactly one `.end` at its end.
    static func checkTokens(_ tokens: [Token], text: String, length: Int) {
        guard let last = tokens.last, case .end = last.kind, last.position == length else {
            fail(
                "the tokens do not end with .end at position \(length): \(tokens.last.map { "\($0)" } ?? "none")",
                text
            )
        }
        var previous = -1
        for token in tokens.dropLast() {
            if case .end = token.kind { fail("a .end token before the last one", text) }
            guard token.position > previous, token.position < length else {
                fail("token \(token) out of order or outside the query (previous at \(previous))", text)
            }
            previous = token.position
        }
    }

    /// The statement's placeholders match its bound values, and nothing of a quoted literal is in its text.
    static func checkStatement(_ statement: SQLStatement, literals: [String], text: String) {
        let sql = statement.text
        switch statement.dialect {
        case .postgresql:
            let numbers = postgresPlaceholders(sql)
            guard numbers == Array(stride(from: 1, through: statement.binds.count, by: 1)) else {
                fail(
                    "PostgreSQL placeholders \(numbers) do not number the \(statement.binds.count) bound values: \(sql)",
                    text
                )
            }
        case .sqlite:
            let count = sql.utf8.count(where: { $0 == UInt8(ascii: "?") })
            guard count == statement.binds.count else {
                fail("\(count) SQLite placeholders for \(statement.binds.count) bound values: \(sql)", text)
            }
        }
        guard let quoted = quotedStrings(sql) else {
            fail("unbalanced quotes in the \(statement.dialect) SQL: \(sql)", text)
        }
        let constants = programConstants[statement.dialect] ?? []
        for constant in quoted where !constants.contains(constant) {
            fail("a string constant from the query, \(constant), is in the \(statement.dialect) SQL text: \(sql)", text)
        }
        var stripped = sql
        for constant in constants {
            stripped = stripped.replacing(constant, with: "")
        }
        for literal in literals where literal.contains("'") {
            if stripped.contains(literal) {
                fail("the literal \(literal) is spliced into the \(statement.dialect) SQL: \(sql)", text)
            }
        }
    }

    /// The single-quoted string constants of SQL text, quotes included (`'it''s'`); nil when a quote is not closed.
    /// Double-quoted identifiers are skipped.
    static func quotedStrings(_ sql: String) -> [String]? {
        var result: [String] = []
        let scalars = Array(sql.unicodeScalars)
        var index = 0
        while index < scalars.count {
            let quote = scalars[index]
            guard quote == "'" || quote == "\"" else {
                index += 1
                continue
            }
            let start = index
            index += 1
            while true {
                guard index < scalars.count else { return nil }
                if scalars[index] == quote {
                    if index + 1 < scalars.count, scalars[index + 1] == quote {
                        index += 2
                        continue
                    }
                    break
                }
                index += 1
            }
            index += 1
            if quote == "'" {
                var constant = ""
                constant.unicodeScalars.append(contentsOf: scalars[start..<index])
                result.append(constant)
            }
        }
        return result
    }

    /// SQLite prepares the statement against the real schema, as one statement, with as many parameters as
    /// bound values and the columns the result items read (plus the ORDER BY keys SELECT DISTINCT adds).
    static func checkWithSQLite(_ statement: SQLStatement, _ query: CompiledQuery, oracle: SQLiteOracle, text: String) {
        let verdict = oracle.verdict(statement.text)
        if let error = verdict.error {
            // Deep nesting beyond SQLite's own limits: the catalog answers BAD_PARAMETER, as for any query the
            // database refuses. (How deep the compiler itself can go is another matter: see crashes-found/.)
            if SQLiteOracle.depthLimitErrors.contains(where: { error.hasPrefix($0) }) { return }
            fail("SQLite cannot prepare the compiled SQL: \(error)\n\(statement.text)", text)
        }
        if !verdict.rest.allSatisfy(\.isWhitespace) {
            fail("the compiled SQL is more than one statement; after the first: \(verdict.rest)", text)
        }
        if verdict.parameterCount != statement.binds.count {
            fail(
                "SQLite counts \(verdict.parameterCount) parameters for \(statement.binds.count) bound values: "
                    + statement.text,
                text
            )
        }
        let columns = query.items.reduce(0) { $0 + $1.columnCount }
        if verdict.columnCount < columns {
            fail("the SQL has \(verdict.columnCount) columns, the result items read \(columns)", text)
        }
    }

    /// The numbers of `$n` placeholders, in order.
    static func postgresPlaceholders(_ sql: String) -> [Int] {
        var numbers: [Int] = []
        var current: Int?
        var afterDollar = false
        for byte in sql.utf8 {
            if afterDollar, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                current = (current ?? 0) * 10 + Int(byte - UInt8(ascii: "0"))
                continue
            }
            if let number = current { numbers.append(number) }
            current = nil
            afterDollar = byte == UInt8(ascii: "$")
        }
        if let number = current { numbers.append(number) }
        return numbers
    }

    /// Both dialects accept the same queries, with the same result items, and refuse the others with the same error.
    static func checkDialectsAgree(_ results: [(SQLDialect, Result<CompiledQuery, QueryError>)], text: String) {
        guard let (firstDialect, first) = results.first else { return }
        for (dialect, result) in results.dropFirst() {
            switch (first, result) {
            case (.failure(let a), .failure(let b)):
                // The alternatives an ambiguous `<->` or INCLUDE lists come in no fixed order (dictionary order),
                // so messages are compared as the characters they hold.
                if a.position != b.position || a.message.sorted() != b.message.sorted() {
                    fail("\(firstDialect) refused with '\(a)' but \(dialect) with '\(b)'", text)
                }
            case (.success(let a), .success(let b)):
                // Their SQL and bound values may differ (SQLite repeats an argument where PostgreSQL has a function),
                // not what they read.
                if a.items.count != b.items.count || a.isAggregate != b.isAggregate || a.include != b.include {
                    fail("\(firstDialect) and \(dialect) compiled different results", text)
                }
            case (.failure(let error), .success), (.success, .failure(let error)):
                fail("only one dialect refused the query: \(error)", text)
            }
        }
    }

    static func fail(_ message: String, _ text: String) -> Never {
        fatalError("query fuzzer: \(message)\n--- query (\(text.utf8.count) bytes) ---\n\(text)\n---")
    }
}
