import ArgumentParser
import CatalogSQL
import CatalogSchema
import CatalogStore
import Foundation

/// `icat migrations generate`: writes the SQL of `Schema/icat.yaml` for each database.
struct Migrations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the versioned SQL under Migrations/.",
        subcommands: [Generate.self]
    )

    struct Generate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Regenerate Migrations/<dialect>/0001_initial.sql from a schema file."
        )

        @Option(help: "The schema file.")
        var schema = "Schema/icat.yaml"

        @Option(help: "The migrations directory.")
        var output = "Migrations"

        func run() throws {
            let model = try EntityModel(yaml: String(contentsOfFile: schema, encoding: .utf8))
            for dialect in SQLDialect.allCases {
                let directory = URL(fileURLWithPath: output).appendingPathComponent(dialect.rawValue)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let file = directory.appendingPathComponent(SchemaDDL.initialMigrationFile)
                try SchemaDDL.initialMigration(for: model, dialect: dialect).write(
                    to: file,
                    atomically: true,
                    encoding: .utf8
                )
                print("wrote \(file.path)")
            }
        }
    }
}
