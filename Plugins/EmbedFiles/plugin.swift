import Foundation
import PackagePlugin

/// Compiles the package files a target lists in its `embedded-files` (paths relative to the package root, one a
/// line; a directory stands for every file under it) into the target as Swift source, so that `Schema/` and
/// `Migrations/` stay the single source and the built binary needs no files beside it.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        guard let target = target as? SourceModuleTarget else { return [] }
        let list = target.directoryURL.appending(path: "embedded-files")
        let root = context.package.directoryURL
        let entries = try String(contentsOf: list, encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        var files: [(name: String, url: URL)] = []
        for entry in entries {
            let url = root.appending(path: entry)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw PluginError("\(entry), listed in \(target.name)/embedded-files, does not exist")
            }
            if isDirectory.boolValue {
                let enumerator = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)
                while let file = enumerator?.nextObject() as? URL {
                    if (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true {
                        files.append((String(file.path.dropFirst(root.path.count + 1)), file))
                    }
                }
            } else {
                files.append((entry, url))
            }
        }
        files.sort { $0.name < $1.name }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedFiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) files into \(target.name)",
                executable: try context.tool(named: "embed-files").url,
                arguments: [output.path] + files.flatMap { [$0.name, $0.url.path] },
                inputFiles: files.map(\.url) + [list],
                outputFiles: [output]
            )
        ]
    }
}

struct PluginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
