import Foundation

/// A piece of SQL with its values still separate, so that pieces compiled in any order can be put together in
/// the order the SQL needs, and placeholders numbered only then.
public struct SQLFragment: Sendable {
    enum Part: Sendable {
        case text(String)
        case bind(SQLValue)
    }

    var parts: [Part] = []

    public init(_ text: String = "") {
        if !text.isEmpty { parts.append(.text(text)) }
    }

    public mutating func append(_ text: String) {
        parts.append(.text(text))
    }

    public mutating func append(_ fragment: SQLFragment) {
        parts.append(contentsOf: fragment.parts)
    }

    public mutating func bind(_ value: SQLValue) {
        parts.append(.bind(value))
    }

    public static func + (left: SQLFragment, right: SQLFragment) -> SQLFragment {
        var result = left
        result.append(right)
        return result
    }

    public static func + (left: SQLFragment, right: String) -> SQLFragment {
        var result = left
        result.append(right)
        return result
    }

    public static func + (left: String, right: SQLFragment) -> SQLFragment {
        var result = SQLFragment(left)
        result.append(right)
        return result
    }

    /// The fragment as a statement of `dialect`, with its placeholders numbered in order.
    public func statement(_ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        for part in parts {
            switch part {
            case .text(let text): statement.append(text)
            case .bind(let value): statement.bind(value)
            }
        }
        return statement
    }
}
