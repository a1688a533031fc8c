import Foundation

/// A piece of SQL with its values still separate, so that pieces compiled in any order can be put together in
/// the order the SQL needs, and placeholders numbered only then.
///
/// A fragment may also hold slots for the caller's user name (`:user` in a rule) and for the alias of the row a
/// rule's condition tests, filled for each query: a rule is compiled once and used for every caller and query.
public struct SQLFragment: Sendable {
    enum Part: Sendable {
        case text(String)
        case bind(SQLValue)
        case userName
        case rowAlias
        /// The tested row's key (`alias."id"`), which a reference to the row (`other."row_id"`) can stand for.
        case rowKey
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

    /// The same fragment with a row-key slot wherever its SQL text has `key` (the placeholder followed by the key
    /// column) and a row-alias slot wherever it has `placeholder` otherwise.
    public func markingRow(_ placeholder: String, key: String) -> SQLFragment {
        var result = SQLFragment()
        for part in parts {
            guard case .text(let text) = part, text.contains(placeholder) else {
                result.parts.append(part)
                continue
            }
            for (keyIndex, keyPiece) in text.components(separatedBy: key).enumerated() {
                if keyIndex > 0 { result.parts.append(.rowKey) }
                for (index, piece) in keyPiece.components(separatedBy: placeholder).enumerated() {
                    if index > 0 { result.parts.append(.rowAlias) }
                    if !piece.isEmpty { result.parts.append(.text(piece)) }
                }
            }
        }
        return result
    }

    /// True when the fragment reads nothing of its tested row but its key.
    public var readsOnlyRowKey: Bool {
        !parts.contains { if case .rowAlias = $0 { true } else { false } }
    }

    /// The same fragment with its row-alias slots filled with `rowAlias`, its row-key slots with `rowKey` (by
    /// default the row's own key, `rowAlias."id"`), and its user-name slots bound to `userName`.
    public func filling(rowAlias: String, rowKey: String? = nil, userName: String) -> SQLFragment {
        var result = self
        let key = rowKey ?? rowAlias + ".\"id\""
        result.parts = parts.map { part in
            switch part {
            case .rowAlias: .text(rowAlias)
            case .rowKey: .text(key)
            case .userName: .bind(.text(userName))
            case .text, .bind: part
            }
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
            case .rowAlias, .rowKey:
                preconditionFailure("a rule's condition reached a statement without its row's alias")
            }
        }
        return statement
    }
}
