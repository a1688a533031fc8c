import CatalogSQL
import CatalogSchema
import CatalogStore
import Foundation
import Logging

/// Creates, updates, deletes and clones objects inside a transaction, with ICAT's validation: mandatory
/// fields, string lengths, parameter types, unique keys and references.
struct EntityWriter: Sendable {
    let model: EntityModel
    let codec: EntityCodec
    let parameters: ParameterCheck?
    let authorizationTables: AuthorizationTableCheck
    let logger: Logger

    init(model: EntityModel, logger: Logger) {
        self.model = model
        self.codec = EntityCodec(model: model)
        self.parameters = ParameterCheck(model: model)
        self.authorizationTables = AuthorizationTableCheck(model: model)
        self.logger = logger
    }

    // MARK: Create

    /// Inserts `input` and, cascading, its children; returns the new id.
    func create(
        _ input: EntityInput,
        user: String,
        now: Date,
        on connection: any DatabaseConnection,
        parent: (field: String, id: Int64)? = nil
    ) async throws -> Int64 {
        let entity = input.entity
        if input.id != nil, parent == nil {
            throw CatalogError.badParameter(
                "A new \(entity.name) must not have an id; use update to change an existing one"
            )
        }
        var values = input.values
        if let parent { values[parent.field] = .integer(parent.id) }
        values = try prepare(entity, values, user: user, now: now, dialect: connection.dialect)
        try await parameters?.check(entity, values: values, on: connection)
        let table = EntityTable(entity: entity, dialect: connection.dialect)
        let id: Int64
        do {
            guard let row = try await connection.query(table.insert(values)).first, let newId = row[0].int64Value else {
                throw CatalogError(.internal, "The database returned no id for the new \(entity.name)")
            }
            id = newId
        } catch let error as DatabaseError {
            throw await explain(error, entity: entity, values: values, on: connection)
        }
        for (relation, items) in input.children {
            guard case .many(_, let inverse, _) = relation.kind else { continue }
            for item in items {
                _ = try await create(item, user: user, now: now, on: connection, parent: (inverse, id))
            }
        }
        return id
    }

    /// The complete column values of a new object: defaults filled in, mandatory fields and string lengths checked,
    /// the managed fields set (those `given` holds are kept when `keepManaged`), rules and public steps checked.
    /// Parameter values are checked separately, against their types in the database.
    func prepare(
        _ entity: EntityDefinition,
        _ given: [String: SQLValue],
        user: String,
        now: Date,
        dialect: SQLDialect,
        keepManaged: Bool = false
    ) throws(CatalogError) -> [String: SQLValue] {
        var values = given
        for field in entity.fields where !field.isManaged && !field.isMany {
            let value = values[field.name]
            if value == nil || value!.isNull {
                if let defaultValue = field.defaultValue, let attributeType = field.attributeType {
                    values[field.name] = Self.sqlValue(defaultValue, attributeType)
                } else if field.required {
                    throw CatalogError.validation("\(entity.name): \(field.name) cannot be null.")
                } else {
                    values[field.name] = nil
                }
            }
        }
        try checkLengths(entity, values)
        if !keepManaged || values["createId"] == nil { values["createId"] = .text(user) }
        if !keepManaged || values["modId"] == nil { values["modId"] = .text(user) }
        if !keepManaged || values["createTime"] == nil { values["createTime"] = .timestamp(now) }
        if !keepManaged || values["modTime"] == nil { values["modTime"] = .timestamp(now) }
        try authorizationTables.check(entity, values: values, dialect: dialect)
        return values
    }

    static func sqlValue(_ value: DefaultValue, _ type: AttributeType) -> SQLValue {
        switch (value, type) {
        case (.bool(let b), _): .boolean(b)
        case (.number(let n), .double): .double(n)
        case (.number(let n), _): .integer(Int64(n))
        case (.string(let s), _): .text(s)
        }
    }

    func checkLengths(_ entity: EntityDefinition, _ values: [String: SQLValue]) throws(CatalogError) {
        for (name, value) in values {
            guard case .text(let text) = value, case .attribute(.string(let length))? = entity.field(named: name)?.kind
            else { continue }
            if text.unicodeScalars.count > length {
                throw .validation("\(entity.name): \(name) cannot have length > \(length)")
            }
        }
    }

    // MARK: Update

