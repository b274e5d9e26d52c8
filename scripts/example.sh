#!/usr/bin/env bash
# tollgate's main job on the bundled example monorepo (examples/monorepo):
# check the strategy (lint), show the plan of the `pr` pipeline, then run it
# with real pytest and cargo-nextest. Safe on a fresh machine: it builds
# tollgate and gives the example a venv with pytest when it has none.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
example=examples/monorepo
pipeline=${1:-pr}

# cargo's own progress shows while it builds (minutes on a fresh machine).
echo "==> building tollgate (release)" >&2
cargo build --release -p tollgate
tollgate="$root/target/release/tollgate"

if [ ! -x "$example/.venv/bin/python" ] || ! "$example/.venv/bin/python" -c "import pytest" 2>/dev/null; then
    echo "==> creating $example/.venv with pytest" >&2
    python3 -m venv "$example/.venv"
    "$example/.venv/bin/pip" install --quiet --disable-pip-version-check "pytest==9.2.0"
fi

cd "$example"
echo "==> tollgate lint" >&2
"$tollgate" lint
echo "==> tollgate plan --pipeline $pipeline" >&2
"$tollgate" plan --pipeline "$pipeline"
# This machine has no GPU: the jobs that need one are declared optional
# here, so the verdict is about what can run (without it: INCOMPLETE, exit 4).
optional=()
while read -r job; do
    [ -n "$job" ] && optional+=(--optional "$job")
done < <("$tollgate" plan --pipeline "$pipeline" --format json 2>/dev/null | python3 -c '
import json, sys
for job in json.load(sys.stdin)["jobs"]:
    if job["runner"]["gpus"] > 0:
        print(job["name"])
')
echo "==> tollgate run --pipeline $pipeline ${optional[*]}" >&2
"$tollgate" run --pipeline "$pipeline" "${optional[@]}" \
    --junit "$root/target/example-$pipeline.junit.xml" \
    --json "$root/target/example-$pipeline.json"
# The run was recorded in the example's history store (.tollgate/history.db);
# judge it with the pipeline's quality gate (exit 1 when blocked).
echo "==> tollgate gate --pipeline $pipeline" >&2
"$tollgate" gate --pipeline "$pipeline"
