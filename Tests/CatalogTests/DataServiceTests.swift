import Catalog
import CatalogSQL
import Foundation
import JSONValue
import NIOCore
import Testing

@testable import DataService
@testable import DataStore

/// The data service over a real catalog on both databases and real local stores: bytes and Datafiles stay
/// consistent whatever fails, access follows the catalog's rules, archived data comes back only intact.
@Suite struct DataServiceTests {
    /// Runs `body` with a data service (running: its sweeper and tier moves) on a fresh catalog with the fixture.
    static func with(
        _ backend: Backend,
        twoLevel: Bool = false,
        abandonedUploadSeconds: Int64 = 300,
        _ body: (DataService, Fixture, URL) async throws -> Void
    ) async throws {
        try await TestServer.withDirectory { directory in
            try await TestCatalog.with(backend) { catalog in
                let fixture = try await Fixture.make(catalog)
                let configuration = DataServiceConfiguration(
                    main: try LocalDiskStore(root: directory.appendingPathComponent("main")),
                    archive: twoLevel ? try LocalDiskStore(root: directory.appendingPathComponent("archive")) : nil,
                    maximumUploadBytes: 1 << 20,
                    abandonedUploadSeconds: abandonedUploadSeconds,
                    sweepInterval: .seconds(3600)
                )
                let service = DataService(catalog: catalog, configuration: configuration, logger: TestCatalog.logger)
                try await withThrowingTaskGroup { group in
                    group.addTask { try await service.run() }
                    defer { group.cancelAll() }
                    try await body(service, fixture, directory)
                }
            }
        }
    }

