import Catalog
import JSONValue
import Testing

/// What a search can learn is what its caller may read: every subquery is restricted like a search of its own,
/// joined variables keep ICAT's meaning unless `authorization: {restrictJoins: true}` restricts them too.
@Suite("Restrictions on subqueries and joins")
struct QueryRestrictionTests {
    typealias World = AuthorizationTests.World

    static let memberInvestigations =
        "SELECT i FROM Investigation i JOIN i.investigationUsers iu JOIN iu.user u WHERE u.name = :user"
    /// A member reads the InvestigationUser rows of their own investigations.
    static let memberInvestigationUsers =
        "SELECT iu FROM InvestigationUser iu JOIN iu.investigation i JOIN i.investigationUsers mine JOIN mine.user u WHERE u.name = :user"

    static func configuration(restrictJoins: Bool) -> CatalogConfiguration {
        var configuration = AuthorizationTests.configuration
        configuration.authorization.restrictJoins = restrictJoins
        return configuration
    }

    /// Alice is a member of INV-1 ("Structure of water"); bob of INV-2 ("Other"). Everyone reads facilities, users
    /// and datasets; investigations only their own.
    static func world(_ catalog: Catalog) async throws -> World {
        let w = try await World.make(catalog)
        let bob = try await catalog.search(
            sessionId: w.root,
            query: "SELECT u.id FROM User u WHERE u.name = 'simple/bob'"
        )
        _ = try await catalog.create(
            sessionId: w.root,
            entity: [
                "InvestigationUser": [
                    "role": "member", "user": ["id": bob[0]!], "investigation": ["id": .int(w.otherInvestigation)],
                ]
            ]
        )
        try await w.rule("R", "Facility")
        try await w.rule("R", "User")
        try await w.rule("R", "Dataset")
        try await w.rule("R", memberInvestigations)
        return w
    }

