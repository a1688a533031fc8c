/// The parsed form of a query, before names are resolved against the entity model. Both the JPQL form and the
/// concise form parse into this.
public struct QuerySyntax: Sendable {
    public var distinct = false
    public var select: [Expression] = []
    public var from: [FromItem] = []
    public var whereClause: Expression?
    public var groupBy: [Expression] = []
    public var having: Expression?
    public var orderBy: [(Expression, ascending: Bool)] = []
    public var include: IncludeSyntax?
    public var offset: Int64 = 0
    public var limit: Int64?
}

/// An item of FROM: a root entity with its variable, or a join along a path from a variable.
public enum FromItem: Sendable {
    case entity(name: String, variable: String, position: Int)
    case join(path: [String], variable: String, kind: JoinKind, position: Int)
}

public enum JoinKind: Sendable {
    case inner
    case left
}

/// INCLUDE 1, or a list of paths each with an optional new variable.
public enum IncludeSyntax: Sendable {
    case one(position: Int)
    case paths([(path: [String], variable: String?, position: Int)])
    /// The concise form's `INCLUDE Dataset, Datafile`: entity names, joined along the unique paths.
    case entities([(name: String, position: Int)])
}

/// An expression or condition.
public indirect enum Expression: Sendable {
    case path([String], position: Int)
    case literal(Literal, position: Int)
    case parameter(String, position: Int)
    case unary(String, Expression, position: Int)
    case binary(String, Expression, Expression, position: Int)
    case not(Expression, position: Int)
    /// Two or more conditions that must all hold. A chain is one node, not a nested pair per operator, so that
    /// thousands of terms are compiled and released without deep recursion.
    case and([Expression])
    /// Two or more conditions of which one must hold; flat as `and` is.
    case or([Expression])
    case isNull(Expression, negated: Bool, position: Int)
    case isEmpty([String], negated: Bool, position: Int)
    case between(Expression, Expression, Expression, negated: Bool, position: Int)
    case like(Expression, Expression, escape: Expression?, negated: Bool, position: Int)
    case inList(Expression, [Expression], negated: Bool, position: Int)
    case inQuery(Expression, QuerySyntax, negated: Bool, position: Int)
    case memberOf(Expression, [String], negated: Bool, position: Int)
    case exists(QuerySyntax, negated: Bool, position: Int)
    /// `x op ANY|ALL|SOME (subquery)`.
    case quantified(String, Expression, quantifier: String, QuerySyntax, position: Int)
    case subquery(QuerySyntax, position: Int)
    case function(String, [Expression], position: Int)
    case aggregate(String, Expression, distinct: Bool, position: Int)
    /// TRIM([LEADING|TRAILING|BOTH] [character] FROM s).
    case trim(String, Expression?, Expression, position: Int)
    /// `x DERIVED FROM Dataset 12 [DEPTH n]` (x came of it) or `x ANCESTOR OF Datafile 7 [DEPTH n]` (it came of x).
    case provenance(Expression, ProvenancePredicate, negated: Bool, position: Int)

    public var position: Int {
        switch self {
        case .path(_, let p), .literal(_, let p), .parameter(_, let p), .unary(_, _, let p), .binary(_, _, _, let p),
            .not(_, let p), .isNull(_, _, let p), .isEmpty(_, _, let p), .between(_, _, _, _, let p),
            .like(_, _, _, _, let p), .inList(_, _, _, let p), .inQuery(_, _, _, let p), .memberOf(_, _, _, let p),
            .exists(_, _, let p), .quantified(_, _, _, _, let p), .subquery(_, let p), .function(_, _, let p),
            .aggregate(_, _, _, let p), .trim(_, _, _, let p), .provenance(_, _, _, let p):
            return p
        case .and(let terms), .or(let terms):
            return terms[0].position
        }
    }
}

public enum Literal: Sendable, Equatable {
    case integer(Int64)
    case real(Double)
    case string(String)
    case boolean(Bool)
    case timestamp(String)
    /// `org.icatproject.ParameterValueType.NUMERIC`: the enumeration's name and the value.
    case enumeration(String, String)
}

/// The query of `get`: an entity, an optional variable and an optional INCLUDE.
public struct GetSyntax: Sendable {
    public let entity: String
    public let position: Int
    public let variable: String?
    public let include: IncludeSyntax?
}

/// The other end of a provenance predicate: the node named, which way from it, and how many job hops at most.
public struct ProvenancePredicate: Sendable, Equatable {
    /// `.downstream` for DERIVED FROM (the variable lies downstream of the node), `.upstream` for ANCESTOR OF.
    public var direction: WalkDirection
    public var entity: String
    public var entityPosition: Int
    public var id: Int64
    /// Job hops; nil for the default (20).
    public var depth: Int64?
}
