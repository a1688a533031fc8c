#!/usr/bin/env bash
# Bounded memory on a large import: generates a data file of about SIZE_GB (default 1) gigabytes (datafiles with
# two parameters each, Tools/generate-datafile.py), imports it with `icat import` into a release server on a fresh
# PostgreSQL database (or SQLite with --sqlite), samples the server's resident memory every second, and prints it
# over the import with the ratio of the last quarter's peak to the first quarter's. Prints figures only.
#   Tools/bench-import-memory.sh [SIZE_GB] [--sqlite] [--format xml|yaml]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

size_gb=1
backend=postgres
format=xml
while (($#)); do
    case "$1" in
        --sqlite) backend=sqlite ;;
        --format) format="$2"; shift ;;
        *) size_gb="$1" ;;
    esac
    shift
done

swift build -c release --product icat
work="$(mktemp -d "${TMPDIR:-/tmp}/icat-memory.XXXXXX")"
server_pid=""
started_cluster=0
database=""
cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    if [[ -n "$database" ]]; then
        psql "${url%/*}/postgres" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    [[ "$started_cluster" == 1 ]] && Tools/pg-test-cluster.sh stop >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

# About 360 bytes of XML per datafile with its two parameters.
datafiles=$(python3 -c "print(int($size_gb * 1e9 / (360 if '$format' == 'xml' else 250)))")
echo "generating $datafiles datafiles as $format ..."
python3 Tools/generate-datafile.py --datafiles "$datafiles" --format "$format" >"$work/large.$format"
ls -l "$work/large.$format" | awk '{printf "file: %.2f GB\n", $5 / 1e9}'

if [[ "$backend" == postgres ]]; then
    Tools/pg-test-cluster.sh status >/dev/null 2>&1 || started_cluster=1
    url="$(Tools/pg-test-cluster.sh start | tail -n 1)"
    database="icat_memory_$$"
    psql "${url%/*}/postgres" -q -c "CREATE DATABASE $database"
    db_url="${url%/*}/$database"
else
    db_url="sqlite:$work/catalog.sqlite"
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.build/release/icat serve --database "$db_url" --storage "$work/files" --port "$port" --log-level warning \
    >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done

rss() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }
echo "server resident memory before: $(( $(rss) / 1024 )) MiB"
start=$SECONDS
.build/release/icat import "$work/large.$format" --url "http://127.0.0.1:$port" --password secret \
    >"$work/import.out" 2>&1 &
import_pid=$!
: >"$work/samples"
while kill -0 "$import_pid" 2>/dev/null; do
    echo "$((SECONDS - start)) $(rss)" >>"$work/samples"
    sleep 1
done
wait "$import_pid" || { cat "$work/import.out"; exit 1; }
tail -n 1 "$work/import.out"
python3 - "$work/samples" <<'PY'
import sys
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
n = len(samples)
for t, kb in samples[:: max(1, n // 12)]:
    print(f"  {t:5d} s  {kb / 1024:8.1f} MiB")
first = max(kb for _, kb in samples[: max(1, n // 4)])
last = max(kb for _, kb in samples[-max(1, n // 4):])
print(f"peak resident memory: first quarter {first / 1024:.1f} MiB, last quarter {last / 1024:.1f} MiB, "
      f"ratio {last / first:.2f} over {samples[-1][0]} s")
PY
