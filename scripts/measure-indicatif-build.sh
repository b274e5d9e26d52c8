#!/usr/bin/env bash
# Build cost of indicatif (tollgate run's progress bars), measured alone:
# a scratch crate depending only on it, its own target dir, a clean build
# in debug and in release. Prints the crates built and the wall times.
# Usage: scripts/measure-indicatif-build.sh [VERSION]   (default 0.18)
set -euo pipefail
version="${1:-0.18}"
dir="$(mktemp -d /tmp/indicatif-build.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
cd "$dir"
cargo init --quiet --name indicatif_build_cost
echo "indicatif = \"$version\"" >> Cargo.toml
cargo fetch --quiet
for profile in dev release; do
  flag=""; [ "$profile" = release ] && flag="--release"
  cargo clean --quiet
  start=$(date +%s.%N)
  crates=$(cargo build $flag 2>&1 | awk '/Compiling/ {print $2 " " $3}' | tr '\n' ' ')
  end=$(date +%s.%N)
  printf '%s: %.1f s wall (load %s) — %s\n' "$profile" "$(awk "BEGIN {print $end - $start}")" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$crates"
done
