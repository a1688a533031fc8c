#!/usr/bin/env bash
# The project's test command (used by CI via .ci/run).
#
#   Tools/test.sh [swift test arguments...]     e.g. Tools/test.sh --filter Query
#
# 1. installs missing system packages (PostgreSQL 15, SQLite, libxml2) via apt;
# 2. lints with the toolchain's `swift format` (config: .swift-format);
# 3. starts a throwaway PostgreSQL cluster (Tools/pg-test-cluster.sh) and an S3 API
#    server (Tools/s3-test-server.sh), stopped again on exit;
# 4. runs `swift test` with ICAT_TEST_POSTGRES_URL and ICAT_TEST_S3_URL pointing at them;
# 5. runs the end-to-end checks of the built server (Tools/e2e.sh);
# 6. fuzzes the query language briefly (Tools/fuzz-query.sh, ICAT_TEST_FUZZ_SECONDS, default 30; 0 skips);
#    and exits non-zero if anything failed, after one "N passed, N failed" line.
#
# Environment:
#   ICAT_TEST_SKIP_LINT=1   skip the lint step (local iteration only).
#   ICAT_TEST_KEEP_PG=1     leave the PostgreSQL cluster running afterwards.
#   ICAT_TEST_PG_PORT       see Tools/pg-test-cluster.sh.
#   ICAT_TEST_S3_PORT       see Tools/s3-test-server.sh.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"

log() { echo "==> $*" >&2; }

# --- 1. System packages and toolchain ----------------------------------------
source Tools/setup.sh
icat_install_packages test

# --- 2. Lint ------------------------------------------------------------------
if [[ "${ICAT_TEST_SKIP_LINT:-}" == 1 ]]; then
    log "skipping lint (ICAT_TEST_SKIP_LINT=1)"
else
    log "swift format lint"
    if ! swift format lint --strict --recursive Sources Tests Tools/Benchmarks Tools/QueryBenchmark Tools/IngestBenchmark Tools/ProvenanceBenchmark Tools/QueryFuzzer Plugins; then
        echo "error: lint failed; fix with: swift format format -i --recursive Sources Tests Tools/Benchmarks Tools/QueryBenchmark Tools/IngestBenchmark Tools/ProvenanceBenchmark Tools/QueryFuzzer Plugins" >&2
        exit 1
    fi
fi

# --- 3. PostgreSQL ------------------------------------------------------------
stop_cluster() {
    local rc=$?
    trap - EXIT
    if [[ "${started_s3:-0}" == 1 ]]; then Tools/s3-test-server.sh stop || true; fi
    if [[ "${ICAT_TEST_KEEP_PG:-}" == 1 || "${started_cluster:-0}" == 0 ]]; then
        log "leaving PostgreSQL running (it was running before, or ICAT_TEST_KEEP_PG=1)"
    else
        Tools/pg-test-cluster.sh stop || true
    fi
    exit "$rc"
}
trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

log "starting PostgreSQL test cluster"
# A cluster that was already running (another run in this checkout) is used and left running.
started_cluster=1
Tools/pg-test-cluster.sh status >/dev/null 2>&1 && started_cluster=0
ICAT_TEST_POSTGRES_URL="$(Tools/pg-test-cluster.sh start | tail -n 1)"
[[ "$ICAT_TEST_POSTGRES_URL" == postgres://* ]] || {
    echo "error: unexpected output from Tools/pg-test-cluster.sh start: $ICAT_TEST_POSTGRES_URL" >&2
    exit 1
}
export ICAT_TEST_POSTGRES_URL
log "ICAT_TEST_POSTGRES_URL=$ICAT_TEST_POSTGRES_URL"

# The S3 object store's tests need an S3 API server: moto_server, checking signatures. Without moto, this fails.
log "starting the S3 test server"
started_s3=1
Tools/s3-test-server.sh status >/dev/null 2>&1 && started_s3=0
ICAT_TEST_S3_URL="$(Tools/s3-test-server.sh start | tail -n 1)"
[[ "$ICAT_TEST_S3_URL" == http://* ]] || {
    echo "error: unexpected output from Tools/s3-test-server.sh start" >&2
    exit 1
}
export ICAT_TEST_S3_URL

# --- 4. Tests -----------------------------------------------------------------
# python-icat's published example data files, imported by the tests as real-world inputs (from PyPI, once).
log "fetching python-icat's example data files (Tools/fetch-examples.sh)"
ICAT_TEST_EXAMPLES="$(Tools/fetch-examples.sh | tail -n 1)"
export ICAT_TEST_EXAMPLES
log "swift test $*"
# Swift Testing's summary counts tests but XCTest's (which runs none here) closes the output; end with one plain
# "N passed, N failed" line so that a reader, or CI, sees the count of the tests that ran.
output_log="$(mktemp)"
set +e
swift test "$@" 2>&1 | tee "$output_log"
rc=${PIPESTATUS[0]}
set -e
total="$(sed -n 's/.*Test run with \([0-9][0-9]*\) tests\{0,1\} .*/\1/p' "$output_log" | tail -n 1)"
failed="$(grep -cE '^✘ Test [^ ]+\(.*\) (with [0-9]+ test cases )?failed after' "$output_log" || true)"
rm -f "$output_log"
passed=$(( ${total:-0} - failed ))

# --- 5. End to end ------------------------------------------------------------
# The built server as a client meets it, on both databases: Tools/rpc-smoke.py over HTTP, graceful SIGTERM,
# request ids in the log. `swift test` has built .build/debug/icat.
log "end-to-end checks (Tools/e2e.sh)"
e2e_log="$(mktemp)"
set +e
Tools/e2e.sh 2>&1 | tee "$e2e_log"
e2e_rc=${PIPESTATUS[0]}
set -e
e2e_summary="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$e2e_log" | tail -n 1)"
rm -f "$e2e_log"
if [[ -n "$e2e_summary" ]]; then
    passed=$(( passed + ${e2e_summary%% passed*} ))
    e2e_failed="${e2e_summary#*passed, }"
    failed=$(( failed + ${e2e_failed%% failed} ))
elif (( e2e_rc != 0 )); then
    failed=$(( failed + 1 ))
fi
# --- 6. Fuzzing, briefly -------------------------------------------------------
# The query language's libFuzzer target (Tools/fuzz-query.sh): a short run on every test run; longer runs by hand.
fuzz_seconds="${ICAT_TEST_FUZZ_SECONDS:-30}"
if ((fuzz_seconds > 0)); then
    log "fuzzing the query language for ${fuzz_seconds}s (Tools/fuzz-query.sh)"
    if Tools/fuzz-query.sh "$fuzz_seconds" >&2; then
        passed=$((passed + 1))
        echo "ok   query fuzzer: no crash in ${fuzz_seconds}s"
    else
        failed=$((failed + 1))
        echo "FAIL query fuzzer: see the output above"
    fi
fi

# Stop the servers now, so that the summary is the last line of the output (the exit trap then has nothing to do).
if [[ "$started_s3" == 1 ]]; then Tools/s3-test-server.sh stop >&2 || true; fi
if [[ "${ICAT_TEST_KEEP_PG:-}" != 1 && "$started_cluster" == 1 ]]; then
    Tools/pg-test-cluster.sh stop >&2 || true
fi
trap - EXIT
echo "$passed passed, $failed failed"
(( rc != 0 )) && exit "$rc"
(( e2e_rc != 0 )) && exit "$e2e_rc"
(( failed != 0 )) && exit 1
exit 0
