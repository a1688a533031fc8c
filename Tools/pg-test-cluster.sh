#!/usr/bin/env bash
# Throwaway PostgreSQL 15 cluster for the test suite.
#
# Usage: Tools/pg-test-cluster.sh start|stop|url|status
#
#   start   initialise (if needed) and start the cluster under <repo>/.pgtest/,
#           reusing it if it is already running; create database icat_test.
#   stop    stop the cluster if it is running (fast shutdown).
#   url     print the connection URL.
#   status  exit 0 if the cluster is running, 3 otherwise.
#
# `start` and `url` print postgres://postgres@127.0.0.1:PORT/icat_test as the
# last line of stdout; all progress messages go to stderr.
#
# Environment:
#   ICAT_TEST_PG_PORT   TCP port (default 55432; if the default is taken by
#                       something else, the next free port is used instead).
#   ICAT_TEST_PG_BIN    PostgreSQL server binaries
#                       (default /usr/lib/postgresql/15/bin).
#
# As root, the cluster runs as the `postgres` OS user (PostgreSQL refuses to
# run as root); otherwise it runs as the invoking user.
set -euo pipefail

readonly DEFAULT_PORT=55432
readonly DB_NAME=icat_test
readonly START_TIMEOUT=60

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly REPO_ROOT
readonly PGTEST_DIR="$REPO_ROOT/.pgtest"
readonly PG_BIN="${ICAT_TEST_PG_BIN:-/usr/lib/postgresql/15/bin}"

