/// Parses query text in either syntax: the JPQL form (starting with SELECT) or ICAT's concise form.
public struct Parser {
    private var tokens: [Token]
    private var index = 0
    /// In the concise form's bracketed conditions, bare names are fields of this variable's entity.
    private var implicitVariable: String?
    /// How deeply the expression being parsed is nested (parentheses, NOT, signs, functions, subqueries).
    private var nesting = 0
    /// Deeper queries are refused: parsing and compiling recurse once per level, and the stack is finite.
    static let maximumNesting = 64
    /// The `AND` and `OR` operators of the query so far, all chains together.
    private var logicalOperators = 0
    /// More are refused: the compiler writes any number without recursing, but PostgreSQL's planner takes time
    /// that grows with the square of a chain's length and cannot be interrupted meanwhile, not even by
    /// `statement_timeout` (10,000 comparisons joined by AND: under a second; 60,000: 34 s; 100,000: minutes).
    static let maximumLogicalOperators = 10_000

    private mutating func enterNesting() throws(QueryError) {
        nesting += 1
        if nesting > Self.maximumNesting {
            throw QueryError("The query is nested more than \(Self.maximumNesting) levels deep", at: peek.position)
        }
    }

    public static func parse(_ text: String) throws(QueryError) -> QuerySyntax {
        var parser = Parser(tokens: try Lexer.tokens(text))
        let query: QuerySyntax
        if case .keyword("SELECT") = parser.peek.kind {
            query = try parser.parseSelect()
        } else {
            query = try parser.parseConcise()
        }
        guard case .end = parser.peek.kind else {
            throw QueryError(
                "Unexpected \(parser.describe(parser.peek)) after the end of the query",
                at: parser.peek.position
            )
        }
        return query
    }

    /// The query `get` takes: `Entity [variable] [INCLUDE 1 | INCLUDE path [variable], ...]`.
    public static func parseGet(_ text: String) throws(QueryError) -> GetSyntax {
        var parser = Parser(tokens: try Lexer.tokens(text))
        let (name, position) = try parser.expectName("an entity name")
        guard name.count == 1 else { throw QueryError("Expected an entity name", at: position) }
        var variable: String?
        if case .name = parser.peek.kind { variable = try parser.expectVariable() }
        var include: IncludeSyntax?
        if parser.accept(keyword: "INCLUDE") { include = try parser.parseInclude(concise: false) }
        guard case .end = parser.peek.kind else {
            throw QueryError("Unexpected \(parser.describe(parser.peek)) in a get query", at: parser.peek.position)
        }
        return GetSyntax(entity: name[0], position: position, variable: variable, include: include)
    }

    init(tokens: [Token]) {
        self.tokens = tokens
    }

    // MARK: Tokens

    private var peek: Token { tokens[index] }
    private var peekNext: Token { tokens[min(index + 1, tokens.count - 1)] }

    @discardableResult
    private mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isKeyword(_ word: String, _ token: Token? = nil) -> Bool {
        if case .keyword(word) = (token ?? peek).kind { return true }
        return false
    }

    private func isSymbol(_ symbol: String, _ token: Token? = nil) -> Bool {
        if case .symbol(symbol) = (token ?? peek).kind { return true }
        return false
    }

    private mutating func accept(keyword: String) -> Bool {
        if isKeyword(keyword) {
            advance()
            return true
        }
        return false
    }

    private mutating func accept(symbol: String) -> Bool {
        if isSymbol(symbol) {
            advance()
            return true
        }
        return false
    }

    private mutating func expect(keyword: String) throws(QueryError) {
        guard accept(keyword: keyword) else {
            throw QueryError("Expected \(keyword) but found \(describe(peek))", at: peek.position)
        }
    }

    private mutating func expect(symbol: String) throws(QueryError) {
        guard accept(symbol: symbol) else {
            throw QueryError("Expected '\(symbol)' but found \(describe(peek))", at: peek.position)
        }
    }

    private mutating func expectName(_ what: String) throws(QueryError) -> (parts: [String], position: Int) {
        let token = peek
        guard case .name(let parts) = token.kind else {
            throw QueryError("Expected \(what) but found \(describe(token))", at: token.position)
        }
        advance()
        return (parts, token.position)
    }

