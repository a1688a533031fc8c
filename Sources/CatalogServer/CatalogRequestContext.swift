import Hummingbird
import NIOCore

/// The catalog server's request context: Hummingbird's basic one, plus the request's connection (so that a request
/// can be cancelled when its client goes away) and the client's IP address (for the limits on failed logins).
public struct CatalogRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    public let clientAddress: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = CoreRequestContextStorage(source: source)
        self.channel = source.channel
        self.clientAddress = source.channel.remoteAddress?.ipAddress
    }
}
