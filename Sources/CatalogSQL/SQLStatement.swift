/// The SQL dialects the catalog speaks.
public enum SQLDialect: String, Sendable, CaseIterable {
    case postgresql
    case sqlite

    /// An identifier quoted for this dialect (both use double quotes; embedded quotes are doubled).
    public func quote(_ identifier: String) -> String {
        guard identifier.utf8.contains(UInt8(ascii: "\"")) else { return "\"" + identifier + "\"" }
        return "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// SQL text with its bound values. Values are added with `bind`, which writes the dialect's placeholder
/// (`$n` for PostgreSQL, `?` for SQLite); there is no way to splice a value into the text.
public struct SQLStatement: Sendable, CustomStringConvertible {
    public let dialect: SQLDialect
    public private(set) var text: String
    public private(set) var binds: [SQLValue]

    public init(_ dialect: SQLDialect, _ text: String = "") {
        self.dialect = dialect
        self.text = text
        self.binds = []
    }

    /// Appends SQL text written by the program (keywords, quoted identifiers), never data.
    public mutating func append(_ sql: String) {
        text += sql
    }

    /// Appends a placeholder for `value`.
    public mutating func bind(_ value: SQLValue) {
        binds.append(value)
        switch dialect {
        case .postgresql: text += "$\(binds.count)"
        case .sqlite: text += "?"
        }
    }

    /// Appends placeholders for `values`, separated by commas.
    public mutating func bindList(_ values: [SQLValue]) {
        for (i, value) in values.enumerated() {
            if i > 0 { text += ", " }
            bind(value)
        }
    }

    /// Appends a quoted identifier.
    public mutating func appendIdentifier(_ identifier: String) {
        text += dialect.quote(identifier)
    }

    public var description: String { text }
}
