import Catalog
import CatalogRPC
import CatalogSQL
import CatalogStore
import Foundation
import JSONRPC
import JSONValue
import Logging

// Catalog core benchmark: the rate of `create` (one datafile a call) and `createMany` (1000 datafiles a call),
// through the JSON-RPC service (request bytes in, response bytes out; no HTTP), next to the same inserts done
// directly through the driver in the same run, on each database given. It prints figures; it asserts nothing.
//
//   icat-benchmark [--postgres URL] [--creates N] [--batches N]
//
// URL names a PostgreSQL database the benchmark may fill (Tools/bench-core.sh makes a fresh one).

struct Options {
    var postgres: String?
    var creates = 2000
    var batches = 10

    init(_ arguments: [String]) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--postgres": postgres = iterator.next()
            case "--creates": creates = iterator.next().flatMap(Int.init) ?? creates
            case "--batches": batches = iterator.next().flatMap(Int.init) ?? batches
            default:
                print("unknown argument \(argument)")
                exit(2)
            }
        }
    }
}

struct Row {
    let database: String
    let operation: String
    let catalogRate: Double
    let driverRate: Double
}

/// The seconds `body` takes.
func time(_ body: () async throws -> Void) async rethrows -> Double {
    let clock = ContinuousClock()
    let elapsed = try await clock.measure { try await body() }
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

func benchmark(database: any Database, name: String, options: Options, logger: Logger) async throws -> [Row] {
    try await Migrator.bundled(for: database.dialect).migrate(database, logger: logger)
    let catalog = Catalog(database: database, configuration: .development, logger: logger)
    let service = CatalogService.make(catalog: catalog)
    let context = RPCRequestContext(logger: logger)
    let session = try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])

    func call(_ method: String, _ params: JSON) async throws -> JSON {
        let request: JSON = ["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": params]
        let reply = try JSON(parsing: await service.handle(request.serializedBytes, context: context)!)
        guard let result = reply["result"] else { throw BenchmarkError("\(method) failed: \(reply)") }
        return result
    }

    let facility = try await call(
        "create",
        [
            "sessionId": .string(session),
            "entity": [
                "Facility": ["name": "BENCH", "investigationTypes": [["name": "e"]], "datasetTypes": [["name": "r"]]]
            ],
        ]
    ).int64Value!
    let types = try await catalog.get(
        sessionId: session,
        query: "Facility f INCLUDE f.investigationTypes, f.datasetTypes",
        id: facility
    )
    let investigationType = types["Facility"]!["investigationTypes"]!.arrayValue![0]["id"]!
    let datasetType = types["Facility"]!["datasetTypes"]!.arrayValue![0]["id"]!
    let investigation = try await call(
        "create",
        [
            "sessionId": .string(session),
            "entity": [
                "Investigation": [
                    "name": "bench", "visitId": "1", "title": "benchmark", "facility": ["id": .int(facility)],
                    "type": ["id": investigationType],
                ]
            ],
        ]
    ).int64Value!
    func dataset(_ name: String) async throws -> Int64 {
        try await call(
            "create",
            [
                "sessionId": .string(session),
                "entity": [
                    "Dataset": [
                        "name": .string(name), "investigation": ["id": .int(investigation)],
                        "type": ["id": datasetType],
                    ]
                ],
            ]
        ).int64Value!
    }
    func datafile(_ name: String, _ dataset: Int64) -> JSON {
        [
            "Datafile": [
                "name": .string(name), "location": .string("/data/\(name)"), "fileSize": 1024,
                "dataset": ["id": .int(dataset)],
            ]
        ]
    }
    let dialect = database.dialect
    @Sendable func directInsert(_ name: String, _ dataset: Int64, on connection: any DatabaseConnection) async throws {
        let now = Date()
        let root = "simple/root"
        let insert: SQLFragment = """
            INSERT INTO "datafile" ("create_id", "create_time", "mod_id", "mod_time", "name", "location", \
            "file_size", "dataset_id") VALUES (\(root), \(now), \(root), \(now), \(name), \
            \("/data/\(name)"), \(Int64(1024)), \(dataset)) RETURNING "id"
            """
        _ = try await connection.query(insert.statement(dialect))
    }

    var rows: [Row] = []
    // Warm up both paths (prepared statement caches, connection pools).
    let warm = try await dataset("warm")
    for i in 0..<50 {
        _ = try await call("create", ["sessionId": .string(session), "entity": datafile("w\(i)", warm)])
        try await database.withTransaction { connection in try await directInsert("v\(i)", warm, on: connection) }
    }

    let single = try await dataset("single")
    let singleDirect = try await dataset("single-direct")
    let creates = options.creates
    let catalogCreate = try await time {
        for i in 0..<creates {
            _ = try await call("create", ["sessionId": .string(session), "entity": datafile("c\(i)", single)])
        }
    }
    let driverCreate = try await time {
        for i in 0..<creates {
            try await database.withTransaction { connection in
                try await directInsert("d\(i)", singleDirect, on: connection)
            }
        }
    }
    rows.append(
        Row(
            database: name,
            operation: "create (1 datafile)",
            catalogRate: Double(creates) / catalogCreate,
            driverRate: Double(creates) / driverCreate
        )
    )

    let batches = options.batches
    var catalogBatch = 0.0
    var driverBatch = 0.0
    for batch in 0..<batches {
        let target = try await dataset("batch-\(batch)")
        let direct = try await dataset("batch-direct-\(batch)")
        let entities = JSON.array((0..<1000).map { datafile("m\($0)", target) })
        catalogBatch += try await time {
            _ = try await call("createMany", ["sessionId": .string(session), "entities": entities])
        }
        driverBatch += try await time {
            try await database.withTransaction { connection in
                for i in 0..<1000 { try await directInsert("n\(i)", direct, on: connection) }
            }
        }
    }
    let files = Double(batches * 1000)
    rows.append(
        Row(
            database: name,
            operation: "createMany (1000 datafiles)",
            catalogRate: files / catalogBatch,
            driverRate: files / driverBatch
        )
    )
    return rows
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

var logger = Logger(label: "benchmark")
logger.logLevel = .warning
let options = Options(Array(CommandLine.arguments.dropFirst()))
var rows: [Row] = []

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("icat-bench-\(UUID().uuidString)")
let sqlite = try SQLiteDatabase(path: directory.appendingPathComponent("catalog.sqlite").path, logger: logger)
rows += try await sqlite.withRunning {
    try await benchmark(database: sqlite, name: "sqlite", options: options, logger: logger)
}
try? FileManager.default.removeItem(at: directory)

if let url = options.postgres {
    let postgres = try await PostgresDatabase(url: url, logger: logger)
    rows += try await postgres.withRunning {
        try await benchmark(database: postgres, name: "postgresql", options: options, logger: logger)
    }
} else {
    print("(no --postgres URL: PostgreSQL skipped)")
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
print(
    pad("database", 12) + pad("operation", 30) + pad("catalog datafiles/s", 22) + pad("driver datafiles/s", 21)
        + "ratio"
)
for row in rows {
    print(
        pad(row.database, 12) + pad(row.operation, 30) + pad(String(format: "%.0f", row.catalogRate), 22)
            + pad(String(format: "%.0f", row.driverRate), 21) + String(format: "%.2f", row.catalogRate / row.driverRate)
    )
}
