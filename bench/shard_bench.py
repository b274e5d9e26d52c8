#!/usr/bin/env python3
"""Duration-balanced shards on the synthetic corpus (issue 6's bar: the
slowest of N duration-balanced shards within 1.10x of the mean).

1. Lists the corpus's tests (`tollgate collect --format json`, plus every id
   the unsharded plan selects) and gives each a seeded, skewed duration:
   0.1 s x a log-normal factor per file (sigma 1.0) x a log-normal factor per
   test (sigma --sigma, default 1.5): many fast tests and a long tail.
2. Writes them as one JUnit report and records it in a fresh SQLite store
   with `tollgate ingest junit --store`.
3. For N in --shards (default 2,4,8,16) runs
       tollgate plan --pipeline P --format json --shards N --store STORE --durations-until now
   and, as the baseline, the same with a store that does not exist (the
   count-based split tollgate falls back to). For every job it computes each
   shard's true duration (the generated one) and the slowest shard / mean
   (mean = the job's total / N). A third column models LPT over whole files
   only (in Python, the same rule tollgate applies first) to show what
   keeping every file together would cost.
4. Judges the jobs for which 1.10x is reachable at all: the job's longest
   test is at most the mean (otherwise no split gets below longest / mean;
   those are listed with that lower bound instead).

Exit status: 0 when every judged ratio is at most --max-ratio (default
1.10), 1 when one is not, 2 for usage errors (missing binary or corpus).

Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import quoteattr

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent


def run(argv: list[str], cwd: Path) -> tuple[str, str, float]:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"error: {' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done.stdout, done.stderr, elapsed


def durations_for(tests: dict[str, str], seed: int, sigma: float) -> dict[str, float]:
    """Seeded log-normal durations: a factor per file times one per test."""
    rng = random.Random(seed)
    factor: dict[str, float] = {}
    out: dict[str, float] = {}
    for test_id in sorted(tests):
        file = tests[test_id]
        if file not in factor:
            factor[file] = math.exp(rng.gauss(0.0, 1.0))
        out[test_id] = round(0.1 * factor[file] * math.exp(rng.gauss(0.0, sigma)), 6)
    return out


def write_junit(durations: dict[str, float], path: Path) -> None:
    # Generic JUnit (no classname): tollgate ingests each case's name as its id.
    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<testsuites>\n')
        f.write(f'<testsuite name="shard-bench" tests="{len(durations)}">\n')
        for test_id, seconds in sorted(durations.items()):
            f.write(f"<testcase name={quoteattr(test_id)} time=\"{seconds:.6f}\"/>\n")
        f.write("</testsuite>\n</testsuites>\n")


def lpt(units: list[tuple[float, str, list[str]]], count: int) -> list[float]:
    """Longest processing time first, as tollgate does it: heaviest unit
    first (ties by key), onto the lightest shard (then fewer tests, then the
    lowest index). Returns the shard loads."""
    units = sorted(units, key=lambda u: (-u[0], u[1]))
    loads = [0.0] * count
    counts = [0] * count
    for seconds, _, members in units:
        i = min(range(count), key=lambda s: (loads[s], counts[s], s))
        loads[i] += seconds
        counts[i] += len(members)
    return loads


def ratio(loads: list[float], total: float, count: int) -> float:
    mean = total / count
    return max(loads) / mean if mean > 0 else 1.0


def measure(name: str, job: dict, count_job: dict, count: int, durations: dict[str, float],
            files: dict[str, str]) -> dict:
    """One sharded job: true shard durations, against the count-based split and whole files."""
    tests = job["tests"]
    total = sum(durations[t] for t in tests)
    longest = max(durations[t] for t in tests)
    mean = total / count
    loads = [sum(durations[t] for t in s["tests"]) for s in job["shards"]]
    for s, load in zip(job["shards"], loads):
        estimate = s.get("estimated_s")
        if estimate is None or abs(estimate - load) > 1e-3 * max(1.0, load):
            sys.exit(f"error: {name} shard {s['index']}: estimate {estimate} but the recorded durations sum to {load}")
    shard_of = {t: i for i, s in enumerate(job["shards"]) for t in s["tests"]}
    if sorted(shard_of) != sorted(tests) or sum(len(s["tests"]) for s in job["shards"]) != len(tests):
        sys.exit(f"error: {name}: the shards do not hold each test exactly once")
    seen: dict[str, set[int]] = defaultdict(set)
    for t, i in shard_of.items():
        seen[files[t]].add(i)
    grouped: dict[str, list[str]] = defaultdict(list)
    for t in tests:
        grouped[files[t]].append(t)
    count_loads = [sum(durations[t] for t in s["tests"]) for s in count_job["shards"]]
    whole = lpt([(sum(durations[t] for t in m), f, m) for f, m in grouped.items()], count)
    return {
        "shards": count, "job": name, "tests": len(tests), "files": len(grouped),
        "ratio": ratio(loads, total, count),
        "split_files": sum(1 for s in seen.values() if len(s) > 1),
        "count_ratio": ratio(count_loads, total, count),
        "whole_files_ratio": ratio(whole, total, count),
        "longest_over_mean": longest / mean,
        # 1.10x is reachable only when no single test is longer than the mean.
        "judged": longest <= mean,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tollgate", type=Path, default=REPO / "target/release/tollgate")
    parser.add_argument("--corpus", type=Path, default=BENCH_DIR / "out/corpus")
    parser.add_argument("--pipeline", default="nightly")
    parser.add_argument("--shards", default="2,4,8,16", help="comma-separated shard counts")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--sigma", type=float, default=1.5, help="log-normal sigma of a test's duration")
    parser.add_argument("--max-ratio", type=float, default=1.10)
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--per-job", action="store_true", help="also print a row per job and N")
    args = parser.parse_args()

    tollgate = args.tollgate.resolve()
    if not tollgate.is_file():
        print(f"error: {tollgate} not found (cargo build --release -p tollgate)", file=sys.stderr)
        return 2
    corpus = args.corpus.resolve()
    if not (corpus / "pyproject.toml").is_file():
        print(f"generating the corpus in {corpus} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(BENCH_DIR / "gen_corpus.py"), "--out", str(corpus)], check=True)
    config = corpus / "tollgate.toml"
    if not config.exists():
        config.write_text((REPO / "crates/tollgate-config/presets/dynamo.toml").read_text())
    counts = [int(n) for n in args.shards.split(",") if n.strip()]
    tg = str(tollgate)

    # 1. Every test, with its file (the unit tollgate keeps together).
    out, _, _ = run([tg, "collect", "--format", "json", "--all-features", "--run-ignored", "all"], corpus)
    collected = json.loads(out)
    items = collected["tests"] if isinstance(collected, dict) else collected
    files = {t["id"]: t["file"] for t in items}
    out, _, _ = run([tg, "plan", "--pipeline", args.pipeline, "--format", "json"], corpus)
    for job in json.loads(out)["jobs"]:
        for test_id in job["tests"]:
            files.setdefault(test_id, test_id.split("::")[0])
    durations = durations_for(files, args.seed, args.sigma)
    print(
        f"{len(durations):,} tests in {len(set(files.values())):,} files; durations: "
        f"median {sorted(durations.values())[len(durations) // 2]:.3f} s, "
        f"max {max(durations.values()):.1f} s, total {sum(durations.values()):,.0f} s",
        file=sys.stderr,
    )

    results: dict = {"tests": len(durations), "seed": args.seed, "sigma": args.sigma}
    with tempfile.TemporaryDirectory() as tmp:
        # 2. The store.
        junit = Path(tmp) / "durations.xml"
        write_junit(durations, junit)
        store = Path(tmp) / "history.db"
        out, err, took = run(
            [tg, "ingest", "junit", str(junit), "--store", str(store), "--pipeline", args.pipeline,
             "--run", "shard-bench", "--complete"],
            corpus,
        )
        print(f"ingest: {took:.1f} s: {(out + err).strip()}", file=sys.stderr)
        missing_store = Path(tmp) / "absent.db"

        # 3. Plans.
        rows: list[dict] = []
        for count in counts:
            base = [tg, "plan", "--pipeline", args.pipeline, "--format", "json", "--shards", str(count),
                    # the durations were just ingested: count today's runs too
                    "--durations-until", "now"]
            timed_out, _, took = run(base + ["--store", str(store)], corpus)
            count_out, _, _ = run(base + ["--store", str(missing_store)], corpus)
            timed = {j["name"]: j for j in json.loads(timed_out)["jobs"]}
            by_count = {j["name"]: j for j in json.loads(count_out)["jobs"]}
            for name, job in timed.items():
                if not job.get("shards"):
                    continue
                rows.append(measure(name, job, by_count[name], count, durations, files) | {"plan_s": took})
    results["jobs"] = rows

    # 4. Verdict.
    print(f"**Corpus**: {len(durations):,} tests in {len(set(files.values())):,} files "
          f"(`bench/gen_corpus.py`), pipeline `{args.pipeline}`: {len({r['job'] for r in rows})} sharded jobs; "
          f"durations seeded ({args.seed}), log-normal, sigma {args.sigma} per test and 1.0 per file\n")
    print("| N | judged jobs | slowest / mean, worst (job) | by count, worst | whole files only, worst "
          "| files split | jobs bounded by their longest test | plan |")
    print("|---:|---:|---|---:|---:|---:|---|---:|")
    failed = False
    for count in counts:
        here = [r for r in rows if r["shards"] == count]
        judged = [r for r in here if r["judged"]]
        bounded = [r for r in here if not r["judged"]]
        worst = max(judged, key=lambda r: r["ratio"], default=None)
        at_bound = sum(1 for r in bounded if r["ratio"] <= r["longest_over_mean"] * 1.0001)
        split = sum(r["split_files"] for r in judged)
        files_total = sum(r["files"] for r in judged)
        worst_text = f"**{worst['ratio']:.3f}** ({worst['job']})" if worst else "-"
        print(f"| {count} | {len(judged)} | {worst_text} "
              f"| {max((r['count_ratio'] for r in judged), default=0):.3f} "
              f"| {max((r['whole_files_ratio'] for r in judged), default=0):.3f} "
              f"| {split:,} / {files_total:,} | {len(bounded)}, {at_bound} of them at that bound "
              f"| {here[0]['plan_s'] if here else 0:.1f} s |")
        results.setdefault("worst", {})[str(count)] = worst["ratio"] if worst else None
        if worst and worst["ratio"] > args.max_ratio:
            failed = True
    if args.per_job:
        print("\n| N | job | tests | files | slowest / mean | files split | by count | whole files only |")
        print("|---:|---|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            shown = f"{r['ratio']:.3f}" if r["judged"] else f"{r['ratio']:.3f} (bound {r['longest_over_mean']:.3f})"
            print(f"| {r['shards']} | {r['job']} | {r['tests']:,} | {r['files']:,} | {shown} | {r['split_files']} "
                  f"| {r['count_ratio']:.3f} | {r['whole_files_ratio']:.3f} |")
    verdict = "FAIL" if failed else "ok"
    print(f"\nbar: the slowest shard within {args.max_ratio:.2f}x of the mean for every judged job: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
