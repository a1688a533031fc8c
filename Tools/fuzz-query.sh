#!/usr/bin/env bash
# Fuzzes the ICAT query language (tokenizer, parser, parseGet/resolveGet, compiler for PostgreSQL and SQLite) with
# libFuzzer and AddressSanitizer, through the executable target icat-query-fuzzer (Tools/QueryFuzzer/).
#
#   Tools/fuzz-query.sh [SECONDS] [-- LIBFUZZER_OPTIONS...]      SECONDS defaults to 60
#   e.g. Tools/fuzz-query.sh 600 -- -max_len=8192 -jobs=2 -workers=2
#
# Builds into .build-fuzz/ (its own scratch path, git-ignored, with its own copy of the dependencies), copies the
# seed corpus Tools/QueryFuzzer/corpus/ into .build-fuzz/corpus/ (where the inputs libFuzzer finds accumulate
# from run to run; nothing is written into the repository) and runs the fuzzer there. Exits non-zero when
# libFuzzer reports a crash, a failed check, a timeout (-timeout=5), a leak or running out of memory, and prints
# the path of each input that caused one (under .build-fuzz/artifacts/). Past the first failure:
#   Tools/fuzz-query.sh 600 -- -fork=2 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
#
# What is checked: Tools/QueryFuzzer/QueryChecks.swift (and SQLiteOracle.swift, needing libsqlite3.so.0).
# Replay an input:      .build-fuzz/debug/icat-query-fuzzer FILE    (with the environment this script exports)
# Minimise a crash:     .build-fuzz/debug/icat-query-fuzzer -minimize_crash=1 -runs=100000 FILE
# Without libFuzzer:    swift run icat-query-fuzzer [--sql] FILE|DIRECTORY...  (the same checks, plain build)
# The release build:    ICAT_FUZZ_CONFIGURATION=release Tools/fuzz-query.sh 600   (optimized code, as the server
#                       runs: its stack frames and inlining differ from the debug build's)
#
# An input `*N` newline prefix newline unit newline suffix is expanded to the unit repeated N times between prefix
# and suffix (QueryChecks.expandingChain): the corpus's chain-* seeds reach chains of up to 4,000 terms
# (QueryChecks.maximumChainLength; Tests/CatalogTests/HostileQueryTests.swift sends 100,000 to the server).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"
source Tools/setup.sh # the toolchain on PATH
icat_install_packages server # libsqlite3 for the SQLite oracle (SQLiteOracle.swift)

seconds=60
if [[ $# -gt 0 && "$1" != "--" ]]; then
    seconds="$1"
    shift
fi
[[ "${1:-}" == "--" ]] && shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    echo "usage: Tools/fuzz-query.sh [SECONDS] [-- LIBFUZZER_OPTIONS...]" >&2
    exit 64
fi

scratch=.build-fuzz
configuration="${ICAT_FUZZ_CONFIGURATION:-debug}"
[[ "$configuration" == debug || "$configuration" == release ]] || {
    echo "error: ICAT_FUZZ_CONFIGURATION must be debug or release" >&2
    exit 64
}
log() { echo "==> $*" >&2; }

log "building icat-query-fuzzer with -sanitize=fuzzer,address into $scratch/"
started=$SECONDS
# -sanitize=fuzzer links libFuzzer (its main, which calls LLVMFuzzerTestOneInput) into every executable of the
# build, the EmbedFiles plugin's tool too. SwiftPM points `main` at each target's own entry point (--defsym), so
# those tools still run as themselves; they only need some LLVMFuzzerTestOneInput to link, which this weak stub
# gives them. The fuzzer's own strong definition (Tools/QueryFuzzer/Fuzz.swift) wins over it.
stub="$REPO_ROOT/$scratch/libfuzzer-stub/weak-entry.o"
mkdir -p "$(dirname "$stub")"
clang="$(dirname "$(command -v swift)")/clang"
[[ -x "$clang" ]] || clang=clang
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
    '__attribute__((weak)) int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' |
    "$clang" -x c -c -O1 -o "$stub.tmp" - && mv "$stub.tmp" "$stub"
# The plugin's tool runs during the build with AddressSanitizer in it: no leak report at its exit.
# ld.gold warns about every ASan helper it cannot export ("Cannot export local symbol"): noise, filtered out.
set +e
ASAN_OPTIONS=detect_leaks=0 swift build -c "$configuration" --product icat-query-fuzzer --scratch-path "$scratch" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DICAT_QUERY_FUZZER_LIBFUZZER -Xlinker "$stub" 2>&1 |
    grep -v -e "warning: Cannot export local symbol" -e "^    $REPO_ROOT/Tools/QueryFuzzer/"
build_status=${PIPESTATUS[0]}
set -e
if ((build_status != 0)); then
    echo "error: the fuzzer did not build" >&2
    exit "$build_status"
fi
log "built in $((SECONDS - started)) s"
binary="$scratch/$configuration/icat-query-fuzzer"

corpus="$scratch/corpus"
artifacts="$scratch/artifacts/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$corpus" "$artifacts"
cp Tools/QueryFuzzer/corpus/* "$corpus/"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
# Swift seeds its hashing per process: without this, Dictionary and Set orders (and so coverage) differ between
# runs and a crash may not replay. Swift's own backtracer would get in the way of ASan's and libFuzzer's reports.
export SWIFT_DETERMINISTIC_HASHING=1 SWIFT_BACKTRACE=enable=off
# SQLite (loaded by the fuzzer with dlopen) prepares every SQL the compiler writes for it against the real schema;
# ICAT_QUERY_FUZZER_SQLITE_SCHEMA= (empty) turns that off.
export ICAT_QUERY_FUZZER_SQLITE_SCHEMA="${ICAT_QUERY_FUZZER_SQLITE_SCHEMA-$REPO_ROOT/Migrations/sqlite}"
if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" ]] && command -v llvm-symbolizer >/dev/null 2>&1; then
    export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer)"
fi

log "fuzzing for $seconds s: corpus $corpus ($(ls "$corpus" | wc -l) inputs), artifacts $artifacts/"
set +e
"$binary" \
    -max_total_time="$seconds" -timeout=5 -rss_limit_mb=4096 \
    -dict=Tools/QueryFuzzer/query.dict \
    -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "$@" "$corpus"
status=$?
set -e

found=()
while IFS= read -r -d '' file; do
    found+=("$file")
done < <(find "$artifacts" -type f -print0 | sort -z)
if ((status != 0 || ${#found[@]} > 0)); then
    echo "error: the query fuzzer failed (libFuzzer exit status $status)" >&2
    for file in "${found[@]}"; do
        echo "  input: $file" >&2
    done
    echo "  replay with: $binary FILE" >&2
    exit $((status != 0 ? status : 1))
fi
rmdir "$artifacts" 2>/dev/null || true
log "no crash, failed check, timeout or leak in $seconds s"
