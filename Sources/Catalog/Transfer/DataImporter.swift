import CatalogDataFormat
import CatalogSQL
import CatalogSchema
import CatalogStore
import Foundation

/// What an import does with an object whose unique key another object already has.
public enum DuplicateAction: String, Sendable, CaseIterable {
    /// Fail the import (the default).
    case `throw` = "THROW"
    /// Keep the existing object; later references to the file's object mean the existing one.
    case ignore = "IGNORE"
    /// Keep the existing object if every field the file gives matches it; otherwise fail.
    case check = "CHECK"
    /// Set the fields the file gives on the existing object.
    case overwrite = "OVERWRITE"
}

/// Which fields an import takes from a file, or an export writes.
public enum AttributeSelection: String, Sendable, CaseIterable {
    /// The fields users set; the server sets `createId`, `createTime`, `modId` and `modTime`.
    case user = "USER"
    /// Those four too, kept as the file has them (importing them needs root).
    case all = "ALL"
}

/// How to import a data file.
public struct ImportOptions: Sendable {
    public var duplicate: DuplicateAction
    public var attributes: AttributeSelection
    /// How many objects are written in one bulk write.
    public var batchSize: Int
    /// How many labels are kept in memory before they move to a temporary table, bounding memory on huge files.
    public var labelsInMemory: Int
    /// What the file's reader may hold at once.
    public var limits: DataFileLimits

    public init(
        duplicate: DuplicateAction = .throw,
        attributes: AttributeSelection = .user,
        batchSize: Int = 2000,
        labelsInMemory: Int = 200_000,
        limits: DataFileLimits = .standard
    ) {
        self.duplicate = duplicate
        self.attributes = attributes
        self.batchSize = batchSize
        self.labelsInMemory = labelsInMemory
        self.limits = limits
    }
}

/// What an import did: objects created (children included), top-level objects skipped as duplicates, and
/// existing objects overwritten.
public struct ImportSummary: Sendable, Equatable {
    public var created = 0
    public var skipped = 0
    public var updated = 0
    /// Top-level objects read from the file.
    public var objects = 0

    public init() {}
}

/// Imports one data file inside the caller's transaction: objects are read one at a time, their references
/// resolved and their values typed, and written in bulk every `batchSize` objects. Any failure throws, with the
/// offset (index of the top-level object) and the file's line, and the transaction writes nothing.
struct DataImporter {
    let model: EntityModel
    let bulk: BulkWriter
    let caller: Caller
    let options: ImportOptions
    let now: Date
    let connection: any DatabaseConnection
    private let accessPlanner: AccessPlanner

    private var labels: LabelIndex
    private var reservation = BulkWriter.IdReservation(blockSize: 1000)
    private var pending: [BulkWriter.PlannedObject] = []
    /// The top-level objects among `pending`, for the CREATE check.
    private var pendingTop: [(entity: EntityDefinition, id: Int64, item: Int)] = []
    private var pendingEntities: Set<String> = []
    /// Unique keys of pending objects, by entity, when duplicates are looked for.
    private var pendingKeys: [String: [[SQLValue]: Int64]] = [:]
    private var lines: [Int: Int] = [:]
    private(set) var summary = ImportSummary()
    /// Every entity the import wrote to.
    private(set) var touched: Set<String> = []

    init(
        model: EntityModel,
        bulk: BulkWriter,
        caller: Caller,
        options: ImportOptions,
        now: Date,
        connection: any DatabaseConnection
    ) {
        self.model = model
        self.bulk = bulk
        self.caller = caller
        self.options = options
        self.now = now
        self.connection = connection
        self.accessPlanner = AccessPlanner(model: model)
        self.labels = LabelIndex(limit: options.labelsInMemory)
    }

    /// Reads and writes every object of `reader`; `progress` hears after each bulk write.
    mutating func run(
        _ reader: inout some DataFileReader,
        progress: (ImportSummary) async -> Void
    ) async throws -> ImportSummary {
        while true {
            let item = summary.objects
            // Lines are kept only for objects still to be written, to name them in an error.
            if pending.isEmpty, !lines.isEmpty { lines.removeAll(keepingCapacity: true) }
            let object: DataFileObject?
            do {
                object = try reader.next()
            } catch {
                throw CatalogError(.badParameter, error.description, offset: item)
            }
            guard let object else { break }
            try Self.checkText(of: object, item: item)
            summary.objects += 1
            lines[item] = object.line
            do {
                try await take(object, item: item)
            } catch let error as CatalogError where error.offset < 0 {
                // Errors of a bulk write come located at their own object already.
                throw located(error, item: item)
            }
            if pending.count >= options.batchSize {
                try await flush()
                await progress(summary)
            }
        }
        try await flush()
        try await labels.dropTable(on: connection)
        await progress(summary)
        return summary
    }

