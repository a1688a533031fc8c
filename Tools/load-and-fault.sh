#!/usr/bin/env bash
# Load and faults on SQLite and on PostgreSQL: mixed reads and writes from many clients while the server is killed
# (SIGKILL) and started again on the same database and, on PostgreSQL, the database is restarted; then idle
# connections. Prints per database the requests, errors by type, latency percentiles per operation, throughput, how
# many idle connections the server closed, and whether any write was lost or left partial.
#
#   Tools/load-and-fault.sh [--clients 64] [--seconds 60] [--idle 1000] [--only sqlite|postgres] [--quick]
#
# --quick is a smoke run: 8 clients, 10 s, 100 idle connections. The server is .build/release/icat, built here,
# unless ICAT_BIN names another binary. Each database is fresh: SQLite in a temporary directory, PostgreSQL a private
# cluster (initdb/pg_ctl from ICAT_PG_BIN, default /usr/lib/postgresql/15/bin) on a free port in that directory,
# never the test cluster. The server keeps its own file-descriptor limit; only the client's is raised for the idle
# connections. The client is Tools/load_and_fault.py. Exits 1 if anything acknowledged was lost, anything partial
# was found, or a server did not start.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"
readonly PG_BIN="${ICAT_PG_BIN:-/usr/lib/postgresql/15/bin}"
readonly USERS=4

clients=64 seconds=60 idle=1000 databases="sqlite postgres"
while (($#)); do
    case "$1" in
    --clients) clients="$2" && shift ;;
    --seconds) seconds="$2" && shift ;;
    --idle) idle="$2" && shift ;;
    --only) databases="$2" && shift ;;
    --quick) clients=8 seconds=10 idle=100 ;;
    *) echo "usage: $0 [--clients N] [--seconds S] [--idle N] [--only sqlite|postgres] [--quick]" >&2 && exit 2 ;;
    esac
    shift
done

log() { echo "==> $*" >&2; }

if [[ -z "${ICAT_BIN:-}" ]]; then
    source Tools/setup.sh
    swift build -c release --product icat
    ICAT_BIN="$REPO_ROOT/.build/release/icat"
fi

WORK="$(mktemp -d /tmp/icat-load-fault.XXXXXX)"
chmod 711 "$WORK"
SERVER_PID="" LOAD_PID="" PG_DATA="" SERVER_PORT="" DATABASE_URL="" STORAGE=""

pg() { # runs a PostgreSQL tool as the cluster's owner (postgres when we are root: PostgreSQL refuses root)
    local tool="$PG_BIN/$1"
    shift
    if [[ "$(id -u)" == 0 ]]; then (cd / && runuser -u postgres -- "$tool" "$@"); else "$tool" "$@"; fi
}

