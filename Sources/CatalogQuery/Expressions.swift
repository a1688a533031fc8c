import CatalogSQL
import CatalogSchema
import Foundation

extension CompilationContext {
    /// A condition: an expression that must be boolean.
    func condition(_ expression: Expression, in scope: Scope) throws(QueryError) -> SQLFragment {
        let compiled = try compile(expression, in: scope)
        guard case .value(let kind) = compiled.type, kind == .boolean || kind == .attribute(.boolean) else {
            throw QueryError("Expected a condition here, not a value", at: expression.position)
        }
        return compiled.sql
    }

    func compile(_ expression: Expression, in scope: Scope) throws(QueryError) -> Compiled {
        switch expression {
        case .path(let parts, let position):
            return try path(parts, in: scope, at: position)
        case .literal(let literal, let position):
            return try self.literal(literal, at: position)
        case .parameter(let name, let position):
            guard name == "user" else {
                throw QueryError("Unknown parameter ':\(name)'; only :user is defined", at: position)
            }
            var sql = SQLFragment()
            if let userName {
                sql = "\(userName)"
            } else {
                sql.bindUserName()
            }
            return Compiled(sql: sql, type: .value(.string))
        case .unary(_, let operand, let position):
            let compiled = try compile(operand, in: scope)
            guard isNumeric(compiled.type) else { throw QueryError("'-' needs a number", at: position) }
            return Compiled(sql: "(-\(compiled.sql))", type: compiled.type)
        case .binary(let op, let left, let right, let position):
            if ["+", "-", "*", "/"].contains(op) {
                let a = try compile(left, in: scope)
                let b = try compile(right, in: scope)
                guard isNumeric(a.type), isNumeric(b.type) else {
                    throw QueryError("'\(op)' needs numbers on both sides", at: position)
                }
                let integral = isIntegral(a.type) && isIntegral(b.type)
                // Division by zero is null on both databases (PostgreSQL would fail the query, SQLite gives null).
                let divisor: SQLFragment = op == "/" ? "NULLIF(\(b.sql), 0)" : b.sql
                return Compiled(
                    sql: "(\(a.sql) \(Self.symbol(op)) \(divisor))",
                    type: .value(integral ? .integer : .real)
                )
            }
            return try comparison(op, left, right, in: scope, at: position)
        case .not(let operand, _):
            return Compiled(sql: "(NOT \(try condition(operand, in: scope)))", type: .value(.boolean))
        case .and(let terms):
            return Compiled(sql: try chain(terms, joinedBy: " AND ", in: scope), type: .value(.boolean))
        case .or(let terms):
            return Compiled(sql: try chain(terms, joinedBy: " OR ", in: scope), type: .value(.boolean))
        case .isNull(let operand, let negated, _):
            let compiled = try compile(operand, in: scope)
            let sql: SQLFragment
            if case .entity(_, let reference) = compiled.type {
                sql = keySQL(reference)
            } else {
                sql = compiled.sql
            }
            return Compiled(sql: "(\(sql)" + (negated ? " IS NOT NULL)" : " IS NULL)"), type: .value(.boolean))
        case .isEmpty(let parts, let negated, let position):
            let (parent, alias, field) = try collection(parts, in: scope, at: position)
            _ = parent
            let exists = collectionExists(alias: alias, field: field, extra: nil)
            return Compiled(sql: (negated ? SQLFragment() : "NOT ") + exists, type: .value(.boolean))
        case .between(let value, let low, let high, let negated, let position):
            let v = try compile(value, in: scope)
            let l = try coerce(try compile(low, in: scope), to: v.type, at: position)
            let h = try coerce(try compile(high, in: scope), to: v.type, at: position)
            try checkComparable(v.type, l.type, at: position)
            return Compiled(
                sql: "(\(v.sql)" + (negated ? " NOT BETWEEN " : " BETWEEN ") + "\(l.sql) AND \(h.sql))",
                type: .value(.boolean)
            )
        case .like(let value, let pattern, let escape, let negated, let position):
            let v = try compile(value, in: scope)
            let p = try compile(pattern, in: scope)
            guard isString(v.type), isString(p.type) else { throw QueryError("LIKE compares strings", at: position) }
            var sql: SQLFragment = "(\(v.sql)" + (negated ? " NOT LIKE " : " LIKE ") + p.sql
            if let escape {
                guard case .literal(.string(let character), let escapePosition) = escape, character.count == 1 else {
                    throw QueryError("ESCAPE needs a single character in quotes", at: escape.position)
                }
                _ = escapePosition
                sql.append(" ESCAPE \(character)")
            }
            sql.append(")")
            return Compiled(sql: sql, type: .value(.boolean))
        case .inList(let value, let items, let negated, let position):
            let v = try compile(value, in: scope)
            let left: SQLFragment
            if case .entity(_, let reference) = v.type {
                left = keySQL(reference)
            } else {
                left = v.sql
            }
            var sql: SQLFragment = "(\(left)" + (negated ? " NOT IN (" : " IN (")
            for (index, item) in items.enumerated() {
                if index > 0 { sql.append(", ") }
                var compiled = try compile(item, in: scope)
                if case .entity = v.type {
                    guard isIntegral(compiled.type) else {
                        throw QueryError("An entity is compared with ids", at: item.position)
                    }
                } else {
                    compiled = try coerce(compiled, to: v.type, at: item.position)
                    try checkComparable(v.type, compiled.type, at: item.position)
                }
                sql.append(compiled.sql)
            }
            sql.append("))")
            _ = position
            return Compiled(sql: sql, type: .value(.boolean))
        case .inQuery(let value, let subquery, let negated, let position):
            let v = try compile(value, in: scope)
            let left: SQLFragment
            if case .entity(_, let reference) = v.type { left = keySQL(reference) } else { left = v.sql }
            let sub = try compileSubquery(subquery, in: scope, position: position)
            try checkComparable(v.type, sub.type, at: position)
            let test: SQLFragment = negated ? " NOT IN " : " IN "
            return Compiled(sql: "(\(left)\(test)\(sub.sql))", type: .value(.boolean))
        case .memberOf(let value, let parts, let negated, let position):
            let v = try compile(value, in: scope)
            guard case .entity(let memberEntity, let reference) = v.type else {
                throw QueryError("MEMBER OF needs an entity on its left", at: position)
            }
            let (_, alias, field) = try collection(parts, in: scope, at: position)
            guard field.target == memberEntity.name else {
                throw QueryError(
                    "A \(memberEntity.name) cannot be a member of \(parts.joined(separator: "."))",
                    at: position
                )
            }
            let exists = collectionExists(
                alias: alias,
                field: field,
                extra: { child in "\(self.column(child, "id")) = \(self.keySQL(reference))" }
            )
            return Compiled(sql: (negated ? "NOT " : SQLFragment()) + exists, type: .value(.boolean))
        case .provenance(let value, let predicate, let negated, let position):
            return try compileProvenance(value, predicate, negated: negated, in: scope, at: position)
        case .exists(let subquery, let negated, let position):
            let sub = try compileSubquery(subquery, in: scope, position: position, selectOne: true)
            return Compiled(sql: (negated ? "NOT EXISTS " : "EXISTS ") + sub.sql, type: .value(.boolean))
        case .quantified(let op, let value, let quantifier, let subquery, let position):
            // x op ANY (q) is EXISTS (q with x op item); x op ALL (q) is NOT EXISTS (q with (x op item) IS NOT TRUE),
            // so that an unknown comparison (with a null) makes ALL false as in SQL: both databases run that, SQLite
            // having no ANY or ALL.
            let v = try compile(value, in: scope)
            let sub = try compileSubquery(
                subquery,
                in: scope,
                position: position,
                extraCondition: { (item: Compiled, _: Scope) throws(QueryError) -> SQLFragment in
                    try self.checkComparable(v.type, item.type, at: position)
                    let left: SQLFragment
                    if case .entity(_, let reference) = v.type {
                        left = self.keySQL(reference)
                    } else {
                        left = v.sql
                    }
                    let test: SQLFragment = "(\(left) \(Self.symbol(op)) \(item.sql))"
                    return quantifier == "ALL" ? "(\(test) IS NOT TRUE)" : test
                },
                selectOne: true
            )
            return Compiled(sql: (quantifier == "ALL" ? "NOT EXISTS " : "EXISTS ") + sub.sql, type: .value(.boolean))
        case .subquery(let subquery, let position):
            let sub = try compileSubquery(subquery, in: scope, position: position)
            if case .entity = sub.type {
                throw QueryError("A subquery used as a value must select a value", at: position)
            }
            return sub
        case .function(let name, let arguments, let position):
            return try function(name, arguments, in: scope, at: position)
        case .aggregate(let name, let argument, let distinct, let position):
            return try aggregate(name, argument, distinct: distinct, in: scope, at: position)
        case .trim(let mode, let character, let operand, let position):
            let value = try compile(operand, in: scope)
            guard isString(value.type) else { throw QueryError("TRIM needs a string", at: position) }
            var sql: SQLFragment = mode == "LEADING" ? "LTRIM(" : mode == "TRAILING" ? "RTRIM(" : "TRIM("
            sql.append(value.sql)
            if let character {
                guard case .literal(.string(let c), _) = character, c.count == 1 else {
                    throw QueryError("TRIM needs a single character in quotes", at: character.position)
                }
                sql.append(", \(c)")
            }
            sql.append(")")
            return Compiled(sql: sql, type: .value(.string))
        }
    }

