#!/usr/bin/env bash
# The catalog core benchmark (release build) on SQLite and on a fresh database of the throwaway PostgreSQL
# cluster: create and createMany rates next to direct driver inserts, with their ratios. Prints figures only.
#   Tools/bench-core.sh [--creates N] [--batches N]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

swift build -c release --product icat-benchmark
started_cluster=1
Tools/pg-test-cluster.sh status >/dev/null 2>&1 && started_cluster=0
url="$(Tools/pg-test-cluster.sh start | tail -n 1)"
database="icat_bench_$$"
cleanup() {
    psql "${url%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    [[ "$started_cluster" == 1 ]] && Tools/pg-test-cluster.sh stop || true
}
trap cleanup EXIT
psql "${url%/*}/postgres" -q -c "CREATE DATABASE $database"
.build/release/icat-benchmark --postgres "${url%/*}/$database" "$@"
