import Hummingbird
import Logging

/// Logs each request's method and path, as Hummingbird's request log does, but with the values of query parameters
/// that act as credentials (`sessionId`, `preparedId`, as IDS clients send them) replaced by `***`.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    static var secretParameters: Set<Substring> { ["sessionId", "preparedId"] }

    let level: Logger.Level

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        context.logger.log(
            level: level,
            "Request",
            metadata: [
                "hb.request.method": .string(request.method.rawValue),
                "hb.request.path": .string(Self.redacted(request.uri.path, query: request.uri.query)),
            ]
        )
        return try await next(request, context)
    }

    static func redacted(_ path: String, query: String?) -> String {
        guard let query, !query.isEmpty else { return path }
        let parts = query.split(separator: "&", omittingEmptySubsequences: false).map { part -> Substring in
            let name = part.split(separator: "=", maxSplits: 1).first ?? ""
            return secretParameters.contains(name) ? name + "=***" : part
        }
        return path + "?" + parts.joined(separator: "&")
    }
}