    /// Sets the fields `input` gives on the object it names; children without an id are created, children with
    /// an id are updated in turn.
    /// Returns the children it created, for the caller's CREATE checks.
    @discardableResult
    func update(
        _ input: EntityInput,
        user: String,
        now: Date,
        on connection: any DatabaseConnection
    ) async throws
        -> [(EntityDefinition, Int64)]
    {
        let entity = input.entity
        guard let id = input.id else {
            throw CatalogError.badParameter("The \(entity.name) to update needs its id")
        }
        let table = EntityTable(entity: entity, dialect: connection.dialect)
        guard var current = try await table.fetch(where: "id", in: [id], on: connection).first else {
            throw CatalogError.notFound(entity.name, id)
        }
        var changes = input.values
        for (name, value) in changes where value.isNull {
            if let field = entity.field(named: name), field.required {
                throw CatalogError.validation("\(entity.name): \(name) cannot be null.")
            }
        }
        try checkLengths(entity, changes)
        changes["modId"] = .text(user)
        changes["modTime"] = .timestamp(now)
        for (name, value) in changes { current.values[name] = value }
        try await parameters?.check(entity, values: current.values, on: connection)
        try authorizationTables.check(entity, values: current.values, dialect: connection.dialect)
        do {
            try await connection.execute(table.update(id: id, changes))
        } catch {
            throw await explain(error, entity: entity, values: current.values, on: connection)
        }
        var created: [(EntityDefinition, Int64)] = []
        for (relation, items) in input.children {
            guard case .many(_, let inverse, _) = relation.kind else { continue }
            for item in items {
                if item.id == nil {
                    created.append(
                        (
                            item.entity,
                            try await create(item, user: user, now: now, on: connection, parent: (inverse, id))
                        )
                    )
                } else {
                    var item = item
                    item.values[inverse] = .integer(id)
                    created += try await update(item, user: user, now: now, on: connection)
                }
            }
        }
        return created
    }

    // MARK: Delete

    /// Deletes the object and, through the database's cascades, everything that cascades from it.
    func delete(_ entity: EntityDefinition, id: Int64, on connection: any DatabaseConnection) async throws {
        let table = EntityTable(entity: entity, dialect: connection.dialect)
        do {
            if try await connection.query(table.delete(id: id)).isEmpty {
                throw CatalogError.notFound(entity.name, id)
            }
        } catch let error as DatabaseError {
            if case .foreignKeyViolation = error.kind {
                throw CatalogError.validation(
                    "\(entity.name)[id:\(id)] cannot be deleted while other objects refer to it"
                )
            }
            throw internalError(error)
        }
    }

    /// Whether the object exists.
    func exists(_ entity: EntityDefinition, id: Int64, on connection: any DatabaseConnection) async throws -> Bool {
        try await !connection.query(EntityTable(entity: entity, dialect: connection.dialect).exists(id: id)).isEmpty
    }

    /// Every entity reachable from `entity` along cascading collections.
    func cascadeReachable(from entity: EntityDefinition) -> Set<String> {
        var reached: Set<String> = []
        var frontier = [entity.name]
        while let name = frontier.popLast() {
            for relation in model.entity(named: name)!.manyRelations {
                guard case .many(let target, _, true) = relation.kind, reached.insert(target).inserted else { continue }
                frontier.append(target)
            }
        }
        return reached
    }

    /// The ids of everything that cascades from the object, by entity: one statement per collection and level.
    func cascadeDescendants(
        of entity: EntityDefinition,
        id: Int64,
        on connection: any DatabaseConnection
    ) async throws
        -> [String: [Int64]]
    {
        var found: [String: Set<Int64>] = [:]
        var frontier: [String: [Int64]] = [entity.name: [id]]
        let dialect = connection.dialect
        while !frontier.isEmpty {
            var next: [String: [Int64]] = [:]
            for (name, parents) in frontier {
                for relation in model.entity(named: name)!.manyRelations {
                    guard case .many(let target, let inverse, true) = relation.kind else { continue }
                    let child = model.entity(named: target)!
                    var start = 0
                    while start < parents.count {
                        let chunk = parents[start..<min(start + EntityTable.maximumListLength, parents.count)]
                        let select: SQLFragment = """
                            SELECT \(identifier: "id") FROM \(identifier: child.table) \
                            WHERE \(identifier: child.field(named: inverse)!.column!) IN (\(list: chunk.map(SQLValue.integer)))
                            """
                        for row in try await connection.query(select.statement(dialect)) {
                            if let childId = row[0].int64Value, found[target, default: []].insert(childId).inserted {
                                next[target, default: []].append(childId)
                            }
                        }
                        start += EntityTable.maximumListLength
                    }
                }
            }
            frontier = next
        }
        return found.mapValues { Array($0).sorted() }
    }

