#!/usr/bin/env bash
# What a new user does on a fresh Rust + Python project of their own, checked:
#
#   1. for each preset: `init`, `lint`, `plan --pipeline pr` (which writes
#      nothing), `run --pipeline pr` passes, with and without pre-commit on
#      PATH; the dynamo preset on a project with Dynamo's own tools
#      (.pre-commit-config.yaml, container/build.sh) keeps their jobs, and a
#      runner without pre-commit makes the run an infrastructure error;
#   2. then (minimal preset) one failing, one flaky and one timed-out test and
#      a test file with a syntax error: the assertion text and the timeout are
#      on the console, the syntax error fails lint and the run, the verdicts
#      say failed / flaky / timed out;
#   3. a Rust build failure: its tests are "not run (build failed)", the
#      compiler's error is on the console;
#   4. a gating job this machine cannot run (a GPU job): the run is
#      INCOMPLETE (exit 4) unless the job is declared optional;
#   5. usage errors: a path that does not exist, `collect -m` selecting
#      nothing (exit 5), a quarantine entry already expired; a quarantine
#      pattern matching no test is warned about;
#   6. no Rust Debug dump (`Name { .. }`, `Code(1)`) in any output.
#
# Run by CI (.ci/run). Needs python3 and cargo (cargo-nextest when present);
# makes its own venv with pytest unless the repository's .venv has one.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cargo build -p tollgate
tollgate="$repo/target/debug/tollgate"

work=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-new-user.XXXXXX")
trap 'rm -rf "$work"' EXIT
outputs="$work/outputs"
mkdir -p "$outputs"

python=""
for candidate in "$repo/.venv/bin/python" "$work/venv/bin/python"; do
    if [ -x "$candidate" ] && "$candidate" -c "import pytest" 2>/dev/null; then
        python=$candidate
        break
    fi
done
if [ -z "$python" ]; then
    echo "==> a venv with pytest for the demo project" >&2
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet --disable-pip-version-check "pytest==9.2.0"
    python="$work/venv/bin/python"
fi

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# run_tg NAME EXPECTED_EXIT ARGS...: runs tollgate in the project, keeps its
# stdout+stderr in $outputs/NAME.txt and checks the exit code.
run_tg() {
    local name=$1 expected=$2
    shift 2
    local status=0
    (cd "$project" && "$tollgate" "$@") >"$outputs/$name.txt" 2>&1 || status=$?
    if [ "$status" != "$expected" ]; then
        cat "$outputs/$name.txt" >&2
        fail "tollgate $* exited $status, expected $expected"
    fi
    echo "ok: tollgate $* (exit $status)"
}

expect_in() {
    local name=$1 needle=$2
    grep -qF -- "$needle" "$outputs/$name.txt" || {
        cat "$outputs/$name.txt" >&2
        fail "'$needle' is not in the output of $name"
    }
}

# A fresh project: a Rust crate with a unit and an integration test, and
# Python tests with the markers both presets want.
new_project() {
    project="$work/$1"
    rm -rf "$project"
    # Laid out as the dynamo preset expects (Rust crates under lib/, Python
    # tests under components/*/tests/); the minimal preset takes any layout.
    crate="$project/lib/demo"
    pytests="$project/components/demo/tests"
    mkdir -p "$crate/src" "$crate/tests" "$pytests"
    cat >"$project/Cargo.toml" <<'EOF'
[workspace]
resolver = "2"
members = ["lib/demo"]
EOF
    cat >"$crate/Cargo.toml" <<'EOF'
[package]
name = "demo"
version = "0.1.0"
edition = "2021"

[features]
integration = []
EOF
    cat >"$crate/src/lib.rs" <<'EOF'
pub fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(super::add(2, 2), 4);
    }
}
EOF
    # The dynamo preset wants Rust integration tests behind a feature (TG401).
    local gate=""
    [ "$2" = dynamo ] && gate='#![cfg(feature = "integration")]'
    cat >"$crate/tests/it.rs" <<EOF
$gate

#[test]
fn adds_from_outside() {
    assert_eq!(demo::add(1, 2), 3);
}
EOF
    cat >"$project/pyproject.toml" <<'EOF'
[tool.pytest.ini_options]
testpaths = ["components"]
EOF
    # Each preset's taxonomy: the dynamo one also wants a hardware marker.
    local hardware=""
    [ "$2" = dynamo ] && hardware="@pytest.mark.gpu_0"
    cat >"$pytests/test_demo_math.py" <<EOF
import pytest


@pytest.mark.pre_merge
@pytest.mark.unit
$hardware
def test_add():
    assert 1 + 1 == 2
EOF
    git -C "$project" init -q
    ln -s "$(dirname "$(dirname "$python")")" "$project/.venv"
}

