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

# PostgreSQL tests are #[ignore]d (a machine without the server reports them
# skipped, not passed). Run them -- today the only ignored tests -- when the
# server answers, and always under CI, where an unreachable server fails them.
PG_URL="${TOLLGATE_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"
PG_HOST="$(printf '%s' "$PG_URL" | sed -E 's#^[a-z]+://([^@/]*@)?([^:/?]+).*#\2#')"
PG_PORT="$(printf '%s' "$PG_URL" | sed -nE 's#^[a-z]+://([^@/]*@)?[^:/?]+:([0-9]+).*#\2#p')"
PG_PORT="${PG_PORT:-5432}"
IGNORED=()
if [ -n "${CI:-}" ] || (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; then
    IGNORED=(--run-ignored all)
else
    echo "==> PostgreSQL at $PG_HOST:$PG_PORT does not answer: its tests are reported SKIPPED (set CI=1 to fail them)" >&2
fi

if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --workspace --no-fail-fast "${IGNORED[@]}" "$@"
else
    echo "==> cargo-nextest not found; falling back to cargo test" >&2
    if [ ${#IGNORED[@]} -gt 0 ]; then
        exec cargo test --workspace --no-fail-fast "$@" -- --include-ignored
    fi
    exec cargo test --workspace --no-fail-fast "$@"
fi