    private func located(_ error: CatalogError, item: Int) -> CatalogError {
        let line = lines[item].map { "line \($0): " } ?? ""
        return CatalogError(error.type, line + error.message, offset: item)
    }

    // MARK: Objects

    /// Refuses text no database can store anywhere in the object (its label, values, references, lookup and
    /// children, whichever format they were read from), naming the field and its object's line.
    static func checkText(of object: DataFileObject, item: Int) throws(CatalogError) {
        func check(_ text: String, _ what: @autoclosure () -> String) throws(CatalogError) {
            do {
                try StorableText.check(text, what())
            } catch {
                throw CatalogError(.badParameter, "line \(object.line): \(error.message)", offset: item)
            }
        }
        func check(_ reference: DataFileReference, _ what: String) throws(CatalogError) {
            switch reference {
            case .label(let label):
                try check(label, "\(what) (a reference)")
            case .key(let attributes):
                for attribute in attributes { try check(attribute.value, "\(what).\(attribute.name)") }
            }
        }
        let name = object.entity.name
        if let label = object.label { try check(label, "The label of a \(name)") }
        if let lookup = object.lookup { try check(lookup, name) }
        for (field, value) in object.fields {
            switch value {
            case .text(let text): try check(text, "\(name).\(field)")
            case .reference(let reference): try check(reference, "\(name).\(field)")
            case .child(let child): try checkText(of: child, item: item)
            case .null: continue
            }
        }
    }

    private mutating func take(_ object: DataFileObject, item: Int) async throws {
        if let lookup = object.lookup {
            let id = try await find(object.entity, lookup)
            if let label = object.label { try await labels.insert(label, object.entity.name, id, on: connection) }
            return
        }
        let input = try await input(from: object)
        if options.duplicate != .throw, let existing = try await existing(input) {
            try await handleDuplicate(input, existing: existing)
            try await mergeChildren(of: input, into: existing, item: item)
            if let label = object.label { try await labels.insert(label, object.entity.name, existing, on: connection) }
            return
        }
        let id = try await planNew(input, item: item)
        if let label = object.label { try await labels.insert(label, object.entity.name, id, on: connection) }
    }

    /// Plans a new object (with its children) as part of `item`, to be written with the pending ones and checked
    /// for CREATE; returns its id.
    private mutating func planNew(_ input: EntityInput, item: Int) async throws -> Int64 {
        let id: Int64
        do {
            id = try await bulk.plan(
                input,
                item: item,
                user: caller.userName,
                now: now,
                keepManaged: options.attributes == .all,
                ids: &reservation,
                into: &pending,
                on: connection
            )
        } catch let failure as BulkWriter.ItemError {
            throw failure.error
        }
        pendingTop.append((input.entity, id, item))
        if let key = uniqueKey(of: input) { pendingKeys[input.entity.name, default: [:]][key] = id }
        var entities: [String] = []
        Self.entities(of: input, into: &entities)
        pendingEntities.formUnion(entities)
        return id
    }

    private static func entities(of input: EntityInput, into names: inout [String]) {
        names.append(input.entity.name)
        for (_, items) in input.children { for item in items { entities(of: item, into: &names) } }
    }

    /// The object as the bulk writer takes it: attributes typed, references resolved to ids.
    private mutating func input(from object: DataFileObject) async throws -> EntityInput {
        let entity = object.entity
        var input = EntityInput(entity: entity, id: nil, values: [:], children: [])
        for (name, value) in object.fields {
            guard let field = entity.field(named: name) else {
                throw CatalogError.badParameter("\(entity.name) has no field '\(name)'")
            }
            if field.isManaged {
                if name == "id" { throw CatalogError.badParameter("\(entity.name): id cannot be imported") }
                guard options.attributes == .all else { continue }
            }
            switch (field.kind, value) {
            case (_, .null):
                if !field.isMany { input.values[name] = .null }
            case (.attribute(let type), .text(let text)):
                input.values[name] = try Self.value(text, type: type, field: "\(entity.name).\(name)")
            case (.one(let target), .reference(let reference)):
                input.values[name] = .integer(try await find(model.entity(named: target)!, reference))
            case (.many, .child(let child)):
                let childInput = try await self.input(from: child)
                if let index = input.children.firstIndex(where: { $0.relation.name == name }) {
                    input.children[index].items.append(childInput)
                } else {
                    input.children.append((field, [childInput]))
                }
            default:
                throw CatalogError.badParameter("\(entity.name).\(name) cannot take this kind of value")
            }
        }
        return input
    }

