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

extension IncludeTree {
    /// Adds a path of relation names.
    public mutating func insert(_ path: [String]) {
        guard let first = path.first else { return }
        var child = children[first] ?? IncludeTree()
        child.insert(Array(path.dropFirst()))
        children[first] = child
    }
}
