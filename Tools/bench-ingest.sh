#!/usr/bin/env bash
# The ingestion benchmark (release build) on a fresh database of the throwaway PostgreSQL cluster: datafiles with
# two parameters each per second through createMany and importData, next to direct COPY of the same rows, with
# their ratios. Prints figures only.
#   Tools/bench-ingest.sh [--datafiles N] [--rounds R]
exec "$(dirname "${BASH_SOURCE[0]}")/bench-on-postgres.sh" icat-ingest-benchmark "$@"
