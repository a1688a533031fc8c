#!/usr/bin/env bash
# Fetches the example ICAT data files python-icat publishes (icatdump-6.2.xml/.yaml and friends) from PyPI into
# .build/python-icat-examples/, once, with python-icat's reference summaries of the 6.2 example (how many objects
# of each type a real ICAT shows root and each example user). The tests use them as real-world inputs.
#   Tools/fetch-examples.sh          prints the directory
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.7.0
target=.build/python-icat-examples
if [[ ! -f "$target/icatdump-6.2.xml" || ! -f "$target/summary-6.2.jdoe" ]]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    python3 -m pip download --quiet --no-deps --no-binary :all: "python-icat==$version" -d "$work" >&2
    tar -xzf "$work"/python_icat-"$version".tar.gz -C "$work"
    src=$(find "$work" -maxdepth 1 -type d -iname "python*icat-$version")
    mkdir -p "$target"
    cp "$src"/doc/examples/icatdump-*.xml "$src"/doc/examples/icatdump-*.yaml "$target"/
    # What a real ICAT shows each user of the 6.2 example (python-icat's own test references, made by icatsummary).
    cp "$src"/tests/data/summary-6.2* "$target"/
fi
echo "$PWD/$target"