    @Test(arguments: Backend.allCases, [false, true])
    func subqueriesSeeOnlyWhatTheCallerMayRead(_ backend: Backend, restrictJoins: Bool) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration(restrictJoins: restrictJoins)) {
            catalog in
            let w = try await Self.world(catalog)
            func count(_ query: String) async throws -> JSON? {
                try await catalog.search(sessionId: w.alice, query: query)[0]
            }
            // Bob's investigation is invisible to alice, through every kind of subquery.
            for (title, expected) in [("Oth%", 0), ("Struc%", 1)] {
                #expect(
                    try await count(
                        "SELECT COUNT(f) FROM Facility f WHERE EXISTS (SELECT i FROM Investigation i WHERE i.title LIKE '\(title)')"
                    ) == .int(Int64(expected))
                )
                #expect(
                    try await count(
                        "SELECT COUNT(f) FROM Facility f WHERE 0 < (SELECT COUNT(i) FROM Investigation i WHERE i.title LIKE '\(title)')"
                    ) == .int(Int64(expected))
                )
            }
            #expect(
                try await count(
                    "SELECT COUNT(f) FROM Facility f WHERE (SELECT MAX(i.id) FROM Investigation i) = \(w.otherInvestigation)"
                )
                    == .int(0)
            )
            #expect(
                try await count(
                    "SELECT COUNT(f) FROM Facility f WHERE (SELECT MAX(i.id) FROM Investigation i) = \(w.f.investigation)"
                )
                    == .int(1)
            )
            #expect(
                try await count(
                    "SELECT COUNT(f) FROM Facility f WHERE 'Other' = ANY (SELECT i.title FROM Investigation i)"
                ) == .int(0)
            )
            #expect(
                try await count(
                    "SELECT COUNT(f) FROM Facility f WHERE 'Other' IN (SELECT i.title FROM Investigation i)"
                ) == .int(0)
            )
            #expect(
                try await count(
                    "SELECT COUNT(f) FROM Facility f WHERE 'Structure of water' IN (SELECT i.title FROM Investigation i)"
                )
                    == .int(1)
            )
            #expect(
                try await count(
                    "SELECT COUNT(f) FROM Facility f WHERE NOT EXISTS (SELECT i FROM Investigation i WHERE i.name = 'INV-2')"
                )
                    == .int(1)
            )
            // A subquery selecting a relation restricts the related entity.
            #expect(
                try await count(
                    "SELECT COUNT(f) FROM Facility f WHERE EXISTS (SELECT ds.investigation FROM Dataset ds WHERE ds.name = 'other-run')"
                ) == .int(0)
            )
            // HAVING's subqueries too.
            let having =
                "SELECT f.name FROM Facility f GROUP BY f.name HAVING (SELECT COUNT(i) FROM Investigation i) > 1"
            #expect(try await catalog.search(sessionId: w.alice, query: having) == [])
            #expect(try await catalog.search(sessionId: w.root, query: having) == ["ISIS"])
            // Root sees both investigations through the same queries.
            #expect(
                try await catalog.search(
                    sessionId: w.root,
                    query:
                        "SELECT COUNT(f) FROM Facility f WHERE EXISTS (SELECT i FROM Investigation i WHERE i.title LIKE 'Oth%')"
                )[0] == .int(1)
            )
        }
    }

    @Test(arguments: Backend.allCases)
    func joinedVariablesKeepICATsMeaningByDefault(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration(restrictJoins: false)) { catalog in
            let w = try await Self.world(catalog)
            // Members may not read InvestigationUser, yet a join through it filters, as in ICAT.
            #expect(
                try await catalog.search(sessionId: w.alice, query: "SELECT COUNT(iu) FROM InvestigationUser iu") == [
                    .int(0)
                ]
            )
            let members = try await catalog.search(
                sessionId: w.alice,
                query: "SELECT u.name FROM InvestigationUser iu JOIN iu.user u ORDER BY u.name"
            )
            #expect(members == ["simple/alice", "simple/bob"])
            let mine = try await catalog.search(
                sessionId: w.alice,
                query: "Investigation.name <-> InvestigationUser <-> User [name = :user]"
            )
            #expect(mine == ["INV-1"])
            let byTitle = try await catalog.search(
                sessionId: w.alice,
                query: "SELECT ds.name FROM Dataset ds WHERE ds.investigation.title LIKE 'Oth%'"
            )
            #expect(byTitle == ["other-run"])
            let outer = try await catalog.search(
                sessionId: w.alice,
                query: "SELECT ds.name FROM Dataset ds LEFT JOIN ds.investigation i WHERE i.id IS NULL"
            )
            #expect(outer == [])
        }
    }

    @Test(arguments: Backend.allCases)
    func restrictJoinsRestrictsEveryVariableAQueryNames(_ backend: Backend) async throws {
        try await TestCatalog.with(backend, configuration: Self.configuration(restrictJoins: true)) { catalog in
            let w = try await Self.world(catalog)
            func names(_ query: String) async throws -> JSON {
                try await catalog.search(sessionId: w.alice, query: query)
            }
            // Joins, path navigation and collection tests read only what alice may read.
            #expect(try await names("SELECT u.name FROM InvestigationUser iu JOIN iu.user u ORDER BY u.name") == [])
            #expect(try await names("SELECT ds.name FROM Dataset ds WHERE ds.investigation.title LIKE 'Oth%'") == [])
            #expect(
                try await names("SELECT ds.name FROM Dataset ds JOIN ds.investigation i WHERE i.name = 'INV-2'") == []
            )
            #expect(
                try await names("SELECT ds.name FROM Dataset ds JOIN ds.investigation i ORDER BY ds.name") == ["run-1"]
            )
            #expect(try await names("SELECT i.name FROM Investigation i WHERE i.investigationUsers IS NOT EMPTY") == [])
            #expect(try await names("SELECT f.name FROM Facility f WHERE SIZE(f.investigations) > 1") == [])
            // An outer join keeps the rows whose related row cannot be read, with nulls.
            #expect(
                try await names("SELECT ds.name FROM Dataset ds LEFT JOIN ds.investigation i WHERE i.id IS NULL")
                    == ["other-run"]
            )
            // The portal's query needs the member's InvestigationUser rows, which the facility rules grant.
            #expect(try await names("Investigation.name <-> InvestigationUser <-> User [name = :user]") == [])
            try await w.rule("R", Self.memberInvestigationUsers)
            #expect(try await names("Investigation.name <-> InvestigationUser <-> User [name = :user]") == ["INV-1"])
            #expect(
                try await names("SELECT u.name FROM InvestigationUser iu JOIN iu.user u ORDER BY u.name")
                    == ["simple/alice"]
            )
            // Root is never restricted.
            #expect(
                try await catalog.search(
                    sessionId: w.root,
                    query: "SELECT u.name FROM InvestigationUser iu JOIN iu.user u ORDER BY u.name"
                ) == ["simple/alice", "simple/bob"]
            )
        }
    }

    @Test func restrictJoinsIsReadFromTheConfigurationFile() throws {
        #expect(try CatalogConfiguration(yaml: "rootUserNames: []").authorization.restrictJoins == false)
        #expect(
            try CatalogConfiguration(yaml: "authorization: {restrictJoins: true}").authorization.restrictJoins == true
        )
        #expect(throws: ConfigurationError.self) {
            try CatalogConfiguration(yaml: "authorization: {restrictJoin: true}")
        }
        #expect(throws: ConfigurationError.self) { try CatalogConfiguration(yaml: "authorization: {restrictJoins: 3}") }
    }
}
