import CatalogSQL
import CatalogSchema
import CatalogStore
import Foundation
import JSONValue
import Logging
import Testing

@testable import Catalog

@Suite("The entity model and migrations")
struct ModelTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func theModelHasICATs53EntitiesAndTheFourJobLinks() {
        let model = EntityModel.icat
        #expect(model.entityNames.count == 57)
        for name in [
            "Investigation", "Dataset", "Datafile", "ParameterType", "Rule", "PublicStep", "Subject", "InputDataset",
            "OutputDatafile",
        ] {
            #expect(model.entity(named: name) != nil, "\(name)")
        }
        let link = model.entity(named: "InputDataset")!
        #expect(link.uniqueKeys == [["job", "dataset"]])
    }

    @Test func everyRelationExistsInBothDirections() {
        let model = EntityModel.icat
        for entity in model.entities.values {
            for field in entity.fields {
                switch field.kind {
                case .one(let target):
                    let inverse = model.entity(named: target)!.manyRelations.filter {
                        if case .many(let child, let by, _) = $0.kind {
                            return child == entity.name && by == field.name
                        }
                        return false
                    }
                    #expect(inverse.count == 1, "\(entity.name).\(field.name)")
                case .many(let target, let by, _):
                    #expect(model.entity(named: target)?.field(named: by)?.target == entity.name)
                case .attribute:
                    #expect(!field.comment.isEmpty, "\(entity.name).\(field.name) has no comment")
                }
            }
            #expect(!entity.comment.isEmpty, "\(entity.name) has no comment")
        }
        #expect(model.entity(named: "Investigation")?.field(named: "datasets")?.target == "Dataset")
        #expect(model.entity(named: "Dataset")?.field(named: "investigation")?.target == "Investigation")
    }

    @Test func entityInfoDescribesFieldsAndKeys() throws {
        let catalog = Catalog(
            database: try SQLiteDatabase(path: ":memory:", logger: TestCatalog.logger),
            configuration: TestCatalog.configuration,
            logger: TestCatalog.logger
        )
        let info = try catalog.entityInfo("Dataset")
        #expect(info["classComment"]?.stringValue?.isEmpty == false)
        #expect(info["constraints"] == [["investigation", "name"]])
        let fields = try #require(info["fields"]?.arrayValue)
        let name = try #require(fields.first { $0["name"] == "name" })
        #expect(name["type"] == "String")
        #expect(name["notNullable"] == true)
        #expect(name["stringLength"] == 255)
        #expect(name["relType"] == "ATTRIBUTE")
        #expect(fields.first { $0["name"] == "investigation" }?["relType"] == "ONE")
        #expect(fields.first { $0["name"] == "datafiles" }?["relType"] == "MANY")
        #expect(fields.first { $0["name"] == "datafiles" }?["type"] == "Datafile")
        #expect(throws: CatalogError.self) { try catalog.entityInfo("Nothing") }
        #expect(catalog.entityNames.count == 57)
        let properties = catalog.properties
        #expect(properties["maxEntities"] == 10000)
        #expect(properties["lifetimeMinutes"] == 120)
        let simple = properties["authenticators"]?.arrayValue?.first { $0["mnemonic"] == "simple" }
        #expect(simple?["keys"] == [["name": "username"], ["name": "password", "hide": true]])
    }

    @Test(arguments: SQLDialect.allCases)
    func checkedInMigrationsMatchTheSchema(_ dialect: SQLDialect) throws {
        let schema = try EntityModel(
            yaml: String(contentsOf: Self.repository.appendingPathComponent("Schema/icat.yaml"), encoding: .utf8)
        )
        let file = Self.repository.appendingPathComponent(
            "Migrations/\(dialect.rawValue)/\(SchemaDDL.initialMigrationFile)"
        )
        let checkedIn = try String(contentsOf: file, encoding: .utf8)
        #expect(
            checkedIn == SchemaDDL.initialMigration(for: schema, dialect: dialect),
            "Migrations/\(dialect.rawValue) drifted from Schema/icat.yaml: run `swift run icat migrations generate`"
        )
        #expect(
            EntityModel.bundledSchemaText
                == (try String(contentsOf: Self.repository.appendingPathComponent("Schema/icat.yaml"), encoding: .utf8))
        )
    }

    @Test(arguments: Backend.allCases)
    func migratingTwiceAppliesNothingTheSecondTime(_ backend: Backend) async throws {
        try await TestCatalog.withFreshDatabase(backend) { database in
            let migrator = try Migrator.bundled(for: database.dialect)
            #expect(try await migrator.migrate(database, logger: TestCatalog.logger) == [1, 2, 3])
            #expect(try await migrator.migrate(database, logger: TestCatalog.logger) == [])
        }
    }

    @Test(arguments: Backend.allCases)
    func serversMigratingAtOnceApplyEachMigrationOnce(_ backend: Backend) async throws {
        try await TestCatalog.withFreshDatabase(backend) { database in
            let migrator = try Migrator.bundled(for: database.dialect)
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask { try await migrator.migrate(database, logger: TestCatalog.logger) }
                }
                var all: [Int] = []
                for try await versions in group { all += versions }
                return all
            }
            #expect(applied.sorted() == [1, 2, 3])
        }
    }
}
