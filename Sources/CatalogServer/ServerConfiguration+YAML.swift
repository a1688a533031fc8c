import Catalog
import Foundation
import JSONRPC
import Yams

extension ServerConfiguration {
    /// The keys of the configuration file's `http` section, each with what it sets.
    static let httpKeys = [
        "idleTimeoutSeconds", "maxConnections", "maxBatchRequests", "maxReplyBytes", "importSpoolDirectory",
    ]

    /// A server on `host:port` with the bounds of the configuration file's optional `http` section (the same file
    /// as `CatalogConfiguration`'s); what the section leaves out keeps its default:
    ///
    /// ```yaml
    /// http:
    ///   idleTimeoutSeconds: 30        # 0: connections are never closed for idleness
    ///   maxConnections: 10000         # default: no limit here (icat serve: the open-file limit less 256)
    ///   maxBatchRequests: 1000
    ///   maxReplyBytes: 67108864
    ///   importSpoolDirectory: /var/tmp/icat-spool   # default: the temporary directory
    /// ```
    public init(host: String, port: Int, yaml: String) throws {
        self.init(host: host, port: port)
        guard let root = try Yams.load(yaml: yaml) as? [String: Any] else {
            throw ConfigurationError("the configuration must be a mapping")
        }
        guard let value = root["http"] else { return }
        guard let section = value as? [String: Any] else { throw ConfigurationError("http must be a mapping") }
        if let unknown = section.keys.sorted().first(where: { !Self.httpKeys.contains($0) }) {
            throw ConfigurationError(
                "http.\(unknown) is not a setting; known: \(Self.httpKeys.joined(separator: ", "))"
            )
        }
        if let seconds = section["idleTimeoutSeconds"] {
            guard let seconds = (seconds as? Double) ?? (seconds as? Int).map(Double.init), seconds >= 0 else {
                throw ConfigurationError("http.idleTimeoutSeconds must be a number of seconds, 0 or more")
            }
            idleTimeout = seconds > 0 ? .milliseconds(Int64((seconds * 1000).rounded(.up))) : nil
        }
        maximumConnections = try Self.positive(section, "maxConnections") ?? maximumConnections
        rpcLimits.maximumBatchRequests =
            try Self.positive(section, "maxBatchRequests") ?? rpcLimits.maximumBatchRequests
        rpcLimits.maximumReplyBytes = try Self.positive(section, "maxReplyBytes") ?? rpcLimits.maximumReplyBytes
        if let directory = section["importSpoolDirectory"] {
            guard let path = directory as? String, !path.isEmpty else {
                throw ConfigurationError("http.importSpoolDirectory must be a directory's path")
            }
            spoolDirectory = URL(fileURLWithPath: path)
        }
    }

    private static func positive(_ section: [String: Any], _ key: String) throws -> Int? {
        guard let value = section[key] else { return nil }
        guard let number = value as? Int, number > 0 else {
            throw ConfigurationError("http.\(key) must be a positive whole number")
        }
        return number
    }
}
