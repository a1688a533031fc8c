import CatalogSQL
import CatalogSchema
import Foundation

/// The state of one compilation: alias numbering, the caller, and the dialect.
final class CompilationContext {
    let model: EntityModel
    let dialect: SQLDialect
    /// The caller; nil compiles `:user` to a placeholder bound later (for rules, compiled once for every caller).
    let userName: String?
    let restriction: (any QueryRestriction)?
    let aliasPrefix: String
    private var aliasCount = 0

    init(
        model: EntityModel,
        dialect: SQLDialect,
        userName: String?,
        restriction: (any QueryRestriction)?,
        aliasPrefix: String = "t"
    ) {
        self.model = model
        self.dialect = dialect
        self.userName = userName
        self.restriction = restriction
        self.aliasPrefix = aliasPrefix
    }

    /// `alias."column"`.
    func column(_ alias: String, _ column: String) -> SQLFragment {
        "\(alias: alias).\(identifier: column)"
    }

    func newAlias() -> String {
        defer { aliasCount += 1 }
        return "\(aliasPrefix)\(aliasCount)"
    }

    func entity(named name: String, at position: Int) throws(QueryError) -> EntityDefinition {
        guard let entity = model.entity(named: name) else {
            throw QueryError("'\(name)' is not an entity type", at: position)
        }
        return entity
    }

    // MARK: Queries

