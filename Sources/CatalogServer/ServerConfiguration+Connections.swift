import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

extension ServerConfiguration {
    /// HTTP/1.1 with Hummingbird's connection state handler, which closes a connection once nothing has
    /// arrived on it for `idleTimeout` unless a request that arrived whole is being answered. HTTP parts count as
    /// arrivals, not bytes: headers trickled in a line at a time count only once complete, so they get the same
    /// deadline as an idle connection, and a body that stops ends with the connection.
    var httpServer: HTTPServerBuilder {
        .http1(configuration: HTTP1Channel.Configuration(idleTimeout: idleTimeout.map(TimeAmount.init)))
    }

    func applicationConfiguration(logger: Logger) -> ApplicationConfiguration {
        ApplicationConfiguration(
            address: .hostname(host, port: port),
            serverName: "icat",
            availableConnectionsDelegate: maximumConnections.map { MaximumAvailableConnections($0, logger: logger) }
        )
    }
}
