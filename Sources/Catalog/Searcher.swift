import CatalogQuery
import CatalogSQL
import CatalogSchema
import CatalogStore
import JSONValue
import Logging

/// Runs searches: compiles the query for the connection's database, reads the rows, loads what INCLUDE asks for,
/// and writes the contract's JSON.
struct Searcher: Sendable {
    let model: EntityModel
    let reader: EntityReader
    let maxEntities: Int
    let logger: Logger

    func search(
        _ text: String,
        userName: String,
        restriction: (any QueryRestriction)? = nil,
        caller: Caller? = nil,
        on connection: any DatabaseConnection
    ) async throws -> JSON {
        try StorableText.check(text, "The query")
        let compiler = QueryCompiler(model: model, dialect: connection.dialect)
        let compiled: CompiledQuery
        do {
            compiled = try compiler.compile(
                text,
                userName: userName,
                maximumRows: maxEntities + 1,
                restriction: restriction
            )
        } catch {
            throw CatalogError(.badParameter, error.description)
        }
        let rows: [SQLRow]
        do {
            rows = try await connection.query(compiled.sql.statement(connection.dialect))
        } catch {
            if error.kind == .limitExceeded {
                throw CatalogError(
                    .badParameter,
                    "The query is too large for this catalog's database (\(error.message)); split it into smaller queries"
                )
            }
            guard error.kind == .other else { throw error }
            // The compiler checks what the databases would refuse; what still slips through is a query that
            // cannot be run, reported without the database's words.
            logger.warning("query refused by the database: \(error.message); query: \(text)")
            throw CatalogError(
                .badParameter,
                "The query cannot be run on this catalog's database: check the types it compares"
            )
        }
        if rows.count > maxEntities {
            throw tooMany()
        }
        var objects: [StoredObject] = []
        var results: [JSON] = []
        results.reserveCapacity(rows.count)
        let codec = reader.codec
        let keepObjects = !compiled.include.isEmpty
        // Per selected entity: the column offset, JSON name and type of each attribute but id.
        let plans: [[(offset: Int, name: String, type: AttributeType)]] = compiled.items.map { item in
            guard case .entity(let entity) = item else { return [] }
            return entity.columns.enumerated().compactMap { offset, field in
                guard field.name != "id", let type = field.attributeType else { return nil }
                return (offset, field.name, type)
            }
        }
        for row in rows {
            var column = 0
            var values: [JSON] = []
            for (itemIndex, item) in compiled.items.enumerated() {
                switch item {
                case .entity(let entity):
                    if row.values[column].isNull {
                        values.append(.null)
                    } else if keepObjects {
                        // The members are written once the INCLUDE is loaded; only the id is needed until then.
                        let slice = SQLRow(Array(row.values[column..<(column + entity.columns.count)]))
                        objects.append(EntityTable(entity: entity, dialect: connection.dialect).object(from: slice))
                        values.append(.object([entity.name: .object(["id": .int(row.values[column].int64Value ?? 0)])]))
                    } else {
                        let plan = plans[itemIndex]
                        var members: [String: JSON] = [:]
                        members.reserveCapacity(plan.count + 1)
                        members["id"] = .int(row.values[column].int64Value ?? 0)
                        for (offset, name, type) in plan {
                            if let json = codec.json(of: row.values[column + offset], type: type) {
                                members[name] = json
                            }
                        }
                        values.append(.object([entity.name: .object(members)]))
                    }
                case .value(let kind):
                    values.append(Self.json(row[column], kind: kind, codec: codec))
                }
                column += item.columnCount
            }
            results.append(values.count == 1 ? values[0] : .array(values))
        }
        if !compiled.include.isEmpty, case .entity(let entity)? = compiled.items.first {
            let expanded = try await reader.expand(
                objects,
                of: entity,
                include: compiled.include,
                caller: caller,
                on: connection
            )
            var included = 0
            results = results.map { result in
                guard case .object(let wrapper) = result, let id = wrapper[entity.name]?["id"]?.int64Value,
                    let members = expanded[id]
                else { return result }
                included += Self.relatedCount(members)
                return .object([entity.name: .object(members)])
            }
            if results.count + included > maxEntities { throw tooMany() }
        }
        return .array(results)
    }

    private func tooMany() -> CatalogError {
        CatalogError(
            .validation,
            "The search would return more than maxEntities (\(maxEntities)) objects; narrow it, or page it with LIMIT"
        )
    }

    /// How many related objects the members hold, at any depth.
    static func relatedCount(_ members: [String: JSON]) -> Int {
        var count = 0
        for value in members.values {
            switch value {
            case .object(let related):
                count += 1 + relatedCount(related)
            case .array(let items):
                for case .object(let related) in items { count += 1 + relatedCount(related) }
            default:
                continue
            }
        }
        return count
    }

    static func json(_ value: SQLValue, kind: ValueKind, codec: EntityCodec) -> JSON {
        if value.isNull { return .null }
        switch kind {
        case .attribute(let type): return codec.json(of: value, type: type) ?? .null
        case .integer: return value.int64Value.map(JSON.int) ?? value.doubleValue.map(JSON.double) ?? .null
        case .real: return value.doubleValue.map(JSON.double) ?? .null
        case .string: return value.stringValue.map(JSON.string) ?? .null
        case .boolean: return value.boolValue.map(JSON.bool) ?? .null
        case .timestamp:
            return value.dateValue.map { .string(EntityCodec.formatDate($0)) } ?? value.stringValue.map(JSON.string)
                ?? .null
        }
    }
}
