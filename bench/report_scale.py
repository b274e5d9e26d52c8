#!/usr/bin/env python3
"""Scale of `tollgate report` and `tollgate serve` on a large history.

Builds a store with TESTS tests x RUNS runs (default 100,000 x 30: three
million attempts, 0.2% failing and 0.3% flaky per run, four jobs), on SQLite
and, when reachable, PostgreSQL, then measures:

- `tollgate report --html`: wall time (median of 3) and file size;
- `tollgate serve`: the overview page (`GET /`) answered 100 times in a row
  (the first answer builds the page, later ones come from the cache keyed by
  the store's content): p50, p95, max, and the first (cold) answer alone.

The store is filled directly (SQLite: Python's sqlite3; PostgreSQL: psql
COPY) after `tollgate ingest` created the schema, so the figures measure
reading, not ingesting.

Usage: python3 bench/report_scale.py [--tests N] [--runs N] [--no-postgres]
Needs target/release/tollgate (cargo build --release -p tollgate).
"""

import argparse
import http.client
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
        yield "runs", (run_id, f"r{r:02d}", f"{r:040x}", "main", "pr", "{}", "bench",
                       1_700_000_000_000 + r * 3_600_000, 1_700_000_000_000 + r * 3_600_000 + 600_000, 1)
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


def project(tmp):
    os.makedirs(tmp, exist_ok=True)
    subprocess.run([TOLLGATE, "init", "--preset", "minimal"], cwd=tmp, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    for table in ["test_attempts", "jobs", "runs", "tests"]:
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
        files[table].write("\t".join(copy_value(v) for v in row) + "\n")
    for f in files.values():
        f.close()
    script = f"SET search_path TO {schema};\nTRUNCATE test_attempts, jobs, runs, tests CASCADE;\n"
    for table in ["tests", "runs", "jobs", "test_attempts"]:
        script += f"\\copy {table} ({COLUMNS[table]}) FROM '{files[table].name}'\n"
    script += "ANALYZE;\n"
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url], input=script, text=True, check=True)
    for f in files.values():
        os.unlink(f.name)


def measure_report(tmp, store):
    out = os.path.join(tmp, "report.html")
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([TOLLGATE, "report", "--html", out, "--runs", "30", "--store", store],
                       cwd=tmp, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), os.path.getsize(out)


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


def report(backend, store, tmp):
    t, size = measure_report(tmp, store)
    print(f"{backend}: report --html: {t:.2f} s (median of 3), {size / 1e6:.1f} MB "
          f"[bar: < 5 s, < 20 MB] -> {'OK' if t < 5 and size < 20e6 else 'MISSED'}")
    cold, p50, p95, worst, size = measure_serve(tmp, store)
    print(f"{backend}: serve GET / x100: first {cold * 1000:.0f} ms, p50 {p50 * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms, max {worst * 1000:.0f} ms, page {size / 1e3:.0f} kB "
          f"[bar: p95 < 200 ms] -> {'OK' if p95 < 0.2 else 'MISSED'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tests", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    if not os.access(TOLLGATE, os.X_OK):
        raise SystemExit("build first: cargo build --release -p tollgate")
    print(f"store: {args.tests:,} tests x {args.runs} runs, 4 jobs, 0.2% failing and 0.3% flaky per run")
    tmp = tempfile.mkdtemp(prefix="tollgate-report-scale-")
    try:
        db = os.path.join(tmp, "sqlite", "history.db")
        os.makedirs(os.path.dirname(db))
        create_schema(os.path.join(tmp, "sqlite"), db)
        t0 = time.perf_counter()
        fill_sqlite(db, args.tests, args.runs)
        print(f"sqlite: filled in {time.perf_counter() - t0:.0f} s ({os.path.getsize(db) / 1e6:.0f} MB)")
        report("sqlite", db, os.path.join(tmp, "sqlite"))
        if args.no_postgres:
            return
        schema = f"tg_bench_{os.getpid()}"
        if subprocess.run(["psql", "-q", PG, "-c", f"CREATE SCHEMA {schema}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            print(f"postgres: {PG} unreachable, skipped")
            return
        sep = "&" if "?" in PG else "?"
        url = f"{PG}{sep}options=-csearch_path%3D{schema}"
        try:
            pg_dir = os.path.join(tmp, "postgres")
            create_schema(pg_dir, url)
            t0 = time.perf_counter()
            fill_postgres(PG, schema, args.tests, args.runs)
            print(f"postgres: filled in {time.perf_counter() - t0:.0f} s")
            report("postgres", url, pg_dir)
        finally:
            subprocess.run(["psql", "-q", PG, "-c", f"DROP SCHEMA {schema} CASCADE"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
