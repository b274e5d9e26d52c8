#!/usr/bin/env python3
"""Time `tollgate collect` against `pytest --collect-only -q` on the synthetic corpus.

Runs, alternating and N times each, in the same cwd (the corpus root, which holds the
`pyproject.toml` that makes it pytest's rootdir):

    tollgate collect --lang python --format ids
    <python> -m pytest --collect-only -q
    tollgate collect --lang rust --format ids
    tollgate collect --lang all --format ids

and reports wall time (median, min), CPU time / wall time (> 1 means several cores were busy)
and peak RSS of each child alone (from `os.wait4`, not RUSAGE_CHILDREN, which would mix all
children). Then it checks agreement: the node ids and each id's marker-name set from tollgate's
JSON inventory must equal what pytest collects (via the `tests/oracle/markers_plugin.py`
plugin, i.e. `item.iter_markers()`). The generator's own model (`corpus_manifest.json`) is used
to group disagreements by the source pattern that produced them.

Exit status: 0 when everything agrees and the ratio is at least `--min-ratio`; 1 otherwise;
2 for usage errors (missing binary, python without pytest).

Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
import gen_corpus  # noqa: E402  (sibling module; the bench is run as a script)

EXAMPLES_PER_GROUP = 3


# --------------------------------------------------------------------------------------------
# Measuring one child process
# --------------------------------------------------------------------------------------------

@dataclass
class Run:
    """One timed execution of one command."""

    wall_s: float
    user_s: float
    sys_s: float
    max_rss_kib: int
    exit_code: int
    lines: int  # items printed

    @property
    def cpu_per_wall(self) -> float:
        return (self.user_s + self.sys_s) / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class Command:
    key: str
    label: str
    argv: list[str]
    env: dict[str, str]
    ok_codes: tuple[int, ...] = (0,)
    runs: list[Run] = field(default_factory=list)
    last_stdout: str = ""


def run_measured(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[Run, str, str]:
    """Run `argv` to completion, measuring only that child (wall clock, rusage via wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code  # reaped by wait4; keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", errors="replace")
        stderr = err.read().decode("utf-8", errors="replace")
    lines = count_ids(argv, stdout)
    return Run(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, code, lines), stdout, stderr


def non_empty_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def count_ids(argv: list[str], stdout: str) -> int:
    """Items a run printed: node-id lines for pytest (not its summary), every line for tollgate."""
    if "pytest" in argv:
        return len(pytest_ids(stdout))
    return len(non_empty_lines(stdout))


def pytest_ids(stdout: str) -> list[str]:
    """Node ids from `pytest --collect-only -q` output (they precede the summary line)."""
    ids = []
    for line in stdout.splitlines():
        if not line.strip():
            break
        if "::" in line:
            ids.append(line)
    return ids


# --------------------------------------------------------------------------------------------
# Agreement
# --------------------------------------------------------------------------------------------

def tollgate_inventory(tollgate: str, corpus: Path, env: dict[str, str],
                       lang: str = "python", extra: tuple[str, ...] = ()) -> dict:
    proc = subprocess.run([tollgate, "collect", "--lang", lang, "--format", "json", *extra],
                          cwd=corpus, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"tollgate collect --format json failed (exit {proc.returncode}):\n"
                         f"{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def explain(nodeids: list[str], manifest_tags: dict[str, set], tag_freq: Counter) -> list[str]:
    """Pattern tags shared by every id in a group, most specific (rarest overall) first."""
    tagged = [manifest_tags[n] for n in nodeids if n in manifest_tags]
    if not tagged:
        return []
    common = set.intersection(*tagged)
    return sorted(common, key=lambda t: (tag_freq[t], t))[:4]


def group_ids(ids: list[str], manifest_tags: dict[str, set], tag_freq: Counter,
              file_sizes: Counter) -> list[dict]:
    """Group missing/extra ids: whole files first, then by shared generator tags."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        by_file[i.split("::", 1)[0]].append(i)
    groups: list[dict] = []
    whole_files = [f for f, v in by_file.items() if file_sizes.get(f) and len(v) == file_sizes[f]]
    if whole_files:
        groups.append({"cause": "every item of these files", "count":
                       sum(len(by_file[f]) for f in whole_files), "files": len(whole_files),
                       "examples": sorted(whole_files)[:EXAMPLES_PER_GROUP]})
    rest = [i for f, v in by_file.items() if f not in whole_files for i in v]
    shape: dict[str, list[str]] = defaultdict(list)
    for i in rest:
        kind = []
        if "[" in i:
            kind.append("parametrized")
        kind.append(f"depth{i.count('::')}")
        shape[" ".join(kind)].append(i)
    for kind, members in sorted(shape.items(), key=lambda kv: -len(kv[1])):
        groups.append({"cause": kind, "count": len(members),
                       "shared_tags": explain(members, manifest_tags, tag_freq),
                       "examples": sorted(members)[:EXAMPLES_PER_GROUP]})
    return groups


def compare(pytest_view: dict[str, set], tollgate_tests: list[dict], manifest: dict) -> dict:
    tg: dict[str, set] = {}
    duplicates = []
    for t in tollgate_tests:
        if t["id"] in tg:
            duplicates.append(t["id"])
        tg[t["id"]] = {m["name"] for m in t.get("markers", [])}
    items = manifest.get("python", {}).get("items", [])
    manifest_tags = {i["nodeid"]: set(i["tags"]) for i in items}
    tag_freq = Counter(t for i in items for t in i["tags"])
    file_sizes = Counter(n.split("::", 1)[0] for n in pytest_view)
    tg_file_sizes = Counter(n.split("::", 1)[0] for n in tg)
    missing = sorted(set(pytest_view) - set(tg))
    extra = sorted(set(tg) - set(pytest_view))
    by_signature: dict[tuple, list[str]] = defaultdict(list)
    for nid in sorted(set(pytest_view) & set(tg)):
        want, got = pytest_view[nid], tg[nid]
        if want != got:
            by_signature[(tuple(sorted(want - got)), tuple(sorted(got - want)))].append(nid)
    marker_groups = [
        {"missing_markers": list(sig[0]), "extra_markers": list(sig[1]), "count": len(ids),
         "shared_tags": explain(ids, manifest_tags, tag_freq),
         "examples": ids[:EXAMPLES_PER_GROUP]}
        for sig, ids in sorted(by_signature.items(), key=lambda kv: -len(kv[1]))
    ]
    dynamic = sum(1 for t in tollgate_tests if t.get("dynamic"))
    return {
        "pytest_items": len(pytest_view),
        "tollgate_items": len(tollgate_tests),
        "duplicate_tollgate_ids": duplicates[:20],
        "missing_in_tollgate": len(missing),
        "extra_in_tollgate": len(extra),
        "missing_groups": group_ids(missing, manifest_tags, tag_freq, file_sizes),
        "extra_groups": group_ids(extra, manifest_tags, tag_freq, tg_file_sizes),
        "marker_mismatches": sum(len(v) for v in by_signature.values()),
        "marker_groups": marker_groups,
        "dynamic_items": dynamic,
        "ok": not missing and not extra and not by_signature and not duplicates,
    }


# `-m` expressions from the seeds' pipeline table and guidelines, plus a keyword match.
DEFAULT_SELECTIONS = [
    "integration and (pre_merge or premerge) and (gpu_0 or gpus_needed_0)",
    "e2e and gpu_1 and (pre_merge or post_merge or nightly)",
    "benchmark and not release",
    "gpus(count=2) and not slow",
]


def compare_selections(exprs: list[str], tollgate: str, python: str, corpus: Path,
                       env: dict[str, str]) -> list[dict]:
    """What `pytest -m EXPR` selects against what `tollgate collect -m EXPR` selects."""
    results = []
    for expr in exprs:
        progress(f"selection: pytest --collect-only -q -m {expr!r} ...")
        py = subprocess.run([python, "-m", "pytest", "--collect-only", "-q", "-m", expr],
                            cwd=corpus, env=env, capture_output=True, text=True)
        tg = subprocess.run([tollgate, "collect", "--lang", "python", "--format", "ids", "-m",
                             expr], cwd=corpus, env=env, capture_output=True, text=True)
        want = set(pytest_ids(py.stdout))
        got = set(non_empty_lines(tg.stdout))
        results.append({"expr": expr, "pytest_exit": py.returncode,
                        "tollgate_exit": tg.returncode, "pytest": len(want),
                        "tollgate": len(got), "missing": sorted(want - got)[:EXAMPLES_PER_GROUP],
                        "missing_count": len(want - got),
                        "extra": sorted(got - want)[:EXAMPLES_PER_GROUP],
                        "extra_count": len(got - want),
                        "ok": want == got and tg.returncode == 0})
    return results


def rust_fact_view(test: dict) -> dict:
    """The facts of one tollgate Rust item, in the generator manifest's vocabulary."""
    facts = test.get("rust") or {}
    return {
        "markers": sorted({m["name"] for m in test.get("markers", [])}),
        "file": test.get("file"),
        "line": test.get("line"),
        "attribute": facts.get("test_attribute"),
        "ignored": facts.get("ignored"),
        "should_panic": bool(facts.get("should_panic", False)),
        "required_features": sorted(facts.get("required_features", [])),
    }


RUST_FACT_FIELDS = ("markers", "file", "line", "attribute", "ignored", "should_panic",
                    "required_features")


def compare_rust_facts(tests: list[dict], facts: dict[str, dict]) -> dict:
    """Every Rust test tollgate lists with `--all-features --run-ignored all` against the
    generator's model: the id set, and per id the markers (from `// tollgate: markers(...)`
    annotations), file, line of the `fn`, attribute, ignore reason, should_panic and required
    features. Mismatches are grouped by field and the model's pattern tags."""
    got_ids = {t["id"] for t in tests}
    diffs: dict[tuple, list[str]] = defaultdict(list)
    for t in tests:
        model = facts.get(t["id"])
        if model is None:
            continue
        view = rust_fact_view(t)
        for name in RUST_FACT_FIELDS:
            want = sorted(model.get(name) or []) if name in ("markers", "required_features") \
                else model.get(name)
            if view[name] == want:
                continue
            if name in ("file", "line"):  # one group per field; the values go in the example
                diffs[(name, "see examples", "")].append(
                    f"{t['id']} (model {want!r}, tollgate {view[name]!r})")
            else:
                diffs[(name, repr(want), repr(view[name]))].append(t["id"])

    def shared_tags(ids: list[str]) -> str:
        tag_sets = [set(facts[i.split(" (model ", 1)[0]]["tags"]) for i in ids]
        return ",".join(sorted(set.intersection(*tag_sets)))

    groups = [{"field": k[0], "model": k[1], "tollgate": k[2], "tags": shared_tags(v),
               "count": len(v), "examples": v[:EXAMPLES_PER_GROUP]}
              for k, v in sorted(diffs.items(), key=lambda kv: -len(kv[1]))][:20]
    mismatched = {i.split(" (model ", 1)[0] for v in diffs.values() for i in v}
    return {"model_tests": len(facts), "tollgate_tests": len(tests),
            "missing": sorted(set(facts) - got_ids)[:20],
            "missing_count": len(set(facts) - got_ids),
            "extra": sorted(got_ids - set(facts))[:20], "extra_count": len(got_ids - set(facts)),
            "annotated": sum(1 for f in facts.values() if f.get("markers")),
            "tests_with_fact_mismatches": len(mismatched), "groups": groups}


def compare_rust(tollgate_ids: list[str], manifest: dict,
                 nextest_ids: list[str] | None = None,
                 rust_json: list[dict] | None = None) -> dict:
    """tollgate's Rust ids against `cargo nextest list` (default features, `--run-ignored
    default`): the real one with `--nextest`, else the generator's model of it."""
    model = set(manifest.get("rust", {}).get("nextest_default_ids", []))
    want = set(nextest_ids) if nextest_ids is not None else model
    got = set(tollgate_ids)
    facts = {f"{t['binary_id']} {t['name']}": t for t in manifest.get("rust", {}).get("tests", [])}

    def grouped(ids: set[str]) -> list[dict]:
        groups: dict[str, list[str]] = defaultdict(list)
        for i in sorted(ids):
            t = facts.get(i)
            key = ",".join(sorted(set(t["tags"]) | ({"ignored"} if t["ignored"] is not None
                                                    else set()))) if t else "not in model"
            groups[key].append(i)
        return [{"tags": k, "count": len(v), "examples": v[:EXAMPLES_PER_GROUP]}
                for k, v in sorted(groups.items(), key=lambda kv: -len(kv[1]))][:12]

    all_tests = compare_rust_facts(rust_json, facts) if rust_json is not None else None
    return {"oracle": "cargo nextest list" if nextest_ids is not None else "generator model",
            "all_tests": all_tests,
            "model_matches_nextest": (model == want) if nextest_ids is not None else None,
            "same_order": (tollgate_ids == nextest_ids) if nextest_ids is not None else None,
            "model_ids": len(want), "tollgate_ids": len(got),
            "missing": len(want - got), "extra": len(got - want),
            "missing_groups": grouped(want - got), "extra_groups": grouped(got - want),
            "ok": want == got}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def fmt_s(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def summarize(cmd: Command) -> dict:
    walls = [r.wall_s for r in cmd.runs]
    return {
        "label": cmd.label,
        "median_s": statistics.median(walls),
        "min_s": min(walls),
        "cpu_per_wall_median": statistics.median(r.cpu_per_wall for r in cmd.runs),
        "cpu_median_s": statistics.median(r.user_s + r.sys_s for r in cmd.runs),
        "max_rss_mib": max(r.max_rss_kib for r in cmd.runs) / 1024,
        "lines": cmd.runs[-1].lines,
        "runs": [asdict(r) for r in cmd.runs],
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def report(summaries: dict[str, dict], ratio: float | None, agreement: dict | None,
           rust: dict | None, corpus_line: str, runs: int, env_line: str) -> str:
    out = [f"**Corpus**: {corpus_line}  ", f"**Machine**: {env_line}  ",
           f"**Method**: {runs} alternating runs each after one warm-up run (warm page cache, "
           "warm `.pyc` cache for pytest); wall time of the child, CPU = user+sys of that child, "
           "peak RSS from `wait4`.", "",
           "| command | median | min | CPU time | CPU / wall | peak RSS | items |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for s in summaries.values():
        out.append(f"| `{s['label']}` | {fmt_s(s['median_s'])} | {fmt_s(s['min_s'])} | "
                   f"{fmt_s(s['cpu_median_s'])} | "
                   f"{s['cpu_per_wall_median']:.2f} | {s['max_rss_mib']:.0f} MiB | "
                   f"{s['lines']:,} |")
    out.append("")
    if ratio is not None:
        cpu_ratio = summaries["pytest"]["cpu_median_s"] / \
            summaries["tollgate_python"]["cpu_median_s"]
        out.append(f"**pytest / tollgate (Python, median wall): {ratio:.0f}x** "
                   f"(CPU time: {cpu_ratio:.0f}x)  ")
    if agreement is not None:
        a = agreement
        verdict = "identical" if a["ok"] else "DIFFERENT"
        out.append(f"**Agreement with pytest**: {verdict}: {a['pytest_items']:,} pytest items, "
                   f"{a['tollgate_items']:,} tollgate items, {a['missing_in_tollgate']:,} missing, "
                   f"{a['extra_in_tollgate']:,} extra, {a['marker_mismatches']:,} with different "
                   f"marker names, {a['dynamic_items']:,} flagged dynamic.  ")
    if rust is not None:
        if rust["oracle"] == "cargo nextest list":
            model = "the generator's model agrees" if rust["model_matches_nextest"] else \
                "the generator's model DIFFERS"
            order = "same order" if rust["same_order"] else "different order"
            out.append(f"**Rust vs `cargo nextest list`** ({model}): "
                       f"{rust['tollgate_ids']:,} ids vs {rust['model_ids']:,} listed, "
                       f"{rust['missing']:,} missing, {rust['extra']:,} extra, {order}.")
        else:
            out.append(f"**Rust vs the generator's model of `cargo nextest list`** "
                       f"(informational; `--nextest` compares with the real one): "
                       f"{rust['tollgate_ids']:,} ids vs {rust['model_ids']:,} expected, "
                       f"{rust['missing']:,} missing, {rust['extra']:,} extra.")
        every = rust.get("all_tests")
        if every is not None:
            out.append(f"  \n**Rust, every test** (`--all-features --run-ignored all`, JSON) vs "
                       f"the model: {every['tollgate_tests']:,} vs {every['model_tests']:,} "
                       f"tests, {every['missing_count']:,} missing, {every['extra_count']:,} "
                       f"extra; {every['tests_with_fact_mismatches']:,} with a different fact "
                       f"(markers from {every['annotated']:,} annotations, file, line, "
                       f"attribute, ignored, should_panic, required features).")
    return "\n".join(out)


def details(agreement: dict | None, rust: dict | None) -> str:
    """Human-readable mismatch groups (not part of the README block)."""
    out: list[str] = []
    if agreement and not agreement["ok"]:
        out.append("Python disagreements, grouped:")
        if agreement["duplicate_tollgate_ids"]:
            dups = agreement["duplicate_tollgate_ids"][:3]
            out.append(f"  duplicate ids in tollgate output: {dups}")
        for title, key in [("missing in tollgate", "missing_groups"),
                           ("extra in tollgate", "extra_groups")]:
            for g in agreement[key]:
                out.append(f"  {title}: {g['count']:,} ({g['cause']}"
                           + (f", {g['files']} files" if "files" in g else "")
                           + (f"; tags {g['shared_tags']}" if g.get("shared_tags") else "") + ")")
                for e in g["examples"]:
                    out.append(f"      {e}")
        for g in agreement["marker_groups"][:25]:
            out.append(f"  markers: {g['count']:,} items; pytest-only {g['missing_markers']}, "
                       f"tollgate-only {g['extra_markers']}; tags {g['shared_tags']}")
            for e in g["examples"]:
                out.append(f"      {e}")
        if len(agreement["marker_groups"]) > 25:
            out.append(f"  ... {len(agreement['marker_groups']) - 25} more marker groups (--json)")
    every = rust.get("all_tests") if rust else None
    if every and (every["groups"] or every["missing_count"] or every["extra_count"]):
        out.append("Rust facts (--all-features --run-ignored all) that differ from the model:")
        for i in every["missing"][:EXAMPLES_PER_GROUP]:
            out.append(f"  missing: {i}")
        for i in every["extra"][:EXAMPLES_PER_GROUP]:
            out.append(f"  extra: {i}")
        for g in every["groups"]:
            out.append(f"  {g['field']}: {g['count']:,} tests; model {g['model']}, tollgate "
                       f"{g['tollgate']} [{g['tags']}]")
            for e in g["examples"]:
                out.append(f"      {e}")
    if rust and (rust["missing"] or rust["extra"]):
        out.append(f"Rust differences from {rust['oracle']}:")
        for title, key in [("missing", "missing_groups"), ("extra", "extra_groups")]:
            for g in rust[key]:
                out.append(f"  {title}: {g['count']:,} [{g['tags']}]")
                for e in g["examples"]:
                    out.append(f"      {e}")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Benchmark tollgate collect against pytest "
                                             "--collect-only on the synthetic corpus.")
    ap.add_argument("corpus", nargs="?", type=Path, default=BENCH_DIR / "out" / "corpus",
                    help="corpus root (generated with default settings when absent)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    ap.add_argument("--tollgate", default=str(REPO / "target" / "release" / "tollgate"))
    ap.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"))
    ap.add_argument("--min-ratio", type=float, default=0.0,
                    help="fail if pytest/tollgate median ratio is below this (default 0)")
    ap.add_argument("--json", type=Path, help="write raw numbers and mismatches here")
    ap.add_argument("--no-agreement", action="store_true", help="timing only")
    ap.add_argument("--selections", action="store_true",
                    help="also compare `-m` selections with pytest (one pytest run per "
                         "expression: " + "; ".join(DEFAULT_SELECTIONS) + ")")
    ap.add_argument("-m", dest="exprs", action="append", metavar="EXPR",
                    help="a `-m` expression to compare (repeatable; implies --selections)")
    ap.add_argument("--nextest", action="store_true",
                    help="also compare Rust ids with the real `cargo nextest list` (compiles "
                         "the corpus into bench/out/target; needs tokio from crates.io)")
    ap.add_argument("--no-pytest", action="store_true",
                    help="time tollgate only (no ratio, no agreement)")
    return ap.parse_args(argv)


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def check_tools(args: argparse.Namespace) -> None:
    tg = Path(args.tollgate)
    if not tg.exists():
        raise SystemExit(f"tollgate binary not found at {tg}; build it with "
                         "`cargo build --release -p tollgate` or pass --tollgate")
    probe = subprocess.run([str(tg), "collect", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise SystemExit(f"`{tg} collect --help` failed: {probe.stderr.strip()[:500]}")
    if not args.no_pytest:
        probe = subprocess.run([args.python, "-c", "import pytest; print(pytest.__version__)"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            raise SystemExit(f"{args.python} cannot import pytest; pass --python")
        args.pytest_version = probe.stdout.strip()


def load_corpus(corpus: Path) -> dict:
    """The corpus manifest, generating the corpus with default settings when absent."""
    manifest_path = corpus / gen_corpus.MANIFEST_NAME
    if not manifest_path.exists():
        progress(f"generating corpus in {corpus} ...")
        gen_corpus.main(["--out", str(corpus), "--quiet"])
    return json.loads(manifest_path.read_text(encoding="utf-8"))


def build_commands(args: argparse.Namespace, env: dict[str, str]) -> list[Command]:
    tg = args.tollgate
    commands = [Command("tollgate_python", "tollgate collect --lang python --format ids",
                        [tg, "collect", "--lang", "python", "--format", "ids"], env)]
    if not args.no_pytest:
        commands.append(Command("pytest", "pytest --collect-only -q",
                                [args.python, "-m", "pytest", "--collect-only", "-q"], env))
    commands += [
        Command("tollgate_rust", "tollgate collect --lang rust --format ids",
                [tg, "collect", "--lang", "rust", "--format", "ids"], env),
        Command("tollgate_all", "tollgate collect --lang all --format ids",
                [tg, "collect", "--lang", "all", "--format", "ids"], env),
    ]
    return commands


def time_commands(commands: list[Command], runs: int, corpus: Path) -> bool:
    """One warm-up round, then `runs` rounds, alternating commands. False if one failed."""
    for i in range(runs + 1):
        tag = "warm-up" if i == 0 else f"run {i}/{runs}"
        for cmd in commands:
            progress(f"[{tag}] {cmd.label} ...")
            run, stdout, stderr = run_measured(cmd.argv, corpus, cmd.env)
            progress(f"[{tag}] {cmd.label}: {fmt_s(run.wall_s)}, "
                     f"{run.max_rss_kib / 1024:.0f} MiB, exit {run.exit_code}")
            if run.exit_code not in cmd.ok_codes:
                print(f"error: `{shlex.join(cmd.argv)}` exited {run.exit_code}:\n"
                      f"{stderr[-2000:]}", file=sys.stderr)
                return False
            if i > 0:
                cmd.runs.append(run)
            cmd.last_stdout = stdout
    return True


def python_agreement(args: argparse.Namespace, corpus: Path, env: dict[str, str],
                     manifest: dict, by_key: dict[str, Command]) -> dict:
    progress("agreement: pytest --collect-only with the markers plugin ...")
    pytest_view, collect_errors = gen_corpus.pytest_oracle(args.python, corpus, env)
    progress("agreement: tollgate collect --format json ...")
    inventory = tollgate_inventory(args.tollgate, corpus, env)
    agreement = compare(pytest_view, inventory.get("tests", []), manifest)
    agreement["pytest_collection_errors"] = collect_errors
    agreement["tollgate_diagnostics"] = inventory.get("diagnostics", [])[:50]
    # The plain `--format ids` output must be pytest's -q output, line for line as a set.
    tg_ids = non_empty_lines(by_key["tollgate_python"].last_stdout)
    py_ids = pytest_ids(by_key["pytest"].last_stdout)
    agreement["ids_format"] = {"same_set": set(tg_ids) == set(py_ids),
                               "same_order": tg_ids == py_ids,
                               "tollgate_lines": len(tg_ids), "pytest_lines": len(py_ids)}
    if collect_errors or not agreement["ids_format"]["same_set"]:
        agreement["ok"] = False
    return agreement


def format_extras(agreement: dict | None, selections: list[dict] | None) -> str:
    """The `--format ids` line check and the `-m` selection table, below the main block."""
    out: list[str] = []
    if agreement is not None:
        ids = agreement["ids_format"]
        out.append(f"`--format ids` vs `pytest --collect-only -q` lines: "
                   f"{'same set' if ids['same_set'] else 'DIFFERENT sets'}, "
                   f"{'same order' if ids['same_order'] else 'different order'} "
                   f"({ids['tollgate_lines']:,} vs {ids['pytest_lines']:,} lines)")
        if agreement["pytest_collection_errors"]:
            out.append(f"pytest reported {len(agreement['pytest_collection_errors'])} collection "
                       "errors on the corpus (a generator bug)")
    if selections:
        out += ["", "| `-m` expression | pytest | tollgate | missing | extra |",
                "|---|---:|---:|---:|---:|"]
        out += [f"| `{sel['expr']}` | {sel['pytest']:,} | {sel['tollgate']:,} | "
                f"{sel['missing_count']:,} | {sel['extra_count']:,} |" for sel in selections]
        for sel in selections:
            out += [f"  -m {sel['expr']!r} missing: {i}" for i in sel["missing"]]
            out += [f"  -m {sel['expr']!r} extra: {i}" for i in sel["extra"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_tools(args)
    except SystemExit as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    corpus = args.corpus.resolve()
    manifest = load_corpus(corpus)
    py, rs = manifest["python"], manifest["rust"]
    corpus_line = (f"{py['files']:,} Python test files / {len(py['items']):,} pytest items; "
                   f"{rs['files']:,} Rust files / {len(rs['tests']):,} tests "
                   f"(`bench/gen_corpus.py`, seed {manifest['generator']['seed']})")
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "TOLLGATE_ORACLE_OUT")}

    load_at_start = os.getloadavg()[0]
    if load_at_start > (os.cpu_count() or 1) / 2:
        progress(f"warning: load average {load_at_start:.1f}: other work will skew the timings")
    commands = build_commands(args, env)
    if not time_commands(commands, args.runs, corpus):
        return 1
    by_key = {c.key: c for c in commands}
    summaries = {c.key: summarize(c) for c in commands}
    ratio = None
    if "pytest" in summaries:
        ratio = summaries["pytest"]["median_s"] / summaries["tollgate_python"]["median_s"]

    agreement = None
    if not args.no_agreement and not args.no_pytest:
        agreement = python_agreement(args, corpus, env, manifest, by_key)
    selections = None
    if (args.selections or args.exprs) and not args.no_pytest:
        selections = compare_selections(args.exprs or DEFAULT_SELECTIONS, args.tollgate,
                                        args.python, corpus, env)
    nextest_ids = None
    if args.nextest:
        progress("rust: cargo nextest list (builds the corpus once) ...")
        nextest_ids = gen_corpus.nextest_list(corpus)
    rust_json = None
    if not args.no_agreement:
        progress("rust: tollgate collect --lang rust --format json --all-features "
                 "--run-ignored all ...")
        rust_json = tollgate_inventory(args.tollgate, corpus, env, lang="rust",
                                       extra=("--all-features", "--run-ignored", "all")
                                       ).get("tests", [])
    rust = compare_rust(non_empty_lines(by_key["tollgate_rust"].last_stdout), manifest,
                        nextest_ids, rust_json)

    env_line = (f"{os.cpu_count()} cores ({cpu_model()}), load average {load_at_start:.1f} at "
                f"start, Linux {platform.release()}, Python {platform.python_version()}"
                + (f", pytest {args.pytest_version}" if not args.no_pytest else ""))
    print(report(summaries, ratio, agreement, rust, corpus_line, args.runs, env_line))
    for section in (format_extras(agreement, selections), details(agreement, rust)):
        if section:
            print("\n" + section)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "corpus": str(corpus), "generator": manifest["generator"], "machine": env_line,
            "runs": args.runs, "commands": summaries, "ratio_pytest_over_tollgate": ratio,
            "agreement": agreement, "selections": selections, "rust_vs_model": rust,
        }, indent=2), encoding="utf-8")
        progress(f"raw numbers written to {args.json}")

    failures = []
    if agreement is not None and not agreement["ok"]:
        failures.append("tollgate and pytest disagree on the Python items")
    if nextest_ids is not None and not rust["ok"]:
        failures.append("tollgate and cargo nextest list disagree on the Rust ids")
    if selections and not all(sel["ok"] for sel in selections):
        failures.append("tollgate and pytest disagree on a -m selection")
    if ratio is not None and ratio < args.min_ratio:
        failures.append(f"ratio {ratio:.1f}x is below --min-ratio {args.min_ratio}")
    for f in failures:
        print(f"FAIL: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
