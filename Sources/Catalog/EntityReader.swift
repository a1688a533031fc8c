import CatalogQuery
import CatalogSQL
import CatalogSchema
import CatalogStore
import JSONValue

/// Reads objects by id and loads what an INCLUDE asks for, one SQL statement per relation step (never one per
/// row).
struct EntityReader: Sendable {
    let model: EntityModel
    let codec: EntityCodec

    init(model: EntityModel) {
        self.model = model
        self.codec = EntityCodec(model: model)
    }

    /// One object, wrapped in its type name: `NO_SUCH_OBJECT_FOUND` when there is none, `INSUFFICIENT_PRIVILEGES`
    /// when the caller may not read it.
    func get(
        _ entity: EntityDefinition,
        id: Int64,
        include: IncludeTree,
        caller: Caller,
        on connection: any DatabaseConnection
    ) async throws -> JSON {
        let objects = try await EntityTable(entity: entity, dialect: connection.dialect)
            .fetch(where: "id", in: [id], on: connection)
        guard let object = objects.first else { throw CatalogError.notFound(entity.name, id) }
        try await caller.check(AccessPlanner(model: model).accessing(.read, entity, id: id), on: connection)
        let members = try await expand([object], of: entity, include: include, caller: caller, on: connection)
        return .object([entity.name: .object(members[object.id]!)])
    }

    /// The JSON members of `objects` with their included relations, by id. Related objects the caller may not
    /// read are left out, unless a public step makes the relation free to follow.
    func expand(
        _ objects: [StoredObject],
        of entity: EntityDefinition,
        include: IncludeTree,
        caller: Caller?,
        on connection: any DatabaseConnection
    ) async throws -> [Int64: [String: JSON]] {
        var members: [Int64: [String: JSON]] = [:]
        for object in objects { members[object.id] = codec.members(of: object) }
        for (name, subtree) in include.children.sorted(by: { $0.key < $1.key }) {
            guard let field = entity.field(named: name), let targetName = field.target,
                let target = model.entity(named: targetName)
            else { continue }
            let table = EntityTable(entity: target, dialect: connection.dialect)
            var readable: SQLFragment?
            if let caller, !caller.isPublicStep(from: entity.name, along: name) {
                readable = caller.condition(.read, of: target.name, alias: "o")
            }
            switch field.kind {
            case .one:
                let ids = objects.compactMap { $0.values[name]?.int64Value }
                guard !ids.isEmpty else { continue }
                let related = try await table.fetch(where: "id", in: ids, condition: readable, on: connection)
                let expanded = try await expand(related, of: target, include: subtree, caller: caller, on: connection)
                for object in objects {
                    if let id = object.values[name]?.int64Value, let relatedMembers = expanded[id] {
                        members[object.id]![name] = .object(relatedMembers)
                    }
                }
            case .many(_, let inverse, _):
                let children = try await table.fetch(
                    where: target.field(named: inverse)!.column!,
                    in: objects.map(\.id),
                    condition: readable,
                    on: connection
                )
                let expanded = try await expand(children, of: target, include: subtree, caller: caller, on: connection)
                var byParent: [Int64: [JSON]] = [:]
                for child in children {
                    guard let parent = child.values[inverse]?.int64Value else { continue }
                    byParent[parent, default: []].append(.object(expanded[child.id]!))
                }
                for object in objects {
                    members[object.id]![name] = .array(byParent[object.id] ?? [])
                }
            case .attribute:
                continue
            }
        }
        return members
    }
}