    func compileTop(_ syntax: QuerySyntax, maximumRows: Int?) throws(QueryError) -> CompiledQuery {
        let scope = Scope(parent: nil)
        try compileFrom(syntax.from, in: scope, isSubquery: false)
        var conditions: [SQLFragment] = []
        if let whereClause = syntax.whereClause {
            try refuseAggregates(in: whereClause, clause: "WHERE")
            conditions.append(try condition(whereClause, in: scope))
        }
        var items: [ResultItem] = []
        var selectSQL: [SQLFragment] = []
        var hasAggregate = false
        var selectedEntityAliases: [(EntityDefinition, String)] = []
        // Entities whose attributes or aggregates are selected: restricted like selected entities.
        var restricted: [(EntityDefinition, String)] = []
        for expression in syntax.select {
            if containsAggregate(expression) { hasAggregate = true }
            let compiled = try compile(expression, in: scope)
            switch compiled.type {
            case .entity(let entity, let reference):
                let alias = self.alias(for: reference, entity: entity, in: scope)
                selectedEntityAliases.append((entity, alias))
                selectSQL.append(entity.columns.map { column(alias, $0.column!) }.joined())
                items.append(.entity(entity))
            case .value(let kind):
                selectSQL.append(compiled.sql)
                items.append(.value(kind))
                if let owner = try restrictedEntity(of: expression, in: scope) { restricted.append(owner) }
            case .untypedString:
                selectSQL.append(compiled.sql)
                items.append(.value(.string))
            }
        }
        for (entity, alias) in selectedEntityAliases + restricted {
            if let extra = restrictionCondition(for: entity, alias: alias, in: scope) { conditions.append(extra) }
        }
        let groupBy = try groupKeys(syntax.groupBy, in: scope)
        var having: SQLFragment?
        if let havingClause = syntax.having { having = try condition(havingClause, in: scope) }
        var orderBy: [(key: SQLFragment, ascending: Bool)] = []
        for (expression, ascending) in syntax.orderBy {
            let compiled = try compile(expression, in: scope)
            switch compiled.type {
            case .entity(let entity, let reference):
                orderBy.append((column(alias(for: reference, entity: entity, in: scope), "id"), ascending))
            default:
                orderBy.append((compiled.sql, ascending))
            }
        }
        let isAggregate = hasAggregate && syntax.groupBy.isEmpty
        // What the databases would refuse, or answer differently (SQLite takes any row of a group for a column
        // that is not grouped), is refused here: outside aggregates, SELECT, HAVING and ORDER BY may only use
        // what is grouped; and with DISTINCT, ORDER BY may only use what is selected.
        if hasAggregate || !syntax.groupBy.isEmpty || syntax.having != nil
            || syntax.orderBy.contains(where: { containsAggregate($0.0) })
        {
            let grouped = try covering(syntax.groupBy, in: scope)
            for expression in syntax.select {
                try checkGrouped(expression, by: grouped, hasGroupBy: !syntax.groupBy.isEmpty, in: scope)
            }
            if let havingClause = syntax.having {
                try checkGrouped(havingClause, by: grouped, hasGroupBy: !syntax.groupBy.isEmpty, in: scope)
            }
            for (expression, _) in syntax.orderBy {
                try checkGrouped(expression, by: grouped, hasGroupBy: !syntax.groupBy.isEmpty, in: scope)
            }
        }
        if syntax.distinct, !syntax.orderBy.isEmpty {
            let selected = try covering(syntax.select, in: scope)
            for (expression, _) in syntax.orderBy {
                try checkCovered(expression, by: selected, allowAggregates: false, in: scope) { path in
                    "With SELECT DISTINCT, ORDER BY can only use what is selected, and \(path) is not"
                }
            }
        }
        // Results without an order are given one, so that paging with LIMIT is stable.
        if orderBy.isEmpty, !hasAggregate, syntax.groupBy.isEmpty, let (_, alias) = selectedEntityAliases.first,
            selectedEntityAliases.count == items.count
        {
            orderBy.append((column(alias, "id"), true))
        }

        let include = try includeTree(syntax, items: items)

        var sql: SQLFragment = "SELECT "
        if syntax.distinct { sql.append("DISTINCT ") }
        sql.append(selectSQL.joined())
        if syntax.distinct {
            // SELECT DISTINCT needs its ORDER BY keys among the selected columns; they are read and ignored.
            for (key, _) in orderBy {
                sql.append(", ")
                sql.append(key)
            }
        }
        appendFromWhereGroupHaving(to: &sql, scope: scope, conditions: conditions, groups: groupBy, having: having)
        if !orderBy.isEmpty {
            // Nulls sort after every value, as on PostgreSQL (and Oracle); SQLite's default is the opposite.
            let nulls = dialect == .sqlite
            sql.append(" ORDER BY ")
            sql.append(
                orderBy.map {
                    $0.key + ($0.ascending ? " ASC" : " DESC")
                        + (nulls ? ($0.ascending ? " NULLS LAST" : " NULLS FIRST") : "")
                }
                .joined()
            )
        }
        var limit = syntax.limit
        if let maximumRows { limit = min(limit ?? Int64(maximumRows), Int64(maximumRows)) }
        if isAggregate {
            // One row whatever LIMIT says, unless the offset skips it.
            if syntax.offset > 0 || limit == 0 {
                sql.append(" LIMIT 0")
            }
        } else if let limit {
            sql.append(" LIMIT ")
            sql.bind(.integer(max(0, limit)))
            if syntax.offset > 0 {
                sql.append(" OFFSET ")
                sql.bind(.integer(syntax.offset))
            }
        } else if syntax.offset > 0 {
            sql.append(dialect == .sqlite ? " LIMIT -1 OFFSET " : " OFFSET ")
            sql.bind(.integer(syntax.offset))
        }
        return CompiledQuery(sql: sql, items: items, include: include, isAggregate: isAggregate)
    }

    /// ` FROM ... [WHERE ...] [GROUP BY ...] [HAVING ...]`, written once every clause is compiled, so that the joins
    /// any of them needed are in the FROM clause.
    func appendFromWhereGroupHaving(
        to sql: inout SQLFragment,
        scope: Scope,
        conditions: [SQLFragment],
        groups: [SQLFragment],
        having: SQLFragment?
    ) {
        let (from, fromConditions) = joinedFrom(scope)
        sql.append(" FROM ")
        sql.append(from)
        let conditions = fromConditions + conditions
        if !conditions.isEmpty {
            sql.append(" WHERE ")
            sql.append(conjunction(conditions))
        }
        if !groups.isEmpty {
            sql.append(" GROUP BY ")
            sql.append(groups.joined())
        }
        if let having {
            sql.append(" HAVING ")
            sql.append(having)
        }
    }

