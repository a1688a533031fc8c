#!/usr/bin/env bash
# The data service benchmark (release build), over loopback on one disk: upload (PUT /ids/put, both checksums and an
# fsync) and download (GET /ids/getData) of one large file, and the download of a 1,000-file dataset as a stored zip,
# next to, in the same run, the same bytes copied with cp (then synced) and served by nginx (sendfile on); with the
# ratios and the server's peak resident memory per step. Prints figures only (a wrong byte or an invalid zip
# is an error); each timing is the best of its rounds.
#   Tools/bench-ids.sh
# Environment (sizes in bytes):
#   ICAT_BENCH_IDS_BYTES        the large file (default 1073741824, 1 GiB)
#   ICAT_BENCH_IDS_SMALL_BYTES  a smaller file measured first, to show memory flat with size (default 268435456;
#                               0 skips it)
#   ICAT_BENCH_IDS_ZIP_FILES    files in the zipped dataset (default 1000)
#   ICAT_BENCH_IDS_ZIP_BYTES    their total size (default 268435456)
#   ICAT_BENCH_IDS_ROUNDS       rounds of each timing (default 3)
# Installs nginx from Debian's packages if it is missing. Everything it makes lives in one temporary directory
# (under TMPDIR, on the disk being measured) and is removed at the end, with the servers it started.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source Tools/setup.sh

big_bytes="${ICAT_BENCH_IDS_BYTES:-1073741824}"
small_bytes="${ICAT_BENCH_IDS_SMALL_BYTES:-268435456}"
zip_files="${ICAT_BENCH_IDS_ZIP_FILES:-1000}"
zip_bytes="${ICAT_BENCH_IDS_ZIP_BYTES:-268435456}"
rounds="${ICAT_BENCH_IDS_ROUNDS:-3}"

# nginx from Debian's packages, installed as Tools/setup.sh installs the project's packages.
install_nginx() {
    if command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]]; then return 0; fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: nginx is missing and there is no apt-get to install it" >&2
        return 1
    fi
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "error: nginx is missing, and not root and no sudo to install it" >&2
            return 1
        fi
        sudo=(sudo)
    fi
    echo "==> installing nginx" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nginx
}

swift build -c release --product icat
install_nginx
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

work="$(mktemp -d "${TMPDIR:-/tmp}/icat-bench-ids.XXXXXX")"
server_pid=""
nginx_pid=""
stop() {
    local pid="$1"
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop "$server_pid"
    stop "$nginx_pid"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_for URL PID: until URL answers 200, failing if PID exits or 30 s pass.
wait_for() {
    local url="$1" pid="$2" i
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        curl -sf -o /dev/null "$url" && return 0
        sleep 0.2
    done
    return 1
}
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
mib_per_s() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / 1048576 / t }'; }
mib() { awk -v n="$1" 'BEGIN { printf "%.0f MiB", n / 1048576 }'; }
best() { printf '%s\n' "$@" | sort -g | head -n 1; }
# reply_field JSON NAME: a number field of a flat JSON object.
reply_field() { sed -n "s/.*\"$2\": *\([0-9]*\).*/\1/p" <<<"$1"; }

mkdir -p "$work/www/zip" "$work/copies" "$work/nginx/temp"

# ---- the files: random bytes, so nothing gains from compression ---------------------------------------------------
sizes=()
((small_bytes > 0 && small_bytes != big_bytes)) && sizes+=("$small_bytes")
sizes+=("$big_bytes")
for size in "${sizes[@]}"; do
    echo "==> making a file of $(mib "$size")" >&2
    head -c "$size" /dev/urandom >"$work/www/single-$size.bin"
