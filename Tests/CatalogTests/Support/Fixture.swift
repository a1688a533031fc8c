import Catalog
import CatalogSQL
import CatalogStore
import JSONValue

/// A small catalog to work on: a facility with its types, an investigation, a dataset with two files, and a
/// numeric and a string parameter type (both enforced).
struct Fixture {
    let catalog: Catalog
    let root: String
    let facility: Int64
    let investigationType: Int64
    let datasetType: Int64
    let temperature: Int64
    let mode: Int64
    let investigation: Int64
    let dataset: Int64

    static func make(_ catalog: Catalog) async throws -> Fixture {
        let root = try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "secret"])
        let facility = try await catalog.create(
            sessionId: root,
            entity: [
                "Facility": [
                    "name": "ISIS", "fullName": "ISIS Neutron and Muon Source",
                    "investigationTypes": [["name": "experiment"]],
                    "datasetTypes": [["name": "raw"]],
                    "parameterTypes": [
                        [
                            "name": "temperature", "units": "K", "valueType": "NUMERIC", "applicableToDataset": true,
                            "applicableToDatafile": true, "enforced": true, "minimumNumericValue": 0.0,
                            "maximumNumericValue": 400.0,
                        ],
                        [
                            "name": "mode", "units": "N/A", "valueType": "STRING", "applicableToDataset": true,
                            "enforced": true,
                            "permissibleStringValues": [["value": "fast"], ["value": "slow"]],
                        ],
                    ],
                ]
            ]
        )
        let types = try await catalog.get(
            sessionId: root,
            query: "Facility f INCLUDE f.investigationTypes, f.datasetTypes, f.parameterTypes",
            id: facility
        )
        let body = types["Facility"]!
        func id(_ relation: String, named name: String) -> Int64 {
            body[relation]!.arrayValue!.first { $0["name"] == .string(name) }!["id"]!.int64Value!
        }
        let investigationType = id("investigationTypes", named: "experiment")
        let datasetType = id("datasetTypes", named: "raw")
        let investigation = try await catalog.create(
            sessionId: root,
            entity: [
                "Investigation": [
                    "name": "INV-1", "visitId": "1.1-N", "title": "Structure of water",
                    "facility": ["id": .int(facility)], "type": ["id": .int(investigationType)],
                    "datasets": [
                        [
                            "name": "run-1", "type": ["id": .int(datasetType)],
                            "datafiles": [["name": "a.nxs", "fileSize": 10], ["name": "b.nxs", "fileSize": 20]],
                        ]
                    ],
                ]
            ]
        )
        let investigationJSON = try await catalog.get(
            sessionId: root,
            query: "Investigation i INCLUDE i.datasets",
            id: investigation
        )
        let dataset = investigationJSON["Investigation"]!["datasets"]!.arrayValue![0]["id"]!.int64Value!
        return Fixture(
            catalog: catalog,
            root: root,
            facility: facility,
            investigationType: investigationType,
            datasetType: datasetType,
            temperature: id("parameterTypes", named: "temperature"),
            mode: id("parameterTypes", named: "mode"),
            investigation: investigation,
            dataset: dataset
        )
    }

    /// How many objects of `entity` are stored, counted in SQL.
    func count(_ entity: String) async throws -> Int {
        try await catalog.count(entity)
    }

    func login(_ user: String, _ password: String) async throws -> String {
        try await catalog.login(
            plugin: "simple",
            credentials: ["username": .string(user), "password": .string(password)]
        )
    }
}

extension JSON {
    /// `{"Datafile": {...}}` for a datafile in `dataset`.
    static func datafile(_ name: String, dataset: Int64) -> JSON {
        ["Datafile": ["name": .string(name), "dataset": ["id": .int(dataset)]]]
    }
}

extension Catalog {
    /// How many objects of `entity` are stored, counted in SQL.
    func count(_ entity: String) async throws -> Int {
        let table = model.entity(named: entity)!.table
        let rows = try await database.withConnection { connection in
            try await connection.query(
                ("SELECT COUNT(*) FROM \(identifier: table)" as SQLFragment).statement(connection.dialect)
            )
        }
        return Int(rows[0][0].int64Value!)
    }
}
