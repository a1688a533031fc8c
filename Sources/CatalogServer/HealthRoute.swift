import CatalogStore
import Hummingbird
import JSONValue

/// `GET /health`: 200 `{"status":"ok"}` when a call could use the database now; otherwise 503 with a `status`
/// (`database busy` while every connection stays in use, `database unavailable` while the database cannot be
/// reached) and a `reason`. Once the database is known to be unreachable, the answer comes at once.
enum HealthRoute {
    static func add<Context: RequestContext>(to router: Router<Context>, database: any Database) {
        router.get("health") { _, context -> Response in
            do throws(DatabaseError) {
                try await database.checkHealth()
                return reply(.ok, ["status": "ok"])
            } catch {
                context.logger.warning("health check failed: \(error.message)")
                let (status, reason): (String, String) =
                    switch error.kind {
                    case .busy: ("database busy", "every database connection is in use")
                    case .timedOut: ("database unavailable", "the database did not answer in time")
                    case .unavailable: ("database unavailable", "the database cannot be reached")
                    default: ("database unavailable", "the database refused the check; the server log has the details")
                    }
                return reply(.serviceUnavailable, ["status": .string(status), "reason": .string(reason)])
            }
        }
    }

    private static func reply(_ status: HTTPResponse.Status, _ body: JSON) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body.serialized))
        )
    }
}
