import Foundation

// Two builds of one target:
//
// - the fuzzing build (Tools/fuzz-query.sh: `-sanitize=fuzzer,address -D ICAT_QUERY_FUZZER_LIBFUZZER`) hands the
//   process to libFuzzer, which takes libFuzzer's usual options and corpus directories;
// - the plain build (part of every `swift build`) replays inputs without libFuzzer:
//   `icat-query-fuzzer FILE|DIRECTORY...` runs each file through the same checks, e.g. a reproducer from
//   Tools/QueryFuzzer/crashes-found/. A failed check traps, as it does under libFuzzer. With --sql it also prints
//   what each input compiles to, for each dialect.

#if ICAT_QUERY_FUZZER_LIBFUZZER
exit(runLibFuzzer())
#else
var arguments = Array(CommandLine.arguments.dropFirst())
let printSQL = arguments.contains("--sql")
arguments.removeAll { $0 == "--sql" }
if arguments.isEmpty || arguments.contains("-h") || arguments.contains("--help") {
    print("usage: icat-query-fuzzer [--sql] FILE|DIRECTORY...   (Tools/fuzz-query.sh runs it under libFuzzer)")
    exit(arguments.isEmpty ? 64 : 0)
}
var files: [String] = []
for argument in arguments {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
        FileHandle.standardError.write(Data("icat-query-fuzzer: no such file: \(argument)\n".utf8))
        exit(66)
    }
    if isDirectory.boolValue {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []
        files += names.sorted().map { (argument as NSString).appendingPathComponent($0) }
    } else {
        files.append(argument)
    }
}
for file in files {
    guard let data = FileManager.default.contents(atPath: file) else {
        FileHandle.standardError.write(Data("icat-query-fuzzer: cannot read \(file)\n".utf8))
        exit(66)
    }
    // Unbuffered, so that the file's name is out before a failed check traps.
    FileHandle.standardOutput.write(Data("\(file): ".utf8))
    QueryChecks.check(Array(data))
    FileHandle.standardOutput.write(Data("ok\n".utf8))
    if printSQL, let text = String(validating: Array(data), as: UTF8.self) {
        for compiler in QueryChecks.compilers {
            do {
                let statement = try compiler.compile(
                    text,
                    userName: QueryChecks.userName,
                    maximumRows: QueryChecks.maximumRows
                ).sql.statement(compiler.dialect)
                print("  \(compiler.dialect): \(statement.text)\n    binds: \(statement.binds)")
            } catch {
                print("  \(compiler.dialect): \(error)")
            }
        }
    }
}
print("\(files.count) inputs checked")
#endif
