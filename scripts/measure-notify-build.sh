#!/usr/bin/env bash
# Build cost of alert delivery (tollgate-notify's senders), measured alone:
# a scratch crate depending only on ureq and lettre with the features the
# workspace uses (rustls + ring, no OpenSSL), its own target dir, a clean
# debug build. Prints the number of crates built, the wall time and the load.
# Usage: scripts/measure-notify-build.sh
set -euo pipefail
dir="$(mktemp -d /tmp/notify-build.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
cd "$dir"
cargo init --quiet --name notify_build_cost
cat >> Cargo.toml <<'TOML'
ureq = { version = "3", default-features = false, features = ["rustls"] }
lettre = { version = "0.11", default-features = false, features = ["builder", "smtp-transport", "rustls", "ring", "webpki-roots"] }
TOML
cargo fetch --quiet
start=$(date +%s.%N)
crates=$(cargo build 2>&1 | awk '/Compiling/ {print $2}' | wc -l)
end=$(date +%s.%N)
printf 'dev: %.1f s wall for %s crates (load %s)\n' "$(awk "BEGIN {print $end - $start}")" "$crates" \
  "$(cut -d' ' -f1 /proc/loadavg)"
