import ArgumentParser
import CatalogRuleSets
import Foundation

/// `icat rules load FILE`: loads an authorization rule set into a running catalog, as a root user.
struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage authorization rule sets (see Rules/).",
        subcommands: [Load.self]
    )

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a rule set; what the catalog has already is left as it is, so loading twice is harmless."
        )

        @Argument(help: "The rule-set file (YAML).")
        var file: String

        @OptionGroup var server: ServerOptions

        func run() async throws {
            let ruleSet = try RuleSet(contentsOf: URL(fileURLWithPath: file))
            let client = try await CatalogClient.login(server)
            let summary = try await RuleSetLoader(target: client).load(ruleSet)
            print("\(file): \(summary)")
        }
    }
}