done
echo "==> making $zip_files files of $(mib "$zip_bytes") in all" >&2
python3 - "$work/www/zip" "$zip_files" "$zip_bytes" <<'PY'
import os, sys
directory, count, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(count):
    size = total // count + (1 if i < total % count else 0)
    with open(os.path.join(directory, f"f{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY

# ---- nginx: a private configuration serving $work/www, sendfile on ----------------------------------------------
nginx_port="$(free_port)"
nginx_url="http://127.0.0.1:$nginx_port"
nginx_user=""
# Its master runs as root only when we are root; then its worker must read our private temporary directory.
[[ "$(id -u)" == 0 ]] && nginx_user="user $(id -un) $(id -gn);"
cat >"$work/nginx/nginx.conf" <<EOF
$nginx_user
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
    sendfile on;
    tcp_nopush on;
    access_log off;
    keepalive_requests 100000;
    default_type application/octet-stream;
    client_body_temp_path $work/nginx/temp/body;
    proxy_temp_path $work/nginx/temp/proxy;
    fastcgi_temp_path $work/nginx/temp/fastcgi;
    uwsgi_temp_path $work/nginx/temp/uwsgi;
    scgi_temp_path $work/nginx/temp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
    }
}
EOF
echo ok >"$work/www/probe"
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" >"$work/nginx/stdout.log" 2>&1 &
nginx_pid=$!
if ! wait_for "$nginx_url/probe" "$nginx_pid"; then
    echo "error: nginx did not start:" >&2
    cat "$work/nginx/stdout.log" "$work/nginx/error.log" >&2 || true
    exit 1
fi

# ---- the reference figures, shared by every store -----------------------------------------------------------------
declare -A result
echo "data service benchmark: loopback, files on $(df --output=source "$work" | tail -n 1)" \
    "($(findmnt -no FSTYPE -T "$work" 2>/dev/null || echo '?')), $(nproc) cores, load average" \
    "$(cut -d ' ' -f 1-3 /proc/loadavg), best of $rounds rounds"
# What one core of this machine hashes: a put computes both checksums in line, so it cannot go faster than this.
python3 - <<'PY'
import hashlib, os, time, zlib
data = os.urandom(1 << 20) * 256
start = time.perf_counter(); hashlib.sha256(data).digest(); sha = 256 / (time.perf_counter() - start)
start = time.perf_counter(); zlib.crc32(data); crc = 256 / (time.perf_counter() - start)
print(f"one core hashes: SHA-256 (OpenSSL) {sha:.0f} MiB/s, CRC32 (zlib) {crc:.0f} MiB/s,"
      f" both in turn {1 / (1 / sha + 1 / crc):.0f} MiB/s")
PY
for size in "${sizes[@]}"; do
    src="$work/www/single-$size.bin"
    times=()
    for ((round = 1; round <= rounds; round++)); do
        rm -f "$work/copies/copy"
        sync
        start=$EPOCHREALTIME
        cp "$src" "$work/copies/copy"
        sync "$work/copies/copy"
        times+=("$(seconds_since "$start")")
        echo "round $round  cp+sync     $(mib "$size")  $(mib_per_s "$size" "${times[-1]}") MiB/s  (${times[-1]} s)"
    done
    rm -f "$work/copies/copy"
    result[cp:$size]="$(best "${times[@]}")"
    times=()
    for ((round = 1; round <= rounds; round++)); do
        start=$EPOCHREALTIME
        got="$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "$nginx_url/single-$size.bin")"
        times+=("$(seconds_since "$start")")
        [[ "$got" == "200 $size" ]] || { echo "error: nginx answered $got" >&2; exit 1; }
        echo "round $round  nginx       $(mib "$size")  $(mib_per_s "$size" "${times[-1]}") MiB/s  (${times[-1]} s)"
    done
    result[nginx:$size]="$(best "${times[@]}")"
done
# One keep-alive connection fetching every file of the dataset, one after another.
for name in "$work"/www/zip/*.bin; do
    printf 'url = "%s/zip/%s"\noutput = "/dev/null"\n' "$nginx_url" "${name##*/}"
done >"$work/nginx-zip.curl"
times=()
for ((round = 1; round <= rounds; round++)); do
    start=$EPOCHREALTIME
    codes="$(curl -sS -K "$work/nginx-zip.curl" -w '%{http_code}\n' | grep -c '^200$' || true)"
    times+=("$(seconds_since "$start")")
    ((codes == zip_files)) || { echo "error: nginx served $codes of $zip_files files" >&2; exit 1; }
    echo "round $round  nginx       $zip_files files  $(mib_per_s "$zip_bytes" "${times[-1]}") MiB/s  (${times[-1]} s)"
