import CatalogSQL
import CatalogSchema
import CatalogStore

/// ICAT's checks of a parameter against its `ParameterType`: the type must apply to the parameter's owner, the
/// value must be of the type's kind, and when the type is `enforced` a number must lie in the permitted range and
/// a string must be one of the permissible values.
///
/// Parameter entities are recognised from the schema: a `type` reference to `ParameterType`, and an owner
/// reference whose entity has a matching `applicableTo<Owner>` flag on `ParameterType`.
struct ParameterCheck: Sendable {
    let parameterType: EntityDefinition
    let permissibleValue: EntityDefinition

    init?(model: EntityModel) {
        guard let parameterType = model.entity(named: "ParameterType"),
            let permissibleValue = model.entity(named: "PermissibleStringValue")
        else { return nil }
        self.parameterType = parameterType
        self.permissibleValue = permissibleValue
    }

    /// The owner relation of a parameter entity, or nil when `entity` holds no parameters.
    func ownerField(of entity: EntityDefinition) -> Field? {
        guard entity.field(named: "type")?.target == parameterType.name else { return nil }
        return entity.oneRelations.first { field in
            field.name != "type" && parameterType.field(named: "applicableTo" + field.target!) != nil
        }
    }

    /// What the checks need to know of one parameter type.
    struct TypeFacts: Sendable {
        let type: StoredObject
        /// The permissible string values; empty when any value goes.
        let permitted: [String]
    }

    /// The facts of the parameter types `ids` names that exist, by id, in two statements per thousand types.
    func loadTypes(
        _ ids: some Collection<Int64>,
        on connection: any DatabaseConnection
    ) async throws -> [Int64: TypeFacts] {
        guard !ids.isEmpty else { return [:] }
        let types = try await EntityTable(entity: parameterType, dialect: connection.dialect)
            .fetch(where: "id", in: Array(ids), on: connection)
        let permittedRows = try await EntityTable(entity: permissibleValue, dialect: connection.dialect)
            .fetch(where: permissibleValue.field(named: "type")!.column!, in: types.map(\.id), on: connection)
        var permitted: [Int64: [String]] = [:]
        for row in permittedRows {
            if let type = row.values["type"]?.int64Value, let value = row.values["value"]?.stringValue {
                permitted[type, default: []].append(value)
            }
        }
        return Dictionary(
            uniqueKeysWithValues: types.map { ($0.id, TypeFacts(type: $0, permitted: permitted[$0.id] ?? [])) }
        )
    }

    /// The parameter type a parameter about to be written refers to, or nil when `entity` holds no parameters.
    func typeId(of entity: EntityDefinition, values: [String: SQLValue]) -> Int64? {
        guard ownerField(of: entity) != nil else { return nil }
        return values["type"]?.int64Value
    }

    /// Checks the complete field values of a parameter about to be written.
    func check(
        _ entity: EntityDefinition,
        values: [String: SQLValue],
        on connection: any DatabaseConnection
    ) async throws {
        guard let typeId = typeId(of: entity, values: values) else { return }
        try check(entity, values: values, types: try await loadTypes([typeId], on: connection))
    }

    /// Checks a parameter against the facts of its type, which `types` must hold if the type exists.
    func check(_ entity: EntityDefinition, values: [String: SQLValue], types: [Int64: TypeFacts]) throws(CatalogError) {
        guard let owner = ownerField(of: entity), let typeId = values["type"]?.int64Value else { return }
        guard let facts = types[typeId] else {
            throw CatalogError.notFound(parameterType.name, typeId)
        }
        let type = facts.type
        let name = type.values["name"]?.stringValue ?? "?"
        let ownerEntity = owner.target!
        if type.values["applicableTo" + ownerEntity]?.boolValue != true {
            throw CatalogError.validation("Parameter of type \(name) is not applicable to a \(ownerEntity)")
        }
        let enforced = type.values["enforced"]?.boolValue == true
        switch type.values["valueType"]?.stringValue {
        case "NUMERIC":
            guard let number = values["numericValue"]?.doubleValue else {
                throw CatalogError.validation("Parameter of type \(name) is NUMERIC and needs a numericValue")
            }
            guard enforced else { return }
            if let minimum = type.values["minimumNumericValue"]?.doubleValue, number < minimum {
                throw CatalogError.validation("Parameter of type \(name) has value \(number) < \(minimum), its minimum")
            }
            if let maximum = type.values["maximumNumericValue"]?.doubleValue, number > maximum {
                throw CatalogError.validation("Parameter of type \(name) has value \(number) > \(maximum), its maximum")
            }
        case "STRING":
            guard let string = values["stringValue"]?.stringValue else {
                throw CatalogError.validation("Parameter of type \(name) is STRING and needs a stringValue")
            }
            guard enforced else { return }
            let permitted = facts.permitted
            if !permitted.isEmpty, !permitted.contains(string) {
                throw CatalogError.validation(
                    "Parameter of type \(name) has value '\(string)', which is not one of the permissible values "
                        + permitted.sorted().map { "'\($0)'" }.joined(separator: ", ")
                )
            }
        case "DATE_AND_TIME":
            guard values["dateTimeValue"]?.dateValue != nil else {
                throw CatalogError.validation("Parameter of type \(name) is DATE_AND_TIME and needs a dateTimeValue")
            }
        default:
            return
        }
    }
}
