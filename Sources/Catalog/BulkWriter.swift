import CatalogSQL
import CatalogSchema
import CatalogStore
import Foundation

/// Creates many objects in a few statements, with every check a single `create` makes.
///
/// Objects are planned first: ids are reserved from the database, so that children and later objects can refer
/// to objects not yet written, and each object's values are completed and checked in Swift. Then each table's
/// rows go to the database at once (`COPY` on PostgreSQL, multi-row `INSERT` on SQLite), parents' tables before
/// children's. The database still enforces unique keys and references; when it refuses a bulk write, the writes
/// are undone to a savepoint and replayed one object at a time, so that the error names the object at fault.
struct BulkWriter: Sendable {
    let writer: EntityWriter

    /// Below this many objects, rows are written one at a time straight away: a savepoint costs more than it saves.
    static let smallestBulk = 8

    /// A new object ready to be written.
    struct PlannedObject: Sendable {
        let entity: EntityDefinition
        let id: Int64
        /// Complete column values by field name, references as ids.
        let values: [String: SQLValue]
        /// The top-level item (of a `createMany`, or an object of a data file) the object belongs to.
        let item: Int
    }

    /// A check that failed for one item.
    struct ItemError: Error {
        let item: Int
        let error: CatalogError
    }

    /// Ids reserved from the database, handed out per entity.
    struct IdReservation: Sendable {
        /// How many ids `next` reserves at a time when it runs out.
        var blockSize: Int
        private var free: [String: ArraySlice<Int64>] = [:]

        init(blockSize: Int = 1000) {
            self.blockSize = blockSize
        }

        /// Reserves exactly `counts[entity]` more ids of each entity.
        mutating func reserve(
            _ counts: [String: Int],
            model: EntityModel,
            on connection: any DatabaseConnection
        )
            async throws
        {
            for (name, count) in counts.sorted(by: { $0.key < $1.key }) where count > 0 {
                let ids = try await connection.reserveIds(in: model.entity(named: name)!.table, count: count)
                free[name, default: []].append(contentsOf: ids)
            }
        }

        mutating func next(_ entity: EntityDefinition, on connection: any DatabaseConnection) async throws -> Int64 {
            if free[entity.name]?.isEmpty ?? true {
                free[entity.name] = try await connection.reserveIds(in: entity.table, count: blockSize)[...]
            }
            return free[entity.name]!.popFirst()!
        }
    }

    /// How many objects of each entity `input` creates, itself and its children.
    static func count(_ input: EntityInput, into counts: inout [String: Int]) {
        counts[input.entity.name, default: 0] += 1
        for (_, items) in input.children {
            for item in items { count(item, into: &counts) }
        }
    }

    /// Plans `input` and its children as objects of `item`; returns the id `input` will have.
    func plan(
        _ input: EntityInput,
        item: Int,
        user: String,
        now: Date,
        keepManaged: Bool = false,
        ids: inout IdReservation,
        into objects: inout [PlannedObject],
        on connection: any DatabaseConnection,
        parent: (field: String, id: Int64)? = nil
    ) async throws -> Int64 {
        let entity = input.entity
        if input.id != nil, parent == nil {
            throw ItemError(
                item: item,
                error: .badParameter("A new \(entity.name) must not have an id; use update to change an existing one")
            )
        }
        var values = input.values
        if let parent { values[parent.field] = .integer(parent.id) }
        do {
            values = try writer.prepare(
                entity,
                values,
                user: user,
                now: now,
                dialect: connection.dialect,
                keepManaged: keepManaged
            )
        } catch {
            throw ItemError(item: item, error: error)
        }
        let id = try await ids.next(entity, on: connection)
        objects.append(PlannedObject(entity: entity, id: id, values: values, item: item))
        for (relation, children) in input.children {
            guard case .many(_, let inverse, _) = relation.kind else { continue }
            for child in children {
                _ = try await plan(
                    child,
                    item: item,
                    user: user,
                    now: now,
                    keepManaged: keepManaged,
                    ids: &ids,
                    into: &objects,
                    on: connection,
                    parent: (inverse, id)
                )
            }
        }
        return id
    }

