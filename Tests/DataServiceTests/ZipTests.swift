import Foundation
import NIOCore
import Testing

@testable import DataService
@testable import DataStore

/// Zips as the data service streams them, read back by Python's `zipfile` (a reader the service does not share
/// code with), and resumed downloads of them.
@Suite struct ZipTests {
    static func files(_ count: Int, size: (Int) -> Int) -> [(name: String, bytes: [UInt8])] {
        (0..<count).map { index in
            ("ids/F/INV/1/ds/file-\(index).dat", (0..<size(index)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) })
        }
    }

    /// The whole zip of `files` from `skip` on, as the producer streams it from a local store.
    static func zip(_ files: [(name: String, bytes: [UInt8])], compress: Bool, skip: Int64 = 0) async throws -> [UInt8]
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try LocalDiskStore(root: directory)
        var entries: [ZipEntry] = []
        var keys: [StoreKey] = []
        for file in files {
            let stored = try await store.put(
                AsyncStream { continuation in
                    continuation.yield(ByteBuffer(bytes: file.bytes))
                    continuation.finish()
                },
                maximumBytes: nil
            )
            entries.append(ZipEntry(name: file.name, size: stored.size, crc32: stored.crc32))
            keys.append(stored.key)
        }
        let producer = ZipProducer(entries: entries, keys: keys, store: store, compress: compress, skip: skip)
        var out: [UInt8] = []
        while let piece = try await producer.next() { out += Array(buffer: piece) }
        if !compress, skip == 0 { #expect(Int64(out.count) == ZipWriter.storedLength(of: entries)) }
        return out
    }

    /// The names and contents Python's zipfile reads from `zip`, after checking every entry's CRC.
    static func readWithPython(_ zip: [UInt8]) async throws -> [String: [UInt8]] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(zip).write(to: file)
        let script = """
            import json, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1])
            assert z.testzip() is None
            print(json.dumps({i.filename: list(z.read(i)) for i in z.infolist()}))
            """
        // Waited for on a thread of its own: blocking one of the few threads that run every test's tasks would
        // stall the whole suite (timers of other tests included) while Python reads.
        let (status, data) = try await withCheckedThrowingContinuation {
            (continuation: CheckedContinuation<(Int32, Data), any Error>) in
            Thread.detachNewThread {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    process.arguments = ["python3", "-c", script, file.path]
                    let output = Pipe()
                    process.standardOutput = output
                    try process.run()
                    let data = output.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    continuation.resume(returning: (process.terminationStatus, data))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        try #require(status == 0, "python's zipfile rejected the zip")
        let decoded = try JSONSerialization.jsonObject(with: data) as? [String: [Int]] ?? [:]
        return decoded.mapValues { $0.map(UInt8.init) }
    }

    @Test(arguments: [false, true])
    func aZipHoldsEveryFileUnderItsName(compress: Bool) async throws {
        let files = Self.files(5) { [0, 1, 70_000, 300_000, 12][$0] }
        let read = try await Self.readWithPython(try await Self.zip(files, compress: compress))
        #expect(read.count == files.count)
        for file in files { #expect(read[file.name] == file.bytes, "\(file.name)") }
    }

    @Test func entryTimesAreTheDatafilesInMSDOSForm() {
        // 2026-12-07 17:45:31 UTC: 17:45:30 in two-second steps.
        let (time, date) = ZipWriter.dosTime(Date(timeIntervalSince1970: 1_796_665_531))
        #expect(time == UInt16(17 << 11 | 45 << 5 | 15))
        #expect(date == UInt16((2026 - 1980) << 9 | 12 << 5 | 7))
        let earliest = ZipWriter.dosTime(Date(timeIntervalSince1970: 0))
        #expect(earliest.time == 0 && earliest.date == UInt16(1 << 5 | 1))
    }

    @Test func namesAreUTF8() async throws {
        let files = [(name: "ids/Fac/Inv/1/ds/résumé ✓.dat", bytes: [UInt8]([1, 2, 3]))]
        #expect(
            try await Self.readWithPython(try await Self.zip(files, compress: false)).keys.sorted() == [files[0].name]
        )
    }

    @Test func moreEntriesThanTheClassicFormatCountsGetZip64Records() async throws {
        // One stored empty file under 66,000 names: the entry count is the point, not 66,000 stored files.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zip-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try LocalDiskStore(root: directory)
        let empty = try await store.put(AsyncStream<ByteBuffer> { $0.finish() }, maximumBytes: nil)
        let entries = (0..<66_000).map { ZipEntry(name: "f\($0)", size: 0, crc32: empty.crc32) }
        let producer = ZipProducer(
            entries: entries,
            keys: Array(repeating: empty.key, count: entries.count),
            store: store,
            compress: false,
            skip: 0
        )
        var zip: [UInt8] = []
        while let piece = try await producer.next() { zip += Array(buffer: piece) }
        #expect(Int64(zip.count) == ZipWriter.storedLength(of: entries))
        #expect(try await Self.readWithPython(zip).count == 66_000)
    }

    @Test(arguments: [false, true])
    func aResumedZipIsTheRestOfTheSameBytes(compress: Bool) async throws {
        let files = Self.files(4) { [100_000, 0, 50_000, 10][$0] }
        let whole = try await Self.zip(files, compress: compress)
        for skip in [1, 29, 30, 31, 40_000, 100_080, 150_100, whole.count - 22, whole.count - 1]
        where skip < whole.count {
            let rest = try await Self.zip(files, compress: compress, skip: Int64(skip))
            #expect(rest == Array(whole[skip...]), "resumed at \(skip)")
        }
    }

    @Test func entryNamesCannotLeaveTheirFolder() {
        let file = SelectedFile(
            id: 1,
            name: "../../etc/passwd",
            fileSize: 0,
            datasetId: 1,
            datasetName: "..",
            investigationName: "a/b",
            visitId: "c\\d",
            facilityName: "",
            modified: Date()
        )
        #expect(file.zipEntryName == "ids/_/a_b/c_d/_../.._.._etc_passwd")
    }

    @Test func selectionsAreCommaSeparatedIds() throws {
        let selection = try DataSelection(investigationIds: nil, datasetIds: "", datafileIds: " 1, 2 ,3,2")
        #expect(selection == DataSelection(datafileIds: [1, 2, 3]))
        for bad in ["1,x", "1,,2", "-1", "+1", "1.5", "99999999999999999999"] {
            #expect(throws: IDSError.self, "\(bad)") {
                try DataSelection(investigationIds: bad, datasetIds: nil, datafileIds: nil)
            }
        }
    }
}
