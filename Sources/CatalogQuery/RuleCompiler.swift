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
    /// True when the condition joins no other table to the row it tests (`SELECT i FROM Investigation i WHERE
    /// i.releaseDate < CURRENT_TIMESTAMP`): usually the cheapest condition, so it is tested first.
    public let isOnRowAlone: Bool
    /// The many-to-one steps from the tested row to the object `condition` is about; nil when it is about the row.
    let chain: RuleChain?
    /// The condition, with a slot for the alias of the row it tests (the chain's last object, if any).
    let condition: SQLFragment

    /// Stands for the tested row's alias while the rule compiles; then marked as a slot.
    static let rowAlias = SQLFragment.rowPlaceholder

    /// The condition on the row of `alias` (a table alias of `entity`), for the caller `userName`.
    ///
    /// The rule's query becomes a correlated `EXISTS` in which the rule's own variable is the tested row: its
    /// table is left out of the subquery (`SELECT df FROM Datafile df JOIN df.dataset ds ... WHERE C` becomes
    /// `EXISTS (SELECT 1 FROM dataset r1 ... WHERE r1.id = row.dataset_id AND C)`), or the whole subquery when
    /// nothing else is joined. The planner can then test each row by index or hash the subquery once, whichever
    /// is cheaper; an `IN (SELECT id ...)` per rule forces the second.
    public func condition(alias: String, userName: String) -> SQLFragment {
        Self.anyAdmits([self], alias: alias, userName: userName)
    }

    /// The condition that any of `rules` admits the row of `alias`: the rules that read only the row first.
    ///
    /// Rules that reach the same object through the same many-to-one steps (every Datafile rule of a facility's
    /// rule set is about `df.dataset.investigation`) share one `EXISTS` over the steps before that object, their
    /// conditions on it inside: a condition that needs only the object's key takes it from the reference to it,
    /// the others share one `EXISTS` on the object's own row. A member's Datafile restriction is `EXISTS (SELECT 1
    /// FROM dataset c1 WHERE c1.id = row.dataset_id AND (EXISTS (member of c1.investigation_id) OR ... OR EXISTS
    /// (SELECT 1 FROM investigation c2 WHERE c2.id = c1.investigation_id AND c2.releaseDate < ...)))`. The planner
    /// then reaches the dataset once for all of its datafiles (alone, the `EXISTS` becomes a join) and hashes the
    /// member's few investigations, not every dataset under them, as hand-written SQL would.
    public static func anyAdmits(_ rules: [CompiledRule], alias: String, userName: String) -> SQLFragment {
        var direct: [CompiledRule] = []
        var chained: [(chain: RuleChain, rules: [CompiledRule])] = []
        for rule in rules {
            guard let chain = rule.chain else {
                direct.append(rule)
                continue
            }
            if let index = chained.firstIndex(where: { $0.chain.key == chain.key }) {
                chained[index].rules.append(rule)
            } else {
                chained.append((chain, [rule]))
            }
        }
        var terms = cheapestFirst(direct).map { $0.condition.filling(rowAlias: alias, userName: userName) }
        for (chain, rules) in chained {
            terms += chain.admits(cheapestFirst(rules), alias: alias, userName: userName)
        }
        return disjunction(terms)
    }

    /// `(a OR b OR ...)`.
    static func disjunction(_ terms: [SQLFragment]) -> SQLFragment {
        "(\(terms.joined(separator: " OR ")))"
    }

    private static func cheapestFirst(_ rules: [CompiledRule]) -> [CompiledRule] {
        rules.filter(\.isOnRowAlone) + rules.filter { !$0.isOnRowAlone }
    }
}

/// The many-to-one steps from a rule's tested row to the object its condition is about (`df.dataset.investigation`).
struct RuleChain: Sendable {
    /// The same for every rule that takes the same steps from the same entity.
    let key: String
    /// The tables of the objects the steps reach, the last being the one the conditions are about.
    let tables: [String]
    /// The reference column of each step, on the table before it (the tested row's for the first).
    let references: [String]
    /// Whether the last step's reference is never null (a foreign key): only then can a condition that reads
    /// nothing but the last object's key take it from the reference, since an inner join drops a null one.
    let lastIsRequired: Bool

