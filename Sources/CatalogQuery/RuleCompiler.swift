import CatalogSQL
import CatalogSchema

/// A rule's query compiled once: the entity it is about, and a condition on one row of that entity's table that
/// holds when the rule admits the row, with the row's alias and `:user` left as placeholders for the query and
/// caller it is used for.
public struct CompiledRule: Sendable {
    /// The entity the rule's query selects.
    public let entity: EntityDefinition
    /// For an update rule that selects an attribute (`SELECT ds.name FROM Dataset ds ...`): that attribute.
    public let attribute: String?
    /// True when the rule admits every object of its entity (`Dataset`, `SELECT ds FROM Dataset ds`).
    public let isUnrestricted: Bool
    /// True when the rule joins no other table to the row (`SELECT i FROM Investigation i WHERE i.releaseDate <
    /// CURRENT_TIMESTAMP`): usually the cheapest condition, so it is tested first.
    public let isOnRowAlone: Bool
    /// The condition, with a slot for the tested row's alias.
    let condition: SQLFragment

    /// Stands for the tested row's alias while the rule compiles; then marked as a slot.
    static let rowAlias = "\u{1}row"

    /// The condition on the row of `alias` (a table alias of `entity`), for the caller `userName`.
    ///
    /// The rule's query becomes a correlated `EXISTS` in which the rule's own variable is the tested row: its
    /// table is left out of the subquery (`SELECT df FROM Datafile df JOIN df.dataset ds ... WHERE C` becomes
    /// `EXISTS (SELECT 1 FROM dataset r1 ... WHERE r1.id = row.dataset_id AND C)`), or the whole subquery when
    /// nothing else is joined. The planner can then test each row by index or hash the subquery once, whichever
    /// is cheaper; an `IN (SELECT id ...)` per rule forces the second.
    public func condition(alias: String, userName: String) -> SQLFragment {
        condition.filling(rowAlias: alias, userName: userName)
    }

    /// The condition that any of `rules` admits the row of `alias`: the rules that read only the row first.
    public static func anyAdmits(_ rules: [CompiledRule], alias: String, userName: String) -> SQLFragment {
        let ordered = rules.filter(\.isOnRowAlone) + rules.filter { !$0.isOnRowAlone }
        var sql = SQLFragment("(")
        for (index, rule) in ordered.enumerated() {
            if index > 0 { sql.append(" OR ") }
            sql.append(rule.condition(alias: alias, userName: userName))
        }
        sql.append(")")
        return sql
    }
}

extension QueryCompiler {
    /// Compiles the `what` of a rule: a query in either syntax selecting one entity, or, for update rules, one
    /// attribute of an entity. Aliases start with `r`, so the SQL can sit inside a query compiled with `t` aliases.
    public func compileRule(_ what: String) throws(QueryError) -> CompiledRule {
        let syntax = try Parser.parse(what)
        guard syntax.select.count == 1 else { throw QueryError("A rule's query must select one entity", at: 0) }
        guard syntax.include == nil, syntax.limit == nil, syntax.offset == 0, syntax.groupBy.isEmpty,
            syntax.having == nil
        else {
            throw QueryError("A rule's query may not use INCLUDE, LIMIT, GROUP BY or HAVING", at: 0)
        }
        var selected = syntax.select[0]
        var attribute: String?
        if case .path(let parts, let position) = selected, parts.count >= 2,
            let root = Self.rootEntity(of: parts[0], in: syntax, model: model)
        {
            // SELECT ds.name FROM Dataset ds: the attribute, on the variable's entity.
            if case .attribute? = root.field(named: parts[1])?.kind, parts.count == 2 {
                attribute = parts[1]
                selected = .path([parts[0]], position: position)
            }
        }
        if case .aggregate(_, _, _, let position) = selected {
            throw QueryError("A rule's query must select an entity, not an aggregate", at: position)
        }
        var ruleSyntax = syntax
        ruleSyntax.select = [selected]
        ruleSyntax.orderBy = []
        ruleSyntax.distinct = false
        let (entity, condition, isOnRowAlone) = try compileRuleCondition(ruleSyntax)
        // Unrestricted only when the rule selects the bare variable of its one entity with no condition:
        // `SELECT df.dataset FROM Datafile df` admits only datasets that have a datafile.
        var isUnrestricted = false
        if syntax.whereClause == nil, attribute == nil, syntax.from.count == 1,
            case .entity(_, let variable, _) = syntax.from[0], case .path(let parts, _) = selected, parts.count == 1,
            Scope.key(parts[0]) == Scope.key(variable)
        {
            isUnrestricted = true
        }
        return CompiledRule(
            entity: entity,
            attribute: attribute,
            isUnrestricted: isUnrestricted,
            isOnRowAlone: isOnRowAlone,
            condition: condition.markingRowAlias(CompiledRule.rowAlias)
        )
    }

    /// The rule's condition on `CompiledRule.rowAlias`, its entity, and whether it reads only that row.
    private func compileRuleCondition(
        _ syntax: QuerySyntax
    ) throws(QueryError) -> (EntityDefinition, SQLFragment, Bool) {
        let row = CompiledRule.rowAlias
        // Rules are compiled without a caller (`:user` is a slot), with aliases that cannot clash with a query's.
        func newContext() -> CompilationContext {
            CompilationContext(model: model, dialect: dialect, userName: nil, restriction: nil, aliasPrefix: "r")
        }
        // The selected variable is the tested row when it is the first FROM entity, and what is joined to it does
        // not start with an outer join (which needs a table on its left).
        if case .path(let parts, _) = syntax.select[0], parts.count == 1,
            case .entity(let name, let variable, let position) = syntax.from.first,
            Scope.key(variable) == Scope.key(parts[0])
        {
            let context = newContext()
            let scope = Scope(parent: nil)
            let entity = try context.entity(named: name, at: position)
            try context.declare(variable, entity: entity, alias: row, in: scope, at: position)
            try context.compileFrom(Array(syntax.from.dropFirst()), in: scope, isSubquery: false)
            let whereSQL = try syntax.whereClause.map { (w) throws(QueryError) in
                try context.refuseAggregates(in: w, clause: "WHERE")
                return try context.condition(w, in: scope)
            }
            if scope.from.isEmpty {
                return (entity, "(" + (whereSQL ?? SQLFragment("1 = 1")) + ")", true)
            }
            if scope.from[0].kind != .left {
                var sql = SQLFragment("EXISTS (SELECT 1")
                context.appendFromWhereGroupHaving(
                    to: &sql,
                    scope: scope,
                    conditions: whereSQL.map { [$0] } ?? [],
                    groups: [],
                    having: nil
                )
                sql.append(")")
                return (entity, sql, false)
            }
        }
        // Otherwise: the rule's query as a subquery, its selected object being the tested row.
        let compiled = try newContext().compileSubquery(
            syntax,
            in: Scope(parent: nil),
            position: 0,
            extraCondition: { item, _ in item.sql + " = \(row).\(dialect.quote("id"))" },
            selectOne: true
        )
        guard case .entity(let entity, _) = compiled.type else {
            throw QueryError("A rule's query must select an entity (or, for update rules, an attribute)", at: 0)
        }
        return (entity, "EXISTS " + compiled.sql, false)
    }

    static func rootEntity(of variable: String, in syntax: QuerySyntax, model: EntityModel) -> EntityDefinition? {
        for item in syntax.from {
            if case .entity(let name, let declared, _) = item, Scope.key(declared) == Scope.key(variable) {
                return model.entity(named: name)
            }
        }
        return nil
    }
}
