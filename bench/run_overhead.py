#!/usr/bin/env python3
"""Overhead of `tollgate run` against pytest / cargo-nextest run directly with the same selection.

    cargo build --release -p tollgate
    python3 bench/run_overhead.py                    # python, rust and example suites, 5 runs
    python3 bench/run_overhead.py --suites python --runs 7 --json bench/out/overhead.json

Suites (issue 5's bar: `tollgate run` <= 5% more wall time than the runner run directly):

- `python` (real size): the `unit` selection of a generated corpus (`bench/gen_corpus.py
  --test-work-ms MS`, every test does about MS ms of work, async tests run in asyncio), Python
  part only: `tollgate run --config tollgate-bench.toml --pipeline bench --job bench_python`.
- `rust` (real size): the same corpus's Rust `unit` selection (job `bench_rust`): nextest runs
  each test in its own process, so the suite has real per-test costs even though the tests
  themselves return at once. The workspace is built by the warm-up round, before any timing.
- `example`: each test job of the example monorepo's `pr` pipeline (a copy under bench/out, so
  the checkout's history store is untouched). Small suites: tollgate's fixed costs (discovery,
  plan, the build check before nextest, the store) dominate; reported, not held to the bar.

For every job the direct command is derived from what tollgate itself ran (its `--json`
report's process list), so it cannot drift from the runner's real flags:

- pytest: tollgate's argv minus its own plugin (`-p tollgate_watchdog`), `--junitxml=...` and
  `-o junit_logging=all`, plus `-p no:cacheprovider`, with the job's node ids in an args file;
- nextest: tollgate's `cargo nextest run ...` argv (same features and `-E` filterset) minus its
  generated tool config and profile (`--tool-config-file`, `--profile`); tollgate's separate
  `--no-run` build step has no direct counterpart (nextest builds as part of its run).

Method: one untimed warm-up round of each (warm page cache, `.pyc`, cargo build), then `--runs`
rounds alternating which of the two goes first; wall time of each child and its CPU time
(user + sys of the child and its waited-for descendants, from `wait4`). The ratio is
tollgate median / direct median (wall). The CPU-time ratio is printed too: it moves less when
other work competes for the cores. The result block on stdout is Markdown.

Exit status: 0 when every real-size ratio (python, rust) is <= --max-ratio; 1 when one is above,
or when a run failed (a failing suite is not a fair comparison); 2 on usage errors. Stdlib only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
BENCH_CONFIG_NAME = "tollgate-bench.toml"

# Appended to the corpus's tollgate.toml (the dynamo preset plus the corpus additions): one job
# per language over the `unit` selection (the preset's `unit` job runs both languages in one
# job). The interpreter goes into the preset's own `[run]` table (see with_python).
BENCH_CONFIG = '''
# ---- bench/run_overhead.py: one job per language over the unit selection ----
[jobs.bench_python]
description = "Python unit tests (overhead benchmark)"
stage = 3
expr = "unit"
languages = ["python"]
runner = { gpus = 0 }

[jobs.bench_rust]
description = "Rust unit tests (overhead benchmark)"
stage = 3
expr = "unit"
languages = ["rust"]
runner = { gpus = 0 }

[pipelines.bench]
description = "overhead benchmark"
stage = "pre_merge"
on = "manual"
jobs = ["bench_python", "bench_rust"]
'''

TOLLGATE_PYTEST_FLAGS = {"-p": "tollgate_watchdog", "-o": "junit_logging=all"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------

@dataclass
class Timing:
    wall: float
    cpu: float
    code: int


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> Timing:
    """Wall time and CPU time (user + sys, descendants it waited for included) of one child."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Timing(wall, usage.ru_utime + usage.ru_stime, proc.returncode)


def timed_all(commands: list[list[str]], cwd: Path, env: dict[str, str]) -> Timing:
    total = Timing(0.0, 0.0, 0)
    for argv in commands:
        t = timed(argv, cwd, env)
        total.wall += t.wall
        total.cpu += t.cpu
        total.code = total.code or t.code
    return total


# ------------------------------------------------------------------------------------------
# Suites
# ------------------------------------------------------------------------------------------

