#!/usr/bin/env bash
# Builds (release) and runs the catalog server; with no arguments on the embedded default: SQLite at
# ./icat-data/catalog.sqlite, files under ./icat-data/files, http://127.0.0.1:8080, the development log-ins
# (simple/root with password "secret", and anon). Arguments go to `icat serve`, e.g. --port 9000 --config FILE.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source Tools/setup.sh
icat_install_packages server
swift build -c release --product icat
exec .build/release/icat serve "$@"
