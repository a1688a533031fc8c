import CatalogSchema

/// Which related objects to load with a result, as a tree of relation names from the selected entity:
/// `INCLUDE ds.datafiles df, df.parameters` is `datafiles → parameters`.
public struct IncludeTree: Sendable, Equatable {
    public var children: [String: IncludeTree]

    public init(children: [String: IncludeTree] = [:]) {
        self.children = children
    }

    public var isEmpty: Bool { children.isEmpty }

    /// `INCLUDE 1`: every many-to-one relation of the entity, one level deep, as ICAT does.
    public static func oneLevel(of entity: EntityDefinition) -> IncludeTree {
        IncludeTree(children: Dictionary(uniqueKeysWithValues: entity.oneRelations.map { ($0.name, IncludeTree()) }))
    }

    /// How many relation steps the tree has, which bounds the SQL statements needed to load it.
    public var stepCount: Int {
        children.values.reduce(children.count) { $0 + $1.stepCount }
    }
}

/// The query a `get` takes: `Entity [alias] [INCLUDE 1 | INCLUDE path [alias], ...]`.
///
/// This is the small grammar the catalog core needs; the full query language compiles the same INCLUDE clause
/// into the same `IncludeTree`.
struct GetQuery: Sendable {
    let entity: EntityDefinition
    let include: IncludeTree

    init(_ text: String, model: EntityModel) throws(CatalogError) {
        let tokens = Self.tokens(text)
        guard let name = tokens.first else { throw .badParameter("The query is empty; name an entity, e.g. 'Dataset'") }
        guard let entity = model.entity(named: name) else {
            throw .badParameter("'\(name)' at position 0 of the query is not an entity type")
        }
        var index = 1
        var aliases: [String: [String]] = [:]  // alias → path of relation names from the root
        if index < tokens.count, tokens[index].uppercased() != "INCLUDE" {
            aliases[tokens[index]] = []
            index += 1
        }
        var include = IncludeTree()
        if index < tokens.count {
            guard tokens[index].uppercased() == "INCLUDE" else {
                throw .badParameter("Expected INCLUDE after '\(name)' but found '\(tokens[index])'")
            }
            index += 1
            guard index < tokens.count else { throw .badParameter("INCLUDE needs 1 or a list of relations") }
            if tokens[index] == "1" {
                include = .oneLevel(of: entity)
                index += 1
            } else {
                var expectPath = true
                while index < tokens.count {
                    let token = tokens[index]
                    index += 1
                    if token == "," {
                        guard !expectPath else { throw .badParameter("Unexpected ',' in INCLUDE") }
                        expectPath = true
                        continue
                    }
                    guard expectPath else { throw .badParameter("Expected ',' in INCLUDE but found '\(token)'") }
                    expectPath = false
                    let steps = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    guard steps.count >= 2, let base = aliases[steps[0]] else {
                        throw .badParameter(
                            "INCLUDE path '\(token)' must start with a defined variable, e.g. 'Dataset ds INCLUDE ds.datafiles'"
                        )
                    }
                    var path = base
                    var current = try Self.entityAt(path, from: entity, model: model)
                    for step in steps.dropFirst() {
                        guard let field = current.field(named: step), let target = field.target else {
                            throw .badParameter(
                                "'\(step)' in INCLUDE path '\(token)' is not a relation of \(current.name)"
                            )
                        }
                        path.append(step)
                        current = model.entity(named: target)!
                    }
                    include.insert(path)
                    if index < tokens.count, tokens[index] != "," {
                        var alias = tokens[index]
                        if alias.uppercased() == "AS", index + 1 < tokens.count {
                            index += 1
                            alias = tokens[index]
                        }
                        index += 1
                        aliases[alias] = path
                    }
                }
                if expectPath { throw .badParameter("INCLUDE ends with ','") }
            }
        }
        guard index == tokens.count else {
            throw .badParameter("Unexpected '\(tokens[index])' at the end of the query")
        }
        self.entity = entity
        self.include = include
    }

    private static func entityAt(
        _ path: [String],
        from root: EntityDefinition,
        model: EntityModel
    ) throws(CatalogError)
        -> EntityDefinition
    {
        var current = root
        for step in path {
            current = model.entity(named: current.field(named: step)!.target!)!
        }
        return current
    }

    private static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for character in text {
            if character.isWhitespace || character == "," {
                if !current.isEmpty { tokens.append(current) }
                current = ""
                if character == "," { tokens.append(",") }
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }
}

extension IncludeTree {
    mutating func insert(_ path: [String]) {
        guard let first = path.first else { return }
        var child = children[first] ?? IncludeTree()
        child.insert(Array(path.dropFirst()))
        children[first] = child
    }
}