@dataclass
class Suite:
    name: str
    label: str
    root: Path
    config: Path | None
    pipeline: str
    job: str
    real_size: bool
    # Filled by prepare():
    tests: int = 0
    runner: str = ""
    direct: list[list[str]] = field(default_factory=list)
    tollgate_times: list[Timing] = field(default_factory=list)
    compare_times: list[Timing] = field(default_factory=list)
    direct_times: list[Timing] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def tollgate_argv(self, tollgate: Path, extra: list[str] = ()) -> list[str]:
        argv = [str(tollgate), "run"]
        if self.config is not None:
            argv += ["--config", str(self.config)]
        return argv + ["--pipeline", self.pipeline, "--job", self.job, "--gpus", "0", *extra]


def ensure_corpus(corpus: Path, work_ms: float, work_kind: str, python: Path) -> None:
    manifest = corpus / "corpus_manifest.json"
    want = {"ms": work_ms, "kind": work_kind}
    if manifest.exists():
        try:
            have = json.loads(manifest.read_text(encoding="utf-8"))["generator"].get("test_work")
        except (OSError, ValueError, KeyError):
            have = None
        if have == want:
            return
    log(f"generating the corpus in {corpus} (--test-work-ms {work_ms} --test-work-kind "
        f"{work_kind}) ...")
    subprocess.run([sys.executable, str(HERE / "gen_corpus.py"), "--out", str(corpus),
                    "--test-work-ms", str(work_ms), "--test-work-kind", work_kind, "--quiet",
                    "--python", str(python)], check=True)


def with_python(config: str, python: Path) -> str:
    """`config` with `[run] python = ...` (into its `[run]` table when it has one)."""
    setting = f'python = "{python}"'
    lines = config.splitlines()
    if "[run]" in (line.strip() for line in lines):
        i = [line.strip() for line in lines].index("[run]")
        return "\n".join(lines[:i + 1] + [setting] + lines[i + 1:]) + "\n"
    return config.rstrip() + f"\n\n[run]\n{setting}\n"


def write_bench_config(corpus: Path, python: Path) -> Path:
    base = (corpus / "tollgate.toml").read_text(encoding="utf-8")
    path = corpus / BENCH_CONFIG_NAME
    text = with_python(base, python).rstrip() + "\n" + BENCH_CONFIG
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def copy_example(dest: Path, python: Path) -> Path:
    """A copy of examples/monorepo (without local state) that uses `python`."""
    src = REPO / "examples" / "monorepo"
    stamp = dest / ".bench-source"
    if not dest.exists():
        # Not `.cargo`: its target-dir is relative to the checkout; the copy builds in its own.
        ignore = shutil.ignore_patterns(".tollgate", ".venv", "target", "__pycache__", ".cargo")
        shutil.copytree(src, dest, ignore=ignore)
        config = dest / "tollgate.toml"
        config.write_text(with_python(config.read_text(encoding="utf-8"), python),
                          encoding="utf-8")
        stamp.write_text(str(src), encoding="utf-8")
    return dest


def example_jobs(tollgate: Path, root: Path, env: dict[str, str]) -> list[str]:
    out = subprocess.run([str(tollgate), "plan", "--pipeline", "pr", "--format", "json"],
                         cwd=root, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"error: tollgate plan failed in {root}:\n{out.stderr}")
    plan = json.loads(out.stdout)
    return [j["name"] for j in plan["jobs"]
            if j.get("tests") and j.get("runner", {}).get("gpus", 0) == 0
            and not j.get("runner", {}).get("provides")]


def rust_filterset(ids: list[str]) -> str:
    """The filterset tollgate builds for these Rust ids (`<binary-id> <test name>`)."""
    groups: dict[str, list[str]] = {}
    for test_id in ids:
        binary, name = test_id.split(" ", 1)
        groups.setdefault(binary, []).append(name)
    if not groups:
        return "none()"
    return " | ".join(
        f"(binary_id(={binary}) & ({' | '.join(f'test(={n})' for n in names)}))"
        for binary, names in sorted(groups.items())
    )