    /// Conditions joined by AND or OR, parenthesized pairwise as the operators associate (`((a AND b) AND c)`) up
    /// to a few terms, and as a balanced tree beyond, so that the databases' parsers, which recurse once per
    /// level of the expression tree (SQLite stops at 1,000), see a depth that grows with the logarithm of the
    /// number of terms.
    func chain(
        _ terms: [Expression],
        joinedBy separator: SQLFragment,
        in scope: Scope
    ) throws(QueryError) -> SQLFragment {
        var compiled: [SQLFragment] = []
        compiled.reserveCapacity(terms.count)
        for term in terms { compiled.append(try condition(term, in: scope)) }
        if compiled.count <= Self.leftNestedChainLength {
            var sql = SQLFragment()
            for _ in 1..<compiled.count { sql.append("(") }
            for (index, term) in compiled.enumerated() {
                if index > 0 {
                    sql.append(separator)
                    sql.append(term)
                    sql.append(")")
                } else {
                    sql.append(term)
                }
            }
            return sql
        }
        // Pairs, then pairs of pairs: each pass halves the list, so the loop runs log2(n) times.
        while compiled.count > 1 {
            var next: [SQLFragment] = []
            next.reserveCapacity((compiled.count + 1) / 2)
            var index = 0
            while index + 1 < compiled.count {
                next.append("(\(compiled[index])\(separator)\(compiled[index + 1]))")
                index += 2
            }
            if index < compiled.count { next.append(compiled[index]) }
            compiled = next
        }
        return compiled[0]
    }

