#!/usr/bin/env python3
"""Scale of `tollgate report`, `tollgate serve` and `/metrics` on a large history.

Builds a store with TESTS tests x RUNS runs (default 100,000 x 30: three
million attempts, 0.2% failing and 0.3% flaky per run, four jobs, two
branches), on SQLite and, when reachable, PostgreSQL, then measures issue
15's scale bars:

- `tollgate report --html`: wall time (median of 3) < 5 s, file < 20 MB;
- the report in headless Chromium from file://: interactive (the page's
  script has rendered the overview and listens to input, and the load event
  has fired, measured from navigation start) < 2 s; a search over all tests
  (typing into the search box until the filtered table shows, the input's
  60 ms debounce included; the first search also builds the index) < 200 ms,
  worst of several queries; no console error;
- `tollgate serve`: the overview page (`GET /`) answered 100 times in a row:
  p95 < 200 ms (the first answer builds the page and is printed apart; later
  ones come from the cache keyed by the store's content);
- `tollgate metrics`: the number of series is the same for 1,000 tests and
  for TESTS tests (and `promtool check metrics` accepts it).

Each bar prints one line `PASS` or `FAIL` with the figure and the load
average at the time (`uptime`); the exit status is 1 when any bar fails.

The store is filled directly (SQLite: Python's sqlite3; PostgreSQL: psql
COPY) after `tollgate ingest` created the schema, so the figures measure
reading, not ingesting. Rows written that way have no per-job rollups (what
`tollgate ingest` writes and reports read): `tollgate store migrate` builds
them, as it does for a store upgraded from schema version 5, and its time is
printed apart.

Usage: python3 bench/report_scale.py [--tests N] [--runs N] [--no-postgres]
       [--no-browser] [--workdir DIR]
Needs target/release/tollgate (cargo build --release -p tollgate), and for
the browser bars chromium + chromedriver (apt-get install chromium
chromium-driver), for promtool the prometheus package.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLLGATE = os.path.join(ROOT, "target", "release", "tollgate")
PG = os.environ.get("TOLLGATE_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
JOBS = ["unit", "integration_1", "integration_2", "e2e"]
RESULTS = []  # (name, passed)
START_MS = int(time.time() * 1000)


def load():
    return "load %.2f %.2f %.2f" % os.getloadavg()


def bar(name, ok, figure):
    RESULTS.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {figure}  [{load()}]", flush=True)


def branch_of(r):
    """Every fourth run is on a release branch: the trends split by branch."""
    return "release" if r % 4 == 3 else "main"


def test_name(i):
    return f"tests/pkg{i % 500:03d}/test_mod{i % 37:02d}.py::TestThing::test_case_{i}[param-{i % 7}]"


def rows(tests, runs, seed=7):
    """Yields the tables' rows: (table, tuple)."""
    rng = random.Random(seed)
    for i in range(tests):
        yield "tests", (i + 1, test_name(i))
    job_id = 0
    attempt_id = 0
    for r in range(runs):
        run_id = r + 1
        # Recent runs (an hour apart, the last one two hours ago): inside the
        # 30-day window of the flakiness the report and /metrics measure.
        start = START_MS - (runs - r + 1) * 3_600_000
        yield "runs", (run_id, f"r{r:02d}", f"{r:040x}", branch_of(r), "pr", "{}", "bench",
                       start, start + 600_000, 1)
        first_ids = []
        for j, name in enumerate(JOBS):
            job_id += 1
            first_ids.append(job_id)
        counts = [[0, 0] for _ in JOBS]
        attempts = []
        for i in range(tests):
            j = i % len(JOBS)
            x = rng.random()
            d = round(rng.expovariate(20.0), 4)
            if x < 0.002:
                attempts.append((run_id, first_ids[j], i + 1, 1, "failed", d, "AssertionError: expected 1, got 2"))
                counts[j][1] += 1
            elif x < 0.005:
                attempts.append((run_id, first_ids[j], i + 1, 1, "failed", d, "TimeoutError: timed out"))
                attempts.append((run_id, first_ids[j], i + 1, 2, "passed", d, None))
                counts[j][1] += 1
            else:
                attempts.append((run_id, first_ids[j], i + 1, 1, "passed", d, None))
            counts[j][0] += 1
        for j, name in enumerate(JOBS):
            yield "jobs", (first_ids[j], run_id, name, "failed" if counts[j][1] else "passed",
                           600_000, 1_100_000, 512_000 + j, counts[j][0], counts[j][1])
        for a in attempts:
            attempt_id += 1
            yield "test_attempts", (attempt_id,) + a


