import Catalog
import CatalogQuery
import CatalogRuleSets
import Foundation
import JSONValue
import Provenance
import ProvenanceGraphics
import Testing

/// Provenance walks on graphs with known answers, on both databases: chains over both job models, diamonds,
/// cycles, related datafiles and containment, depth bounds, what a member may read, recording and exports.
@Suite struct ProvenanceTests {
    /// A fixture's investigation with datasets named as asked, and helpers to link them by jobs.
    struct Graph {
        let fixture: Fixture
        let provenance: Provenance
        var datasets: [String: Int64] = [:]
        let application: Int64

        static func make(_ catalog: Catalog, datasets names: [String]) async throws -> Graph {
            let fixture = try await Fixture.make(catalog)
            let application = try await catalog.create(
                sessionId: fixture.root,
                entity: [
                    "Application": ["name": "reduce", "version": "2.1", "facility": ["id": .int(fixture.facility)]]
                ]
            )
            var graph = Graph(fixture: fixture, provenance: Provenance(catalog: catalog), application: application)
            for name in names {
                graph.datasets[name] = try await catalog.create(
                    sessionId: fixture.root,
                    entity: [
                        "Dataset": [
                            "name": .string(name), "type": ["id": .int(fixture.datasetType)],
                            "investigation": ["id": .int(fixture.investigation)],
                        ]
                    ]
                )
            }
            return graph
        }

        /// A job of the original model (InputDataset, OutputDataset) from `inputs` to `outputs`.
        func linkJob(_ inputs: [String], _ outputs: [String]) async throws -> Int64 {
            try await fixture.catalog.create(
                sessionId: fixture.root,
                entity: [
                    "Job": [
                        "application": ["id": .int(application)],
                        "inputDatasets": .array(inputs.map { ["dataset": ["id": .int(datasets[$0]!)]] }),
                        "outputDatasets": .array(outputs.map { ["dataset": ["id": .int(datasets[$0]!)]] }),
                    ]
                ]
            )
        }

        /// A job of the collection model (ICAT 4.3+), recorded through `provenance.record`.
        func collectionJob(_ inputs: [String], _ outputs: [String], version: String = "2.1") async throws -> Int64 {
            try await provenance.record(
                sessionId: fixture.root,
                application: "reduce",
                version: version,
                arguments: "--fast",
                inputs: JobData(datasetIds: inputs.map { datasets[$0]! }),
                outputs: JobData(datasetIds: outputs.map { datasets[$0]! })
            )
        }

        func walk(
            _ name: String,
            _ direction: WalkDirection,
            depth: Int = 20,
            as session: String? = nil
        ) async throws -> ProvenanceGraph {
            try await provenance.graph(
                sessionId: session ?? fixture.root,
                entity: "Dataset",
                id: datasets[name]!,
                direction: direction,
                depth: depth
            )
        }

        /// The names of the datasets in a graph, and how many jobs.
        func names(_ graph: ProvenanceGraph) -> (datasets: [String], jobs: Int) {
            let byId = Dictionary(uniqueKeysWithValues: datasets.map { ($1, $0) })
            return (
                graph.nodes.filter { $0.ref.kind == .dataset }.compactMap { byId[$0.ref.id] }.sorted(),
                graph.nodes.filter { $0.ref.kind == .job }.count
            )
        }
    }

