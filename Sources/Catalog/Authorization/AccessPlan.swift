import CatalogSchema
import CatalogStore

/// One access check: whether the caller may `access` the objects `ids` of `entity`, or, for an update that names
/// `attribute`, change that attribute of them.
struct AccessCheck: Sendable, Equatable, CustomStringConvertible {
    let access: AccessType
    let entity: EntityDefinition
    let ids: [Int64]
    var attribute: String? = nil
    /// The item (of a batch, or an object of a data file) the objects belong to: where a refusal is reported.
    var item: Int? = nil

    static func == (lhs: AccessCheck, rhs: AccessCheck) -> Bool {
        lhs.access == rhs.access && lhs.entity.name == rhs.entity.name && lhs.ids == rhs.ids
            && lhs.attribute == rhs.attribute && lhs.item == rhs.item
    }

    /// `UPDATE Dataset.name [7]`, `CREATE Datafile [3, 4] item 2`.
    var description: String {
        let target = entity.name + (attribute.map { "." + $0 } ?? "")
        let ids = "[" + self.ids.map(String.init).joined(separator: ", ") + "]"
        return "\(access.rawValue) \(target) \(ids)" + (item.map { " item \($0)" } ?? "")
    }

    /// ICAT's `INSUFFICIENT_PRIVILEGES` for a refusal of this check, at its item.
    var denial: CatalogError {
        let error = CatalogError.denied(access, entity.name)
        return item.map { error.at(offset: $0) } ?? error
    }
}

/// The access checks one step of an operation needs, in the order ICAT makes them. A value, decided before any of
/// it runs (`Caller.check(_:on:)` runs it); every check must pass.
struct AccessPlan: Sendable, Equatable {
    var checks: [AccessCheck]

    init(_ checks: [AccessCheck] = []) {
        self.checks = checks
    }
}

/// Decides which access checks each write and read needs, and in which order, as ICAT does. It reads no database:
/// the rows to check are given (ids written, cascaded descendants found), so each plan is testable on its own.
///
/// - create, createMany and imports: once the rows are written, inside the transaction, CREATE on each top-level
///   object (its children are covered by it).
/// - update: before writing, DELETE on the object when a relation of one of its unique keys changes (the object
///   moves), otherwise UPDATE on each attribute given; after writing, CREATE on the object that moved and on each
///   child the update created.
/// - delete: DELETE on the object, then on everything that cascades from it, parents' entities first.
/// - clone: READ on the original, then CREATE on the copy once written. get: READ. isAccessAllowed: the access
///   asked, on the object (CREATE: on the object written in a transaction that is rolled back).
struct AccessPlanner: Sendable {
    let model: EntityModel

    /// CREATE on each newly written top-level object, in the order given.
    func created(_ objects: [(entity: EntityDefinition, id: Int64, item: Int?)]) -> AccessPlan {
        AccessPlan(objects.map { AccessCheck(access: .create, entity: $0.entity, ids: [$0.id], item: $0.item) })
    }

    /// Whether changing `fields` of an `entity` changes a relation that is part of one of its unique keys: ICAT
    /// then treats the update as deleting the object and creating it anew.
    func movesKey(_ entity: EntityDefinition, fields: some Sequence<String>) -> Bool {
        let keyRelations = Set(entity.uniqueKeys.joined()).filter { entity.field(named: $0)?.isOne == true }
        return !keyRelations.isDisjoint(with: fields)
    }

    /// Before an update writes `fields` of the object: DELETE when it moves, otherwise UPDATE on each attribute in
    /// name order (a rule that names no attribute allows every one).
    func updating(_ entity: EntityDefinition, id: Int64, fields: some Collection<String>) -> AccessPlan {
        if movesKey(entity, fields: fields) {
            return AccessPlan([AccessCheck(access: .delete, entity: entity, ids: [id])])
        }
        return AccessPlan(
            fields.sorted().map { AccessCheck(access: .update, entity: entity, ids: [id], attribute: $0) }
        )
    }

