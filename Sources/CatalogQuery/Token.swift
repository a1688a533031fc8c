import Foundation

/// A lexical token of the query language, with its character offset in the query text.
public struct Token: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A name, possibly dotted: `ds`, `ds.investigation.name`, `org.icatproject.ParameterValueType.NUMERIC`.
        case name([String])
        /// A keyword, upper-cased: `SELECT`, `AND`, `COUNT`, ...
        case keyword(String)
        case integer(Int64)
        case real(Double)
        case string(String)
        /// `{ts 2010-10-12 15:00:00}`, as its text.
        case timestamp(String)
        /// `:user` and other `:name` parameters.
        case parameter(String)
        /// `= <> != < <= > >= + - * / ( ) , [ ] <->`
        case symbol(String)
        case end
    }

    public let kind: Kind
    public let position: Int
}

/// Splits query text into tokens. Keywords are recognised case-insensitively.
public enum Lexer {
    static let keywords: Set<String> = [
        "SELECT", "DISTINCT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "ASC", "DESC", "INCLUDE", "LIMIT",
        "JOIN", "LEFT", "INNER", "OUTER", "AS", "AND", "OR", "NOT", "IN", "BETWEEN", "LIKE", "ESCAPE", "IS", "NULL",
        "EMPTY", "MEMBER", "OF", "EXISTS", "ANY", "ALL", "SOME", "TRUE", "FALSE", "COUNT", "MIN", "MAX", "AVG", "SUM",
        "ABS", "CONCAT", "LENGTH", "LOCATE", "LOWER", "UPPER", "MOD", "SIZE", "SQRT", "SUBSTRING", "TRIM", "LEADING",
        "TRAILING", "BOTH", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP", "FETCH", "UPDATE", "DELETE",
    ]