    // MARK: Clone

    /// Copies an object and everything that cascades from it, with `keys` overriding fields of the copy; every
    /// reference between objects of the copied tree points at the copies. Returns the copy's id.
    ///
    /// The tree is read first, each object once however many cascades reach it, then written in an order that
    /// puts every object after the objects of the tree it refers to, so that no copy is ever written still
    /// pointing at an original (which would break unique keys such as a dataset's investigation and name).
    func clone(
        _ entity: EntityDefinition,
        id: Int64,
        keys: [String: SQLValue],
        user: String,
        now: Date,
        on connection: any DatabaseConnection
    ) async throws -> Int64 {
        let table = EntityTable(entity: entity, dialect: connection.dialect)
        guard var root = try await table.fetch(where: "id", in: [id], on: connection).first else {
            throw CatalogError.notFound(entity.name, id)
        }
        for (name, value) in keys { root.values[name] = value }
        let tree = try await cascadeTree(from: root, on: connection)
        let order = Self.referenceOrder(of: tree)
        var copies: [ObjectKey: Int64] = [:]
        var deferred: [(entity: EntityDefinition, id: Int64, field: String, target: ObjectKey)] = []
        for key in order {
            let object = tree[key]!
            var input = EntityInput(entity: object.entity, id: nil, values: object.values, children: [])
            for name in ["createId", "createTime", "modId", "modTime"] { input.values[name] = nil }
            var pending: [(String, ObjectKey)] = []
            for field in object.entity.oneRelations {
                guard let target = object.values[field.name]?.int64Value else { continue }
                let targetKey = ObjectKey(entity: field.target!, id: target)
                guard tree[targetKey] != nil else { continue }
                if let copy = copies[targetKey] {
                    input.values[field.name] = .integer(copy)
                } else if !field.required {
                    // Only a cycle of references leads here: write without it, point it at the copy afterwards.
                    input.values[field.name] = .null
                    pending.append((field.name, targetKey))
                }
            }
            let newId = try await create(input, user: user, now: now, on: connection)
            copies[key] = newId
            for (field, target) in pending { deferred.append((object.entity, newId, field, target)) }
        }
        for reference in deferred {
            guard let copy = copies[reference.target] else { continue }
            let table = EntityTable(entity: reference.entity, dialect: connection.dialect)
            try await connection.execute(table.update(id: reference.id, [reference.field: .integer(copy)]))
        }
        return copies[ObjectKey(entity: entity.name, id: id)]!
    }

    /// Identifies a stored object.
    struct ObjectKey: Hashable {
        let entity: String
        let id: Int64
    }

    /// The object and everything reachable from it along cascading collections, one statement per collection
    /// and level.
    private func cascadeTree(
        from root: StoredObject,
        on connection: any DatabaseConnection
    ) async throws
        -> [ObjectKey: StoredObject]
    {
        var tree: [ObjectKey: StoredObject] = [ObjectKey(entity: root.entity.name, id: root.id): root]
        var frontier: [String: [StoredObject]] = [root.entity.name: [root]]
        while !frontier.isEmpty {
            var next: [String: [StoredObject]] = [:]
            for (name, objects) in frontier.sorted(by: { $0.key < $1.key }) {
                let entity = model.entity(named: name)!
                for relation in entity.manyRelations {
                    guard case .many(let target, let inverse, true) = relation.kind,
                        let child = model.entity(named: target)
                    else { continue }
                    let children = try await EntityTable(entity: child, dialect: connection.dialect)
                        .fetch(where: child.field(named: inverse)!.column!, in: objects.map(\.id), on: connection)
                    for item in children where tree[ObjectKey(entity: target, id: item.id)] == nil {
                        tree[ObjectKey(entity: target, id: item.id)] = item
                        next[target, default: []].append(item)
                    }
                }
            }
            frontier = next
        }
        return tree
    }

