#!/usr/bin/env bash
# Compares pycollect with pytest in DIR: node ids and marker names, in order.
# Usage: compare.sh DIR [pytest args...]
set -u
dir=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
py=${PYTHON:-$root/.venv/bin/python}
bin=${PYCOLLECT:-$root/target/debug/examples/pycollect}
out=$(mktemp -d)
cd "$dir" || exit 2
DUMP_MARKERS_OUT=$out/pytest.txt PYTHONPATH=$here "$py" -m pytest --collect-only -q \
  -p dump_markers -p no:cacheprovider "$@" >"$out/pytest.log" 2>&1
"$bin" --markers "$@" >"$out/ours.txt" 2>"$out/ours.err"
if diff "$out/pytest.txt" "$out/ours.txt" >"$out/diff.txt"; then
  echo "OK $(wc -l <"$out/ours.txt") items"
else
  echo "DIFF in $out (< pytest, > ours)"; head -${LINES_SHOWN:-40} "$out/diff.txt"; exit 1
fi