def direct_commands(report: dict, ids_file: Path, python_ids: list[str],
                    rust_ids: list[str]) -> tuple[list[list[str]], str]:
    """pytest / nextest argvs equivalent to what tollgate ran, minus tollgate's own additions."""
    commands: list[list[str]] = []
    runners: list[str] = []
    for job in report.get("jobs", []):
        for proc in job.get("processes", []):
            argv = shlex.split(proc["command"])
            if "pytest" in argv[:3]:
                if commands and "pytest" in commands[-1][:3]:
                    continue  # later segments/retries: the args file already holds every id
                kept: list[str] = []
                i = 0
                while i < len(argv):
                    a = argv[i]
                    if a in TOLLGATE_PYTEST_FLAGS and i + 1 < len(argv) \
                            and argv[i + 1] == TOLLGATE_PYTEST_FLAGS[a]:
                        i += 2
                        continue
                    if a.startswith("--junitxml=") or a.startswith("@"):
                        i += 1
                        continue
                    kept.append(a)
                    i += 1
                ids_file.write_text("\n".join(python_ids) + "\n", encoding="utf-8")
                commands.append(kept[:3] + ["-p", "no:cacheprovider"] + kept[3:]
                                + [f"@{ids_file}"])
                runners.append("pytest")
            elif argv[:3] == ["cargo", "nextest", "run"]:
                if "--no-run" in argv:
                    continue  # tollgate's build step: nextest builds within its own run
                kept = []
                i = 0
                while i < len(argv):
                    if argv[i] in ("--tool-config-file", "--profile"):
                        i += 2
                        continue
                    kept.append(argv[i])
                    i += 1
                if "-E" not in kept:
                    # A selection too long for one argument went into tollgate's
                    # profile (`default-filter`); nextest run directly gets it as -E
                    # (it fits below Linux's 128 KiB per-argument limit here).
                    kept += ["-E", rust_filterset([i for i in rust_ids if " " in i])]
                commands.append(kept)
                runners.append("nextest")
            elif argv[:2] == ["cargo", "test"]:
                commands.append(argv)
                runners.append("cargo test")
    return commands, " + ".join(runners)


def prepare(suite: Suite, tollgate: Path, env: dict[str, str], work: Path) -> bool:
    """Warm-up round: tollgate once (learns the selection and its commands), direct once."""
    report_path = work / f"{suite.name}.report.json"
    log(f"[{suite.name}] warm-up: tollgate run --job {suite.job} ...")
    t = timed(suite.tollgate_argv(tollgate, ["--json", str(report_path)]), suite.root, env)
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        suite.problems.append(f"tollgate wrote no report ({e}), exit {t.code}")
        return False
    if t.code != 0:
        suite.problems.append(f"tollgate run exited {t.code} in the warm-up "
                              f"(status {report.get('status')})")
    ids = list(report.get("tests", {}))
    python_ids = [i for i in ids if i.split("::")[0].endswith(".py")]
    suite.tests = len(ids)
    ids_file = work / f"{suite.name}.ids"
    python_set = set(python_ids)
    rust_ids = [i for i in ids if i not in python_set]
    suite.direct, suite.runner = direct_commands(report, ids_file, python_ids, rust_ids)
    if not suite.direct:
        suite.problems.append("tollgate ran no pytest or nextest process for this job")
        return False
    log(f"[{suite.name}] {suite.tests} tests; warm-up: {suite.runner} directly ...")
    d = timed_all(suite.direct, suite.root, env)
    if d.code != 0:
        suite.problems.append(f"{suite.runner} directly exited {d.code} in the warm-up")
    log(f"[{suite.name}] warm-up: tollgate {t.wall:.2f}s, direct {d.wall:.2f}s")
    return True


