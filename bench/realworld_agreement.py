#!/usr/bin/env python3
"""How closely does `tollgate collect` agree with `pytest --collect-only` on a real project?

    python3 bench/realworld_agreement.py --project DIR --python VENV/bin/python \
        [--tollgate target/debug/tollgate] [--select EXPR]... [--name NAME] [--autoload] \
        [--json OUT] [--show N] [-- extra pytest/tollgate paths]

Runs real pytest (with ``tests/oracle/markers_plugin.py`` plus a small plugin
that records modules skipped at import) in DIR with the given interpreter,
then ``tollgate collect --format json`` in DIR, and prints one Markdown table
row per project with, at *function* level (a parametrized function counts
once):

- ``found``: % of pytest's test functions that tollgate lists too;
- ``marks``: % of those with the identical set of function-level marker names
  (over all of them / over those tollgate did not flag ``dynamic``: a
  ``dynamic`` flag says the static answer may be incomplete);
- ``ids``: % of pytest's node ids that tollgate lists exactly (over all
  items, and over items of functions tollgate did not flag ``dynamic``);
- ``-m``: for each ``--select EXPR``, % of functions (pytest's ∪ tollgate's)
  on which the two agree whether the function is selected (all / not
  ``dynamic``);
- ``env``: test functions tollgate lists in modules pytest could not import
  (collection error) or skipped at import (``importorskip``, module-level
  ``skip``): environment differences, counted apart and left out of ``found``;
- ``P / R``: function-level precision (share of tollgate's functions that
  pytest collects) and recall (share of pytest's functions tollgate lists),
  unfiltered and for each ``-m`` expression. A module tollgate keeps as one
  dynamic entry (tests generated at import time; its id is the file) covers
  every function pytest finds in that module, and is selected as a whole;
- ``dynamic``: share of tollgate's items flagged ``dynamic``.

Stdlib only. Exit status 0 (report only), 2 when pytest or tollgate fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ORACLE_DIR = REPO / "tests" / "oracle"

#: Records collectors skipped at import; markers_plugin records only failures.
SKIPS_PLUGIN = '''
import json, os
_skipped = []
def pytest_collectreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)
def pytest_collection_finish(session):
    with open(os.environ["REALWORLD_SKIPS_OUT"], "w") as f:
        json.dump(_skipped, f)
'''

DEFAULT_SELECTS = ["slow", "not slow", "skip or xfail", "parametrize"]


def function_of(nodeid: str) -> str:
    """``a.py::C::test_f[a::b]`` → ``a.py::C::test_f`` (ids may hold ``::`` and ``[``)."""
    first = nodeid.find("::")
    bracket = nodeid.find("[", first) if first >= 0 else -1
    return nodeid if bracket < 0 else nodeid[:bracket]


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def run_pytest(args, tmp: Path) -> dict:
    (tmp / "realworld_skips.py").write_text(SKIPS_PLUGIN, encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ORACLE_DIR), str(tmp)])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if not args.autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    outs = {k: tmp / f"{k}.json" for k in ("items", "errors", "selections", "skips")}
    env["TOLLGATE_ORACLE_OUT"] = str(outs["items"])
    env["TOLLGATE_ORACLE_ERRORS"] = str(outs["errors"])
    env["TOLLGATE_ORACLE_SELECTIONS"] = str(outs["selections"])
    env["TOLLGATE_ORACLE_SELECT"] = json.dumps(args.select)
    env["REALWORLD_SKIPS_OUT"] = str(outs["skips"])
    cmd = [args.python, "-m", "pytest", "--collect-only", "-q", "-p", "markers_plugin",
           "-p", "realworld_skips", "-p", "no:cacheprovider", *args.rest]
    proc = subprocess.run(cmd, cwd=args.project, env=env, capture_output=True, text=True)
    if not outs["items"].exists():
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"pytest exited {proc.returncode} without collecting")
    return {k: json.loads(p.read_text(encoding="utf-8")) for k, p in outs.items()}


def run_tollgate(args, markexpr: str | None = None) -> dict | list[str] | None:
    """The JSON inventory, or with ``markexpr`` the selected ids (None when
    tollgate rejects the expression, as pytest does with exit 4)."""
    cmd = [args.tollgate, "collect", "--lang", "python"]
    if markexpr is None:
        cmd += ["--format", "json"]
    else:
        cmd += ["--format", "ids", "-m", markexpr]
    proc = subprocess.run(cmd + args.rest, cwd=args.project, capture_output=True, text=True)
    if markexpr is not None:
        return proc.stdout.split("\n") if proc.returncode == 0 else None
    if proc.returncode != 0 and not proc.stdout.strip():
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"tollgate exited {proc.returncode}")
    return json.loads(proc.stdout)


def pct(part: int, whole: int) -> str:
    return "n/a" if whole == 0 else f"{100.0 * part / whole:.2f}%"


def compare(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="realworld-") as tmp:
        oracle = run_pytest(args, Path(tmp))
    ours = run_tollgate(args)

    # pytest side, per function.
    py_items = oracle["items"]
    py_ids = {item["nodeid"] for item in py_items}
    py_fn_marks: dict[str, set[str]] = {}
    for item in py_items:
        py_fn_marks.setdefault(function_of(item["nodeid"]), set()).update(
            item["function_markers"])
    bad_modules = {module_of(e["nodeid"]) for e in oracle["errors"] if e["nodeid"]}
    bad_modules |= {module_of(n) for n in oracle["skips"] if n}

    # tollgate side, per function.
    our_ids = set()
    our_fn_marks: dict[str, set[str]] = {}
    our_dynamic: set[str] = set()
    dynamic_modules: set[str] = set()
    our_items = dynamic_items = 0
    for test in ours["tests"]:
        if test.get("language", "python") != "python":
            continue
        our_items += 1
        our_ids.add(test["id"])
        fn = test.get("function") or function_of(test["id"])
        if test.get("dynamic"):
            dynamic_items += 1
            if "::" not in fn:
                # The whole module, generated at import time.
                dynamic_modules.add(fn)
                continue
        names = {m["name"] for m in test.get("markers", [])
                 if m.get("origin", {}).get("source") != "param"}
        our_fn_marks.setdefault(fn, set()).update(names)
        if test.get("dynamic"):
            our_dynamic.add(fn)
    # Functions pytest finds in a module tollgate keeps as one dynamic entry.
    for fn in py_fn_marks:
        if module_of(fn) in dynamic_modules and fn not in our_fn_marks:
            our_fn_marks[fn] = set(py_fn_marks[fn])
            our_dynamic.add(fn)

    env_only = {fn for fn in our_fn_marks if fn not in py_fn_marks
                and module_of(fn) in bad_modules}
    py_fns = set(py_fn_marks)
    found = py_fns & set(our_fn_marks)
    missing = sorted(py_fns - found)
    extra = sorted(set(our_fn_marks) - py_fns - env_only)
    same_marks = {fn for fn in found if py_fn_marks[fn] == our_fn_marks[fn]}
    static_found = found - our_dynamic
    mark_diffs = sorted(fn for fn in found if fn not in same_marks)
    static_py_ids = {i for i in py_ids if function_of(i) not in our_dynamic}
    wrong_ids = sorted(i for i in static_py_ids if i not in our_ids)

    selections = {}
    for expr in args.select:
        answer = oracle["selections"]["answers"].get(expr, {})
        ours_selected = run_tollgate(args, expr)
        if "selected" not in answer or ours_selected is None:
            # Rejected (say an unknown marker under --strict-markers).
            both = "selected" not in answer and ours_selected is None
            selections[expr] = "both reject" if both else (
                "only pytest rejects" if ours_selected is not None else "only tollgate rejects")
            continue
        py_sel = {function_of(n) for n in answer["selected"]}
        our_sel = {function_of(n) for n in ours_selected if n}
        for module in dynamic_modules & our_sel:
            our_sel |= {fn for fn in py_fns if module_of(fn) == module}
        our_sel -= dynamic_modules
        universe = (py_fns | set(our_fn_marks)) - env_only
        agree = {fn for fn in universe if (fn in py_sel) == (fn in our_sel)}
        static = universe - our_dynamic
        both = py_sel & our_sel
        selections[expr] = (len(agree), len(universe), len(agree & static), len(static),
                            sorted((py_sel ^ our_sel) - env_only),
                            len(both), len(our_sel - env_only), len(py_sel))

    return {
        "name": args.name or Path(args.project).name,
        "py_items": len(py_ids), "py_functions": len(py_fns),
        "found": len(found), "missing": missing, "extra": extra,
        "same_marks": len(same_marks), "mark_diffs": mark_diffs,
        "static_found": len(static_found), "static_same_marks": len(same_marks & static_found),
        "py_fn_marks": py_fn_marks, "our_fn_marks": our_fn_marks,
        "ids_exact": len(py_ids & our_ids), "static_ids": len(static_py_ids),
        "wrong_ids": wrong_ids, "dynamic_functions": len(our_dynamic),
        "env_only": len(env_only), "bad_modules": len(bad_modules),
        "selections": selections,
        "diagnostics": len(ours.get("diagnostics", [])),
        "our_functions": len(set(our_fn_marks) - env_only),
        "our_items": our_items, "dynamic_items": dynamic_items,
        "dynamic_modules": len(dynamic_modules),
    }


def report(r: dict, show: int) -> None:
    print("| project | pytest items | functions | found | marks (all / static) | ids (all) "
          "| ids (static) | dynamic fns | env-only fns | "
          + " | ".join(f"`-m {e}` (all / static)" for e in r["selections"]) + " |")
    print("|" + "---|" * (9 + len(r["selections"])))
    sel = " | ".join(v if isinstance(v, str) else f"{pct(v[0], v[1])} / {pct(v[2], v[3])}"
                     for v in r["selections"].values())
    print(f"| {r['name']} | {r['py_items']} | {r['py_functions']} | "
          f"{pct(r['found'], r['py_functions'])} | {pct(r['same_marks'], r['found'])} / "
          f"{pct(r['static_same_marks'], r['static_found'])} | "
          f"{pct(r['ids_exact'], r['py_items'])} | {pct(r['static_ids'] - len(r['wrong_ids']), r['static_ids'])} | "
          f"{r['dynamic_functions']} | {r['env_only']} ({r['bad_modules']} modules) | {sel} |")
    print(f"\nfunction-level precision / recall: unfiltered "
          f"{pct(r['found'], r['our_functions'])} / {pct(r['found'], r['py_functions'])}; "
          f"dynamic items {pct(r['dynamic_items'], r['our_items'])} "
          f"({r['dynamic_items']} of {r['our_items']}, {r['dynamic_modules']} whole modules)")
    for expr, v in r["selections"].items():
        if not isinstance(v, str):
            print(f"  -m {expr!r}: precision {pct(v[5], v[6])} recall {pct(v[5], v[7])} "
                  f"(pytest {v[7]}, tollgate {v[6]}, both {v[5]})")
    if show <= 0:
        return
    def listing(title, rows):
        if rows:
            print(f"\n{title} ({len(rows)}):", file=sys.stderr)
            for row in rows[:show]:
                print(f"  {row}", file=sys.stderr)
    listing("functions pytest collects, tollgate does not", r["missing"])
    listing("functions tollgate lists, pytest does not", r["extra"])
    listing("marker-name differences (pytest vs tollgate)", [
        f"{fn}: {sorted(r['py_fn_marks'][fn])} vs {sorted(r['our_fn_marks'][fn])}"
        for fn in r["mark_diffs"]])
    listing("pytest node ids tollgate does not produce (non-dynamic functions)", r["wrong_ids"])
    for expr, v in r["selections"].items():
        if not isinstance(v, str):
            listing(f"-m {expr}: functions selected by only one side", v[4])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("--python", default=sys.executable, help="interpreter with pytest")
    parser.add_argument("--tollgate", default=str(REPO / "target" / "debug" / "tollgate"))
    parser.add_argument("--select", action="append", help="-m expression to compare")
    parser.add_argument("--name", help="project name in the table")
    parser.add_argument("--autoload", action="store_true",
                        help="let pytest load installed plugins (hypothesis, pytest-asyncio, ...)"
                        " as the project's own runs do")
    parser.add_argument("--json", type=Path, help="also write the full comparison here")
    parser.add_argument("--show", type=int, default=10, help="list up to N differences per kind")
    parser.add_argument("rest", nargs="*", help="paths passed to both pytest and tollgate")
    args = parser.parse_args(argv)
    args.select = args.select or DEFAULT_SELECTS
    args.project = str(args.project.resolve())
    result = compare(args)
    report(result, args.show)
    if args.json:
        serial = {k: (sorted(v) if isinstance(v, set) else v) for k, v in result.items()
                  if k not in ("py_fn_marks", "our_fn_marks")}
        args.json.write_text(json.dumps(serial, indent=1, default=sorted), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