    /// Chains up to this long are written as the operators associate, as they always were.
    static let leftNestedChainLength = 16

    // MARK: Paths

    func path(_ parts: [String], in scope: Scope, at position: Int) throws(QueryError) -> Compiled {
        guard let variable = scope.lookup(parts[0]) else {
            if parts.count == 1, model.entity(named: parts[0]) != nil {
                throw QueryError(
                    "'\(parts[0])' needs a variable: write e.g. 'SELECT x FROM \(parts[0]) x'",
                    at: position
                )
            }
            throw QueryError("'\(parts[0])' is not a defined variable", at: position)
        }
        var entity = variable.entity
        if parts.count == 1 {
            if let (parentAlias, field) = variable.foreignKey {
                return Compiled(
                    sql: column(parentAlias, field.column!),
                    type: .entity(entity, .foreignKey(parentAlias: parentAlias, field: field))
                )
            }
            return Compiled(
                sql: column(variable.alias, "id"),
                type: .entity(entity, .alias(variable.alias))
            )
        }
        var alias = written(variable.alias, in: scope)
        for (index, step) in parts.dropFirst().enumerated() {
            let isLast = index == parts.count - 2
            guard let field = entity.field(named: step) else {
                throw QueryError("'\(step)' is not a field of \(entity.name)", at: position)
            }
            switch field.kind {
            case .attribute(let type):
                guard isLast else {
                    throw QueryError("'\(step)' of \(entity.name) is not a relation to navigate", at: position)
                }
                return Compiled(sql: column(alias, field.column!), type: .value(.attribute(type)))
            case .one(let target):
                let targetEntity = model.entity(named: target)!
                if isLast {
                    return Compiled(
                        sql: column(alias, field.column!),
                        type: .entity(targetEntity, .foreignKey(parentAlias: alias, field: field))
                    )
                }
                if field.required, index == parts.count - 3, parts.last == "id" {
                    // `x.relation.id` of a required relation is the foreign key itself: no join needed.
                    return Compiled(sql: column(alias, field.column!), type: .value(.attribute(.long)))
                }
                alias = implicitJoin(from: alias, field: field, in: scope)
                entity = targetEntity
            case .many:
                throw QueryError(
                    "'\(step)' of \(entity.name) is a collection: join it (JOIN \(parts[0]).\(step) x) to use its members",
                    at: position
                )
            }
        }
        fatalError("unreachable")
    }

