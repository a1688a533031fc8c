import Foundation

#if canImport(Glibc)
import Glibc
private let streamSocket = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocket = SOCK_STREAM
#endif

/// A PostgreSQL cluster of one test's own, in a temporary directory on a free port, which the test may stop and
/// start: never the shared test cluster. As root it runs as the `postgres` OS user, as PostgreSQL requires.
struct PrivatePostgres: Sendable {
    static let binaries = ProcessInfo.processInfo.environment["ICAT_TEST_PG_BIN"] ?? "/usr/lib/postgresql/15/bin"

    let directory: URL
    let port: Int
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }
    private var data: String { directory.appendingPathComponent("data").path }

    /// Initialises a cluster and starts it.
    static func start() async throws -> PrivatePostgres {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "icat-pg-" + UUID().uuidString.prefix(8).lowercased()
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: directory.path)
        }
        let cluster = PrivatePostgres(directory: directory, port: try freePort())
        try await cluster.run("initdb", "-D", cluster.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        try await cluster.start()
        return cluster
    }

    func start() async throws {
        try await run(
            "pg_ctl",
            "-D",
            data,
            "-l",
            directory.appendingPathComponent("server.log").path,
            "-w",
            "-t",
            "60",
            "-o",
            "-p \(port) -k \(directory.path) -c listen_addresses=127.0.0.1 -c fsync=off",
            "start"
        )
    }

    /// Stops the server: `fast` ends every session, `immediate` kills the server as a crash would.
    func stop(_ mode: String = "fast") async throws {
        try await run("pg_ctl", "-D", data, "-m", mode, "-w", "stop")
    }

    /// Stops the server if it runs and removes its files.
    func destroy() async {
        try? await stop("immediate")
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs one of PostgreSQL's programs (as `postgres` when we are root); fails with its output when it fails.
    ///
    /// Foundation's `Process` learns that its child ended when a socket it hands the child closes; a server that
    /// `pg_ctl` starts would keep it open for good. So a shell closes every descriptor past the standard three
    /// before it runs the program.
    private func run(_ program: String, _ arguments: String...) async throws {
        let process = Process()
        let closeInherited =
            "for fd in $(ls /proc/$$/fd); do if [ \"$fd\" -gt 2 ]; then eval \"exec $fd>&-\"; fi; done; "
            + "exec \"$0\" \"$@\""
        let command = ["/bin/bash", "-c", closeInherited, "\(Self.binaries)/\(program)"] + arguments
        if getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--"] + command
        } else {
            process.executableURL = URL(fileURLWithPath: command[0])
            process.arguments = Array(command.dropFirst())
        }
        process.currentDirectoryURL = directory
        // A file, not a pipe: the server that pg_ctl starts keeps what it inherits open.
        let output = directory.appendingPathComponent("\(program).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        defer { try? handle.close() }
        process.standardOutput = handle
        process.standardError = handle
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in continuation.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            throw TestSetupError("\(program) \(arguments.joined(separator: " ")) failed: \(text)")
        }
    }

    /// A TCP port nothing listens on now.
    private static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, streamSocket, 0)
        guard descriptor >= 0 else { throw TestSetupError("socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw TestSetupError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
