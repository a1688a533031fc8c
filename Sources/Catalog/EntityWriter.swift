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
    let logger: Logger

    init(model: EntityModel, logger: Logger) {
        self.model = model
        self.codec = EntityCodec(model: model)
        self.parameters = ParameterCheck(model: model)
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
        for field in entity.fields where !field.isManaged && !field.isMany {
            let given = values[field.name]
            if given == nil || given!.isNull {
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
        values["createId"] = .text(user)
        values["modId"] = .text(user)
        values["createTime"] = .timestamp(now)
        values["modTime"] = .timestamp(now)
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
    func update(_ input: EntityInput, user: String, now: Date, on connection: any DatabaseConnection) async throws {
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
        do {
            try await connection.execute(table.update(id: id, changes))
        } catch {
            throw await explain(error, entity: entity, values: current.values, on: connection)
        }
        for (relation, items) in input.children {
            guard case .many(_, let inverse, _) = relation.kind else { continue }
            for item in items {
                if item.id == nil {
                    _ = try await create(item, user: user, now: now, on: connection, parent: (inverse, id))
                } else {
                    var item = item
                    item.values[inverse] = .integer(id)
                    try await update(item, user: user, now: now, on: connection)
                }
            }
        }
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

    // MARK: Clone

    /// Copies an object and everything that cascades from it, with `keys` overriding fields of the copy, and
    /// points references inside the copied tree at the copies. Returns the copy's id.
    func clone(
        _ entity: EntityDefinition,
        id: Int64,
        keys: [String: SQLValue],
        user: String,
        now: Date,
        on connection: any DatabaseConnection
    ) async throws -> Int64 {
        let table = EntityTable(entity: entity, dialect: connection.dialect)
        guard var original = try await table.fetch(where: "id", in: [id], on: connection).first else {
            throw CatalogError.notFound(entity.name, id)
        }
        for (name, value) in keys { original.values[name] = value }
        var state = CloneState()
        let newId = try await copy(original, parent: nil, user: user, now: now, on: connection, state: &state)
        for reference in state.references {
            guard let replacement = state.copies[reference.field.target!]?[reference.target] else { continue }
            let table = EntityTable(entity: reference.entity, dialect: connection.dialect)
            try await connection.execute(table.update(id: reference.id, [reference.field.name: .integer(replacement)]))
        }
        return newId
    }

    private func copy(
        _ object: StoredObject,
        parent: (field: String, id: Int64)?,
        user: String,
        now: Date,
        on connection: any DatabaseConnection,
        state: inout CloneState
    ) async throws -> Int64 {
        let entity = object.entity
        // An object reachable along two cascades (a dataset of an investigation and of one of its samples) is
        // copied once; and a copy made earlier in this clone, found again through a reference that still points
        // into the original tree, is not copied at all.
        if let existing = state.copies[entity.name]?[object.id] { return existing }
        if state.made[entity.name]?.contains(object.id) == true { return object.id }
        var input = EntityInput(entity: entity, id: nil, values: object.values, children: [])
        for name in ["createId", "createTime", "modId", "modTime"] { input.values[name] = nil }
        var pending: [(Field, Int64)] = []
        for field in entity.oneRelations where field.name != parent?.field {
            guard let target = object.values[field.name]?.int64Value else { continue }
            if let copied = state.copies[field.target!]?[target] {
                input.values[field.name] = .integer(copied)
            } else {
                pending.append((field, target))
            }
        }
        let newId = try await create(input, user: user, now: now, on: connection, parent: parent)
        state.copies[entity.name, default: [:]][object.id] = newId
        state.made[entity.name, default: []].insert(newId)
        for (field, target) in pending {
            state.references.append((entity, newId, field, target))
        }
        for relation in entity.manyRelations {
            guard case .many(let target, let inverse, true) = relation.kind, let child = model.entity(named: target)
            else {
                continue
            }
            let column = child.field(named: inverse)!.column!
            let children = try await EntityTable(entity: child, dialect: connection.dialect)
                .fetch(where: column, in: [object.id], on: connection)
            for item in children {
                _ = try await copy(item, parent: (inverse, newId), user: user, now: now, on: connection, state: &state)
            }
        }
        return newId
    }

    /// What a clone has done so far: originals to copies, the copies, and references to fix at the end.
    struct CloneState {
        var copies: [String: [Int64: Int64]] = [:]
        var made: [String: Set<Int64>] = [:]
        var references: [(entity: EntityDefinition, id: Int64, field: Field, target: Int64)] = []
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
        case .unavailable, .other:
            return internalError(error)
        }
    }

    func internalError(_ error: DatabaseError) -> CatalogError {
        logger.error("database error: \(error.message)")
        if error.kind == .unavailable {
            return CatalogError(.internal, "The database is not available; try again later")
        }
        return CatalogError(.internal, "The database refused the operation; the server log has the details")
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
