#!/usr/bin/env bash
# Agreement and speed of `tollgate collect --lang rust` against `cargo nextest list`
# on real workspaces, default features (from a clean target dir: build + list, then
# warm) and --all-features (warm), each through bench/rust_realworld.py.
#
#   cargo build --release -p tollgate
#   bench/rust_realworld_all.sh DIR...      # e.g. work trees of BurntSushi/ripgrep,
#                                           # BurntSushi/memchr, rust-lang/regex
# Env: RUNS (default 5), TARGET_ROOT (default /tmp/tollgate-bench-target: one
# target dir per workspace, deleted first by --clean), TOOLCHAIN (a rustup
# toolchain for cargo, e.g. nightly when a workspace needs a newer rustc).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
runs="${RUNS:-5}"
target_root="${TARGET_ROOT:-/tmp/tollgate-bench-target}"
toolchain=()
if [ -n "${TOOLCHAIN:-}" ]; then toolchain=(--toolchain "$TOOLCHAIN"); fi
for dir in "$@"; do
  name="$(basename "$dir")"
  echo "== $name (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  python3 "$here/rust_realworld.py" --project "$dir" --target-dir "$target_root/$name" \
    "${toolchain[@]}" --clean --runs "$runs" --show 10
  python3 "$here/rust_realworld.py" --project "$dir" --target-dir "$target_root/$name" \
    "${toolchain[@]}" --runs "$runs" --show 10 -- --all-features \
    || echo "($name does not build with --all-features here)"
done