    /// The terms that admit the row of `alias` when one of `rules` admits the object the steps reach. Objects
    /// before the last are aliased `c1`, `c2`, ... (rules' own aliases start with `r`, a query's with `t`).
    func admits(_ rules: [CompiledRule], alias: String, userName: String) -> [SQLFragment] {
        let last = tables.count
        // Where the last object's key is read: the reference to it.
        let anchorKey: SQLFragment =
            last == 1
            ? "\(alias: alias).\(identifier: references[0])"
            : "\(alias: "c\(last - 1)").\(identifier: references[last - 1])"
        let fromReference = rules.filter { lastIsRequired && $0.condition.readsOnlyRowKey }
        var inner = fromReference.map { $0.condition.filling(rowAlias: "", rowKey: anchorKey, userName: userName) }
        let onRow = rules.filter { !(lastIsRequired && $0.condition.readsOnlyRowKey) }
        if !onRow.isEmpty {
            let anchor = "c\(last)"
            let conditions = onRow.map { $0.condition.filling(rowAlias: anchor, userName: userName) }
            inner.append(
                """
                EXISTS (SELECT 1 FROM \(identifier: tables[last - 1]) \(alias: anchor) \
                WHERE \(alias: anchor).\(identifier: "id") = \(anchorKey) AND \(CompiledRule.disjunction(conditions)))
                """
            )
        }
        guard last > 1 else { return inner }
        var term: SQLFragment = "EXISTS (SELECT 1 FROM \(identifier: tables[0]) c1"
        for index in 1..<(last - 1) {
            let (joined, before) = ("c\(index + 1)", "c\(index)")
            term.append(
                """
                 JOIN \(identifier: tables[index]) \(alias: joined) \
                ON \(alias: joined).\(identifier: "id") = \(alias: before).\(identifier: references[index])
                """
            )
        }
        term.append(" WHERE c1.\(identifier: "id") = \(alias: alias).\(identifier: references[0]) AND ")
        term.append("\(CompiledRule.disjunction(inner)))")
        return [term]
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
        let entity: EntityDefinition
        let condition: SQLFragment
        let isOnRowAlone: Bool
        let chain: RuleChain?
        if let (steps, anchorSyntax) = factorChain(ruleSyntax) {
            entity = steps.first!.from
            (_, condition, isOnRowAlone) = try compileRuleCondition(anchorSyntax)
            chain = ruleChain(steps)
        } else {
            (entity, condition, isOnRowAlone) = try compileRuleCondition(ruleSyntax)
            chain = nil
        }
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
            chain: chain,
            condition: condition.markingRow(CompiledRule.rowAlias, keyColumn: "id")
        )
    }

    /// One many-to-one step of a rule's chain: from an entity along a reference to the entity it names.
    struct ChainStep {
        let from: EntityDefinition
        let field: Field
        let to: EntityDefinition
    }

    /// A rule that selects its first variable and joins, first, along many-to-one references from it (`SELECT df
    /// FROM Datafile df JOIN df.dataset ds JOIN ds.investigation i JOIN i.investigationUsers iu ... WHERE ...`),
    /// as those steps and the rule about the last object they reach (`SELECT i FROM Investigation i JOIN
    /// i.investigationUsers iu ... WHERE ...`). The steps go as far as nothing after them names a variable they
    /// pass; nil when there is no such step.
    func factorChain(_ syntax: QuerySyntax) -> ([ChainStep], QuerySyntax)? {
        guard case .path(let selected, _) = syntax.select.first, selected.count == 1,
            case .entity(let name, let first, _) = syntax.from.first, Scope.key(first) == Scope.key(selected[0]),
            var current = model.entity(named: name)
        else { return nil }
        var passed: Set<String> = []
        var anchorVariable = Scope.key(first)
        var steps: [ChainStep] = []
        var index = 1
        while index < syntax.from.count, case .join(let path, let variable, .inner, _) = syntax.from[index],
            path.count == 2, Scope.key(path[0]) == anchorVariable, let field = current.field(named: path[1]),
            case .one(let target) = field.kind, field.column != nil, let next = model.entity(named: target)
        {
            let beyond = passed.union([anchorVariable])
            let rest = Array(syntax.from[(index + 1)...])
            if Self.names(beyond, in: rest, [syntax.whereClause].compactMap { $0 }) { break }
            passed = beyond
            anchorVariable = Scope.key(variable)
            steps.append(ChainStep(from: current, field: field, to: next))
            current = next
            index += 1
        }
        guard !steps.isEmpty, case .join(_, let variable, _, let position) = syntax.from[index - 1] else { return nil }
        var anchor = syntax
        anchor.select = [.path([variable], position: position)]
        anchor.from =
            [.entity(name: current.name, variable: variable, position: position)]
            + syntax.from[index...]
        return (steps, anchor)
    }

    /// The chain of `steps`.
    func ruleChain(_ steps: [ChainStep]) -> RuleChain {
        RuleChain(
            key: steps.map { $0.from.name + "." + $0.field.name }.joined(separator: "/"),
            tables: steps.map { $0.to.table },
            references: steps.map { $0.field.column! },
            lastIsRequired: steps.last!.field.required
        )
    }

    /// Whether any of `variables` (`Scope.key`s) is named in `from` or `expressions`, subqueries included. A
    /// subquery's own variable of the same name counts too: the answer errs towards yes.
    static func names(_ variables: Set<String>, in from: [FromItem], _ expressions: [Expression]) -> Bool {
        func named(_ path: [String]) -> Bool { path.first.map { variables.contains(Scope.key($0)) } ?? false }
        var work = expressions
        var queries: [QuerySyntax] = []
        var froms = [from]
        while true {
            for items in froms {
                for case .join(let path, _, _, _) in items where named(path) { return true }
            }
            froms = []
            for query in queries {
                froms.append(query.from)
                work += query.select + query.groupBy + query.orderBy.map(\.0)
                work += [query.whereClause, query.having].compactMap { $0 }
            }
            queries = []
            guard let expression = work.popLast() else {
                if froms.isEmpty { return false }
                continue
            }
            switch expression {
            case .path(let path, _), .isEmpty(let path, _, _):
                if named(path) { return true }
            case .literal, .parameter:
                break
            case .unary(_, let a, _), .not(let a, _), .isNull(let a, _, _), .aggregate(_, let a, _, _),
                .provenance(let a, _, _, _):
                work.append(a)
            case .binary(_, let a, let b, _):
                work += [a, b]
            case .and(let terms), .or(let terms), .function(_, let terms, _):
                work += terms
            case .between(let a, let b, let c, _, _):
                work += [a, b, c]
            case .like(let a, let b, let escape, _, _):
                work += [a, b] + [escape].compactMap { $0 }
            case .inList(let a, let list, _, _):
                work += [a] + list
            case .inQuery(let a, let query, _, _), .quantified(_, let a, _, let query, _):
                work.append(a)
                queries.append(query)
            case .memberOf(let a, let path, _, _):
                if named(path) { return true }
                work.append(a)
            case .exists(let query, _, _), .subquery(let query, _):
                queries.append(query)
            case .trim(_, let character, let a, _):
                work += [character, a].compactMap { $0 }
            }
        }
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
                return (entity, "(\(whereSQL ?? "1 = 1"))", true)
            }
            if scope.from[0].kind != .left {
                var sql: SQLFragment = "EXISTS (SELECT 1"
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
            extraCondition: { item, _ in "\(item.sql) = \(alias: row).\(identifier: "id")" },
            selectOne: true
        )
        guard case .entity(let entity, _) = compiled.type else {
            throw QueryError("A rule's query must select an entity (or, for update rules, an attribute)", at: 0)
        }
        return (entity, "EXISTS \(compiled.sql)", false)
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
