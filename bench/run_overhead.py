#!/usr/bin/env python3
"""Overhead of `tollgate run` against pytest run directly with the same selection.

    bench/run_overhead.py --tollgate target/release/tollgate --project examples/monorepo \
        --pipeline pr --job e2e_0 --runs 7

1. Runs `tollgate run --pipeline P --job J --json F` once to learn the job's Python test ids.
2. Writes them to an args file and alternates, `--runs` times each:
       <python> -m pytest -q -p no:cacheprovider @ids          (pytest directly)
       tollgate run --pipeline P --job J                       (discovery, plan, watchdog, JUnit)
3. Prints the median and min wall time of each, and the ratio of medians.
   The bar (issue 5) is a ratio <= 1.05 on a real suite.

The job must be a Python-only job (Rust jobs would add a cargo build on the tollgate side).
Exit status: 0 when the ratio is <= --max-ratio, 1 otherwise, 2 on usage errors. Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(argv: list[str], cwd: str, env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tollgate", required=True, help="path to the tollgate binary")
    ap.add_argument("--project", required=True, help="project root (holds tollgate.toml)")
    ap.add_argument("--pipeline", default="pr")
    ap.add_argument("--job", required=True, help="a Python-only job of the pipeline")
    ap.add_argument("--python", help="interpreter with pytest [default: <project>/.venv/bin/python]")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--max-ratio", type=float, default=1.05)
    args = ap.parse_args()

    project = os.path.abspath(args.project)
    tollgate = os.path.abspath(args.tollgate)
    python = args.python or os.path.join(project, ".venv", "bin", "python")
    if not os.access(tollgate, os.X_OK):
        print(f"error: {tollgate} is not executable", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.pop("CI", None)

    with tempfile.TemporaryDirectory() as tmp:
        results = os.path.join(tmp, "results.json")
        base = [tollgate, "run", "--pipeline", args.pipeline, "--job", args.job]
        subprocess.run(base + ["--json", results], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with open(results, encoding="utf-8") as f:
                report = json.load(f)
        except (OSError, ValueError) as e:
            print(f"error: tollgate wrote no results ({e})", file=sys.stderr)
            return 2
        ids = [t for t in report.get("tests", {}) if ".py" in t.split("::")[0]]
        if not ids:
            print(f"error: job {args.job} ran no Python tests", file=sys.stderr)
            return 2
        ids_file = os.path.join(tmp, "ids.txt")
        with open(ids_file, "w", encoding="utf-8") as f:
            f.write("\n".join(ids) + "\n")
        direct = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"@{ids_file}"]

        pytest_times: list[float] = []
        tollgate_times: list[float] = []
        for _ in range(args.runs):
            t, _ = timed(direct, project, env)
            pytest_times.append(t)
            t, _ = timed(base, project, env)
            tollgate_times.append(t)

    med_p = statistics.median(pytest_times)
    med_t = statistics.median(tollgate_times)
    ratio = med_t / med_p if med_p > 0 else float("inf")
    print(f"selection: {len(ids)} pytest ids of job {args.job} ({args.pipeline}), {args.runs} runs each")
    print(f"pytest directly : median {med_p:.3f}s  min {min(pytest_times):.3f}s")
    print(f"tollgate run    : median {med_t:.3f}s  min {min(tollgate_times):.3f}s")
    print(f"ratio (medians) : {ratio:.3f}  (bar <= {args.max_ratio})")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