    /// The SQL of GROUP BY items; an entity groups by its id.
    func groupKeys(_ expressions: [Expression], in scope: Scope) throws(QueryError) -> [SQLFragment] {
        var keys: [SQLFragment] = []
        for expression in expressions {
            try refuseAggregates(in: expression, clause: "GROUP BY")
            let compiled = try compile(expression, in: scope)
            if case .entity(let entity, let reference) = compiled.type {
                keys.append(column(alias(for: reference, entity: entity, in: scope), "id"))
            } else {
                keys.append(compiled.sql)
            }
        }
        return keys
    }

    func conjunction(_ fragments: [SQLFragment]) -> SQLFragment {
        fragments.map { "(\($0))" }.joined(separator: " AND ")
    }

    /// The FROM clause of a scope, and the conditions that belong in its WHERE clause: the join condition of its
    /// first table, and when every variable is restricted, the restrictions of the first and cross-joined tables
    /// (an inner or outer join's restriction joins its ON condition, so that an outer join keeps its
    /// null-extended rows).
    func joinedFrom(_ scope: Scope) -> (from: SQLFragment, conditions: [SQLFragment]) {
        var from = SQLFragment()
        var conditions: [SQLFragment] = []
        for (index, table) in scope.from.enumerated() {
            let name: SQLFragment = "\(identifier: table.entity.table) \(alias: table.alias)"
            let restriction =
                restrictsEveryVariable ? restrictionCondition(for: table.entity, alias: table.alias, in: scope) : nil
            if index == 0 {
                from.append(name)
                if let on = table.on { conditions.append(on) }
                if let restriction { conditions.append(restriction) }
                continue
            }
            switch table.kind {
            case .cross:
                from.append(" CROSS JOIN \(name)")
                if let restriction { conditions.append(restriction) }
                continue
            case .inner: from.append(" JOIN \(name) ON \(table.on!)")
            case .left: from.append(" LEFT JOIN \(name) ON \(table.on!)")
            }
            if let restriction {
                from.append(" AND ")
                from.append(restriction)
            }
        }
        return (from, conditions)
    }

    /// Whether every variable is restricted and `entity` has rows the caller may not see.
    func restrictsEveryVariable(_ entity: EntityDefinition) -> Bool {
        guard let restriction, restriction.restrictsEveryVariable else { return false }
        return restriction.restricts(entity)
    }

    var restrictsEveryVariable: Bool { restriction?.restrictsEveryVariable ?? false }

    /// The restriction of the row of `alias`, once per scope: nil when it is already among the scope's conditions
    /// or every row is admitted.
    func restrictionCondition(for entity: EntityDefinition, alias: String, in scope: Scope) -> SQLFragment? {
        guard let restriction, !scope.restricted.contains(alias) else { return nil }
        scope.restricted.insert(alias)
        return restriction.condition(for: entity, alias: alias)
    }

