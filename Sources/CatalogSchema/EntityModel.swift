import Foundation

/// The catalog's entity model: every entity with its attributes, relations and unique keys.
///
/// It is read from `Schema/icat.yaml`, the single source of truth for tables, validation, JSON coding and query
/// resolution. Nothing else in the code base lists entities or fields.
public struct EntityModel: Sendable {
    /// The model's version, e.g. "6.2".
    public let version: String
    /// Every entity by name.
    public let entities: [String: EntityDefinition]
    /// Entity names in alphabetical order.
    public let entityNames: [String]
    /// Enumerated attribute types by name.
    public let enumerations: [String: Enumeration]
    /// Entity names ordered so that every entity comes after the entities its required references point to
    /// (where the graph allows): the order in which tables are created.
    public let creationOrder: [String]

    public init(version: String, entities: [EntityDefinition], enumerations: [Enumeration]) throws(SchemaError) {
        self.version = version
        self.entities = Dictionary(entities.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.entityNames = entities.map(\.name).sorted()
        self.enumerations = Dictionary(enumerations.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.creationOrder = Self.topologicalOrder(of: self.entities, names: entityNames)
        try validate()
    }

    public subscript(name: String) -> EntityDefinition? {
        entities[name]
    }

    /// The entity named `name`, case-sensitively as ICAT does.
    public func entity(named name: String) -> EntityDefinition? {
        entities[name]
    }

    private func validate() throws(SchemaError) {
        for entity in entities.values {
            for field in entity.fields {
                switch field.kind {
                case .attribute(.enumeration(let name, _)):
                    if enumerations[name] == nil {
                        throw SchemaError("\(entity.name).\(field.name): unknown enumeration \(name)")
                    }
                case .attribute:
                    break
                case .one(let target):
                    guard let targetEntity = entities[target] else {
                        throw SchemaError("\(entity.name).\(field.name): unknown entity \(target)")
                    }
                    _ = targetEntity
                case .many(let target, let inverse, _):
                    guard let child = entities[target] else {
                        throw SchemaError("\(entity.name).\(field.name): unknown entity \(target)")
                    }
                    guard let back = child.field(named: inverse), case .one(let owner) = back.kind, owner == entity.name
                    else {
                        throw SchemaError(
                            "\(entity.name).\(field.name): \(target).\(inverse) is not a relation to \(entity.name)"
                        )
                    }
                }
            }
            for key in entity.uniqueKeys {
                for name in key where entity.field(named: name) == nil {
                    throw SchemaError("\(entity.name): unique key names unknown field \(name)")
                }
            }
        }
    }

    private static func topologicalOrder(of entities: [String: EntityDefinition], names: [String]) -> [String] {
        var order: [String] = []
        var state: [String: Bool] = [:]  // false: visiting, true: done
        func visit(_ name: String) {
            if state[name] != nil { return }
            state[name] = false
            for field in entities[name]!.fields {
                if case .one(let target) = field.kind, target != name, state[target] != false {
                    visit(target)
                }
            }
            state[name] = true
            order.append(name)
        }
        for name in names { visit(name) }
        return order
    }
}

/// A problem in the schema file itself.
public struct SchemaError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// An enumerated attribute type, e.g. `ParameterValueType`.
public struct Enumeration: Sendable, Hashable {
    public let name: String
    public let comment: String
    public let values: [String]
}

/// One entity of the model: its fields (including the five every entity has) and unique keys. A class, immutable:
/// definitions are passed around on every object a catalog handles, and a reference costs one retain to copy.
public final class EntityDefinition: Sendable {
    public let name: String
    public let comment: String
    /// The SQL table that holds this entity.
    public let table: String
    /// All fields: the managed ones (`id`, `createId`, `createTime`, `modId`, `modTime`), then attributes,
    /// many-to-one and one-to-many relations in schema order.
    public let fields: [Field]
    /// ICAT's unique constraints, each a list of field names.
    public let uniqueKeys: [[String]]
    private let fieldIndex: [String: Int]
    /// Fields stored in this entity's table: attributes and many-to-one references.
    public let columns: [Field]
    /// Attributes other than `id`, in field order, with their types: what an object's JSON holds besides its id.
    public let attributesExceptId: [(name: String, type: AttributeType)]

    public init(name: String, comment: String, fields: [Field], uniqueKeys: [[String]]) {
        self.name = name
        self.comment = comment
        self.table = SQLName.table(for: name)
        self.fields = Field.managed + fields
        self.uniqueKeys = uniqueKeys
        self.fieldIndex = Dictionary(
            self.fields.enumerated().map { ($1.name, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        self.columns = self.fields.filter { $0.column != nil }
        self.attributesExceptId = self.fields.compactMap { field in
            guard field.name != "id", let type = field.attributeType else { return nil }
            return (field.name, type)
        }
    }

    public func field(named name: String) -> Field? {
        fieldIndex[name].map { fields[$0] }
    }

    /// Attributes a client may set (everything stored except the managed fields).
    public var settableAttributes: [Field] { fields.filter { $0.isAttribute && !$0.isManaged } }
    /// Many-to-one relations.
    public var oneRelations: [Field] { fields.filter { $0.isOne } }
    /// One-to-many relations.
    public var manyRelations: [Field] { fields.filter { $0.isMany } }
}

/// A field of an entity: an attribute, a many-to-one reference or a one-to-many collection. An immutable class,
/// for the same reason as `EntityDefinition`.
public final class Field: Sendable {
    public let name: String
    public let kind: FieldKind
    /// Not nullable: a value must be given on create (unless the field has a default).
    public let required: Bool
    public let comment: String
    /// The value used when a create omits the field.
    public let defaultValue: DefaultValue?
    /// True for `id`, `createId`, `createTime`, `modId`, `modTime`: set by the server, never by clients.
    public let isManaged: Bool
    /// The column holding the field, nil for one-to-many collections.
    public let column: String?

    public init(
        name: String,
        kind: FieldKind,
        required: Bool,
        comment: String,
        defaultValue: DefaultValue? = nil,
        isManaged: Bool = false
    ) {
        self.name = name
        self.kind = kind
        self.required = required
        self.comment = comment
        self.defaultValue = defaultValue
        self.isManaged = isManaged
        switch kind {
        case .attribute: self.column = SQLName.column(for: name)
        case .one: self.column = SQLName.column(for: name) + "_id"
        case .many: self.column = nil
        }
    }

    public var isAttribute: Bool {
        if case .attribute = kind { return true }
        return false
    }

    public var isOne: Bool {
        if case .one = kind { return true }
        return false
    }

    public var isMany: Bool {
        if case .many = kind { return true }
        return false
    }

    public var attributeType: AttributeType? {
        if case .attribute(let type) = kind { return type }
        return nil
    }

    /// The entity at the other end of a relation.
    public var target: String? {
        switch kind {
        case .attribute: nil
        case .one(let target), .many(let target, _, _): target
        }
    }

    /// The five fields every entity has.
    static let managed: [Field] = [
        Field(
            name: "id",
            kind: .attribute(.long),
            required: false,
            comment: "Unique identifier, set by the server",
            isManaged: true
        ),
        Field(
            name: "createId",
            kind: .attribute(.string(length: 255)),
            required: true,
            comment: "The user who created the object",
            isManaged: true
        ),
        Field(
            name: "createTime",
            kind: .attribute(.date),
            required: true,
            comment: "When the object was created",
            isManaged: true
        ),
        Field(
            name: "modId",
            kind: .attribute(.string(length: 255)),
            required: true,
            comment: "The user who last modified the object",
            isManaged: true
        ),
        Field(
            name: "modTime",
            kind: .attribute(.date),
            required: true,
            comment: "When the object was last modified",
            isManaged: true
        ),
    ]
}

/// What a field is.
public enum FieldKind: Sendable, Hashable {
    case attribute(AttributeType)
    /// A many-to-one reference to `target` (a foreign key column).
    case one(target: String)
    /// A one-to-many collection of `target` objects whose field `inverse` points back; `cascade` children are
    /// created with the parent and deleted with it.
    case many(target: String, inverse: String, cascade: Bool)
}

/// The type of an attribute, with ICAT's names.
public enum AttributeType: Sendable, Hashable {
    case string(length: Int)
    case integer
    case long
    case double
    case boolean
    case date
    case enumeration(name: String, values: [String])

    /// ICAT's name of the type, as `getEntityInfo` reports it.
    public var icatName: String {
        switch self {
        case .string: "String"
        case .integer: "Integer"
        case .long: "Long"
        case .double: "Double"
        case .boolean: "Boolean"
        case .date: "Date"
        case .enumeration(let name, _): name
        }
    }

    public var stringLength: Int? {
        switch self {
        case .string(let length): length
        case .enumeration(_, let values): values.map(\.count).max()
        default: nil
        }
    }
}

/// A field's default value from the schema.
public enum DefaultValue: Sendable, Hashable {
    case bool(Bool)
    case number(Double)
    case string(String)
}

/// How entity and field names become SQL identifiers: `DatasetParameter` → `dataset_parameter`.
public enum SQLName {
    public static func table(for entity: String) -> String {
        snakeCase(entity)
    }

    public static func column(for field: String) -> String {
        snakeCase(field)
    }

    static func snakeCase(_ name: String) -> String {
        var result = ""
        let characters = Array(name)
        for (i, c) in characters.enumerated() {
            if c.isUppercase {
                let previousIsLower = i > 0 && (characters[i - 1].isLowercase || characters[i - 1].isNumber)
                let nextIsLower = i + 1 < characters.count && characters[i + 1].isLowercase
                let previousIsUpper = i > 0 && characters[i - 1].isUppercase
                if i > 0 && (previousIsLower || (previousIsUpper && nextIsLower)) { result.append("_") }
                result.append(contentsOf: c.lowercased())
            } else {
                result.append(c)
            }
        }
        return result
    }
}
