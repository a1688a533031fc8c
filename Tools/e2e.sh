#!/usr/bin/env bash
# End-to-end check of the built server, as a client sees it.
#
#   Tools/e2e.sh
#
# For each database (SQLite in a temporary directory, then a fresh database in the
# throwaway PostgreSQL cluster of Tools/pg-test-cluster.sh), this starts the built
# server on a free port, waits for GET /health, runs Tools/rpc-smoke.py against it
# twice (the second run shows it can repeat against the same data), then sends
# SIGTERM and checks that the server exits with status 0 within 10 s and that its
# request log lines carry a request id (hb.request.id).
#
# Prints `ok   <name>` / `FAIL <name>: ...` per check and ends with
# `N passed, M failed` summed over everything; exits 1 if anything failed.
#
# Environment:
#   ICAT_BIN   the server binary (default .build/debug/icat); it is not built here.
#
# The PostgreSQL cluster is stopped on exit only if this script started it; the
# database it created is always dropped.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$REPO_ROOT"

ICAT_BIN="${ICAT_BIN:-.build/debug/icat}"
readonly HEALTH_TIMEOUT=30
readonly STOP_TIMEOUT=10

PASSED=0
FAILED=0
WORK=""
SERVER_PID=""
SERVER_URL=""
PG_STARTED_HERE=0
S3_STARTED_HERE=0
PG_ADMIN_URL=""
PG_DB=""

log() { echo "==> $*" >&2; }
ok() {
    PASSED=$((PASSED + 1))
    echo "ok   $*"
}
fail() {
    FAILED=$((FAILED + 1))
    echo "FAIL $*"
}

stop_server_hard() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

drop_pg_database() {
    if [[ -n "$PG_DB" && -n "$PG_ADMIN_URL" ]]; then
        psql -X -q "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
            log "warning: could not drop database $PG_DB"
        PG_DB=""
    fi
}

cleanup() {
    local rc=$?
    set +e
    stop_server_hard
    drop_pg_database
    if ((PG_STARTED_HERE)); then
        Tools/pg-test-cluster.sh stop >/dev/null 2>&1 || log "warning: could not stop the PostgreSQL cluster"
        PG_STARTED_HERE=0
    fi
    if ((S3_STARTED_HERE)); then
        Tools/s3-test-server.sh stop >/dev/null 2>&1 || log "warning: could not stop the S3 test server"
        S3_STARTED_HERE=0
    fi
    if [[ -n "$WORK" && -d "$WORK" ]]; then rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

http_status() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null || true
}

# start_server LABEL DATABASE_URL DIR [SERVE ARGS...]: starts the server on a free port (log appended to DIR/server.log) and waits
# for GET /health; sets SERVER_PID and SERVER_URL. Records the check; returns 1 if the server did not come up.
start_server() {
    local label="$1" db_url="$2" dir="$3"
    shift 3
    local port server_log="$dir/server.log"
    port="$(free_port)"
    SERVER_URL="http://127.0.0.1:$port"
    mkdir -p "$dir/files"
    log "[$label] starting $ICAT_BIN on port $port"
    "$ICAT_BIN" serve --database "$db_url" --storage "$dir/files" --port "$port" "$@" >>"$server_log" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + HEALTH_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
        if [[ "$(http_status "$SERVER_URL/health")" == 200 ]]; then
            ok "[$label] server answers GET /health within ${HEALTH_TIMEOUT}s"
            return 0
        fi
        sleep 0.2
    done
    fail "[$label] server answers GET /health within ${HEALTH_TIMEOUT}s: it did not; last log lines:"
    tail -n 20 "$server_log" | sed 's/^/    /'
    stop_server_hard
    return 1
}

# rpc_count URL QUERY: the number a COUNT query gives root.
rpc_count() {
    python3 - "$1" "$2" <<'PY'
import json, sys, urllib.request
url, query = sys.argv[1] + "/rpc", sys.argv[2]
def call(method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request))["result"]
session = call("login", {"plugin": "simple", "credentials": {"username": "root", "password": "secret"}})["sessionId"]
print(call("search", {"sessionId": session, "query": query})[0])
PY
}