    /// After an update wrote `fields` of the object and created `children`: CREATE on the object when it moved,
    /// then on each child.
    func updated(
        _ entity: EntityDefinition,
        id: Int64,
        fields: some Collection<String>,
        children: [(EntityDefinition, Int64)]
    ) -> AccessPlan {
        var plan = AccessPlan()
        if movesKey(entity, fields: fields) {
            plan.checks.append(AccessCheck(access: .create, entity: entity, ids: [id]))
        }
        plan.checks += children.map { AccessCheck(access: .create, entity: $0.0, ids: [$0.1]) }
        return plan
    }

    /// Before deleting the object: DELETE on it, then on the objects that cascade from it (by entity name), in
    /// the order the model creates tables, parents before children.
    func deleting(_ entity: EntityDefinition, id: Int64, cascaded: [String: [Int64]]) -> AccessPlan {
        var plan = AccessPlan([AccessCheck(access: .delete, entity: entity, ids: [id])])
        for name in model.creationOrder {
            guard let ids = cascaded[name], !ids.isEmpty, let descendant = model.entity(named: name) else { continue }
            plan.checks.append(AccessCheck(access: .delete, entity: descendant, ids: ids))
        }
        return plan
    }

    /// `access` to one existing object as a whole: READ for get and before a clone, UPDATE on an object a data
    /// file overwrites, and what isAccessAllowed asks.
    func accessing(_ access: AccessType, _ entity: EntityDefinition, id: Int64) -> AccessPlan {
        AccessPlan([AccessCheck(access: access, entity: entity, ids: [id])])
    }
}

/// Runs access plans: one statement (per chunk of ids) for each access and entity a plan names, whatever the
/// number of its checks, then the checks in order. Root passes every check without a statement.
extension Caller {
    /// The first check of `plan` that refuses one of its objects; nil when the caller may do all of it.
    ///
    /// A check that names an attribute passes for the objects a rule without attribute admits, and for the others
    /// when a rule that names the attribute admits them.
    func firstRefused(_ plan: AccessPlan, on connection: any DatabaseConnection) async throws -> AccessCheck? {
        guard !isRoot, !plan.checks.isEmpty else { return nil }
        struct Target: Hashable {
            let access: AccessType
            let entity: String
        }
        var targets: [Target] = []
        var ids: [Target: (entity: EntityDefinition, ids: [Int64])] = [:]
        for check in plan.checks {
            let target = Target(access: check.access, entity: check.entity.name)
            if ids[target] == nil {
                targets.append(target)
                ids[target] = (check.entity, [])
            }
            ids[target]!.ids += check.ids
        }
        var refused: [Target: Set<Int64>] = [:]
        for target in targets {
            let (entity, targetIds) = ids[target]!
            refused[target] = Set(try await self.refused(target.access, entity, ids: targetIds, on: connection))
        }
        for check in plan.checks {
            let wholeRefused = refused[Target(access: check.access, entity: check.entity.name)]!
            var refusedHere = check.ids.filter(wholeRefused.contains)
            if let attribute = check.attribute, !refusedHere.isEmpty, namesAttribute(attribute, check) {
                refusedHere = try await self.refused(
                    check.access,
                    check.entity,
                    ids: refusedHere,
                    attribute: attribute,
                    on: connection
                )
            }
            if !refusedHere.isEmpty { return check }
        }
        return nil
    }

    /// Throws ICAT's `INSUFFICIENT_PRIVILEGES` for the first check of `plan` that refuses one of its objects.
    func check(_ plan: AccessPlan, on connection: any DatabaseConnection) async throws {
        if let refused = try await firstRefused(plan, on: connection) { throw refused.denial }
    }

    /// Whether one of the caller's rules for the check's access and entity names `attribute`.
    private func namesAttribute(_ attribute: String, _ check: AccessCheck) -> Bool {
        (rules[check.entity.name]?[check.access] ?? []).contains { $0.attribute == attribute }
    }

    /// Whether some rule lets the caller create objects of `entity` at all: a create of any other type is refused
    /// before anything is written, as no row could pass.
    func mayCreateAny(_ entity: EntityDefinition) -> Bool {
        if case .nothing = scope(.create, of: entity.name) { return false }
        return true
    }

    /// Whether the caller may do `access` to less than every object of one of `entities`: only then need the rows
    /// of those entities (an object's cascaded descendants) be looked up and checked.
    func restricts(_ access: AccessType, anyOf entities: Set<String>) -> Bool {
        entities.contains { name in
            if case .everything = scope(access, of: name) { return false }
            return true
        }
    }
}
