/// The SQL dialects the catalog speaks.
public enum SQLDialect: String, Sendable, CaseIterable {
    case postgresql
    case sqlite

    /// An identifier quoted as both dialects do: in double quotes, embedded quotes doubled. Only `SQLFragment`'s
    /// `\(identifier:)` writes identifiers.
    static func quote(_ identifier: String) -> String {
        guard identifier.utf8.contains(UInt8(ascii: "\"")) else { return "\"" + identifier + "\"" }
        return "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// SQL text with its bound values, written from a `SQLFragment` by `statement(_:)`: each value as the dialect's
/// placeholder (`$n::type` for PostgreSQL, `?` for SQLite); there is no way to splice a value into the text.
public struct SQLStatement: Sendable, CustomStringConvertible {
    public let dialect: SQLDialect
    public private(set) var text: String
    public private(set) var binds: [SQLValue]

    init(_ dialect: SQLDialect) {
        self.dialect = dialect
        self.text = ""
        self.binds = []
    }

    mutating func append(_ sql: String) {
        text += sql
    }

    /// Appends a placeholder for `value`.
    mutating func bind(_ value: SQLValue) {
        binds.append(value)
        switch dialect {
        case .postgresql: text += "$\(binds.count)" + Self.postgresCast(of: value)
        case .sqlite: text += "?"
        }
    }

    /// The type a value is sent as, written into the text (`$1::int8`): a statement the server keeps prepared has
    /// its parameter types fixed when first parsed, and with the types in the text every later run reads its values
    /// as the same types, as an unprepared statement would. A null takes its type from where it is used.
    static func postgresCast(of value: SQLValue) -> String {
        switch value {
        case .null: ""
        case .integer: "::int8"
        case .double: "::float8"
        case .text: "::text"
        case .boolean: "::bool"
        case .timestamp: "::timestamptz"
        }
    }

    public var description: String { text }
}