    /// A subquery: `SELECT <its single item> FROM ... WHERE ...`, or `SELECT 1 ...` for EXISTS.
    func compileSubquery(
        _ syntax: QuerySyntax,
        in outer: Scope,
        position: Int,
        extraCondition: ((Compiled, Scope) throws(QueryError) -> SQLFragment)? = nil,
        selectOne: Bool = false
    ) throws(QueryError) -> Compiled {
        guard syntax.include == nil else { throw QueryError("INCLUDE is not allowed in a subquery", at: position) }
        guard syntax.limit == nil, syntax.offset == 0 else {
            throw QueryError("LIMIT is not allowed in a subquery", at: position)
        }
        guard syntax.select.count == 1 else { throw QueryError("A subquery must select one item", at: position) }
        let scope = Scope(parent: outer)
        try compileFrom(syntax.from, in: scope, isSubquery: true)
        var conditions: [SQLFragment] = []
        if let whereClause = syntax.whereClause {
            try refuseAggregates(in: whereClause, clause: "WHERE")
            conditions.append(try condition(whereClause, in: scope))
        }
        guard syntax.orderBy.isEmpty else {
            throw QueryError("ORDER BY is not allowed in a subquery", at: syntax.orderBy[0].0.position)
        }
        var item = try compile(syntax.select[0], in: scope)
        if case .entity(let entity, let reference) = item.type {
            if case .foreignKey(let parent, let field) = reference, field.required, !isNullable(parent, in: scope) {
                // A required relation's key is never null: the referenced row need not be read.
                item = Compiled(sql: keySQL(reference), type: item.type)
            } else {
                let alias = self.alias(for: reference, entity: entity, in: scope)
                item = Compiled(sql: column(alias, "id"), type: .entity(entity, .alias(alias)))
            }
        }
        if let (entity, alias) = try restrictedTarget(of: syntax.select[0], compiled: item, in: scope),
            let restriction = restrictionCondition(for: entity, alias: alias, in: scope)
        {
            conditions.append(restriction)
        }
        if let extraCondition { conditions.append(try extraCondition(item, scope)) }
        var sql: SQLFragment = "(SELECT "
        if syntax.distinct { sql.append("DISTINCT ") }
        sql.append(selectOne ? "1" : item.sql)
        let groups = try groupKeys(syntax.groupBy, in: scope)
        var having: SQLFragment?
        if let havingClause = syntax.having { having = try condition(havingClause, in: scope) }
        if containsAggregate(syntax.select[0]) || !syntax.groupBy.isEmpty || syntax.having != nil {
            let grouped = try covering(syntax.groupBy, in: scope)
            try checkGrouped(syntax.select[0], by: grouped, hasGroupBy: !syntax.groupBy.isEmpty, in: scope)
            if let havingClause = syntax.having {
                try checkGrouped(havingClause, by: grouped, hasGroupBy: !syntax.groupBy.isEmpty, in: scope)
            }
        }
        appendFromWhereGroupHaving(to: &sql, scope: scope, conditions: conditions, groups: groups, having: having)
        sql.append(")")
        return Compiled(sql: sql, type: item.type)
    }

    /// What a subquery's restriction tests: the entity it selects, or the one whose attribute or aggregate it
    /// selects; nil when the caller may see every row of it (nothing is then joined for it).
    func restrictedTarget(
        of expression: Expression,
        compiled: Compiled,
        in scope: Scope
    ) throws(QueryError) -> (EntityDefinition, String)? {
        guard let restriction else { return nil }
        if case .entity(let entity, let reference) = compiled.type {
            guard restriction.restricts(entity) else { return nil }
            return (entity, alias(for: reference, entity: entity, in: scope))
        }
        guard let (entity, alias) = try restrictedEntity(of: expression, in: scope) else { return nil }
        return (entity, alias)
    }

    /// The entity a value select item is about, for restrictions: the owner of a selected attribute
    /// (`ds.name`, `ds.investigation.name`), or what an aggregate counts or combines (`COUNT(ds)`, `SUM(df.fileSize)`).
    func restrictedEntity(of expression: Expression, in scope: Scope) throws(QueryError) -> (EntityDefinition, String)?
    {
        switch expression {
        case .aggregate(_, let argument, _, _):
            if case .path(let parts, let position) = argument {
                let compiled = try compile(.path(parts, position: position), in: scope)
                if case .entity(let entity, let reference) = compiled.type {
                    return (entity, alias(for: reference, entity: entity, in: scope))
                }
            }
            return try restrictedEntity(of: argument, in: scope)
        case .path(let parts, let position) where parts.count >= 2:
            let owner = try compile(.path(Array(parts.dropLast()), position: position), in: scope)
            if case .entity(let entity, let reference) = owner.type {
                return (entity, alias(for: reference, entity: entity, in: scope))
            }
            return nil
        default:
            return nil
        }
    }

    func containsAggregate(_ expression: Expression) -> Bool {
        firstAggregate(in: expression) != nil
    }