    /// The parent's alias and the relation of a path ending in a collection.
    func collection(
        _ parts: [String],
        in scope: Scope,
        at position: Int
    ) throws(QueryError) -> (EntityDefinition, String, Field) {
        guard parts.count >= 2 else {
            throw QueryError("Expected a collection path such as ds.datafiles", at: position)
        }
        let parent = try path(Array(parts.dropLast()), in: scope, at: position)
        guard case .entity(let entity, let reference) = parent.type else {
            throw QueryError("'\(parts.dropLast().joined(separator: "."))' is not an entity", at: position)
        }
        guard let field = entity.field(named: parts.last!), field.isMany else {
            throw QueryError("'\(parts.last!)' is not a collection of \(entity.name)", at: position)
        }
        return (entity, alias(for: reference, entity: entity, in: scope), field)
    }

    /// `EXISTS (SELECT 1 FROM child c WHERE c.parent_id = alias.id [AND extra])`.
    func collectionExists(alias: String, field: Field, extra: ((String) -> SQLFragment)?) -> SQLFragment {
        "EXISTS \(members(of: field, parentAlias: alias, selecting: "1", extra: extra))"
    }

    /// `(SELECT <what> FROM child c WHERE c.parent_id = alias.id [AND extra])`: the members of a collection, which
    /// are restricted like a joined table when every variable is.
    func members(
        of field: Field,
        parentAlias alias: String,
        selecting what: SQLFragment,
        extra: ((String) -> SQLFragment)? = nil
    ) -> SQLFragment {
        guard case .many(let target, let inverse, _) = field.kind else { return "(SELECT 1 WHERE 1 = 0)" }
        let child = model.entity(named: target)!
        let childAlias = newAlias()
        var sql: SQLFragment = """
            (SELECT \(what) FROM \(identifier: child.table) \(alias: childAlias) \
            WHERE \(column(childAlias, child.field(named: inverse)!.column!)) = \(column(alias, "id"))
            """
        if let extra { sql.append(" AND \(extra(childAlias))") }
        if restrictsEveryVariable, let restriction = restriction?.condition(for: child, alias: childAlias) {
            sql.append(" AND ")
            sql.append(restriction)
        }
        sql.append(")")
        return sql
    }

    /// The SQL of an entity's id: its alias's id column, or the foreign key that points at it.
    func keySQL(_ reference: EntityReference) -> SQLFragment {
        switch reference {
        case .alias(let alias): column(alias, "id")
        case .foreignKey(let parentAlias, let field): column(parentAlias, field.column!)
        }
    }

    /// An operator or function name of the query language (`<=`, `LOWER`, `COUNT`), as the same SQL: the parser
    /// accepts only these.
    static func symbol(_ name: String) -> SQLFragment {
        switch name {
        case "=": "="
        case "<>": "<>"
        case "<": "<"
        case "<=": "<="
        case ">": ">"
        case ">=": ">="
        case "+": "+"
        case "-": "-"
        case "*": "*"
        case "/": "/"
        case "LOWER": "LOWER"
        case "UPPER": "UPPER"
        case "COUNT": "COUNT"
        case "MIN": "MIN"
        case "MAX": "MAX"
        case "AVG": "AVG"
        case "SUM": "SUM"
        default: preconditionFailure("'\(name)' is not an operator or function of the query language")
        }
    }

    // MARK: Literals and types