log() { echo "pg-test-cluster: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

IS_ROOT=0
if [[ "$(id -u)" == 0 ]]; then IS_ROOT=1; fi
readonly IS_ROOT

# Run a command as the cluster owner (postgres when we are root).
as_owner() {
    if ((IS_ROOT)); then
        # cd somewhere the postgres user can read, to avoid "could not change
        # directory" noise when invoked from e.g. /root.
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            local cmd
            cmd="$(printf '%q ' "$@")"
            (cd / && su -s /bin/bash postgres -c "$cmd")
        fi
    else
        "$@"
    fi
}

# Where the cluster lives. Normally <repo>/.pgtest; but when we are root and
# the postgres user cannot reach the repository (e.g. a clone under /root),
# fall back to a per-repository directory under /tmp, recorded by a symlink
# <repo>/.pgtest/cluster.
resolve_base() {
    mkdir -p "$PGTEST_DIR"
    BASE="$PGTEST_DIR"
    if ((IS_ROOT)); then
        getent passwd postgres >/dev/null || die "OS user 'postgres' does not exist (is postgresql-15 installed?)"
        chown postgres: "$PGTEST_DIR"
        chmod 0700 "$PGTEST_DIR"
        if ! as_owner test -w "$PGTEST_DIR" -a -x "$PGTEST_DIR"; then
            local hash
            hash="$(printf '%s' "$PGTEST_DIR" | md5sum | cut -c1-12)"
            BASE="/tmp/icat-pgtest-$hash"
            mkdir -p "$BASE"
            chown postgres: "$BASE"
            chmod 0700 "$BASE"
            ln -sfn "$BASE" "$PGTEST_DIR/cluster"
            log "postgres user cannot access $PGTEST_DIR; using $BASE"
        fi
    fi
    DATA_DIR="$BASE/data"
    LOG_FILE="$BASE/postgres.log"
    PORT_FILE="$PGTEST_DIR/port"
    # Unix socket paths are limited to ~107 bytes; use /tmp if ours is too long.
    SOCKET_DIR="$BASE/socket"
    if ((${#SOCKET_DIR} > 80)); then
        SOCKET_DIR="/tmp/icat-pgtest-$(printf '%s' "$PGTEST_DIR" | md5sum | cut -c1-12)-socket"
    fi
    mkdir -p "$SOCKET_DIR"
    if ((IS_ROOT)); then chown postgres: "$SOCKET_DIR"; fi
    chmod 0700 "$SOCKET_DIR"
}

pg_tool() {
    local tool="$1"
    shift
    [[ -x "$PG_BIN/$tool" ]] || die "$PG_BIN/$tool not found (install postgresql-15, or set ICAT_TEST_PG_BIN)"
    as_owner "$PG_BIN/$tool" "$@"
}

current_port() {
    if [[ -n "${ICAT_TEST_PG_PORT:-}" ]]; then
        echo "$ICAT_TEST_PG_PORT"
    elif [[ -s "$PORT_FILE" ]]; then
        cat "$PORT_FILE"
    else
        echo "$DEFAULT_PORT"
    fi
}

url_for() { echo "postgres://postgres@127.0.0.1:$1/$DB_NAME"; }

# Is anything listening on 127.0.0.1:$1?
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

is_running() {
    [[ -f "$DATA_DIR/PG_VERSION" ]] || return 1
    pg_tool pg_ctl status -D "$DATA_DIR" >/dev/null 2>&1
}

# The port the running postmaster listens on (4th line of postmaster.pid).
running_port() {
    sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null || true
}

wait_ready() {
    local port="$1" deadline=$((SECONDS + START_TIMEOUT))
    until pg_tool pg_isready -q -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres; do
        if ((SECONDS >= deadline)); then
            log "server did not become ready within ${START_TIMEOUT}s; last log lines:"
            tail -n 30 "$LOG_FILE" >&2 || true
            return 1
        fi
        sleep 0.2
    done
}

init_cluster() {
    log "initialising cluster in $DATA_DIR"
    rm -rf "$DATA_DIR"
    local locale=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
    pg_tool initdb -D "$DATA_DIR" -U postgres -A trust --encoding=UTF8 --locale="$locale" \
        --no-sync --no-instructions >"$BASE/initdb.log" 2>&1 || {
        cat "$BASE/initdb.log" >&2
        die "initdb failed"
    }
    echo "include_if_exists = 'icat-test.conf'" | as_owner tee -a "$DATA_DIR/postgresql.conf" >/dev/null
}

write_settings() {
    local port="$1" sock="${SOCKET_DIR//\'/\'\'}"
    as_owner tee "$DATA_DIR/icat-test.conf" >/dev/null <<EOF
# Generated by Tools/pg-test-cluster.sh on every start; do not edit.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
# The whole suite runs its tests at once, each with a pool of its own (4 connections) besides the servers and
# saturation tests that hold more: 200 ran out once the suite passed 400 tests.
max_connections = 500
# Each test migrates its own database in one transaction, which locks every table, index and sequence it
# makes; many at once need more than the default 64 lock slots per connection.
max_locks_per_transaction = 1024
shared_buffers = 256MB
# Throwaway test database: durability is irrelevant.
fsync = off
synchronous_commit = off
full_page_writes = off
# Parallel query needs dynamic shared memory in /dev/shm, which is tiny in
# many containers; the test data is small anyway.
max_parallel_workers_per_gather = 0
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] %q%u@%d '
EOF
}

# Pick the port: explicit override, else the recorded/default port, else the
# next free port after the default.
choose_port() {
    if [[ -n "${ICAT_TEST_PG_PORT:-}" ]]; then
        port_in_use "$ICAT_TEST_PG_PORT" &&
            die "port $ICAT_TEST_PG_PORT (ICAT_TEST_PG_PORT) is already in use by another process"
        echo "$ICAT_TEST_PG_PORT"
        return
    fi
    local port
    port="$(current_port)"
    if ! port_in_use "$port"; then
        echo "$port"
        return
    fi
    for ((port = DEFAULT_PORT; port < DEFAULT_PORT + 100; port++)); do
        if ! port_in_use "$port"; then
            log "port $(current_port) is busy; using $port"
            echo "$port"
            return
        fi
    done
    die "no free port in $DEFAULT_PORT..$((DEFAULT_PORT + 99)); set ICAT_TEST_PG_PORT"
}

ensure_database() {
    local port="$1" exists
    exists="$(pg_tool psql -X -q -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")"
    if [[ "$exists" != 1 ]]; then
        log "creating database $DB_NAME"
        # Tolerate a concurrent creation.
        pg_tool createdb -h "$SOCKET_DIR" -p "$port" -U postgres "$DB_NAME" 2>/dev/null ||
            [[ "$(pg_tool psql -X -q -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres -tAc \
                "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" == 1 ]] ||
            die "could not create database $DB_NAME"
    fi
}

# Remove a postmaster.pid whose process is not a live postgres. `pg_ctl status`
# only checks kill(pid, 0), which is fooled by pid reuse and by zombies: after
# a kill -9 the dead postmaster is reparented to PID 1, and in containers PID 1
# often does not reap promptly.
clear_stale_pid() {
    local pidfile="$DATA_DIR/postmaster.pid" pid comm state
    [[ -f "$pidfile" ]] || return 0
    pid="$(head -n1 "$pidfile" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && [[ -r "/proc/$pid/stat" ]]; then
        comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
        # Field 3 of /proc/PID/stat, after the parenthesised command name.
        state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
        if [[ "$comm" == postgres* || "$comm" == postmaster* ]] && [[ "$state" != [ZX] ]]; then
            return 0
        fi
    fi
    log "removing stale $pidfile (postmaster pid ${pid:-?} is gone)"
    rm -f "$pidfile"
}

do_start() {
    local port
    if is_running; then
        clear_stale_pid
    fi
    if is_running; then
        port="$(running_port)"
        [[ -n "$port" ]] || port="$(current_port)"
        if ! wait_ready "$port"; then
            die "cluster in $DATA_DIR is running but not accepting connections"
        fi
        log "reusing running cluster on port $port"
    else
        [[ -f "$DATA_DIR/PG_VERSION" ]] || init_cluster
        clear_stale_pid
        port="$(choose_port)"
        write_settings "$port"
        log "starting PostgreSQL on 127.0.0.1:$port (log: $LOG_FILE)"
        # After a kill -9 of the postmaster, its children take a moment to
        # notice and exit; until then the old shared memory is still in use
        # and a new postmaster refuses to start. Retry for a while.
        local attempt
        for attempt in 1 2 3 4 5 6 7 8 9 10; do
            # 9>&-: the postmaster must not inherit (and hold) our flock fd.
            if pg_tool pg_ctl start -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$START_TIMEOUT" >/dev/null 9>&-; then
                break
            fi
            if ((attempt == 10)); then
                log "pg_ctl start failed; last log lines:"
                tail -n 30 "$LOG_FILE" >&2 || true
                die "could not start PostgreSQL"
            fi
            log "start failed (attempt $attempt), retrying"
            sleep 1
        done
        wait_ready "$port" || die "could not start PostgreSQL"
        echo "$port" >"$PORT_FILE"
    fi
    ensure_database "$port"
    url_for "$port"
}

do_stop() {
    if is_running; then
        clear_stale_pid
    fi
    if is_running; then
        log "stopping PostgreSQL"
        pg_tool pg_ctl stop -D "$DATA_DIR" -m fast -w -t 60 >/dev/null ||
            pg_tool pg_ctl stop -D "$DATA_DIR" -m immediate -w -t 30 >/dev/null ||
            die "could not stop PostgreSQL"
    else
        log "not running"
    fi
}

do_url() {
    local port=""
    if is_running; then port="$(running_port)"; fi
    [[ -n "$port" ]] || port="$(current_port)"
    url_for "$port"
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
    start | stop | url | status) ;;
    *)
        echo "usage: $0 start|stop|url|status" >&2
        exit 2
        ;;
    esac
    resolve_base
    # Serialise concurrent start/stop on the same repository.
    exec 9>"$PGTEST_DIR/.lock"
    flock 9
    case "$cmd" in
    start) do_start ;;
    stop) do_stop ;;
    url) do_url ;;
    status)
        if is_running; then
            log "running on port $(running_port)"
        else
            log "not running"
            exit 3
        fi
        ;;
    esac
}

main "$@"
