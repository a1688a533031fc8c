import ArgumentParser

/// The `icat` command: the server and its tools.
@main
struct ICAT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "icat",
        abstract: "An ICAT-compatible scientific metadata catalog.",
        subcommands: [Serve.self, Import.self, Export.self, Rules.self, Migrations.self, HashPassword.self],
        defaultSubcommand: Serve.self
    )
}
