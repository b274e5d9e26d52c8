#!/usr/bin/env python3
"""Triage figures for issue 16, rerunnable by anyone.

1. Attribution on a labelled corpus built from examples/monorepo. The test
   functions are found by reading the example's source files (not through
   tollgate), and every one of them fails in several constructed ways:
   - `marker`:   a component marker is planted on the test (next to the
                 lifecycle/type/hardware markers every test carries); label:
                 the planted component, whatever the file's directory says;
   - `path`:     no component marker; label: the component that owns the
                 test's directory in the hand-written OWNING_DIRS table below
                 (written from the example's layout, not from tollgate);
   - `log_line`: no marker, a file in a cross-component area (tests/serve,
                 tests/fault_tolerance), and output with look-alike noise
                 and one structured `<component> - <uuid> - <state> <error>`
                 line made by the example's own `dynamo.common.logging.
                 flow_line`; label: the component written into that line;
   - `infra`, `crash`, `timeout`, `build`: the test's own file, no marker,
                 a message of that class (realistic texts from CI logs);
                 label: the directory's component and the class written.
   Code failures include look-alikes (assertions that mention timeouts,
   connections, signals or builds) whose class is still `test_failure`.
   Target: >= 95% correct component and >= 95% correct class, overall.
2. Clustering: 1,000 synthetic failures from 12 root causes with varying
   numbers, paths, ids, addresses and timestamps (crates/tollgate-triage/
   examples/cluster_bench.rs). Target: 12 +- 1 clusters, every cluster
   holding one root cause, in < 1 s.

Usage: python3 bench/triage_bench.py [--debug] [--out DIR]
Stdlib only (Python 3.10+). Exit 0 when every target holds, 1 when one is
missed, 2 when the tools cannot be built or run.
"""

import argparse
import os
import re
import subprocess
import sys
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "monorepo")

# Who owns which directory of the example, by its layout (README.md there):
# the longest matching prefix wins. tests/serve, tests/benchmark and
# tests/fault_tolerance are cross-component areas: no owner by path.
OWNING_DIRS = [
    ("components/backends/vllm/", "vllm"),
    ("components/src/dynamo/planner/", "planner"),
    ("components/src/dynamo/router/", "router"),
    ("components/src/dynamo/kvbm/", "kvbm"),
    ("lib/llm/src/kv_router/", "router"),
    ("lib/llm/", "llm"),
    ("lib/kvbm/", "kvbm"),
    ("lib/runtime/", "runtime"),
    ("tests/kvbm/", "kvbm"),
]
# Components and frameworks of the example, with their marker (the name).
UNITS = ["vllm", "kvbm", "planner", "router", "runtime", "llm"]
# Markers every test carries that name no component.
NOISE_MARKERS = [
    ["pre_merge", "unit", "gpu_0"],
    ["nightly", "integration", "gpu_1", "slow"],
    ["post_merge", "e2e", "gpu_2", "none"],
    ["pre_commit", "unit", "gpu_0"],
]
UNCLAIMED = [
    "tests/serve/test_serve_completions.py",
    "tests/fault_tolerance/test_fault_tolerance_migration.py",
    "tests/serve/test_serve_multi_gpu.py",
]


def owner_of_dir(path):
    best = None
    for prefix, unit in OWNING_DIRS:
        if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, unit)
    return best[1] if best else None


def example_tests():
    """(file, function, language) of every test function in the example's sources."""
    out = []
    for top in ("components", "lib", "tests"):
        for dirpath, dirnames, files in os.walk(os.path.join(EXAMPLE, top)):
            dirnames[:] = sorted(d for d in dirnames if d not in ("target", "__pycache__"))
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, EXAMPLE)
                if name.startswith("test_") and name.endswith(".py"):
                    with open(path) as f:
                        for fn in re.findall(r"^\s*(?:async\s+)?def (test_\w+)", f.read(), re.M):
                            out.append((rel, fn, "python"))
                elif name.endswith(".rs"):
                    with open(path) as f:
                        text = f.read()
                    for fn in re.findall(r"#\[(?:tokio::)?test\][^\n]*\n(?:\s*#\[[^\n]*\n)*\s*(?:async\s+)?fn (\w+)", text):
                        out.append((rel, fn, "rust"))
    return out


