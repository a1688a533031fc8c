import ArgumentParser
import Catalog
import CatalogRPC
import CatalogServer
import CatalogStore
import DataService
import DataServiceRPC
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import Provenance
import ProvenanceRPC

/// `icat serve`: migrates the database and serves the catalog until SIGTERM or SIGINT.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the catalog server.")

    @Option(help: "The database: sqlite:PATH or postgres://user:pass@host:port/db.")
    var database = "sqlite:./icat-data/catalog.sqlite"

    @Option(help: "The directory that holds the data files (the data service's local store).")
    var storage = "./icat-data/files"

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on.")
    var port = 8080

    @Option(help: "A configuration file (YAML or JSON); without one a development set-up is used.")
    var config: String?

    @Option(help: "The least severe log level written: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap(
            { label, provider in
                var handler = StreamLogHandler.standardError(label: label, metadataProvider: provider)
                handler.logLevel = level
                return handler
            },
            metadataProvider: CatalogServer.requestMetadataProvider
        )
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "icat")

        let configuration: CatalogConfiguration
        var server: ServerConfiguration
        let storageConfiguration: StorageConfiguration
        if let config {
            let text = try String(contentsOf: URL(fileURLWithPath: config), encoding: .utf8)
            configuration = try CatalogConfiguration(yaml: text)
            server = try ServerConfiguration(host: host, port: port, yaml: text)
            storageConfiguration = try StorageConfiguration(yaml: text, defaultDirectory: storage)
        } else {
            logger.warning("no --config given: using the development set-up (simple/root with password 'secret', anon)")
            configuration = .development
            server = ServerConfiguration(host: host, port: port)
            storageConfiguration = StorageConfiguration(directory: storage)
        }
        let openFiles = OpenFileLimit.raise()
        if server.maximumConnections == nil { server.maximumConnections = openFiles.map { max(64, $0 - 256) } }
        logger.info(
            "at most \(server.maximumConnections.map(String.init) ?? "any number of") connections",
            metadata: ["open-file limit": "\(openFiles.map(String.init) ?? "unknown")"]
        )

        // One service group: the database, then the HTTP server, which migrates the database before it listens.
        // SIGTERM and SIGINT shut them down in the other order: the server drains its requests, then the database
        // closes its connections.
        let db = try await DatabaseOpener.open(url: database, limits: configuration.database, logger: logger)
        let catalog = Catalog(database: db, configuration: configuration, logger: logger)
        let dataService = DataService(catalog: catalog, configuration: try storageConfiguration.open(), logger: logger)
        let app = CatalogServer.application(
            catalog: catalog,
            service: CatalogService.make(
                catalog: catalog,
                additionalMethods: DataServiceMethods.all(dataService)
                    + ProvenanceMethods.all(Provenance(catalog: catalog))
            ),
            configuration: server,
            metrics: registry,
            logger: logger,
            dataService: dataService,
            runningDatabase: true
        )
        try await app.runService()
    }
}

/// The process's limit on open files, which every connection counts against.
enum OpenFileLimit {
    /// Raises the soft limit to the hard one (capped at 2^20) and returns the limit now in force; nil when it
    /// cannot be read.
    static func raise() -> Int? {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = min(limit.rlim_max, 1 << 20)
            if raised.rlim_cur > limit.rlim_cur, setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }

    #if os(Linux)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
