import Foundation

/// A second opinion on the SQL the compiler writes for SQLite: SQLite itself prepares it against the catalog's
/// real schema (the migrations in `ICAT_QUERY_FUZZER_SQLITE_SCHEMA`, e.g. `Migrations/sqlite`), which finds SQL
/// that does not parse or names a table or column that does not exist. SQLite is loaded with `dlopen`, so the
/// fuzzer needs no dependency beyond the query modules; without the variable the oracle is off.
final class SQLiteOracle: @unchecked Sendable {
    /// Set up on first use; nil when `ICAT_QUERY_FUZZER_SQLITE_SCHEMA` is unset or empty.
    nonisolated(unsafe) static let shared: SQLiteOracle? = {
        guard let directory = ProcessInfo.processInfo.environment["ICAT_QUERY_FUZZER_SQLITE_SCHEMA"],
            !directory.isEmpty
        else { return nil }
        return SQLiteOracle(schemaDirectory: directory)
    }()

    /// SQLite's messages for SQL nested deeper than it parses (about 100 levels of parentheses).
    static let depthLimitErrors = ["parser stack overflow", "Expression tree is too large"]

    /// What SQLite says of one statement.
    struct Verdict {
        /// nil when it prepared; else SQLite's message.
        var error: String?
        var parameterCount = 0
        var columnCount = 0
        /// SQL after the first statement, which should be only whitespace.
        var rest = ""
    }

    private typealias Open = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>?) -> CInt
    private typealias Exec =
        @convention(c) (
            OpaquePointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?,
            UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        ) -> CInt
    private typealias Prepare =
        @convention(c) (
            OpaquePointer?, UnsafePointer<CChar>?, CInt, UnsafeMutablePointer<OpaquePointer?>?,
            UnsafeMutablePointer<UnsafePointer<CChar>?>?
        ) -> CInt
    private typealias StatementFunction = @convention(c) (OpaquePointer?) -> CInt
    private typealias ErrorMessage = @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?

    private let database: OpaquePointer
    private let prepare: Prepare
    private let finalize: StatementFunction
    private let parameterCount: StatementFunction
    private let columnCount: StatementFunction
    private let errorMessage: ErrorMessage

    private init(schemaDirectory: String) {
        func fail(_ message: String) -> Never {
            fatalError("query fuzzer: SQLite oracle (ICAT_QUERY_FUZZER_SQLITE_SCHEMA=\(schemaDirectory)): \(message)")
        }
        guard let library = dlopen("libsqlite3.so.0", RTLD_NOW) ?? dlopen("libsqlite3.so", RTLD_NOW) else {
            fail("cannot load libsqlite3.so.0 (install libsqlite3-0)")
        }
        func function<T>(_ name: String, as type: T.Type) -> T {
            guard let symbol = dlsym(library, name) else { fail("libsqlite3 has no \(name)") }
            return unsafeBitCast(symbol, to: type)
        }
        let open = function("sqlite3_open", as: Open.self)
        let exec = function("sqlite3_exec", as: Exec.self)
        prepare = function("sqlite3_prepare_v2", as: Prepare.self)
        finalize = function("sqlite3_finalize", as: StatementFunction.self)
        parameterCount = function("sqlite3_bind_parameter_count", as: StatementFunction.self)
        columnCount = function("sqlite3_column_count", as: StatementFunction.self)
        errorMessage = function("sqlite3_errmsg", as: ErrorMessage.self)
        var handle: OpaquePointer?
        guard open(":memory:", &handle) == 0, let handle else { fail("cannot open an in-memory database") }
        database = handle
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: schemaDirectory)) ?? [])
            .filter { $0.hasSuffix(".sql") }.sorted()
        guard !files.isEmpty else { fail("no .sql files there") }
        for file in files {
            let path = (schemaDirectory as NSString).appendingPathComponent(file)
            guard let sql = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
            var message: UnsafeMutablePointer<CChar>?
            guard exec(database, sql, nil, nil, &message) == 0 else {
                fail("\(file) failed: \(message.map { String(cString: $0) } ?? "?")")
            }
        }
    }

    /// Prepares `sql` (and finalizes it) and reports what SQLite says.
    func verdict(_ sql: String) -> Verdict {
        var statement: OpaquePointer?
        var verdict = Verdict()
        sql.withCString { text in
            var tail: UnsafePointer<CChar>?
            let status = prepare(database, text, -1, &statement, &tail)
            if status != 0 {
                verdict.error = errorMessage(database).map { String(cString: $0) } ?? "error \(status)"
            }
            if let tail { verdict.rest = String(cString: tail) }
        }
        if let statement {
            verdict.parameterCount = Int(parameterCount(statement))
            verdict.columnCount = Int(columnCount(statement))
            _ = finalize(statement)
        } else if verdict.error == nil {
            verdict.error = "no statement"
        }
        return verdict
    }
}
