#!/usr/bin/env python3
"""Ask real pytest what it collects, with marker names, as JSON.

    python collect_oracle.py --project DIR [--rootdir R] [-c FILE] [-m EXPR]
                             [--with-errors] [--select EXPR]...
                             [-- extra pytest args/paths]

Runs ``pytest --collect-only -q -p markers_plugin`` in a subprocess with
cwd = DIR and prints the plugin's JSON list (see ``markers_plugin.py``).
With ``--with-errors`` it prints ``{"exit_code", "items", "errors",
"selections"}`` instead, where ``selections`` answers each ``--select EXPR``
in the same run: ``{"EXPR": {"selected": [nodeids]} | {"error": "..."}}``,
computed by pytest's own ``-m`` code over the collected items (or, when a
``-m`` from ``addopts`` already filtered them, by one ``pytest -m EXPR`` run
each, since a command-line ``-m`` replaces the one from ``addopts``).

Exit status: pytest's own when it got as far as collecting: 0, 2 (collection
errors, reported on stderr; the items that did collect are still printed) or
5 (no tests collected, ``[]`` is printed). Any other pytest status (usage
error, internal error) is passed through with pytest's output on stderr and
nothing on stdout.

Nothing is written into the project: the cache provider is disabled and
bytecode writing is off.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: pytest exit codes after which the plugin has written its output.
COLLECTED_EXIT_CODES = (0, 1, 2, 5)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, type=Path, help="cwd for pytest")
    parser.add_argument("--rootdir", help="passed to pytest as --rootdir")
    parser.add_argument("-c", dest="config_file", help="passed to pytest as -c")
    parser.add_argument("-m", dest="markexpr", help="passed to pytest as -m")
    parser.add_argument(
        "--with-errors",
        action="store_true",
        help='print {"exit_code", "items", "errors"} instead of the item list',
    )
    parser.add_argument(
        "--select",
        action="append",
        default=[],
        metavar="EXPR",
        help="also report what -m EXPR would select (needs --with-errors)",
    )
    parser.add_argument(
        "--autoload-plugins",
        action="store_true",
        help="let the interpreter's installed plugins load (default: none load); "
        "for the fixtures that model plugins (interpreter = \"plugins\")",
    )
    parser.add_argument("rest", nargs="*", help="extra pytest args/paths (after --)")
    return parser.parse_args(argv)


def pytest_command(args: argparse.Namespace) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "--collect-only",
        "-q",
        "-p",
        "markers_plugin",
        "-p",
        "no:cacheprovider",
    ]
    if args.rootdir is not None:
        cmd += ["--rootdir", args.rootdir]
    if args.config_file is not None:
        cmd += ["-c", args.config_file]
    if args.markexpr is not None:
        cmd += ["-m", args.markexpr]
    return cmd + list(args.rest)


def oracle_env(
    out: Path, errors: Path, selections: Path, select: list[str], autoload: bool = False
) -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = str(HERE) if not path else f"{HERE}{os.pathsep}{path}"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # Plugins installed in the interpreter would change what is collected,
    # unless they are what is being checked.
    if autoload:
        env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    else:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env.pop("PYTEST_ADDOPTS", None)
    env["TOLLGATE_ORACLE_OUT"] = str(out)
    env["TOLLGATE_ORACLE_ERRORS"] = str(errors)
    env["TOLLGATE_ORACLE_SELECTIONS"] = str(selections)
    env["TOLLGATE_ORACLE_SELECT"] = json.dumps(select)
    return env


def run_pytest(args: argparse.Namespace, tmp: Path) -> tuple[int, str, dict | None]:
    """One pytest run: (exit code, its output, what the plugin wrote or None)."""
    out = tmp / "items.json"
    errors_out = tmp / "errors.json"
    selections_out = tmp / "selections.json"
    for stale in (out, errors_out, selections_out):
        stale.unlink(missing_ok=True)
    proc = subprocess.run(
        pytest_command(args),
        cwd=args.project,
        env=oracle_env(out, errors_out, selections_out, args.select, args.autoload_plugins),
        capture_output=True,
        text=True,
    )
    output = proc.stdout + proc.stderr
    if proc.returncode not in COLLECTED_EXIT_CODES or not out.exists():
        return proc.returncode, output, None
    written = {
        "items": json.loads(out.read_text(encoding="utf-8")),
        "errors": json.loads(errors_out.read_text(encoding="utf-8")),
        "selections": json.loads(selections_out.read_text(encoding="utf-8")),
    }
    return proc.returncode, output, written


def select_by_running_pytest(args: argparse.Namespace, tmp: Path) -> dict:
    """Answer each ``--select`` with a real ``pytest -m`` run."""
    answers = {}
    for expr in args.select:
        one = argparse.Namespace(**{**vars(args), "markexpr": expr, "select": []})
        code, output, written = run_pytest(one, tmp)
        if written is None:
            lines = output.strip().splitlines()
            answers[expr] = {"error": lines[-1] if lines else f"exit {code}"}
        else:
            answers[expr] = {"selected": [item["nodeid"] for item in written["items"]]}
    return answers


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tollgate-oracle-") as tmp:
        code, output, written = run_pytest(args, Path(tmp))
        if written is None:
            sys.stderr.write(output)
            sys.stderr.write(f"collect_oracle: pytest exited {code}\n")
            return code or 3
        items, errors = written["items"], written["errors"]
        selections = written["selections"]["answers"]
        if written["selections"]["markexpr_in_effect"] and args.markexpr is None:
            # A -m from addopts already filtered the items: a command-line -m
            # would replace it, so ask pytest itself.
            selections = select_by_running_pytest(args, Path(tmp))
    for error in errors:
        first_line = error["message"].splitlines()[-1:] or [""]
        sys.stderr.write(f"collection error: {error['nodeid']}: {first_line[0]}\n")
    if args.with_errors:
        result = {
            "exit_code": code,
            "items": items,
            "errors": errors,
            "selections": selections,
        }
    else:
        result = items
    json.dump(result, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