    private mutating func expectVariable() throws(QueryError) -> String {
        let (parts, position) = try expectName("a variable name")
        guard parts.count == 1 else {
            throw QueryError("'\(parts.joined(separator: "."))' is not a variable name", at: position)
        }
        return parts[0]
    }

    func describe(_ token: Token) -> String {
        switch token.kind {
        case .name(let parts): "'\(parts.joined(separator: "."))'"
        case .keyword(let word): word
        case .integer(let i): "\(i)"
        case .real(let d): "\(d)"
        case .string(let s): "'\(s)'"
        case .timestamp(let s): "{ts \(s)}"
        case .parameter(let p): ":\(p)"
        case .symbol(let s): "'\(s)'"
        case .end: "the end of the query"
        }
    }

    // MARK: JPQL form

    mutating func parseSelect() throws(QueryError) -> QuerySyntax {
        var query = QuerySyntax()
        try expect(keyword: "SELECT")
        query.distinct = accept(keyword: "DISTINCT")
        repeat {
            query.select.append(try parseExpression())
        } while accept(symbol: ",")
        try expect(keyword: "FROM")
        query.from = try parseFrom()
        if accept(keyword: "WHERE") { query.whereClause = try parseExpression() }
        if isKeyword("GROUP") {
            advance()
            try expect(keyword: "BY")
            repeat { query.groupBy.append(try parseExpression()) } while accept(symbol: ",")
        }
        if accept(keyword: "HAVING") { query.having = try parseExpression() }
        if isKeyword("ORDER") {
            advance()
            try expect(keyword: "BY")
            query.orderBy = try parseOrderItems()
        }
        var sawInclude = false
        var sawLimit = false
        while true {
            if isKeyword("INCLUDE"), !sawInclude {
                advance()
                sawInclude = true
                query.include = try parseInclude(concise: false)
            } else if isKeyword("LIMIT"), !sawLimit {
                advance()
                sawLimit = true
                try parseLimit(into: &query)
            } else {
                break
            }
        }
        return query
    }

    private mutating func parseOrderItems() throws(QueryError) -> [(Expression, ascending: Bool)] {
        var items: [(Expression, ascending: Bool)] = []
        repeat {
            let expression = try parseAdditive()
            var ascending = true
            if accept(keyword: "DESC") {
                ascending = false
            } else {
                _ = accept(keyword: "ASC")
            }
            items.append((expression, ascending))
        } while accept(symbol: ",")
        return items
    }

    /// `LIMIT offset, count` where count may be `*`.
    private mutating func parseLimit(into query: inout QuerySyntax) throws(QueryError) {
        let token = advance()
        guard case .integer(let first) = token.kind else {
            throw QueryError(
                "LIMIT needs 'offset, count' with a whole number offset, not \(describe(token))",
                at: token.position
            )
        }
        guard accept(symbol: ",") else {
            throw QueryError(
                "LIMIT needs 'offset, count' but found \(describe(peek)) after the offset",
                at: peek.position
            )
        }
        let second = advance()
        switch second.kind {
        case .integer(let count): query.limit = count
        case .symbol("*"): query.limit = nil
        default:
            throw QueryError("LIMIT count must be a whole number or *, not \(describe(second))", at: second.position)
        }
        query.offset = first
    }

    private mutating func parseFrom() throws(QueryError) -> [FromItem] {
        var items: [FromItem] = []
        items.append(try parseFromItem(kind: .inner))
        while true {
            if accept(symbol: ",") {
                items.append(try parseFromItem(kind: .inner))
                continue
            }
            var kind = JoinKind.inner
            if isKeyword("LEFT") {
                advance()
                _ = accept(keyword: "OUTER")
                kind = .left
                guard isKeyword("JOIN") else { throw QueryError("Expected JOIN after LEFT", at: peek.position) }
            } else if isKeyword("INNER") {
                advance()
                guard isKeyword("JOIN") else { throw QueryError("Expected JOIN after INNER", at: peek.position) }
            }
            guard accept(keyword: "JOIN") else { break }
            if isKeyword("FETCH") {
                throw QueryError("JOIN FETCH is not supported; use INCLUDE", at: peek.position)
            }
            let (path, position) = try expectName("a path to join")
            guard path.count >= 2 else {
                throw QueryError("A JOIN must follow a relation from a variable, e.g. ds.datafiles", at: position)
            }
            _ = accept(keyword: "AS")
            items.append(.join(path: path, variable: try expectVariable(), kind: kind, position: position))
        }
        return items
    }

