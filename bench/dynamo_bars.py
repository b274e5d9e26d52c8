#!/usr/bin/env python3
"""Issue 12's bars, measured on a Dynamo work tree (ai-dynamo/dynamo).

    bench/dynamo_bars.py --tree /path/to/dynamo [--tollgate target/release/tollgate] [--runs 3]

Writes three files at the tree's root (never commit them there):
`tollgate.fromci.toml` (`tollgate init --from-ci`) and `tollgate.preset.toml` (the dynamo preset);
`tollgate.toml` must not exist there (it is written only while (e) times
`collect`, which reads it, and removed again). It prints:

(a) init --from-ci, PR and push: the Python tests the plan of the generated
    config selects versus what Dynamo's workflows select, at function level
    (node id without its `[param]` part). The workflows' side is NOT read by
    tollgate's importer: the `-m` expressions are taken from the YAML with a
    regular expression over the marker inputs (`*_test_markers:`,
    `pytest_marks:`) of the workflow files each pipeline runs (the mapping
    is written out below, from the files' `on:` sections), and each is
    evaluated with `tollgate collect -m EXPR` without any tollgate.toml, as
    pytest's `-m` would. Extras (selected by tollgate only) are listed with
    the job that runs them; `tollgate ci diff` is printed as well.
(b) dynamo preset: nightly coverage of the nightly workflow's selection
    (same method); per pipeline, the plan's `not_run` count (each with a
    reason) and whether every reason is non-empty; the longest argument and
    the longest command of every job.
(c) change-aware PR plans (preset): a vllm-only change, an sglang main.py
    change, a docs-only change, a lock-file change.
(d) lint with the preset: TG103 and TG601 counts.
(e) plan time versus collect time (medians of --runs, alternating).

Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRESET = REPO / "crates/tollgate-config/presets/dynamo.toml"

# Which workflow files each pipeline runs (from their `on:` sections at the
# measured commit): pr.yaml and container-validation-dynamo.yml run on pushes
# to `pull-request/[0-9]+` (copy-pr-bot's mirror branches); post-merge-ci.yml
# and container-validation-dynamo.yml on pushes to main and release/*;
# nightly-ci.yml on its schedule.
WORKFLOWS = {
    "pr": ["pr.yaml", "container-validation-dynamo.yml"],
    "push": ["post-merge-ci.yml", "container-validation-dynamo.yml"],
    "nightly": ["nightly-ci.yml"],
}
MARKER_INPUT = re.compile(
    r"^\s*(?:[a-z_]*test_markers|pytest_marks)\s*:\s*(.+?)\s*$"
)


def run(argv: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if check and done.returncode not in (0, 1):
        sys.exit(f"{shlex.join(argv)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return done


def function_level(test_id: str) -> str:
    return test_id.split("[", 1)[0]


def workflow_expressions(tree: Path, pipeline: str) -> list[tuple[str, str]]:
    out = []
    for name in WORKFLOWS[pipeline]:
        text = (tree / ".github/workflows" / name).read_text()
        for line in text.splitlines():
            m = MARKER_INPUT.match(line)
            if not m:
                continue
            expr = m.group(1).strip().strip("'\"")
            if "${{" in expr or not expr:
                continue
            out.append((name, expr))
    return out


def ci_selection(tg: str, tree: Path, pipeline: str) -> tuple[set[str], list[tuple[str, str, int]]]:
    selected: set[str] = set()
    detail = []
    for name, expr in workflow_expressions(tree, pipeline):
        # No tollgate.toml at the root (main() sees to it): `collect -m` is
        # pytest's `-m` on the markers written in the source, no rule added.
        done = run([tg, "collect", "--lang", "python", "--format", "ids", "-m", expr], tree)
        ids = {l.strip() for l in done.stdout.splitlines() if l.strip()}
        detail.append((name, expr, len(ids)))
        selected |= ids
    return selected, detail


def plan(tg: str, tree: Path, config: str, pipeline: str, extra: list[str] | None = None) -> dict:
    done = run(
        [tg, "plan", "--config", str(tree / config), "--pipeline", pipeline, "--format", "json"]
        + (extra or []),
        tree,
    )
    if done.returncode != 0:
        sys.exit(f"plan {pipeline} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def python_run_by(doc: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for job in doc["jobs"]:
        for t in job.get("tests", []):
            if ".py::" in t or t.endswith(".py"):
                out.setdefault(t, []).append(job["name"])
    return out


def coverage_line(label: str, ci: set[str], tollgate: dict[str, list[str]], limit: int) -> float:
    ci_f = {function_level(t) for t in ci}
    tg_f: dict[str, set[str]] = {}
    for t, jobs in tollgate.items():
        tg_f.setdefault(function_level(t), set()).update(jobs)
    both = ci_f & tg_f.keys()
    cov = len(both) / len(ci_f) if ci_f else 1.0
    missing = sorted(ci_f - tg_f.keys())
    extras = sorted(tg_f.keys() - ci_f)
    print(f"  {label}: workflows select {len(ci_f)} functions ({len(ci)} ids), tollgate {len(tg_f)}, "
          f"both {len(both)}: coverage {cov:.4f}; only workflows {len(missing)}, only tollgate {len(extras)}")
    for t in missing[:limit]:
        print(f"    only workflows: {t}")
    for t in extras[:limit]:
        print(f"    only tollgate: {t}  (run by {', '.join(sorted(tg_f[t]))})")
    if len(extras) > limit:
        print(f"    ... {len(extras) - limit} more extras")
    return cov


def command_sizes(doc: dict) -> tuple[int, int]:
    longest_arg = longest_cmd = 0
    for job in doc["jobs"]:
        for c in job.get("commands", []):
            longest_cmd = max(longest_cmd, len(c.encode()))
            try:
                words = shlex.split(c)
            except ValueError:
                words = [c]
            for w in words:
                longest_arg = max(longest_arg, len(w.encode()))
    return longest_arg, longest_cmd


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{shlex.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", required=True, type=Path)
    ap.add_argument("--tollgate", default=str(REPO / "target/release/tollgate"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=15)
    args = ap.parse_args()
    tree: Path = args.tree.resolve()
    tg = args.tollgate
    if not (tree / ".github/workflows").is_dir():
        print(f"{tree} has no .github/workflows", file=sys.stderr)
        return 2
    commit = run(["git", "rev-parse", "HEAD"], tree).stdout.strip()
    print(f"Dynamo tree {tree} at {commit}; tollgate {tg}")

    # ---- configs
    if (tree / "tollgate.toml").exists():
        print(f"{tree}/tollgate.toml exists: move it away first", file=sys.stderr)
        return 2
    (tree / "tollgate.preset.toml").write_text(PRESET.read_text())
    # init writes DIR/tollgate.toml; import from the tree, then move it.
    done = run([tg, "init", "--from-ci", str(tree)], tree)
    if done.returncode != 0:
        sys.exit(f"init --from-ci failed:\n{done.stderr}")
    (tree / "tollgate.toml").rename(tree / "tollgate.fromci.toml")

    ok = True
    # ---- (a)
    print("\n(a) init --from-ci, then the plans of the generated config against the workflows")
    for pipeline in ["pr", "push"]:
        ci, detail = ci_selection(tg, tree, pipeline)
        for name, expr, n in detail:
            print(f"    {name}: -m \"{expr}\": {n} ids")
        doc = plan(tg, tree, "tollgate.fromci.toml", pipeline)
        cov = coverage_line(pipeline, ci, python_run_by(doc), args.limit)
        ok &= cov >= 0.99
    diff = run([tg, "ci", "diff", "--config", str(tree / "tollgate.fromci.toml"), "--limit", "5"], tree)
    print("  tollgate ci diff (generated config):")
    print("    " + diff.stdout.strip().replace("\n", "\n    "))

    # ---- (b)
    print("\n(b) dynamo preset")
    ci, detail = ci_selection(tg, tree, "nightly")
    doc = plan(tg, tree, "tollgate.preset.toml", "nightly")
    cov = coverage_line("nightly", ci, python_run_by(doc), args.limit)
    ok &= cov >= 0.99
    for pipeline in ["pre-commit", "pr", "push", "nightly", "weekly", "release"]:
        doc = plan(tg, tree, "tollgate.preset.toml", pipeline)
        not_run = doc.get("not_run", [])
        blank = sum(1 for u in not_run if not u.get("reason"))
        arg, cmd = command_sizes(doc)
        print(f"  {pipeline}: {len(doc['jobs'])} jobs, {sum(len(j.get('tests', [])) for j in doc['jobs'])} "
              f"test runs, not_run {len(not_run)} (without a reason: {blank}); longest argument {arg} B, "
              f"longest command {cmd} B")
        ok &= blank == 0 and arg <= 128 * 1024 and cmd <= 1024 * 1024

    # ---- inventory (no tollgate.toml: markers as written, Rust facts)
    inventory = json.loads(run([tg, "collect", "--format", "json"], tree).stdout)
    tests = inventory["tests"] if isinstance(inventory, dict) else inventory
    markers = {t["id"]: {m["name"] for m in t.get("markers", [])} for t in tests}
    rust = {t["id"]: t["rust"] for t in tests if t.get("rust")}

    # ---- (c)
    print("\n(c) change-aware PR plans (preset)")
    cases = {
        "vllm-only": ["components/src/dynamo/vllm/handlers.py"],
        "sglang main.py": ["components/src/dynamo/sglang/main.py"],
        "docs-only": ["docs/index.md"] if (tree / "docs/index.md").exists() else ["README.md"],
        "lock file": ["Cargo.lock"],
    }
    others = ("sglang", "trtllm")
    for label, files in cases.items():
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("\n".join(files) + "\n")
        doc = plan(tg, tree, "tollgate.preset.toml", "pr", ["--changed-files", f.name])
        Path(f.name).unlink()
        jobs = [j["name"] for j in doc["jobs"]]
        tests = [t for j in doc["jobs"] for t in j.get("tests", [])]
        py = [t for t in tests if ".py::" in t]
        scope = (doc.get("changes") or {}).get("scope", {})
        print(f"  {label} ({', '.join(files)}): framework {doc.get('framework')} ({doc.get('framework_source')}), "
              f"scope {scope.get('kind')}, jobs {jobs}, {len(py)} python + {len(tests) - len(py)} rust test runs")
        if label == "vllm-only":
            # Why each selected Python test is affected, and whether any is
            # another framework's (its markers) and not vllm's.
            reasons = scope.get("tests", {})
            kinds: dict[str, int] = {}
            for t in py:
                r = reasons.get(t, "?")
                kind = ("carries `vllm`" if r.startswith("carries `vllm`")
                        else "imports the changed file" if r.startswith("imports changed")
                        else r)
                kinds[kind] = kinds.get(kind, 0) + 1
            for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
                print(f"    {n} selected because: {k}")
            alien = sorted(t for t in py
                           if (markers.get(t, set()) & set(others)) and "vllm" not in markers.get(t, set()))
            via_import = sorted(t for t in py if reasons.get(t, "").startswith("imports changed"))
            print(f"    of another framework and not vllm: {len(alien)}")
            for t in alien[: args.limit]:
                print(f"      {t}")
            outside = [t for t in via_import if not t.startswith("components/src/dynamo/vllm/")]
            print(f"    via import, outside components/src/dynamo/vllm/: {len(outside)}")
            for t in outside[: args.limit]:
                print(f"      {t}  ({reasons.get(t)})")
            ok &= not alien and doc.get("framework") == "vllm"
        if label == "sglang main.py":
            sg = [t for t in py if "sglang" in t]
            print(f"    sglang tests selected: {len(sg)}")
            ok &= doc.get("framework") == "sglang" and len(sg) > 0
        if label == "docs-only":
            ok &= scope.get("kind") == "lint_only"
        if label == "lock file":
            ok &= scope.get("kind") == "everything"

    # ---- (d)
    print("\n(d) lint with the preset")
    done = run([tg, "lint", "--config", str(tree / "tollgate.preset.toml"), "--format", "json"], tree)
    try:
        findings = json.loads(done.stdout)
        items = findings.get("findings", findings) if isinstance(findings, dict) else findings
        codes = [f.get("code") for f in items]
    except (json.JSONDecodeError, AttributeError):
        items = None
        codes = re.findall(r"TG\d{3}", done.stdout)
    for code in ["TG103", "TG601"]:
        print(f"  {code}: {codes.count(code)}")
    # TG601 on a Rust test every feature of which is a default one of its
    # crate (or that needs none): the false findings the bar is about.
    tg601 = [f.get("test") for f in items if f.get("code") == "TG601"] if isinstance(items, list) else []
    default_only = []
    for t in tg601:
        facts = rust.get(t)
        if facts is None:
            continue
        needed = set(facts.get("required_features", []))
        if needed <= set(facts.get("default_enabled", [])) and not facts.get("ignored"):
            default_only.append(t)
    print(f"  TG601 on Rust tests behind default features only (or none): {len(default_only)}")
    for t in default_only[: args.limit]:
        print(f"    {t}")
    python601 = [t for t in tg601 if t and ".py" in t]
    print(f"  TG601 on Python tests: {len(python601)}")
    ok &= codes.count("TG103") == 0 and not default_only

    # ---- (e)
    print(f"\n(e) plan versus collect, {args.runs} runs each, alternating")
    collect_t, plan_t = [], []
    (tree / "tollgate.toml").write_text(PRESET.read_text())
    try:
        for _ in range(args.runs):
            collect_t.append(timed([tg, "collect", "--format", "ids"], tree))
            plan_t.append(timed([tg, "plan", "--pipeline", "nightly", "--format", "json"], tree))
    finally:
        (tree / "tollgate.toml").unlink()
    c, p = statistics.median(collect_t), statistics.median(plan_t)
    print(f"  collect median {c:.3f} s, plan --pipeline nightly median {p:.3f} s, ratio {p / c:.2f}")
    ok &= p / c < 2.0
    print("\nall bars hold" if ok else "\nsome bar does not hold")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
