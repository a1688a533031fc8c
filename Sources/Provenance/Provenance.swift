import Catalog
import CatalogQuery
import CatalogSQL
import CatalogStore
import Foundation
import JSONValue

/// Where data came from and what came of it: walks of the provenance graph as single recursive statements, with
/// the caller's READ rules applied in them; and the recording of a job run. Knows the catalog, not HTTP.
public struct Provenance: Sendable {
    /// The deepest walk asked for (job hops).
    public static let maximumDepth = 100

    public let catalog: Catalog
    let planner = WalkPlanner()

    public init(catalog: Catalog) {
        self.catalog = catalog
    }

    /// The graph around a dataset, datafile or job, as far as the caller may read it: the walk passes only through
    /// nodes the caller may read. A start the caller may not read fails as `get` would.
    public func graph(
        sessionId: String,
        entity: String,
        id: Int64,
        direction: WalkDirection,
        depth: Int = 20,
        containment: Bool = false
    ) async throws(CatalogError) -> ProvenanceGraph {
        guard let kind = NodeKind(entityName: entity) else {
            throw CatalogError(.badParameter, "entity must be Dataset, Datafile or Job, not '\(entity)'")
        }
        try Self.check(depth: depth)
        try await catalog.requireReadable(sessionId: sessionId, entity: entity, id: id)
        let start = NodeRef(kind, id)
        let walk = Walk(start: .nodes([start]), direction: direction, depth: depth, containment: containment)
        return Self.assemble(try await rows(walk, sessionId: sessionId), start: [start])
    }

    /// What an application's jobs produced, directly or (with `indirect`, up to `maximumDepth` job hops) through
    /// other jobs: the datasets or datafiles the caller may read, wrapped as `search` returns them.
    public func producedBy(
        sessionId: String,
        application: Walk.Start,
        indirect: Bool = true,
        entity: String = "Dataset"
    ) async throws(CatalogError) -> JSON {
        guard let kind = NodeKind(entityName: entity), kind != .job else {
            throw CatalogError(.badParameter, "entity must be Dataset or Datafile, not '\(entity)'")
        }
        let walk = Walk(start: application, direction: .downstream, depth: indirect ? Self.maximumDepth : 1)
        let graph = Self.assemble(try await rows(walk, sessionId: sessionId), start: [])
        let ids = graph.nodes.filter { $0.ref.kind == kind }.map(\.ref.id)
        var results: [JSON] = []
        let page = max(1, catalog.configuration.maxEntities)
        for start in stride(from: 0, to: ids.count, by: page) {
            let chunk = ids[start..<min(start + page, ids.count)].map(String.init).joined(separator: ",")
            let found = try await catalog.search(
                sessionId: sessionId,
                query: "SELECT x FROM \(entity) x WHERE x.id IN (\(chunk)) ORDER BY x.id"
            )
            results += found.arrayValue ?? []
        }
        return .array(results)
    }

    static func check(depth: Int) throws(CatalogError) {
        guard (0...maximumDepth).contains(depth) else {
            throw CatalogError(.badParameter, "depth must be from 0 to \(maximumDepth), not \(depth)")
        }
    }

    func rows(_ walk: Walk, sessionId: String) async throws(CatalogError) -> [SQLRow] {
        let planner = planner
        return try await catalog.withReadRules(sessionId: sessionId) { rules, connection in
            let sql = planner.statement(walk) { kind, alias in rules.condition(for: kind.entityName, alias: alias) }
            return try await connection.query(sql.statement(connection.dialect, userName: rules.userName))
        }
    }

    /// The graph of a walk's rows: each node once, at the least depth it was reached, and each edge once.
    static func assemble(_ rows: [SQLRow], start: [NodeRef]) -> ProvenanceGraph {
        var nodes: [NodeRef: ProvenanceNode] = [:]
        var edges: Set<ProvenanceEdge> = []
        for row in rows {
            guard let kind = row[0].int64Value.flatMap({ NodeKind(rawValue: Int($0)) }), let id = row[1].int64Value
            else { continue }
            let ref = NodeRef(kind, id)
            let depth = Int(row[2].int64Value ?? 0)
            if let known = nodes[ref] {
                if depth < known.depth { nodes[ref]?.depth = depth }
            } else {
                nodes[ref] = node(ref, depth: depth, row)
            }
            if let sk = row[3].int64Value.flatMap({ NodeKind(rawValue: Int($0)) }), let s = row[4].int64Value,
                let dk = row[5].int64Value.flatMap({ NodeKind(rawValue: Int($0)) }), let d = row[6].int64Value,
                let k = row[7].int64Value.flatMap({ EdgeKind(rawValue: Int($0)) })
            {
                edges.insert(ProvenanceEdge(from: NodeRef(sk, s), to: NodeRef(dk, d), kind: k))
            }
        }
        return ProvenanceGraph(
            start: start,
            nodes: nodes.values.sorted { $0.ref < $1.ref },
            edges: edges.filter { nodes[$0.from] != nil && nodes[$0.to] != nil }.sorted()
        )
    }

    private static func node(_ ref: NodeRef, depth: Int, _ row: SQLRow) -> ProvenanceNode {
        var attributes: [String: JSON] = [:]
        func put(_ key: String, _ value: SQLValue) {
            switch value {
            case .null: break
            case .integer(let i): attributes[key] = .int(i)
            case .text(let s): attributes[key] = .string(s)
            case .timestamp(let d): attributes[key] = .string(SQLTimestamp.format(d, separator: "T", suffix: "Z"))
            case .double(let d): attributes[key] = .double(d)
            case .boolean(let b): attributes[key] = .bool(b)
            }
        }
        let name: String
        switch ref.kind {
        case .dataset:
            name = row[8].stringValue ?? ""
        case .datafile:
            name = row[9].stringValue ?? ""
            put("fileSize", row[10])
            put("checksum", row[11])
            put("datafileCreateTime", timestamp(row[12]))
        case .job:
            let application = row[17].stringValue ?? ""
            let version = row[18].stringValue ?? ""
            name = version.isEmpty ? application : "\(application) \(version)"
            attributes["application"] = .string(application)
            attributes["version"] = .string(version)
            put("arguments", row[13])
            put("createId", row[14])
            put("createTime", timestamp(row[15]))
            put("modTime", timestamp(row[16]))
        }
        return ProvenanceNode(ref: ref, depth: depth, name: name, attributes: attributes)
    }

    /// A timestamp column, which SQLite gives as text.
    private static func timestamp(_ value: SQLValue) -> SQLValue {
        if case .text(let text) = value, let date = SQLTimestamp.parse(text) { return .timestamp(date) }
        return value
    }
}
