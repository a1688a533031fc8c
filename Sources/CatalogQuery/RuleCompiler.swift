import CatalogSQL
import CatalogSchema

/// A rule's query compiled once: the entity it is about, and the SQL that selects the ids of the objects it
/// admits, with `:user` left as a placeholder for the caller.
public struct CompiledRule: Sendable {
    /// The entity the rule's query selects.
    public let entity: EntityDefinition
    /// For an update rule that selects an attribute (`SELECT ds.name FROM Dataset ds ...`): that attribute.
    public let attribute: String?
    /// `SELECT <alias>.id FROM ... WHERE ...`.
    public let ids: SQLFragment
    /// True when the rule admits every object of its entity (`Dataset`, `SELECT ds FROM Dataset ds`).
    public let isUnrestricted: Bool
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
        let context = CompilationContext(
            model: model,
            dialect: dialect,
            userName: nil,
            restriction: nil,
            aliasPrefix: "r"
        )
        let compiled = try context.compileSubquery(ruleSyntax, in: Scope(parent: nil), position: 0)
        guard case .entity(let entity, _) = compiled.type else {
            throw QueryError("A rule's query must select an entity (or, for update rules, an attribute)", at: 0)
        }
        var ids = compiled.sql
        // compileSubquery wraps its SQL in parentheses; keep the bare SELECT.
        ids.unwrapParentheses()
        // Unrestricted only when the rule selects the bare variable of its one entity with no condition:
        // `SELECT df.dataset FROM Datafile df` admits only datasets that have a datafile.
        var isUnrestricted = false
        if syntax.whereClause == nil, attribute == nil, syntax.from.count == 1,
            case .entity(_, let variable, _) = syntax.from[0], case .path(let parts, _) = selected, parts.count == 1,
            Scope.key(parts[0]) == Scope.key(variable)
        {
            isUnrestricted = true
        }
        return CompiledRule(entity: entity, attribute: attribute, ids: ids, isUnrestricted: isUnrestricted)
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