    /// Where the first aggregate of an expression is, not looking into its subqueries (which are queries of their
    /// own).
    func firstAggregate(in expression: Expression) -> Int? {
        func first(_ expressions: [Expression?]) -> Int? {
            for case let expression? in expressions {
                if let position = firstAggregate(in: expression) { return position }
            }
            return nil
        }
        switch expression {
        case .aggregate(_, _, _, let position): return position
        case .path, .literal, .parameter, .isEmpty, .exists, .subquery: return nil
        case .unary(_, let e, _), .not(let e, _), .isNull(let e, _, _), .memberOf(let e, _, _, _),
            .inQuery(let e, _, _, _), .quantified(_, let e, _, _, _), .provenance(let e, _, _, _):
            return first([e])
        case .binary(_, let a, let b, _): return first([a, b])
        case .and(let terms), .or(let terms): return first(terms)
        case .between(let a, let b, let c, _, _): return first([a, b, c])
        case .like(let a, let b, let escape, _, _): return first([a, b, escape])
        case .inList(let value, let items, _, _): return first([value] + items)
        case .function(_, let arguments, _): return first(arguments)
        case .trim(_, let character, let operand, _): return first([character, operand])
        }
    }

    /// Refuses aggregates where SQL does not allow them.
    func refuseAggregates(in expression: Expression, clause: String) throws(QueryError) {
        if let position = firstAggregate(in: expression) {
            throw QueryError(
                "Aggregate functions such as COUNT cannot be used in \(clause)\(clause == "WHERE" ? "; use HAVING" : "")",
                at: position
            )
        }
    }

    // MARK: Grouping

    /// What a list of expressions makes available to the rest of a query: their SQL, and the entities they are
    /// (an entity, or its id, brings every field of that entity).
    struct Covering {
        var sql: Set<String> = []
        var aliases: Set<String> = []
    }

    func covering(_ expressions: [Expression], in scope: Scope) throws(QueryError) -> Covering {
        var covering = Covering()
        for expression in expressions {
            let compiled = try compile(expression, in: scope)
            covering.sql.insert(key(compiled.sql))
            if case .entity(let entity, let reference) = compiled.type {
                let alias = alias(for: reference, entity: entity, in: scope)
                covering.aliases.insert(alias)
                covering.sql.insert(key(column(alias, "id")))
            } else if case .path(let parts, let position) = expression, parts.count >= 2, parts.last == "id",
                let owner = try ownerAlias(parts, in: scope, at: position)
            {
                covering.aliases.insert(owner)
            }
        }
        return covering
    }

    /// A fragment as comparable text: its SQL with its bound values.
    func key(_ fragment: SQLFragment) -> String {
        let statement = fragment.statement(dialect)
        return ([statement.text] + statement.binds.map { "\($0)" }).joined(separator: "\u{1}")
    }

    /// The alias of the entity that holds the field a path ends with.
    func ownerAlias(_ parts: [String], in scope: Scope, at position: Int) throws(QueryError) -> String? {
        let owner = try compile(.path(Array(parts.dropLast()), position: position), in: scope)
        guard case .entity(let entity, let reference) = owner.type else { return nil }
        return alias(for: reference, entity: entity, in: scope)
    }

    func checkGrouped(
        _ expression: Expression,
        by grouped: Covering,
        hasGroupBy: Bool,
        in scope: Scope
    ) throws(QueryError) {
        try checkCovered(expression, by: grouped, allowAggregates: true, in: scope) { path in
            hasGroupBy
                ? "\(path) must be in GROUP BY, or used in an aggregate such as COUNT"
                : "\(path) is used outside an aggregate in a query that computes aggregates: add it to GROUP BY"
        }
    }

