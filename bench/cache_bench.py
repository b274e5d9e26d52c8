#!/usr/bin/env python3
"""Warm `tollgate collect` (discovery cache in .tollgate/cache/) against cold, on the corpus.

The bar (issue 17): with nothing changed, a warm `collect` is at least 5x faster than a cold
one; after one test file is edited, only that file is parsed again (as `collect --verbose`
counts it). Runs from the corpus root, alternating, N rounds:

    cold:  rm -rf .tollgate/cache; tollgate collect --format ids
    warm:  tollgate collect --format ids            (the cache the cold run left)

then edits one test file (a test appended), runs `tollgate collect --verbose` and checks its
"python: N files parsed, M from cache" line and that the new test is listed, checks the warm
ids against `--no-cache`, and restores the file.

Prints the medians, the CPU time (user + sys of the child) and the ratio cold / warm, and the
load average at the start and the end. Exit status 0 when the ratio is at least --min-ratio
(default 5) and the edit check holds, 1 otherwise, 2 on usage errors. Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


def timed(argv: list[str], cwd: Path) -> tuple[float, float, str, str]:
    """(wall s, CPU s of the child, stdout, stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout, done.stderr


def stats_line(stderr: str) -> tuple[int, int]:
    m = re.search(r"python: (\d+) files parsed, (\d+) from cache", stderr)
    if not m:
        sys.exit(f"error: no cache statistics in collect --verbose output:\n{stderr[-2000:]}")
    return int(m.group(1)), int(m.group(2))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tollgate", type=Path, default=REPO / "target/release/tollgate")
    ap.add_argument("--corpus", type=Path, default=BENCH_DIR / "out/corpus")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--min-ratio", type=float, default=5.0)
    args = ap.parse_args()
    if not args.tollgate.is_file():
        print(f"error: {args.tollgate} not found (cargo build --release -p tollgate)", file=sys.stderr)
        return 2
    if not (args.corpus / "tollgate.toml").is_file():
        print(f"error: no corpus at {args.corpus} (python3 bench/gen_corpus.py)", file=sys.stderr)
        return 2
    tg = str(args.tollgate)
    cache = args.corpus / ".tollgate/cache"
    load_start = os.getloadavg()

    collect = [tg, "collect", "--format", "ids"]
    cold: list[tuple[float, float]] = []
    warm: list[tuple[float, float]] = []
    ids_cold = ids_warm = ""
    for _ in range(args.runs):
        shutil.rmtree(cache, ignore_errors=True)
        wall, cpu, ids_cold, _ = timed(collect, args.corpus)
        cold.append((wall, cpu))
        wall, cpu, ids_warm, _ = timed(collect, args.corpus)
        warm.append((wall, cpu))
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    ok = True
    if ids_cold != ids_warm:
        print("MISMATCH: warm ids differ from cold ids")
        ok = False

    # Nothing changed: every file from the cache.
    _, _, _, err = timed([*collect, "--verbose"], args.corpus)
    files = stats_line(err)
    unchanged = f"nothing changed: {files[0]} parsed, {files[1]} from cache"
    ok &= files[0] == 0

    # One file edited: only it is parsed again.
    victim = sorted(args.corpus.glob("tests/**/test_*.py"))[0]
    original = victim.read_bytes()
    try:
        victim.write_bytes(original + b"\n\ndef test_cache_bench_added():\n    pass\n")
        _, _, out, err = timed([*collect, "--verbose"], args.corpus)
        edited = stats_line(err)
        _, _, fresh, _ = timed([*collect, "--no-cache"], args.corpus)
        listed = "test_cache_bench_added" in out and out == fresh
    finally:
        victim.write_bytes(original)
    edit = (f"one file edited ({victim.relative_to(args.corpus)}): {edited[0]} parsed, "
            f"{edited[1]} from cache; new test listed and ids equal to --no-cache: {listed}")
    ok &= edited[0] == 1 and listed

    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    ratio = med(cold, 0) / med(warm, 0)
    cpu_ratio = med(cold, 1) / med(warm, 1)
    load_end = os.getloadavg()
    print(f"corpus: {len(ids_cold.splitlines())} ids; {args.runs} rounds; "
          f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end")
    print("| collect | median wall s | min wall s | median CPU s |")
    print("|---|---:|---:|---:|")
    for name, xs in (("cold (empty cache)", cold), ("warm (nothing changed)", warm)):
        print(f"| {name} | {med(xs, 0):.3f} | {min(x[0] for x in xs):.3f} | {med(xs, 1):.3f} |")
    print(f"\ncold / warm: **{ratio:.2f}x** wall, {cpu_ratio:.2f}x CPU (bar: >= {args.min_ratio}x)")
    print(unchanged)
    print(edit)
    ok &= ratio >= args.min_ratio
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
