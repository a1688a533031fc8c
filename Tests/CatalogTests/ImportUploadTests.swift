import Catalog
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONValue
import Testing

@testable import CatalogServer

/// Uploads to `/data/import`: rights checked before a byte is stored, and no spool file outlives its request or a
/// server that died.
@Suite("Upload spooling of data file imports")
struct ImportUploadTests {
    static let facilityFile = "<icatdata><data><facility><name>Uploaded</name></facility></data></icatdata>"

    static func configuration(spool: URL, idleTimeout: Duration = .seconds(5)) -> ServerConfiguration {
        ServerConfiguration(port: 0, spoolDirectory: spool, idleTimeout: idleTimeout)
    }

    /// The head of an upload whose body is far from complete.
    static func uploadHead(session: String, port: Int) -> String {
        "POST /data/import?format=icatdata-xml HTTP/1.1\r\nHost: localhost:\(port)\r\n"
            + "Authorization: Bearer \(session)\r\nContent-Length: 1000000\r\n\r\n"
            + String(repeating: " ", count: 1000)
    }

    @Test(arguments: Backend.allCases)
    func anUploadFromACallerWhoCouldImportNothingIsRefusedBeforeItsBodyArrives(_ backend: Backend) async throws {
        try await TestServer.withDirectory { spool in
            try await TestServer.with(backend, Self.configuration(spool: spool), mode: .live) { catalog, client in
                let port = try #require(client.port)
                let anonymous = try await catalog.login(plugin: "anon", credentials: [:])
                let cases: [(session: String, status: Int, type: JSON)] = [
                    ("0123456789abcdef", 401, "SESSION"), (anonymous, 403, "INSUFFICIENT_PRIVILEGES"),
                ]
                for (session, status, type) in cases {
                    // The answer comes while the body is still 999,000 bytes short, and nothing was stored.
                    let answer = try await RawConnection.with(port: port) { connection in
                        try await connection.send(Self.uploadHead(session: session, port: port))
                        return try await connection.readResponse()
                    }
                    let (code, body) = try #require(answer)
                    #expect(code == status)
                    #expect(try JSON(parsing: body)["error"]?["data"]?["type"] == type)
                    #expect(TestServer.spoolFiles(in: spool) == [])
                }
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func anUploadCutOffByItsClientOrStalledLeavesNoSpoolFile(_ backend: Backend) async throws {
        try await TestServer.withDirectory { spool in
            // Long enough that the session check before spooling ends within it on a loaded machine.
            let configuration = Self.configuration(spool: spool, idleTimeout: .seconds(3))
            try await TestServer.with(backend, configuration, mode: .live) { catalog, client in
                let port = try #require(client.port)
                let root = try await catalog.login(
                    plugin: "simple",
                    credentials: ["username": "root", "password": "secret"]
                )
                // The client goes away half way through.
                try await RawConnection.with(port: port) { connection in
                    try await connection.send(Self.uploadHead(session: root, port: port))
                    #expect(try await TestServer.eventually { TestServer.spoolFiles(in: spool).count == 1 })
                }
                #expect(try await TestServer.eventually { TestServer.spoolFiles(in: spool).isEmpty })

                // The client stops sending: the server ends the connection after the idle timeout.
                let closed = try await RawConnection.with(port: port) { connection in
                    try await connection.send(Self.uploadHead(session: root, port: port))
                    #expect(try await TestServer.eventually { TestServer.spoolFiles(in: spool).count == 1 })
                    return try await connection.readUntilClosed(within: .seconds(20))
                }
                #expect(closed != nil)
                #expect(try await TestServer.eventually { TestServer.spoolFiles(in: spool).isEmpty })
                #expect(try await catalog.search(sessionId: root, query: "SELECT COUNT(f) FROM Facility f") == [0])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aFinishedImportSucceededOrFailedLeavesNoSpoolFile(_ backend: Backend) async throws {
        try await TestServer.withDirectory { spool in
            try await TestServer.with(backend, Self.configuration(spool: spool)) { catalog, client in
                let root = try await catalog.login(
                    plugin: "simple",
                    credentials: ["username": "root", "password": "secret"]
                )
                for (file, outcome) in [(Self.facilityFile, "result"), ("<icatdata><data><facility>", "error")] {
                    let last = try await client.execute(
                        uri: "/data/import?format=icatdata-xml",
                        method: .post,
                        headers: [.authorization: "Bearer \(root)"],
                        body: ByteBuffer(string: file)
                    ) { response in
                        try JSON(parsing: String(String(buffer: response.body).split(separator: "\n").last ?? ""))
                    }
                    #expect(last[outcome] != nil, "\(last)")
                    #expect(TestServer.spoolFiles(in: spool) == [])
                }
                #expect(
                    try await catalog.search(sessionId: root, query: "SELECT f.name FROM Facility f") == ["Uploaded"]
                )
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func spoolFilesAStoppedServerLeftAreRemovedAtStartButNoOthers(_ backend: Backend) async throws {
        try await TestServer.withDirectory { spool in
            let stale = spool.appendingPathComponent("icat-import-0B7E5A1C-left-by-a-crash")
            try Data("half an upload".utf8).write(to: stale)
            let unrelated = spool.appendingPathComponent("notes.txt")
            try Data("not ours".utf8).write(to: unrelated)
            // Another server's upload in progress: its file is locked.
            let inUse = try ImportSpool(directory: spool).create()
            defer { inUse.remove() }

            try await TestServer.with(backend, Self.configuration(spool: spool)) { _, _ in
                #expect(!FileManager.default.fileExists(atPath: stale.path))
                #expect(FileManager.default.fileExists(atPath: unrelated.path))
                #expect(TestServer.spoolFiles(in: spool) == [inUse.url.lastPathComponent])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func theImportPreCheckRefusesOnlyCallersNoFileCouldHelp(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let root = try await catalog.login(
                plugin: "simple",
                credentials: ["username": "root", "password": "secret"]
            )
            let alice = try await catalog.login(
                plugin: "simple",
                credentials: ["username": "alice", "password": "alice-pw"]
            )
            await expectCatalogError(.session) {
                try await catalog.checkImportAllowed(sessionId: "nonsense", options: ImportOptions())
            }
            try await catalog.checkImportAllowed(sessionId: root, options: ImportOptions(attributes: .all))
            let nothing = await expectCatalogError(.insufficientPrivileges) {
                try await catalog.checkImportAllowed(sessionId: alice, options: ImportOptions())
            }
            #expect(nothing?.message.contains("simple/alice") == true)

            _ = try await catalog.create(sessionId: root, entity: ["Rule": ["what": "Keyword", "crudFlags": "RU"]])
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.checkImportAllowed(sessionId: alice, options: ImportOptions())
            }
            // With OVERWRITE, updating is something a file could do.
            try await catalog.checkImportAllowed(sessionId: alice, options: ImportOptions(duplicate: .overwrite))

            _ = try await catalog.create(sessionId: root, entity: ["Rule": ["what": "Keyword", "crudFlags": "C"]])
            try await catalog.checkImportAllowed(sessionId: alice, options: ImportOptions())
            await expectCatalogError(.insufficientPrivileges) {
                try await catalog.checkImportAllowed(sessionId: alice, options: ImportOptions(attributes: .all))
            }
        }
    }
}
