#!/usr/bin/env bash
# The ingestion benchmark (release build) on a fresh database of the throwaway PostgreSQL cluster: datafiles with
# two parameters each per second through createMany and importData, next to direct COPY of the same rows, with
# their ratios. Prints figures only.
#   Tools/bench-ingest.sh [--datafiles N] [--rounds R]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

swift build -c release --product icat-ingest-benchmark
started_cluster=1
Tools/pg-test-cluster.sh status >/dev/null 2>&1 && started_cluster=0
url="$(Tools/pg-test-cluster.sh start | tail -n 1)"
database="icat_ingest_$$"
cleanup() {
    psql "${url%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    [[ "$started_cluster" == 1 ]] && Tools/pg-test-cluster.sh stop || true
}
trap cleanup EXIT
psql "${url%/*}/postgres" -q -c "CREATE DATABASE $database"
.build/release/icat-ingest-benchmark --postgres "${url%/*}/$database" "$@"