    static func body(_ bytes: [UInt8], chunk: Int = 4096) -> AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                continuation.yield(ByteBuffer(bytes: bytes[start..<min(start + chunk, bytes.count)]))
            }
            continuation.finish()
        }
    }

    static func collect(_ download: DataDownload) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        for try await chunk in download.body { bytes += Array(buffer: chunk) }
        return bytes
    }

    /// The files a local store holds, leftovers of unfinished uploads included.
    static func storedFiles(_ directory: URL) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory.path)
        var files: [String] = []
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(
                atPath: directory.appendingPathComponent(path).path,
                isDirectory: &isDirectory
            ),
                !isDirectory.boolValue
            {
                files.append(path)
            }
        }
        return files.sorted()
    }

    static func expectIDSError<R>(
        _ code: IDSError.Code,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> R
    ) async {
        do {
            _ = try await body()
            Issue.record("expected \(code.rawValue) but the call succeeded", sourceLocation: sourceLocation)
        } catch let error as IDSError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected \(code.rawValue) but got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: Backend.allCases)
    func putStoresTheBytesWithTheirSizeAndChecksumOnTheDatafile(_ backend: Backend) async throws {
        try await Self.with(backend) { service, fixture, _ in
            let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let result = try await service.put(
                Self.body(bytes),
                sessionId: fixture.root,
                datafile: NewDatafile(name: "../../etc/passwd", datasetId: fixture.dataset, datafileFormatId: nil)
            )
            var checksums = StreamingChecksums()
            checksums.update(bytes)
            #expect(result.size == 100_000)
            #expect(result.checksum == checksums.finish().crc32)
            let datafile = try await fixture.catalog.get(sessionId: fixture.root, query: "Datafile", id: result.id)
            #expect(datafile["Datafile"]?["fileSize"] == .int(100_000))
            #expect(datafile["Datafile"]?["checksum"] == .string(String(result.checksum, radix: 16)))
            #expect(datafile["Datafile"]?["location"] == .string(result.location))
            #expect(StoreKey(validating: result.location) != nil, "the location is the store's key, not the name")
            let download = try await service.getData(
                .selection(sessionId: fixture.root, DataSelection(datafileIds: [result.id]))
            )
            #expect(!download.isZip && download.length == 100_000)
            #expect(try await Self.collect(download) == bytes)
            let sha = try await service.ledger.storedBytes(of: [result.id])[result.id]?.sha256
            #expect(
                sha
                    == StoredObject(key: StoreKey.make(), size: 0, crc32: 0, sha256: checksums.finish().sha256)
                    .sha256Text
            )
        }
    }

    @Test(arguments: Backend.allCases)
    func deletingADatasetThroughTheCatalogRemovesItsDatafilesBytes(_ backend: Backend) async throws {
        try await Self.with(backend) { service, fixture, directory in
            let result = try await service.put(
                Self.body([1, 2, 3]),
                sessionId: fixture.root,
                datafile: NewDatafile(name: "c.dat", datasetId: fixture.dataset, datafileFormatId: nil)
            )
            let key = try #require(StoreKey(validating: result.location))
            #expect(try await service.configuration.main.size(of: key) == 3)
            try await fixture.catalog.delete(
                sessionId: fixture.root,
                entity: ["Dataset": ["id": .int(fixture.dataset)]]
            )
            await service.sweepNow()
            await #expect(throws: DataStoreError.self) { try await service.configuration.main.size(of: key) }
            #expect(Self.storedFiles(directory.appendingPathComponent("main")).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func twoUploadsOfOneNameLeaveOneDatafileAndOneFile(_ backend: Backend) async throws {
        try await Self.with(backend) { service, fixture, directory in
            // Both uploads pass the early check before either has written its Datafile; the second write fails.
            let gate = Gate(parties: 2)
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        do {
                            _ = try await service.put(
                                GatedBody(gate: gate, bytes: [9, 9, 9]),
                                sessionId: fixture.root,
                                datafile: NewDatafile(
                                    name: "twin.dat",
                                    datasetId: fixture.dataset,
                                    datafileFormatId: nil
                                )
                            )
                            return true
                        } catch let error as IDSError {
                            #expect(error.code == .badRequest, "\(error)")
                            return false
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1 && outcomes.count == 2)
            let count = try await fixture.catalog.search(
                sessionId: fixture.root,
                query: "SELECT COUNT(df) FROM Datafile df WHERE df.name = 'twin.dat'"
            )
            #expect(count == [1])
            #expect(Self.storedFiles(directory.appendingPathComponent("main")).count == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func theBytesOfAnUploadWhoseServerDiedAreRemovedBySweeping(_ backend: Backend) async throws {
        try await Self.with(backend, abandonedUploadSeconds: -1) { service, _, directory in
            // As a server killed between storing the bytes and writing the Datafile leaves them.
            let key = StoreKey.make()
            try await service.ledger.beginUpload(key, owner: "a server that died")
            _ = try await service.configuration.main.put(Self.body([5, 5]), as: key, maximumBytes: nil)
            #expect(Self.storedFiles(directory.appendingPathComponent("main")).count == 1)
            await service.sweepNow()
            #expect(Self.storedFiles(directory.appendingPathComponent("main")).isEmpty)
            #expect(try await service.ledger.abandonedUploads(before: Int64.max).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func refusedUploadsStoreNothing(_ backend: Backend) async throws {
        try await Self.with(backend) { service, fixture, directory in
            let alice = try await fixture.login("alice", "alice-pw")
            let datafile = NewDatafile(name: "x.dat", datasetId: fixture.dataset, datafileFormatId: nil)
            await Self.expectIDSError(.insufficientPrivileges) {
                try await service.put(Self.body([1]), sessionId: alice, datafile: datafile)
            }
            await Self.expectIDSError(.badRequest) {
                try await service.put(
                    Self.body([UInt8](repeating: 0, count: (1 << 20) + 1)),
                    sessionId: fixture.root,
                    datafile: datafile
                )
            }
            await Self.expectIDSError(.badRequest) {
                try await service.put(
                    Self.body([1]),
                    sessionId: fixture.root,
                    datafile: NewDatafile(name: "a.nxs", datasetId: fixture.dataset, datafileFormatId: nil)
                )
            }
            await Self.expectIDSError(.notFound) {
                try await service.put(
                    Self.body([1]),
                    sessionId: fixture.root,
                    datafile: NewDatafile(name: "y.dat", datasetId: 987_654, datafileFormatId: nil)
                )
            }
            #expect(Self.storedFiles(directory.appendingPathComponent("main")).isEmpty)
            #expect(try await fixture.count("Datafile") == 2)
            #expect(try await service.ledger.abandonedUploads(before: Int64.max).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func namedIdsTheCallerMayNotReadAreRefusedAndUnknownOnesNotFound(_ backend: Backend) async throws {
        try await Self.with(backend) { service, fixture, _ in
            let alice = try await fixture.login("alice", "alice-pw")
            for selection in [
                DataSelection(datasetIds: [fixture.dataset]), DataSelection(investigationIds: [fixture.investigation]),
            ] {
                await Self.expectIDSError(.insufficientPrivileges) {
                    try await service.size(.selection(sessionId: alice, selection))
                }
                #expect(try await service.size(.selection(sessionId: fixture.root, selection)) == 30)
            }
            await Self.expectIDSError(.notFound) {
                try await service.size(.selection(sessionId: fixture.root, DataSelection(datafileIds: [987_654])))
            }
            await Self.expectIDSError(.insufficientPrivileges) {
                try await service.size(.selection(sessionId: "f" + String(repeating: "0", count: 63), DataSelection()))
            }
            // Datafiles without bytes here (catalogued elsewhere) are not found when their data is asked for.
            await Self.expectIDSError(.notFound) {
                try await service.getData(
                    .selection(sessionId: fixture.root, DataSelection(datasetIds: [fixture.dataset]))
                )
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func withoutAnArchiveTierArchivingIsNotImplemented(_ backend: Backend) async throws {
        try await Self.with(backend) { service, fixture, _ in
            await Self.expectIDSError(.notImplemented) {
                try await service.archive(
                    sessionId: fixture.root,
                    selection: DataSelection(datasetIds: [fixture.dataset])
                )
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func archivedDataIsNotOnlineUntilRestoredIntact(_ backend: Backend) async throws {
        try await Self.with(backend, twoLevel: true) { service, fixture, directory in
            let bytes = [UInt8](repeating: 42, count: 10_000)
            let result = try await service.put(
                Self.body(bytes),
                sessionId: fixture.root,
                datafile: NewDatafile(name: "kept.dat", datasetId: fixture.dataset, datafileFormatId: nil)
            )
            let selection = DataSelection(datasetIds: [fixture.dataset])
            let request = DataRequest.selection(sessionId: fixture.root, DataSelection(datafileIds: [result.id]))
            try await service.archive(sessionId: fixture.root, selection: selection)
            await service.settled()
            #expect(try await service.status(request) == .archived)
            #expect(Self.storedFiles(directory.appendingPathComponent("main")).isEmpty)
            await Self.expectIDSError(.dataNotOnline) { try await service.getData(request) }
            await service.settled()
            #expect(try await service.status(request) == .online)
            #expect(try await Self.collect(try await service.getData(request)) == bytes)

            // A copy on the archive tier that no longer matches its checksums is refused, and the data stays archived.
            try await service.archive(sessionId: fixture.root, selection: selection)
            await service.settled()
            let stored = try #require(try await service.ledger.storedBytes(of: [result.id])[result.id])
            let archived = try #require(stored.archiveLocation)
            try Data(repeating: 43, count: 10_000).write(
                to: directory.appendingPathComponent("archive").appendingPathComponent(archived.rawValue)
            )
            try await service.restore(sessionId: fixture.root, selection: selection)
            await service.settled()
            #expect(try await service.status(request) == .archived)
            let status = try await service.serviceStatus(sessionId: fixture.root)
            #expect(status["failures"] == [.int(fixture.dataset)])
        }
    }
}

/// Lets `parties` tasks through only once all of them have arrived.
actor Gate {
    private let parties: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(parties: Int) { self.parties = parties }

    func arrive() async {
        if waiting.count + 1 == parties {
            for waiter in waiting { waiter.resume() }
            waiting.removeAll()
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}

/// An upload body whose first chunk waits at a gate: its put has passed the early checks by then.
struct GatedBody: AsyncSequence, Sendable {
    let gate: Gate
    let bytes: [UInt8]

    struct AsyncIterator: AsyncIteratorProtocol {
        let gate: Gate
        var bytes: [UInt8]?

        mutating func next() async -> ByteBuffer? {
            guard let bytes else { return nil }
            self.bytes = nil
            await gate.arrive()
            return ByteBuffer(bytes: bytes)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(gate: gate, bytes: bytes) }
}
