import CatalogDataFormat
import CatalogSQL
import CatalogSchema
import CatalogStore
import Foundation

/// Writes objects the caller may read as a data file, streamed to a sink in pieces of about 64 KiB.
///
/// Tables are written in creation order, each in id order, every object top-level, so that each reference points
/// to an object written before it or to one outside the export. Objects are labelled with python-icat's unique-key
/// labels (ordinals for entities without a unique key): a reference to an object outside the export can then be
/// resolved by its key in the catalog that imports the file, and the same content gives the same file.
struct DataExporter {
    let model: EntityModel
    let caller: Caller
    let attributes: AttributeSelection
    let connection: any DatabaseConnection
    private var writer: DataFileWriter
    private var buffer = ""
    private var labels: [ObjectKey: String] = [:]
    private var ordinals: [ObjectKey: String] = [:]
    private var nextOrdinal: [String: Int] = [:]
    private(set) var objects = 0

    /// Objects per chunk (`<data>` element or YAML document): bounds what a streaming reader holds at once.
    static let chunkSize = 1000
    static let pageSize = 1000
    /// Labels of referenced objects kept for reuse; the cache starts afresh when full.
    static let labelCacheSize = 100_000

    struct ObjectKey: Hashable {
        let entity: String
        let id: Int64
    }

    init(
        model: EntityModel,
        format: DataFileFormat,
        caller: Caller,
        attributes: AttributeSelection,
        connection: any DatabaseConnection
    ) {
        self.model = model
        self.caller = caller
        self.attributes = attributes
        self.connection = connection
        self.writer = DataFileWriter(format: format)
    }

    /// Writes every readable object, or with `selection` only those (by entity), to `sink`.
    mutating func run(
        selection: [String: Set<Int64>]?,
        to sink: (String) async throws -> Void
    ) async throws {
        let head = DataFileHead(
            date: EntityCodec.formatDate(Date()),
            apiVersion: Catalog.apiVersion,
            generator: "icat-swift"
        )
        buffer += writer.start(head)
        var inChunk = 0
        for name in model.creationOrder {
            let entity = model.entity(named: name)!
            if let selection, selection[name]?.isEmpty ?? true { continue }
            let condition = caller.condition(.read, of: name, alias: "o")
            let table = EntityTable(entity: entity, dialect: connection.dialect)
            var after: Int64 = 0
            var wanted: ArraySlice<Int64>? = selection?[name].map { Array($0).sorted()[...] }
            while true {
                let page: [StoredObject]
                if let ids = wanted {
                    guard !ids.isEmpty else { break }
                    let chunk = Array(ids.prefix(Self.pageSize))
                    wanted = ids.dropFirst(chunk.count)
                    page = try await table.fetch(where: "id", in: chunk, condition: condition, on: connection)
                } else {
                    page = try await table.page(
                        after: after,
                        limit: Self.pageSize,
                        condition: condition,
                        on: connection
                    )
                    guard let last = page.last else { break }
                    after = last.id
                }
                for object in page {
                    if inChunk == 0 { buffer += writer.startChunk() }
                    buffer += writer.write(try await fileObject(object))
                    objects += 1
                    inChunk += 1
                    if inChunk == Self.chunkSize {
                        buffer += writer.endChunk()
                        inChunk = 0
                    }
                    if buffer.utf8.count >= 1 << 16 {
                        try await sink(buffer)
                        buffer = ""
                    }
                }
            }
        }
        if inChunk > 0 { buffer += writer.endChunk() }
        buffer += writer.finish()
        try await sink(buffer)
        buffer = ""
    }

    /// The object as the file writes it: attributes as text, references by label.
    private mutating func fileObject(_ object: StoredObject) async throws -> DataFileObject {
        let entity = object.entity
        var fields: [(name: String, value: DataFileValue)] = []
        for field in entity.fields where !field.isMany && field.name != "id" {
            if field.isManaged && attributes != .all { continue }
            guard let value = object.values[field.name], !value.isNull else { continue }
            switch field.kind {
            case .attribute(let type):
                if let text = Self.text(of: value, type: type) { fields.append((field.name, .text(text))) }
            case .one(let target):
                guard let id = value.int64Value else { continue }
                fields.append(
                    (field.name, .reference(.label(try await label(of: model.entity(named: target)!, id: id))))
                )
            case .many:
                continue
            }
        }
        let label = try await label(of: entity, id: object.id, values: object.values)
        return DataFileObject(entity: entity, label: label, fields: fields)
    }

    /// A stored attribute value as a file writes it.
    static func text(of value: SQLValue, type: AttributeType) -> String? {
        switch type {
        case .string, .enumeration: value.stringValue
        case .integer, .long: value.int64Value.map { String($0) }
        case .double: value.doubleValue.map { String($0) }
        case .boolean: value.boolValue.map { $0 ? "true" : "false" }
        case .date: value.dateValue.map(EntityCodec.formatDate)
        }
    }

    /// The object's label: its python-icat unique key, or for an entity without one `Entity_00000001` counting in
    /// the order objects are labelled.
    private mutating func label(
        of entity: EntityDefinition,
        id: Int64,
        values known: [String: SQLValue]? = nil
    ) async throws -> String {
        let key = ObjectKey(entity: entity.name, id: id)
        if let label = labels[key] ?? ordinals[key] { return label }
        guard let uniqueKey = entity.uniqueKeys.first else {
            let ordinal = nextOrdinal[entity.name, default: 0] + 1
            nextOrdinal[entity.name] = ordinal
            let digits = String(ordinal)
            let label = entity.name + "_" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
            ordinals[key] = label
            return label
        }
        var values = known
        if values == nil {
            // Only what the caller may read is described; anything else is named by its id alone.
            let condition = caller.condition(.read, of: entity.name, alias: "o")
            values = try await EntityTable(entity: entity, dialect: connection.dialect)
                .fetch(where: "id", in: [id], condition: condition, on: connection).first?.values
            if values == nil { return "\(entity.name)_id-\(id)" }
        }
        var label = entity.name
        for name in uniqueKey {
            let field = entity.field(named: name)!
            let value = values?[name] ?? .null
            label += "_" + name + "-"
            switch field.kind {
            case .one(let target):
                if let targetId = value.int64Value {
                    let inner = try await self.label(of: model.entity(named: target)!, id: targetId)
                    label += "(" + inner.drop { $0 != "_" }.dropFirst() + ")"
                }
            case .attribute(let type):
                label += UniqueKeyLabel.quote(Self.text(of: value, type: type) ?? "")
            case .many:
                continue
            }
        }
        if labels.count >= Self.labelCacheSize { labels.removeAll(keepingCapacity: true) }
        labels[key] = label
        return label
    }
}
