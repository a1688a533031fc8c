/// What one request to an `RPCService` may cost: how many requests a batch may hold, and how many bytes of
/// results its reply may carry.
public struct RPCLimits: Sendable, Equatable {
    /// A batch of more requests (invalid entries included) is refused as a whole, before any of it runs.
    public var maximumBatchRequests: Int
    /// A result that would take the reply past this size is answered with an error instead; in a batch, so is
    /// every request after it, which is not run. The error entries themselves always go out.
    public var maximumReplyBytes: Int

    public init(maximumBatchRequests: Int = 1000, maximumReplyBytes: Int = 64 * 1024 * 1024) {
        self.maximumBatchRequests = maximumBatchRequests
        self.maximumReplyBytes = maximumReplyBytes
    }
}

/// A reply that would have grown past `RPCLimits.maximumReplyBytes`. It reaches clients through the service's
/// error mapping, like the errors its handlers throw, so that it has the service's own error type.
public struct ReplyTooLarge: Error, Sendable, Equatable, CustomStringConvertible {
    /// The size the reply may not exceed.
    public let limit: Int
    /// Whether the request was run (and its result left out) or, coming after the limit was reached in a batch,
    /// not run at all.
    public let ran: Bool

    public init(limit: Int, ran: Bool) {
        self.limit = limit
        self.ran = ran
    }

    public var description: String {
        ran
            ? "The result would take the reply past \(limit) bytes, the most this server sends; ask for less at a time, e.g. a smaller page"
            : "Not run: the batch's reply reached \(limit) bytes, the most this server sends; send this request again in another batch"
    }
}
