#!/usr/bin/env bash
# Builds a benchmark executable (release) and runs it with `--postgres URL` on a fresh database of the throwaway
# PostgreSQL cluster, which it starts if needed; drops the database (and stops a cluster it started) afterwards.
# The bench-*.sh scripts call it.
#   Tools/bench-on-postgres.sh PRODUCT [benchmark arguments]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

product="$1"
shift
swift build -c release --product "$product"
started_cluster=1
Tools/pg-test-cluster.sh status >/dev/null 2>&1 && started_cluster=0
url="$(Tools/pg-test-cluster.sh start | tail -n 1)"
database="bench_${product//-/_}_$$"
cleanup() {
    psql "${url%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    [[ "$started_cluster" == 1 ]] && Tools/pg-test-cluster.sh stop || true
}
trap cleanup EXIT
psql "${url%/*}/postgres" -q -c "CREATE DATABASE $database"
".build/release/$product" --postgres "${url%/*}/$database" "$@"