cleanup() {
    local status=$?
    set +e
    [[ -n "$LOAD_PID" ]] && kill "$LOAD_PID" 2>/dev/null
    [[ -n "$SERVER_PID" ]] && stop_server KILL
    [[ -n "$PG_DATA" ]] && pg pg_ctl stop -D "$PG_DATA" -m immediate -w >/dev/null 2>&1
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_cluster() {
    local port
    port="$(free_port)"
    PG_DATA="$WORK/pg/data"
    mkdir -p "$WORK/pg"
    [[ "$(id -u)" == 0 ]] && chown postgres: "$WORK/pg"
    pg initdb -D "$PG_DATA" -U postgres -A trust --encoding=UTF8 --locale=C --no-instructions >"$WORK/pg/initdb.log"
    printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" "$port" "$WORK/pg" \
        >>"$PG_DATA/postgresql.conf"
    pg pg_ctl start -D "$PG_DATA" -l "$WORK/pg/postgres.log" -w >/dev/null
    pg createdb -h "$WORK/pg" -p "$port" -U postgres icat
    DATABASE_URL="postgres://postgres@127.0.0.1:$port/icat"
}

# Starts the server on SERVER_PORT (a free one the first time) and waits up to 60 s for GET /health.
start_server() {
    [[ -n "$SERVER_PORT" ]] || SERVER_PORT="$(free_port)"
    "$ICAT_BIN" serve --database "$DATABASE_URL" --storage "$STORAGE" --port "$SERVER_PORT" \
        --config "$WORK/config.yaml" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    disown "$SERVER_PID" # reaped all the same, without bash's "Killed" line after a SIGKILL
    local deadline=$((SECONDS + 60))
    until curl -sf -o /dev/null -m 2 "http://127.0.0.1:$SERVER_PORT/health"; do
        if ((SECONDS > deadline)) || ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "the server did not start; its log ends:"
            tail -n 20 "$WORK/server.log" >&2
            return 1
        fi
        sleep 0.2
    done
}

# stop_server KILL|TERM: after TERM the server has 15 s to exit before it is killed.
stop_server() {
    kill -"$1" "$SERVER_PID" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while kill -0 "$SERVER_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "the server did not exit within 15 s of SIG$1; killing it"
        kill -KILL "$SERVER_PID"
        while kill -0 "$SERVER_PID" 2>/dev/null; do sleep 0.1; done
    fi
    SERVER_PID=""
}

open_files() { ls "/proc/$SERVER_PID/fd" 2>/dev/null | wc -l; }

# Sleeps until S seconds after the load started at LOAD_START.
sleep_until() { local left=$(($1 - (SECONDS - LOAD_START))); ((left <= 0)) || sleep "$left"; }

write_configuration() {
    {
        echo "rootUserNames: [simple/root]"
        echo "authenticators:"
        echo "  - mnemonic: simple"
        echo "    users:"
        echo "      root: {password: secret}"
        for ((k = 1; k <= USERS; k++)); do echo "      u$k: {password: pw-u$k}"; done
    } >"$WORK/config.yaml"
}

# run_database sqlite|postgres: a fresh database, the server, reference data and rules, load with faults, idle
# connections. Sets RESULT=1 if the check found lost or partial writes or the server did not start again.
run_database() {
    local database="$1" url
    SERVER_PORT="" STORAGE="$WORK/$database/files"
    mkdir -p "$STORAGE"
    if [[ "$database" == postgres ]]; then start_cluster; else DATABASE_URL="sqlite:$WORK/$database/catalog.sqlite"; fi
    log "[$database] server $ICAT_BIN on $DATABASE_URL (log $WORK/server.log)"
    start_server
    url="http://127.0.0.1:$SERVER_PORT"
    log "[$database] server's open-file limit: $(awk '/open files/ {print $4}' "/proc/$SERVER_PID/limits")"
    python3 Tools/load_and_fault.py setup --url "$url" --users "$USERS"
    "$ICAT_BIN" rules load Rules/facility.yaml --url "$url" --username root --password secret >/dev/null

    log "[$database] $clients clients for $seconds s"
    LOAD_START=$SECONDS
    python3 Tools/load_and_fault.py load --url "$url" --label "$database" --users "$USERS" \
        --clients "$clients" --seconds "$seconds" &
    LOAD_PID=$!
    sleep_until $((seconds * 35 / 100))
    log "[$database] SIGKILL to the server at $((SECONDS - LOAD_START)) s, then starting it again"
    stop_server KILL
    start_server || RESULT=1
    log "[$database] the server answers again at $((SECONDS - LOAD_START)) s"
    if [[ "$database" == postgres ]]; then
        sleep_until $((seconds * 65 / 100))
        log "[$database] pg_ctl restart -m fast at $((SECONDS - LOAD_START)) s"
        pg pg_ctl restart -D "$PG_DATA" -m fast -w -l "$WORK/pg/postgres.log" >/dev/null
        log "[$database] PostgreSQL is back at $((SECONDS - LOAD_START)) s"
    fi
    wait "$LOAD_PID" || RESULT=1
    LOAD_PID=""
    log "[$database] the server holds $(open_files) open files after the load"

    log "[$database] $idle idle connections"
    (if (($(ulimit -n) < idle + 256)); then ulimit -n $((idle + 256)); fi
        python3 Tools/load_and_fault.py idle --url "$url" --label "$database" \
        --connections "$idle") || RESULT=1
    log "[$database] the server holds $(open_files) open files after the idle connections closed"
    stop_server TERM
    if [[ -n "$PG_DATA" ]]; then
        pg pg_ctl stop -D "$PG_DATA" -m fast -w >/dev/null
        PG_DATA=""
    fi
}

write_configuration
RESULT=0
for database in $databases; do
    run_database "$database"
done
exit "$RESULT"