    func literal(_ literal: Literal, at position: Int) throws(QueryError) -> Compiled {
        switch literal {
        case .integer(let i):
            return Compiled(sql: "\(i)", type: .value(.integer))
        case .real(let d):
            return Compiled(sql: "\(d)", type: .value(.real))
        case .string(let s):
            return Compiled(sql: "\(s)", type: .untypedString(s))
        case .boolean(let b):
            return Compiled(sql: "\(b)", type: .value(.boolean))
        case .timestamp(let text):
            guard let date = Self.timestamp(text) else {
                throw QueryError("Bad timestamp {ts \(text)}: write {ts yyyy-mm-dd hh:mm:ss}", at: position)
            }
            return Compiled(sql: "\(date)", type: .value(.timestamp))
        case .enumeration(let name, let value):
            guard let enumeration = model.enumerations[name] else {
                throw QueryError("'\(name)' is not an enumeration of the model", at: position)
            }
            guard enumeration.values.contains(value) else {
                throw QueryError("'\(value)' is not a value of \(name)", at: position)
            }
            return Compiled(
                sql: "\(value)",
                type: .value(.attribute(.enumeration(name: name, values: enumeration.values)))
            )
        }
    }

    /// `yyyy-mm-dd hh:mm:ss[.fff]`, read as UTC.
    static func timestamp(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 19, trimmed.utf8.count == trimmed.count else { return nil }
        return SQLTimestamp.parse(trimmed)
    }

    /// `yyyy-mm-dd` as the start of that day (UTC), as ICAT's clients write dates (python-icat's
    /// `o.datafileCreateTime >= '2012-01-01'`).
    static func midnight(_ text: String) -> Date? {
        guard text.utf8.count == 10 else { return nil }
        return SQLTimestamp.parse(text + " 00:00:00")
    }

    /// A string literal compared with a date becomes a timestamp (a date alone its midnight); compared with an
    /// enumeration it must be one of its values.
    func coerce(_ compiled: Compiled, to other: ExpressionType, at position: Int) throws(QueryError) -> Compiled {
        guard case .untypedString(let text) = compiled.type else { return compiled }
        switch other {
        case .value(.attribute(.date)), .value(.timestamp):
            guard let date = SQLTimestamp.parse(text) ?? Self.midnight(text) else {
                throw QueryError(
                    "'\(text)' is not a timestamp; write 'yyyy-mm-dd', 'yyyy-mm-dd hh:mm:ss' or {ts yyyy-mm-dd hh:mm:ss}",
                    at: position
                )
            }
            return Compiled(sql: "\(date)", type: .value(.timestamp))
        case .value(.attribute(.enumeration(let name, let values))):
            guard values.contains(text) else { throw QueryError("'\(text)' is not a value of \(name)", at: position) }
            return compiled
        default:
            return compiled
        }
    }

    func comparison(
        _ op: String,
        _ left: Expression,
        _ right: Expression,
        in scope: Scope,
        at position: Int
    ) throws(QueryError)
        -> Compiled
    {
        var a = try compile(left, in: scope)
        var b = try compile(right, in: scope)
        a = try coerce(a, to: b.type, at: position)
        b = try coerce(b, to: a.type, at: position)
        if case .entity(let entityA, let referenceA) = a.type {
            guard case .entity(let entityB, let referenceB) = b.type else {
                throw QueryError("A \(entityA.name) can only be compared with another entity", at: position)
            }
            guard entityA.name == entityB.name else {
                throw QueryError("Cannot compare a \(entityA.name) with a \(entityB.name)", at: position)
            }
            guard op == "=" || op == "<>" else {
                throw QueryError("Entities can only be compared with = or <>", at: position)
            }
            return Compiled(
                sql: "(\(keySQL(referenceA)) \(Self.symbol(op)) \(keySQL(referenceB)))",
                type: .value(.boolean)
            )
        }
        if case .entity(let entityB, _) = b.type {
            throw QueryError("A \(entityB.name) can only be compared with another entity", at: position)
        }
        try checkComparable(a.type, b.type, at: position)
        if op != "=" && op != "<>", isBoolean(a.type) {
            throw QueryError("Booleans can only be compared with = or <>", at: position)
        }
        return Compiled(sql: "(\(a.sql) \(Self.symbol(op)) \(b.sql))", type: .value(.boolean))
    }

