#!/usr/bin/env bash
# Assembles the mistakes example into DEST: examples/monorepo (the clean
# example) with examples/monorepo-mistakes laid over it. The mistakes
# directory keeps only what differs (its tests with mistakes, tollgate.toml,
# pyproject.toml, MISTAKES.md), so the two cannot drift apart.
#
#   scripts/mistakes-example.sh /tmp/mistakes && tollgate lint --config /tmp/mistakes/tollgate.toml
#
# The one way to build it: tollgate-lint's tests call this script too.
set -euo pipefail
if [ $# -ne 1 ]; then
    echo "usage: $0 DEST (an empty or new directory)" >&2
    exit 2
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
dest=$1
mkdir -p "$dest"
if [ -n "$(ls -A "$dest")" ]; then
    echo "$0: $dest is not empty" >&2
    exit 2
fi
# Build output, caches and venvs a local run may have left in the trees.
excludes=(--exclude=target --exclude=__pycache__ --exclude=.pytest_cache --exclude=.venv --exclude=.tollgate)
tar -C "$repo/examples/monorepo" "${excludes[@]}" -cf - . | tar -C "$dest" -xf -
rm -f "$dest/MARKING.md" "$dest/README.md"
tar -C "$repo/examples/monorepo-mistakes" "${excludes[@]}" -cf - . | tar -C "$dest" -xf -
# The clean example's target dir is relative to its place in the repository.
mkdir -p "$dest/.cargo"
printf '# Written by scripts/mistakes-example.sh.\n[build]\ntarget-dir = "%s/target/examples-mistakes"\n' \
    "$repo" >"$dest/.cargo/config.toml"