# Code failures: (template, is a look-alike). Class: test_failure.
PY_FAIL = [
    "{file}:{line}: in {fn}\n    assert resp.status == 200\nE   AssertionError: assert 503 == 200\nE    +  where 503 = <Response [503]>.status",
    "{file}:{line}: in {fn}\n    cfg = load(path)\nE   KeyError: 'model_name'",
    "{file}:{line}: in {fn}\nE   ValueError: tensor_parallel_size=3 does not divide 32 attention heads",
    "{file}:{line}: in {fn}\n    assert client.timeout == 30\nE   AssertionError: assert 60 == 30\nE    +  where 60 = <Client timeout=60>.timeout",
    "{file}:{line}: in {fn}\nE   AssertionError: expected 3 open connections to the worker pool, got 2",
    "{file}:{line}: in {fn}\nE   AssertionError: planner did not scale up: 2 replicas, wanted 4 (build id b{line})",
    "{file}:{line}: in {fn}\n    handler.on_signal(15)\nE   TypeError: on_signal() missing 1 required positional argument: 'frame'",
]
RUST_FAIL = [
    "thread '{fn}' panicked at {file}:{line}:9:\nassertion `left == right` failed\n  left: 3\n right: 4\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
    "thread '{fn}' panicked at {file}:{line}:5:\ncalled `Result::unwrap()` on an `Err` value: Decode(\"bad frame\")",
    "thread '{fn}' panicked at {file}:{line}:13:\nassertion failed: elapsed < timeout\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
    "thread '{fn}' panicked at {file}:{line}:9:\nexpected the build of block 7 to hash to 0x9e3779b9, got 0x7f4a1c22",
]
INFRA = [
    "E   requests.exceptions.ConnectionError: HTTPSConnectionPool(host='nvcr.io', port=443): Max retries exceeded (Caused by NewConnectionError: [Errno 111] Connection refused)",
    "OSError: [Errno 28] No space left on device: '/tmp/pytest-of-ci/pytest-3/cache'",
    "Error response from daemon: toomanyrequests: You have reached your pull rate limit",
    "The runner has received a shutdown signal. This can happen when the runner service is stopped",
    "process killed by signal 9: OOMKilled (memory limit 16Gi exceeded)",
    "curl: (6) Could not resolve host: huggingface.co",
    "RuntimeError: CUDA error: out of memory",
    "Failed to pull image \"nvcr.io/nvidia/ai-dynamo/vllm-runtime:0.4.1\": rpc error: manifest unknown",
    "fatal: unable to access 'https://github.com/ai-dynamo/dynamo.git/': Could not resolve host: github.com",
    "error: failed to download `tokio v1.38.0`\nCaused by: [35] SSL connect error (TLS handshake failed)",
]
CRASH = [
    "Fatal Python error: Segmentation fault\n\nCurrent thread 0x00007f (most recent call first):\n  File \"{file}\", line {line} in {fn}",
    "process aborted with signal 6 (SIGABRT): free(): invalid pointer",
    "error: test failed, to rerun pass `--test {fn}`\nCaused by:\n  process didn't exit successfully: `target/debug/deps/{fn}-1a2b3c` (signal: 11, SIGSEGV: invalid memory reference)",
]
TIMEOUT = [
    ("Failed: Timeout >60.0s", False),
    ("timeout: {fn} ran longer than 900s", True),
    ("+++++++++++++++++ Timeout +++++++++++++++++\n~~~ Stack of MainThread ~~~\n  File \"{file}\", line {line}, in {fn}\nFailed: Timeout >300.0s", False),
]
BUILD = [
    "error[E0433]: failed to resolve: use of undeclared crate or module `nixl`\n --> {file}:{line}:5\nerror: could not compile `dynamo-llm` (test \"kv_routing\") due to 1 previous error",
    "ERROR: failed to solve: process \"/bin/sh -c pip install -r requirements.txt\" did not complete successfully: exit code: 1",
    "error: failed to run custom build command for `dynamo-runtime v0.4.1`\nCaused by: process didn't exit successfully: `build-script-build` (exit status: 101)",
    "  error: subprocess-exited-with-error\n  × Building wheel for flash-attn (pyproject.toml) did not run successfully.\nERROR: Failed building wheel for flash-attn",
]
NOISE_LOG = [
    "2026-03-01 10:00:0{n} INFO frontend - request 4{n} - accepted",
    "2026-03-01 10:00:0{n} INFO worker - {uuid} - started",  # looks structured, names no component
    "2026-03-01 10:00:0{n} DEBUG http: GET /v1/models 200",
    "2026-03-01 10:00:0{n} INFO etcd - {uuid} - lease granted",
]
STATES = [
    "state=serving model=Qwen/Qwen3-0.6B v0.4.{v}",
    "state=draining replicas=3 v0.4.{v}",
    "state=warmup blocks=1024 dynamo=0.4.{v} vllm=0.9.{v}",
]
ERRORS = [
    "request failed: upstream closed",
    "KV event dropped: indexer lagging by 512 events",
    "scale-up rejected: quota exceeded",
    "offload to host tier failed: pool exhausted",
]