    /// Refuses comparisons the databases would reject (a string with a number, a date with a boolean, ...).
    func checkComparable(_ a: ExpressionType, _ b: ExpressionType, at position: Int) throws(QueryError) {
        func family(_ type: ExpressionType) -> String {
            switch type {
            case .entity(let entity, _): return "entity \(entity.name)"
            case .untypedString: return "string"
            case .value(let kind):
                switch kind {
                case .integer, .real, .attribute(.integer), .attribute(.long), .attribute(.double): return "number"
                case .string, .attribute(.string), .attribute(.enumeration): return "string"
                case .boolean, .attribute(.boolean): return "boolean"
                case .timestamp, .attribute(.date): return "timestamp"
                }
            }
        }
        let (x, y) = (family(a), family(b))
        if x.hasPrefix("entity"), y == "number" { return }
        guard x == y else { throw QueryError("Cannot compare a \(x) with a \(y)", at: position) }
    }

    func isNumeric(_ type: ExpressionType) -> Bool {
        switch type {
        case .value(.integer), .value(.real), .value(.attribute(.integer)), .value(.attribute(.long)),
            .value(.attribute(.double)):
            true
        default: false
        }
    }

    func isIntegral(_ type: ExpressionType) -> Bool {
        switch type {
        case .value(.integer), .value(.attribute(.integer)), .value(.attribute(.long)): true
        default: false
        }
    }

    func isString(_ type: ExpressionType) -> Bool {
        switch type {
        case .untypedString, .value(.string), .value(.attribute(.string)), .value(.attribute(.enumeration)): true
        default: false
        }
    }

    func isBoolean(_ type: ExpressionType) -> Bool {
        switch type {
        case .value(.boolean), .value(.attribute(.boolean)): true
        default: false
        }
    }

    // MARK: Functions