# PATH without pre-commit, and PATH with a pre-commit that passes.
no_precommit_path=$(
    IFS=:
    for dir in $PATH; do
        [ -x "$dir/pre-commit" ] || printf '%s:' "$dir"
    done
)
no_precommit_path=${no_precommit_path%:}
mkdir -p "$work/stub-bin"
printf '#!/bin/sh\nexit 0\n' >"$work/stub-bin/pre-commit"
chmod +x "$work/stub-bin/pre-commit"

echo "==> 1. init, lint, plan, run --pipeline pr with each preset" >&2
for preset in minimal dynamo; do
    new_project "fresh-$preset" "$preset"
    run_tg "init-$preset" 0 init --preset "$preset"
    [ -f "$project/.gitignore" ] && grep -qF '/.tollgate/*' "$project/.gitignore" \
        || fail "init did not make .gitignore ignore .tollgate/"
    expect_in "init-$preset" "commit tollgate.toml"
    run_tg "lint-$preset" 0 lint
    run_tg "plan-$preset" 0 plan --pipeline pr
    [ ! -e "$project/.tollgate/plan" ] || fail "plan wrote files into the work tree"
    PATH="$no_precommit_path" run_tg "run-$preset-without-pre-commit" 0 run --pipeline pr --no-store
    PATH="$work/stub-bin:$PATH" run_tg "run-$preset-with-pre-commit" 0 run --pipeline pr --no-store
    expect_in "run-$preset-with-pre-commit" "pipeline pr: passed"
    grep -qE '^lint +passed' "$outputs/run-$preset-with-pre-commit.txt" \
        || fail "the lint job did not pass with the $preset preset"
    if [ "$preset" = dynamo ]; then
        # Dynamo's own tools are not in a new project: init says what it
        # adapted, and the lint job runs tollgate's checks.
        expect_in "init-$preset" "no .pre-commit-config.yaml here"
        expect_in "init-$preset" "no container/build.sh here"
        grep -qE '^build' "$outputs/run-$preset-with-pre-commit.txt" \
            && fail "the dynamo preset ran a container build the project does not have"
    fi
done

echo "==> 1b. the dynamo preset on a project with Dynamo's tools" >&2
# With .pre-commit-config.yaml and container/build.sh the preset keeps the
# seeds' jobs; a runner without pre-commit cannot run the gating lint job,
# and the run says so (infrastructure error, exit 3): never a silent pass.
new_project tools-dynamo dynamo
printf 'repos: []\n' >"$project/.pre-commit-config.yaml"
mkdir -p "$project/container"
printf '#!/bin/sh\necho "building the $2 container"\n' >"$project/container/build.sh"
chmod +x "$project/container/build.sh"
PATH="$no_precommit_path" run_tg init-tools-dynamo 0 init --preset dynamo
expect_in init-tools-dynamo "pre-commit is not on PATH"
grep -qF 'commands = ["pre-commit run --all-files"]' "$project/tollgate.toml" \
    || fail "init dropped pre-commit although the project has .pre-commit-config.yaml"
grep -qF '[jobs.build]' "$project/tollgate.toml" \
    || fail "init dropped the build job although the project has container/build.sh"
PATH="$work/stub-bin:$PATH" run_tg run-tools-dynamo 0 run --pipeline pr --no-store
expect_in run-tools-dynamo "pipeline pr: passed"
grep -qE '^build +passed' "$outputs/run-tools-dynamo.txt" \
    || fail "the build job did not run on a project with container/build.sh"
PATH="$no_precommit_path" run_tg run-tools-dynamo-without-pre-commit 3 run --pipeline pr --no-store
expect_in run-tools-dynamo-without-pre-commit "command not found: \`pre-commit run --all-files\`"

echo "==> 2. a failing, a flaky and a timed-out test, and a syntax error" >&2
new_project trouble minimal
run_tg init-trouble 0 init --preset minimal
cat >"$pytests/test_demo_trouble.py" <<'EOF'
import pathlib
import time

import pytest


@pytest.mark.unit
def test_mul_fails():
    assert 2 * 3 == 7, "multiplication is broken"


@pytest.mark.unit
@pytest.mark.flaky(reruns=1)
def test_flaky():
    first = pathlib.Path(__file__).with_name(".flaky-ran")
    if not first.exists():
        first.write_text("ran")
        assert False, "fails on its first attempt"


@pytest.mark.unit
@pytest.mark.timeout(2)
def test_hangs():
    time.sleep(60)
EOF
printf 'import pytest\n\n\n@pytest.mark.unit\ndef test_broken(:\n    pass\n' \
    >"$pytests/test_demo_syntax.py"