    /// Checks that an expression uses only what `covering` makes available, outside aggregates when they are
    /// allowed.
    func checkCovered(
        _ expression: Expression,
        by covering: Covering,
        allowAggregates: Bool,
        in scope: Scope,
        message: (String) -> String
    ) throws(QueryError) {
        func check(_ expression: Expression?) throws(QueryError) {
            if let expression {
                try checkCovered(
                    expression,
                    by: covering,
                    allowAggregates: allowAggregates,
                    in: scope,
                    message: message
                )
            }
        }
        func checkPath(_ parts: [String], at position: Int) throws(QueryError) {
            // A variable of an enclosing query is one value for the whole of a subquery.
            if scope.variables[Scope.key(parts[0])] == nil, scope.lookup(parts[0]) != nil { return }
            let compiled = try compile(.path(parts, position: position), in: scope)
            if covering.sql.contains(key(compiled.sql)) { return }
            if case .entity(let entity, let reference) = compiled.type {
                if covering.aliases.contains(alias(for: reference, entity: entity, in: scope)) { return }
            } else if parts.count >= 2, let owner = try ownerAlias(parts, in: scope, at: position),
                covering.aliases.contains(owner)
            {
                return
            }
            throw QueryError(message("'\(parts.joined(separator: "."))'"), at: position)
        }
        switch expression {
        case .literal, .parameter, .exists, .subquery:
            return
        case .aggregate(_, _, _, let position):
            if allowAggregates { return }
            if covering.sql.contains(key(try compile(expression, in: scope).sql)) { return }
            throw QueryError(message("this aggregate"), at: position)
        case .path(let parts, let position):
            try checkPath(parts, at: position)
            return
        default:
            break
        }
        if !covering.sql.isEmpty, covering.sql.contains(key(try compile(expression, in: scope).sql)) { return }
        switch expression {
        case .literal, .parameter, .exists, .subquery, .aggregate, .path:
            return
        case .isEmpty(let parts, _, let position):
            try checkPath(Array(parts.dropLast()), at: position)
        case .memberOf(let value, let parts, _, let position):
            try check(value)
            try checkPath(Array(parts.dropLast()), at: position)
        case .unary(_, let e, _), .not(let e, _), .isNull(let e, _, _), .inQuery(let e, _, _, _),
            .quantified(_, let e, _, _, _), .provenance(let e, _, _, _):
            try check(e)
        case .binary(_, let a, let b, _):
            try check(a)
            try check(b)
        case .and(let terms), .or(let terms):
            for term in terms { try check(term) }
        case .between(let a, let b, let c, _, _):
            try check(a)
            try check(b)
            try check(c)
        case .like(let a, let b, let escape, _, _):
            try check(a)
            try check(b)
            try check(escape)
        case .inList(let value, let items, _, _):
            try check(value)
            for item in items { try check(item) }
        case .function(_, let arguments, _):
            for argument in arguments { try check(argument) }
        case .trim(_, let character, let operand, _):
            try check(character)
            try check(operand)
        }
    }

    // MARK: FROM

    func compileFrom(_ items: [FromItem], in scope: Scope, isSubquery: Bool) throws(QueryError) {
        for (index, item) in items.enumerated() {
            switch item {
            case .entity(let name, let variable, let position):
                let entity = try self.entity(named: name, at: position)
                try declare(variable, entity: entity, in: scope, at: position)
                let alias = scope.variables[Scope.key(variable)]!.alias
                scope.from.append(JoinedTable(kind: .cross, entity: entity, alias: alias, on: nil))
            case .join(let path, let variable, let kind, let position):
                if path.first == "<->" {
                    try joinRelated(path[1], variable: variable, in: scope, at: position)
                    continue
                }
                guard let start = scope.lookup(path[0]) else {
                    throw QueryError("'\(path[0])' is not a defined variable", at: position)
                }
                var entity = start.entity
                var alias = start.alias
                // A collection of a variable joined by foreign key is joined to that key (`iu.investigation_id =
                // ds.investigation_id`); anything else needs the variable's own table.
                var startKey = column(alias, "id")
                if let foreignKey = start.foreignKey, path.count == 2, entity.field(named: path[1])?.isMany == true {
                    startKey = column(foreignKey.parentAlias, foreignKey.field.column!)
                } else {
                    alias = written(alias, in: scope)
                }
                for (stepIndex, step) in path.dropFirst().enumerated() {
                    guard let field = entity.field(named: step), let targetName = field.target else {
                        throw QueryError("'\(step)' is not a relation of \(entity.name)", at: position)
                    }
                    let target = model.entity(named: targetName)!
                    let isLast = stepIndex == path.count - 2
                    if !isLast {
                        guard field.isOne else {
                            throw QueryError(
                                "Cannot navigate through the collection '\(step)' of \(entity.name)",
                                at: position
                            )
                        }
                        alias = implicitJoin(from: alias, field: field, in: scope)
                        entity = target
                        continue
                    }
                    let newAlias = newAlias()
                    let on: SQLFragment
                    switch field.kind {
                    case .one: on = "\(column(newAlias, "id")) = \(column(alias, field.column!))"
                    case .many(_, let inverse, _):
                        let key = stepIndex == 0 ? startKey : column(alias, "id")
                        on = "\(column(newAlias, target.field(named: inverse)!.column!)) = \(key)"
                    case .attribute: on = SQLFragment()
                    }
                    let joined = JoinedTable(
                        kind: kind == .left ? .left : .inner,
                        entity: target,
                        alias: newAlias,
                        on: on
                    )
                    if index == 0 && isSubquery {
                        // `FROM ds.datafiles df` in a subquery: a new table correlated with the outer variable. It
                        // comes first, before the joins of any many-to-one steps on the way
                        // (`FROM ds.investigation.keywords k`), which the correlation refers to.
                        scope.from.insert(joined, at: 0)
                    } else if kind != .left, field.isOne, field.required, !isNullable(alias, in: scope),
                        !restrictsEveryVariable(target)
                    {
                        // The join matches exactly one row: it can wait until something needs that row.
                        scope.deferred[newAlias] = joined
                        scope.implicitJoins["\(alias).\(field.name)"] = newAlias
                        try declare(variable, entity: target, alias: newAlias, in: scope, at: position)
                        scope.variables[Scope.key(variable)]!.foreignKey = (alias, field)
                        continue
                    } else {
                        scope.from.append(joined)
                        if kind == .left { scope.nullable.insert(newAlias) }
                    }
                    try declare(variable, entity: target, alias: newAlias, in: scope, at: position)
                }
            }
        }
    }

