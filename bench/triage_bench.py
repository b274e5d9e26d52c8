#!/usr/bin/env python3
"""Triage figures for issue 16, rerunnable by anyone:

1. Attribution on a labelled corpus built from examples/monorepo: every test
   `tollgate collect` finds there fails in several ways (by its markers, by
   its path only, by a structured `<component> - <uuid> - <state> <error>`
   log line only, and as infrastructure, crash, timeout and build failures).
   The labels come from how each case is built (the component planted, the
   class of the message written), with the component rules re-implemented
   here from tollgate.toml (markers, then path globs), not taken from tollgate.
   Target: >= 95% correct component and class.
2. Clustering: 1,000 synthetic failures from 12 root causes with varying
   numbers, paths, ids, addresses and timestamps (crates/tollgate-triage/
   examples/cluster_bench.rs). Target: 12 +- 1 clusters in < 1 s.

Usage: python3 bench/triage_bench.py [--release] [--out DIR]
Stdlib only (Python 3.11+ for tomllib). Exit 1 when a target is missed.
"""

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tomllib
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "monorepo")


def glob_to_regex(glob):
    """tollgate's globs (globset): `**` crosses `/`, `*` and `?` do not, `{a,b}`."""
    out, i = "", 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if glob.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "{":
            end = glob.index("}", i)
            out += "(?:" + "|".join(re.escape(a) for a in glob[i + 1:end].split(",")) + ")"
            i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile("^" + out + "$")


def units(config):
    """(name, marker, [regex]) for components, then frameworks (tollgate's order)."""
    out = []
    for table in ("components", "frameworks"):
        for name, u in config.get(table, {}).items():
            out.append((name, u.get("marker", name), [glob_to_regex(g) for g in u.get("paths", [])]))
    return out


def truth(units_, markers, path):
    for name, marker, _ in units_:
        if marker in markers:
            return name
    if path:
        for name, _, globs in units_:
            if any(g.match(path) for g in globs):
                return name
    return None


PY_FAIL = [
    ("test_failure", "{file}:{line}: in {fn}\n    assert resp.status == 200\nE   AssertionError: assert 503 == 200\nE    +  where 503 = <Response [503]>.status"),
    ("test_failure", "{file}:{line}: in {fn}\n    cfg = load(path)\nE   KeyError: 'model_name'"),
    ("test_failure", "{file}:{line}: in {fn}\nE   ValueError: tensor_parallel_size=3 does not divide 32 attention heads"),
]
RUST_FAIL = [
    ("test_failure", "thread '{fn}' panicked at {file}:{line}:9:\nassertion `left == right` failed\n  left: 3\n right: 4\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace"),
    ("test_failure", "thread '{fn}' panicked at {file}:{line}:5:\ncalled `Result::unwrap()` on an `Err` value: Decode(\"bad frame\")"),
]
INFRA = [
    "E   requests.exceptions.ConnectionError: HTTPSConnectionPool(host='nvcr.io', port=443): Max retries exceeded (Caused by NewConnectionError: [Errno 111] Connection refused)",
    "OSError: [Errno 28] No space left on device: '/tmp/pytest-of-ci/pytest-3/cache'",
    "Error response from daemon: toomanyrequests: You have reached your pull rate limit",
    "The runner has received a shutdown signal. This can happen when the runner service is stopped",
    "process killed by signal 9: OOMKilled (memory limit 16Gi exceeded)",
    "curl: (6) Could not resolve host: huggingface.co",
    "RuntimeError: CUDA error: out of memory",
]
CRASH = [
    "Fatal Python error: Segmentation fault\n\nCurrent thread 0x00007f (most recent call first):\n  File \"{file}\", line {line} in {fn}",
    "process aborted with signal 6 (SIGABRT): free(): invalid pointer",
]
TIMEOUT = ["Failed: Timeout >60.0s", "timeout: {fn} ran longer than 900s"]
BUILD = [
    "error[E0433]: failed to resolve: use of undeclared crate or module `nixl`\n --> {file}:{line}:5\nerror: could not compile `dynamo-llm` (test \"kv_routing\") due to 1 previous error",
    "ERROR: failed to solve: process \"/bin/sh -c pip install -r requirements.txt\" did not complete successfully: exit code: 1",
]
NOISE = [
    "2026-03-01 10:00:0{n} INFO frontend - request 4{n} - accepted",
    "2026-03-01 10:00:0{n} INFO worker - {uuid} - started",  # not a component
    "2026-03-01 10:00:0{n} DEBUG http: GET /v1/models 200",
]


