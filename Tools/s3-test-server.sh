#!/usr/bin/env bash
# Throwaway S3 API server for the test suite: moto_server from the project's Python venv (Tools/python-env.sh), on
# 127.0.0.1, checking every request's AWS Signature Version 4 against an IAM user of its own.
#
# Usage: Tools/s3-test-server.sh start|stop|status
#
#   start   start the server (or reuse the one this checkout started), make the IAM user whose access key signs
#           the tests' requests, and turn on moto's signature checks; prints the endpoint URL, with that key as
#           its user and password, as the last line of stdout:
#           http://ACCESS_KEY_ID:SECRET_KEY@127.0.0.1:PORT (the secret percent-encoded).
#   stop    stop the server if this checkout started it.
#   status  exit 0 if it is running, 3 otherwise.
# Progress messages go to stderr. State (pid, log, the key) is kept in .build/s3-test/.
#
# Environment:
#   ICAT_TEST_S3_PORT   TCP port (default 55900).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
readonly REPO_ROOT
readonly STATE_DIR="$REPO_ROOT/.build/s3-test"
readonly PORT="${ICAT_TEST_S3_PORT:-55900}"
readonly START_TIMEOUT=60

log() { echo "s3-test-server: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

is_running() {
    local pid
    pid="$(cat "$STATE_DIR/pid" 2>/dev/null)" || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
        [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *moto_server* ]]
}

do_start() {
    local bin
    bin="$("$REPO_ROOT/Tools/python-env.sh" | tail -n 1)"
    [[ -x "$bin/moto_server" ]] || die "$bin/moto_server not found (moto[server] is in Tools/requirements.txt)"
    mkdir -p "$STATE_DIR"
    if is_running && [[ -s "$STATE_DIR/url" ]]; then
        log "reusing the running server (pid $(cat "$STATE_DIR/pid"))"
        tail -n 1 "$STATE_DIR/url"
        return
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        die "port $PORT is already in use by another process; set ICAT_TEST_S3_PORT"
    fi
    rm -f "$STATE_DIR/url"
    log "starting moto_server on 127.0.0.1:$PORT (log: $STATE_DIR/moto.log)"
    # setsid: its own process group, so that stopping it stops nothing else; 9>&-: it must not hold our lock.
    setsid "$bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$STATE_DIR/moto.log" 2>&1 9>&- </dev/null &
    echo $! >"$STATE_DIR/pid"
    # Waits until the server answers (bounded), then makes the IAM user with the unchecked requests moto allows
    # until told otherwise, and from then on has moto check every request's signature.
    if ! "$bin/python" - "$PORT" "$START_TIMEOUT" >"$STATE_DIR/url" <<'EOF'; then
import sys, time, json, urllib.parse, urllib.request
import boto3

port, timeout = int(sys.argv[1]), float(sys.argv[2])
endpoint = f"http://127.0.0.1:{port}"
deadline = time.monotonic() + timeout
while True:
    try:
        urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=2).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"moto_server did not answer within {timeout:.0f}s")
        time.sleep(0.1)
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="setup", aws_secret_access_key="setup")
iam.create_user(UserName="icat-test")
iam.put_user_policy(UserName="icat-test", PolicyName="s3", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="icat-test")["AccessKey"]
urllib.request.urlopen(urllib.request.Request(
    f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"})).read()
quote = lambda text: urllib.parse.quote(text, safe="")
print(f"http://{quote(key['AccessKeyId'])}:{quote(key['SecretAccessKey'])}@127.0.0.1:{port}")
EOF
        tail -n 30 "$STATE_DIR/moto.log" >&2 || true
        do_stop
        die "could not start moto_server"
    fi
    log "running; every request must be signed by the key in the URL"
    tail -n 1 "$STATE_DIR/url"
}

do_stop() {
    if is_running; then
        local pid deadline=$((SECONDS + 30))
        pid="$(cat "$STATE_DIR/pid")"
        log "stopping moto_server (pid $pid)"
        kill "$pid"
        while kill -0 "$pid" 2>/dev/null; do
            ((SECONDS < deadline)) || {
                kill -9 "$pid" 2>/dev/null || true
                break
            }
            sleep 0.1
        done
    else
        log "not running"
    fi
    rm -f "$STATE_DIR/pid" "$STATE_DIR/url"
}

main() {
    local cmd="${1:-}"
    case "$cmd" in
    start | stop | status) ;;
    *)
        echo "usage: $0 start|stop|status" >&2
        exit 2
        ;;
    esac
    mkdir -p "$STATE_DIR"
    # Serialise concurrent start/stop in the same checkout.
    exec 9>"$STATE_DIR/.lock"
    flock 9
    case "$cmd" in
    start) do_start ;;
    stop) do_stop ;;
    status)
        if is_running; then
            log "running (pid $(cat "$STATE_DIR/pid")) on port $PORT"
        else
            log "not running"
            exit 3
        fi
        ;;
    esac
}

main "$@"