    func declare(
        _ variable: String,
        entity: EntityDefinition,
        alias: String? = nil,
        in scope: Scope,
        at position: Int
    ) throws(QueryError) {
        guard scope.variables[Scope.key(variable)] == nil else {
            throw QueryError("The variable '\(variable)' is defined twice", at: position)
        }
        scope.variables[Scope.key(variable)] = Variable(entity: entity, alias: alias ?? newAlias())
    }

    /// The alias of an entity reached by a path: joins the referenced table when only its key was at hand.
    func alias(for reference: EntityReference, entity: EntityDefinition, in scope: Scope) -> String {
        switch reference {
        case .alias(let alias): return alias
        case .foreignKey(let parentAlias, let field): return implicitJoin(from: parentAlias, field: field, in: scope)
        }
    }

    /// Whether the rows of `alias` may be all nulls (an outer join's, in this scope or an enclosing one).
    func isNullable(_ alias: String, in scope: Scope) -> Bool {
        var current: Scope? = scope
        while let declaring = current {
            if declaring.nullable.contains(alias) { return true }
            current = declaring.parent
        }
        return false
    }

    /// `alias`, with its join written into the FROM clause of the scope that declared it, if it was deferred.
    func written(_ alias: String, in scope: Scope) -> String {
        var current: Scope? = scope
        while let declaring = current {
            if let joined = declaring.deferred.removeValue(forKey: alias) {
                declaring.from.append(joined)
                break
            }
            current = declaring.parent
        }
        return alias
    }

    /// An inner join along a many-to-one relation, made once per scope and path.
    func implicitJoin(from alias: String, field: Field, in scope: Scope) -> String {
        let key = "\(alias).\(field.name)"
        if let existing = scope.implicitJoins[key] { return written(existing, in: scope) }
        let target = model.entity(named: field.target!)!
        let newAlias = newAlias()
        scope.from.append(
            JoinedTable(
                kind: .inner,
                entity: target,
                alias: newAlias,
                on: "\(column(newAlias, "id")) = \(column(alias, field.column!))"
            )
        )
        scope.implicitJoins[key] = newAlias
        return newAlias
    }