def corpus(tests, units_):
    names = [u[0] for u in units_]
    cycle = itertools.count()
    cases = []
    for t in tests:
        markers = [m["name"] for m in t["markers"]]
        file, line = t["file"], t["line"]
        fn = t["function"].split("::")[-1]
        rust = t["language"] == "rust"
        k = next(cycle)
        fails = RUST_FAIL if rust else PY_FAIL
        cls, text = fails[k % len(fails)]
        fill = dict(file=file, line=line, fn=fn)
        base = {"test_id": t["id"], "job": "unit", "file": file, "markers": markers}
        # 1. by its markers (and path)
        cases.append({"kind": "marker", "failure": {**base, "message": text.format(**fill)},
                      "expect": {"component": truth(units_, markers, file), "class": cls}})
        # 2. by its path only
        cases.append({"kind": "path", "failure": {**base, "markers": [], "message": text.format(**fill)},
                      "expect": {"component": truth(units_, [], file), "class": cls}})
        # 3. by a structured log line only: no marker, a file no component claims
        comp = names[k % len(names)]
        u = str(uuid.UUID(int=k * 7919 + 17))
        noise = "\n".join(n.format(n=k % 10, uuid=str(uuid.UUID(int=k + 5))) for n in NOISE)
        log = f"{noise}\n2026-03-01 10:00:1{k % 10} ERROR {comp} - {u} - state=serving model=llama-3-8b v0.4.{k % 7} request failed: upstream closed"
        cases.append({"kind": "log_line", "failure": {"test_id": t["id"], "job": "e2e", "file": "tests/e2e/test_unclaimed.py",
                                                        "markers": [], "message": "E   AssertionError: completion failed", "output": log},
                      "expect": {"component": comp, "class": "test_failure"}})
        # 4. infrastructure, crash, timeout, build
        infra = INFRA[k % len(INFRA)]
        cases.append({"kind": "infra", "failure": {**base, "message": infra},
                      "expect": {"component": truth(units_, markers, file), "class": "infrastructure"}})
        other = [("crash", CRASH), ("timeout", TIMEOUT), ("build", BUILD)][k % 3]
        msg = other[1][k % len(other[1])].format(**fill)
        cases.append({"kind": other[0], "failure": {**base, "message": msg},
                      "expect": {"component": truth(units_, markers, file),
                                 "class": {"crash": "crash", "timeout": "timeout", "build": "build"}[other[0]]}})
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--release", action="store_true", help="build the examples with --release")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    profile = ["--release"] if args.release else []
    env = dict(os.environ, CARGO_TERM_COLOR="never")
    subprocess.run(["cargo", "build", "-q", "-p", "tollgate", *profile], cwd=ROOT, check=True, env=env)
    exe = os.path.join(ROOT, "target", "release" if args.release else "debug", "tollgate")
    inv = json.loads(subprocess.run([exe, "collect", "--format", "json"], cwd=EXAMPLE, check=True,
                                    capture_output=True, text=True).stdout)
    with open(os.path.join(EXAMPLE, "tollgate.toml"), "rb") as f:
        config = tomllib.load(f)
    units_ = units(config)
    cases = corpus(inv["tests"], units_)
    path = os.path.join(args.out, "triage_corpus.jsonl")
    with open(path, "w") as f:
        for c in cases:
            f.write(json.dumps(c) + "\n")
    print(f"corpus: {len(cases)} labelled failures from {len(inv['tests'])} tests of examples/monorepo -> {path}")
    attribution = subprocess.run(["cargo", "run", "-q", *profile, "-p", "tollgate-triage", "--example", "attribution_eval", "--",
                                  os.path.join(EXAMPLE, "tollgate.toml"), path], cwd=ROOT, env=env)
    print()
    clustering = subprocess.run(["cargo", "run", "-q", *profile, "-p", "tollgate-triage", "--example", "cluster_bench", "--", "1000"],
                                cwd=ROOT, env=env, capture_output=True, text=True)
    lines = clustering.stdout.strip().splitlines()
    print("\n".join(lines[-13:]))
    sys.stderr.write(clustering.stderr)
    sys.exit(1 if attribution.returncode or clustering.returncode else 0)


if __name__ == "__main__":
    main()