def measure(suite: Suite, tollgate: Path, env: dict[str, str], runs: int,
            compare: Path | None) -> None:
    argv = suite.tollgate_argv(tollgate)
    who_all = ["direct", "tollgate"] + (["compare"] if compare else [])
    if compare:
        # Untimed warm-up of the other binary too (its first run pays for its page cache).
        timed(suite.tollgate_argv(compare), suite.root, env)
    for r in range(runs):
        # Rotate the order so that no command always runs first (or right after another).
        order = who_all[r % len(who_all):] + who_all[:r % len(who_all)]
        for who in order:
            if who == "direct":
                t = timed_all(suite.direct, suite.root, env)
                suite.direct_times.append(t)
            elif who == "tollgate":
                t = timed(argv, suite.root, env)
                suite.tollgate_times.append(t)
            else:
                t = timed(suite.tollgate_argv(compare), suite.root, env)
                suite.compare_times.append(t)
            if t.code != 0:
                suite.problems.append(f"run {r + 1}: {who} exited {t.code}")
        extra = f", compare {suite.compare_times[-1].wall:.2f}s" if compare else ""
        log(f"[{suite.name}] run {r + 1}/{runs}: direct {suite.direct_times[-1].wall:.2f}s, "
            f"tollgate {suite.tollgate_times[-1].wall:.2f}s{extra} "
            f"(load {os.getloadavg()[0]:.1f})")


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------

def med(ts: list[Timing], what: str) -> float:
    return statistics.median(getattr(t, what) for t in ts)


def ratio(suite: Suite, what: str, times: list[Timing] | None = None) -> float:
    d = med(suite.direct_times, what)
    t = med(suite.tollgate_times if times is None else times, what)
    return t / d if d > 0 else float("inf")


def fmt_s(x: float) -> str:
    return f"{x:.2f} s" if x < 100 else f"{x:.1f} s"