    /// The tree's objects ordered so that each comes after the objects of the tree it refers to (cycles are broken
    /// arbitrarily), and deterministically.
    static func referenceOrder(of tree: [ObjectKey: StoredObject]) -> [ObjectKey] {
        var order: [ObjectKey] = []
        var state: [ObjectKey: Bool] = [:]  // false: in progress, true: done
        func visit(_ key: ObjectKey) {
            if state[key] != nil { return }
            state[key] = false
            let object = tree[key]!
            for field in object.entity.oneRelations {
                guard let target = object.values[field.name]?.int64Value else { continue }
                let targetKey = ObjectKey(entity: field.target!, id: target)
                if tree[targetKey] != nil, state[targetKey] == nil { visit(targetKey) }
            }
            state[key] = true
            order.append(key)
        }
        for key in tree.keys.sorted(by: { ($0.entity, $0.id) < ($1.entity, $1.id) }) { visit(key) }
        return order
    }

    // MARK: Errors

    /// Turns a database's refusal of a write into the catalog error a client can act on.
    func explain(
        _ error: DatabaseError,
        entity: EntityDefinition,
        values: [String: SQLValue],
        on connection: any DatabaseConnection
    ) async -> CatalogError {
        switch error.kind {
        case .uniqueViolation(let constraint, let columns):
            let key =
                entity.uniqueKeys.enumerated().first { index, key in
                    if let constraint { return SchemaDDL.uniqueConstraintName(entity, index) == constraint }
                    return Set(key.compactMap { entity.field(named: $0)?.column }) == Set(columns)
                }?.element ?? entity.uniqueKeys.first ?? []
            let described = key.map { name -> String in
                let value = values[name] ?? .null
                if entity.field(named: name)?.isOne == true {
                    return "\(name).id = \(value.int64Value.map(String.init) ?? "null")"
                }
                return "\(name) = \(Self.describe(value))"
            }
            return CatalogError(.objectAlreadyExists, "\(entity.name) exists with \(described.joined(separator: ", "))")
        case .foreignKeyViolation(let constraint):
            for field in entity.oneRelations {
                guard let target = values[field.name]?.int64Value else { continue }
                if let constraint {
                    if SchemaDDL.foreignKeyName(entity, field) == constraint {
                        return .notFound(field.target!, target)
                    }
                    continue
                }
                let targetEntity = model.entity(named: field.target!)!
                let probe = EntityTable(entity: targetEntity, dialect: connection.dialect).exists(id: target)
                if let rows = try? await connection.query(probe), rows.isEmpty {
                    return .notFound(field.target!, target)
                }
            }
            return CatalogError(.noSuchObjectFound, "\(entity.name) refers to an object that does not exist")
        case .notNullViolation(let column):
            let name = entity.columns.first { $0.column == column }?.name ?? column ?? "a field"
            return .validation("\(entity.name): \(name) cannot be null.")
        case .unavailable, .busy, .timedOut, .cancelled, .limitExceeded, .other:
            return internalError(error)
        }
    }

    /// The catalog error for a database failure that is not about the data: a bound reached, the database gone, or
    /// a refusal that is the server's problem (logged, not shown). A statement over a limit of the database is the
    /// caller's input being too large: BAD_PARAMETER naming the limit.
    func internalError(_ error: DatabaseError) -> CatalogError {
        switch error.kind {
        case .timedOut(let limit):
            logger.notice("statement timeout: \(error.message)")
            return CatalogError(
                .validation,
                "The call took longer than the database's statement timeout (\(Self.seconds(limit))) and was stopped; "
                    + "nothing was changed. Narrow the query (more selective conditions, or pages with LIMIT) or "
                    + "split the work into smaller calls"
            )
        case .busy:
            logger.warning("database busy: \(error.message)")
            return CatalogError(
                .internal,
                "The database is busy: every connection stayed in use; try again in a moment"
            )
        case .cancelled:
            logger.info("call cancelled: \(error.message)")
            return CatalogError(.internal, "The call was cancelled")
        case .limitExceeded:
            return .badParameter("The request is too large for this catalog's database: \(error.message)")
        case .unavailable:
            logger.error("database unavailable: \(error.message)")
            return CatalogError(.internal, "The database is not available; the call can be retried when it is back")
        default:
            logger.error("database error: \(error.message)")
            return CatalogError(.internal, "The database refused the operation; the server log has the details")
        }
    }

    /// `30 s`, `0.2 s`.
    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }

    static func describe(_ value: SQLValue) -> String {
        switch value {
        case .null: "null"
        case .integer(let i): String(i)
        case .double(let d): String(d)
        case .text(let s): "'\(s)'"
        case .boolean(let b): String(b)
        case .timestamp(let date): EntityCodec.formatDate(date)
        }
    }
}
