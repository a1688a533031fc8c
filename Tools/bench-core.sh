#!/usr/bin/env bash
# The catalog core benchmark (release build) on SQLite and on a fresh database of the throwaway PostgreSQL
# cluster: create and createMany rates next to direct driver inserts, with their ratios. Prints figures only.
#   Tools/bench-core.sh [--creates N] [--batches N]
exec "$(dirname "${BASH_SOURCE[0]}")/bench-on-postgres.sh" icat-benchmark "$@"
