import CatalogQuery
import Foundation
import JSONValue

/// How data flows along an edge: an input `used` by a job, an output `generated` by it, a datafile `related` to
/// another (RelatedDatafile), a dataset that `contains` a datafile.
public enum EdgeKind: Int, Sendable, CaseIterable {
    case used = 1
    case generated = 2
    case related = 3
    case contains = 4

    public var name: String {
        switch self {
        case .used: "used"
        case .generated: "generated"
        case .related: "related"
        case .contains: "contains"
        }
    }
}

extension NodeRef {
    var json: JSON { ["entity": .string(kind.entityName), "id": .int(id)] }
}

/// An edge, pointing the way data flows.
public struct ProvenanceEdge: Hashable, Sendable, Comparable {
    public let from: NodeRef
    public let to: NodeRef
    public let kind: EdgeKind

    public init(from: NodeRef, to: NodeRef, kind: EdgeKind) {
        self.from = from
        self.to = to
        self.kind = kind
    }

    public static func < (left: ProvenanceEdge, right: ProvenanceEdge) -> Bool {
        (left.from, left.to, left.kind.rawValue) < (right.from, right.to, right.kind.rawValue)
    }
}

/// A node with what is known of it: its name, how many job hops from the start, and typed attributes (a datafile's
/// size and checksum, a job's application, version, arguments, user and times).
public struct ProvenanceNode: Sendable {
    public let ref: NodeRef
    public var depth: Int
    public var name: String
    public var attributes: [String: JSON]
}

/// The part of the provenance graph a walk reached, of what the caller may read.
public struct ProvenanceGraph: Sendable {
    public let start: [NodeRef]
    /// In kind and id order.
    public let nodes: [ProvenanceNode]
    /// In order.
    public let edges: [ProvenanceEdge]

    /// The contract's JSON: `{nodes: [{entity, id, name, depth, ...}], edges: [{from, to, kind}]}`.
    public var json: JSON {
        let nodes = nodes.map { node -> JSON in
            var members = node.attributes
            members["entity"] = .string(node.ref.kind.entityName)
            members["id"] = .int(node.ref.id)
            members["name"] = .string(node.name)
            members["depth"] = .int(Int64(node.depth))
            if start.contains(node.ref) { members["start"] = true }
            return .object(members)
        }
        let edges = edges.map { edge -> JSON in
            ["from": edge.from.json, "to": edge.to.json, "kind": .string(edge.kind.name)]
        }
        return ["nodes": .array(nodes), "edges": .array(edges)]
    }
}
