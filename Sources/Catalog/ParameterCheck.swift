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

    /// Checks the complete field values of a parameter about to be written.
    func check(
        _ entity: EntityDefinition,
        values: [String: SQLValue],
        on connection: any DatabaseConnection
    ) async throws {
        guard let owner = ownerField(of: entity), let typeId = values["type"]?.int64Value else { return }
        let table = EntityTable(entity: parameterType, dialect: connection.dialect)
        guard let type = try await table.fetch(where: "id", in: [typeId], on: connection).first else {
            throw CatalogError.notFound(parameterType.name, typeId)
        }
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
            let permitted = try await EntityTable(entity: permissibleValue, dialect: connection.dialect)
                .fetch(where: permissibleValue.field(named: "type")!.column!, in: [typeId], on: connection)
                .compactMap { $0.values["value"]?.stringValue }
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
