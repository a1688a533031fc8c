import Catalog
import CatalogDataFormat
import CatalogRPC
import CatalogSQL
import CatalogStore
import Foundation
import JSONRPC
import JSONValue
import Logging

// Ingestion benchmark: datafiles (each with two parameters) per second written by `createMany` (through the
// JSON-RPC service, batches of 1000, no HTTP) and by `importData` (an XML data file streamed from disk), next to
// PostgreSQL `COPY` of the same rows done directly through the driver, in the same run. Prints rates and ratios;
// it asserts nothing.
//
//   icat-ingest-benchmark --postgres URL [--datafiles N] [--rounds R]

struct Options {
    var postgres: String?
    var datafiles = 100_000
    var rounds = 2

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--postgres": postgres = iterator.next()
            case "--datafiles": datafiles = iterator.next().flatMap(Int.init) ?? datafiles
            case "--rounds": rounds = iterator.next().flatMap(Int.init) ?? rounds
            default:
                print("unknown argument \(argument)")
                exit(2)
            }
        }
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let elapsed = try await ContinuousClock().measure { try await body() }
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
guard let url = options.postgres else {
    print("usage: icat-ingest-benchmark --postgres URL [--datafiles N] [--rounds R]")
    exit(2)
}
var logger = Logger(label: "bench")
logger.logLevel = .warning
let database = try await PostgresDatabase(url: url, logger: logger)
// The pools run for the whole benchmark; the process ends with it.
let running = Task { await database.run() }
try await Migrator.bundled(for: database.dialect).migrate(database, logger: logger)
let catalog = Catalog(database: database, configuration: .development, logger: logger)
let service = CatalogService.make(catalog: catalog)
let context = RPCRequestContext(logger: logger)
let session = try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])

let facility = try await catalog.create(
    sessionId: session,
    entity: [
        "Facility": [
            "name": "BENCH", "investigationTypes": [["name": "e"]], "datasetTypes": [["name": "r"]],
            "parameterTypes": [
                ["name": "temperature", "units": "K", "valueType": "NUMERIC", "applicableToDatafile": true],
                ["name": "mode", "units": "N/A", "valueType": "STRING", "applicableToDatafile": true],
            ],
        ]
    ]
)
let types = try await catalog.get(
    sessionId: session,
    query: "Facility f INCLUDE f.investigationTypes, f.datasetTypes, f.parameterTypes",
    id: facility
)["Facility"]!
func typeId(_ relation: String, _ name: String) -> Int64 {
    types[relation]!.arrayValue!.first { $0["name"] == .string(name) }!["id"]!.int64Value!
}
let temperature = typeId("parameterTypes", "temperature")
let mode = typeId("parameterTypes", "mode")
let investigation = try await catalog.create(
    sessionId: session,
    entity: [
        "Investigation": [
            "name": "bench", "visitId": "1", "title": "benchmark", "facility": ["id": .int(facility)],
            "type": ["id": .int(typeId("investigationTypes", "e"))],
        ]
    ]
)
let datasetType = typeId("datasetTypes", "r")

/// A new dataset for one run, so that every run writes the same rows under a different parent.
func dataset(_ name: String) async throws -> Int64 {
    try await catalog.create(
        sessionId: session,
        entity: [
            "Dataset": [
                "name": .string(name), "investigation": ["id": .int(investigation)], "type": ["id": .int(datasetType)],
            ]
        ]
    )
}

let perBatch = 1000
let count = options.datafiles

/// Direct COPY of the rows `createMany` writes: datafiles and their parameters, ids from the sequences.
func copyDirectly(_ dataset: Int64) async throws {
    try await database.withTransaction { connection in
        let now = Date()
        var start = 0
        while start < count {
            let n = min(perBatch, count - start)
            let ids = try await connection.reserveIds(in: "datafile", count: n)
            let parameterIds = try await connection.reserveIds(in: "datafile_parameter", count: 2 * n)
            var files: [[SQLValue]] = []
            var parameters: [[SQLValue]] = []
            for i in 0..<n {
                let name = "f\(start + i).nxs"
                files.append([
                    .integer(ids[i]), .text("simple/root"), .timestamp(now), .text("simple/root"), .timestamp(now),
                    .text(name), .text("/data/\(name)"), .integer(1024), .integer(dataset),
                ])
                parameters.append([
                    .integer(parameterIds[2 * i]), .text("simple/root"), .timestamp(now), .text("simple/root"),
                    .timestamp(now), .double(Double((start + i) % 300) + 0.5), .null, .integer(ids[i]),
                    .integer(temperature),
                ])
                parameters.append([
                    .integer(parameterIds[2 * i + 1]), .text("simple/root"), .timestamp(now), .text("simple/root"),
                    .timestamp(now), .null, .text("mode\((start + i) % 3)"), .integer(ids[i]), .integer(mode),
                ])
            }
            try await connection.bulkInsert(
                into: "datafile",
                columns: [
                    "id", "create_id", "create_time", "mod_id", "mod_time", "name", "location", "file_size",
                    "dataset_id",
                ],
                rows: files
            )
            try await connection.bulkInsert(
                into: "datafile_parameter",
                columns: [
                    "id", "create_id", "create_time", "mod_id", "mod_time", "numeric_value", "string_value",
                    "datafile_id", "type_id",
                ],
                rows: parameters
            )
            start += n
        }
    }
}

