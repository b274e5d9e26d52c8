#!/usr/bin/env python3
"""How much does `tollgate lint` cost over `tollgate collect` on the same tree?

Times `tollgate collect --format json > /dev/null` and `tollgate lint --format json > /dev/null`
(the release binary, run from the corpus root), alternating which goes first, and prints the
medians, their ratio, and each command's peak RSS. Lint does everything collect does (discovery
of both languages, `[[rules]]`) and then checks every test, so the ratio is lint's overhead.

    cargo build --release -p tollgate
    python3 bench/lint_bench.py                      # generates bench/out/corpus on first use
    python3 bench/lint_bench.py --runs 11 --max-ratio 1.10

Exit status: 0 when the ratio is at most --max-ratio (default: report only), 1 when above, 2
when the binary is missing or a command fails. Stdlib only, Python 3.10+.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=HERE / "out" / "corpus",
                    help="tree with a tollgate.toml (default: bench/out/corpus, generated if "
                         "missing)")
    ap.add_argument("--tollgate", type=Path, default=REPO / "target" / "release" / "tollgate")
    ap.add_argument("--runs", type=int, default=7, help="timed runs of each command")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs of each first")
    ap.add_argument("--max-ratio", type=float, default=None,
                    help="fail (exit 1) when median lint / median collect is above this")
    ap.add_argument("--json", type=Path, default=None, help="also write the result here")
    return ap.parse_args(argv)


def timed(cmd: list[str], cwd: Path, ok: set[int]) -> tuple[float, float, int]:
    """Wall time and CPU time (user + system) in seconds and peak RSS in KiB of one run,
    stdout discarded."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=devnull, stderr=subprocess.PIPE)
        # wait4 gives this child's own rusage (getrusage(CHILDREN) keeps the max over all).
        assert proc.stderr is not None
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.stderr.write(stderr.decode(errors="replace"))
        raise SystemExit(f"{' '.join(cmd)}: exit status {proc.returncode}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def findings_summary(tollgate: Path, corpus: Path) -> tuple[int, int, Counter]:
    """(tests, findings, findings by code) for the report."""
    collected = subprocess.run([str(tollgate), "collect", "--format", "json"], cwd=corpus,
                               capture_output=True, check=True).stdout
    data = json.loads(collected)
    tests = len(data.get("tests", [])) if isinstance(data, dict) else len(data)
    linted = subprocess.run([str(tollgate), "lint", "--format", "json"], cwd=corpus,
                            capture_output=True)
    if linted.returncode not in (0, 1):
        sys.stderr.write(linted.stderr.decode(errors="replace"))
        raise SystemExit(f"tollgate lint: exit status {linted.returncode}")
    data = json.loads(linted.stdout)
    findings = data.get("findings", []) if isinstance(data, dict) else data
    return tests, len(findings), Counter(f["code"] for f in findings)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.tollgate.is_file():
        print(f"{args.tollgate} not found: cargo build --release -p tollgate", file=sys.stderr)
        return 2
    if not (args.corpus / "tollgate.toml").is_file():
        print(f"generating {args.corpus} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), "--out", str(args.corpus),
                        "--quiet"], check=True)
    tollgate = str(args.tollgate)
    commands = {
        "collect": ([tollgate, "collect", "--format", "json"], {0}),
        # 1 means "errors found": lint ran to the end, which is what is timed.
        "lint": ([tollgate, "lint", "--format", "json"], {0, 1}),
    }
    for _ in range(args.warmup):
        for cmd, ok in commands.values():
            timed(cmd, args.corpus, ok)
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    rss: dict[str, int] = {name: 0 for name in commands}
    for run in range(args.runs):
        # Alternate the order so neither command always runs on a warmer cache.
        order = list(commands) if run % 2 == 0 else list(reversed(commands))
        for name in order:
            cmd, ok = commands[name]
            elapsed, cpu_time, peak = timed(cmd, args.corpus, ok)
            times[name].append(elapsed)
            cpu[name].append(cpu_time)
            rss[name] = max(rss[name], peak)
            print(f"run {run + 1}/{args.runs} {name:<7} {elapsed * 1000:8.1f} ms", file=sys.stderr,
                  flush=True)
    tests, n_findings, by_code = findings_summary(args.tollgate, args.corpus)
    collect = statistics.median(times["collect"])
    lint = statistics.median(times["lint"])
    ratio = lint / collect
    paired = statistics.median(l / c for l, c in zip(times["lint"], times["collect"]))
    share = 100.0 * n_findings / tests if tests else 0.0
    print(f"corpus: {args.corpus} ({tests} tests, {n_findings} findings = {share:.1f}%)")
    print(f"findings by code: {dict(sorted(by_code.items()))}")
    print(f"runs: {args.runs} each, alternating, after {args.warmup} warm-up")
    for name, median in (("collect", collect), ("lint", lint)):
        print(f"{name + ':':<8} median {median * 1000:8.1f} ms wall, "
              f"{statistics.median(cpu[name]) * 1000:8.1f} ms CPU, "
              f"peak RSS {rss[name] / 1024:7.1f} MiB")
    print(f"lint / collect: {ratio:.3f} (median of per-run ratios {paired:.3f})")
    if args.json:
        args.json.write_text(json.dumps({
            "tests": tests, "findings": n_findings, "by_code": dict(by_code),
            "runs": args.runs, "collect_ms": [t * 1000 for t in times["collect"]],
            "lint_ms": [t * 1000 for t in times["lint"]], "ratio": ratio,
            "collect_cpu_ms": [t * 1000 for t in cpu["collect"]],
            "lint_cpu_ms": [t * 1000 for t in cpu["lint"]],
            "paired_ratio": paired, "collect_rss_kib": rss["collect"],
            "lint_rss_kib": rss["lint"]}, indent=2), encoding="utf-8")
    if args.max_ratio is not None and ratio > args.max_ratio:
        print(f"FAIL: ratio {ratio:.3f} > {args.max_ratio}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