    /// A field's text as the SQL value of its type.
    static func value(_ text: String, type: AttributeType, field: String) throws(CatalogError) -> SQLValue {
        switch type {
        case .string:
            return .text(text)
        case .enumeration(let name, let values):
            guard values.contains(text) else {
                throw .badParameter(
                    "\(field): '\(text)' is not a \(name); use one of \(values.joined(separator: ", "))"
                )
            }
            return .text(text)
        case .integer, .long:
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard let integer = Int64(trimmed), type == .long || Int32(exactly: integer) != nil else {
                throw .badParameter("\(field) must be an integer, not '\(text)'")
            }
            return .integer(integer)
        case .double:
            guard let number = Double(text.trimmingCharacters(in: .whitespaces)) else {
                throw .badParameter("\(field) must be a number, not '\(text)'")
            }
            return .double(number)
        case .boolean:
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: throw .badParameter("\(field) must be true or false, not '\(text)'")
            }
        case .date:
            guard let date = SQLTimestamp.parse(text.trimmingCharacters(in: .whitespaces)) else {
                throw .badParameter("\(field) must be an ISO 8601 timestamp, not '\(text)'")
            }
            return .timestamp(date)
        }
    }

    // MARK: References

    /// The id of the object a reference names: a label of this file, a python-icat unique key, or key attributes.
    private mutating func find(_ entity: EntityDefinition, _ reference: DataFileReference) async throws -> Int64 {
        switch reference {
        case .label(let label):
            if let (name, id) = try await labels.lookup(label, on: connection) {
                guard name == entity.name else {
                    throw CatalogError.badParameter("'\(label)' labels a \(name), not a \(entity.name)")
                }
                return id
            }
            guard let (name, parts) = UniqueKeyLabel.parse(label), name == entity.name,
                let id = try await find(entity, parts: parts)
            else {
                throw CatalogError(
                    .noSuchObjectFound,
                    "No \(entity.name) labelled '\(label)' earlier in the file or in the catalog"
                )
            }
            try await labels.insert(label, entity.name, id, on: connection)
            return id
        case .key(let attributes):
            var conditions: [(Field, SQLValue)] = []
            for attribute in attributes {
                let isRelation = attribute.name.hasSuffix(".ref")
                let name = isRelation ? String(attribute.name.dropLast(4)) : attribute.name
                guard let field = entity.field(named: name), !field.isMany, !field.isManaged else {
                    throw CatalogError.badParameter("\(entity.name) has no field '\(name)' to look it up by")
                }
                if let target = field.target {
                    conditions.append(
                        (field, .integer(try await find(model.entity(named: target)!, .label(attribute.value))))
                    )
                } else if let type = field.attributeType {
                    conditions.append(
                        (field, try Self.value(attribute.value, type: type, field: "\(entity.name).\(name)"))
                    )
                }
            }
            guard let id = try await select(entity, conditions) else {
                let described = attributes.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
                throw CatalogError(.noSuchObjectFound, "No \(entity.name) with \(described)")
            }
            return id
        }
    }

    /// The object a python-icat key names, if there is exactly one.
    private mutating func find(
        _ entity: EntityDefinition,
        parts: [(String, UniqueKeyLabel.Part)]
    ) async throws -> Int64? {
        var conditions: [(Field, SQLValue)] = []
        for (name, part) in parts {
            // Only fields an object is known by in any catalog: never `id`, which differs from one to the next.
            guard let field = entity.field(named: name), !field.isMany, !field.isManaged else { return nil }
            switch (part, field.kind) {
            case (.value(let text), .attribute(let type)):
                conditions.append((field, try Self.value(text, type: type, field: "\(entity.name).\(name)")))
            case (.nested(let inner), .one(let target)):
                guard let id = try await find(model.entity(named: target)!, parts: inner) else { return nil }
                conditions.append((field, .integer(id)))
            default:
                return nil
            }
        }
        return try await select(entity, conditions)
    }

    /// The one object of `entity` whose fields have these values; nil when none or several do.
    private mutating func select(_ entity: EntityDefinition, _ conditions: [(Field, SQLValue)]) async throws -> Int64? {
        guard !conditions.isEmpty else { return nil }
        if pendingEntities.contains(entity.name) { try await flush() }
        let dialect = connection.dialect
        let tests = conditions.map { field, value -> SQLFragment in
            value.isNull ? "o.\(identifier: field.column!) IS NULL" : "o.\(identifier: field.column!) = \(value)"
        }
        var sql: SQLFragment = """
            SELECT o.\(identifier: "id") FROM \(identifier: entity.table) o WHERE \(tests.joined(separator: " AND "))
            """
        // A caller finds only what they may read, as a search of theirs would.
        if let condition = caller.condition(.read, of: entity.name, alias: "o") {
            sql.append(" AND \(condition)")
        }
        sql.append(" LIMIT 2")
        let rows = try await connection.query(sql.statement(dialect))
        return rows.count == 1 ? rows[0][0].int64Value : nil
    }

    // MARK: Duplicates

    /// The values of the entity's first unique key, when every one is given.
    private func uniqueKey(of input: EntityInput) -> [SQLValue]? {
        guard options.duplicate != .throw, let key = input.entity.uniqueKeys.first else { return nil }
        let values = key.map { input.values[$0] ?? .null }
        return values.contains(where: \.isNull) ? nil : values
    }

    /// The id of the object that already has `input`'s unique key, written or pending.
    private mutating func existing(_ input: EntityInput) async throws -> Int64? {
        guard let values = uniqueKey(of: input), let key = input.entity.uniqueKeys.first else { return nil }
        if let id = pendingKeys[input.entity.name]?[values] { return id }
        let conditions = zip(key, values).map { (input.entity.field(named: $0)!, $1) }
        return try await select(input.entity, conditions)
    }

    /// The children the file gives an object that exists already: those that exist too are handled as duplicates
    /// in turn, the others are created under the existing object (and, having no new parent, checked for CREATE
    /// themselves). Re-ingesting a dataset with its files thus adds the new files.
    private mutating func mergeChildren(of input: EntityInput, into parent: Int64, item: Int) async throws {
        for (relation, children) in input.children {
            guard case .many(_, let inverse, _) = relation.kind else { continue }
            for var child in children {
                child.values[inverse] = .integer(parent)
                if let existing = try await existing(child) {
                    try await handleDuplicate(child, existing: existing)
                    try await mergeChildren(of: child, into: existing, item: item)
                    continue
                }
                _ = try await planNew(child, item: item)
            }
        }
    }

    private mutating func handleDuplicate(_ input: EntityInput, existing id: Int64) async throws {
        let entity = input.entity
        switch options.duplicate {
        case .throw, .ignore:
            summary.skipped += 1
        case .check:
            try await flush()
            let table = EntityTable(entity: entity, dialect: connection.dialect)
            guard let stored = try await table.fetch(where: "id", in: [id], on: connection).first else {
                throw CatalogError.notFound(entity.name, id)
            }
            // As python-icat's icatingest does, attributes the file gives are compared; relations and nulls are not.
            for (name, value) in input.values.sorted(by: { $0.key < $1.key })
            where entity.field(named: name)?.isAttribute == true && !value.isNull
                && !Self.same(stored.values[name], value)
            {
                throw CatalogError(
                    .objectAlreadyExists,
                    "\(entity.name)[id:\(id)] exists with a different \(name): "
                        + "\(EntityWriter.describe(stored.values[name] ?? .null)), not \(EntityWriter.describe(value))"
                )
            }
            summary.skipped += 1
        case .overwrite:
            try await flush()
            try await caller.check(accessPlanner.accessing(.update, entity, id: id), on: connection)
            // The fields the file gives, with every check of an update; nulls leave a field as it is.
            let changes = EntityInput(
                entity: entity,
                id: id,
                values: input.values.filter { !$0.value.isNull && entity.field(named: $0.key)?.isManaged == false },
                children: []
            )
            try await bulk.writer.update(changes, user: caller.userName, now: now, on: connection)
            touched.insert(entity.name)
            summary.updated += 1
        }
    }

    /// Whether a stored value and a file's value are the same, booleans and times as the databases store them.
    static func same(_ stored: SQLValue?, _ given: SQLValue) -> Bool {
        let stored = stored ?? .null
        switch given {
        case .boolean(let b): return stored.boolValue == b
        case .timestamp(let date):
            guard let other = stored.dateValue else { return false }
            return abs(other.timeIntervalSince(date)) < 0.001
        case .double(let d): return stored.doubleValue == d
        default: return stored == given
        }
    }

    // MARK: Writing

    /// Writes the pending objects and checks that the caller could create each top-level one.
    private mutating func flush() async throws {
        guard !pending.isEmpty else { return }
        do {
            try await bulk.write(pending, on: connection)
        } catch let failure as BulkWriter.ItemError {
            throw located(failure.error, item: failure.item)
        }
        let plan = accessPlanner.created(pendingTop.map { ($0.entity, $0.id, $0.item) })
        if let refused = try await caller.firstRefused(plan, on: connection), let item = refused.item {
            throw located(refused.denial, item: item)
        }
        summary.created += pending.count
        touched.formUnion(pendingEntities)
        pending.removeAll(keepingCapacity: true)
        pendingTop.removeAll(keepingCapacity: true)
        pendingEntities.removeAll()
        pendingKeys.removeAll()
        let keep = summary.objects - 1
        lines = lines.filter { $0.key >= keep }
    }
}
