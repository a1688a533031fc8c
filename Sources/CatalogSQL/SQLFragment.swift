import Foundation

/// A piece of SQL with its values still separate, so that pieces compiled in any order can be put together in
/// the order the SQL needs, and placeholders numbered only then.
///
/// A fragment may also hold a placeholder for the caller's user name (`:user` in a rule), bound when the fragment
/// becomes a statement: a rule is compiled once and used for every caller.
public struct SQLFragment: Sendable {
    enum Part: Sendable {
        case text(String)
        case bind(SQLValue)
        case userName
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

    /// A placeholder for the user name given to `statement(_:userName:)`.
    public mutating func bindUserName() {
        parts.append(.userName)
    }

    /// Drops one pair of parentheses around the whole fragment, if it has them.
    public mutating func unwrapParentheses() {
        guard case .text(let first)? = parts.first, first.hasPrefix("("), case .text(let last)? = parts.last,
            last.hasSuffix(")")
        else { return }
        if parts.count == 1 {
            parts[0] = .text(String(first.dropFirst().dropLast()))
            return
        }
        parts[0] = .text(String(first.dropFirst()))
        parts[parts.count - 1] = .text(String(last.dropLast()))
    }

    /// The same fragment with every user-name placeholder replaced by `userName`.
    public func binding(userName: String) -> SQLFragment {
        var result = self
        result.parts = parts.map { part in
            if case .userName = part { return .bind(.text(userName)) }
            return part
        }
        return result
    }

    /// The same fragment with every occurrence of `target` in its SQL text (never in its values) replaced.
    public func replacingText(_ target: String, with replacement: String) -> SQLFragment {
        var result = self
        result.parts = parts.map { part in
            if case .text(let text) = part, text.contains(target) {
                return .text(text.replacingOccurrences(of: target, with: replacement))
            }
            return part
        }
        return result
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

    /// The fragment as a statement of `dialect`, with its placeholders numbered in order; `userName` fills the
    /// user-name placeholders.
    public func statement(_ dialect: SQLDialect, userName: String = "") -> SQLStatement {
        var statement = SQLStatement(dialect)
        for part in parts {
            switch part {
            case .text(let text): statement.append(text)
            case .bind(let value): statement.bind(value)
            case .userName: statement.bind(.text(userName))
            }
        }
        return statement
    }
}
