import Foundation

/// A piece of SQL with its values still separate, so that pieces compiled in any order can be put together in
/// the order the SQL needs, and placeholders numbered only then.
///
/// A fragment is written as a string literal, whose literal text is SQL and whose interpolations are values, never
/// text: `"SELECT o.\(identifier: "id") FROM \(identifier: table) o WHERE o.\(identifier: "name") = \(name)"`
/// binds `name` and quotes the identifiers. Only compile-time literals become SQL text; the few other ways in are
/// marked where they are written: `\(alias: "t0")` for a generated table alias, `\(unescaped: text)` for raw SQL
/// that is neither a value nor an identifier.
///
/// A fragment may also hold slots for the caller's user name (`:user` in a rule) and for the alias of the row a
/// rule's condition tests, filled for each query: a rule is compiled once and used for every caller and query.
public struct SQLFragment: Sendable, ExpressibleByStringInterpolation {
    enum Part: Sendable {
        case text(String)
        case bind(SQLValue)
        case userName
        case rowAlias
        /// The tested row's key (`alias."id"`), which a reference to the row (`other."row_id"`) can stand for.
        case rowKey
    }

    var parts: [Part] = []

    /// The alias that stands for a rule's tested row while the rule compiles, marked as a slot by `markingRow`.
    public static let rowPlaceholder = "\u{1}row"

    /// An empty fragment.
    public init() {}

    public init(stringLiteral literal: StaticString) {
        appendText(literal.description)
    }

    public init(stringInterpolation: StringInterpolation) {
        self = stringInterpolation.fragment
    }

    /// Builds a fragment from literal SQL text and interpolated values, identifiers, aliases and fragments.
    public struct StringInterpolation: StringInterpolationProtocol {
        var fragment = SQLFragment()

        public init(literalCapacity: Int, interpolationCount: Int) {
            fragment.parts.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: StaticString) {
            fragment.appendText(literal.description)
        }

        /// A placeholder bound to `value`.
        public mutating func appendInterpolation(_ value: SQLValue) {
            fragment.bind(value)
        }

        public mutating func appendInterpolation(_ value: Int64) {
            fragment.bind(.integer(value))
        }

        public mutating func appendInterpolation(_ value: String) {
            fragment.bind(.text(value))
        }

        public mutating func appendInterpolation(_ value: Bool) {
            fragment.bind(.boolean(value))
        }

        public mutating func appendInterpolation(_ value: Double) {
            fragment.bind(.double(value))
        }

        public mutating func appendInterpolation(_ value: Date) {
            fragment.bind(.timestamp(value))
        }

        /// Placeholders bound to `values`, separated by commas (`IN (\(list: ids))`).
        public mutating func appendInterpolation(list values: [SQLValue]) {
            for (index, value) in values.enumerated() {
                if index > 0 { fragment.appendText(", ") }
                fragment.bind(value)
            }
        }

        /// A quoted identifier: `"name"`, embedded quotes doubled.
        public mutating func appendInterpolation(identifier: String) {
            fragment.appendText(SQLDialect.quote(identifier))
        }

        /// Quoted identifiers separated by commas (a column list).
        public mutating func appendInterpolation(identifiers: [String]) {
            fragment.appendText(identifiers.map(SQLDialect.quote).joined(separator: ", "))
        }

        /// Another fragment, with its values and slots.
        public mutating func appendInterpolation(_ other: SQLFragment) {
            fragment.append(other)
        }

        /// A table alias the program generated (`t0`, `r1`, ...): lowercase letters and digits, starting with a
        /// letter, or a rule's row placeholder. Anything else stops the program.
        public mutating func appendInterpolation(alias: String) {
            fragment.appendText(SQLFragment.checkedAlias(alias))
        }

        /// SQL text that is neither a value nor an identifier, written by the program (a keyword chosen by
        /// dialect, a migration script's statement). Never pass text that came from a request.
        public mutating func appendInterpolation(unescaped text: String) {
            fragment.appendText(text)
        }
    }

    static func checkedAlias(_ alias: String) -> String {
        let bytes = alias.utf8
        let valid =
            alias == rowPlaceholder
            || (bytes.first.map { (97...122).contains($0) } ?? false)
                && bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) }
        precondition(valid, "'\(alias)' is not a generated table alias")
        return alias
    }

    mutating func appendText(_ text: String) {
        guard !text.isEmpty else { return }
        if case .text(var previous)? = parts.last {
            // Taken out of the array first, the text is the only reference to its storage and grows in place:
            // rebuilding it for each piece made writing a statement quadratic in its length.
            parts.removeLast()
            previous.append(text)
            parts.append(.text(previous))
        } else {
            parts.append(.text(text))
        }
    }

    public mutating func append(_ fragment: SQLFragment) {
        guard let first = fragment.parts.first else { return }
        if parts.isEmpty {
            parts = fragment.parts
            return
        }
        // Only the first part can join the text before it; the rest are already as merged as they can be.
        if case .text(let text) = first { appendText(text) } else { parts.append(first) }
        parts.append(contentsOf: fragment.parts.dropFirst())
    }

    public mutating func bind(_ value: SQLValue) {
        parts.append(.bind(value))
    }

    /// A placeholder for the user name given to `statement(_:userName:)`.
    public mutating func bindUserName() {
        parts.append(.userName)
    }

    /// True when the fragment has no SQL at all.
    public var isEmpty: Bool { parts.isEmpty }

    /// The same fragment with a row-key slot wherever its SQL text has the placeholder followed by the quoted
    /// `keyColumn`, and a row-alias slot wherever it has `placeholder` otherwise.
    public func markingRow(_ placeholder: String, keyColumn: String) -> SQLFragment {
        let key = placeholder + "." + SQLDialect.quote(keyColumn)
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
    public func filling(rowAlias: String, rowKey: SQLFragment? = nil, userName: String) -> SQLFragment {
        let key = rowKey ?? "\(alias: rowAlias).\(identifier: "id")"
        var result = SQLFragment()
        for part in parts {
            switch part {
            case .rowAlias: result.appendText(Self.checkedAlias(rowAlias))
            case .rowKey: result.append(key)
            case .userName: result.parts.append(.bind(.text(userName)))
            case .text(let text): result.appendText(text)
            case .bind: result.parts.append(part)
            }
        }
        return result
    }

    public static func + (left: consuming SQLFragment, right: SQLFragment) -> SQLFragment {
        left.append(right)
        return left
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

extension Sequence where Element == SQLFragment {
    /// The fragments one after another, `separator` between each two.
    public func joined(separator: SQLFragment = ", ") -> SQLFragment {
        var result = SQLFragment()
        for (index, fragment) in enumerated() {
            if index > 0 { result.append(separator) }
            result.append(fragment)
        }
        return result
    }
}
