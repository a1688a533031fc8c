#!/usr/bin/env bash
# The provenance benchmark (release build) on the throwaway PostgreSQL cluster: generates a provenance graph of
# 1,000,000 datasets (chains, fan-in, fan-out, cycles; both job models; RelatedDatafile) with set-based SQL, loads
# Rules/facility.yaml, then times provenance.graph downstream and upstream at depth 20 from 20 start families as
# root and as a member, next to a hand-written recursive CTE for the same nodes, with medians, p90s and ratios.
# Prints figures only (and EXPLAIN ANALYZE of the slowest walks when a target is missed).
#   Tools/bench-provenance.sh [--datasets N] [--datafiles-per-dataset N] [--starts N] [--runs N] [--depth N]
#                             [--explain] [--reuse]
# Without --reuse it runs on a fresh database, dropped afterwards. With --reuse it keeps the generated database
# (bench_provenance_N, N the datasets) in the cluster and uses it again on the next --reuse run of the same size,
# which saves the generation's minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

reuse=0
datasets=1000000
arguments=("$@")
for ((i = 0; i < ${#arguments[@]}; i++)); do
    case "${arguments[i]}" in
    --reuse) reuse=1 ;;
    --datasets) datasets="${arguments[i + 1]:-$datasets}" ;;
    esac
done
[[ "$reuse" == 1 ]] || exec Tools/bench-on-postgres.sh icat-provenance-benchmark "$@"

[[ "$datasets" =~ ^[0-9]+$ ]] || { echo "--datasets needs a number" >&2; exit 2; }
swift build -c release --product icat-provenance-benchmark
started_cluster=1
Tools/pg-test-cluster.sh status >/dev/null 2>&1 && started_cluster=0
url="$(Tools/pg-test-cluster.sh start | tail -n 1)"
stop() { [[ "$started_cluster" == 1 ]] && Tools/pg-test-cluster.sh stop || true; }
trap stop EXIT
database="bench_provenance_$datasets"
if [[ "$(psql "${url%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]]; then
    psql "${url%/*}/postgres" -q -c "CREATE DATABASE $database"
fi
".build/release/icat-provenance-benchmark" --postgres "${url%/*}/$database" "$@"
