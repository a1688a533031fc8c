import CatalogQuery
import CatalogSQL
import CatalogSchema

/// Refuses rules and public steps that could never work, when they are written, with `BAD_PARAMETER`: a rule's
/// `crudFlags` must be letters of CRUD, its `what` a query selecting one entity (an attribute only for update
/// rules); a public step's `origin` must be an entity and its `field` a relation of it.
struct AuthorizationTableCheck: Sendable {
    let model: EntityModel

    func check(_ entity: EntityDefinition, values: [String: SQLValue], dialect: SQLDialect) throws(CatalogError) {
        switch entity.name {
        case "Rule":
            let flags = values["crudFlags"]?.stringValue ?? ""
            guard !flags.isEmpty, flags.uppercased().allSatisfy({ "CRUD".contains($0) }),
                Set(flags.uppercased()).count == flags.count
            else {
                throw .badParameter(
                    "Rule crudFlags '\(flags)' must be one or more of the letters C, R, U and D, each once"
                )
            }
            let what = values["what"]?.stringValue ?? ""
            let compiled: CompiledRule
            do {
                compiled = try QueryCompiler(model: model, dialect: dialect).compileRule(what)
            } catch {
                throw .badParameter("Rule query '\(what)' is not valid: \(error)")
            }
            if compiled.attribute != nil, flags.uppercased() != "U" {
                throw .badParameter("Rule query '\(what)' selects an attribute, which only an update (U) rule may do")
            }
        case "PublicStep":
            let origin = values["origin"]?.stringValue ?? ""
            let field = values["field"]?.stringValue ?? ""
            guard let originEntity = model.entity(named: origin) else {
                throw .badParameter("PublicStep origin '\(origin)' is not an entity type")
            }
            guard originEntity.field(named: field)?.target != nil else {
                throw .badParameter("PublicStep field '\(field)' is not a relation of \(origin)")
            }
        default:
            return
        }
    }
}
