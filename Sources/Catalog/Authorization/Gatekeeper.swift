import CatalogQuery
import CatalogSQL
import CatalogSchema
import CatalogStore
import Logging

/// The kinds of access a rule can grant, with ICAT's names.
public enum AccessType: String, Sendable, CaseIterable {
    case create = "CREATE"
    case read = "READ"
    case update = "UPDATE"
    case delete = "DELETE"
}

/// Decides who may do what, as ICAT's rules say: root users may do everything; anyone else may do to an object
/// what one of their rules (a rule of a grouping they belong to, or of no grouping) admits.
public struct Gatekeeper: Sendable {
    public let rootUserNames: Set<String>
    let ruleBook: RuleBook
    /// Whether a search's joined variables are restricted too (`authorization: {restrictJoins: true}`).
    let restrictsJoins: Bool

    init(rootUserNames: Set<String>, ruleBook: RuleBook, restrictsJoins: Bool = false) {
        self.rootUserNames = rootUserNames
        self.ruleBook = ruleBook
        self.restrictsJoins = restrictsJoins
    }

    public func isRoot(_ userName: String) -> Bool {
        rootUserNames.contains(userName)
    }

    /// The caller of a request, with the rules that apply to them; reads the database only when the rules or
    /// the user's groupings are not known yet at the session's rules version.
    func caller(_ session: Session, database: any Database) async throws -> Caller {
        if isRoot(session.userName) {
            return Caller(
                userName: session.userName,
                isRoot: true,
                rules: [:],
                publicSteps: [],
                restrictsJoins: restrictsJoins
            )
        }
        let applicable = try await ruleBook.applicable(
            version: session.rulesVersion,
            userName: session.userName,
            database: database
        )
        return Caller(
            userName: session.userName,
            isRoot: false,
            rules: applicable.rules,
            publicSteps: applicable.publicSteps,
            restrictsJoins: restrictsJoins
        )
    }
}

/// Who is calling and the rules that apply to them: what the gatekeeper decided for one request.
struct Caller: Sendable {
    let userName: String
    let isRoot: Bool
    let rules: [String: [AccessType: [CompiledRule]]]
    let publicSteps: Set<String>
    /// Whether a search's joined variables are restricted like its selected entity.
    let restrictsJoins: Bool

    /// What of `entity` the caller may access.
    enum Scope {
        case everything
        case nothing
        /// The objects the SQL conditions admit (any of them).
        case admittedBy([CompiledRule])
    }

    func scope(_ access: AccessType, of entity: String, attribute: String? = nil) -> Scope {
        if isRoot { return .everything }
        let rules = (self.rules[entity]?[access] ?? []).filter { rule in
            rule.attribute == nil || rule.attribute == attribute
        }
        if rules.isEmpty { return .nothing }
        if rules.contains(where: \.isUnrestricted) { return .everything }
        return .admittedBy(rules)
    }

    /// The SQL condition on `alias` (a table alias of `entity`) that admits what the caller may access; nil when
    /// everything is admitted.
    func condition(_ access: AccessType, of entity: String, alias: String) -> SQLFragment? {
        switch scope(access, of: entity) {
        case .everything: return nil
        case .nothing: return "1 = 0"
        case .admittedBy(let rules): return CompiledRule.anyAdmits(rules, alias: alias, userName: userName)
        }
    }

    /// Whether an INCLUDE step from `origin` along `field` needs no READ check of what it reaches.
    func isPublicStep(from origin: String, along field: String) -> Bool {
        isRoot || publicSteps.contains(origin + "." + field)
    }

    /// The ids among `ids` (objects of `entity`) that the caller may not access: one statement per chunk of ids,
    /// none when the rules decide alone. Plans of checks run through `firstRefused(_:on:)` (AccessPlan.swift).
    func refused(
        _ access: AccessType,
        _ entity: EntityDefinition,
        ids: [Int64],
        attribute: String? = nil,
        on connection: any DatabaseConnection
    ) async throws -> [Int64] {
        switch scope(access, of: entity.name, attribute: attribute) {
        case .everything:
            return []
        case .nothing:
            return ids
        case .admittedBy(let rules):
            let dialect = connection.dialect
            var admitted: Set<Int64> = []
            let unique = Array(Set(ids)).sorted()
            var start = 0
            while start < unique.count {
                let chunk = unique[start..<min(start + EntityTable.maximumListLength, unique.count)]
                let sql: SQLFragment = """
                    SELECT a.\(identifier: "id") FROM \(identifier: entity.table) a \
                    WHERE a.\(identifier: "id") IN (\(list: chunk.map(SQLValue.integer))) \
                    AND \(CompiledRule.anyAdmits(rules, alias: "a", userName: userName))
                    """
                for row in try await connection.query(sql.statement(dialect)) {
                    if let id = row[0].int64Value { admitted.insert(id) }
                }
                start += EntityTable.maximumListLength
            }
            return ids.filter { !admitted.contains($0) }
        }
    }

    /// The restriction the query compiler adds to a search: nil for root, who reads everything.
    var readRestriction: (any QueryRestriction)? {
        isRoot ? nil : ReadRestriction(caller: self)
    }
}

/// Restricts a search to what the caller may read: the entity it and each of its subqueries select, and, with
/// `restrictJoins`, every variable it names.
struct ReadRestriction: QueryRestriction {
    let caller: Caller

    func condition(for entity: EntityDefinition, alias: String) -> SQLFragment? {
        caller.condition(.read, of: entity.name, alias: alias)
    }

    var restrictsEveryVariable: Bool { caller.restrictsJoins }
}

extension CatalogError {
    static func denied(_ access: AccessType, _ entity: String) -> CatalogError {
        CatalogError(.insufficientPrivileges, "\(access.rawValue) access to this \(entity) is not allowed.")
    }
}