# check_data_files LABEL URL DIR: python-icat's example imports through `icat import`, exports through
# `icat export`, and the export imports again with duplicates ignored.
check_data_files() {
    local label="$1" url="$2" dir="$3" examples out
    examples="${ICAT_TEST_EXAMPLES:-$(Tools/fetch-examples.sh | tail -n 1)}"
    if out="$("$ICAT_BIN" import "$examples/icatdump-6.2.xml" --url "$url" --password secret 2>&1)" \
        && [[ "$out" == *"icatdump-6.2.xml: 439 created, 0 skipped, 0 updated"* ]]; then
        ok "[$label] icat import of python-icat's icatdump-6.2.xml creates its 439 objects"
    else
        fail "[$label] icat import of python-icat's icatdump-6.2.xml creates its 439 objects: $out"
    fi
    if out="$("$ICAT_BIN" export "$dir/export.yaml" --url "$url" --password secret 2>&1)" \
        && grep -q '^  Investigation_facility-(name-ESNF)_name-10100601=2DST_visitId-1=2E1=2DN:$' "$dir/export.yaml"; then
        ok "[$label] icat export writes the catalog as YAML"
    else
        fail "[$label] icat export writes the catalog as YAML: $out"
    fi
    if out="$("$ICAT_BIN" import "$dir/export.yaml" --duplicate IGNORE --url "$url" --password secret 2>&1)" \
        && [[ "$out" =~ [1-9][0-9]*\ skipped ]]; then
        ok "[$label] importing the export again with --duplicate IGNORE skips what exists"
    else
        fail "[$label] importing the export again with --duplicate IGNORE skips what exists: $out"
    fi
    if ! out="$("$ICAT_BIN" import "$examples/icatdump-6.2.xml" --url "$url" --password secret 2>&1)" \
        && [[ "$out" == *"OBJECT_ALREADY_EXISTS: line 10: User exists"* ]]; then
        ok "[$label] importing it twice fails with the object and line"
    else
        fail "[$label] importing it twice fails with the object and line: $out"
    fi
}

# check_killed_import LABEL DATABASE_URL DIR: the server is killed (SIGKILL) in the middle of a large import;
# after a restart the catalog holds none of it. Leaves a running server (SERVER_PID, SERVER_URL).
check_killed_import() {
    local label="$1" db_url="$2" dir="$3" before after import_pid i
    python3 Tools/generate-datafile.py --datafiles 300000 --prefix KILL >"$dir/large.xml"
    before="$(rpc_count "$SERVER_URL" "SELECT COUNT(df) FROM Datafile df")"
    "$ICAT_BIN" import "$dir/large.xml" --url "$SERVER_URL" --password secret >"$dir/killed.out" 2>&1 &
    import_pid=$!
    for ((i = 0; i < 600; i++)); do
        grep -q 'objects read' "$dir/killed.out" && break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    wait "$import_pid" 2>/dev/null || true
    rm -f "$dir/large.xml"
    if ! grep -q 'objects read' "$dir/killed.out" || grep -q ' skipped, ' "$dir/killed.out"; then
        fail "[$label] a killed import leaves nothing: the import was not caught half way: $(tail -n 3 "$dir/killed.out")"
    fi
    start_server "$label" "$db_url" "$dir" || return 0
    after="$(rpc_count "$SERVER_URL" "SELECT COUNT(df) FROM Datafile df")"
    if [[ "$after" == "$before" ]]; then
        ok "[$label] a server killed half way through an import leaves none of it ($before datafiles before and after)"
    else
        fail "[$label] a server killed half way through an import leaves none of it: $before datafiles before, $after after"
    fi
}

