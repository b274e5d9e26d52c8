#!/usr/bin/env python3
"""How closely does `tollgate collect --lang rust` agree with `cargo nextest list`
on a real Rust workspace, and how fast is it?

    python3 bench/rust_realworld.py --project DIR [--tollgate target/release/tollgate] \
        [--target-dir DIR] [--clean] [--runs 5] [--show 20] [--toolchain nightly] \
        [-- extra flags for both, e.g. --all-features]

Build tollgate first: `cargo build --release -p tollgate`.

Runs, in DIR, `cargo nextest list --workspace --message-format oneline FLAGS`
(the oracle) and `tollgate collect --lang rust --format json FLAGS DIR`, then prints:

- lines: nextest's lines, tollgate's, identical ones, and the identical-line
  ratio (identical / nextest's);
- missing (nextest lists, tollgate does not) and extra (tollgate lists,
  nextest does not), the first --show of each; "uncovered": missing tests
  whose binary has no `incomplete-binary` warning (tests lost without a word);
- tollgate's diagnostics by code (warnings and errors; info notes apart);
- clean (with --clean): the target directory (--target-dir, default
  DIR/target) is deleted and `cargo nextest list` timed once from scratch
  (build + list), against tollgate's median: the "≥ 100× faster than
  nextest's build + list" bar;
- warm: then --runs repetitions, interleaved (nextest, tollgate, nextest, ...)
  on the built workspace; the median of each and the median of the
  per-repetition ratios nextest / tollgate: the "no slower than
  `cargo nextest list` on a built workspace" bar (ratio ≥ 1); and the CPU
  time (user + sys of each tool and its child processes), which a loaded
  machine does not skew the way it skews wall time.

The load average (`/proc/loadavg`) is printed before and after: the machine
may be shared. Stdlib only. Exit 0 (report only), 2 when a tool fails.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


CPU = []  # CPU seconds (user + sys, children included) of each timed() call


def timed(cmd, cwd, env=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return wall, proc


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("--tollgate", default=str(REPO / "target" / "release" / "tollgate"))
    parser.add_argument("--ids-binary", help="time this binary instead of tollgate: "
                        "`cargo build --release -p tollgate-discover-rust --example list_ids`, "
                        "then target/release/examples/list_ids (prints ids, diagnostics on stderr)")
    parser.add_argument("--target-dir", type=Path, help="CARGO_TARGET_DIR for nextest "
                        "(default: the project's own target/)")
    parser.add_argument("--clean", action="store_true", help="first time nextest's build + list "
                        "from an empty target directory (deletes it!)")
    parser.add_argument("--no-warmup", action="store_true", help="without --clean, the first "
                        "nextest run (which builds what is missing) is not timed unless this is given")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--toolchain", help="rustup toolchain for cargo (e.g. nightly when the "
                        "workspace needs a newer rustc than the default)")
    parser.add_argument("--show", type=int, default=20)
    parser.add_argument("flags", nargs="*", help="flags for both (after --)")
    args = parser.parse_args()
    project = args.project.resolve()
    args.tollgate = str(Path(args.tollgate).resolve())
    env = dict(os.environ)
    env.pop("RUSTFLAGS", None)
    target_dir = (args.target_dir or project / "target").resolve()
    env["CARGO_TARGET_DIR"] = str(target_dir)

    cargo = ["cargo", f"+{args.toolchain}"] if args.toolchain else ["cargo"]
    nextest_cmd = [*cargo, "nextest", "list", "--workspace", "--message-format", "oneline", *args.flags]
    tollgate_cmd = [args.tollgate, "collect", "--lang", "rust", "--format", "json", *args.flags, str(project)]
    if args.ids_binary:
        tollgate_cmd = [str(Path(args.ids_binary).resolve()), str(project), *args.flags]
    print(f"$ (cd {project} && CARGO_TARGET_DIR={target_dir} {' '.join(nextest_cmd)})", file=sys.stderr)
    print(f"$ {' '.join(tollgate_cmd)}", file=sys.stderr)
    load_before = loadavg()

    clean_time = None
    if args.clean:
        shutil.rmtree(target_dir, ignore_errors=True)
        clean_time, proc = timed(nextest_cmd, project, env)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 2

    elif not args.no_warmup:
        proc = subprocess.run(nextest_cmd, cwd=project, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 2

    nextest_times, tollgate_times, ratios = [], [], []
    nextest_cpu, tollgate_cpu = [], []
    nextest_out = tollgate_out = None
    for _ in range(max(1, args.runs)):
        t_n, proc = timed(nextest_cmd, project, env)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 2
        nextest_times.append(t_n)
        nextest_cpu.append(CPU[-1])
        nextest_out = proc.stdout
        t_t, proc = timed(tollgate_cmd, project, env)
        if proc.returncode not in (0, 1):
            print(proc.stderr, file=sys.stderr)
            return 2
        tollgate_times.append(t_t)
        tollgate_cpu.append(CPU[-1])
        ratios.append(t_n / max(t_t, 1e-9))
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
    incomplete = set()
    for d in data["diagnostics"]:
        (infos if d["severity"] == "info" else by_code)[d["code"]] += 1
        if d["code"] == "incomplete-binary":
            m = re.match(r"`([^`]+)`", d["message"])
            if m:
                incomplete.add(m.group(1))
    uncovered = [line for line in missing if line.split(" ", 1)[0] not in incomplete]

    n_med, t_med = statistics.median(nextest_times), statistics.median(tollgate_times)
    print(f"project: {project.name}  flags: {' '.join(args.flags) or '(none)'}  "
          f"load: {load_before} -> {loadavg()}")
    print(f"lines: nextest {len(expected)}, tollgate {len(got)}, identical {same}, "
          f"ratio {same / max(1, len(expected)):.4f}")
    print(f"missing: {len(missing)} (uncovered by a diagnostic: {len(uncovered)})  "
          f"extra: {len(extra)}  same order: {expected == got}")
    for line in missing[: args.show]:
        print(f"  missing: {line}")
    for line in uncovered[: args.show]:
        print(f"  uncovered: {line}")
    for line in extra[: args.show]:
        print(f"  extra:   {line}")
    print("diagnostics: " + (", ".join(f"{c} {n}" for c, n in sorted(by_code.items())) or "none")
          + "; info: " + (", ".join(f"{c} {n}" for c, n in sorted(infos.items())) or "none"))
    for d in data["diagnostics"]:
        if d["severity"] != "info" and args.show:
            print(f"  {d['file']}:{d['line']}: {d['severity']}[{d['code']}]: {d['message']}")
    if clean_time is not None:
        print(f"clean: cargo nextest list (build + list) {clean_time:.1f}s, tollgate {t_med:.3f}s, "
              f"ratio {clean_time / max(t_med, 1e-9):.0f}x")
    print(f"warm (interleaved, {len(ratios)} runs): cargo nextest list median {n_med:.3f}s, "
          f"tollgate median {t_med:.3f}s, median ratio {statistics.median(ratios):.2f}x "
          f"(per run: {', '.join(f'{r:.2f}' for r in ratios)})")
    n_cpu, t_cpu = statistics.median(nextest_cpu), statistics.median(tollgate_cpu)
    print(f"warm CPU (user+sys, load-independent): cargo nextest list median {n_cpu:.3f}s, "
          f"tollgate median {t_cpu:.3f}s, ratio {n_cpu / max(t_cpu, 1e-9):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
