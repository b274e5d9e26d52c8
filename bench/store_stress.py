#!/usr/bin/env python3
"""Many processes opening one fresh store, again and again (issue 13 item 9).

Builds the `tollgate-store` test binary `processes` once, then runs each of

    {sqlite,postgres}::eight_processes_open_a_fresh_store        (8 writer processes)
    {sqlite,postgres}::thirty_two_processes_open_a_fresh_store   (32 writer processes)
    {sqlite,postgres}::sixteen_processes_write_overlapping_runs  (issue 17: 16 writers)

--runs times in a row (default 200), each run on a brand-new store (a new
SQLite file; a new PostgreSQL schema), and prints per test: runs, failures,
and the mean / max wall time of one run, then a PASS/FAIL line per test (for
the 16 writers: no lost row, no error, and the writers' own wall time). The
first failure's output is kept and printed. PostgreSQL is TOLLGATE_TEST_PG or
postgres://postgres@127.0.0.1:5432/test; `--backends sqlite` skips it.

    python3 bench/store_stress.py                  # 200 runs of each, both backends
    python3 bench/store_stress.py --runs 50 --backends sqlite
    python3 bench/store_stress.py --release --runs 5 --tests sixteen_processes_write_overlapping_runs

Exit status: 0 when every run passed, 1 when one failed, 2 when the test
binary cannot be built. Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["eight_processes_open_a_fresh_store", "thirty_two_processes_open_a_fresh_store",
         "sixteen_processes_write_overlapping_runs"]
# The issue 17 bar: 16 concurrent writer processes on each backend, no lost
# row, no deadlock error surfaced, total time reported.
WRITERS_TEST = "sixteen_processes_write_overlapping_runs"


def build(release: bool) -> str:
    out = subprocess.run(
        ["cargo", "test", "-p", "tollgate-store", "--test", "processes",
         "--no-run", "--message-format", "json"] + (["--release"] if release else []),
        cwd=ROOT, capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        sys.exit(2)
    for line in out.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") \
                and msg["target"]["name"] == "processes":
            return msg["executable"]
    sys.exit("no test binary named processes in cargo's output")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--tests", default=",".join(TESTS),
                    help="comma-separated test names (default: all of " + ", ".join(TESTS) + ")")
    ap.add_argument("--release", action="store_true", help="build the test binary in release mode")
    args = ap.parse_args()
    binary = build(args.release)
    print(f"test binary: {binary}", file=sys.stderr)
    failed_any = False
    rows = []
    for backend in args.backends.split(","):
        for test in args.tests.split(","):
            name = f"{backend}::{test}"
            times, failures, first_failure, reports = [], 0, None, []
            for i in range(args.runs):
                started = time.monotonic()
                proc = subprocess.run(
                    [binary, name, "--exact", "--include-ignored", "--test-threads=1", "--nocapture"],
                    capture_output=True, text=True,
                )
                times.append(time.monotonic() - started)
                reports += [l for l in proc.stdout.splitlines() if "writer processes" in l]
                if proc.returncode != 0:
                    failures += 1
                    if first_failure is None:
                        first_failure = (i + 1, proc.stdout[-4000:] + proc.stderr[-4000:])
                print(f"\r{name}: run {i + 1}/{args.runs}, {failures} failed", end="", file=sys.stderr)
            print(file=sys.stderr)
            rows.append((name, args.runs, failures, statistics.mean(times), max(times), reports))
            if first_failure:
                failed_any = True
                print(f"--- {name}: first failure (run {first_failure[0]}) ---\n{first_failure[1]}")
    print("| test | runs | failed | mean s/run | max s/run |")
    print("|---|---:|---:|---:|---:|")
    for name, runs, failures, mean, worst, _ in rows:
        print(f"| {name} | {runs} | {failures} | {mean:.2f} | {worst:.2f} |")
    for name, runs, failures, mean, worst, reports in rows:
        verdict = "PASS" if failures == 0 else "FAIL"
        if name.endswith(WRITERS_TEST):
            # The writers' own wall time, printed by the test.
            secs = [float(r.rsplit(",", 1)[1].strip().rstrip("s").strip()) for r in reports]
            total = f"writers' wall time mean {statistics.mean(secs):.2f} s, max {max(secs):.2f} s" \
                if secs else "no time reported"
            print(f"{verdict} bar: 16 concurrent writers ({name.split('::')[0]}): "
                  f"{runs - failures}/{runs} runs with no lost row and no error; {total} "
                  f"(whole test process mean {mean:.2f} s)")
        else:
            print(f"{verdict} {name}: {runs - failures}/{runs} runs passed")
    return 1 if failed_any else 0


if __name__ == "__main__":
    sys.exit(main())