COLUMNS = {
    "tests": "id, name",
    "runs": "id, run_key, commit_sha, branch, pipeline, variables, runner, started_at, finished_at, complete",
    "jobs": "id, run_id, name, status, wall_ms, cpu_ms, peak_rss_kb, first_attempts, first_failures",
    "test_attempts": "id, run_id, job_id, test_id, attempt, outcome, duration_s, message",
}
# PostgreSQL's attempts have no surrogate key (schema version 3).
PG_ATTEMPTS = "run_id, job_id, test_id, attempt, outcome, duration_s, message"

# Components and owners as a project would configure them (the report
# attributes every test), and a CODEOWNERS file for the rest.
PROJECT_CONFIG = """
[taxonomy.categories.component]
description = "area"

[taxonomy.categories.component.markers]
router = "router"
kv = "kv"
planner = "planner"

[components.router]
paths = ["tests/pkg0*/**"]
owner = "@net-team"

[components.kv]
paths = ["tests/pkg1*/**", "tests/pkg2*/**"]
owner = "@kv-team"
critical = true

[components.planner]
paths = ["tests/pkg3*/**"]

[owners]
codeowners = "CODEOWNERS"
fallback = "@platform"
"""
CODEOWNERS = "/tests/pkg3*/ @planner-team\n/tests/pkg4*/ @infra-team @sre\n"


def project(tmp):
    os.makedirs(tmp, exist_ok=True)
    if not os.path.exists(os.path.join(tmp, "tollgate.toml")):
        subprocess.run([TOLLGATE, "init", "--preset", "minimal"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(tmp, "tollgate.toml"), "a") as f:
            f.write(PROJECT_CONFIG)
        with open(os.path.join(tmp, "CODEOWNERS"), "w") as f:
            f.write(CODEOWNERS)
    junit = os.path.join(tmp, "seed.xml")
    with open(junit, "w") as f:
        f.write('<testsuites><testsuite name="s" tests="1"><testcase classname="c" name="seed" time="0.1"/>'
                "</testsuite></testsuites>")
    return junit


def create_schema(tmp, store):
    junit = project(tmp)
    subprocess.run([TOLLGATE, "ingest", "junit", junit, "--run", "seed", "--store", store],
                   cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def fill_sqlite(path, tests, runs):
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in ["job_rollups", "test_attempts", "jobs", "runs", "tests"]:
        if table in tables:
            db.execute(f"DELETE FROM {table}")
    batch = {}
    for table, row in rows(tests, runs):
        batch.setdefault(table, []).append(row)
        if len(batch[table]) >= 50_000:
            flush_sqlite(db, table, batch.pop(table))
    for table in ["tests", "runs", "jobs", "test_attempts"]:
        if table in batch:
            flush_sqlite(db, table, batch.pop(table))
    db.commit()
    db.execute("ANALYZE")
    db.close()


def flush_sqlite(db, table, data):
    marks = ", ".join("?" for _ in data[0])
    db.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})", data)


