import Foundation

/// libFuzzer's entry point: one input, checked by `QueryChecks`. A failed check traps; returning is success.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQueryInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    QueryChecks.check(bytes)
    return 0
}

#if ICAT_QUERY_FUZZER_LIBFUZZER
/// libFuzzer's driver, linked in by `-sanitize=fuzzer`: parses libFuzzer's options from the command line and runs
/// the fuzzing loop, calling back `fuzzQueryInput` for each input.
@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Hands the process to libFuzzer. SwiftPM links an executable target's own `main` in place of libFuzzer's, so
/// `main.swift` calls this in the fuzzing build.
func runLibFuzzer() -> CInt {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    return llvmFuzzerRunDriver(&argc, &argv, fuzzQueryInput)
}
#endif
