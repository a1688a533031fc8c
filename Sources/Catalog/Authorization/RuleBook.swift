import CatalogQuery
import CatalogSQL
import CatalogSchema
import CatalogStore
import Logging
import Synchronization

/// The rules and public steps of one version of the authorization tables, compiled.
struct RuleSnapshot: Sendable {
    struct Rule: Sendable {
        let id: Int64
        /// The grouping whose members the rule applies to; nil for every logged-in user.
        let grouping: Int64?
        let compiled: CompiledRule
    }

    let version: Int64
    /// Rules by entity name and access type.
    let rules: [String: [AccessType: [Rule]]]
    /// `origin.field` of every public step.
    let publicSteps: Set<String>
}

/// Compiles the rules once per version of the authorization tables and remembers which of them apply to each
/// user, so that a request costs no rule parsing and, usually, no query and no connection.
///
/// The version moves on (by triggers, see `Migrations/*/0002_rules_version.sql`) whenever rules, public steps,
/// groupings, group members or users change, whichever server changed them; each request reads it together with
/// its session.
final class RuleBook: Sendable {
    /// The rules that apply to one user, by entity name and access type, and the public steps.
    struct Applicable: Sendable {
        let rules: [String: [AccessType: [CompiledRule]]]
        let publicSteps: Set<String>
    }

    let model: EntityModel
    let logger: Logger
    private struct State {
        var snapshot: RuleSnapshot?
        var users: [String: Applicable] = [:]
    }
    private let state = Mutex(State())

    init(model: EntityModel, logger: Logger) {
        self.model = model
        self.logger = logger
    }

    /// The rules at `version` that apply to `userName`: those of no grouping and those of the user's groupings.
    func applicable(version: Int64, userName: String, database: any Database) async throws -> Applicable {
        let cached = state.withLock { state -> (RuleSnapshot, Applicable?)? in
            guard let snapshot = state.snapshot, snapshot.version == version else { return nil }
            return (snapshot, state.users[userName])
        }
        if let applicable = cached?.1 { return applicable }
        let known = cached?.0
        let (snapshot, groupings) = try await database.withConnection { connection in
            let snapshot: RuleSnapshot
            if let known { snapshot = known } else { snapshot = try await self.load(version: version, on: connection) }
            return (snapshot, try await self.groupings(of: userName, on: connection))
        }
        var rules: [String: [AccessType: [CompiledRule]]] = [:]
        for (entity, byAccess) in snapshot.rules {
            for (access, all) in byAccess {
                let mine = all.filter { rule in rule.grouping.map(groupings.contains) ?? true }.map { $0.compiled }
                if !mine.isEmpty { rules[entity, default: [:]][access] = mine }
            }
        }
        let applicable = Applicable(rules: rules, publicSteps: snapshot.publicSteps)
        state.withLock { state in
            if state.snapshot?.version != snapshot.version {
                state.snapshot = snapshot
                state.users = [:]
            }
            state.users[userName] = applicable
        }
        return applicable
    }

    private func column(_ entity: String, _ field: String) -> String {
        model.entity(named: entity)!.field(named: field)!.column!
    }

    private func load(version: Int64, on connection: any DatabaseConnection) async throws -> RuleSnapshot {
        let dialect = connection.dialect
        let ruleTable = model.entity(named: "Rule")!.table
        let ruleColumns = ["id", column("Rule", "crudFlags"), column("Rule", "what"), column("Rule", "grouping")]
        let selectRules: SQLFragment = "SELECT \(identifiers: ruleColumns) FROM \(identifier: ruleTable)"
        let rows = try await connection.query(selectRules.statement(dialect))
        let compiler = QueryCompiler(model: model, dialect: dialect)
        var rules: [String: [AccessType: [RuleSnapshot.Rule]]] = [:]
        for row in rows {
            guard let id = row[0].int64Value, let flags = row[1].stringValue, let what = row[2].stringValue else {
                continue
            }
            let compiled: CompiledRule
            do {
                compiled = try compiler.compileRule(what)
            } catch {
                logger.error("Rule \(id) is ignored: its query '\(what)' does not compile: \(error)")
                continue
            }
            let rule = RuleSnapshot.Rule(id: id, grouping: row[3].int64Value, compiled: compiled)
            for access in AccessType.allCases where flags.uppercased().contains(access.flag) {
                rules[compiled.entity.name, default: [:]][access, default: []].append(rule)
            }
        }
        let stepTable = model.entity(named: "PublicStep")!.table
        let stepColumns = [column("PublicStep", "origin"), column("PublicStep", "field")]
        let selectSteps: SQLFragment = "SELECT \(identifiers: stepColumns) FROM \(identifier: stepTable)"
        let steps = try await connection.query(selectSteps.statement(dialect))
        let publicSteps = Set(
            steps.compactMap { row -> String? in
                guard let origin = row[0].stringValue, let field = row[1].stringValue else { return nil }
                return origin + "." + field
            }
        )
        return RuleSnapshot(version: version, rules: rules, publicSteps: publicSteps)
    }

    private func groupings(of userName: String, on connection: any DatabaseConnection) async throws -> Set<Int64> {
        let userGroup = model.entity(named: "UserGroup")!.table
        let user = model.entity(named: "User")!.table
        let select: SQLFragment = """
            SELECT g.\(identifier: column("UserGroup", "grouping")) FROM \(identifier: userGroup) g \
            JOIN \(identifier: user) u ON u.\(identifier: "id") = g.\(identifier: column("UserGroup", "user")) \
            WHERE u.\(identifier: column("User", "name")) = \(userName)
            """
        return Set(try await connection.query(select.statement(connection.dialect)).compactMap { $0[0].int64Value })
    }
}

extension AccessType {
    /// The letter of `Rule.crudFlags` that grants this access.
    var flag: String {
        switch self {
        case .create: "C"
        case .read: "R"
        case .update: "U"
        case .delete: "D"
        }
    }
}