    /// `Entity [AS] v` or `v.path [AS] w`.
    private mutating func parseFromItem(kind: JoinKind) throws(QueryError) -> FromItem {
        if isKeyword("FETCH") { throw QueryError("FETCH is not supported; use INCLUDE", at: peek.position) }
        let (parts, position) = try expectName("an entity name")
        _ = accept(keyword: "AS")
        let variable = try expectVariable()
        if parts.count == 1 {
            return .entity(name: parts[0], variable: variable, position: position)
        }
        return .join(path: parts, variable: variable, kind: kind, position: position)
    }

    private mutating func parseInclude(concise: Bool) throws(QueryError) -> IncludeSyntax {
        if case .integer(let level) = peek.kind {
            let position = advance().position
            guard level == 1 else { throw QueryError("Only INCLUDE 1 is supported as a level", at: position) }
            if isSymbol(",") { throw QueryError("INCLUDE 1 cannot be combined with other includes", at: peek.position) }
            return .one(position: position)
        }
        if concise {
            var names: [(String, Int)] = []
            repeat {
                let (parts, position) = try expectName("an entity name")
                guard parts.count == 1 else { throw QueryError("INCLUDE names entities here", at: position) }
                names.append((parts[0], position))
            } while accept(symbol: ",")
            return .entities(names)
        }
        var paths: [(path: [String], variable: String?, position: Int)] = []
        repeat {
            if case .integer = peek.kind {
                throw QueryError("INCLUDE 1 cannot be combined with other includes", at: peek.position)
            }
            let (path, position) = try expectName("an INCLUDE path")
            var variable: String?
            if accept(keyword: "AS") {
                variable = try expectVariable()
            } else if case .name(let parts) = peek.kind, parts.count == 1 {
                variable = try expectVariable()
            }
            paths.append((path, variable, position))
        } while accept(symbol: ",")
        return .paths(paths)
    }

    // MARK: Concise form

    /// `[offset,[count]] [DISTINCT] Entity[.field] | AGG(Entity[.field]) [ORDER BY ...] [INCLUDE ...]
    /// [[condition]] (<-> Entity [[condition]])*`
    mutating func parseConcise() throws(QueryError) -> QuerySyntax {
        var query = QuerySyntax()
        if case .integer(let offset) = peek.kind, isSymbol(",", peekNext) {
            advance()
            advance()
            query.offset = offset
            if case .integer(let count) = peek.kind {
                advance()
                query.limit = count
            }
        } else if isSymbol(","), case .integer(let count) = peekNext.kind {
            advance()
            advance()
            query.limit = count
        }
        query.distinct = accept(keyword: "DISTINCT")
        let main = "$0"
        var aggregate: (String, Int)?
        for function in ["COUNT", "MIN", "MAX", "AVG", "SUM"] where isKeyword(function) {
            aggregate = (function, advance().position)
            try expect(symbol: "(")
            break
        }
        let aggregateDistinct = aggregate != nil && accept(keyword: "DISTINCT")
        let (target, position) = try expectName("an entity name")
        var selected: Expression = .path([main] + target.dropFirst(), position: position)
        if let (function, functionPosition) = aggregate {
            try expect(symbol: ")")
            selected = .aggregate(function, selected, distinct: aggregateDistinct, position: functionPosition)
        }
        query.select = [selected]
        query.from = [.entity(name: target[0], variable: main, position: position)]
        if isKeyword("ORDER") {
            advance()
            try expect(keyword: "BY")
            implicitVariable = main
            query.orderBy = try parseOrderItems()
            implicitVariable = nil
        }
        if accept(keyword: "INCLUDE") { query.include = try parseInclude(concise: true) }
        var conditions: [Expression] = []
        if isSymbol("[") { conditions.append(try parseBracketCondition(variable: main)) }
        // One variable per entity name, as in ICAT: an entity named again in the chain is the same object, so
        // `COUNT(Datafile) <-> Dataset [id = 5] <-> Datafile [datafileFormat.name = 'x']` counts dataset 5's
        // datafiles of that format.
        var variables = [target[0]: main]
        while isSymbol("<->") {
            advance()
            let (name, namePosition) = try expectName("an entity name after <->")
            guard name.count == 1 else { throw QueryError("<-> must be followed by an entity name", at: namePosition) }
            let variable: String
            if let known = variables[name[0]] {
                variable = known
            } else {
                variable = "$\(variables.count)"
                variables[name[0]] = variable
                query.from.append(
                    .join(path: ["<->", name[0]], variable: variable, kind: .inner, position: namePosition)
                )
            }
            if isSymbol("[") { conditions.append(try parseBracketCondition(variable: variable)) }
        }
        query.whereClause = conditions.count > 1 ? .and(conditions) : conditions.first
        return query
    }

