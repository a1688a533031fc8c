import Catalog
import CatalogQuery
import JSONRPC
import JSONValue
import Provenance
import ProvenanceGraphics

/// Provenance's operations as JSON-RPC methods `provenance.*`; they fail with catalog errors, which the catalog's
/// service maps.
public enum ProvenanceMethods {
    public static func all(_ provenance: Provenance) -> [RPCMethod] {
        let sessionId = RPCParameter("sessionId", string, description: "A session id from login")
        let walk = [
            sessionId,
            RPCParameter("entity", ["enum": ["Dataset", "Datafile", "Job"]], description: "Where the walk starts"),
            RPCParameter("id", integer),
            RPCParameter("direction", ["enum": ["upstream", "downstream", "both"]]),
            RPCParameter("depth", integer, required: false, description: "Job hops, default 20, at most 100"),
            RPCParameter("containment", boolean, required: false, description: "Link datasets and their datafiles"),
        ]
        return [
            RPCMethod(
                name: "provenance.graph",
                summary: "The provenance graph around a dataset, datafile or job, as far as the caller may read it.",
                params: walk,
                result: ["type": "object"]
            ) { params, _ in
                try await graph(provenance, params).json
            },
            RPCMethod(
                name: "provenance.export",
                summary: "The provenance graph as W3C PROV-JSON, Graphviz DOT or SVG text.",
                params: walk + [RPCParameter("format", ["enum": ["prov-json", "dot", "svg"]])],
                result: string
            ) { params, _ in
                let format = try params.string("format")
                guard let chosen = ProvenanceFormat(rawValue: format) else {
                    throw CatalogError(.badParameter, "format must be prov-json, dot or svg, not '\(format)'")
                }
                let graph = try await graph(provenance, params)
                switch chosen {
                case .provJSON: return .string(graph.provJSON.serialized)
                case .dot: return .string(graph.dot)
                case .svg:
                    // Graphviz lays a graph out on one of the threads that serve requests, one drawing at a time.
                    guard graph.nodes.count <= maximumDrawnNodes else {
                        throw CatalogError(
                            .badParameter,
                            "The graph has \(graph.nodes.count) nodes, more than the \(maximumDrawnNodes) drawn as SVG; "
                                + "narrow it (depth) or export it as dot or prov-json"
                        )
                    }
                    do {
                        return .string(try GraphvizRenderer.svg(graph.dot))
                    } catch {
                        throw CatalogError(.internal, "The graph could not be drawn: \(error)")
                    }
                }
            },
            RPCMethod(
                name: "provenance.producedBy",
                summary: "What an application's jobs produced, directly or indirectly, of what the caller may read.",
                params: [
                    sessionId,
                    RPCParameter("application", ["type": "object"], required: false, description: "{name, version?}"),
                    RPCParameter("applicationId", integer, required: false),
                    RPCParameter("indirect", boolean, required: false, description: "Default true"),
                    RPCParameter("entity", ["enum": ["Dataset", "Datafile"]], required: false),
                ],
                result: ["type": "array"]
            ) { params, _ in
                let start: Walk.Start
                if let id = try params.optionalInt64("applicationId") {
                    start = .jobsOfApplication(id: id)
                } else {
                    let application = try params.object("application")
                    guard let name = application["name"]?.stringValue else {
                        throw CatalogError(.badParameter, "application needs a name (or give applicationId)")
                    }
                    start = .jobs(application: name, version: application["version"]?.stringValue)
                }
                return try await provenance.producedBy(
                    sessionId: try params.string("sessionId"),
                    application: start,
                    indirect: try params.optionalBool("indirect") ?? true,
                    entity: try params.optionalString("entity") ?? "Dataset"
                )
            },
            RPCMethod(
                name: "provenance.record",
                summary: "Records one job run (application, arguments, inputs, outputs) in one transaction.",
                params: [
                    sessionId,
                    RPCParameter("application", ["type": "object"], description: "{name, version}"),
                    RPCParameter("arguments", string, required: false),
                    RPCParameter(
                        "inputs",
                        ["type": "object"],
                        required: false,
                        description: "{datasetIds, datafileIds}"
                    ),
                    RPCParameter(
                        "outputs",
                        ["type": "object"],
                        required: false,
                        description: "{datasetIds, datafileIds}"
                    ),
                ],
                result: integer
            ) { params, _ in
                let application = try params.object("application")
                guard let name = application["name"]?.stringValue, let version = application["version"]?.stringValue
                else { throw CatalogError(.badParameter, "application needs a name and a version") }
                return .int(
                    try await provenance.record(
                        sessionId: try params.string("sessionId"),
                        application: name,
                        version: version,
                        arguments: try params.optionalString("arguments"),
                        inputs: try jobData(params, "inputs"),
                        outputs: try jobData(params, "outputs")
                    )
                )
            },
        ]
    }

    static func graph(_ provenance: Provenance, _ params: RPCParams) async throws -> ProvenanceGraph {
        let direction = try params.string("direction")
        guard let chosen = WalkDirection(rawValue: direction) else {
            throw CatalogError(.badParameter, "direction must be upstream, downstream or both, not '\(direction)'")
        }
        return try await provenance.graph(
            sessionId: try params.string("sessionId"),
            entity: try params.string("entity"),
            id: try params.int64("id"),
            direction: chosen,
            depth: Int(try params.optionalInt64("depth") ?? 20),
            containment: try params.optionalBool("containment") ?? false
        )
    }

    static func jobData(_ params: RPCParams, _ name: String) throws -> JobData {
        guard let value = params.members[name], !value.isNull else { return JobData() }
        guard let object = value.objectValue else { throw CatalogError(.badParameter, "\(name) must be an object") }
        func ids(_ key: String) throws -> [Int64] {
            guard let list = object[key], !list.isNull else { return [] }
            guard let array = list.arrayValue, array.allSatisfy({ ($0.int64Value ?? -1) >= 0 }) else {
                throw CatalogError(.badParameter, "\(name).\(key) must be an array of ids")
            }
            return array.compactMap(\.int64Value)
        }
        return JobData(datasetIds: try ids("datasetIds"), datafileIds: try ids("datafileIds"))
    }

    /// The most nodes `provenance.export` draws as SVG.
    public static let maximumDrawnNodes = 2000

    private static let string: JSON = ["type": "string"]
    private static let integer: JSON = ["type": "integer"]
    private static let boolean: JSON = ["type": "boolean"]
}
