#!/usr/bin/env bash
# Makes (once) the Python virtual environment the tests use, .build/python-venv, with Tools/requirements.txt
# installed, and prints its bin directory. Reinstalls when the requirements change.
#   Tools/python-env.sh          prints e.g. /path/to/repo/.build/python-venv/bin
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/python-venv
stamp="$venv/requirements.txt"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s Tools/requirements.txt "$stamp"; then
    echo "==> making $venv (Tools/requirements.txt)" >&2
    mkdir -p .build
    python3 -m venv "$venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r Tools/requirements.txt >&2
    cp Tools/requirements.txt "$stamp"
fi
echo "$PWD/$venv/bin"
