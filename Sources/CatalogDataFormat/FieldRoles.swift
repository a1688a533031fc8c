import CatalogSchema

/// What a field name in a data file stands for, as both readers need it.
enum FieldRole {
    case attribute
    case reference(target: EntityDefinition)
    case children(target: EntityDefinition)
}

extension EntityModel {
    /// The entity a data file names with a lowercase first letter: `dataCollection` → `DataCollection`.
    func dataFileEntity(named name: String) -> EntityDefinition? {
        guard let first = name.first, first.isLowercase else { return nil }
        return entity(named: first.uppercased() + name.dropFirst())
    }

    /// How a data file writes an entity's name: `DataCollection` → `dataCollection`.
    static func dataFileName(of entity: String) -> String {
        guard let first = entity.first else { return entity }
        return first.lowercased() + entity.dropFirst()
    }

    func unknownEntityError(_ name: String, line: Int?) -> DataFileError {
        DataFileError("'\(name)' is not an ICAT entity type", line: line)
    }

    /// The role of `name` in `entity`. The managed fields `createId`, `createTime`, `modId` and `modTime` are
    /// attributes like any other (the importer decides what to do with them); `id` cannot appear in a file.
    func dataFileRole(of name: String, in entity: EntityDefinition, line: Int?) throws(DataFileError) -> FieldRole {
        guard let field = entity.field(named: name) else {
            throw DataFileError("\(entity.name) has no field '\(name)'", line: line)
        }
        if field.name == "id" {
            throw DataFileError(
                "\(entity.name).id is assigned by the catalog; a data file names objects by label instead",
                line: line
            )
        }
        switch field.kind {
        case .attribute:
            return .attribute
        case .one(let target):
            return .reference(target: try relatedEntity(target, line: line))
        case .many(let target, _, _):
            return .children(target: try relatedEntity(target, line: line))
        }
    }

    private func relatedEntity(_ name: String, line: Int?) throws(DataFileError) -> EntityDefinition {
        guard let target = entity(named: name) else {
            throw DataFileError("the entity model has no entity \(name)", line: line)
        }
        return target
    }

    /// Checks the attribute names of a key reference to `target`: `name` must be an attribute, `name.ref` a
    /// many-to-one relation.
    func checkKeyReference(
        _ attributes: [DataFileReference.KeyAttribute],
        to target: EntityDefinition,
        line: Int?
    ) throws(DataFileError) {
        for attribute in attributes {
            let isRelation = attribute.name.hasSuffix(".ref")
            let name = isRelation ? String(attribute.name.dropLast(4)) : attribute.name
            guard let field = target.field(named: name) else {
                throw DataFileError(
                    "a reference to \(target.name) names '\(attribute.name)', but \(target.name) has no field '\(name)'",
                    line: line
                )
            }
            if isRelation && !field.isOne {
                throw DataFileError(
                    "a reference to \(target.name) names '\(attribute.name)', but \(target.name).\(name) is not a "
                        + "many-to-one relation",
                    line: line
                )
            }
            if !isRelation && !field.isAttribute {
                throw DataFileError(
                    "a reference to \(target.name) names '\(attribute.name)', but \(target.name).\(name) is a "
                        + "relation (write '\(name).ref')",
                    line: line
                )
            }
        }
    }
}