    /// Writes planned objects, whose references all point to objects already written or among `objects`.
    func write(_ objects: [PlannedObject], on connection: any DatabaseConnection) async throws {
        guard !objects.isEmpty else { return }
        // Parameters are written last, checked against types and permissible values written before them; nothing
        // refers to a parameter.
        let isParameter = { (object: PlannedObject) in writer.parameters?.ownerField(of: object.entity) != nil }
        let plain = objects.filter { !isParameter($0) }
        let parameters = objects.filter(isParameter)
        guard objects.count >= Self.smallestBulk else {
            try await writeOneByOne(plain, on: connection)
            try await checkParameters(parameters, on: connection)
            try await writeOneByOne(parameters, on: connection)
            return
        }
        let dialect = connection.dialect
        try await connection.execute(("SAVEPOINT icat_bulk" as SQLFragment).statement(dialect))
        do {
            try await writeTables(plain, on: connection)
            try await checkParameters(parameters, on: connection)
            try await writeTables(parameters, on: connection)
            try await connection.execute(("RELEASE SAVEPOINT icat_bulk" as SQLFragment).statement(dialect))
        } catch is DatabaseError {
            try await connection.execute(("ROLLBACK TO SAVEPOINT icat_bulk" as SQLFragment).statement(dialect))
            try await connection.execute(("RELEASE SAVEPOINT icat_bulk" as SQLFragment).statement(dialect))
            try await writeOneByOne(plain, on: connection)
            try await checkParameters(parameters, on: connection)
            try await writeOneByOne(parameters, on: connection)
        } catch {
            try await connection.execute(("ROLLBACK TO SAVEPOINT icat_bulk" as SQLFragment).statement(dialect))
            try await connection.execute(("RELEASE SAVEPOINT icat_bulk" as SQLFragment).statement(dialect))
            throw error
        }
    }

    /// One bulk insert per table, in creation order.
    private func writeTables(_ objects: [PlannedObject], on connection: any DatabaseConnection) async throws {
        var byEntity: [String: [PlannedObject]] = [:]
        for object in objects { byEntity[object.entity.name, default: []].append(object) }
        for name in writer.model.creationOrder {
            guard let rows = byEntity[name] else { continue }
            let entity = rows[0].entity
            try await connection.bulkInsert(
                into: entity.table,
                columns: entity.columns.map { $0.column! },
                rows: rows.map { object in
                    entity.columns.map { field in
                        field.name == "id" ? .integer(object.id) : object.values[field.name] ?? .null
                    }
                }
            )
        }
    }

    private func checkParameters(_ objects: [PlannedObject], on connection: any DatabaseConnection) async throws {
        guard let parameters = writer.parameters else { return }
        var typeIds: Set<Int64> = []
        for object in objects {
            if let typeId = parameters.typeId(of: object.entity, values: object.values) { typeIds.insert(typeId) }
        }
        guard !typeIds.isEmpty else { return }
        let types = try await parameters.loadTypes(typeIds, on: connection)
        for object in objects {
            do {
                try parameters.check(object.entity, values: object.values, types: types)
            } catch {
                throw ItemError(item: object.item, error: error)
            }
        }
    }

    /// One `INSERT` per object, in plan order (parents before children); a refusal names its object's item.
    private func writeOneByOne(_ objects: [PlannedObject], on connection: any DatabaseConnection) async throws {
        for object in objects {
            var values = object.values
            values["id"] = .integer(object.id)
            do {
                try await connection.execute(
                    EntityTable(entity: object.entity, dialect: connection.dialect).insert(values)
                )
            } catch {
                throw ItemError(
                    item: object.item,
                    error: await writer.explain(error, entity: object.entity, values: object.values, on: connection)
                )
            }
        }
    }
}
