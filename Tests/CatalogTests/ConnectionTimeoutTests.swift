import CatalogServer
import Foundation
import HummingbirdTesting
import NIOCore
import Testing

/// Connections that send nothing, or stop part way through a request, are closed after the idle timeout.
@Suite("Connection timeouts")
struct ConnectionTimeoutTests {
    static let timeout = Duration.seconds(1)

    static func withLiveServer(_ backend: Backend, _ body: @escaping @Sendable (Int) async throws -> Void) async throws
    {
        let configuration = ServerConfiguration(port: 0, idleTimeout: timeout)
        try await TestServer.with(backend, configuration, mode: .live) { _, client in
            try await body(try #require(client.port))
        }
    }

    /// The connection was closed by the server, not before the timeout and well within the limit.
    static func expectClosedByTimeout(_ closed: (text: String, after: Duration)?) {
        guard let closed else {
            Issue.record("the server left the connection open")
            return
        }
        #expect(closed.after >= timeout * 0.9, "closed after \(closed.after)")
    }

    @Test(arguments: Backend.allCases)
    func aConnectionThatSendsNothingIsClosed(_ backend: Backend) async throws {
        try await Self.withLiveServer(backend) { port in
            let start = ContinuousClock.now
            let closed = try await RawConnection.with(port: port) { connection in
                try await connection.readUntilClosed(within: .seconds(20), since: start)
            }
            Self.expectClosedByTimeout(closed)
            #expect(closed?.text == "")
        }
    }

    @Test(arguments: Backend.allCases)
    func aKeptAliveConnectionIsClosedOnceIdle(_ backend: Backend) async throws {
        try await Self.withLiveServer(backend) { port in
            try await RawConnection.with(port: port) { connection in
                let start = ContinuousClock.now
                try await connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n")
                let response = try #require(try await connection.readResponse())
                #expect(response.status == 200)
                Self.expectClosedByTimeout(try await connection.readUntilClosed(within: .seconds(20), since: start))
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func headersTrickledALineAtATimeAreCutOffAtTheTimeout(_ backend: Backend) async throws {
        try await Self.withLiveServer(backend) { port in
            let start = ContinuousClock.now
            try await RawConnection.with(port: port) { connection in
                try await connection.send("GET /health HTTP/1.1\r\nHost: localhost\r\n")
                let outbound = connection.outbound
                let trickle = Task {
                    // Four header lines a second, each well within the timeout of the one before.
                    for line in 0..<80 {
                        try await Task.sleep(for: .milliseconds(250))
                        try await outbound.write(ByteBuffer(string: "X-Line-\(line): slow\r\n"))
                    }
                }
                let closed = try await connection.readUntilClosed(within: .seconds(15), since: start)
                trickle.cancel()
                Self.expectClosedByTimeout(closed)
                #expect(closed?.after ?? .zero < .seconds(10))
                #expect(closed?.text == "")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aBodyThatStopsArrivingEndsWithTheConnection(_ backend: Backend) async throws {
        try await Self.withLiveServer(backend) { port in
            try await RawConnection.with(port: port) { connection in
                let start = ContinuousClock.now
                try await connection.send(
                    "POST /rpc HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\": \"2.0\""
                )
                let closed = try await connection.readUntilClosed(within: .seconds(20), since: start)
                Self.expectClosedByTimeout(closed)
                #expect(closed?.text.hasPrefix("HTTP/1.1 200") != true)
            }
        }
    }
}
