import CatalogQuery
import JSONValue

/// A provenance graph written for people and tools: W3C PROV-JSON, and Graphviz's DOT.
public enum ProvenanceFormat: String, Sendable, CaseIterable {
    case provJSON = "prov-json"
    case dot
    case svg
}

extension ProvenanceGraph {
    /// The namespace of the graph's identifiers and attributes in PROV documents.
    public static let namespace = "https://icatproject.org/provenance#"

    /// The graph as a W3C PROV-JSON document: datasets and datafiles are entities (typed `icat:Dataset`,
    /// `icat:Datafile`), jobs activities (`icat:Job`), the users who recorded them agents (`prov:Person`); `used`,
    /// `wasGeneratedBy`, `wasAssociatedWith`, `wasDerivedFrom` (each output of a job from each of its inputs, and a
    /// related datafile from its source) and `hadMember` (a dataset's datafiles).
    public var provJSON: JSON {
        var entities: [String: JSON] = [:]
        var activities: [String: JSON] = [:]
        var agents: [String: JSON] = [:]
        var associations: [String: JSON] = [:]
        for node in nodes {
            var attributes: [String: JSON] = [
                "prov:type": Self.qualifiedName("icat:\(node.ref.kind.entityName)"),
                "prov:label": .string(node.name),
                "icat:id": .int(node.ref.id),
            ]
            for (key, value) in node.attributes where key != "createId" {
                attributes["icat:\(key)"] = key.hasSuffix("Time") ? Self.dateTime(value) : value
            }
            switch node.ref.kind {
            case .dataset, .datafile:
                entities[Self.identifier(node.ref)] = .object(attributes)
            case .job:
                activities[Self.identifier(node.ref)] = .object(attributes)
                if let user = node.attributes["createId"]?.stringValue {
                    let agent = Self.agent(user)
                    agents[agent] = ["prov:type": Self.qualifiedName("prov:Person"), "prov:label": .string(user)]
                    associations["_:assoc\(node.ref.id)"] = [
                        "prov:activity": .string(Self.identifier(node.ref)), "prov:agent": .string(agent),
                    ]
                }
            }
        }
        var used: [String: JSON] = [:]
        var generated: [String: JSON] = [:]
        var derived: [String: JSON] = [:]
        var members: [String: JSON] = [:]
        var inputs: [NodeRef: [NodeRef]] = [:]
        for edge in edges where edge.kind == .used { inputs[edge.to, default: []].append(edge.from) }
        for (index, edge) in edges.enumerated() {
            let from = JSON.string(Self.identifier(edge.from))
            let to = JSON.string(Self.identifier(edge.to))
            switch edge.kind {
            case .used:
                used["_:used\(index)"] = ["prov:activity": to, "prov:entity": from]
            case .generated:
                generated["_:gen\(index)"] = ["prov:entity": to, "prov:activity": from]
                for (offset, input) in (inputs[edge.from] ?? []).enumerated() {
                    derived["_:der\(index)_\(offset)"] = [
                        "prov:generatedEntity": to, "prov:usedEntity": .string(Self.identifier(input)),
                        "prov:activity": from,
                    ]
                }
            case .related:
                derived["_:rel\(index)"] = ["prov:generatedEntity": to, "prov:usedEntity": from]
            case .contains:
                members["_:mem\(index)"] = ["prov:collection": from, "prov:entity": to]
            }
        }
        var document: [String: JSON] = [
            "prefix": ["icat": .string(Self.namespace)],
            "entity": .object(entities),
            "activity": .object(activities),
            "agent": .object(agents),
        ]
        for (name, records) in [
            ("used", used), ("wasGeneratedBy", generated), ("wasDerivedFrom", derived),
            ("wasAssociatedWith", associations), ("hadMember", members),
        ] where !records.isEmpty {
            document[name] = .object(records)
        }
        return .object(document)
    }

    static func identifier(_ ref: NodeRef) -> String { "icat:\(ref.kind.entityName)_\(ref.id)" }

    /// An agent's identifier: the user name with every character but letters and digits written as `_XX` (hex).
    static func agent(_ user: String) -> String {
        var local = "user_"
        for byte in user.utf8 {
            if (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) {
                local.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                local += "_" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            }
        }
        return "icat:" + local
    }

    static func qualifiedName(_ name: String) -> JSON { ["$": .string(name), "type": "prov:QUALIFIED_NAME"] }

    static func dateTime(_ value: JSON) -> JSON {
        guard let text = value.stringValue else { return value }
        return ["$": .string(text), "type": "xsd:dateTime"]
    }

    /// The graph in Graphviz's DOT language: datasets as folders, datafiles as notes, jobs as boxes with their
    /// application and version, edges by kind (generated bold, related dashed, contains dotted), the start marked.
    public var dot: String {
        var out = "digraph provenance {\n"
        out += "  rankdir=LR;\n  bgcolor=\"white\";\n"
        out += "  node [fontname=\"Helvetica\", fontsize=11, style=filled, penwidth=1];\n"
        out += "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n"
        for node in nodes {
            let id = Self.dotID(node.ref)
            var label = node.name
            let attributes: String
            switch node.ref.kind {
            case .dataset:
                attributes = "shape=folder, fillcolor=\"#cfe2ff\""
            case .datafile:
                attributes = "shape=note, fillcolor=\"#e2f0d9\""
            case .job:
                let application = node.attributes["application"]?.stringValue ?? ""
                let version = node.attributes["version"]?.stringValue ?? ""
                label = version.isEmpty ? application : "\(application)\n\(version)"
                attributes = "shape=box, style=\"rounded,filled\", fillcolor=\"#ffe5b4\""
            }
            let start = self.start.contains(node.ref) ? ", penwidth=3, color=\"#c00000\"" : ""
            out +=
                "  \(id) [label=\(Self.dotString(label)), tooltip=\(Self.dotString("\(node.ref.kind.entityName) \(node.ref.id)")), \(attributes)\(start)];\n"
        }
        for edge in edges {
            let style: String =
                switch edge.kind {
                case .used: ""
                case .generated: ", style=bold"
                case .related: ", style=dashed, label=\"related\""
                case .contains: ", style=dotted, arrowhead=none"
                }
            out += "  \(Self.dotID(edge.from)) -> \(Self.dotID(edge.to)) [tooltip=\"\(edge.kind.name)\"\(style)];\n"
        }
        return out + "}\n"
    }

    static func dotID(_ ref: NodeRef) -> String { "\"\(ref.kind.entityName)_\(ref.id)\"" }

    /// A DOT string literal: quotes and backslashes escaped, new lines as `\n`, other control characters dropped.
    /// Escaped per Unicode scalar, never per Character: a quote followed by a combining mark is one Character but
    /// still a quote to Graphviz.
    static func dotString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