# run_database LABEL DATABASE_URL DIR
run_database() {
    local label="$1" db_url="$2" dir="$3"
    local server_log="$dir/server.log" url
    if ! start_server "$label" "$db_url" "$dir"; then return 0; fi
    url="$SERVER_URL"

    local run out summary p m smoke_rc
    for run in 1 2; do
        out="$dir/smoke-$run.out"
        smoke_rc=0
        python3 Tools/rpc-smoke.py --url "$url" >"$out" 2>&1 || smoke_rc=$?
        sed "s/^\(ok  \|FAIL\) /\1 [$label #$run] /" "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$' || true
        summary="$(tail -n 1 "$out")"
        if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
            p="${BASH_REMATCH[1]}"
            m="${BASH_REMATCH[2]}"
            PASSED=$((PASSED + p))
            FAILED=$((FAILED + m))
            if ((m == 0 && smoke_rc != 0)) || ((m > 0 && smoke_rc == 0)); then
                fail "[$label #$run] rpc-smoke.py exit status matches its summary: status $smoke_rc with '$summary'"
            fi
        else
            fail "[$label #$run] rpc-smoke.py ends with 'N passed, M failed': exit status $smoke_rc, last line '$summary'"
        fi
    done

    check_data_files "$label" "$url" "$dir"
    check_killed_import "$label" "$db_url" "$dir"
    url="$SERVER_URL"

    # The standard rule set loads through the command line, and a second load adds nothing.
    local first second
    if first="$("$ICAT_BIN" rules load Rules/facility.yaml --url "$url" --username root --password secret 2>&1)" \
        && [[ "$first" == *"rules"* && "$first" != *" 0 rules"* ]]; then
        ok "[$label] icat rules load Rules/facility.yaml creates the rule set"
    else
        fail "[$label] icat rules load Rules/facility.yaml creates the rule set: $first"
    fi
    if second="$("$ICAT_BIN" rules load Rules/facility.yaml --url "$url" --username root --password secret 2>&1)" \
        && [[ "$second" == *"created 0 groupings, 0 users, 0 memberships, 0 rules, 0 public steps" ]]; then
        ok "[$label] loading the rule set again adds nothing"
    else
        fail "[$label] loading the rule set again adds nothing: $second"
    fi

    # Graceful shutdown: SIGTERM, exit within STOP_TIMEOUT with status 0, after finishing the requests in flight:
    # an import under way when the signal comes completes.
    local pid="$SERVER_PID" status=0 exited=0 drain_pid drain_status=0 i
    python3 Tools/generate-datafile.py --datafiles 20000 --prefix DRAIN >"$dir/drain.xml"
    "$ICAT_BIN" import "$dir/drain.xml" --url "$url" --password secret >"$dir/drain.out" 2>&1 &
    drain_pid=$!
    for ((i = 0; i < 600; i++)); do
        grep -q 'objects read' "$dir/drain.out" && break
        sleep 0.1
    done
    kill -TERM "$pid"
    deadline=$((SECONDS + STOP_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            exited=1
            break
        fi
        sleep 0.1
    done
    # A zombie still answers kill -0 until reaped; wait reaps it (immediately if it has exited).
    if ((!exited)) && [[ "$(ps -o stat= -p "$pid" 2>/dev/null || true)" == Z* ]]; then exited=1; fi
    if ((exited)); then
        wait "$pid" || status=$?
        SERVER_PID=""
        if ((status == 0)); then
            ok "[$label] SIGTERM: server exits with status 0 within ${STOP_TIMEOUT}s"
        else
            fail "[$label] SIGTERM: server exits with status 0 within ${STOP_TIMEOUT}s: exit status $status; last log lines:"
            tail -n 10 "$server_log" | sed 's/^/    /'
        fi
    else
        fail "[$label] SIGTERM: server exits with status 0 within ${STOP_TIMEOUT}s: still running after ${STOP_TIMEOUT}s"
        stop_server_hard
    fi
    wait "$drain_pid" || drain_status=$?
    rm -f "$dir/drain.xml"
    if ((drain_status == 0)) && grep -q 'objects read' "$dir/drain.out" && grep -q ' skipped, ' "$dir/drain.out"; then
        ok "[$label] SIGTERM: an import in flight completes before the server exits"
    else
        fail "[$label] SIGTERM: an import in flight completes before the server exits: status $drain_status, $(tail -n 2 "$dir/drain.out" | tr '\n' ' ')"
    fi

    # Request logging: every request-scoped line carries a non-empty hb.request.id.
    local with_id without_id
    with_id="$(grep -c -E 'hb\.request\.id=[^ ]+' "$server_log" || true)"
    without_id="$(grep -E 'hb\.request\.|\[Hummingbird\] Request' "$server_log" | grep -v -c -E 'hb\.request\.id=[^ ]+' || true)"
    if ((with_id >= 20 && without_id == 0)); then
        ok "[$label] request log lines carry hb.request.id ($with_id lines)"
    else
        fail "[$label] request log lines carry hb.request.id: $with_id lines with an id, $without_id request lines without"
        grep -E 'hb\.request\.|\[Hummingbird\] Request' "$server_log" | grep -v -E 'hb\.request\.id=[^ ]+' | head -n 5 |
            sed 's/^/    /' || true
    fi
}

# check_ids_clients LABEL DATABASE_URL DIR: python-icat's IDSClient against the data service (Tools/ids-clients.py),
# and the W3C prov library and headless Chromium against provenance exports (Tools/provenance-clients.py), on a
# server with Tools/ids-e2e.yaml's users and two-level storage under DIR, with the standard rule set loaded.
check_ids_clients() {
    local label="$1" db_url="$2" dir="$3" store="${4:-file}"
    local venv out summary rc=0 storage="$dir/ids-files" bucket_args=()
    if ! venv="$(Tools/python-env.sh | tail -n 1)"; then
        fail "[$label] make the Python venv for python-icat (Tools/python-env.sh)"
        return 0
    fi
    if [[ "$store" == s3 ]]; then
        local bucket="icat-e2e-$RANDOM$RANDOM"
        storage="s3://$bucket"
        bucket_args=(--s3-bucket "$bucket")
        label="$label s3"
    fi
    if ! "$venv/python" Tools/ids-clients.py --make-config "$dir/ids-e2e.yaml" --work "$dir" "${bucket_args[@]}" \
        >"$dir/ids-config.out" 2>&1; then
        fail "[$label ids] write the server's configuration: $(tail -n 1 "$dir/ids-config.out")"
        return 0
    fi
    if ! start_server "$label ids" "$db_url" "$dir" --config "$dir/ids-e2e.yaml"; then return 0; fi
    if ! "$ICAT_BIN" rules load Rules/facility.yaml --url "$SERVER_URL" --username root --password secret \
        >"$dir/ids-rules.out" 2>&1; then
        fail "[$label ids] load Rules/facility.yaml: $(tail -n 1 "$dir/ids-rules.out")"
    fi
    out="$dir/ids-clients.out"
    "$venv/python" Tools/ids-clients.py --url "$SERVER_URL" --storage "$storage" --archive "$dir/ids-archive" \
        >"$out" 2>&1 || rc=$?
    sed "s/^\(ok  \|FAIL\) /\1 [$label ids] /" "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$' || true
    summary="$(tail -n 1 "$out")"
    if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        PASSED=$((PASSED + BASH_REMATCH[1]))
        FAILED=$((FAILED + BASH_REMATCH[2]))
    else
        fail "[$label ids] ids-clients.py ends with 'N passed, M failed': exit status $rc, last line '$summary'"
    fi
    # Provenance as tools and people get it: PROV-JSON read back by the W3C prov library, the SVG in Chromium.
    out="$dir/provenance-clients.out"
    rc=0
    "$venv/python" Tools/provenance-clients.py --url "$SERVER_URL" >"$out" 2>&1 || rc=$?
    sed "s/^\(ok  \|FAIL\) /\1 [$label provenance] /" "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$' || true
    summary="$(tail -n 1 "$out")"
    if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
        PASSED=$((PASSED + BASH_REMATCH[1]))
        FAILED=$((FAILED + BASH_REMATCH[2]))
    else
        fail "[$label provenance] provenance-clients.py ends with 'N passed, M failed': exit status $rc, last line '$summary'"
    fi
    stop_server_hard
}

main() {
    if [[ ! -x "$ICAT_BIN" ]]; then
        fail "server binary $ICAT_BIN exists (set ICAT_BIN, or build it first)"
        echo "$PASSED passed, $FAILED failed"
        exit 1
    fi
    command -v python3 >/dev/null || {
        echo "error: python3 is required" >&2
        exit 1
    }
    command -v curl >/dev/null || {
        echo "error: curl is required" >&2
        exit 1
    }

    WORK="$(mktemp -d "${TMPDIR:-/tmp}/icat-e2e.XXXXXX")"

    # --- SQLite ---
    mkdir -p "$WORK/sqlite"
    run_database sqlite "sqlite:$WORK/sqlite/catalog.sqlite" "$WORK/sqlite"
    check_ids_clients sqlite "sqlite:$WORK/sqlite/catalog.sqlite" "$WORK/sqlite"

    # --- S3 (moto_server), for the data service on the S3 store ---
    if [[ -z "${ICAT_TEST_S3_URL:-}" ]]; then
        Tools/s3-test-server.sh status >/dev/null 2>&1 || S3_STARTED_HERE=1
        if ICAT_TEST_S3_URL="$(Tools/s3-test-server.sh start | tail -n 1)" && [[ "$ICAT_TEST_S3_URL" == http://* ]]; then
            export ICAT_TEST_S3_URL
        else
            fail "start the S3 test server (Tools/s3-test-server.sh start)"
        fi
    fi

    # --- PostgreSQL ---
    local cluster_url
    if ! Tools/pg-test-cluster.sh status >/dev/null 2>&1; then PG_STARTED_HERE=1; fi
    if cluster_url="$(Tools/pg-test-cluster.sh start | tail -n 1)" && [[ "$cluster_url" == postgres://* ]]; then
        PG_ADMIN_URL="$cluster_url"
        local db="e2e_$(date +%s)_$$_$RANDOM"
        if psql -X -q "$PG_ADMIN_URL" -c "CREATE DATABASE \"$db\"" >/dev/null; then
            PG_DB="$db"
            mkdir -p "$WORK/postgres"
            run_database postgres "${PG_ADMIN_URL%/*}/$PG_DB" "$WORK/postgres"
            # The data service on the S3 store here (the local store above, on SQLite).
            check_ids_clients postgres "${PG_ADMIN_URL%/*}/$PG_DB" "$WORK/postgres" s3
            drop_pg_database
        else
            fail "[postgres] create a fresh database $db in $PG_ADMIN_URL"
        fi
    else
        fail "[postgres] start the test cluster (Tools/pg-test-cluster.sh start)"
    fi
    if ((PG_STARTED_HERE)); then
        Tools/pg-test-cluster.sh stop >/dev/null 2>&1 || log "warning: could not stop the PostgreSQL cluster"
        PG_STARTED_HERE=0
    fi

    echo "$PASSED passed, $FAILED failed"
    ((FAILED == 0))
}

main "$@"