    private mutating func parseBracketCondition(variable: String) throws(QueryError) -> Expression {
        try expect(symbol: "[")
        implicitVariable = variable
        let condition = try parseExpression()
        implicitVariable = nil
        try expect(symbol: "]")
        return condition
    }

    // MARK: Expressions

    mutating func parseExpression() throws(QueryError) -> Expression {
        var terms = [try parseAnd()]
        while try acceptLogical("OR") { terms.append(try parseAnd()) }
        return terms.count == 1 ? terms[0] : .or(terms)
    }

    private mutating func parseAnd() throws(QueryError) -> Expression {
        var terms = [try parseNot()]
        while try acceptLogical("AND") { terms.append(try parseNot()) }
        return terms.count == 1 ? terms[0] : .and(terms)
    }

    private mutating func acceptLogical(_ keyword: String) throws(QueryError) -> Bool {
        let position = peek.position
        guard accept(keyword: keyword) else { return false }
        logicalOperators += 1
        if logicalOperators > Self.maximumLogicalOperators {
            throw QueryError(
                "The query has more than \(Self.maximumLogicalOperators) AND and OR operators",
                at: position
            )
        }
        return true
    }

    private mutating func parseNot() throws(QueryError) -> Expression {
        try enterNesting()
        defer { nesting -= 1 }
        if isKeyword("NOT") {
            let position = advance().position
            return .not(try parseNot(), position: position)
        }
        return try parsePredicate()
    }

    private mutating func parseSubqueryInParentheses() throws(QueryError) -> QuerySyntax {
        try expect(symbol: "(")
        guard isKeyword("SELECT") else { throw QueryError("Expected a subquery (SELECT ...)", at: peek.position) }
        let saved = implicitVariable
        implicitVariable = nil
        let query = try parseSelect()
        implicitVariable = saved
        try expect(symbol: ")")
        return query
    }

    /// `DERIVED FROM Entity id [DEPTH n]` or `ANCESTOR OF Entity id [DEPTH n]`. The words are not reserved: they
    /// are recognised only here, after an expression, so names such as `depth` stay free.
    private mutating func parseProvenancePredicate() throws(QueryError) -> ProvenancePredicate {
        let derived = isWord("DERIVED")
        advance()
        try expect(keyword: derived ? "FROM" : "OF")
        let (entity, entityPosition) = try expectName("Dataset, Datafile or Job")
        guard entity.count == 1 else {
            throw QueryError(
                "Expected Dataset, Datafile or Job but found \(entity.joined(separator: "."))",
                at: entityPosition
            )
        }
        guard case .integer(let id) = peek.kind else {
            throw QueryError("Expected the id of the \(entity[0]) but found \(describe(peek))", at: peek.position)
        }
        advance()
        var depth: Int64?
        if isWord("DEPTH") {
            advance()
            guard case .integer(let value) = peek.kind else {
                throw QueryError(
                    "Expected a number of job hops after DEPTH but found \(describe(peek))",
                    at: peek.position
                )
            }
            advance()
            depth = value
        }
        return ProvenancePredicate(
            direction: derived ? .downstream : .upstream,
            entity: entity[0],
            entityPosition: entityPosition,
            id: id,
            depth: depth
        )
    }

