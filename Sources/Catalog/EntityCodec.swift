import CatalogSQL
import CatalogSchema
import CatalogStore
import Foundation
import JSONValue

/// An object as a client sent it: the fields it sets, and children to create with it.
struct EntityInput: Sendable {
    let entity: EntityDefinition
    var id: Int64?
    /// Attributes and many-to-one references (as the referenced id) by field name; `.null` clears a field.
    var values: [String: SQLValue]
    /// One-to-many children by relation, in the order given.
    var children: [(relation: Field, items: [EntityInput])]
}

/// An object as stored: its id and column values by field name (references as ids).
struct StoredObject: Sendable {
    let entity: EntityDefinition
    let id: Int64
    var values: [String: SQLValue]
}

/// Converts entities between the contract's JSON and the catalog's values, checking types as it goes.
struct EntityCodec: Sendable {
    let model: EntityModel

    /// Reads `{"Dataset": {...}}`.
    func decodeWrapped(_ json: JSON) throws(CatalogError) -> EntityInput {
        guard case .object(let wrapper) = json, wrapper.count == 1, let (name, body) = wrapper.first else {
            throw .badParameter(
                "An entity must be an object with one member named for its type, e.g. {\"Dataset\": {...}}"
            )
        }
        guard let entity = model.entity(named: name) else {
            throw .badParameter("'\(name)' is not an entity type")
        }
        guard case .object(let members) = body else {
            throw .badParameter("The \(name) must be an object, not \(body.kindName)")
        }
        return try decode(members, as: entity)
    }

    /// Reads the members of one object of type `entity`.
    func decode(_ members: [String: JSON], as entity: EntityDefinition) throws(CatalogError) -> EntityInput {
        var input = EntityInput(entity: entity, id: nil, values: [:], children: [])
        for key in members.keys.sorted() {
            let json = members[key]!
            guard let field = entity.field(named: key) else {
                throw .badParameter("\(entity.name) has no field '\(key)'")
            }
            if field.name == "id" {
                guard let id = json.int64Value else { throw .badParameter("\(entity.name).id must be an integer") }
                input.id = id
                continue
            }
            if field.isManaged { continue }
            switch field.kind {
            case .attribute(let type):
                input.values[key] = try value(of: json, type: type, field: "\(entity.name).\(key)")
            case .one(let target):
                switch json {
                case .null:
                    input.values[key] = .null
                case .object(let reference):
                    let members = unwrap(reference, as: target)
                    guard let id = members["id"]?.int64Value else {
                        throw .badParameter("\(entity.name).\(key) must name an existing \(target) by its id")
                    }
                    input.values[key] = .integer(id)
                default:
                    throw .badParameter("\(entity.name).\(key) must be an object with an id, not \(json.kindName)")
                }
            case .many(let target, _, _):
                guard case .array(let elements) = json else {
                    throw .badParameter("\(entity.name).\(key) must be an array, not \(json.kindName)")
                }
                let child = model.entity(named: target)!
                var items: [EntityInput] = []
                for element in elements {
                    guard case .object(let members) = element else {
                        throw .badParameter("Each of \(entity.name).\(key) must be an object")
                    }
                    items.append(try decode(unwrap(members, as: target), as: child))
                }
                input.children.append((field, items))
            }
        }
        return input
    }

    /// Children and references may be written bare (`{"name": ...}`) or wrapped (`{"Datafile": {...}}`).
    private func unwrap(_ members: [String: JSON], as entity: String) -> [String: JSON] {
        if members.count == 1, case .object(let inner)? = members[entity] { return inner }
        return members
    }

    /// A JSON value as the SQL value of an attribute of `type`.
    func value(of json: JSON, type: AttributeType, field: String) throws(CatalogError) -> SQLValue {
        if json.isNull { return .null }
        switch type {
        case .string:
            guard let s = json.stringValue else {
                throw .badParameter("\(field) must be a string, not \(json.kindName)")
            }
            try StorableText.check(s, field)
            return .text(s)
        case .enumeration(let name, let values):
            guard let s = json.stringValue else {
                throw .badParameter("\(field) must be a string, not \(json.kindName)")
            }
            guard values.contains(s) else {
                throw .badParameter("\(field): '\(s)' is not a \(name); use one of \(values.joined(separator: ", "))")
            }
            return .text(s)
        case .integer:
            guard let i = json.int64Value, let _ = Int32(exactly: i) else {
                throw .badParameter("\(field) must be a 32-bit integer, not \(json)")
            }
            return .integer(i)
        case .long:
            guard let i = json.int64Value else { throw .badParameter("\(field) must be an integer, not \(json)") }
            return .integer(i)
        case .double:
            guard let d = json.doubleValue else {
                throw .badParameter("\(field) must be a number, not \(json.kindName)")
            }
            return .double(d)
        case .boolean:
            guard let b = json.boolValue else { throw .badParameter("\(field) must be true or false, not \(json)") }
            return .boolean(b)
        case .date:
            guard let s = json.stringValue, let date = SQLTimestamp.parse(s) else {
                throw .badParameter(
                    "\(field) must be an ISO 8601 timestamp such as \"2010-10-12T15:00:00.000Z\", not \(json)"
                )
            }
            return .timestamp(date)
        }
    }

    /// The JSON of a stored attribute value, or nil when it is null.
    func json(of value: SQLValue, type: AttributeType) -> JSON? {
        if value.isNull { return nil }
        switch type {
        case .string, .enumeration: return value.stringValue.map(JSON.string)
        case .integer, .long: return value.int64Value.map(JSON.int)
        case .double: return value.doubleValue.map(JSON.double)
        case .boolean: return value.boolValue.map(JSON.bool)
        case .date: return value.dateValue.map { .string(Self.formatDate($0)) }
        }
    }

    /// The contract's output form, e.g. `2010-10-12T15:00:00.000Z`.
    static func formatDate(_ date: Date) -> String {
        SQLTimestamp.format(date, separator: "T", suffix: "Z")
    }

    /// The members of a stored object (without the type wrapper); relations are added by the caller.
    func members(of object: StoredObject) -> [String: JSON] {
        var members: [String: JSON] = [:]
        members.reserveCapacity(object.entity.attributesExceptId.count + 1)
        members["id"] = .int(object.id)
        for (name, type) in object.entity.attributesExceptId {
            if let value = object.values[name], let json = json(of: value, type: type) {
                members[name] = json
            }
        }
        return members
    }
}