    public static func tokens(_ text: String) throws(QueryError) -> [Token] {
        let characters = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool {
            if c.isASCII { return ("a"..."z").contains(c) || ("A"..."Z").contains(c) || c == "_" || c == "$" }
            return c.properties.isAlphabetic
        }
        func isNamePart(_ c: Unicode.Scalar) -> Bool {
            isNameStart(c) || ("0"..."9").contains(c)
        }
        while index < characters.count {
            let c = characters[index]
            let start = index
            if c == " " || (!c.isASCII || c.value < 32) && c.properties.isWhitespace {
                index += 1
                continue
            }
            if isNameStart(c) {
                var parts: [String] = []
                var part = ""
                while index < characters.count {
                    let d = characters[index]
                    if isNamePart(d) {
                        part.unicodeScalars.append(d)
                        index += 1
                    } else if d == ".", index + 1 < characters.count, isNameStart(characters[index + 1]), !part.isEmpty
                    {
                        parts.append(part)
                        part = ""
                        index += 1
                    } else {
                        break
                    }
                }
                parts.append(part)
                if parts.count == 1, keywords.contains(part.uppercased()) {
                    tokens.append(Token(kind: .keyword(part.uppercased()), position: start))
                } else {
                    tokens.append(Token(kind: .name(parts), position: start))
                }
                continue
            }
            if ("0"..."9").contains(c)
                || (c == "." && index + 1 < characters.count && ("0"..."9").contains(characters[index + 1]))
            {
                var literal = ""
                var isReal = false
                while index < characters.count, ("0"..."9").contains(characters[index]) {
                    literal.unicodeScalars.append(characters[index])
                    index += 1
                }
                if index < characters.count, characters[index] == ".",
                    index + 1 >= characters.count || !isNameStart(characters[index + 1])
                {
                    isReal = true
                    literal.append(".")
                    index += 1
                    while index < characters.count, ("0"..."9").contains(characters[index]) {
                        literal.unicodeScalars.append(characters[index])
                        index += 1
                    }
                }
                if index < characters.count, characters[index] == "e" || characters[index] == "E" {
                    var lookahead = index + 1
                    if lookahead < characters.count, characters[lookahead] == "+" || characters[lookahead] == "-" {
                        lookahead += 1
                    }
                    if lookahead < characters.count, ("0"..."9").contains(characters[lookahead]) {
                        isReal = true
                        literal += String(String.UnicodeScalarView(characters[index..<lookahead]))
                        index = lookahead
                        while index < characters.count, ("0"..."9").contains(characters[index]) {
                            literal.unicodeScalars.append(characters[index])
                            index += 1
                        }
                    }
                }
                // A trailing type suffix as JPQL allows: 10L, 1.5D, 2.0F.
                if index < characters.count, ["L", "l", "D", "d", "F", "f"].contains(characters[index]),
                    index + 1 >= characters.count || !isNamePart(characters[index + 1])
                {
                    if characters[index] != "L" && characters[index] != "l" { isReal = true }
                    index += 1
                }
                if isReal {
                    guard let value = Double(literal.hasPrefix(".") ? "0" + literal : literal), value.isFinite else {
                        throw QueryError("Invalid number '\(literal)'", at: start)
                    }
                    tokens.append(Token(kind: .real(value), position: start))
                } else {
                    guard let value = Int64(literal) else {
                        throw QueryError("Integer '\(literal)' is too large", at: start)
                    }
                    tokens.append(Token(kind: .integer(value), position: start))
                }
                continue
            }
            switch c {
            case "'":
                index += 1
                var value = ""
                var closed = false
                while index < characters.count {
                    if characters[index] == "'" {
                        if index + 1 < characters.count, characters[index + 1] == "'" {
                            value.append("'")
                            index += 2
                            continue
                        }
                        closed = true
                        index += 1
                        break
                    }
                    value.unicodeScalars.append(characters[index])
                    index += 1
                }
                guard closed else { throw QueryError("Unterminated string starting", at: start) }
                tokens.append(Token(kind: .string(value), position: start))
            case "{":
                index += 1
                var body = ""
                while index < characters.count, characters[index] != "}" {
                    body.unicodeScalars.append(characters[index])
                    index += 1
                }
                guard index < characters.count else { throw QueryError("Unterminated '{'", at: start) }
                index += 1
                let trimmed = body.trimmingCharacters(in: .whitespaces)
                guard trimmed.lowercased().hasPrefix("ts") else {
                    throw QueryError("Only {ts yyyy-mm-dd hh:mm:ss} may stand in braces", at: start)
                }
                var stamp = String(trimmed.dropFirst(2)).trimmingCharacters(in: .whitespaces)
                if stamp.hasPrefix("'") && stamp.hasSuffix("'") && stamp.count >= 2 {
                    stamp = String(stamp.dropFirst().dropLast())
                }
                tokens.append(Token(kind: .timestamp(stamp), position: start))
            case ":":
                index += 1
                var name = ""
                while index < characters.count, isNamePart(characters[index]) {
                    name.unicodeScalars.append(characters[index])
                    index += 1
                }
                guard !name.isEmpty else { throw QueryError("':' must be followed by a parameter name", at: start) }
                tokens.append(Token(kind: .parameter(name), position: start))
            case "<":
                if index + 2 < characters.count, characters[index + 1] == "-", characters[index + 2] == ">" {
                    tokens.append(Token(kind: .symbol("<->"), position: start))
                    index += 3
                } else if index + 1 < characters.count, characters[index + 1] == "=" || characters[index + 1] == ">" {
                    tokens.append(Token(kind: .symbol("<" + String(characters[index + 1])), position: start))
                    index += 2
                } else {
                    tokens.append(Token(kind: .symbol("<"), position: start))
                    index += 1
                }
            case ">", "!":
                if index + 1 < characters.count, characters[index + 1] == "=" {
                    tokens.append(Token(kind: .symbol(String(c) + "="), position: start))
                    index += 2
                } else if c == ">" {
                    tokens.append(Token(kind: .symbol(">"), position: start))
                    index += 1
                } else {
                    throw QueryError("Unexpected '!'", at: start)
                }
            case "=", "+", "-", "*", "/", "(", ")", ",", "[", "]":
                tokens.append(Token(kind: .symbol(String(c)), position: start))
                index += 1
            default:
                throw QueryError("Unexpected character '\(c)'", at: start)
            }
        }
        tokens.append(Token(kind: .end, position: characters.count))
        return tokens
    }
}
