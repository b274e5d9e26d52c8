//! End to end: `tollgate run` (the real binary) on a copy of
//! `examples/monorepo`, with real pytest and cargo-nextest: a passing
//! pipeline, a real failure, a flaky test, a quarantined failure, hung tests
//! killed by their timeouts, a failing gating build (in a test job's build
//! step, and as a `build` job of its own), planted secrets, and SIGINT /
//! SIGTERM mid-run during pytest and during nextest (issue 5's bar).
//!
//! Each test copies the example into its own temporary directory (without
//! `.venv`, `target`, `.tollgate`) and adds what its scenario needs; the
//! example's Rust crates build into one shared target dir
//! (`target/e2e-example`; copies keep the sources' modification times, so
//! unchanged crates stay fresh). pytest comes from `TOLLGATE_PYTHON` (set by
//! scripts/test.sh), else the workspace's `.venv`, given to tollgate as the
//! project's `.venv` (what it picks by default). tollgate's scratch files go
//! to a `TMPDIR` inside the test's directory, so the secret search sees them.

#[path = "run_example/support.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;
use tollgate_results::Outcome;

/// Generous: the first test to run may build the example's crates.
const LIMIT: Duration = Duration::from_secs(600);

const PLANNER_TESTS: &str = "components/src/dynamo/planner/tests";

/// The columns of the summary table, in order.
const SUMMARY_COLUMNS: [&str; 10] = [
    "job", "status", "pass", "fail", "flaky", "skip", "quar", "time", "peak rss", "budget",
];

/// The summary table's rows by job: the cells after the job name, split on
/// runs of 2+ spaces (cells are separated by two spaces at least).
fn summary_rows(stdout: &str) -> BTreeMap<String, Vec<String>> {
    let mut lines = stdout.lines();
    let header = lines
        .by_ref()
        .find(|l| l.starts_with("job "))
        .unwrap_or_else(|| panic!("no summary table header in:\n{stdout}"));
    let columns: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(columns, SUMMARY_COLUMNS, "summary header: {header}");
    let mut rows = BTreeMap::new();
    for line in lines {
        let cells: Vec<String> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        // Rows have a cell per column (the budget may be the last, `-`).
        if cells.len() == SUMMARY_COLUMNS.len() {
            rows.insert(cells[0].clone(), cells[1..].to_vec());
        }
    }
    rows
}

/// Asserts a job's row shows the counts of the `--json` document.
#[track_caller]
fn assert_row_matches(rows: &BTreeMap<String, Vec<String>>, json_job: &Value) {
    let name = json_job["name"].as_str().unwrap_or_default();
    let row = rows
        .get(name)
        .unwrap_or_else(|| panic!("no summary row for {name}: {rows:?}"));
    let counts = &json_job["counts"];
    for (i, key) in ["passed", "failed", "flaky", "skipped", "quarantined"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            row[i + 1],
            counts[key].to_string(),
            "{name}: `{}` column vs --json counts {counts}",
            SUMMARY_COLUMNS[i + 2]
        );
    }
}

