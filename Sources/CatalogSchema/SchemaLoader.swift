import Foundation
import Yams

extension EntityModel {
    /// The text of `Schema/icat.yaml` as it was when this binary was built.
    public static let bundledSchemaText = EmbeddedFiles.contents["Schema/icat.yaml"]!

    /// The ICAT model built into this binary from `Schema/icat.yaml`.
    public static let icat: EntityModel = {
        do {
            return try EntityModel(yaml: bundledSchemaText)
        } catch {
            fatalError("Schema/icat.yaml is invalid: \(error)")
        }
    }()

    /// Reads a model from the schema file format (described at the top of `Schema/icat.yaml`).
    public init(yaml: String) throws {
        guard let root = try Yams.load(yaml: yaml) as? [String: Any] else {
            throw SchemaError("the schema file must be a mapping")
        }
        let version = (root["version"] as? String) ?? "unknown"
        var enumerations: [Enumeration] = []
        for (name, value) in (root["enums"] as? [String: Any]) ?? [:] {
            guard let body = value as? [String: Any], let values = body["values"] as? [String] else {
                throw SchemaError("enum \(name) needs a list of values")
            }
            enumerations.append(Enumeration(name: name, comment: body["comment"] as? String ?? "", values: values))
        }
        let enumsByName = Dictionary(enumerations.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard let entityMap = root["entities"] as? [String: Any] else {
            throw SchemaError("the schema file needs an 'entities' mapping")
        }
        var entities: [EntityDefinition] = []
        for name in entityMap.keys.sorted() {
            guard let body = entityMap[name] as? [String: Any] else {
                throw SchemaError("entity \(name) must be a mapping")
            }
            entities.append(try Self.entity(name: name, body: body, enums: enumsByName))
        }
        try self.init(version: version, entities: entities, enumerations: enumerations)
    }

    /// One entity; within each group (attributes, references, collections) fields are in alphabetical order.
    private static func entity(
        name: String,
        body: [String: Any],
        enums: [String: Enumeration]
    ) throws -> EntityDefinition {
        guard let fieldMap = body["fields"] as? [String: Any] else { throw SchemaError("\(name) has no fields") }
        var attributes: [Field] = []
        var ones: [Field] = []
        var manys: [Field] = []
        for fieldName in fieldMap.keys.sorted() {
            guard let spec = fieldMap[fieldName] as? [String: Any] else {
                throw SchemaError("\(name).\(fieldName) must be a mapping")
            }
            let required = spec["required"] as? Bool ?? false
            let comment = spec["comment"] as? String ?? ""
            if let target = spec["one"] as? String {
                ones.append(Field(name: fieldName, kind: .one(target: target), required: required, comment: comment))
            } else if let target = spec["many"] as? String {
                guard let inverse = spec["by"] as? String else { throw SchemaError("\(name).\(fieldName) needs 'by'") }
                let cascade = spec["cascade"] as? Bool ?? true
                manys.append(
                    Field(
                        name: fieldName,
                        kind: .many(target: target, inverse: inverse, cascade: cascade),
                        required: false,
                        comment: comment
                    )
                )
            } else if let typeName = spec["type"] as? String {
                let type: AttributeType
                switch typeName {
                case "String":
                    guard let length = spec["length"] as? Int else {
                        throw SchemaError("\(name).\(fieldName) needs a length")
                    }
                    type = .string(length: length)
                case "Integer": type = .integer
                case "Long": type = .long
                case "Double": type = .double
                case "Boolean": type = .boolean
                case "Date": type = .date
                default:
                    guard let enumeration = enums[typeName] else {
                        throw SchemaError("\(name).\(fieldName): unknown type \(typeName)")
                    }
                    type = .enumeration(name: typeName, values: enumeration.values)
                }
                var defaultValue: DefaultValue?
                switch spec["default"] {
                case let b as Bool: defaultValue = .bool(b)
                case let i as Int: defaultValue = .number(Double(i))
                case let d as Double: defaultValue = .number(d)
                case let s as String: defaultValue = .string(s)
                default: defaultValue = nil
                }
                attributes.append(
                    Field(
                        name: fieldName,
                        kind: .attribute(type),
                        required: required,
                        comment: comment,
                        defaultValue: defaultValue
                    )
                )
            } else {
                throw SchemaError("\(name).\(fieldName) needs 'type', 'one' or 'many'")
            }
        }
        let uniqueKeys = body["unique"] as? [[String]] ?? []
        return EntityDefinition(
            name: name,
            comment: body["comment"] as? String ?? "",
            fields: attributes + ones + manys,
            uniqueKeys: uniqueKeys
        )
    }
}