    func function(
        _ name: String,
        _ arguments: [Expression],
        in scope: Scope,
        at position: Int
    ) throws(QueryError) -> Compiled {
        func arity(_ counts: ClosedRange<Int>) throws(QueryError) {
            guard counts.contains(arguments.count) else {
                throw QueryError(
                    "\(name) takes \(counts.lowerBound == counts.upperBound ? "\(counts.lowerBound)" : "\(counts.lowerBound) to \(counts.upperBound)") arguments",
                    at: position
                )
            }
        }
        func argument(_ index: Int) throws(QueryError) -> Compiled { try compile(arguments[index], in: scope) }
        func string(_ index: Int) throws(QueryError) -> SQLFragment {
            let compiled = try argument(index)
            guard isString(compiled.type) else {
                throw QueryError("\(name) needs a string", at: arguments[index].position)
            }
            return compiled.sql
        }
        func number(_ index: Int) throws(QueryError) -> Compiled {
            let compiled = try argument(index)
            guard isNumeric(compiled.type) else {
                throw QueryError("\(name) needs a number", at: arguments[index].position)
            }
            return compiled
        }
        func integer(_ index: Int) throws(QueryError) -> SQLFragment {
            let compiled = try argument(index)
            guard isIntegral(compiled.type) else {
                throw QueryError("\(name) needs a whole number", at: arguments[index].position)
            }
            return compiled.sql
        }
        switch name {
        case "CURRENT_DATE":
            // Midnight (UTC) of today, comparable with the catalog's timestamps on both databases.
            return Compiled(
                sql: dialect == .sqlite
                    ? "strftime('%Y-%m-%d 00:00:00.000', 'now')"
                    : "(date_trunc('day', CURRENT_TIMESTAMP AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')",
                type: .value(.timestamp)
            )
        case "CURRENT_TIME":
            // The time of day in UTC as text, 'hh:mm:ss', the same on both databases. The catalog has no
            // time-of-day fields, so it compares with strings only.
            return Compiled(
                sql: dialect == .sqlite
                    ? "time('now')" : "to_char(CURRENT_TIMESTAMP AT TIME ZONE 'UTC', 'HH24:MI:SS')",
                type: .value(.string)
            )
        case "CURRENT_TIMESTAMP":
            return Compiled(
                sql: dialect == .sqlite ? "strftime('%Y-%m-%d %H:%M:%f', 'now')" : "CURRENT_TIMESTAMP",
                type: .value(.timestamp)
            )
        case "ABS":
            try arity(1...1)
            let value = try number(0)
            return Compiled(sql: "ABS(\(value.sql))", type: value.type)
        case "SQRT":
            try arity(1...1)
            let value = try number(0)
            // The root of a negative number is null on both databases (PostgreSQL would fail the query).
            return Compiled(
                sql: "SQRT(CASE WHEN \(value.sql) < 0 THEN NULL ELSE \(value.sql) END)",
                type: .value(.real)
            )
        case "MOD":
            try arity(2...2)
            let a = try number(0)
            let b = try number(1)
            guard isIntegral(a.type), isIntegral(b.type) else { throw QueryError("MOD needs integers", at: position) }
            // MOD(a, 0) is null, as division by zero is.
            let divisor: SQLFragment = "NULLIF(\(b.sql), 0)"
            return Compiled(
                sql: dialect == .sqlite ? "(\(a.sql) % \(divisor))" : "MOD(\(a.sql), \(divisor))",
                type: .value(.integer)
            )
        case "LENGTH":
            try arity(1...1)
            return Compiled(sql: "LENGTH(\(try string(0)))", type: .value(.integer))
        case "LOWER", "UPPER":
            try arity(1...1)
            return Compiled(sql: "\(Self.symbol(name))(\(try string(0)))", type: .value(.string))
        case "CONCAT":
            try arity(2...16)
            var sql: SQLFragment = "("
            for index in arguments.indices {
                if index > 0 { sql.append(" || ") }
                sql.append(try string(index))
            }
            sql.append(")")
            return Compiled(sql: sql, type: .value(.string))
        case "SUBSTRING":
            // SQL's SUBSTRING(s FROM start FOR length) on both databases: the characters at positions start to
            // start + length - 1 that exist (so a start before 1 shortens the result), none for a negative length.
            try arity(2...3)
            let value = try string(0)
            let start = try integer(1)
            if dialect == .postgresql {
                var sql: SQLFragment = "SUBSTR(\(value), CAST(\(start) AS INTEGER)"
                if arguments.count == 3 { sql.append(", CAST(GREATEST(\(try integer(2)), 0) AS INTEGER)") }
                sql.append(")")
                return Compiled(sql: sql, type: .value(.string))
            }
            let first: SQLFragment = "MAX(\(start), 1)"
            var sql: SQLFragment = "SUBSTR(\(value), \(first)"
            if arguments.count == 3 { sql.append(", MAX(\(start) + \(try integer(2)) - \(first), 0)") }
            sql.append(")")
            return Compiled(sql: sql, type: .value(.string))
        case "LOCATE":
            try arity(2...3)
            let needle = try string(0)
            let haystack = try string(1)
            if arguments.count == 3 {
                // LOCATE(needle, haystack, start): the position found in the rest, counted from the start (taken
                // as 1 when smaller).
                let third = try integer(2)
                let start: SQLFragment = dialect == .sqlite ? "MAX(\(third), 1)" : "GREATEST(\(third), 1)"
                let inner: SQLFragment =
                    dialect == .sqlite
                    ? "INSTR(SUBSTR(\(haystack), \(start)), \(needle))"
                    : "STRPOS(SUBSTR(\(haystack), CAST(\(start) AS INTEGER)), \(needle))"
                return Compiled(
                    sql: "(CASE WHEN \(inner) = 0 THEN 0 ELSE \(inner) + \(start) - 1 END)",
                    type: .value(.integer)
                )
            }
            let sql: SQLFragment =
                dialect == .sqlite
                ? "INSTR(\(haystack), \(needle))" : "STRPOS(\(haystack), \(needle))"
            return Compiled(sql: sql, type: .value(.integer))
        case "SIZE":
            try arity(1...1)
            guard case .path(let parts, let pathPosition) = arguments[0] else {
                throw QueryError("SIZE needs a collection path", at: position)
            }
            let (_, alias, field) = try collection(parts, in: scope, at: pathPosition)
            return Compiled(sql: members(of: field, parentAlias: alias, selecting: "COUNT(*)"), type: .value(.integer))
        default:
            throw QueryError("Unknown function \(name)", at: position)
        }
    }

