import CatalogSQL
import CatalogSchema
import Foundation

/// What one selected item of a compiled query yields.
public enum ResultItem: Sendable {
    /// An entity: its columns, in `EntityDefinition.columns` order.
    case entity(EntityDefinition)
    /// One value of the given kind.
    case value(ValueKind)

    /// How many SQL columns the item takes.
    public var columnCount: Int {
        switch self {
        case .entity(let entity): entity.columns.count
        case .value: 1
        }
    }
}

/// The kind of a selected value, which says how to read it back from either database.
public enum ValueKind: Sendable, Equatable {
    case attribute(AttributeType)
    case integer
    case real
    case string
    case boolean
    case timestamp
}

/// Adds conditions to what a query may see: the hook through which authorization restricts a search to what the
/// caller may read.
///
/// The entity a query or any of its subqueries selects (or whose attribute or aggregate it selects) is always
/// restricted. Other variables (joins, path navigation, the members tested by `IS EMPTY` or `MEMBER OF`) are
/// restricted only when `restrictsEveryVariable` is true; otherwise they keep ICAT's meaning, and may be filtered
/// on without being readable.
public protocol QueryRestriction: Sendable {
    /// The condition on the row of `alias` (a table alias of `entity`); nil when every row is admitted.
    func condition(for entity: EntityDefinition, alias: String) -> SQLFragment?
    /// Whether every table a query reads is restricted, as row-level security does, not just what it selects.
    var restrictsEveryVariable: Bool { get }
}

extension QueryRestriction {
    public var restrictsEveryVariable: Bool { false }

    /// Whether some rows of `entity` are not admitted: a join that could be left out must then be written, so
    /// that its rows can be tested.
    func restricts(_ entity: EntityDefinition) -> Bool {
        condition(for: entity, alias: "r") != nil
    }
}

/// A query compiled for one database: the SQL, and how to read its rows.
public struct CompiledQuery: Sendable {
    public let sql: SQLFragment
    public let items: [ResultItem]
    /// What to load with entity results; empty when nothing.
    public let include: IncludeTree
    /// True when the query computes aggregates without GROUP BY, so it always yields exactly one row.
    public let isAggregate: Bool
}

/// Resolves a parsed query against the entity model and writes it as SQL for one dialect. Every literal becomes
/// a bound value.
public struct QueryCompiler: Sendable {
    public let model: EntityModel
    public let dialect: SQLDialect

    public init(model: EntityModel, dialect: SQLDialect) {
        self.model = model
        self.dialect = dialect
    }

    /// Compiles query text for a caller: `:user` is `userName`; `maximumRows`, when given, caps the rows read (the
    /// caller asks for one more than it allows, to tell an overflow).
    public func compile(
        _ text: String,
        userName: String,
        maximumRows: Int? = nil,
        restriction: (any QueryRestriction)? = nil
    ) throws(QueryError) -> CompiledQuery {
        try compile(Parser.parse(text), userName: userName, maximumRows: maximumRows, restriction: restriction)
    }

    public func compile(
        _ syntax: QuerySyntax,
        userName: String,
        maximumRows: Int? = nil,
        restriction: (any QueryRestriction)? = nil
    ) throws(QueryError) -> CompiledQuery {
        let context = CompilationContext(model: model, dialect: dialect, userName: userName, restriction: restriction)
        return try context.compileTop(syntax, maximumRows: maximumRows)
    }
}

/// A variable of a query: the entity it ranges over and its SQL alias.
struct Variable {
    let entity: EntityDefinition
    let alias: String
    /// For a variable joined along a required many-to-one relation (`JOIN ds.investigation i`): the parent's alias
    /// and the relation, whose foreign key is the variable's id without the join.
    var foreignKey: (parentAlias: String, field: Field)? = nil
}

/// The variables and joins of one SELECT (a query or a subquery), with a link to the enclosing one.
final class Scope {
    let parent: Scope?
    /// By `Scope.key(name)`: identification variables are case-insensitive, in JPQL and in ICAT.
    var variables: [String: Variable] = [:]
    /// The tables of the FROM clause and how each joins those before it, in order.
    var from: [JoinedTable] = []
    /// Inner joins along required many-to-one relations, by alias, written into `from` only once something needs
    /// more of the joined row than its id, which the foreign key holds: in `JOIN ds.investigation i JOIN
    /// i.investigationUsers iu`, `iu` joins `ds.investigation_id` and the investigation table is not read.
    var deferred: [String: JoinedTable] = [:]
    /// Aliases of outer joins (`LEFT JOIN ds.sample s`), whose rows may be all nulls: a relation from them may
    /// have no target even when it is required, so its join filters and cannot be left out.
    var nullable: Set<String> = []
    /// Implicit joins for path navigation, by "alias.field".
    var implicitJoins: [String: String] = [:]
    /// Aliases whose restriction is already among the scope's conditions.
    var restricted: Set<String> = []

    init(parent: Scope?) {
        self.parent = parent
    }

    func lookup(_ name: String) -> Variable? {
        variables[Self.key(name)] ?? parent?.lookup(name)
    }

    /// The key of a variable name: `ds`, `DS` and `Ds` are one variable.
    static func key(_ name: String) -> String { name.uppercased() }
}

/// A table of a FROM clause, and how it joins the tables before it.
///
/// The first table of a FROM clause is written bare; when it has an `on` condition (a subquery's `FROM
/// ds.datafiles df`, correlated with the outer `ds`, or a rule whose first table joins the object the rule is
/// about), that condition goes to the WHERE clause, which for an inner join means the same.
struct JoinedTable {
    enum Kind {
        case cross
        case inner
        case left
    }

    let kind: Kind
    /// The entity whose table this is.
    let entity: EntityDefinition
    let alias: String
    let on: SQLFragment?
}

/// The type of a compiled expression.
enum ExpressionType {
    /// An entity, reached either as a variable/joined alias or as a foreign key not yet joined.
    case entity(EntityDefinition, EntityReference)
    case value(ValueKind)
    /// A value whose kind comes from the other side of a comparison (a string literal that may be a date).
    case untypedString(String)

    var valueKind: ValueKind? {
        if case .value(let kind) = self { return kind }
        if case .untypedString = self { return .string }
        return nil
    }
}

enum EntityReference {
    case alias(String)
    case foreignKey(parentAlias: String, field: Field)
}

struct Compiled {
    var sql: SQLFragment
    var type: ExpressionType
}

extension QueryCompiler {
    /// Resolves the query of `get`: its entity and what to include.
    public func resolveGet(_ text: String) throws(QueryError) -> (entity: EntityDefinition, include: IncludeTree) {
        let syntax = try Parser.parseGet(text)
        guard let entity = model.entity(named: syntax.entity) else {
            throw QueryError("'\(syntax.entity)' is not an entity type", at: syntax.position)
        }
        switch syntax.include {
        case nil:
            return (entity, IncludeTree())
        case .one?:
            return (entity, .oneLevel(of: entity))
        case .paths(let paths)?:
            guard let variable = syntax.variable else {
                throw QueryError(
                    "INCLUDE paths need a variable: e.g. '\(entity.name) x INCLUDE x.relation'",
                    at: paths[0].position
                )
            }
            return (entity, try CompilationContext.includeTree(paths, root: entity, variable: variable, model: model))
        case .entities?:
            throw QueryError("Unexpected INCLUDE form", at: syntax.position)
        }
    }
}
