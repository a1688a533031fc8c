import Catalog
import CatalogQuery
import JSONValue

/// The data a job run read or wrote.
public struct JobData: Sendable, Equatable {
    public var datasetIds: [Int64]
    public var datafileIds: [Int64]

    public init(datasetIds: [Int64] = [], datafileIds: [Int64] = []) {
        self.datasetIds = datasetIds
        self.datafileIds = datafileIds
    }

    var isEmpty: Bool { datasetIds.isEmpty && datafileIds.isEmpty }

    /// A new DataCollection holding the data.
    var collection: JSON {
        [
            "DataCollection": [
                "dataCollectionDatasets": .array(datasetIds.map { ["dataset": ["id": .int($0)]] }),
                "dataCollectionDatafiles": .array(datafileIds.map { ["datafile": ["id": .int($0)]] }),
            ]
        ]
    }
}

extension Provenance {
    /// Records one run of an application, all or nothing, with the caller's CREATE rules: the Application (found by
    /// name and version in the facility of the first input's investigation, or the first output's; created when
    /// missing), a DataCollection of the inputs and one of the outputs, and the Job between them (ICAT 4.3's
    /// collection form). Returns the Job's id.
    public func record(
        sessionId: String,
        application: String,
        version: String,
        arguments: String?,
        inputs: JobData,
        outputs: JobData
    ) async throws(CatalogError) -> Int64 {
        guard !application.isEmpty else { throw CatalogError(.badParameter, "application.name must not be empty") }
        guard !(inputs.isEmpty && outputs.isEmpty) else {
            throw CatalogError(.badParameter, "A job run needs at least one input or output dataset or datafile")
        }
        return try await catalog.withWrites(sessionId: sessionId) { writes in
            let facility = try await Self.facility(of: inputs.isEmpty ? outputs : inputs, writes)
            let found = try await writes.search(
                """
                SELECT a.id FROM Application a WHERE a.name = \(Self.literal(application)) \
                AND a.version = \(Self.literal(version)) AND a.facility.id = \(facility)
                """
            )
            let applicationId: Int64
            if let id = found.arrayValue?.first?.int64Value {
                applicationId = id
            } else {
                applicationId = try await writes.create(
                    [
                        "Application": [
                            "name": .string(application), "version": .string(version),
                            "facility": ["id": .int(facility)],
                        ]
                    ]
                )
            }
            var job: [String: JSON] = ["application": ["id": .int(applicationId)]]
            if let arguments { job["arguments"] = .string(arguments) }
            if !inputs.isEmpty { job["inputDataCollection"] = ["id": .int(try await writes.create(inputs.collection))] }
            if !outputs.isEmpty {
                job["outputDataCollection"] = ["id": .int(try await writes.create(outputs.collection))]
            }
            return try await writes.create(["Job": .object(job)])
        }
    }

    /// The facility of the first dataset (else datafile) of `data`, which the caller must be able to read.
    static func facility(of data: JobData, _ writes: CatalogWrites) async throws -> Int64 {
        let query: String
        if let dataset = data.datasetIds.first {
            query = "SELECT ds.investigation.facility.id FROM Dataset ds WHERE ds.id = \(dataset)"
        } else {
            query = "SELECT df.dataset.investigation.facility.id FROM Datafile df WHERE df.id = \(data.datafileIds[0])"
        }
        guard let id = try await writes.search(query).arrayValue?.first?.int64Value else {
            throw CatalogError(
                .noSuchObjectFound,
                "The first input (or output) of the job run is not a dataset or datafile the caller may read"
            )
        }
        return id
    }

    /// A string literal of the query language: quoted, with its quotes doubled.
    static func literal(_ text: String) -> String {
        // Per Unicode scalar, as the query language's lexer reads it.
        var out = "'"
        for scalar in text.unicodeScalars {
            if scalar == "'" { out += "''" } else { out.unicodeScalars.append(scalar) }
        }
        return out + "'"
    }
}