    func aggregate(
        _ name: String,
        _ argument: Expression,
        distinct: Bool,
        in scope: Scope,
        at position: Int
    ) throws(QueryError)
        -> Compiled
    {
        if let nested = firstAggregate(in: argument) {
            throw QueryError("Aggregate functions cannot be nested", at: nested)
        }
        let compiled = try compile(argument, in: scope)
        let prefix: SQLFragment = "\(Self.symbol(name))(" + (distinct ? "DISTINCT " : SQLFragment())
        if case .entity(_, let reference) = compiled.type {
            guard name == "COUNT" else { throw QueryError("\(name) needs a value, not an entity", at: position) }
            return Compiled(sql: "\(prefix)\(keySQL(reference)))", type: .value(.integer))
        }
        switch name {
        case "COUNT":
            return Compiled(sql: "\(prefix)\(compiled.sql))", type: .value(.integer))
        case "AVG":
            guard isNumeric(compiled.type) else { throw QueryError("AVG needs numbers", at: position) }
            return Compiled(sql: "\(prefix)\(compiled.sql))", type: .value(.real))
        case "SUM":
            guard isNumeric(compiled.type) else { throw QueryError("SUM needs numbers", at: position) }
            return Compiled(
                sql: "\(prefix)\(compiled.sql))",
                type: .value(isIntegral(compiled.type) ? .integer : .real)
            )
        default:
            if isBoolean(compiled.type) { throw QueryError("\(name) needs numbers, strings or dates", at: position) }
            return Compiled(sql: "\(prefix)\(compiled.sql))", type: compiled.type)
        }
    }
}

/// Paths between entities along relations, for the concise form's `<->` and `INCLUDE Entity`.
struct RelationPaths {
    let model: EntityModel

    /// The relation names of the one shortest path from `source` to `target`; an error when there is none or
    /// several.
    func uniquePath(
        from source: EntityDefinition,
        to target: EntityDefinition,
        at position: Int
    ) throws(QueryError) -> [String] {
        if source.name == target.name { throw QueryError("\(target.name) is the entity itself", at: position) }
        var paths: [String: [[String]]] = [source.name: [[]]]
        var frontier = [source.name]
        var visited: Set<String> = [source.name]
        while !frontier.isEmpty {
            var next: [String: [[String]]] = [:]
            for name in frontier {
                let entity = model.entity(named: name)!
                for field in entity.fields {
                    guard let neighbour = field.target, !visited.contains(neighbour) else { continue }
                    for path in paths[name]! {
                        next[neighbour, default: []].append(path + [field.name])
                    }
                }
            }
            if let found = next[target.name] {
                guard found.count == 1 else {
                    let shown = found.prefix(3).map { $0.joined(separator: ".") }.joined(separator: " or ")
                    throw QueryError(
                        "The way from \(source.name) to \(target.name) is ambiguous (\(shown))",
                        at: position
                    )
                }
                return found[0]
            }
            for (name, found) in next {
                visited.insert(name)
                paths[name] = Array(found.prefix(2))
            }
            frontier = Array(next.keys)
        }
        throw QueryError("\(target.name) cannot be reached from \(source.name)", at: position)
    }
}

extension CompilationContext {
    /// `x DERIVED FROM E id` as `x`'s key among the nodes a walk from `E id` reaches downstream (ANCESTOR OF:
    /// upstream), in one recursive subquery that passes only through what the caller may read, as
    /// `provenance.graph` does.
    func compileProvenance(
        _ value: Expression,
        _ predicate: ProvenancePredicate,
        negated: Bool,
        in scope: Scope,
        at position: Int
    ) throws(QueryError) -> Compiled {
        let words = predicate.direction == .downstream ? "DERIVED FROM" : "ANCESTOR OF"
        let v = try compile(value, in: scope)
        guard case .entity(let entity, let reference) = v.type, let kind = NodeKind(entityName: entity.name) else {
            throw QueryError("\(words) needs a Dataset, Datafile or Job on its left", at: position)
        }
        guard let start = NodeKind(entityName: predicate.entity) else {
            throw QueryError(
                "\(words) names a Dataset, Datafile or Job, not '\(predicate.entity)'",
                at: predicate.entityPosition
            )
        }
        let depth = predicate.depth ?? 20
        guard (0...100).contains(depth) else {
            throw QueryError("DEPTH must be from 0 to 100 job hops, not \(depth)", at: position)
        }
        let walk = Walk(
            start: .nodes([NodeRef(start, predicate.id)]),
            direction: predicate.direction,
            depth: Int(depth)
        )
        let restriction = restriction
        let model = model
        let reached = WalkPlanner().reached(kind, by: walk) { kind, alias in
            model.entity(named: kind.entityName).flatMap { restriction?.condition(for: $0, alias: alias) }
        }
        let operation: SQLFragment = negated ? " NOT IN (" : " IN ("
        let sql: SQLFragment = "\(keySQL(reference))\(operation)\(reached))"
        return Compiled(sql: sql, type: .value(.boolean))
    }
}