/// (a) The README's main command on an unmodified copy: every planned test
/// runs and passes; JSON, JUnit, summary table and store agree.
#[test]
fn the_pr_pipeline_passes_on_the_example() {
    let Some(ex) = Example::new(&[]) else { return };
    let plan_path = ex.out("plan.json");
    let plan_out = ex.run(
        &[
            "plan",
            "--pipeline",
            "pr",
            "--format",
            "json",
            "--output",
            plan_path.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert!(plan_out.status.success(), "{}", describe(&plan_out));
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();

    let (json_path, junit_path) = (ex.out("run.json"), ex.out("run.xml"));
    // Two (fake) GPUs: the GPU jobs are runnable here and the example's GPU
    // tests run against its fake engine, so every planned test has a result.
    let mut cmd = ex.tollgate(&[
        "run",
        "--pipeline",
        "pr",
        "--gpus",
        "2",
        "--json",
        json_path.to_str().unwrap(),
        "--junit",
        junit_path.to_str().unwrap(),
    ]);
    cmd.env("CUDA_VISIBLE_DEVICES", "0,1");
    let out = ex.run_cmd(cmd, LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let run = ex.json("run.json");
    assert_eq!(run["complete"], true);
    assert_eq!(run["status"], "passed");

    // Every planned job ran and passed; every planned test has a result.
    let mut planned: BTreeSet<String> = BTreeSet::new();
    let plan_jobs = plan["jobs"].as_array().expect("plan jobs");
    assert!(plan_jobs.len() >= 4, "{plan:#}");
    for pj in plan_jobs {
        let name = pj["name"].as_str().unwrap();
        let job = job(&run, name);
        assert_eq!(job["status"], "passed", "{name}: {job:#}");
        let ran: BTreeSet<&str> = job["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        for id in pj["tests"].as_array().unwrap() {
            let id = id.as_str().unwrap();
            assert!(ran.contains(id), "{name}: planned test {id} has no result");
            planned.insert(id.to_string());
        }
        if !pj["tests"].as_array().unwrap().is_empty() {
            assert!(job["counts"]["passed"].as_u64().unwrap() > 0, "{job:#}");
        }
    }
    assert!(planned.len() >= 60, "only {} planned tests", planned.len());
    assert!(
        planned.iter().any(|id| id.contains(".py::")),
        "no Python test"
    );
    assert!(
        planned.iter().any(|id| !id.contains(".py::")),
        "no Rust test"
    );
    let index = run["tests"].as_object().expect("tests index");
    let indexed: BTreeSet<String> = index.keys().cloned().collect();
    assert_eq!(indexed, planned, "the --json index is the plan's tests");
    for (id, entry) in index {
        let outcome = entry["outcome"].as_str().unwrap();
        assert!(outcome == "passed" || outcome == "skipped", "{id}: {entry}");
        assert_eq!(entry["attempts"], 1, "{id}: {entry}");
    }

    // The merged JUnit parses and has exactly these tests, none failing.
    let junit = junit_attempts(&junit_path);
    let junit_ids: BTreeSet<String> = junit.iter().map(|(id, _, _)| id.clone()).collect();
    let expected: BTreeSet<String> = planned.iter().map(|id| junit_id(id)).collect();
    assert_eq!(junit_ids, expected);
    assert!(junit
        .iter()
        .all(|(_, o, _)| matches!(o, Outcome::Passed | Outcome::Skipped)));

    // The summary table: a row per job with the JSON's counts.
    let stdout = text(&out.stdout);
    let rows = summary_rows(&stdout);
    for j in run["jobs"].as_array().unwrap() {
        assert_row_matches(&rows, j);
    }

    // The run is in the history store, complete, with every test.
    let history = ex.run(&["history", "--format", "json"], LIMIT);
    assert!(history.status.success(), "{}", describe(&history));
    let runs: Value = serde_json::from_slice(&history.stdout).expect("history JSON");
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["run"]["complete"], true);
    assert_eq!(
        runs[0]["counts"]["tests"].as_u64(),
        Some(planned.len() as u64)
    );
}

/// (b) A real failure: failed after all its retries, every attempt kept.
#[test]
fn a_real_failure_fails_the_run_with_every_attempt() {
    let Some(ex) = Example::new(&["retries = 2"]) else {
        return;
    };
    ex.add_planner_unit_tests(
        "broken",
        "def test_replica_math_is_broken():\n    assert 2 + 2 == 5, \"replica math is broken\"\n\n\
         def test_replica_math_still_works():\n    assert 2 + 2 == 4\n",
    );
    let failing = format!("{PLANNER_TESTS}/test_planner_broken.py::test_replica_math_is_broken");
    let passing = format!("{PLANNER_TESTS}/test_planner_broken.py::test_replica_math_still_works");
    let (json_path, junit_path) = (ex.out("run.json"), ex.out("run.xml"));
    let out = ex.run(
        &[
            "run",
            "--pipeline",
            "pr",
            "--job",
            "unit",
            "--json",
            json_path.to_str().unwrap(),
            "--junit",
            junit_path.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let run = ex.json("run.json");
    assert_eq!(run["status"], "failed");
    assert_eq!(run["complete"], true);
    let t = test_report(&run, &failing);
    assert_eq!(t["outcome"], "failed");
    assert_eq!(attempt_outcomes(t), ["failed", "failed", "failed"]);
    for (i, a) in t["attempts"].as_array().unwrap().iter().enumerate() {
        assert_eq!(a["number"], i + 1);
        let message = a["message"].as_str().unwrap_or_default();
        assert!(message.contains("replica math is broken"), "{a:#}");
    }
    assert_eq!(run["tests"][&failing]["attempts"], 3);
    assert_eq!(test_report(&run, &passing)["outcome"], "passed");
    let unit = job(&run, "unit");
    assert_eq!(unit["status"], "failed");
    assert_eq!(unit["counts"]["failed"], 1);
    // The rest of the unit job (Python and Rust) still ran and passed.
    assert!(unit["counts"]["passed"].as_u64().unwrap() > 40, "{unit:#}");

    let rows = summary_rows(&text(&out.stdout));
    assert_row_matches(&rows, unit);
    assert_eq!(rows["unit"][0], "FAILED");

    let junit = junit_attempts(&junit_path);
    let attempts: Vec<(Outcome, u32)> = junit
        .iter()
        .filter(|(id, _, _)| *id == junit_id(&failing))
        .map(|(_, o, n)| (*o, *n))
        .collect();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(
        attempts.iter().all(|(o, _)| *o == Outcome::Failed),
        "{attempts:?}"
    );
    assert!(junit
        .iter()
        .any(|(id, o, _)| *id == junit_id(&passing) && *o == Outcome::Passed));
}

/// (c) Fails on its first attempt by design (a counter file), passes on the
/// retry: flaky, never a plain pass; the run passes; the store says flaky.
#[test]
fn a_test_failing_once_is_flaky_and_stored_as_flaky() {
    let Some(ex) = Example::new(&["retries = 1"]) else {
        return;
    };
    ex.add_planner_unit_tests(
        "flaky",
        "def test_passes_on_the_second_attempt():\n    \
             counter = os.path.join(os.environ[\"E2E_STATE_DIR\"], \"flaky-counter\")\n    \
             n = 0\n    \
             if os.path.exists(counter):\n        \
                 with open(counter) as f:\n            \
                     n = int(f.read())\n    \
             with open(counter, \"w\") as f:\n        f.write(str(n + 1))\n    \
             assert n >= 1, f\"fails on attempt {n + 1} by design\"\n",
    );
    // A commit, as on CI: flakiness is judged per commit.
    git_commit(&ex.root);
    let flaky = format!("{PLANNER_TESTS}/test_planner_flaky.py::test_passes_on_the_second_attempt");
    let (json_path, junit_path) = (ex.out("run.json"), ex.out("run.xml"));
    let out = ex.run(
        &[
            "run",
            "--pipeline",
            "pr",
            "--job",
            "unit",
            "--json",
            json_path.to_str().unwrap(),
            "--junit",
            junit_path.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let counter = std::fs::read_to_string(ex.base.join("tmp/flaky-counter")).unwrap();
    assert_eq!(counter, "2", "the test ran twice");
    let run = ex.json("run.json");
    assert_eq!(run["status"], "passed");
    let t = test_report(&run, &flaky);
    assert_eq!(t["outcome"], "flaky");
    assert_eq!(attempt_outcomes(t), ["failed", "passed"]);
    assert!(t["attempts"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("fails on attempt 1 by design"));
    assert_eq!(run["tests"][&flaky]["outcome"], "flaky");
    let unit = job(&run, "unit");
    assert_eq!(unit["status"], "passed_with_flakes");
    assert_eq!(unit["counts"]["flaky"], 1);
    assert_eq!(unit["counts"]["failed"], 0);
    let rows = summary_rows(&text(&out.stdout));
    assert_row_matches(&rows, unit);

    let junit = junit_attempts(&junit_path);
    let attempts: Vec<(Outcome, u32)> = junit
        .iter()
        .filter(|(id, _, _)| *id == junit_id(&flaky))
        .map(|(_, o, n)| (*o, *n))
        .collect();
    assert_eq!(
        attempts,
        [(Outcome::Failed, 1), (Outcome::Passed, 2)],
        "JUnit: a flakyFailure then the pass"
    );

    // The store: both attempts, and `tollgate flaky` names the test.
    let history = ex.run(&["history", "--test", &flaky, "--format", "json"], LIMIT);
    assert!(history.status.success(), "{}", describe(&history));
    let entries: Value = serde_json::from_slice(&history.stdout).expect("history JSON");
    let mut seen: Vec<(u64, String)> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["attempt"].as_u64().unwrap(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen, [(1, "failed".to_string()), (2, "passed".to_string())]);
    let report = ex.run(&["flaky", "--format", "json"], LIMIT);
    assert!(report.status.success(), "{}", describe(&report));
    let report: Value = serde_json::from_slice(&report.stdout).expect("flaky JSON");
    let found = find_object(&report, "test_id", &flaky)
        .unwrap_or_else(|| panic!("{flaky} not reported flaky: {report:#}"));
    assert_eq!(found["flaky_commits"], 1, "{found}");
    assert_eq!(found["attempts"], 2, "{found}");
    assert_eq!(found["failed_attempts"], 1, "{found}");
}

/// (d) A quarantined failure runs, is reported, and does not fail the run.
#[test]
fn a_quarantined_failure_does_not_fail_the_run() {
    let Some(ex) = Example::new(&[]) else { return };
    ex.add_planner_unit_tests(
        "quarantined",
        "def test_known_broken_upstream():\n    assert False, \"upstream bug 1234\"\n",
    );
    let id = format!("{PLANNER_TESTS}/test_planner_quarantined.py::test_known_broken_upstream");
    ex.write(
        ".tollgate/quarantine.toml",
        &format!(
            "[[quarantine]]\nid = {id:?}\nreason = \"upstream bug 1234\"\nowner = \"planner-team\"\n\
             issue = \"https://example.invalid/issues/1234\"\nexpires = \"2099-12-31\"\n"
        ),
    );
    let (json_path, junit_path) = (ex.out("run.json"), ex.out("run.xml"));
    let out = ex.run(
        &[
            "run",
            "--pipeline",
            "pr",
            "--job",
            "unit",
            "--json",
            json_path.to_str().unwrap(),
            "--junit",
            junit_path.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let run = ex.json("run.json");
    assert_eq!(run["status"], "passed");
    let t = test_report(&run, &id);
    assert_eq!(t["outcome"], "quarantined");
    assert_eq!(t["quarantine_reason"], "upstream bug 1234");
    // It ran and failed: quarantine hides the verdict, not the result.
    assert_eq!(attempt_outcomes(t), ["failed"]);
    assert!(t["attempts"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("upstream bug 1234"));
    let unit = job(&run, "unit");
    assert_eq!(unit["status"], "passed");
    assert_eq!(unit["counts"]["quarantined"], 1);
    assert_eq!(unit["counts"]["failed"], 0);
    let rows = summary_rows(&text(&out.stdout));
    assert_row_matches(&rows, unit);
    // JUnit: the case's own result is `<skipped>` (its failed attempts
    // follow as `<rerunFailure>`), so no dashboard counts it as a failure.
    let junit = junit_attempts(&junit_path);
    let results: Vec<(Outcome, u32)> = junit
        .iter()
        .filter(|(jid, _, _)| *jid == junit_id(&id))
        .map(|(_, o, n)| (*o, *n))
        .collect();
    assert!(
        results.iter().any(|(o, _)| *o == Outcome::Skipped),
        "{results:?}"
    );
    let failed = results
        .iter()
        .filter(|(o, _)| *o == Outcome::Failed)
        .count();
    assert_eq!(failed, 1, "its one failed attempt is kept: {results:?}");
    let xml = std::fs::read_to_string(&junit_path).unwrap();
    assert!(xml.contains("quarantined: upstream bug 1234"), "{xml}");
    let root = xml.lines().find(|l| l.contains("<testsuites")).unwrap();
    assert!(root.contains(r#"failures="0""#), "{root}");
}

/// (e) Hung tests: one with `@pytest.mark.timeout(2)`, one under the
/// configured default; both killed with their process group, the rest of
/// the job continues, the run ends in bounded time.
#[test]
fn hung_tests_are_killed_by_their_timeouts() {
    let Some(ex) = Example::new(&["timeout = \"5s\""]) else {
        return;
    };
    // pytest-timeout's mark, registered as a project using it would
    // (`--strict-markers` is on); tollgate enforces it without the plugin.
    let pyproject = std::fs::read_to_string(ex.path("pyproject.toml")).unwrap();
    assert!(pyproject.contains("markers = [\n"));
    ex.write(
        "pyproject.toml",
        &pyproject.replacen(
            "markers = [\n",
            "markers = [\n    \"timeout: per-test timeout in seconds\",\n",
            1,
        ),
    );
    ex.add_planner_unit_tests(
        "hang",
        "def hang(name):\n    \
             child = subprocess.Popen([\"sleep\", \"600\"])\n    \
             path = os.path.join(os.environ[\"E2E_STATE_DIR\"], name + \".pids\")\n    \
             with open(path + \".tmp\", \"w\") as f:\n        \
                 f.write(f\"pid={os.getpid()}\\npgid={os.getpgid(0)}\\nchild={child.pid}\\n\")\n    \
             os.replace(path + \".tmp\", path)\n    \
             time.sleep(600)\n\n\n\
         @pytest.mark.timeout(2)\n\
         def test_hangs_past_its_marked_timeout():\n    hang(\"marked\")\n\n\n\
         def test_hangs_past_the_default_timeout():\n    hang(\"default\")\n\n\n\
         def test_runs_after_the_hung_ones():\n    assert True\n",
    );
    let file = format!("{PLANNER_TESTS}/test_planner_hang.py");
    let json_path = ex.out("run.json");
    let started = Instant::now();
    let out = ex.run(
        &[
            "run",
            "--pipeline",
            "pr",
            "--job",
            "unit",
            "--json",
            json_path.to_str().unwrap(),
        ],
        LIMIT,
    );
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let run = ex.json("run.json");
    assert_eq!(run["complete"], true);
    for (test, name, limit) in [
        ("test_hangs_past_its_marked_timeout", "marked", 2.0),
        ("test_hangs_past_the_default_timeout", "default", 5.0),
    ] {
        let t = test_report(&run, &format!("{file}::{test}"));
        assert_eq!(t["outcome"], "failed", "{t:#}");
        assert_eq!(attempt_outcomes(t), ["timeout"], "{t:#}");
        let attempt = &t["attempts"][0];
        assert!(
            attempt["message"]
                .as_str()
                .unwrap_or_default()
                .contains("timeout"),
            "{attempt:#}"
        );
        let duration = attempt["duration"].as_f64().unwrap();
        assert!(
            duration >= limit && duration < limit + 3.0,
            "{test}: killed after {duration}s, limit {limit}s"
        );
        // The test process, the child it started and its whole group are gone.
        let pids = read_pids(&ex.base.join(format!("tmp/{name}.pids")));
        for key in ["pid", "child"] {
            assert!(
                wait_gone(pids[key], Duration::from_secs(5)),
                "{name}: {key} {} survived",
                pids[key]
            );
        }
        assert_eq!(
            group_members(pids["pgid"]),
            Vec::<i32>::new(),
            "{name}: group survived"
        );
    }
    let after = test_report(&run, &format!("{file}::test_runs_after_the_hung_ones"));
    assert_eq!(after["outcome"], "passed");
    assert_eq!(job(&run, "unit")["counts"]["failed"], 2);
    // Bounded: the hung tests cost their timeouts (plus kill grace), not 600 s.
    assert!(elapsed < Duration::from_secs(120), "took {elapsed:?}");
}

/// (f) A compile error in one of the example's crates: the build is
/// reported failed and the later stage (nightly's benchmark job) is skipped.
#[test]
fn a_failing_gating_build_stops_the_later_stages() {
    let Some(ex) = Example::new(&[]) else { return };
    ex.append(
        "lib/kvbm/src/lib.rs",
        "\n/// Does not compile: the gating build must fail.\npub fn e2e_broken_build() -> u32 {\n    \"not a number\"\n}\n",
    );
    let json_path = ex.out("run.json");
    // Eight GPUs: the stage-3 benchmark job is runnable here, so it is not
    // run only because the build failed.
    let out = ex.run(
        &[
            "run",
            "--pipeline",
            "nightly",
            "--gpus",
            "8",
            "--json",
            json_path.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let run = ex.json("run.json");
    assert_eq!(run["status"], "failed");
    let jobs = run["jobs"].as_array().unwrap();
    // The jobs that build Rust report the build failure with the compiler's error.
    let builders: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["status"] == "failed")
        .filter(|j| {
            let reason = j["reason"].as_str().unwrap_or_default();
            reason.contains("E0308") || reason.contains("mismatched types")
        })
        .collect();
    assert!(
        !builders.is_empty(),
        "no job reports the compile error: {run:#}"
    );
    assert!(builders
        .iter()
        .all(|j| j["stage"] == 2 && j["gating"] == true));
    for j in &builders {
        // Its Rust tests did not pass (they were never built).
        let rust_passed = j["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["id"].as_str().unwrap().contains(".py::"))
            .any(|t| t["outcome"] == "passed");
        assert!(!rust_passed, "{j:#}");
    }
    let later: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["stage"].as_u64() > Some(2))
        .collect();
    assert!(
        later.iter().any(|j| j["name"] == "benchmark"),
        "benchmark job missing: {run:#}"
    );
    let rows = summary_rows(&text(&out.stdout));
    for j in later {
        assert_eq!(j["status"], "skipped", "{j:#}");
        assert!(j["reason"].as_str().is_some_and(|r| !r.is_empty()), "{j:#}");
        assert_eq!(j["tests"].as_array().map(Vec::len), Some(0), "{j:#}");
        assert_eq!(j["processes"].as_array().map(Vec::len), Some(0), "{j:#}");
        let name = j["name"].as_str().unwrap();
        assert_eq!(rows[name][0], "skipped", "{name}: {:?}", rows[name]);
    }
    let benchmark_tests = run["tests"]
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["job"] == "benchmark")
        .count();
    assert_eq!(benchmark_tests, 0);
}

/// (f, as the seeds lay it out) A `build` job of its own in stage 1, gating:
/// the compile error fails it and no test job of the later stage starts.
#[test]
fn a_failing_build_job_skips_every_test_job() {
    let Some(ex) = Example::new(&[]) else { return };
    let config = std::fs::read_to_string(ex.path("tollgate.toml")).unwrap();
    let pr_jobs = r#"jobs = ["lint", "unit", "integration_0", "integration_1", "e2e_0", "e2e_1"]"#;
    assert!(
        config.contains(pr_jobs),
        "the example's pr pipeline changed"
    );
    let config = config.replacen(
        pr_jobs,
        r#"jobs = ["lint", "build", "unit", "integration_0", "integration_1", "e2e_0", "e2e_1"]"#,
        1,
    )
        + "\n[jobs.build]\ndescription = \"Build every crate\"\nstage = 1\ngating = true\n\
          commands = [\"cargo build --workspace --all-features --all-targets\"]\n";
    ex.write("tollgate.toml", &config);
    ex.append(
        "lib/llm/src/lib.rs",
        "\n/// Does not compile: the gating build must fail.\npub fn e2e_broken_build() -> u32 {\n    \"not a number\"\n}\n",
    );
    let json_path = ex.out("run.json");
    let out = ex.run(
        &[
            "run",
            "--pipeline",
            "pr",
            "--gpus",
            "2",
            "--json",
            json_path.to_str().unwrap(),
        ],
        LIMIT,
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let run = ex.json("run.json");
    assert_eq!(run["status"], "failed");
    let build = job(&run, "build");
    assert_eq!(build["status"], "failed", "{build:#}");
    assert_eq!(build["stage"], 1);
    let reason = build["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("E0308") || reason.contains("mismatched types"),
        "the compiler's error is in the report: {reason}"
    );
    assert_eq!(job(&run, "lint")["status"], "passed");
    let rows = summary_rows(&text(&out.stdout));
    assert_eq!(rows["build"][0], "FAILED");
    let later: Vec<&Value> = run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["stage"].as_u64() > Some(1))
        .collect();
    assert!(later.len() >= 3, "{run:#}");
    for j in later {
        assert_eq!(j["status"], "skipped", "{j:#}");
        assert_eq!(j["tests"].as_array().map(Vec::len), Some(0), "{j:#}");
        assert_eq!(j["processes"].as_array().map(Vec::len), Some(0), "{j:#}");
        let name = j["name"].as_str().unwrap();
        assert_eq!(rows[name][0], "skipped", "{name}: {:?}", rows[name]);
    }
    assert_eq!(
        run["tests"].as_object().map(|t| t.len()),
        Some(0),
        "no test ran"
    );
}

/// (g) Secrets from the environment, printed by tests on stdout and stderr
/// and in an assertion message, appear nowhere tollgate writes or prints.
#[test]
fn planted_secrets_appear_nowhere() {
    let Some(ex) = Example::new(&["retries = 1"]) else {
        return;
    };
    ex.add_planner_unit_tests(
        "secrets",
        "def test_prints_secrets_and_passes():\n    \
             print(\"stdout HF_TOKEN=\" + os.environ[\"HF_TOKEN\"])\n    \
             print(\"stderr MY_API_KEY=\" + os.environ[\"MY_API_KEY\"], file=sys.stderr)\n\n\n\
         def test_fails_with_secrets_in_its_message():\n    \
             token, key = os.environ[\"HF_TOKEN\"], os.environ[\"MY_API_KEY\"]\n    \
             print(f\"stdout {token} {key}\")\n    \
             print(f\"stderr {token} {key}\", file=sys.stderr)\n    \
             assert token == key, f\"token {token} is not key {key}\"\n",
    );
    let file = format!("{PLANNER_TESTS}/test_planner_secrets.py");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let token = format!("hf_e2e{nanos:x}{:x}", std::process::id());
    let key = format!("k3y{:x}Zq{nanos:x}", std::process::id());
    // Reports inside the project too: the tree-wide search covers them.
    let json_path = ex.path("results.json");
    let junit_path = ex.path("results.xml");
    let mut cmd = ex.tollgate(&[
        "run",
        "--pipeline",
        "pr",
        "--job",
        "unit",
        "--json",
        json_path.to_str().unwrap(),
        "--junit",
        junit_path.to_str().unwrap(),
    ]);
    cmd.env("HF_TOKEN", &token).env("MY_API_KEY", &key);
    let out = ex.run_cmd(cmd, LIMIT);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));

    // The tests did print them, and tollgate kept that output (per failed
    // attempt, and pytest's own log), redacted.
    let run: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let passed = test_report(&run, &format!("{file}::test_prints_secrets_and_passes"));
    assert_eq!(passed["outcome"], "passed");
    let failed = test_report(
        &run,
        &format!("{file}::test_fails_with_secrets_in_its_message"),
    );
    assert_eq!(attempt_outcomes(failed), ["failed", "failed"]);
    for attempt in failed["attempts"].as_array().unwrap() {
        let message = attempt["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("token [REDACTED] is not key [REDACTED]"),
            "{attempt:#}"
        );
        let output = attempt["output"].as_str().unwrap_or_default();
        assert!(
            output.contains("stdout [REDACTED] [REDACTED]"),
            "{attempt:#}"
        );
        assert!(
            output.contains("stderr [REDACTED] [REDACTED]"),
            "{attempt:#}"
        );
    }
    let logs: Vec<&str> = job(&run, "unit")["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["log_tail"].as_str())
        .collect();
    assert!(
        logs.iter()
            .any(|l| l.contains("stdout [REDACTED] [REDACTED]")),
        "pytest's log keeps the failure's output, redacted: {logs:#?}"
    );
    let store = ex.path(".tollgate/history.db");
    assert!(store.is_file(), "the run was recorded");
    assert!(!files_containing(&ex.root.join(".tollgate"), b"[REDACTED]").is_empty());

    for secret in [&token, &key] {
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        assert!(
            !stdout.contains(secret.as_str()),
            "secret on stdout:\n{stdout}"
        );
        assert!(
            !stderr.contains(secret.as_str()),
            "secret on stderr:\n{stderr}"
        );
        // The project (reports, store, anything else written there), the
        // scratch space (TMPDIR) and the output directory, byte-wise.
        let hits = files_containing(&ex.base, secret.as_bytes());
        assert!(hits.is_empty(), "secret written to {hits:?}");
    }
}

/// (h) SIGINT and SIGTERM while a test runs: tollgate stops its children
/// (the whole process group), writes partial results marked incomplete and
/// exits promptly with 3 (interrupted counts as an infrastructure status).
fn interrupted_mid_run(signal: &str) {
    let Some(ex) = Example::new(&[]) else { return };
    ex.add_planner_unit_tests(
        "interrupt",
        "def test_a_finishes_before_the_signal():\n    assert True\n\n\n\
         def test_b_sleeps_until_killed():\n    \
             child = subprocess.Popen([\"sleep\", \"600\"])\n    \
             path = os.path.join(os.environ[\"E2E_STATE_DIR\"], \"sleeper.pids\")\n    \
             with open(path + \".tmp\", \"w\") as f:\n        \
                 f.write(f\"pid={os.getpid()}\\npgid={os.getpgid(0)}\\nchild={child.pid}\\n\")\n    \
             os.replace(path + \".tmp\", path)\n    \
             time.sleep(600)\n",
    );
    git_commit(&ex.root);
    let file = format!("{PLANNER_TESTS}/test_planner_interrupt.py");
    let (json_path, junit_path) = (ex.out("run.json"), ex.out("run.xml"));
    let cmd = ex.tollgate(&[
        "run",
        "--pipeline",
        "pr",
        "--job",
        "unit",
        "--json",
        json_path.to_str().unwrap(),
        "--junit",
        junit_path.to_str().unwrap(),
    ]);
    let stopped = ex.interrupt_when(cmd, &ex.base.join("tmp/sleeper.pids"), signal);
    let (pids, logs) = (&stopped.pids, &stopped.logs);
    assert_eq!(
        stopped.status.code(),
        Some(3),
        "SIG{signal}: {}\n{logs}",
        stopped.status
    );
    assert!(
        stopped.took < Duration::from_secs(10),
        "SIG{signal}: stopped after {:?}",
        stopped.took
    );

    // No orphan: the test process, its child and its whole group are gone.
    for key in ["pid", "child"] {
        assert!(
            wait_gone(pids[key], Duration::from_secs(5)),
            "SIG{signal}: {key} {} survived",
            pids[key]
        );
    }
    assert_eq!(
        group_members(pids["pgid"]),
        Vec::<i32>::new(),
        "SIG{signal}: group survived"
    );

    // Partial results, marked incomplete, with the test finished before.
    let run = ex.json("run.json");
    assert_eq!(run["complete"], false, "{run:#}");
    assert_eq!(run["status"], "interrupted");
    let before = test_report(&run, &format!("{file}::test_a_finishes_before_the_signal"));
    assert_eq!(before["outcome"], "passed");
    let sleeper = run["tests"].get(format!("{file}::test_b_sleeps_until_killed"));
    assert!(
        sleeper.is_none(),
        "a test the signal cut short is no result: {sleeper:?}"
    );
    // Rust tests never started: they are absent, not failed or passed.
    assert!(
        run["tests"]
            .as_object()
            .unwrap()
            .keys()
            .all(|id| id.contains(".py::")),
        "{run:#}"
    );
    assert_eq!(job(&run, "unit")["status"], "incomplete");
    let junit = junit_attempts(&junit_path);
    assert!(junit.iter().any(|(id, o, _)| {
        *id == junit_id(&format!("{file}::test_a_finishes_before_the_signal"))
            && *o == Outcome::Passed
    }));
    // The store has the run, marked incomplete (never a baseline).
    let history = ex.run(&["history", "--format", "json"], LIMIT);
    assert!(history.status.success(), "{}", describe(&history));
    let runs: Value = serde_json::from_slice(&history.stdout).expect("history JSON");
    assert_eq!(runs[0]["run"]["complete"], false, "{runs:#}");
}

#[test]
fn sigint_mid_run_stops_children_and_writes_partial_results() {
    interrupted_mid_run("INT");
}

#[test]
fn sigterm_mid_run_stops_children_and_writes_partial_results() {
    interrupted_mid_run("TERM");
}

/// (h, Rust) SIGINT while nextest runs a test: nextest (in its runner's
/// process group), the test (in a group of its own, nextest's doing) and the
/// test's child that ignores SIGTERM are gone, the Python tests that finished are kept, the cut-off test is no
/// result.
#[test]
fn sigint_during_nextest_stops_nextest_and_its_test() {
    let Some(ex) = Example::new(&[]) else { return };
    // A new integration-test target: it leaves the other targets (and the
    // shared target dir) as they are.
    ex.write(
        "lib/kvbm/tests/sleeper.rs",
        // Its child ignores SIGTERM and SIGINT: only a SIGKILL ends it, and
        // it is in the test's process group, not nextest's.
        "#![cfg(feature = \"integration\")]\n\n\
         #[test]\n\
         fn sleeps_until_killed() {\n    \
             let dir = std::env::var(\"E2E_STATE_DIR\").unwrap();\n    \
             let child = std::process::Command::new(\"sh\")\n        \
                 .args([\"-c\", \"trap '' TERM INT; sleep 600\"])\n        \
                 .spawn()\n        \
                 .unwrap();\n    \
             let tmp = format!(\"{dir}/rust-sleeper.pids.tmp\");\n    \
             let pids = format!(\"pid={}\\nchild={}\\n\", std::process::id(), child.id());\n    \
             std::fs::write(&tmp, pids).unwrap();\n    \
             std::fs::rename(&tmp, format!(\"{dir}/rust-sleeper.pids\")).unwrap();\n    \
             std::thread::sleep(std::time::Duration::from_secs(600));\n\
         }\n",
    );
    let sleeper = "dynamo-kvbm::sleeper sleeps_until_killed";
    let json_path = ex.out("run.json");
    let cmd = ex.tollgate(&[
        "run",
        "--pipeline",
        "pr",
        "--job",
        "integration_0",
        "--json",
        json_path.to_str().unwrap(),
    ]);
    let stopped = ex.interrupt_when(cmd, &ex.base.join("tmp/rust-sleeper.pids"), "INT");
    let logs = &stopped.logs;
    assert_eq!(stopped.status.code(), Some(3), "{}\n{logs}", stopped.status);
    assert!(
        stopped.took < Duration::from_secs(10),
        "stopped after {:?}",
        stopped.took
    );
    let test = stopped.pids["pid"];
    assert!(
        wait_gone(test, Duration::from_secs(5)),
        "the test {test} survived"
    );
    let child = stopped.pids["child"];
    assert!(
        wait_gone(child, Duration::from_secs(5)),
        "the test's SIGTERM-ignoring child {child} survived (an orphan)"
    );
    // Its parent was nextest: gone too, with the test's own group.
    let nextest = stopped.test_parent;
    assert!(nextest > 1, "no parent recorded");
    assert!(
        wait_gone(nextest, Duration::from_secs(5)),
        "nextest {nextest} survived"
    );
    assert_eq!(
        group_members(test),
        Vec::<i32>::new(),
        "the test's group survived"
    );

    let run = ex.json("run.json");
    assert_eq!(run["complete"], false);
    assert_eq!(run["status"], "interrupted");
    let job = job(&run, "integration_0");
    assert_eq!(job["status"], "incomplete");
    // The Python step ran before the Rust one: its results are kept.
    let python: Vec<&Value> = job["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["id"].as_str().unwrap().contains(".py::"))
        .collect();
    assert!(!python.is_empty(), "{job:#}");
    assert!(python.iter().all(|t| t["outcome"] == "passed"), "{job:#}");
    // The test the signal cut short is no result (as for pytest), not a failure.
    assert!(
        run["tests"].get(sleeper).is_none(),
        "{:#}",
        run["tests"][sleeper]
    );
    let failed: Vec<&String> = run["tests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, e)| e["outcome"] == "failed")
        .map(|(id, _)| id)
        .collect();
    assert!(failed.is_empty(), "the interrupt made failures: {failed:?}");
}

/// The first object in `value` (searched depth-first) whose `key` is `wanted`.
fn find_object<'a>(value: &'a Value, key: &str, wanted: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => {
            if map.get(key).and_then(Value::as_str) == Some(wanted) {
                return Some(value);
            }
            map.values().find_map(|v| find_object(v, key, wanted))
        }
        Value::Array(items) => items.iter().find_map(|v| find_object(v, key, wanted)),
        _ => None,
    }
}

/// `git init` + one commit of the whole copy.
fn git_commit(root: &std::path::Path) {
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"][..],
        &["commit", "-q", "-m", "example"][..],
    ] {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args([
                "-c",
                "user.name=e2e",
                "-c",
                "user.email=e2e@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
    }
}
