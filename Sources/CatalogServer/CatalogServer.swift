import Catalog
import CatalogSQL
import CatalogStore
import DataService
import Foundation
import Hummingbird
import JSONRPC
import Logging
import Prometheus
import ServiceLifecycle

/// Where and how the HTTP server listens.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Requests with a larger body get 413 without being read further.
    public var maximumRequestBytes: Int
    /// Data files uploaded to `/data/import` are spooled here while they are imported.
    public var spoolDirectory: URL
    /// The largest data file `/data/import` takes.
    public var maximumImportBytes: Int
    /// The most requests in one JSON-RPC batch, and the most bytes of results in one reply.
    public var rpcLimits: RPCLimits
    /// A connection on which nothing arrives for this long is closed: between requests, part way through a
    /// request's headers (which count only once complete), or part way through its body. Time spent answering
    /// a request that has arrived whole never counts. Nil keeps connections open for ever.
    public var idleTimeout: Duration?
    /// The most connections open at once; further clients wait in the listen backlog. Nil for no limit.
    public var maximumConnections: Int?

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        maximumRequestBytes: Int = 64 * 1024 * 1024,
        spoolDirectory: URL = FileManager.default.temporaryDirectory,
        maximumImportBytes: Int = 1 << 40,
        rpcLimits: RPCLimits = RPCLimits(),
        idleTimeout: Duration? = .seconds(30),
        maximumConnections: Int? = nil
    ) {
        self.host = host
        self.port = port
        self.maximumRequestBytes = maximumRequestBytes
        self.spoolDirectory = spoolDirectory
        self.maximumImportBytes = maximumImportBytes
        self.rpcLimits = rpcLimits
        self.idleTimeout = idleTimeout
        self.maximumConnections = maximumConnections
    }
}

/// The HTTP face of the catalog: `POST /rpc` (JSON-RPC 2.0, single or batch), `POST /data/import` and
/// `GET /data/export` (data files streamed), the data service's IDS API under `/ids/`, `GET /health`,
/// `GET /metrics`.
public enum CatalogServer {
    /// Builds the application. Run it with `runService()`, which stops gracefully on SIGTERM and SIGINT. With
    /// `runningDatabase`, the catalog's database is a service of the same group, migrated before the server
    /// listens; otherwise whoever made the catalog runs its database (as the tests do).
    public static func application(
        catalog: Catalog,
        service: RPCService,
        configuration: ServerConfiguration,
        metrics: PrometheusCollectorRegistry,
        logger: Logger,
        dataService: DataService? = nil,
        runningDatabase: Bool = false
    ) -> some ApplicationProtocol {
        let router = Router(context: CatalogRequestContext.self)
        router.add(middleware: CancelOnDisconnectMiddleware())
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestLogMiddleware(level: .info))
        router.add(middleware: MetricsMiddleware())
        let limit = configuration.maximumRequestBytes
        let rpcLimits = configuration.rpcLimits
        router.post("rpc") { request, context -> Response in
            let body = try await request.body.collect(upTo: limit)
            let reply = await service.handle(
                Array(buffer: body),
                limits: rpcLimits,
                context: RPCRequestContext(logger: context.logger, clientAddress: context.clientAddress)
            )
            guard let reply else { return Response(status: .noContent) }
            return Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply))
            )
        }
        let spool = ImportSpool(directory: configuration.spoolDirectory)
        DataTransferRoutes.add(
            to: router,
            catalog: catalog,
            spool: spool,
            maximumBytes: configuration.maximumImportBytes
        )
        if let dataService { IDSRoutes.add(to: router, service: dataService) }
        HealthRoute.add(to: router, database: catalog.database)
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.emitToBuffer()))
            )
        }
        var application = Application(
            router: router,
            server: configuration.httpServer,
            configuration: configuration.applicationConfiguration(logger: logger),
            logger: logger
        )
        application.beforeServerStarts {
            for name in spool.removeLeftovers() {
                logger.notice("removed \(name), the upload of an import a stopped server did not finish")
            }
        }
        if runningDatabase {
            // The database runs before the server and stops after it has drained its requests; the server
            // listens once the database is migrated.
            let database = catalog.database
            application.addServices(database)
            application.beforeServerStarts {
                // A signal while waiting for another server's migration stops the wait (and the server).
                let migrate: @Sendable () async throws -> [Int] = {
                    try await Migrator.bundled(for: database.dialect).migrate(database, logger: logger)
                }
                _ = try await cancelWhenGracefulShutdown(migrate)
            }
        }
        // The data service's sweeper and tier moves run beside the server, stopped after it has drained.
        if let dataService { application.addServices(dataService) }
        return application
    }

    /// Adds the current request's id to every log line written while the request is handled, by any logger
    /// (the catalog's included). Install it with `LoggingSystem.bootstrap(_:metadataProvider:)`.
    public static let requestMetadataProvider = Logger.MetadataProvider {
        guard let id = RequestID.current else { return [:] }
        return ["hb.request.id": .string(id)]
    }
}

/// The id of the request the current task serves.
enum RequestID {
    @TaskLocal static var current: String?
}

/// Makes the request id visible to `CatalogServer.requestMetadataProvider` for the rest of the request.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        try await RequestID.$current.withValue(context.id) {
            try await next(request, context)
        }
    }
}
