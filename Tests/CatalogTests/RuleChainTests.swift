import Catalog
import JSONValue
import Testing

/// Rules that reach the object they test through references (`df.dataset.sample`) admit what their query
/// selects, and no more: a reference that may be null admits only the rows it leads from.
@Suite("Rules through references")
struct RuleChainTests {
    @Test(arguments: Backend.allCases)
    func aRuleThroughANullableReferenceAdmitsOnlyTheRowsThatHaveIt(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let f = try await Fixture.make(catalog)
            let sample = try await catalog.create(
                sessionId: f.root,
                entity: ["Sample": ["name": "s1", "investigation": ["id": .int(f.investigation)]]]
            )
            let withSample = try await catalog.create(
                sessionId: f.root,
                entity: [
                    "Dataset": [
                        "name": "with-sample", "investigation": ["id": .int(f.investigation)],
                        "type": ["id": .int(f.datasetType)], "sample": ["id": .int(sample)],
                    ]
                ]
            )
            _ = try await catalog.create(sessionId: f.root, entity: JSON.datafile("sampled.nxs", dataset: withSample))
            for what in [
                "SELECT ds FROM Dataset ds JOIN ds.sample s",
                "SELECT df FROM Datafile df JOIN df.dataset ds JOIN ds.sample s",
            ] {
                _ = try await catalog.create(
                    sessionId: f.root,
                    entity: ["Rule": ["what": .string(what), "crudFlags": "R"]]
                )
            }
            #expect(try await catalog.count("Dataset") == 2)
            #expect(try await catalog.count("Datafile") == 3)

            let alice = try await f.login("alice", "alice-pw")
            let datasets = try await catalog.search(sessionId: alice, query: "SELECT ds.name FROM Dataset ds")
            #expect(datasets == ["with-sample"])
            let datafiles = try await catalog.search(sessionId: alice, query: "SELECT df.name FROM Datafile df")
            #expect(datafiles == ["sampled.nxs"])
        }
    }
}