    /// The concise form's `<-> Entity`: joins along the unique shortest path from the first entity.
    func joinRelated(_ name: String, variable: String, in scope: Scope, at position: Int) throws(QueryError) {
        let target = try entity(named: name, at: position)
        guard let main = scope.variables[Scope.key("$0")] else {
            throw QueryError("<-> needs an entity before it", at: position)
        }
        let path = try RelationPaths(model: model).uniquePath(from: main.entity, to: target, at: position)
        var entity = main.entity
        var alias = main.alias
        var prefix = "$0"
        for step in path {
            let field = entity.field(named: step)!
            let next = model.entity(named: field.target!)!
            prefix += "." + step
            if let existing = scope.implicitJoins[prefix] {
                alias = existing
            } else {
                let newAlias = newAlias()
                let on: SQLFragment
                switch field.kind {
                case .one: on = "\(column(newAlias, "id")) = \(column(alias, field.column!))"
                case .many(_, let inverse, _):
                    on = "\(column(newAlias, next.field(named: inverse)!.column!)) = \(column(alias, "id"))"
                case .attribute: on = SQLFragment()
                }
                scope.from.append(JoinedTable(kind: .inner, entity: next, alias: newAlias, on: on))
                scope.implicitJoins[prefix] = newAlias
                alias = newAlias
            }
            entity = next
        }
        try declare(variable, entity: target, alias: alias, in: scope, at: position)
    }

    // MARK: INCLUDE

    func includeTree(_ syntax: QuerySyntax, items: [ResultItem]) throws(QueryError) -> IncludeTree {
        guard let include = syntax.include else { return IncludeTree() }
        let position: Int
        switch include {
        case .one(let p): position = p
        case .paths(let paths): position = paths.first?.position ?? 0
        case .entities(let names): position = names.first?.position ?? 0
        }
        guard items.count == 1 else { throw QueryError("INCLUDE needs a query that selects one item", at: position) }
        guard case .entity(let selected) = items[0] else {
            throw QueryError("INCLUDE needs a query that selects entities, not values", at: position)
        }
        switch include {
        case .one:
            return .oneLevel(of: selected)
        case .entities(let names):
            var tree = IncludeTree()
            let paths = RelationPaths(model: model)
            for (name, namePosition) in names {
                let target = try entity(named: name, at: namePosition)
                tree.insert(try paths.uniquePath(from: selected, to: target, at: namePosition))
            }
            return tree
        case .paths(let paths):
            guard case .path(let selectPath, _) = syntax.select[0], selectPath.count == 1 else {
                throw QueryError("INCLUDE paths must start from the selected variable", at: position)
            }
            return try Self.includeTree(paths, root: selected, variable: selectPath[0], model: model)
        }
    }

    /// Resolves INCLUDE paths that start from `variable` (the selected one) or from a variable an earlier path
    /// defined.
    public static func includeTree(
        _ paths: [(path: [String], variable: String?, position: Int)],
        root: EntityDefinition,
        variable: String,
        model: EntityModel
    ) throws(QueryError) -> IncludeTree {
        var tree = IncludeTree()
        var variables: [String: (entity: EntityDefinition, path: [String])] = [Scope.key(variable): (root, [])]
        var seen: Set<[String]> = []
        for (path, newVariable, position) in paths {
            guard path.count >= 2 else {
                throw QueryError(
                    "INCLUDE path '\(path.joined(separator: "."))' must start with a variable and a relation",
                    at: position
                )
            }
            guard let start = variables[Scope.key(path[0])] else {
                throw QueryError(
                    "INCLUDE path '\(path.joined(separator: "."))' does not start from the selected variable or an INCLUDE variable",
                    at: position
                )
            }
            var entity = start.entity
            var full = start.path
            for step in path.dropFirst() {
                guard let field = entity.field(named: step), let target = field.target else {
                    throw QueryError("'\(step)' is not a relation of \(entity.name)", at: position)
                }
                full.append(step)
                entity = model.entity(named: target)!
                // Each step from an object along a relation is named once, as ICAT requires: `inv.a, inv.a.b`
                // names `inv.a` twice (`inv.a a, a.b` is the way to go further).
                guard seen.insert(full).inserted else {
                    throw QueryError(
                        "INCLUDE path '\(path.joined(separator: "."))' is redundant: it names the step '\(step)' a second time",
                        at: position
                    )
                }
            }
            tree.insert(full)
            if let newVariable {
                guard variables[Scope.key(newVariable)] == nil else {
                    throw QueryError("The variable '\(newVariable)' is defined twice", at: position)
                }
                variables[Scope.key(newVariable)] = (entity, full)
            }
        }
        return tree
    }
}
