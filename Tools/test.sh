#!/usr/bin/env bash
# The project's test command (used by CI via .ci/run).
#
#   Tools/test.sh [swift test arguments...]     e.g. Tools/test.sh --filter Query
#
# 1. installs missing system packages (PostgreSQL 15, SQLite, libxml2) via apt;
# 2. lints with the toolchain's `swift format` (config: .swift-format);
# 3. starts a throwaway PostgreSQL cluster (Tools/pg-test-cluster.sh), stopped
#    again on exit;
# 4. runs `swift test` with ICAT_TEST_POSTGRES_URL pointing at it, and exits
#    with its status.
#
# Environment:
#   ICAT_TEST_SKIP_LINT=1   skip the lint step (local iteration only).
#   ICAT_TEST_KEEP_PG=1     leave the PostgreSQL cluster running afterwards.
#   ICAT_TEST_PG_PORT       see Tools/pg-test-cluster.sh.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"

log() { echo "==> $*" >&2; }

# The toolchain lives in /opt/swift here; make it work without PATH setup.
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

# --- 1. System packages -------------------------------------------------------
readonly REQUIRED_PACKAGES=(postgresql-15 libsqlite3-dev libxml2-dev sqlite3)

install_missing_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        log "no dpkg/apt; not installing ${REQUIRED_PACKAGES[*]} (make sure they are present)"
        return 0
    fi
    local missing=() pkg
    for pkg in "${REQUIRED_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]} == 0)) && return 0

    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: missing packages ${missing[*]}, and not root and no sudo to install them" >&2
            exit 1
        fi
    fi
    log "installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_missing_packages

# --- 2. Lint ------------------------------------------------------------------
if [[ "${ICAT_TEST_SKIP_LINT:-}" == 1 ]]; then
    log "skipping lint (ICAT_TEST_SKIP_LINT=1)"
else
    log "swift format lint"
    if ! swift format lint --strict --recursive Sources Tests Tools/Benchmarks Plugins; then
        echo "error: lint failed; fix with: swift format format -i --recursive Sources Tests Tools/Benchmarks Plugins" >&2
        exit 1
    fi
fi

# --- 3. PostgreSQL ------------------------------------------------------------
stop_cluster() {
    local rc=$?
    trap - EXIT
    if [[ "${ICAT_TEST_KEEP_PG:-}" == 1 ]]; then
        log "leaving PostgreSQL running (ICAT_TEST_KEEP_PG=1); stop with Tools/pg-test-cluster.sh stop"
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
ICAT_TEST_POSTGRES_URL="$(Tools/pg-test-cluster.sh start | tail -n 1)"
[[ "$ICAT_TEST_POSTGRES_URL" == postgres://* ]] || {
    echo "error: unexpected output from Tools/pg-test-cluster.sh start: $ICAT_TEST_POSTGRES_URL" >&2
    exit 1
}
export ICAT_TEST_POSTGRES_URL
log "ICAT_TEST_POSTGRES_URL=$ICAT_TEST_POSTGRES_URL"

# --- 4. Tests -----------------------------------------------------------------
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
if [[ -n "$total" ]]; then
    echo "$((total - failed)) passed, $failed failed"
fi
exit "$rc"