def flow_line_fn():
    """The example's own structured-line writer."""
    sys.path.insert(0, os.path.join(EXAMPLE, "components", "src"))
    try:
        from dynamo.common.logging import flow_line  # noqa: E402
    finally:
        sys.path.pop(0)
    return flow_line


def corpus(tests):
    flow_line = flow_line_fn()
    cases = []
    for k, (file, fn, language) in enumerate(tests):
        line = 10 + (k * 7) % 300
        fill = dict(file=file, line=line, fn=fn)
        noise = NOISE_MARKERS[k % len(NOISE_MARKERS)]
        fails = RUST_FAIL if language == "rust" else PY_FAIL
        code = fails[k % len(fails)].format(**fill)
        test_id = f"{file}::{fn}"
        base = {"test_id": test_id, "job": "unit", "file": file, "markers": noise}
        by_dir = owner_of_dir(file)

        planted = UNITS[k % len(UNITS)]
        cases.append({"kind": "marker",
                      "failure": {**base, "markers": noise + [planted], "message": code},
                      "expect": {"component": planted, "class": "test_failure"}})
        cases.append({"kind": "path", "failure": {**base, "message": code},
                      "expect": {"component": by_dir, "class": "test_failure"}})

        named = UNITS[(k * 5 + 1) % len(UNITS)]
        flow = str(uuid.UUID(int=k * 7919 + 17))
        state = STATES[k % len(STATES)].format(v=k % 7)
        structured = flow_line(named, flow, state, ERRORS[k % len(ERRORS)])
        noise_log = [n.format(n=k % 10, uuid=str(uuid.UUID(int=k + 5))) for n in NOISE_LOG]
        prefix = ["", f"2026-03-01 10:00:1{k % 10} ERROR dynamo.{named}: ", "[ERROR] "][k % 3]
        output = "\n".join(noise_log[: 1 + k % len(NOISE_LOG)] + [prefix + structured] + noise_log[:1])
        cases.append({"kind": "log_line",
                      "failure": {"test_id": f"{UNCLAIMED[k % len(UNCLAIMED)]}::{fn}", "job": "e2e",
                                  "file": UNCLAIMED[k % len(UNCLAIMED)], "markers": noise,
                                  "message": "E   AssertionError: completion failed", "output": output},
                      "expect": {"component": named, "class": "test_failure"}})

        cases.append({"kind": "infra", "failure": {**base, "message": INFRA[k % len(INFRA)].format(**fill)},
                      "expect": {"component": by_dir, "class": "infrastructure"}})
        kind = ["crash", "timeout", "build"][k % 3]
        timed_out = False
        if kind == "crash":
            msg = CRASH[(k // 3) % len(CRASH)]
        elif kind == "timeout":
            msg, timed_out = TIMEOUT[(k // 3) % len(TIMEOUT)]
        else:
            msg = BUILD[(k // 3) % len(BUILD)]
        cases.append({"kind": kind,
                      "failure": {**base, "message": msg.format(**fill), "timed_out": timed_out},
                      "expect": {"component": by_dir, "class": kind}})
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--debug", action="store_true", help="use a debug build (default: --release)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    profile = [] if args.debug else ["--release"]
    env = dict(os.environ, CARGO_TERM_COLOR="never")
    build = subprocess.run(["cargo", "build", "-q", *profile, "-p", "tollgate-triage", "--examples"], cwd=ROOT, env=env)
    if build.returncode:
        sys.exit(2)
    exe_dir = os.path.join(ROOT, "target", "debug" if args.debug else "release", "examples")

    tests = example_tests()
    cases = corpus(tests)
    path = os.path.join(args.out, "triage_corpus.jsonl")
    import json
    with open(path, "w") as f:
        for c in cases:
            f.write(json.dumps(c) + "\n")
    print(f"corpus: {len(cases)} labelled failures from {len(tests)} test functions of examples/monorepo -> {path}")
    attribution = subprocess.run([os.path.join(exe_dir, "attribution_eval"),
                                  os.path.join(EXAMPLE, "tollgate.toml"), path], cwd=ROOT)
    print()
    clustering = subprocess.run([os.path.join(exe_dir, "cluster_bench"), "1000"], cwd=ROOT)
    codes = (attribution.returncode, clustering.returncode)
    if any(c not in (0, 1) for c in codes):
        sys.exit(2)
    failed = [name for name, c in zip(("attribution", "clustering"), codes) if c]
    print()
    print("RESULT: " + ("every target holds" if not failed else "MISSED: " + ", ".join(failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
