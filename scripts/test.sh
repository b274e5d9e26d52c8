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

if cargo nextest --version >/dev/null 2>&1; then
    exec cargo nextest run --workspace --no-fail-fast "$@"
else
    echo "==> cargo-nextest not found; falling back to cargo test" >&2
    exec cargo test --workspace --no-fail-fast "$@"
fi
