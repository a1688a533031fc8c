#!/usr/bin/env bash
# The query benchmark (release build) on a fresh database of the throwaway PostgreSQL cluster: generates a catalog
# of 1,000,000 datafiles with set-based SQL, then prints, for typical ICAT queries, the compile time and the rate
# of Catalog.search next to hand-written SQL through the same driver, with their ratios. Prints figures only.
#   Tools/bench-query.sh [--datafiles N] [--seconds S] [--concurrency N] [--compilations N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

swift build -c release --product icat-query-benchmark
started_cluster=1
Tools/pg-test-cluster.sh status >/dev/null 2>&1 && started_cluster=0
url="$(Tools/pg-test-cluster.sh start | tail -n 1)"
database="icat_query_bench_$$"
cleanup() {
    psql "${url%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    [[ "$started_cluster" == 1 ]] && Tools/pg-test-cluster.sh stop || true
}
trap cleanup EXIT
psql "${url%/*}/postgres" -q -c "CREATE DATABASE $database"
.build/release/icat-query-benchmark --postgres "${url%/*}/$database" "$@"
