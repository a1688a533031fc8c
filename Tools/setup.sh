#!/usr/bin/env bash
# Installs the Debian packages the project needs that are missing, and puts the Swift toolchain on PATH.
# Sourced by Tools/serve.sh and Tools/test.sh; run on its own it installs everything:
#   Tools/setup.sh [server|test]     server: build and run (SQLite, libxml2); test: also PostgreSQL 15
if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

icat_install_packages() {
    local packages=(libsqlite3-dev libxml2-dev zlib1g-dev libgraphviz-dev)
    [[ "${1:-test}" == test ]] && packages+=(postgresql-15 sqlite3 python3-venv chromium)
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        echo "==> no dpkg/apt; not installing ${packages[*]} (make sure they are present)" >&2
        return 0
    fi
    local missing=() pkg
    for pkg in "${packages[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    ((${#missing[@]} == 0)) && return 0
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "error: missing packages ${missing[*]}, and not root and no sudo to install them" >&2
            return 1
        fi
    fi
    echo "==> installing ${missing[*]}" >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    icat_install_packages "${1:-test}"
fi