done
result[nginx:zip]="$(best "${times[@]}")"

# ---- one store ---------------------------------------------------------------------------------------------------
rss_kb() { awk "/^$1:/ {print \$2}" "/proc/$server_pid/status"; }
# Resets the server's peak resident memory (VmHWM) to its current one, so that each transfer's peak is its own.
reset_peak() { echo 5 >"/proc/$server_pid/clear_refs"; }

# bench_store LABEL [SERVE ARGUMENTS...]: starts the server (SQLite catalog, a fresh store) with the arguments, and
# measures it: single-file put and getData for each size, then the dataset's puts and its zip; results under LABEL.
bench_store() {
    local label="$1"
    shift
    local dir="$work/$label" port
    mkdir -p "$dir/store"
    port="$(free_port)"
    local url="http://127.0.0.1:$port"
    .build/release/icat serve --database "sqlite:$dir/catalog.sqlite" --storage "$dir/store" --host 127.0.0.1 \
        --port "$port" --log-level warning "$@" >"$dir/server.log" 2>&1 &
    server_pid=$!
    if ! wait_for "$url/health" "$server_pid"; then
        echo "error: the server did not start:" >&2
        tail -n 20 "$dir/server.log" >&2
        exit 1
    fi
    local fixtures sid single_ds zip_ds format
    fixtures="$(python3 - "$url" <<'PY'
import json, sys, urllib.request
url = sys.argv[1] + "/rpc"
def call(method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    reply = json.load(urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"})))
    if "error" in reply:
        raise SystemExit(f"{method}: {reply['error']}")
    return reply["result"]
sid = call("login", {"plugin": "simple", "credentials": {"username": "root", "password": "secret"}})["sessionId"]
def search(query):
    return call("search", {"sessionId": sid, "query": query})
fac = call("create", {"sessionId": sid, "entity": {"Facility": {
    "name": "bench", "investigationTypes": [{"name": "exp"}], "datasetTypes": [{"name": "raw"}],
    "datafileFormats": [{"name": "bin", "version": "1"}]}}})
itype = search(f"SELECT t.id FROM InvestigationType t WHERE t.facility.id = {fac}")[0]
dtype = search(f"SELECT t.id FROM DatasetType t WHERE t.facility.id = {fac}")[0]
fmt = search(f"SELECT t.id FROM DatafileFormat t WHERE t.facility.id = {fac}")[0]
inv = call("create", {"sessionId": sid, "entity": {"Investigation": {
    "name": "bench", "visitId": "v1", "title": "data service benchmark", "facility": {"id": fac},
    "type": {"id": itype}, "datasets": [{"name": "single", "type": {"id": dtype}},
                                        {"name": "zip", "type": {"id": dtype}}]}}})
ds = dict(search(f"SELECT ds.name, ds.id FROM Dataset ds WHERE ds.investigation.id = {inv}"))
print(sid, ds["single"], ds["zip"], fmt)
PY
)"
    read -r sid single_ds zip_ds format <<<"$fixtures"
    local ids="$url/ids"
    result[$label:rss-start]="$(rss_kb VmRSS)"

    local size src round start times reply id got crc
    for size in "${sizes[@]}"; do
        src="$work/www/single-$size.bin"
        crc="$(python3 -c 'import sys, zlib
crc = 0
with open(sys.argv[1], "rb") as f:
    while chunk := f.read(1 << 23):
        crc = zlib.crc32(chunk, crc)
print(crc)' "$src")"
        reset_peak
        times=()
        for ((round = 1; round <= rounds; round++)); do
            sync
            start=$EPOCHREALTIME
            # No "Expect: 100-continue": the body goes at once, as IDS clients send it.
            reply="$(curl -sS -H 'Expect:' -T "$src" -w '\n%{http_code}' \
                "$ids/put?sessionId=$sid&name=single-$size-$round&datasetId=$single_ds&datafileFormatId=$format")"
            times+=("$(seconds_since "$start")")
            if [[ "${reply##*$'\n'}" != 201 || "$(reply_field "$reply" size)" != "$size" ]] ||
                [[ "$(reply_field "$reply" checksum)" != "$crc" ]]; then
                echo "error: put answered: $reply (expected $size bytes, CRC32 $crc)" >&2
                exit 1
            fi
            id="$(reply_field "$reply" id)"
            echo "round $round  [$label] put      $(mib "$size")  $(mib_per_s "$size" "${times[-1]}") MiB/s  (${times[-1]} s)"
        done
        result[$label:put:$size]="$(best "${times[@]}")"
        # Once untimed: the bytes served are the bytes uploaded.
        if ! curl -sS "$ids/getData?sessionId=$sid&datafileIds=$id" | cmp -s - "$src"; then
            echo "error: getData did not give back the uploaded bytes" >&2
            exit 1
        fi
        times=()
        for ((round = 1; round <= rounds; round++)); do
            start=$EPOCHREALTIME
            got="$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "$ids/getData?sessionId=$sid&datafileIds=$id")"
            times+=("$(seconds_since "$start")")
            [[ "$got" == "200 $size" ]] || { echo "error: getData answered $got" >&2; exit 1; }
            echo "round $round  [$label] getData  $(mib "$size")  $(mib_per_s "$size" "${times[-1]}") MiB/s  (${times[-1]} s)"
        done
        result[$label:get:$size]="$(best "${times[@]}")"
        result[$label:rss:$size]="$(rss_kb VmHWM)"
    done

    # The dataset: every file put over one keep-alive connection (timed on its own), then read back as one zip.
    local name
    for name in "$work"/www/zip/*.bin; do
        name="${name##*/}"
        printf 'url = "%s/put?sessionId=%s&name=%s&datasetId=%s&datafileFormatId=%s"\nupload-file = "%s"\noutput = "/dev/null"\n' \
            "$ids" "$sid" "$name" "$zip_ds" "$format" "$work/www/zip/$name"
    done >"$dir/put-zip.curl"
    reset_peak
    start=$EPOCHREALTIME
    got="$(curl -sS -H 'Expect:' -K "$dir/put-zip.curl" -w '%{http_code}\n' | grep -c '^201$' || true)"
    result[$label:put:zip]="$(seconds_since "$start")"
    ((got == zip_files)) || { echo "error: put stored $got of $zip_files files" >&2; exit 1; }
    echo "       [$label] put      $zip_files files  $(mib_per_s "$zip_bytes" "${result[$label:put:zip]}") MiB/s  (${result[$label:put:zip]} s)"
    result[$label:rss:zip-put]="$(rss_kb VmHWM)"
    reset_peak
    local zip_url="$ids/getData?sessionId=$sid&datasetIds=$zip_ds"
    # Once untimed: a valid zip holding every file, each entry's CRC checked.
    curl -sS -o "$dir/dataset.zip" "$zip_url"
    unzip -tqq "$dir/dataset.zip" || { echo "error: unzip -t found the zip invalid" >&2; exit 1; }
    python3 - "$dir/dataset.zip" "$work/www/zip" "$zip_files" <<'PY' || exit 1
import os, sys, zipfile
path, directory, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with zipfile.ZipFile(path) as z:
    infos = z.infolist()
    bad = z.testzip()
    if bad is not None or len(infos) != count:
        raise SystemExit(f"error: the zip has {len(infos)} entries of {count}; first bad entry: {bad}")
    if any(i.compress_type != zipfile.ZIP_STORED for i in infos):
        raise SystemExit("error: the zip's entries are not stored")
    sample = infos[len(infos) // 2]
    with open(os.path.join(directory, os.path.basename(sample.filename)), "rb") as f:
        if z.read(sample) != f.read():
            raise SystemExit(f"error: {sample.filename} differs from the file put")
PY
    result[$label:zip-length]="$(stat -c %s "$dir/dataset.zip")"
    rm -f "$dir/dataset.zip"
    times=()
    for ((round = 1; round <= rounds; round++)); do
        start=$EPOCHREALTIME
        got="$(curl -sS -o /dev/null -w '%{http_code} %{size_download}' "$zip_url")"
        times+=("$(seconds_since "$start")")
        [[ "$got" == "200 ${result[$label:zip-length]}" ]] || { echo "error: the zip download answered $got" >&2; exit 1; }
        echo "round $round  [$label] zip      $zip_files files  $(mib_per_s "$zip_bytes" "${times[-1]}") MiB/s  (${times[-1]} s)"
    done
    result[$label:get:zip]="$(best "${times[@]}")"
    result[$label:rss:zip]="$(rss_kb VmHWM)"
    stop "$server_pid"
    server_pid=""
}

bench_store local
# ---- S3 store: NOT MEASURED YET -----------------------------------------------------------------------------------
# The S3 store (issue 12, item 3) is being written separately. Once it is in the build: start moto_server from
# Tools/python-env.sh's venv on a free port here, write a configuration whose storage.main is that S3 store, call
#   bench_store s3 --config "$work/s3.yaml"
# and add "s3" to the stores the summary prints. Until then the summary says so; no figure is made up.
stores=(local)

# ---- summary ------------------------------------------------------------------------------------------------------
ratio() { awk -v ref="$1" -v ours="$2" 'BEGIN { printf "%.2f", ref / ours }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "ok" : "BELOW") }'; }
row() { # what, ours (time), reference name, reference (time), bytes, target
    local r
    r="$(ratio "$4" "$2")"
    printf '%-28s %8s MiB/s   %-13s %8s MiB/s   %5s   >= %-4s %s\n' "$1" "$(mib_per_s "$5" "$2")" "$3" \
        "$(mib_per_s "$5" "$4")" "$r" "$6" "$(verdict "$r" "$6")"
}
echo
echo "summary (best of $rounds; ratio = ours / reference, rates of the files' bytes)"
printf '%-28s %14s   %-28s   %5s   %s\n' "" "ours" "reference" "ratio" "target"
for store in "${stores[@]}"; do
    for size in "${sizes[@]}"; do
        row "[$store] put $(mib "$size")" "${result[$store:put:$size]}" "cp+sync" "${result[cp:$size]}" "$size" 0.5
        row "[$store] getData $(mib "$size")" "${result[$store:get:$size]}" "nginx" "${result[nginx:$size]}" "$size" 0.8
    done
    row "[$store] zip of $zip_files files" "${result[$store:get:zip]}" "nginx, 1 by 1" "${result[nginx:zip]}" \
        "$zip_bytes" 0.5
    printf '%-28s %8s MiB/s   (%s files over one connection, %s s)\n' "[$store] put $zip_files files" \
        "$(mib_per_s "$zip_bytes" "${result[$store:put:zip]}")" "$zip_files" "${result[$store:put:zip]}"
done
echo
echo "server peak resident memory (VmHWM, reset before each step: a size's puts and downloads, the dataset's puts," \
    "its zip downloads; target < 100 MiB, flat)"
for store in "${stores[@]}"; do
    line="[$store] at start $((${result[$store:rss-start]} / 1024)) MiB"
    peak=0
    for size in "${sizes[@]}"; do
        line+=", $(mib "$size") file $((${result[$store:rss:$size]} / 1024)) MiB"
        ((${result[$store:rss:$size]} > peak)) && peak=${result[$store:rss:$size]}
    done
    line+=", $zip_files puts $((${result[$store:rss:zip-put]} / 1024)) MiB"
    line+=", their zip $((${result[$store:rss:zip]} / 1024)) MiB"
    ((${result[$store:rss:zip-put]} > peak)) && peak=${result[$store:rss:zip-put]}
    ((${result[$store:rss:zip]} > peak)) && peak=${result[$store:rss:zip]}
    echo "$line"
    line="[$store] highest $((peak / 1024)) MiB: $( ((peak < 100 * 1024)) && echo ok || echo ABOVE)"
    if ((${#sizes[@]} > 1)); then
        line+="; $(mib "${sizes[-1]}") file / $(mib "${sizes[0]}") file:"
        line+=" $(awk -v a="${result[$store:rss:${sizes[-1]}]}" -v b="${result[$store:rss:${sizes[0]}]}" \
            'BEGIN { printf "%.2f", a / b }')"
    fi
    echo "$line"
done
echo "[s3] not measured: the S3 store is not in this build yet (see the S3 section of Tools/bench-ids.sh)"
