#!/usr/bin/env bash
# The authorization benchmark (release build) on a fresh database of the throwaway PostgreSQL cluster: generates
# the query benchmark's catalog (1,000,000 datafiles), adds users, memberships, instrument scientists and released
# investigations, loads Rules/facility.yaml as root, then times a member browsing (investigations, datasets,
# datafiles: a page of 50 and the count) as the member, as root and as hand-written SQL, with ratios.
#   Tools/bench-authz.sh [--datafiles N] [--seconds S] [--explain]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

swift build -c release --product icat-query-benchmark
started_cluster=1
Tools/pg-test-cluster.sh status >/dev/null 2>&1 && started_cluster=0
url="$(Tools/pg-test-cluster.sh start | tail -n 1)"
database="icat_authz_bench_$$"
cleanup() {
    psql "${url%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    [[ "$started_cluster" == 1 ]] && Tools/pg-test-cluster.sh stop || true
}
trap cleanup EXIT
psql "${url%/*}/postgres" -q -c "CREATE DATABASE $database"
.build/release/icat-query-benchmark --postgres "${url%/*}/$database" --authorization "$@"
