import Foundation
import JSONValue
import Yams

/// An authorization rule set: groupings with their members, rules and public steps, as kept in `Rules/*.yaml`.
///
/// ```yaml
/// groupings:
///   - name: useroffice
///     members: [simple/alice]          # user names; missing users are created
/// rules:
///   - crudFlags: R
///     what: "SELECT f FROM Facility f"  # either query syntax; :user is the caller
///   - crudFlags: CRUD
///     what: "Investigation"
///     grouping: useroffice              # omitted: every logged-in user
/// publicSteps:
///   - {origin: Dataset, field: investigation}
/// ```
public struct RuleSet: Sendable, Equatable {
    public struct Grouping: Sendable, Equatable {
        public var name: String
        public var members: [String]
    }

    public struct Rule: Sendable, Equatable, Hashable {
        public var crudFlags: String
        public var what: String
        public var grouping: String?
    }

    public struct PublicStep: Sendable, Equatable, Hashable {
        public var origin: String
        public var field: String
    }

    public var groupings: [Grouping]
    public var rules: [Rule]
    public var publicSteps: [PublicStep]

    public init(yaml: String) throws {
        guard let root = try Yams.load(yaml: yaml) as? [String: Any] else {
            throw RuleSetError("a rule set must be a mapping with groupings, rules and publicSteps")
        }
        let known: Set<String> = ["groupings", "rules", "publicSteps"]
        if let unknown = root.keys.first(where: { !known.contains($0) }) {
            throw RuleSetError("unknown section '\(unknown)'; a rule set has groupings, rules and publicSteps")
        }
        groupings = try (root["groupings"] as? [Any] ?? []).enumerated().map { index, item in
            guard let body = item as? [String: Any], let name = body["name"] as? String, !name.isEmpty else {
                throw RuleSetError("groupings[\(index)] needs a name")
            }
            return Grouping(name: name, members: body["members"] as? [String] ?? [])
        }
        let groupingNames = Set(groupings.map(\.name))
        rules = try (root["rules"] as? [Any] ?? []).enumerated().map { index, item in
            guard let body = item as? [String: Any], let flags = body["crudFlags"] as? String,
                let what = body["what"] as? String
            else {
                throw RuleSetError("rules[\(index)] needs crudFlags and what")
            }
            let grouping = body["grouping"] as? String
            if let grouping, !groupingNames.contains(grouping) {
                throw RuleSetError("rules[\(index)] names grouping '\(grouping)', which the rule set does not define")
            }
            return Rule(crudFlags: flags, what: what, grouping: grouping)
        }
        publicSteps = try (root["publicSteps"] as? [Any] ?? []).enumerated().map { index, item in
            guard let body = item as? [String: Any], let origin = body["origin"] as? String,
                let field = body["field"] as? String
            else {
                throw RuleSetError("publicSteps[\(index)] needs origin and field")
            }
            return PublicStep(origin: origin, field: field)
        }
    }

    public init(contentsOf url: URL) throws {
        try self.init(yaml: String(contentsOf: url, encoding: .utf8))
    }
}

/// A rule-set file that cannot be used, and why.
public struct RuleSetError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