def copy_value(v):
    if v is None:
        return "\\N"
    if v == 1 and isinstance(v, int):
        return "1"
    return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def fill_postgres(url, schema, tests, runs):
    files = {t: tempfile.NamedTemporaryFile("w", delete=False, suffix=".tsv") for t in COLUMNS}
    for table, row in rows(tests, runs):
        if table == "runs":
            row = row[:-1] + ("true",)
        if table == "test_attempts":
            row = row[1:]
        files[table].write("\t".join(copy_value(v) for v in row) + "\n")
    for f in files.values():
        f.close()
    script = f"SET search_path TO {schema};\nTRUNCATE test_attempts, jobs, runs, tests CASCADE;\n"
    for table in ["tests", "runs", "jobs", "test_attempts"]:
        columns = PG_ATTEMPTS if table == "test_attempts" else COLUMNS[table]
        script += f"\\copy {table} ({columns}) FROM '{files[table].name}'\n"
    script += "ANALYZE;\n"
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=script, text=True, check=True)
    for f in files.values():
        os.unlink(f.name)


def build_rollups(tmp, store, backend):
    """`tollgate store migrate`: builds the per-job rollups the directly
    written rows lack (nothing to do on a store that has them)."""
    t0 = time.perf_counter()
    out = subprocess.run([TOLLGATE, "store", "migrate", "--store", store], cwd=tmp, check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    if "built the rollups" in out:
        print(f"{backend}: `tollgate store migrate` built the rollups in {time.perf_counter() - t0:.1f} s "
              f"[{load()}]", flush=True)


def measure_report(tmp, store):
    out = os.path.join(tmp, "report.html")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([TOLLGATE, "report", "--html", out, "--runs", "30", "--store", store],
                       cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), os.path.getsize(out), out


def measure_serve(tmp, store, requests=100):
    proc = subprocess.Popen([TOLLGATE, "serve", "--bind", "127.0.0.1:0", "--store", store],
                            cwd=tmp, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        m = re.search(r"http://([\d.]+):(\d+)/", line)
        if not m:
            raise SystemExit(f"serve did not start: {line}")
        host, port = m.group(1), int(m.group(2))
        times = []
        for _ in range(requests):
            conn = http.client.HTTPConnection(host, port, timeout=600)
            t0 = time.perf_counter()
            conn.request("GET", "/")
            resp = conn.getresponse()
            body = resp.read()
            times.append(time.perf_counter() - t0)
            conn.close()
            if resp.status != 200:
                raise SystemExit(f"GET / answered {resp.status}: {body[:200]!r}")
        ordered = sorted(times)
        p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
        return times[0], statistics.median(times), p95, max(times), len(body)
    finally:
        proc.terminate()
        proc.wait()


class WebDriver:
    """Just enough of the W3C WebDriver protocol over chromedriver."""

    def __init__(self, chromium, chromedriver, profile):
        with socket_free() as port:
            self.port = port
        self.proc = subprocess.Popen([chromedriver, f"--port={self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            try:
                self.call("GET", "/status")
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--disable-dev-shm-usage", "--window-size=1280,900", f"--user-data-dir={profile}"]},
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"script": 120000, "pageLoad": 300000},
        }}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        data = json.dumps(body) if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        value = json.loads(text or b"{}").get("value")
        if resp.status != 200:
            raise RuntimeError(f"{method} {path}: {resp.status} {value}")
        return value

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def script(self, js, asynchronous=False):
        return self.s("POST", "/execute/async" if asynchronous else "/execute/sync", {"script": js, "args": []})

    def close(self):
        try:
            self.s("DELETE", "")
        finally:
            self.proc.terminate()
            self.proc.wait()


class socket_free:
    def __enter__(self):
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return self.sock.getsockname()[1]

    def __exit__(self, *exc):
        self.sock.close()


SEARCH_JS = """
var q = %s, done = arguments[arguments.length - 1];
var box = document.getElementById('search');
var t0 = performance.now();
box.value = q;
box.dispatchEvent(new Event('input', {bubbles: true}));
(function poll() {
  var e = document.getElementById('test-count');
  if (e && e.textContent.indexOf('\\u201c' + q.toLowerCase() + '\\u201d') >= 0) {
    var rows = document.querySelectorAll('.vt .sp .r').length;
    requestAnimationFrame(function () { done([performance.now() - t0, e.textContent, rows]); });
  } else setTimeout(poll, 1);
})();
"""


def measure_browser(html, tests):
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not chromedriver:
        bar("report interactive in Chromium < 2 s", False, "chromium/chromedriver not installed")
        bar("search over all tests < 200 ms", False, "chromium/chromedriver not installed")
        return
    profile = tempfile.mkdtemp(prefix="tollgate-bench-chromium-")
    wd = WebDriver(chromium, chromedriver, profile)
    try:
        ready = []
        for _ in range(3):
            wd.s("POST", "/url", {"url": "about:blank"})
            wd.s("POST", "/url", {"url": "file://" + os.path.abspath(html)})
            r = wd.script("var n = performance.getEntriesByType('navigation')[0];"
                          "return [Number(document.body.getAttribute('data-ready-ms')), n.loadEventEnd,"
                          " n.responseEnd, n.domInteractive];")
            ready.append(r)
        worst = max(max(r[0], r[1]) for r in ready)
        med = statistics.median(max(r[0], r[1]) for r in ready)
        bar("report interactive in Chromium < 2 s", worst < 2000,
            f"median {med:.0f} ms, worst {worst:.0f} ms of 3 loads "
            f"(script ready {ready[-1][0]:.0f} ms, load event {ready[-1][1]:.0f} ms, "
            f"file read {ready[-1][2]:.0f} ms, DOM interactive {ready[-1][3]:.0f} ms)")
        # Searches: the first builds the index; then narrow and broad queries.
        last = tests - 1
        queries = [f"test_case_{last}[", "pkg123/test_mod", "test_case_1", "param-3", "zzz-no-match",
                   f"TestThing::test_case_{last // 2}["]
        figures = []
        for q in queries:
            ms, text, rows = wd.script(SEARCH_JS % json.dumps(q), asynchronous=True)
            figures.append((q, ms, text.split(" tests")[0], rows))
        worst = max(f[1] for f in figures)
        detail = "; ".join(f"{q!r} {ms:.0f} ms ({shown})" for q, ms, shown, _ in figures)
        bar("search over all tests < 200 ms", worst < 200, f"worst {worst:.0f} ms: {detail}")
        errors = [e["message"] for e in wd.s("POST", "/se/log", {"type": "browser"}) or []
                  if e.get("level") == "SEVERE"]
        bar("no console error in the report", not errors, f"{len(errors)} errors {errors[:3]}")
    finally:
        wd.close()
        shutil.rmtree(profile, ignore_errors=True)


def series_count(tmp, store):
    out = subprocess.run([TOLLGATE, "metrics", "--store", store], cwd=tmp, check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    series = [l for l in out.splitlines() if l and not l.startswith("#")]
    promtool = shutil.which("promtool")
    checked = None
    if promtool:
        checked = subprocess.run([promtool, "check", "metrics"], input=out, text=True,
                                 capture_output=True)
    return len(series), checked


def report(backend, store, tmp, browser):
    project(tmp)
    t, size, html = measure_report(tmp, store)
    bar(f"{backend}: report --html < 5 s", t < 5, f"{t:.2f} s (median of 3)")
    bar(f"{backend}: report file < 20 MB", size < 20e6, f"{size / 1e6:.1f} MB")
    if browser:
        measure_browser(html, ARGS.tests)
    cold, p50, p95, worst, size = measure_serve(tmp, store)
    bar(f"{backend}: serve GET / p95 over 100 < 200 ms", p95 < 0.2,
        f"p95 {p95 * 1000:.1f} ms, p50 {p50 * 1000:.1f} ms, max {worst * 1000:.0f} ms, "
        f"first (cold, builds the page) {cold * 1000:.0f} ms, page {size / 1e3:.0f} kB")


def fill_sqlite_store(tmp, tests, runs):
    db = os.path.join(tmp, "history.db")
    stamp = os.path.join(tmp, f"filled-{tests}x{runs}")
    if os.path.exists(stamp):
        project(tmp)
        print(f"sqlite: reusing {db}")
        build_rollups(tmp, db, "sqlite")
        return db
    os.makedirs(tmp, exist_ok=True)
    if os.path.exists(db):
        os.unlink(db)
    create_schema(tmp, db)
    t0 = time.perf_counter()
    fill_sqlite(db, tests, runs)
    open(stamp, "w").close()
    print(f"sqlite: {tests:,} x {runs} filled in {time.perf_counter() - t0:.0f} s "
          f"({os.path.getsize(db) / 1e6:.0f} MB)", flush=True)
    build_rollups(tmp, db, "sqlite")
    return db


def metrics_bar(tmp, small_db, small_dir, big_db, big_dir):
    small, _ = series_count(small_dir, small_db)
    big, checked = series_count(big_dir, big_db)
    bar(f"/metrics series bounded from 1,000 to {ARGS.tests:,} tests", small == big,
        f"{small} series at 1,000 tests, {big} at {ARGS.tests:,} (30 runs, 4 jobs, 3 components)")
    if checked is None:
        bar("promtool check metrics", False, "promtool not installed")
    else:
        bar("promtool check metrics", checked.returncode == 0,
            (checked.stdout + checked.stderr).strip() or "accepted")


def main():
    global TOLLGATE, ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tests", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--pg-filled", metavar="URL",
                    help="a PostgreSQL store already filled with the same tests x runs: measured, not dropped")
    ap.add_argument("--workdir", help="keep the stores here and reuse a filled SQLite store on the next run")
    ap.add_argument("--tollgate", default=TOLLGATE, help="the binary (default: target/release/tollgate)")
    ARGS = args = ap.parse_args()
    TOLLGATE = os.path.abspath(args.tollgate)
    if not os.access(TOLLGATE, os.X_OK):
        raise SystemExit("build first: cargo build --release -p tollgate")
    print(f"binary: {TOLLGATE}")
    print(f"store: {args.tests:,} tests x {args.runs} runs, 4 jobs, 0.2% failing and 0.3% flaky per run "
          f"[{load()}]", flush=True)
    tmp = args.workdir or tempfile.mkdtemp(prefix="tollgate-report-scale-")
    try:
        big_dir = os.path.join(tmp, "sqlite")
        db = fill_sqlite_store(big_dir, args.tests, args.runs)
        small_dir = os.path.join(tmp, "sqlite-1k")
        small = fill_sqlite_store(small_dir, 1000, args.runs)
        metrics_bar(tmp, small, small_dir, db, big_dir)
        report("sqlite", db, big_dir, not args.no_browser)
        if not args.no_postgres:
            postgres(tmp, args)
    finally:
        if not args.workdir:
            shutil.rmtree(tmp, ignore_errors=True)
    failed = [name for name, ok in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)} of {len(RESULTS)} bars hold" +
          (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def postgres(tmp, args):
    """A database of its own (created, filled, dropped), so nothing else is touched."""
    if args.pg_filled:
        # A database this script filled before (kept by the caller).
        pg_dir = os.path.join(tmp, "postgres")
        project(pg_dir)
        build_rollups(pg_dir, args.pg_filled, "postgres")
        report("postgres", args.pg_filled, pg_dir, False)
        return
    name = f"tg_bench_{os.getpid()}"
    if subprocess.run(["psql", "-q", PG, "-c", f"CREATE DATABASE {name}"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        bar("postgres: reachable", False, f"{PG} unreachable (pass --no-postgres to leave it out)")
        return
    url = re.sub(r"^(postgres(?:ql)?://[^/]*)/[^?]*", lambda m: f"{m.group(1)}/{name}", PG)
    try:
        pg_dir = os.path.join(tmp, "postgres")
        create_schema(pg_dir, url)
        t0 = time.perf_counter()
        fill_postgres(url, "public", args.tests, args.runs)
        print(f"postgres: filled in {time.perf_counter() - t0:.0f} s", flush=True)
        build_rollups(pg_dir, url, "postgres")
        report("postgres", url, pg_dir, False)
    finally:
        subprocess.run(["psql", "-q", PG, "-c", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
