#!/usr/bin/env bash
# The query benchmark (release build) on a fresh database of the throwaway PostgreSQL cluster: generates a catalog
# of 1,000,000 datafiles with set-based SQL, then prints, for typical ICAT queries, the compile time and the rate
# of Catalog.search next to hand-written SQL through the same driver, with their ratios. Prints figures only.
#   Tools/bench-query.sh [--datafiles N] [--seconds S] [--concurrency N] [--compilations N]
exec "$(dirname "${BASH_SOURCE[0]}")/bench-on-postgres.sh" icat-query-benchmark "$@"
