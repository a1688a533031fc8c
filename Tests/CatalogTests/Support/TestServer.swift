import Catalog
import CatalogRPC
import CatalogServer
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import Synchronization

/// A server over a fresh catalog with a configuration of the test's own.
enum TestServer {
    /// Runs `body` with the catalog and a client of a server configured by `configuration`, in memory
    /// (`.router`) or listening on an ephemeral port (`.live`, whose client knows the port).
    static func with(
        _ backend: Backend,
        _ configuration: ServerConfiguration,
        mode: TestingSetup = .router,
        _ body: @escaping @Sendable (Catalog, any TestClientProtocol) async throws -> Void
    ) async throws {
        try await TestCatalog.with(backend) { catalog in
            let app = CatalogServer.application(
                catalog: catalog,
                service: CatalogService.make(catalog: catalog),
                configuration: configuration,
                metrics: RPCTests.metrics,
                logger: TestCatalog.logger
            )
            try await app.test(mode) { client in try await body(catalog, client) }
        }
    }

    /// A new empty directory, removed after `body`.
    static func withDirectory<R>(_ body: (URL) async throws -> R) async throws -> R {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("icat-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try await body(directory)
    }

    /// The names in `directory` that start with the spool files' prefix.
    static func spoolFiles(in directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasPrefix("icat-import-") }.sorted()
    }

    /// Waits until `condition` holds, checking every 20 ms; false if it still does not after `limit`.
    static func eventually(within limit: Duration = .seconds(10), _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}

/// A plain TCP connection to a live server, for what HTTP clients do not do: stay silent, send half a request.
final class RawConnection {
    private let channel: any Channel
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var received = ""

    private init(
        channel: any Channel,
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    ) {
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
    }

    /// Runs `body` with a connection to `port` on this host, closed afterwards.
    static func with<R: Sendable>(port: Int, _ body: (RawConnection) async throws -> R) async throws -> R {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "localhost", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await body(
                RawConnection(channel: channel.channel, inbound: inbound.makeAsyncIterator(), outbound: outbound)
            )
        }
    }

    func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    /// Reads until the server closes the connection (or resets it). Returns everything the server sent and how
    /// long after `start` the close came, or nil when the connection is still open after `limit` (it is then
    /// closed here).
    func readUntilClosed(
        within limit: Duration,
        since start: ContinuousClock.Instant = .now
    ) async throws -> (text: String, after: Duration)? {
        let timedOut = Flag()
        let channel = self.channel
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(limit)) {
            timedOut.set()
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            while let buffer = try await inbound.next() { received += String(buffer: buffer) }
        } catch {
            // A reset is a close too.
        }
        let after = ContinuousClock.now - start
        return timedOut.isSet ? nil : (received, after)
    }

    /// Reads one whole response (head and a body of `Content-Length` bytes), or nil when the connection closes
    /// first.
    func readResponse() async throws -> (status: Int, body: String)? {
        while true {
            if let headEnd = received.range(of: "\r\n\r\n") {
                let head = received[..<headEnd.lowerBound]
                let length =
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                let body = received[headEnd.upperBound...]
                if body.utf8.count >= length, let status = Int(head.split(separator: " ")[1]) {
                    received = String(body.dropFirst(length))
                    return (status, String(body.prefix(length)))
                }
            }
            guard let buffer = try await inbound.next() else { return nil }
            received += String(buffer: buffer)
        }
    }
}

/// A flag one task raises and another reads.
private final class Flag: Sendable {
    private let state = Mutex(false)

    func set() { state.withLock { $0 = true } }
    var isSet: Bool { state.withLock { $0 } }
}
