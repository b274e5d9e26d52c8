#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser that reads user input (fuzz/).
#
#   scripts/fuzz.sh --ci [TARGET...]            each target for 6 s (.ci/run: ~1 min in all)
#   scripts/fuzz.sh --seconds 8 [TARGET...]     each target for 8 s
#   scripts/fuzz.sh --runs 1000000 [TARGET...]  each target for 1,000,000 executions
#                                               (the long run, for the benchmark machine)
#
# Targets: markexpr config junit lcov cobertura coveragepy llvm_cov bench
# python_discovery rust_discovery (default: all). Each starts from a corpus seeded
# with the repository's fixtures (target/fuzz/corpus/TARGET, kept between runs).
# A run fails on a crash (panic, stack overflow), an input slower than 1 s or
# one using more than 512 MB; the input is saved as target/fuzz/artifacts/TARGET/*
# (reproduce: target/fuzz/<host triple>/<profile>/TARGET FILE) and should become a regression test.
#
# Cost (2-core machine, measured with `/usr/bin/time -v` around the cargo build
# below, fresh target dir): release profile 319 s user + 29 s system; the
# fuzz-ci profile (opt-level 1, no debug info) 240 s + 22 s — about 2 to 3
# minutes of wall time on an otherwise idle machine. The run itself: 10 x 6 s.
#
# Builds with libFuzzer's sanitizer-coverage instrumentation on the stable
# toolchain (the flags `cargo fuzz build --sanitizer none` passes; no cargo-fuzz
# install needed). The line per target gives the executions, the wall time and
# the peak resident memory libFuzzer measured.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=(-max_total_time=8)
profile=release
case "${1:-}" in
    # CI builds with the cheaper fuzz-ci profile (fuzz/Cargo.toml).
    --ci) mode=(-max_total_time=6); profile=fuzz-ci; shift ;;
    --seconds) mode=(-max_total_time="$2"); shift 2 ;;
    --runs) mode=(-runs="$2"); shift 2 ;;
esac
all=(markexpr config junit lcov cobertura coveragepy llvm_cov bench python_discovery rust_discovery)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

out=target/fuzz
export CARGO_TARGET_DIR="$PWD/$out"
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
# Some toolchain releases still gate one of these behind -Z; harmless otherwise.
export RUSTC_BOOTSTRAP=1
# An explicit --target keeps the instrumentation off build scripts and proc macros.
host=$(rustc -vV | sed -n 's/^host: //p')
build_start=$(date +%s)
cargo build --quiet --manifest-path fuzz/Cargo.toml --profile "$profile" --bins --target "$host"
echo "fuzz build ($profile profile): $(( $(date +%s) - build_start )) s"
bin=$out/$host/$profile

seed() { # seed TARGET FILE...
    local dir="$out/corpus/$1"; shift
    mkdir -p "$dir"
    for f in "$@"; do
        [ -f "$f" ] && cp -f "$f" "$dir/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    return 0
}
fx=crates/tollgate-results/tests/fixtures
seed junit $fx/pytest/*.xml $fx/nextest/*.xml $fx/bad/*.xml
seed lcov $fx/coveragepy/coverage.lcov $fx/llvm/lcov.info
seed cobertura $fx/coveragepy/coverage.xml
seed coveragepy $fx/coveragepy/coverage.json $fx/bad/outside-repo.json
seed llvm_cov $fx/llvm/export.json
mkdir -p $out/corpus/bench
# The bench target's first byte picks the format (0 pytest-benchmark, 1 criterion
# estimates, 2 criterion sample, 3 CSV, 4 generic JSON).
i=0
for f in $fx/bench/pytest-benchmark.json $fx/bench/criterion/fib/20/new/estimates.json \
         $fx/bench/criterion/fib/20/new/sample.json $fx/bench/serve.csv $fx/bench/serve.json; do
    { printf "\\x$(printf %02x $i)"; cat "$f"; } > "$out/corpus/bench/seed-$i"
    i=$((i + 1))
done
seed config crates/tollgate-config/presets/*.toml examples/*/tollgate.toml
mkdir -p $out/corpus/markexpr
n=0
grep -rhoE '(expr|markexpr) = "[^"]*"' crates/tollgate-config/presets examples/*/tollgate.toml \
    | sed -E 's/^[a-z]+ = "(.*)"$/\1/' | sort -u | while IFS= read -r e; do
    n=$((n + 1)); printf '%s' "$e" > "$out/corpus/markexpr/seed-$n"
done
printf '%s' "unit and (gpu_0 or gpu_1) and not slow" > $out/corpus/markexpr/seed-base
printf '%s' "timeout(seconds=3) or not (a and b(x='y', n=-2))" > $out/corpus/markexpr/seed-kw
seed python_discovery $(find examples/monorepo/tests -name 'test_*.py' | head -40)
seed rust_discovery $(find examples/monorepo/lib crates/tollgate-markexpr/src -name '*.rs' | head -40)

# Discovery runs on big-stack threads in tollgate (crates' STACK_BYTES, 512 MiB);
# libFuzzer calls the target on the main thread, whose stack may grow as far as
# this limit allows: the same room, without a thread per input.
ulimit -s 524288 2>/dev/null || ulimit -s unlimited 2>/dev/null || true

status=0
for t in "${targets[@]}"; do
    mkdir -p "$out/artifacts/$t"
    log="$out/$t.log"
    start=$(date +%s.%N)
    if ! "$bin/$t" "$out/corpus/$t" "${mode[@]}" -timeout=1 -rss_limit_mb=512 \
        -max_len=65536 -artifact_prefix="$out/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1; then
        echo "FAIL $t: see $log and $out/artifacts/$t/"
        tail -30 "$log"
        status=1
    fi
    wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.0f", e - s }')
    runs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    rss=$(grep -m1 'stat::peak_rss_mb' "$log" | awk '{print $2}')
    echo "$t: ${runs:-?} executions in ${wall} s, peak RSS ${rss:-?} MB"
done
exit $status
