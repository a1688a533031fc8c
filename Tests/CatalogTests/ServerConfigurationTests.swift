import Catalog
import CatalogServer
import Foundation
import JSONRPC
import Testing

/// The configuration file's `http` section: the server's bounds, with defaults for what it leaves out.
@Suite("Server configuration")
struct ServerConfigurationTests {
    @Test
    func theHTTPSectionSetsEveryBound() throws {
        let yaml = """
            rootUserNames: [simple/root]
            http:
              idleTimeoutSeconds: 2.5
              maxConnections: 300
              maxBatchRequests: 20
              maxReplyBytes: 4096
              importSpoolDirectory: /var/tmp/icat-spool
            """
        let configuration = try ServerConfiguration(host: "0.0.0.0", port: 9000, yaml: yaml)
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9000)
        #expect(configuration.idleTimeout == .milliseconds(2500))
        #expect(configuration.maximumConnections == 300)
        #expect(configuration.rpcLimits == RPCLimits(maximumBatchRequests: 20, maximumReplyBytes: 4096))
        #expect(configuration.spoolDirectory.path == "/var/tmp/icat-spool")
    }

    @Test
    func withoutTheSectionTheDefaultsHoldAndZeroSecondsMeansNever() throws {
        let defaults = try ServerConfiguration(host: "127.0.0.1", port: 8080, yaml: "maxEntities: 10")
        #expect(defaults.idleTimeout == .seconds(30))
        #expect(defaults.maximumConnections == nil)
        #expect(defaults.rpcLimits == RPCLimits(maximumBatchRequests: 1000, maximumReplyBytes: 64 << 20))
        let never = try ServerConfiguration(host: "127.0.0.1", port: 8080, yaml: "http: {idleTimeoutSeconds: 0}")
        #expect(never.idleTimeout == nil)
    }

    @Test(arguments: [
        ("http: {idleTimeoutSeconds: -1}", "idleTimeoutSeconds"),
        ("http: {maxBatchRequests: 0}", "maxBatchRequests"),
        ("http: {maxReplyBytes: lots}", "maxReplyBytes"),
        ("http: {maxConnection: 10}", "http.maxConnection is not a setting"),
        ("http: [1]", "http must be a mapping"),
    ])
    func aBadSettingIsRefusedByName(_ yaml: String, _ named: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try ServerConfiguration(host: "127.0.0.1", port: 8080, yaml: yaml)
        }
        #expect(error?.description.contains(named) == true, "\(String(describing: error))")
    }
}