    @Test(arguments: Backend.allCases)
    func aChainOverBothJobModelsIsWalkedBothWaysWithinItsDepth(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["raw", "reduced", "fitted", "other"])
            let first = try await graph.linkJob(["raw"], ["reduced"])
            let second = try await graph.collectionJob(["reduced"], ["fitted"])
            let down = try await graph.walk("raw", .downstream)
            #expect(graph.names(down).datasets == ["fitted", "raw", "reduced"] && graph.names(down).jobs == 2)
            #expect(down.edges.count == 4)
            #expect(
                down.edges.contains(
                    ProvenanceEdge(
                        from: NodeRef(.dataset, graph.datasets["raw"]!),
                        to: NodeRef(.job, first),
                        kind: .used
                    )
                )
            )
            #expect(
                down.edges.contains(
                    ProvenanceEdge(
                        from: NodeRef(.job, second),
                        to: NodeRef(.dataset, graph.datasets["fitted"]!),
                        kind: .generated
                    )
                )
            )
            let job = try #require(down.nodes.first { $0.ref == NodeRef(.job, second) })
            #expect(job.name == "reduce 2.1" && job.attributes["arguments"] == "--fast" && job.depth == 2)
            let shallow = try await graph.walk("raw", .downstream, depth: 1)
            #expect(graph.names(shallow).datasets == ["raw", "reduced"] && graph.names(shallow).jobs == 1)
            let up = try await graph.walk("fitted", .upstream)
            #expect(graph.names(up).datasets == ["fitted", "raw", "reduced"])
            let both = try await graph.walk("reduced", .both, depth: 1)
            #expect(graph.names(both).datasets == ["fitted", "raw", "reduced"] && graph.names(both).jobs == 2)
            let none = try await graph.walk("other", .both)
            #expect(graph.names(none).datasets == ["other"] && none.edges.isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func diamondsAndCyclesEndAndEachNodeComesOnce(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["a", "b", "c", "d"])
            _ = try await graph.linkJob(["a"], ["b", "c"])
            _ = try await graph.collectionJob(["b", "c"], ["d"])
            // Re-processing wrote back into the start: a cycle.
            _ = try await graph.linkJob(["d"], ["a"])
            for direction in WalkDirection.allCases {
                let walked = try await graph.walk("a", direction)
                #expect(graph.names(walked).datasets == ["a", "b", "c", "d"], "\(direction)")
                #expect(graph.names(walked).jobs == 3, "\(direction)")
                #expect(Set(walked.nodes.map(\.ref)).count == walked.nodes.count)
            }
            let diamond = try await graph.walk("a", .downstream, depth: 2)
            #expect(diamond.nodes.first { $0.ref == NodeRef(.dataset, graph.datasets["d"]!) }?.depth == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func relatedDatafilesAndContainmentAreFreeHops(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["x"])
            let root = graph.fixture.root
            let files = try await catalog.search(
                sessionId: root,
                query: "SELECT df.id FROM Datafile df WHERE df.dataset.id = \(graph.fixture.dataset) ORDER BY df.name"
            ).arrayValue!.compactMap(\.int64Value)
            _ = try await catalog.create(
                sessionId: root,
                entity: [
                    "RelatedDatafile": [
                        "relation": "calibrates", "sourceDatafile": ["id": .int(files[0])],
                        "destDatafile": ["id": .int(files[1])],
                    ]
                ]
            )
            let related = try await graph.provenance.graph(
                sessionId: root,
                entity: "Datafile",
                id: files[0],
                direction: .downstream,
                depth: 0
            )
            #expect(related.nodes.map(\.ref) == [NodeRef(.datafile, files[0]), NodeRef(.datafile, files[1])])
            #expect(related.edges.map(\.kind) == [.related])
            let contained = try await graph.provenance.graph(
                sessionId: root,
                entity: "Dataset",
                id: graph.fixture.dataset,
                direction: .downstream,
                containment: true
            )
            #expect(contained.nodes.filter { $0.ref.kind == .datafile }.count == 2)
            #expect(contained.edges.filter { $0.kind == .contains }.count == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func aMemberSeesOnlyThePartOfTheGraphTheirRulesShow(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["public-raw", "secret", "public-end"])
            _ = try await graph.linkJob(["public-raw"], ["secret"])
            _ = try await graph.linkJob(["secret"], ["public-end"])
            let root = graph.fixture.root
            for what in ["SELECT ds FROM Dataset ds WHERE ds.name LIKE 'public%'", "Job"] {
                _ = try await catalog.create(
                    sessionId: root,
                    entity: ["Rule": ["crudFlags": "R", "what": .string(what)]]
                )
            }
            let alice = try await graph.fixture.login("alice", "alice-pw")
            let seen = try await graph.walk("public-raw", .downstream, as: alice)
            // The walk reaches the first job but not the dataset alice may not read, nor what lies beyond it.
            #expect(graph.names(seen).datasets == ["public-raw"] && graph.names(seen).jobs == 1)
            #expect(graph.names(try await graph.walk("public-raw", .downstream)).datasets.count == 3)
            await expectCatalogError(.insufficientPrivileges) { try await graph.walk("secret", .both, as: alice) }
            await expectCatalogError(.noSuchObjectFound) {
                try await graph.provenance.graph(sessionId: root, entity: "Dataset", id: 987_654, direction: .both)
            }
            await expectCatalogError(.badParameter) {
                try await graph.provenance.graph(sessionId: root, entity: "Sample", id: 1, direction: .both)
            }
            await expectCatalogError(.badParameter) { try await graph.walk("public-raw", .both, depth: -1) }
        }
    }

    @Test(arguments: Backend.allCases)
    func theStandardRulesLetMembersWalkTheJobsOnTheirData(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["raw", "reduced", "fitted"])
            _ = try await graph.linkJob(["raw"], ["reduced"])
            _ = try await graph.collectionJob(["reduced"], ["fitted"])
            let root = graph.fixture.root
            let loader = RuleSetLoader(target: InProcessTarget(catalog: catalog, session: root))
            _ = try await loader.load(try RuleSet(contentsOf: RuleSetTests.facilityRules))
            let alice = try await graph.fixture.login("alice", "alice-pw")
            await expectCatalogError(.insufficientPrivileges) { try await graph.walk("raw", .downstream, as: alice) }
            let user = try await catalog.create(sessionId: root, entity: ["User": ["name": "simple/alice"]])
            _ = try await catalog.create(
                sessionId: root,
                entity: [
                    "InvestigationUser": [
                        "user": ["id": .int(user)], "investigation": ["id": .int(graph.fixture.investigation)],
                        "role": "reader",
                    ]
                ]
            )
            let seen = try await graph.walk("raw", .downstream, as: alice)
            #expect(graph.names(seen).datasets == ["fitted", "raw", "reduced"] && graph.names(seen).jobs == 2)
            #expect(try await catalog.search(sessionId: alice, query: "SELECT COUNT(j) FROM Job j") == [2])
        }
    }

    @Test(arguments: Backend.allCases)
    func searchesCombineDerivedFromAndAncestorOfWithAnyCondition(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["raw", "reduced", "fitted", "unrelated"])
            let firstJob = try await graph.linkJob(["raw"], ["reduced"])
            _ = try await graph.collectionJob(["reduced"], ["fitted"])
            let root = graph.fixture.root
            let raw = graph.datasets["raw"]!
            let fitted = graph.datasets["fitted"]!
            func names(_ query: String, as session: String? = nil) async throws -> JSON {
                try await catalog.search(sessionId: session ?? root, query: query)
            }
            #expect(
                try await names("SELECT ds.name FROM Dataset ds WHERE ds DERIVED FROM Dataset \(raw) ORDER BY ds.name")
                    == ["fitted", "reduced"]
            )
            #expect(
                try await names(
                    "SELECT ds.name FROM Dataset ds WHERE ds ANCESTOR OF Dataset \(fitted) ORDER BY ds.name"
                )
                    == ["raw", "reduced"]
            )
            #expect(
                try await names("SELECT ds.name FROM Dataset ds WHERE ds DERIVED FROM Dataset \(raw) DEPTH 1") == [
                    "reduced"
                ]
            )
            #expect(
                try await names(
                    "SELECT COUNT(ds) FROM Dataset ds WHERE ds DERIVED FROM Dataset \(raw) AND ds.name LIKE 'f%'"
                ) == [1]
            )
            #expect(
                try await names(
                    "SELECT ds.name FROM Dataset ds WHERE ds.investigation.id = \(graph.fixture.investigation) "
                        + "AND ds NOT DERIVED FROM Dataset \(raw) AND ds.id <> \(raw) ORDER BY ds.name LIMIT 1, 5"
                ) == ["unrelated"]
            )
            #expect(
                try await names("SELECT j.id FROM Job j WHERE j ANCESTOR OF Dataset \(fitted)").arrayValue?.count == 2
            )
            // From a job, its outputs are one hop away, as from its inputs.
            #expect(
                try await names("SELECT ds.name FROM Dataset ds WHERE ds DERIVED FROM Job \(firstJob) ORDER BY ds.name")
                    == ["fitted", "reduced"]
            )
            #expect(
                try await names("SELECT ds.name FROM Dataset ds WHERE ds DERIVED FROM Job \(firstJob) DEPTH 1") == [
                    "reduced"
                ]
            )
            #expect(try await names("SELECT ds.name FROM Dataset ds WHERE ds ANCESTOR OF Job \(firstJob)") == ["raw"])
            // A member's predicate passes only through what they may read, like the graph.
            for what in ["SELECT ds FROM Dataset ds WHERE ds.name <> 'reduced'", "Job"] {
                _ = try await catalog.create(
                    sessionId: root,
                    entity: ["Rule": ["crudFlags": "R", "what": .string(what)]]
                )
            }
            let alice = try await graph.fixture.login("alice", "alice-pw")
            #expect(
                try await names("SELECT ds.name FROM Dataset ds WHERE ds DERIVED FROM Dataset \(raw)", as: alice) == []
            )
            await expectCatalogError(.badParameter) {
                try await names("SELECT ds FROM Dataset ds WHERE ds.name DERIVED FROM Dataset \(raw)")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func recordingIsAtomicAndReusesTheApplication(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["in", "out"])
            _ = try await graph.collectionJob(["in"], ["out"], version: "3.0")
            _ = try await graph.collectionJob(["out"], ["in"], version: "3.0")
            let applications = try await catalog.search(
                sessionId: graph.fixture.root,
                query: "SELECT COUNT(a) FROM Application a WHERE a.name = 'reduce' AND a.version = '3.0'"
            )
            #expect(applications == [1])
            let jobs = try await graph.fixture.count("Job")
            let collections = try await graph.fixture.count("DataCollection")
            // An output that does not exist: nothing of the run is kept, the new Application included.
            await expectCatalogError(.noSuchObjectFound) {
                try await graph.provenance.record(
                    sessionId: graph.fixture.root,
                    application: "new-app",
                    version: "1",
                    arguments: nil,
                    inputs: JobData(datasetIds: [graph.datasets["in"]!]),
                    outputs: JobData(datasetIds: [987_654])
                )
            }
            #expect(try await graph.fixture.count("Job") == jobs)
            #expect(try await graph.fixture.count("DataCollection") == collections)
            #expect(
                try await catalog.search(
                    sessionId: graph.fixture.root,
                    query: "SELECT COUNT(a) FROM Application a WHERE a.name = 'new-app'"
                ) == [0]
            )
        }
    }

    @Test(arguments: Backend.allCases)
    func producedByFindsWhatAnApplicationMadeDirectlyOrNot(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["raw", "mid", "end"])
            _ = try await graph.collectionJob(["raw"], ["mid"], version: "1.0")
            _ = try await graph.provenance.record(
                sessionId: graph.fixture.root,
                application: "fit",
                version: "9",
                arguments: nil,
                inputs: JobData(datasetIds: [graph.datasets["mid"]!]),
                outputs: JobData(datasetIds: [graph.datasets["end"]!])
            )
            func names(_ json: JSON) -> [String] {
                (json.arrayValue ?? []).compactMap { $0["Dataset"]?["name"]?.stringValue }.sorted()
            }
            let direct = try await graph.provenance.producedBy(
                sessionId: graph.fixture.root,
                application: .jobs(application: "reduce", version: "1.0"),
                indirect: false
            )
            #expect(names(direct) == ["mid"])
            let all = try await graph.provenance.producedBy(
                sessionId: graph.fixture.root,
                application: .jobs(application: "reduce", version: nil)
            )
            #expect(names(all) == ["end", "mid"])
            #expect(
                names(
                    try await graph.provenance.producedBy(
                        sessionId: graph.fixture.root,
                        application: .jobs(application: "reduce", version: "0.0")
                    )
                ) == []
            )
        }
    }

    @Test(arguments: Backend.allCases)
    func exportsDescribeTheSameGraph(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let graph = try await Graph.make(catalog, datasets: ["raw", "reduced"])
            let job = try await graph.collectionJob(["raw"], ["reduced"])
            let walked = try await graph.walk("raw", .downstream)
            let prov = walked.provJSON
            #expect(prov["entity"]?.objectValue?.count == 2)
            #expect(prov["activity"]?["icat:Job_\(job)"]?["icat:application"] == "reduce")
            #expect(prov["wasDerivedFrom"]?.objectValue?.count == 1)
            #expect(prov["agent"]?["icat:user_simple_2froot"]?["prov:label"] == "simple/root")
            let dot = walked.dot
            #expect(dot.contains("\"Job_\(job)\" [label=\"reduce\\n2.1\""))
            let svg = try GraphvizRenderer.svg(dot)
            #expect(svg.contains("<svg") && svg.contains("reduced") && svg.contains("reduce"))
        }
    }
}
