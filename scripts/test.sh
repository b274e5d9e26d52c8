#!/usr/bin/env bash
# Runs tollgate's whole test suite, as CI does. Safe on a fresh machine:
# it creates the Python venv the agreement tests need (real pytest is the
# oracle that tollgate's static collector is compared against).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTEST_VERSION="9.2.0"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import pytest" 2>/dev/null; then
    echo "==> creating .venv with pytest==${PYTEST_VERSION}" >&2
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "pytest==${PYTEST_VERSION}"
fi
# A real SMTP server for the alert end-to-end tests (crates/tollgate/tests/notify_e2e.rs).
AIOSMTPD_VERSION="1.4.6"
if ! .venv/bin/python -c "import aiosmtpd" 2>/dev/null; then
    echo "==> installing aiosmtpd==${AIOSMTPD_VERSION} into .venv" >&2
    .venv/bin/pip install --quiet --disable-pip-version-check "aiosmtpd==${AIOSMTPD_VERSION}"
fi
export TOLLGATE_PYTHON="$PWD/.venv/bin/python"
# A second venv with widely used pytest plugins installed: the oracle of the
# fixtures that check tollgate's plugin models (tests/fixtures/python/plugin_models).
# Kept apart so no plugin changes what the other fixtures collect.
PLUGINS=("pytest==${PYTEST_VERSION}" "anyio==4.16.0" "trio==0.35.0" "pytest-asyncio==1.5.0"
    "pytest-trio==0.8.0" "pytest-repeat==0.9.4" "pytest-timeout==2.4.0" "pytest-xdist==3.8.0"
    "hypothesis==6.170.27")
if [ ! -x .venv-plugins/bin/python ] || ! .venv-plugins/bin/python -c "import pytest_repeat, anyio, trio, pytest_asyncio, pytest_timeout, xdist, hypothesis, pytest_trio" 2>/dev/null; then
    echo "==> creating .venv-plugins with ${PLUGINS[*]}" >&2
    python3 -m venv .venv-plugins
    .venv-plugins/bin/pip install --quiet --disable-pip-version-check "${PLUGINS[@]}"
fi
export TOLLGATE_PLUGINS_PYTHON="$PWD/.venv-plugins/bin/python"

# PostgreSQL tests are #[ignore]d (a machine without the server reports them
# skipped, not passed). They run when the server answers, and always under CI,
# where an unreachable server fails them.
PG_URL="${TOLLGATE_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
PG_HOST="$(printf '%s' "$PG_URL" | sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]+).*#\2#')"
PG_PORT="$(printf '%s' "$PG_URL" | sed -nE 's#^[a-z]+://([^@/]*@)?[^:/?]+:([0-9]+).*#\2#p')"
PG_PORT="${PG_PORT:-5432}"
HAVE_PG=""
if [ -n "${CI:-}" ] || timeout 5 bash -c "exec 3<>/dev/tcp/$PG_HOST/$PG_PORT" 2>/dev/null; then
    HAVE_PG=1
else
    echo "==> PostgreSQL at $PG_HOST:$PG_PORT does not answer: its tests are left out (set CI=1 to fail them)" >&2
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "==> cargo-nextest not found; falling back to cargo test" >&2
    if [ -n "$HAVE_PG" ]; then
        exec cargo test --workspace --no-fail-fast "$@" -- --include-ignored
    fi
    exec cargo test --workspace --no-fail-fast "$@"
fi

# Arguments go to nextest directly: `scripts/test.sh -p tollgate-store`.
if [ $# -gt 0 ]; then
    IGNORED=()
    [ -n "$HAVE_PG" ] && IGNORED=(--run-ignored all)
    exec cargo nextest run --workspace --no-fail-fast "${IGNORED[@]}" "$@"
fi

# Without arguments tollgate runs its own suite (dogfood): the `ci` pipeline of
# ./tollgate.toml through `tollgate run` (jobs unit, integration, postgres),
# recorded in target/tollgate-history.db, judged by `tollgate gate`, and
# reported as HTML and Markdown in target/tollgate-report/.
echo "==> building tollgate (debug) to run its own suite" >&2
cargo build -p tollgate
TOLLGATE="$PWD/target/debug/tollgate"
REPORT_DIR="target/tollgate-report"
mkdir -p "$REPORT_DIR"
RUN_ARGS=(--pipeline ci --json "$REPORT_DIR/tollgate-run.json" --junit "$REPORT_DIR/tollgate-junit.xml")
if [ -n "$HAVE_PG" ]; then
    RUN_ARGS+=(--provides postgres)
else
    RUN_ARGS+=(--optional postgres)
fi
status=0
"$TOLLGATE" run "${RUN_ARGS[@]}" || status=$?
"$TOLLGATE" report --pipeline ci --html "$REPORT_DIR/tollgate.html" \
    --markdown-file "$REPORT_DIR/tollgate.md" || status=$((status ? status : $?))
echo "==> report: $REPORT_DIR/tollgate.html, summary: $REPORT_DIR/tollgate.md" >&2
gate=0
"$TOLLGATE" gate --pipeline ci || gate=$?
if [ "$status" -eq 0 ]; then status=$gate; fi
exit "$status"