run_tg lint-trouble 1 lint
expect_in lint-trouble "TG502"
expect_in lint-trouble "components/demo/tests/test_demo_syntax.py"
expect_in lint-trouble "error"
run_tg plan-trouble 0 plan --pipeline pr
# The whole pipeline: its gating lint job fails on the syntax error.
run_tg run-trouble-pipeline 1 run --pipeline pr --no-store
expect_in run-trouble-pipeline "FAILED [lint] \`tollgate lint\` failed (exit code 1)"
expect_in run-trouble-pipeline "error TG502 syntax error"
# The test job itself: every failure on the console.
run_tg run-trouble 1 run --pipeline pr --job test --no-store --json "$work/trouble.json"
expect_in run-trouble "assert (2 * 3) == 7"
expect_in run-trouble "multiplication is broken"
expect_in run-trouble "TIMED OUT [test] components/demo/tests/test_demo_trouble.py::test_hangs"
expect_in run-trouble "its timeout"
expect_in run-trouble "FLAKY [test] components/demo/tests/test_demo_trouble.py::test_flaky"
expect_in run-trouble "fails on its first attempt"
expect_in run-trouble "components/demo/tests/test_demo_syntax.py"
expect_in run-trouble "SyntaxError"
expect_in run-trouble "pipeline pr: FAILED"
"$python" - "$work/trouble.json" <<'EOF'
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
want = {
    "components/demo/tests/test_demo_trouble.py::test_mul_fails": "failed",
    "components/demo/tests/test_demo_trouble.py::test_flaky": "flaky",
    "components/demo/tests/test_demo_trouble.py::test_hangs": "timed_out",
    "components/demo/tests/test_demo_syntax.py": "failed",
    "components/demo/tests/test_demo_math.py::test_add": "passed",
}
for id, outcome in want.items():
    got = tests.get(id, {}).get("outcome")
    assert got == outcome, f"{id}: {got}, expected {outcome}"
print("ok: verdicts in the --json file")
EOF

echo "==> 3. a Rust build failure" >&2
new_project build-failure minimal
run_tg init-build 0 init --preset minimal
cat >>"$crate/src/lib.rs" <<'EOF'

#[cfg(test)]
mod broken {
    #[test]
    fn does_not_compile() {
        let n: u32 = "four";
        assert_eq!(n, 4);
    }
}
EOF
run_tg run-build 1 run --pipeline pr --no-store --json "$work/build.json"
expect_in run-build "the Rust test build failed"
expect_in run-build "mismatched types"
expect_in run-build "not run: their build failed"
"$python" - "$work/build.json" <<'EOF'
import json, sys
tests = json.load(open(sys.argv[1]))["tests"]
rust = {id: t["outcome"] for id, t in tests.items() if " " in id}
assert rust and all(o == "not_run" for o in rust.values()), rust
print("ok: tests of the failed build are not run, not failed")
EOF

echo "==> 4. a gating job this machine cannot run" >&2
new_project gpu minimal
run_tg init-gpu 0 init --preset minimal
cat >>"$project/tollgate.toml" <<'EOF'

[jobs.gpu]
description = "Tests on a GPU runner"
stage = 2
gating = true
expr = "integration"
runner = { gpus = 1 }

[pipelines.gpu_pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["test", "gpu"]
EOF
run_tg run-gpu 4 run --pipeline gpu_pr --no-store --gpus 0
expect_in run-gpu "pipeline gpu_pr: INCOMPLETE"
expect_in run-gpu "--optional"
run_tg run-gpu-optional 0 run --pipeline gpu_pr --no-store --gpus 0 --optional gpu
run_tg run-gpu-typo 2 run --pipeline gpu_pr --no-store --optional gpuu

echo "==> 5. usage errors" >&2
run_tg lint-missing-path 2 lint no/such/dir
expect_in lint-missing-path "not found: no/such/dir"
run_tg collect-nothing 5 collect -m "e2e and not e2e"
run_tg collect-unit 0 collect -m unit --lang rust
expect_in collect-unit "demo tests::adds"

run_tg quarantine-expired 2 quarantine add "components/demo/tests/test_demo_math.py::test_add" \
    --reason "races" --expires 2020-01-31
expect_in quarantine-expired "already past"
run_tg quarantine-typo 0 quarantine add "components/demo/tests/test_demo_mth.py::*" \
    --reason "races" --expires 2099-01-31
expect_in quarantine-typo "matches none of the"
run_tg quarantine-ok 0 quarantine add "components/demo/tests/test_demo_math.py::*" \
    --reason "races" --expires 2099-01-31
if grep -q "warning" "$outputs/quarantine-ok.txt"; then
    cat "$outputs/quarantine-ok.txt" >&2
    fail "quarantine add warned about a pattern that matches a test"
fi

echo "==> 6. no Debug dumps in any output" >&2
if grep -nE '[A-Z][A-Za-z]+ \{ [a-z_]+: |Code\([0-9-]+\)|Signal\([0-9]+\)|Some\(' "$outputs"/*.txt \
    | grep -v 'SyntaxError' >"$work/debug-dumps.txt"; then
    cat "$work/debug-dumps.txt" >&2
    fail "Debug formatting in user-facing output"
fi
echo "ok: $(ls "$outputs" | wc -l) outputs checked for Debug dumps"
echo "new-user script: all checks passed"
