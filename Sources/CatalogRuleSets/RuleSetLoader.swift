import JSONValue

/// The few catalog calls a rule-set load needs, so that it can run against a server (over JSON-RPC) or a catalog
/// in the same process.
public protocol RuleSetTarget: Sendable {
    func search(_ query: String) async throws -> JSON
    func createMany(_ entities: [JSON]) async throws -> [Int64]
}

/// Loads a rule set into a catalog as root, adding only what is missing, so that loading the same file twice
/// changes nothing: groupings by name, users by name, memberships, rules (same flags, query and grouping) and
/// public steps.
public struct RuleSetLoader: Sendable {
    public let target: any RuleSetTarget

    public init(target: any RuleSetTarget) {
        self.target = target
    }

    /// What a load created.
    public struct Summary: Sendable, Equatable, CustomStringConvertible {
        public var groupings = 0
        public var users = 0
        public var memberships = 0
        public var rules = 0
        public var publicSteps = 0

        public init() {}

        public var description: String {
            "created \(groupings) groupings, \(users) users, \(memberships) memberships, \(rules) rules, "
                + "\(publicSteps) public steps"
        }
    }

    public func load(_ ruleSet: RuleSet) async throws -> Summary {
        var summary = Summary()
        var groupingIds: [String: Int64] = [:]
        for grouping in ruleSet.groupings {
            if let id = try await id(of: "Grouping", named: grouping.name) {
                groupingIds[grouping.name] = id
            } else {
                groupingIds[grouping.name] = try await target.createMany([
                    ["Grouping": ["name": .string(grouping.name)]]
                ])[0]
                summary.groupings += 1
            }
            for member in grouping.members {
                let userId: Int64
                if let id = try await id(of: "User", named: member) {
                    userId = id
                } else {
                    userId = try await target.createMany([["User": ["name": .string(member)]]])[0]
                    summary.users += 1
                }
                let existing = try await target.search(
                    "SELECT COUNT(ug) FROM UserGroup ug WHERE ug.user.id = \(userId) AND ug.grouping.id = \(groupingIds[grouping.name]!)"
                )
                if existing[0]?.int64Value == 0 {
                    _ = try await target.createMany([
                        [
                            "UserGroup": [
                                "user": ["id": .int(userId)], "grouping": ["id": .int(groupingIds[grouping.name]!)],
                            ]
                        ]
                    ])
                    summary.memberships += 1
                }
            }
        }
        let present = try await target.search("SELECT r FROM Rule r INCLUDE r.grouping")
        var existingRules: Set<RuleSet.Rule> = []
        for item in present.arrayValue ?? [] {
            guard let rule = item["Rule"], let flags = rule["crudFlags"]?.stringValue,
                let what = rule["what"]?.stringValue
            else { continue }
            existingRules.insert(
                RuleSet.Rule(crudFlags: flags, what: what, grouping: rule["grouping"]?["name"]?.stringValue)
            )
        }
        var newRules: [JSON] = []
        for rule in ruleSet.rules where !existingRules.contains(rule) {
            var body: [String: JSON] = ["crudFlags": .string(rule.crudFlags), "what": .string(rule.what)]
            if let grouping = rule.grouping { body["grouping"] = ["id": .int(groupingIds[grouping]!)] }
            newRules.append(["Rule": .object(body)])
            existingRules.insert(rule)
        }
        if !newRules.isEmpty { summary.rules = try await target.createMany(newRules).count }
        let steps = try await target.search("SELECT p FROM PublicStep p")
        var existingSteps: Set<RuleSet.PublicStep> = []
        for item in steps.arrayValue ?? [] {
            if let origin = item["PublicStep"]?["origin"]?.stringValue,
                let field = item["PublicStep"]?["field"]?.stringValue
            {
                existingSteps.insert(RuleSet.PublicStep(origin: origin, field: field))
            }
        }
        let newSteps: [JSON] = ruleSet.publicSteps.filter { existingSteps.insert($0).inserted }.map { step in
            ["PublicStep": ["origin": .string(step.origin), "field": .string(step.field)]]
        }
        if !newSteps.isEmpty { summary.publicSteps = try await target.createMany(newSteps).count }
        return summary
    }

    private func id(of entity: String, named name: String) async throws -> Int64? {
        let escaped = name.replacingOccurrences(of: "'", with: "''")
        return try await target.search("SELECT x.id FROM \(entity) x WHERE x.name = '\(escaped)'")[0]?.int64Value
    }
}