def render(suites: list[Suite], args: argparse.Namespace, load_start: tuple, load_end: tuple,
           started: str) -> str:
    compare = bool(args.compare)
    lines = [
        f"**Date**: {started} UTC; **machine**: {os.cpu_count()} cores, {platform.machine()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}; load average "
        f"{load_start[0]:.1f} at start, {load_end[0]:.1f} at the end  ",
        f"**Method**: {args.runs} alternating runs each after one warm-up run; wall time of the "
        f"child, CPU = user + sys of the child and its descendants (`wait4`)  ",
        f"**Corpus**: `bench/gen_corpus.py --test-work-ms {args.work_ms:g} --test-work-kind "
        f"{args.work_kind}` (every Python test does about {args.work_ms:g} ms of work)",
        "",
        "| suite | tests | runner | direct median (min) | `tollgate run` median (min) | "
        "ratio (wall) | ratio (CPU) |" + (" `--compare` median | its ratio (wall) | its ratio "
                                         "(CPU) |" if compare else ""),
        "|---|---:|---|---:|---:|---:|---:|" + ("---:|---:|---:|" if compare else ""),
    ]
    if compare:
        lines.insert(3, f"**--compare**: `{args.compare}` (another tollgate binary, timed in "
                        f"the same rounds)  ")
    for s in suites:
        if not s.tollgate_times or not s.direct_times:
            lines.append(f"| {s.label} | {s.tests:,} | {s.runner or '-'} | - | - | - | - |"
                         + (" - | - | - |" if compare else ""))
            continue
        lines.append(
            f"| {s.label} | {s.tests:,} | {s.runner} | "
            f"{fmt_s(med(s.direct_times, 'wall'))} ({fmt_s(min(t.wall for t in s.direct_times))}) | "
            f"{fmt_s(med(s.tollgate_times, 'wall'))} "
            f"({fmt_s(min(t.wall for t in s.tollgate_times))}) | "
            f"**{ratio(s, 'wall'):.3f}** | {ratio(s, 'cpu'):.3f} |"
            + (f" {fmt_s(med(s.compare_times, 'wall'))} | {ratio(s, 'wall', s.compare_times):.3f}"
               f" | {ratio(s, 'cpu', s.compare_times):.3f} |" if compare and s.compare_times
               else ""))
    lines.append("")
    real = [s for s in suites if s.real_size and s.tollgate_times]
    for s in real:
        r = ratio(s, "wall")
        verdict = "within" if r <= args.max_ratio else "ABOVE"
        lines.append(f"- {s.label}: ratio {r:.3f}, {verdict} the bar (<= {args.max_ratio})")
    if any(not s.real_size for s in suites):
        lines.append("- example suites: small (seconds); tollgate's fixed costs dominate, "
                     "reported only")
    for s in suites:
        for p in s.problems:
            lines.append(f"- problem in {s.label}: {p}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--tollgate", type=Path, default=REPO / "target" / "release" / "tollgate")
    ap.add_argument("--python", type=Path, default=REPO / ".venv" / "bin" / "python",
                    help="interpreter with pytest (default: .venv/bin/python)")
    ap.add_argument("--suites", default="python,rust,example",
                    help="comma-separated: python, rust, example (default: all three)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus", type=Path, default=OUT / "overhead-corpus")
    ap.add_argument("--work-ms", type=float, default=5.0,
                    help="work per Python test in the corpus, ms (default 5)")
    ap.add_argument("--work-kind", choices=["sleep", "cpu"], default="sleep")
    ap.add_argument("--max-ratio", type=float, default=1.05)
    ap.add_argument("--json", type=Path, help="also write every timing here")
    ap.add_argument("--compare", type=Path, metavar="TOLLGATE",
                    help="another tollgate binary (say, a build before a change), timed in the "
                         "same alternating rounds; its ratios get their own columns")
    args = ap.parse_args()

    tollgate = args.tollgate.resolve()
    python = args.python.absolute()
    if not os.access(tollgate, os.X_OK):
        log(f"error: {tollgate} is not executable (cargo build --release -p tollgate)")
        return 2
    if subprocess.run([str(python), "-c", "import pytest"], capture_output=True).returncode:
        log(f"error: {python} cannot import pytest")
        return 2
    wanted = [s.strip() for s in args.suites.split(",") if s.strip()]
    unknown = set(wanted) - {"python", "rust", "example"}
    if unknown:
        log(f"error: unknown suites {sorted(unknown)}")
        return 2

    env = dict(os.environ)
    for name in ("CI", "TOLLGATE_RUN_KEY", "PYTHONPATH"):
        env.pop(name, None)
    work = OUT / "overhead-work"
    work.mkdir(parents=True, exist_ok=True)

    suites: list[Suite] = []
    corpus = args.corpus.resolve()
    if "python" in wanted or "rust" in wanted:
        ensure_corpus(corpus, args.work_ms, args.work_kind, python)
        config = write_bench_config(corpus, python)
        if "python" in wanted:
            suites.append(Suite("python", "corpus `unit`, Python (pytest)", corpus, config,
                                "bench", "bench_python", True))
        if "rust" in wanted:
            suites.append(Suite("rust", "corpus `unit`, Rust (nextest)", corpus, config,
                                "bench", "bench_rust", True))
    if "example" in wanted:
        example = copy_example(OUT / "overhead-example", python)
        for job in example_jobs(tollgate, example, env):
            suites.append(Suite(f"example-{job}", f"example `pr` / `{job}`", example, None,
                                "pr", job, False))

    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    load_start = os.getloadavg()
    ready = [s for s in suites if prepare(s, tollgate, env, work)]
    compare = args.compare.resolve() if args.compare else None
    if compare is not None and not os.access(compare, os.X_OK):
        log(f"error: {compare} is not executable")
        return 2
    for s in ready:
        measure(s, tollgate, env, args.runs, compare)
    load_end = os.getloadavg()
    print(render(suites, args, load_start, load_end, started), end="")

    if args.json:
        doc = {
            "started": started, "load_start": load_start, "load_end": load_end,
            "runs": args.runs, "work_ms": args.work_ms, "work_kind": args.work_kind,
            "suites": [{
                "name": s.name, "label": s.label, "tests": s.tests, "runner": s.runner,
                "real_size": s.real_size, "direct_commands": s.direct,
                "direct": [t.__dict__ for t in s.direct_times],
                "tollgate": [t.__dict__ for t in s.tollgate_times],
                "compare": [t.__dict__ for t in s.compare_times],
                "ratio_wall": ratio(s, "wall") if s.tollgate_times else None,
                "ratio_cpu": ratio(s, "cpu") if s.tollgate_times else None,
                "problems": s.problems,
            } for s in suites],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2), encoding="utf-8")

    failed = any(s.problems for s in suites)
    above = any(ratio(s, "wall") > args.max_ratio for s in suites
                if s.real_size and s.tollgate_times)
    return 1 if failed or above else 0


if __name__ == "__main__":
    sys.exit(main())
