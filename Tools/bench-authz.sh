#!/usr/bin/env bash
# The authorization benchmark: the query benchmark's catalog (1,000,000 datafiles) with users, memberships,
# instrument scientists and released investigations added and Rules/facility.yaml loaded as root; times a member
# browsing (investigations, datasets, datafiles: a page of 50 and the count) as the member, as root and as
# hand-written SQL, with ratios. Prints figures only.
#   Tools/bench-authz.sh [--restrict-joins] [--datafiles N] [--seconds S] [--explain]
# --restrict-joins runs it with `authorization: {restrictJoins: true}` (every joined variable restricted too).
exec "$(dirname "${BASH_SOURCE[0]}")/bench-query.sh" --authorization "$@"