func createMany(_ dataset: Int64) async throws {
    var start = 0
    while start < count {
        let n = min(perBatch, count - start)
        let entities: [JSON] = (start..<(start + n)).map { i in
            [
                "Datafile": [
                    "name": .string("f\(i).nxs"), "location": .string("/data/f\(i).nxs"), "fileSize": 1024,
                    "dataset": ["id": .int(dataset)],
                    "parameters": [
                        ["type": ["id": .int(temperature)], "numericValue": .double(Double(i % 300) + 0.5)],
                        ["type": ["id": .int(mode)], "stringValue": .string("mode\(i % 3)")],
                    ],
                ]
            ]
        }
        let request: JSON = [
            "jsonrpc": "2.0", "id": 1, "method": "createMany",
            "params": ["sessionId": .string(session), "entities": .array(entities)],
        ]
        let reply = try JSON(parsing: await service.handle(request.serializedBytes, context: context)!)
        guard reply["result"] != nil else { throw BenchmarkError("createMany failed: \(reply)") }
        start += n
    }
}

/// Writes the same datafiles as an XML data file, as icatdump would (parameters nested, dataset by key).
func writeDataFile(_ datasetName: String, to path: String) throws {
    FileManager.default.createFile(atPath: path, contents: nil)
    let handle = FileHandle(forWritingAtPath: path)!
    defer { try? handle.close() }
    let dataset = "Dataset_investigation-(facility-(name-BENCH)_name-bench_visitId-1)_name-\(datasetName)"
    let temperatureLabel = "ParameterType_facility-(name-BENCH)_name-temperature_units-K"
    let modeLabel = "ParameterType_facility-(name-BENCH)_name-mode_units-N=2FA"
    var text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<icatdata>\n<data>\n"
    for i in 0..<count {
        text += """
              <datafile>
                <fileSize>1024</fileSize>
                <location>/data/f\(i).nxs</location>
                <name>f\(i).nxs</name>
                <dataset ref="\(dataset)"/>
                <parameters>
                  <numericValue>\(Double(i % 300) + 0.5)</numericValue>
                  <type ref="\(temperatureLabel)"/>
                </parameters>
                <parameters>
                  <stringValue>mode\(i % 3)</stringValue>
                  <type ref="\(modeLabel)"/>
                </parameters>
              </datafile>

            """
        if i % perBatch == perBatch - 1 { text += "</data>\n<data>\n" }
        if text.utf8.count > 1 << 20 {
            handle.write(Data(text.utf8))
            text = ""
        }
    }
    text += "</data>\n</icatdata>\n"
    handle.write(Data(text.utf8))
}

func importData(_ path: String) async throws {
    let summary = try await catalog.importData(sessionId: session, format: .xml, source: .file(path: path))
    guard summary.created == 3 * count else { throw BenchmarkError("import created \(summary.created)") }
}

print("ingest benchmark on PostgreSQL: \(count) datafiles with 2 parameters each, \(options.rounds) rounds")
// The first round warms up every path; each round is printed and the best rate of each path compared.
var best: [String: Double] = [:]
for round in 1...options.rounds {
    let copyTime = try await seconds { try await copyDirectly(try await dataset("copy\(round)")) }
    let manyTime = try await seconds { try await createMany(try await dataset("many\(round)")) }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("icat-bench-\(round).xml").path
    _ = try await dataset("import\(round)")
    try writeDataFile("import\(round)", to: path)
    let importTime = try await seconds { try await importData(path) }
    try? FileManager.default.removeItem(atPath: path)
    for (name, time) in [("COPY", copyTime), ("createMany", manyTime), ("importData", importTime)] {
        let rate = Double(count) / time
        best[name] = max(best[name] ?? 0, rate)
        let label = name.padding(toLength: 11, withPad: " ", startingAt: 0)
        print("round \(round)  \(label)" + String(format: "%10.0f datafiles/s  (%.2f s)", rate, time))
    }
}
let copyRate = best["COPY"]!
print(
    String(
        format: "best: COPY %.0f/s, createMany %.0f/s, importData %.0f/s",
        copyRate,
        best["createMany"]!,
        best["importData"]!
    )
)
print(
    String(
        format: "ratio createMany/COPY %.2f   importData/COPY %.2f   (target >= 0.5)",
        best["createMany"]! / copyRate,
        best["importData"]! / copyRate
    )
)
running.cancel()
await running.value
