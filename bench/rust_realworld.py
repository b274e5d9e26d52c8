#!/usr/bin/env python3
"""How closely does `tollgate collect --lang rust` agree with `cargo nextest list`
on a real Rust workspace, and how fast is it?

    python3 bench/rust_realworld.py --project DIR [--tollgate target/release/tollgate] \
        [--runs 3] [--show 20] [--toolchain nightly] [-- extra flags for both, e.g. --all-features]

Runs, in DIR, `cargo nextest list --workspace --message-format oneline FLAGS`
(the oracle; build the workspace first with the same flags, e.g. by running
this once, so that its time is listing only) and `tollgate collect --lang rust
--format json FLAGS DIR`, then prints:

- lines: nextest's lines, tollgate's, identical ones, and the identical-line
  ratio (identical / nextest's);
- missing (nextest lists, tollgate does not) and extra (tollgate lists,
  nextest does not), the first --show of each;
- tollgate's diagnostics by code (warnings and errors; info notes apart);
- time: median wall time of each over --runs, and nextest / tollgate.

Stdlib only. Exit 0 (report only), 2 when a tool fails.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(cmd, cwd, env=None):
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, proc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("--tollgate", default=str(REPO / "target" / "release" / "tollgate"))
    parser.add_argument("--ids-binary", help="time this binary instead of tollgate: "
                        "`cargo build --release -p tollgate-discover-rust --example list_ids`, "
                        "then target/release/examples/list_ids (prints ids, diagnostics on stderr)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--toolchain", help="rustup toolchain for cargo (e.g. nightly when the "
                        "workspace needs a newer rustc than the default)")
    parser.add_argument("--show", type=int, default=20)
    parser.add_argument("flags", nargs="*", help="flags for both (after --)")
    args = parser.parse_args()
    project = args.project.resolve()
    args.tollgate = str(Path(args.tollgate).resolve())
    env = dict(os.environ)
    env.pop("RUSTFLAGS", None)

    cargo = ["cargo", f"+{args.toolchain}"] if args.toolchain else ["cargo"]
    nextest_cmd = [*cargo, "nextest", "list", "--workspace", "--message-format", "oneline", *args.flags]
    tollgate_cmd = [args.tollgate, "collect", "--lang", "rust", "--format", "json", *args.flags, str(project)]
    if args.ids_binary:
        tollgate_cmd = [str(Path(args.ids_binary).resolve()), str(project), *args.flags]
    print(f"$ (cd {project} && {' '.join(nextest_cmd)})", file=sys.stderr)
    print(f"$ {' '.join(tollgate_cmd)}", file=sys.stderr)

    nextest_times, tollgate_times = [], []
    nextest_out = tollgate_out = None
    for _ in range(max(1, args.runs)):
        t, proc = timed(nextest_cmd, project, env)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 2
        nextest_times.append(t)
        nextest_out = proc.stdout
        t, proc = timed(tollgate_cmd, project, env)
        if proc.returncode not in (0, 1):
            print(proc.stderr, file=sys.stderr)
            return 2
        tollgate_times.append(t)
        tollgate_out = proc.stdout

    expected = [line for line in nextest_out.splitlines() if line.strip()]
    if args.ids_binary:
        data = {"tests": [{"id": line} for line in tollgate_out.splitlines() if line.strip()],
                "diagnostics": []}
    else:
        data = json.loads(tollgate_out)
    # nextest's default hides ignored tests; so does `collect` (--run-ignored default).
    got = [t["id"] for t in data["tests"]]
    exp_set, got_set = set(expected), set(got)
    same = len(exp_set & got_set)
    missing = [line for line in expected if line not in got_set]
    extra = [line for line in got if line not in exp_set]
    by_code = collections.Counter()
    infos = collections.Counter()
    for d in data["diagnostics"]:
        (infos if d["severity"] == "info" else by_code)[d["code"]] += 1

    n_med, t_med = statistics.median(nextest_times), statistics.median(tollgate_times)
    print(f"project: {project.name}  flags: {' '.join(args.flags) or '(none)'}")
    print(f"lines: nextest {len(expected)}, tollgate {len(got)}, identical {same}, "
          f"ratio {same / max(1, len(expected)):.4f}")
    print(f"missing: {len(missing)}  extra: {len(extra)}  same order: {expected == got}")
    for line in missing[: args.show]:
        print(f"  missing: {line}")
    for line in extra[: args.show]:
        print(f"  extra:   {line}")
    print("diagnostics: " + (", ".join(f"{c} {n}" for c, n in sorted(by_code.items())) or "none")
          + "; info: " + (", ".join(f"{c} {n}" for c, n in sorted(infos.items())) or "none"))
    for d in data["diagnostics"]:
        if d["severity"] != "info" and args.show:
            print(f"  {d['file']}:{d['line']}: {d['severity']}[{d['code']}]: {d['message']}")
    print(f"time (median of {len(nextest_times)}): cargo nextest list {n_med:.3f}s, "
          f"tollgate {t_med:.3f}s, ratio {n_med / max(t_med, 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
