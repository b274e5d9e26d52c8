#!/usr/bin/env python3
"""Time `tollgate plan` against `tollgate collect` on the synthetic corpus.

The bar (issue 17): planning a pipeline, discovery included, takes at most
1.3 times as long as discovery alone, with the discovery cache cold and warm.
Runs, alternating and N times each, from the corpus root:

    tollgate collect --format ids
    tollgate plan --pipeline PIPELINE --format json --output <tmp>
    tollgate plan --pipeline PIPELINE --changed-files <list> --format json --output <tmp>

(the last only with --changed), each once cold (`.tollgate/cache` removed
first) and once warm (the cache the cold runs left), then prints the medians
and the ratio plan / collect for each state. `tollgate plan` needs a tollgate.toml at the corpus root: the
`dynamo` preset is written there when none exists (bench/out is git-ignored).

Exit status: 0 when every ratio is at most --max-ratio (default 1.3), 1 when
one is not, 2 for usage errors (missing binary or corpus).

Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PRESET = REPO / "crates/tollgate-config/presets/dynamo.toml"


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def changed_list(corpus: Path, out: Path) -> Path:
    """A realistic PR: a handful of Python sources and tests, one Rust file."""
    picks: list[str] = []
    for pattern, count in (("components/**/*.py", 4), ("tests/**/test_*.py", 2), ("lib/**/*.rs", 1)):
        picks += [str(p.relative_to(corpus)) for p in sorted(corpus.glob(pattern))[:count]]
    out.write_text("\n".join(picks) + "\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tollgate", type=Path, default=REPO / "target/release/tollgate")
    parser.add_argument("--corpus", type=Path, default=BENCH_DIR / "out/corpus")
    parser.add_argument("--pipeline", default="nightly")
    parser.add_argument("--changed", action="store_true", help="also time a change-aware `pr` plan")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--max-ratio", type=float, default=1.3)
    args = parser.parse_args()

    if not args.tollgate.is_file():
        print(f"error: {args.tollgate} not found (cargo build --release -p tollgate)", file=sys.stderr)
        return 2
    if not (args.corpus / "pyproject.toml").is_file():
        print(f"error: no corpus at {args.corpus} (python3 bench/gen_corpus.py)", file=sys.stderr)
        return 2
    config = args.corpus / "tollgate.toml"
    if not config.exists():
        config.write_text(PRESET.read_text())

    tg = str(args.tollgate)
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "plan.json")
        commands = {
            "collect": [tg, "collect", "--format", "ids"],
            f"plan {args.pipeline}": [tg, "plan", "--pipeline", args.pipeline, "--format", "json", "--output", out],
        }
        if args.changed:
            listing = changed_list(args.corpus, Path(tmp) / "changed.txt")
            commands["plan pr --changed-files"] = [
                tg, "plan", "--pipeline", "pr", "--changed-files", str(listing), "--format", "json", "--output", out,
            ]
        cache = args.corpus / ".tollgate/cache"
        load_start = os.getloadavg()
        times: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.runs):
            for state in ("cold", "warm"):
                for key, argv in commands.items():
                    if state == "cold":
                        shutil.rmtree(cache, ignore_errors=True)
                    times.setdefault((state, key), []).append(timed(argv, args.corpus))
                    print(".", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        load_end = os.getloadavg()

    print(f"load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end; {args.runs} rounds")
    print("| cache | command | median s | min s | ratio to collect |")
    print("|---|---|---|---|---|")
    worst = 0.0
    for (state, key), samples in times.items():
        base = statistics.median(times[(state, "collect")])
        median = statistics.median(samples)
        ratio = median / base if base > 0 else float("inf")
        if key != "collect":
            worst = max(worst, ratio)
        print(f"| {state} | `{key}` | {median:.3f} | {min(samples):.3f} | {ratio:.2f} |")
    print(f"\nworst ratio {worst:.2f} (bar: <= {args.max_ratio})")
    return 0 if worst <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