    /// Whether the token is the plain name `word` (any case): a word that is not a keyword.
    private func isWord(_ word: String, _ token: Token? = nil) -> Bool {
        if case .name(let parts) = (token ?? peek).kind, parts.count == 1, parts[0].uppercased() == word { return true }
        return false
    }

    private mutating func parsePredicate() throws(QueryError) -> Expression {
        if isKeyword("EXISTS") {
            let position = advance().position
            return .exists(try parseSubqueryInParentheses(), negated: false, position: position)
        }
        let left = try parseAdditive()
        let position = peek.position
        var negated = false
        if isKeyword("NOT"),
            isKeyword("BETWEEN", peekNext) || isKeyword("LIKE", peekNext) || isKeyword("IN", peekNext)
                || isKeyword("MEMBER", peekNext) || isWord("DERIVED", peekNext) || isWord("ANCESTOR", peekNext)
        {
            advance()
            negated = true
        }
        if accept(keyword: "BETWEEN") {
            let low = try parseAdditive()
            try expect(keyword: "AND")
            let high = try parseAdditive()
            return .between(left, low, high, negated: negated, position: position)
        }
        if accept(keyword: "LIKE") {
            let pattern = try parseAdditive()
            var escape: Expression?
            if accept(keyword: "ESCAPE") { escape = try parseAdditive() }
            return .like(left, pattern, escape: escape, negated: negated, position: position)
        }
        if accept(keyword: "IN") {
            if isSymbol("("), isKeyword("SELECT", peekNext) {
                return .inQuery(left, try parseSubqueryInParentheses(), negated: negated, position: position)
            }
            try expect(symbol: "(")
            var items: [Expression] = []
            repeat { items.append(try parseAdditive()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return .inList(left, items, negated: negated, position: position)
        }
        if accept(keyword: "MEMBER") {
            _ = accept(keyword: "OF")
            let (path, pathPosition) = try expectName("a collection path")
            return .memberOf(left, qualify(path, pathPosition), negated: negated, position: position)
        }
        if isWord("DERIVED") || isWord("ANCESTOR") {
            return .provenance(left, try parseProvenancePredicate(), negated: negated, position: position)
        }
        if accept(keyword: "IS") {
            let not = accept(keyword: "NOT")
            if accept(keyword: "NULL") { return .isNull(left, negated: not, position: position) }
            if accept(keyword: "EMPTY") {
                guard case .path(let path, _) = left else {
                    throw QueryError("IS EMPTY needs a collection path", at: left.position)
                }
                return .isEmpty(path, negated: not, position: position)
            }
            throw QueryError("Expected NULL or EMPTY after IS", at: peek.position)
        }
        if case .symbol(let op) = peek.kind, ["=", "<>", "!=", "<", "<=", ">", ">="].contains(op) {
            advance()
            let normalized = op == "!=" ? "<>" : op
            for quantifier in ["ANY", "ALL", "SOME"] where isKeyword(quantifier) {
                advance()
                let subquery = try parseSubqueryInParentheses()
                return .quantified(
                    normalized,
                    left,
                    quantifier: quantifier == "SOME" ? "ANY" : quantifier,
                    subquery,
                    position: position
                )
            }
            return .binary(normalized, left, try parseAdditive(), position: position)
        }
        return left
    }

    // Each operator of an arithmetic chain nests the tree one level deeper (`a + b + c` is `(a + b) + c`), so it
    // counts toward the nesting limit like a parenthesis.

    private mutating func parseAdditive() throws(QueryError) -> Expression {
        var left = try parseMultiplicative()
        let outer = nesting
        defer { nesting = outer }
        while case .symbol(let op) = peek.kind, op == "+" || op == "-" {
            try enterNesting()
            let position = advance().position
            left = .binary(op, left, try parseMultiplicative(), position: position)
        }
        return left
    }

    private mutating func parseMultiplicative() throws(QueryError) -> Expression {
        var left = try parseUnary()
        let outer = nesting
        defer { nesting = outer }
        while case .symbol(let op) = peek.kind, op == "*" || op == "/" {
            try enterNesting()
            let position = advance().position
            left = .binary(op, left, try parseUnary(), position: position)
        }
        return left
    }

    private mutating func parseUnary() throws(QueryError) -> Expression {
        try enterNesting()
        defer { nesting -= 1 }
        if case .symbol(let op) = peek.kind, op == "-" || op == "+" {
            let position = advance().position
            let operand = try parseUnary()
            if op == "+" { return operand }
            if case .literal(.integer(let i), _) = operand { return .literal(.integer(-i), position: position) }
            if case .literal(.real(let d), _) = operand { return .literal(.real(-d), position: position) }
            return .unary("-", operand, position: position)
        }
        return try parsePrimary()
    }

    /// A name as a path: in the concise form's conditions, relative to the bracketed entity.
    private func qualify(_ parts: [String], _ position: Int) -> [String] {
        if let implicitVariable { return [implicitVariable] + parts }
        return parts
    }

    private mutating func parsePrimary() throws(QueryError) -> Expression {
        let token = peek
        switch token.kind {
        case .integer(let i):
            advance()
            return .literal(.integer(i), position: token.position)
        case .real(let d):
            advance()
            return .literal(.real(d), position: token.position)
        case .string(let s):
            advance()
            return .literal(.string(s), position: token.position)
        case .timestamp(let s):
            advance()
            return .literal(.timestamp(s), position: token.position)
        case .parameter(let name):
            advance()
            return .parameter(name, position: token.position)
        case .name(let parts):
            advance()
            if parts.count >= 4, parts[0] == "org", parts[1] == "icatproject" {
                return .literal(.enumeration(parts[parts.count - 2], parts[parts.count - 1]), position: token.position)
            }
            return .path(qualify(parts, token.position), position: token.position)
        case .symbol("("):
            advance()
            if isKeyword("SELECT") {
                let saved = implicitVariable
                implicitVariable = nil
                let query = try parseSelect()
                implicitVariable = saved
                try expect(symbol: ")")
                return .subquery(query, position: token.position)
            }
            let inner = try parseExpression()
            try expect(symbol: ")")
            return inner
        case .keyword(let word):
            advance()
            switch word {
            case "TRUE": return .literal(.boolean(true), position: token.position)
            case "FALSE": return .literal(.boolean(false), position: token.position)
            case "NULL": throw QueryError("NULL may only be tested with IS [NOT] NULL", at: token.position)
            case "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP":
                return .function(word, [], position: token.position)
            case "COUNT", "MIN", "MAX", "AVG", "SUM":
                try expect(symbol: "(")
                let distinct = accept(keyword: "DISTINCT")
                let argument = try parseAdditive()
                try expect(symbol: ")")
                return .aggregate(word, argument, distinct: distinct, position: token.position)
            case "TRIM":
                try expect(symbol: "(")
                var mode = "BOTH"
                var sawMode = false
                for candidate in ["LEADING", "TRAILING", "BOTH"] where isKeyword(candidate) {
                    advance()
                    mode = candidate
                    sawMode = true
                }
                var character: Expression?
                let operand: Expression
                if accept(keyword: "FROM") {
                    // TRIM(LEADING FROM s): no character, which means blanks.
                    operand = try parseAdditive()
                } else {
                    let first = try parseAdditive()
                    if accept(keyword: "FROM") {
                        character = first
                        operand = try parseAdditive()
                    } else {
                        guard !sawMode else { throw QueryError("Expected FROM in TRIM", at: peek.position) }
                        operand = first
                    }
                }
                try expect(symbol: ")")
                return .trim(mode, character, operand, position: token.position)
            case "ABS", "CONCAT", "LENGTH", "LOCATE", "LOWER", "UPPER", "MOD", "SIZE", "SQRT", "SUBSTRING":
                try expect(symbol: "(")
                var arguments: [Expression] = []
                if !isSymbol(")") {
                    repeat { arguments.append(try parseAdditive()) } while accept(symbol: ",")
                }
                try expect(symbol: ")")
                return .function(word, arguments, position: token.position)
            case "FETCH":
                throw QueryError("FETCH is not supported; use INCLUDE", at: token.position)
            default:
                throw QueryError("Unexpected \(word)", at: token.position)
            }
        case .end:
            throw QueryError("The query ends where a value or condition was expected", at: token.position)
        default:
            throw QueryError("Unexpected \(describe(token))", at: token.position)
        }
    }
}
