// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "icat-swift",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "icat", targets: ["icat"]),
        .library(name: "Catalog", targets: ["Catalog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.8.0"),
    ],
    targets: [
        // Build-time embedding of Schema/ and Migrations/ into the targets that read them.
        .executableTarget(name: "embed-files", swiftSettings: swiftSettings),
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["embed-files"]),
        // A JSON value with parsing and serialization; shared by the catalog and the RPC layer.
        .target(name: "JSONValue", swiftSettings: swiftSettings),
        // The ICAT entity model, loaded from Schema/ (the single source of truth).
        .target(
            name: "CatalogSchema",
            dependencies: [.product(name: "Yams", package: "Yams")],
            exclude: ["embedded-files"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedFiles"]
        ),
        // SQL as values: dialects, bound values, statements and fragments. No database code.
        .target(name: "CatalogSQL", swiftSettings: swiftSettings),
        // The database drivers (PostgreSQL, SQLite), DDL and migrations.
        .target(
            name: "CatalogStore",
            dependencies: [
                "CatalogSchema", "CatalogSQL",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["embedded-files"],
            swiftSettings: swiftSettings,
            plugins: ["EmbedFiles"]
        ),
        // libxml2, whose streaming reader parses ICAT data files in XML.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Where data files' bytes live: the ObjectStore protocol, the local-disk store, checksums as bytes stream.
        // Knows neither the catalog nor HTTP.
        .target(
            name: "DataStore",
            dependencies: [
                "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        // The data service (ICAT IDS): datafiles' bytes stored, served alone or zipped, prepared, archived and
        // restored, with access decided by the catalog's rules. Knows the catalog and the stores, not HTTP.
        .target(
            name: "DataService",
            dependencies: [
                "Catalog", "CatalogSQL", "CatalogStore", "DataStore", "JSONValue", "CZlib",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The icatdata file format of python-icat's icatdump and icatingest, in XML and YAML: streaming readers
        // and writers of its objects. Knows the entity model, not the database.
        .target(
            name: "CatalogDataFormat",
            dependencies: ["CatalogSchema", "CLibXML2", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The ICAT query language: tokens, syntax, and its compilation to SQL for each dialect.
        .target(name: "CatalogQuery", dependencies: ["CatalogSchema", "CatalogSQL"], swiftSettings: swiftSettings),
        // The catalog: sessions, authenticators, entity operations, validation. Knows nothing of HTTP.
        .target(
            name: "Catalog",
            dependencies: [
                "CatalogSchema", "CatalogSQL", "CatalogStore", "CatalogQuery", "CatalogDataFormat", "JSONValue",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Authorization rule sets (Rules/*.yaml) and loading them into a catalog.
        .target(
            name: "CatalogRuleSets",
            dependencies: ["JSONValue", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // JSON-RPC 2.0: requests, responses, a method table and its OpenRPC description. Knows nothing of HTTP.
        .target(
            name: "JSONRPC",
            dependencies: ["JSONValue", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The catalog's operations as JSON-RPC methods, and the one mapping of catalog errors to JSON-RPC errors.
        .target(
            name: "CatalogRPC",
            dependencies: ["Catalog", "CatalogDataFormat", "JSONRPC", "JSONValue"],
            swiftSettings: swiftSettings
        ),
        // Provenance: walks of the graph of jobs, datasets and datafiles as recursive SQL under the caller's READ
        // rules, recording job runs, and the graph as PROV-JSON and DOT. Knows the catalog, not HTTP.
        .target(
            name: "Provenance",
            dependencies: ["Catalog", "CatalogSQL", "CatalogStore", "JSONValue"],
            swiftSettings: swiftSettings
        ),
        // Graphviz's libgvc, which lays out and draws provenance graphs in this process.
        .systemLibrary(name: "CGraphviz", pkgConfig: "libgvc", providers: [.apt(["libgraphviz-dev"])]),
        // Drawings of graphs: DOT to SVG through libgvc.
        .target(name: "ProvenanceGraphics", dependencies: ["CGraphviz"], swiftSettings: swiftSettings),
        // Provenance's methods as JSON-RPC methods provenance.*.
        .target(
            name: "ProvenanceRPC",
            dependencies: ["Provenance", "ProvenanceGraphics", "Catalog", "CatalogQuery", "JSONRPC", "JSONValue"],
            swiftSettings: swiftSettings
        ),
        // The data service's calls that carry no bytes, as JSON-RPC methods ids.*.
        .target(
            name: "DataServiceRPC",
            dependencies: ["DataService", "JSONRPC", "JSONValue"],
            swiftSettings: swiftSettings
        ),
        // The HTTP server: /rpc, /ids, /data, /health, /metrics.
        .target(
            name: "CatalogServer",
            dependencies: [
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                "CatalogRPC", "Catalog", "CatalogDataFormat", "DataService", "JSONRPC", "JSONValue",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        // The command line: serve, migrations, password hashing.
        .executableTarget(
            name: "icat",
            dependencies: [
                "CatalogServer", "Catalog", "CatalogDataFormat", "CatalogSQL", "CatalogStore", "CatalogSchema",
                "CatalogRuleSets", "DataService", "DataServiceRPC", "DataStore", "JSONValue", "Provenance",
                "ProvenanceRPC",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks print figures; they are not tests.
        .executableTarget(
            name: "icat-benchmark",
            dependencies: ["Catalog", "CatalogSQL", "CatalogStore", "CatalogRPC", "JSONValue"],
            path: "Tools/Benchmarks",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "icat-query-benchmark",
            dependencies: ["Catalog", "CatalogSQL", "CatalogStore", "CatalogQuery", "CatalogSchema", "JSONValue"],
            path: "Tools/QueryBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "icat-provenance-benchmark",
            dependencies: [
                "Catalog", "CatalogQuery", "CatalogRuleSets", "CatalogSQL", "CatalogStore", "JSONValue", "Provenance",
            ],
            path: "Tools/ProvenanceBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "icat-ingest-benchmark",
            dependencies: [
                "Catalog", "CatalogDataFormat", "CatalogSQL", "CatalogStore", "CatalogRPC", "JSONRPC", "JSONValue",
            ],
            path: "Tools/IngestBenchmark",
            swiftSettings: swiftSettings
        ),
        // A libFuzzer target over the query tokenizer, parser and compiler (Tools/fuzz-query.sh builds and runs it).
        .executableTarget(
            name: "icat-query-fuzzer",
            dependencies: ["CatalogQuery", "CatalogSchema", "CatalogSQL"],
            path: "Tools/QueryFuzzer",
            exclude: ["corpus", "crashes-found", "query.dict"],
            swiftSettings: swiftSettings
        ),
        // Test support shared by the data-file format's tests and the behaviour suite.
        .target(
            name: "DataFileSamples",
            dependencies: ["CatalogDataFormat", "CatalogSchema"],
            path: "Tests/DataFileSamples",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CatalogDataFormatTests",
            dependencies: ["CatalogDataFormat", "CatalogSchema", "DataFileSamples"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DataStoreTests",
            dependencies: ["DataStore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DataServiceTests",
            dependencies: ["DataService", "DataStore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JSONTests",
            dependencies: ["JSONValue", "JSONRPC", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CatalogQueryTests",
            dependencies: ["CatalogQuery", "CatalogSQL", "CatalogSchema"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CatalogTests",
            dependencies: [
                "Catalog", "CatalogSQL", "CatalogStore", "CatalogQuery", "CatalogSchema", "JSONValue", "JSONRPC",
                "CatalogRPC", "CatalogServer", "CatalogRuleSets", "CatalogDataFormat", "DataFileSamples", "DataService",
                "DataServiceRPC", "DataStore", "Provenance", "ProvenanceRPC", "ProvenanceGraphics",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["QueryCorpus"],
            swiftSettings: swiftSettings
        ),
    ]
)
