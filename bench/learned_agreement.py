#!/usr/bin/env python3
"""After `tollgate learn`, does `tollgate collect` list what pytest collects? And what does learn cost?

    python3 bench/learned_agreement.py --project DIR --python VENV/bin/python \
        [--tollgate target/release/tollgate] [--rounds 3] [--name NAME] [--show N] \
        [-- paths passed to pytest and tollgate]

In DIR, with the given interpreter (plugin autoloading as the project's own
runs have it):

1. times ``pytest --collect-only -q`` and ``tollgate learn`` side by side,
   alternating, ``--rounds`` times each (median of each; learn records into a
   throwaway SQLite store), in wall-clock time and in CPU time (user +
   system of the whole process tree), the fair figure on a shared machine;
2. records pytest's items independently of tollgate (a small plugin here:
   node id and the names ``item.iter_markers()`` yields, deselected items
   included);
3. runs ``tollgate collect --lang python --format json`` with that store and
   compares item by item: ``ids`` is the share of pytest's node ids tollgate
   lists, ``marks`` the share of pytest's items listed with the identical
   marker-name set; ``extra`` counts ids only tollgate lists. It also shows
   the same figures with ``--no-learned`` (static discovery alone).

Prints one Markdown row. Stdlib only. Exit 2 when pytest or tollgate fails.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ORACLE = '''
import json, os
_order, _deselected = {}, []
def pytest_deselected(items):
    _deselected.extend(items)
def pytest_collection_finish(session):
    seen, out = set(), []
    for item in list(session.items) + _deselected:
        if id(item) in seen:
            continue
        seen.add(id(item))
        out.append({"id": item.nodeid,
                    "marks": sorted({m.name for m in item.iter_markers()})})
    with open(os.environ["LEARNED_BENCH_OUT"], "w") as f:
        json.dump(out, f)
'''


def env_for(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def timed(cmd, cwd, env) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds, CPU seconds (user + system of the process and every
    process it waited for) and the result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--tollgate", default=str(REPO / "target" / "release" / "tollgate"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name")
    parser.add_argument("--show", type=int, default=10)
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args(argv)
    project = str(args.project.resolve())
    args.tollgate = str(Path(args.tollgate).resolve())

    with tempfile.TemporaryDirectory(prefix="learned-bench-") as tmp:
        tmp = Path(tmp)
        store = str(tmp / "history.db")
        (tmp / "learned_bench_oracle.py").write_text(ORACLE, encoding="utf-8")
        pytest_cmd = [args.python, "-m", "pytest", "--collect-only", "-q",
                      "-p", "no:cacheprovider", *args.rest]
        learn_cmd = [args.tollgate, "learn", "--python", args.python, "--store", store,
                     *args.rest]
        plain_env = env_for({})
        # The pytest invocation learn makes, without tollgate around it: what
        # the plugin itself costs.
        (tmp / "tollgate_learn.py").write_text(
            (REPO / "crates/tollgate-discover-python/src/learn_plugin.py").read_text(
                encoding="utf-8"), encoding="utf-8")
        plugin_cmd = [args.python, "-m", "pytest", "--collect-only", "-qq",
                      "-p", "tollgate_learn", *args.rest]
        plugin_env = env_for({"PYTHONPATH": str(tmp),
                              "TOLLGATE_LEARN_FILE": str(tmp / "plugin-report.json")})
        plugin_cpu = []
        pytest_times, learn_times, pytest_cpu, learn_cpu = [], [], [], []
        for _ in range(args.rounds):
            _, c, _ = timed(plugin_cmd, project, plugin_env)
            plugin_cpu.append(c)
            t, c, proc = timed(pytest_cmd, project, plain_env)
            if "::" not in proc.stdout:
                sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
                print(f"pytest exited {proc.returncode} without collecting", file=sys.stderr)
                return 2
            pytest_times.append(t)
            pytest_cpu.append(c)
            t, c, proc = timed(learn_cmd, project, plain_env)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-3000:])
                print(f"tollgate learn exited {proc.returncode}", file=sys.stderr)
                return 2
            learn_times.append(t)
            learn_cpu.append(c)
        learn_note = proc.stderr.strip().splitlines()[-1:] if proc.stderr.strip() else []

        out = tmp / "oracle.json"
        oracle_env = env_for({"PYTHONPATH": str(tmp), "LEARNED_BENCH_OUT": str(out)})
        subprocess.run(pytest_cmd + ["-p", "learned_bench_oracle"], cwd=project,
                       env=oracle_env, capture_output=True, text=True)
        oracle = json.loads(out.read_text(encoding="utf-8"))

        def ours(no_learned: bool) -> dict[str, set[str]]:
            cmd = [args.tollgate, "collect", "--lang", "python", "--format", "json",
                   "--store", store, *args.rest]
            if no_learned:
                cmd.append("--no-learned")
            proc = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
            if not proc.stdout.strip():
                sys.stderr.write(proc.stderr[-3000:])
                raise SystemExit(2)
            tests = json.loads(proc.stdout)["tests"]
            return {t["id"]: {m["name"] for m in t.get("markers", [])} for t in tests}

        rows = []
        for label, no_learned in (("learned", False), ("static", True)):
            mine = ours(no_learned)
            py_ids = {o["id"] for o in oracle}
            ids = sum(1 for o in oracle if o["id"] in mine)
            marks = sum(1 for o in oracle
                        if o["id"] in mine and mine[o["id"]] == set(o["marks"]))
            extra = sorted(set(mine) - py_ids)
            missing = [o["id"] for o in oracle if o["id"] not in mine]
            diffs = [f"{o['id']}: pytest {o['marks']} vs tollgate {sorted(mine[o['id']])}"
                     for o in oracle if o["id"] in mine and mine[o["id"]] != set(o["marks"])]
            rows.append((label, ids, marks, len(extra), missing, extra, diffs))

    n = len(oracle)
    p_med, l_med = statistics.median(pytest_times), statistics.median(learn_times)
    name = args.name or Path(project).name
    print("| project | pytest items | side | ids identical | marker sets identical | extra ids |")
    print("|---|---|---|---|---|---|")
    for label, ids, marks, extra, *_ in rows:
        print(f"| {name} | {n} | {label} | {ids / n:.4f} ({ids}) | {marks / n:.4f} ({marks}) "
              f"| {extra} |")
    print(f"\ntime (median of {args.rounds}): pytest --collect-only -q {p_med:.2f}s, "
          f"tollgate learn {l_med:.2f}s, ratio {l_med / p_med:.3f} "
          f"(pytest {', '.join(f'{t:.2f}' for t in pytest_times)}; "
          f"learn {', '.join(f'{t:.2f}' for t in learn_times)})")
    pc, lc = statistics.median(pytest_cpu), statistics.median(learn_cpu)
    print(f"CPU time (user + system, median of {args.rounds}; robust to a busy machine): "
          f"pytest {pc:.2f}s, tollgate learn {lc:.2f}s, ratio {lc / pc:.3f}; "
          f"the same pytest -qq with the learn plugin alone {statistics.median(plugin_cpu):.2f}s "
          f"(ratio {statistics.median(plugin_cpu) / pc:.3f})")
    if learn_note:
        print(f"learn: {learn_note[0]}")
    if args.show > 0:
        label, _, _, _, missing, extra, diffs = rows[0]
        for title, items in (("pytest ids tollgate (learned) does not list", missing),
                             ("ids only tollgate (learned) lists", extra),
                             ("marker-set differences (learned)", diffs)):
            if items:
                print(f"\n{title} ({len(items)}):", file=sys.stderr)
                for row in items[: args.show]:
                    print(f"  {row}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
