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
//! The set-up, the runs and the checks they share are in
//! `run_example/support.rs`.

mod common;
#[path = "run_example/support.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use support::*;
use tollgate_results::Outcome;

/// `tollgate run` arguments of the `pr` pipeline's `unit` job.
const UNIT: [&str; 4] = ["--pipeline", "pr", "--job", "unit"];

/// What the example's crates get appended to stop compiling.
const BROKEN_BUILD: &str = "\n/// Does not compile: the gating build must fail.\n\
    pub fn e2e_broken_build() -> u32 {\n    \"not a number\"\n}\n";

/// A job's reason names the compiler's error.
fn reports_compile_error(job: &Value) -> bool {
    let reason = job["reason"].as_str().unwrap_or_default();
    reason.contains("E0308") || reason.contains("mismatched types")
}

/// (a) The README's main command on an unmodified copy: every planned test
/// runs and passes; JSON, JUnit, summary table and store agree.
#[test]
fn the_pr_pipeline_passes_on_the_example() {
    let Some(ex) = Example::new(&[]) else { return };
    let plan_path = ex.out("plan.json").display().to_string();
    let plan_out = ex.run(
        &[
            "plan",
            "--pipeline",
            "pr",
            "--format",
            "json",
            "--output",
            &plan_path,
        ],
        LIMIT,
    );
    assert!(plan_out.status.success(), "{}", describe(&plan_out));
    let plan = ex.json("plan.json");

    // Two (fake) GPUs: the GPU jobs are runnable here and the example's GPU
    // tests run against its fake engine, so every planned test has a result.
    let reports = ex.reports();
    let mut cmd = ex.run_command(&["--pipeline", "pr", "--gpus", "2"], &reports);
    cmd.env("CUDA_VISIBLE_DEVICES", "0,1");
    let done = ex.finish(cmd, &reports, 0);
    let run = &done.run;
    assert_eq!(run["complete"], true);
    assert_eq!(run["status"], "passed");

    // Every planned job ran and passed; every planned test has a result.
    let mut planned: BTreeSet<String> = BTreeSet::new();
    let plan_jobs = plan["jobs"].as_array().expect("plan jobs");
    assert!(plan_jobs.len() >= 4, "{plan:#}");
    for pj in plan_jobs {
        let name = pj["name"].as_str().unwrap();
        let job = job(run, name);
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
    let junit = junit_attempts(&done.junit);
    let junit_ids: BTreeSet<String> = junit.iter().map(|(id, _, _)| id.clone()).collect();
    let expected: BTreeSet<String> = planned.iter().map(|id| junit_id(id)).collect();
    assert_eq!(junit_ids, expected);
    assert!(junit
        .iter()
        .all(|(_, o, _)| matches!(o, Outcome::Passed | Outcome::Skipped)));

    // The summary table: a row per job with the JSON's counts.
    let rows = done.rows();
    for j in run["jobs"].as_array().unwrap() {
        assert_row_matches(&rows, j);
    }

    // The run is in the history store, complete, with every test.
    let runs = ex.json_output(&["history", "--format", "json"]);
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
    let Some((ex, file)) = Example::with_unit_tests(
        &["retries = 2"],
        "broken",
        "def test_replica_math_is_broken():\n    assert 2 + 2 == 5, \"replica math is broken\"\n\n\
         def test_replica_math_still_works():\n    assert 2 + 2 == 4\n",
    ) else {
        return;
    };
    let failing = format!("{file}::test_replica_math_is_broken");
    let passing = format!("{file}::test_replica_math_still_works");
    let done = ex.run_expecting(&UNIT, 1);
    let run = &done.run;
    assert_eq!(run["status"], "failed");
    assert_eq!(run["complete"], true);
    let t = done.test(&failing);
    assert_eq!(t["outcome"], "failed");
    assert_eq!(attempt_outcomes(t), ["failed", "failed", "failed"]);
    for (i, a) in t["attempts"].as_array().unwrap().iter().enumerate() {
        assert_eq!(a["number"], i + 1);
        assert!(message(a).contains("replica math is broken"), "{a:#}");
    }
    assert_eq!(run["tests"][&failing]["attempts"], 3);
    assert_eq!(done.test(&passing)["outcome"], "passed");
    let unit = done.assert_job("unit", "failed", &[("failed", 1)]);
    // The rest of the unit job (Python and Rust) still ran and passed.
    assert!(unit["counts"]["passed"].as_u64().unwrap() > 40, "{unit:#}");
    assert_eq!(done.rows()["unit"][0], "FAILED");
    // The failure is on the console: its test, attempts, and assertion.
    let console = done.stdout();
    assert!(
        console.contains(&format!("FAILED [unit] {failing}")),
        "{console}"
    );
    assert!(console.contains("attempt 3 of 3: failed"), "{console}");
    assert!(console.contains("replica math is broken"), "{console}");

    let attempts = done.junit_of(&failing);
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(
        attempts.iter().all(|(o, _)| *o == Outcome::Failed),
        "{attempts:?}"
    );
    let passing_attempts = done.junit_of(&passing);
    assert!(
        passing_attempts.iter().any(|(o, _)| *o == Outcome::Passed),
        "{passing_attempts:?}"
    );
}

/// (c) Fails on its first attempt by design (a counter file), passes on the
/// retry: flaky, never a plain pass; the run passes; the store says flaky.
#[test]
fn a_test_failing_once_is_flaky_and_stored_as_flaky() {
    let Some((ex, file)) = Example::with_unit_tests(
        &["retries = 1"],
        "flaky",
        "def test_passes_on_the_second_attempt():\n    \
             counter = os.path.join(os.environ[\"E2E_STATE_DIR\"], \"flaky-counter\")\n    \
             n = 0\n    \
             if os.path.exists(counter):\n        \
                 with open(counter) as f:\n            \
                     n = int(f.read())\n    \
             with open(counter, \"w\") as f:\n        f.write(str(n + 1))\n    \
             assert n >= 1, f\"fails on attempt {n + 1} by design\"\n",
    ) else {
        return;
    };
    // A commit, as on CI: flakiness is judged per commit.
    git_commit_all(&ex.root, "example");
    let flaky = format!("{file}::test_passes_on_the_second_attempt");
    let done = ex.run_expecting(&UNIT, 0);
    let counter = std::fs::read_to_string(ex.base.join("tmp/flaky-counter")).unwrap();
    assert_eq!(counter, "2", "the test ran twice");
    let run = &done.run;
    assert_eq!(run["status"], "passed");
    let t = done.test(&flaky);
    assert_eq!(t["outcome"], "flaky");
    assert_eq!(attempt_outcomes(t), ["failed", "passed"]);
    assert!(message(&t["attempts"][0]).contains("fails on attempt 1 by design"));
    assert_eq!(run["tests"][&flaky]["outcome"], "flaky");
    done.assert_job("unit", "passed_with_flakes", &[("flaky", 1), ("failed", 0)]);
    assert_eq!(
        done.junit_of(&flaky),
        [(Outcome::Failed, 1), (Outcome::Passed, 2)],
        "JUnit: a flakyFailure then the pass"
    );

    // The store: both attempts, and `tollgate flaky` names the test.
    let entries = ex.json_output(&["history", "--test", &flaky, "--format", "json"]);
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
    let report = ex.json_output(&["flaky", "--format", "json"]);
    let found = find_object(&report, "test_id", &flaky)
        .unwrap_or_else(|| panic!("{flaky} not reported flaky: {report:#}"));
    assert_eq!(found["flaky_commits"], 1, "{found}");
    assert_eq!(found["attempts"], 2, "{found}");
    assert_eq!(found["failed_attempts"], 1, "{found}");
}

/// (d) A quarantined failure runs, is reported, and does not fail the run.
#[test]
fn a_quarantined_failure_does_not_fail_the_run() {
    let Some((ex, file)) = Example::with_unit_tests(
        &[],
        "quarantined",
        "def test_known_broken_upstream():\n    assert False, \"upstream bug 1234\"\n",
    ) else {
        return;
    };
    let id = format!("{file}::test_known_broken_upstream");
    ex.write(
        ".tollgate/quarantine.toml",
        &format!(
            "[[quarantine]]\nid = {id:?}\nreason = \"upstream bug 1234\"\nowner = \"planner-team\"\n\
             issue = \"https://example.invalid/issues/1234\"\nexpires = \"2099-12-31\"\n"
        ),
    );
    let done = ex.run_expecting(&UNIT, 0);
    assert_eq!(done.run["status"], "passed");
    let t = done.test(&id);
    assert_eq!(t["outcome"], "quarantined");
    assert_eq!(t["quarantine_reason"], "upstream bug 1234");
    // It ran and failed: quarantine hides the verdict, not the result.
    assert_eq!(attempt_outcomes(t), ["failed"]);
    assert!(message(&t["attempts"][0]).contains("upstream bug 1234"));
    done.assert_job("unit", "passed", &[("quarantined", 1), ("failed", 0)]);
    // JUnit: the case's own result is `<skipped>` (its failed attempts
    // follow as `<rerunFailure>`), so no dashboard counts it as a failure.
    let results = done.junit_of(&id);
    assert!(
        results.iter().any(|(o, _)| *o == Outcome::Skipped),
        "{results:?}"
    );
    let failed = results
        .iter()
        .filter(|(o, _)| *o == Outcome::Failed)
        .count();
    assert_eq!(failed, 1, "its one failed attempt is kept: {results:?}");
    let xml = std::fs::read_to_string(&done.junit).unwrap();
    assert!(xml.contains("quarantined: upstream bug 1234"), "{xml}");
    let root = xml.lines().find(|l| l.contains("<testsuites")).unwrap();
    assert!(root.contains(r#"failures="0""#), "{root}");
}

/// (e) Hung tests: one with `@pytest.mark.timeout(2)`, one under the
/// configured default; both killed with their process group, the rest of
/// the job continues, the run ends in bounded time.
#[test]
fn hung_tests_are_killed_by_their_timeouts() {
    let Some((ex, file)) = Example::with_unit_tests(
        &["timeout = \"5s\""],
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
    ) else {
        return;
    };
    // pytest-timeout's mark, registered as a project using it would
    // (`--strict-markers` is on); tollgate enforces it without the plugin.
    ex.edit(
        "pyproject.toml",
        "markers = [\n",
        "markers = [\n    \"timeout: per-test timeout in seconds\",\n",
    );
    let done = ex.run_expecting(&UNIT, 1);
    let run = &done.run;
    assert_eq!(run["complete"], true);
    for (test, name, limit) in [
        ("test_hangs_past_its_marked_timeout", "marked", 2.0),
        ("test_hangs_past_the_default_timeout", "default", 5.0),
    ] {
        let t = done.test(&format!("{file}::{test}"));
        assert_eq!(t["outcome"], "timed_out", "{t:#}");
        assert_eq!(attempt_outcomes(t), ["timeout"], "{t:#}");
        // On the console, where people look.
        let console = done.stdout();
        assert!(
            console.contains(&format!("TIMED OUT [unit] {file}::{test}")),
            "{console}"
        );
        let attempt = &t["attempts"][0];
        assert!(message(attempt).contains("timeout"), "{attempt:#}");
        let duration = attempt["duration"].as_f64().unwrap();
        assert!(
            duration >= limit && duration < limit + 3.0,
            "{test}: killed after {duration}s, limit {limit}s"
        );
        // The test process, the child it started and its whole group are gone.
        assert_no_orphans(&read_pids(&ex.base.join(format!("tmp/{name}.pids"))), name);
    }
    let after = done.test(&format!("{file}::test_runs_after_the_hung_ones"));
    assert_eq!(after["outcome"], "passed");
    assert_eq!(job(run, "unit")["counts"]["timed_out"], 2);
    // Bounded: the hung tests cost their timeouts (plus kill grace), not 600 s.
    assert!(done.took < Duration::from_secs(120), "took {:?}", done.took);
}

/// (f) A compile error in one of the example's crates: the build is
/// reported failed and the later stage (nightly's benchmark job) is skipped.
#[test]
fn a_failing_gating_build_stops_the_later_stages() {
    let Some(ex) = Example::new(&[]) else { return };
    ex.append("lib/kvbm/src/lib.rs", BROKEN_BUILD);
    // Eight GPUs: the stage-3 benchmark job is runnable here, so it is not
    // run only because the build failed.
    let done = ex.run_expecting(&["--pipeline", "nightly", "--gpus", "8"], 1);
    let run = &done.run;
    assert_eq!(run["status"], "failed");
    let jobs = run["jobs"].as_array().unwrap();
    // The jobs that build Rust report the build failure with the compiler's error.
    let builders: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["status"] == "failed" && reports_compile_error(j))
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
    let rows = done.rows();
    for j in later {
        assert_never_started(j, &rows);
        assert!(j["reason"].as_str().is_some_and(|r| !r.is_empty()), "{j:#}");
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
    ex.edit(
        "tollgate.toml",
        r#"jobs = ["lint", "unit", "integration_0", "integration_1", "e2e_0", "e2e_1"]"#,
        r#"jobs = ["lint", "build", "unit", "integration_0", "integration_1", "e2e_0", "e2e_1"]"#,
    );
    ex.append(
        "tollgate.toml",
        "\n[jobs.build]\ndescription = \"Build every crate\"\nstage = 1\ngating = true\n\
         commands = [\"cargo build --workspace --all-features --all-targets\"]\n",
    );
    ex.append("lib/llm/src/lib.rs", BROKEN_BUILD);
    let done = ex.run_expecting(&["--pipeline", "pr", "--gpus", "2"], 1);
    let run = &done.run;
    assert_eq!(run["status"], "failed");
    let build = job(run, "build");
    assert_eq!(build["status"], "failed", "{build:#}");
    assert_eq!(build["stage"], 1);
    assert!(
        reports_compile_error(build),
        "the compiler's error is in the report: {}",
        build["reason"]
    );
    assert_eq!(job(run, "lint")["status"], "passed");
    let rows = done.rows();
    assert_eq!(rows["build"][0], "FAILED");
    let later: Vec<&Value> = run["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["stage"].as_u64() > Some(1))
        .collect();
    assert!(later.len() >= 3, "{run:#}");
    for j in later {
        assert_never_started(j, &rows);
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
    let Some((ex, file)) = Example::with_unit_tests(
        &["retries = 1"],
        "secrets",
        "def test_prints_secrets_and_passes():\n    \
             print(\"stdout HF_TOKEN=\" + os.environ[\"HF_TOKEN\"])\n    \
             print(\"stderr MY_API_KEY=\" + os.environ[\"MY_API_KEY\"], file=sys.stderr)\n\n\n\
         def test_fails_with_secrets_in_its_message():\n    \
             token, key = os.environ[\"HF_TOKEN\"], os.environ[\"MY_API_KEY\"]\n    \
             print(f\"stdout {token} {key}\")\n    \
             print(f\"stderr {token} {key}\", file=sys.stderr)\n    \
             assert token == key, f\"token {token} is not key {key}\"\n",
    ) else {
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let token = format!("hf_e2e{nanos:x}{:x}", std::process::id());
    let key = format!("k3y{:x}Zq{nanos:x}", std::process::id());
    // Reports inside the project too: the tree-wide search covers them.
    let reports = Reports {
        json: ex.path("results.json"),
        junit: ex.path("results.xml"),
    };
    let mut cmd = ex.run_command(&UNIT, &reports);
    cmd.env("HF_TOKEN", &token).env("MY_API_KEY", &key);
    let done = ex.finish(cmd, &reports, 1);

    // The tests did print them, and tollgate kept that output (per failed
    // attempt, and pytest's own log), redacted.
    let passed = done.test(&format!("{file}::test_prints_secrets_and_passes"));
    assert_eq!(passed["outcome"], "passed");
    let failed = done.test(&format!("{file}::test_fails_with_secrets_in_its_message"));
    assert_eq!(attempt_outcomes(failed), ["failed", "failed"]);
    for attempt in failed["attempts"].as_array().unwrap() {
        assert!(
            message(attempt).contains("token [REDACTED] is not key [REDACTED]"),
            "{attempt:#}"
        );
        let output = attempt["output"].as_str().unwrap_or_default();
        for wanted in [
            "stdout [REDACTED] [REDACTED]",
            "stderr [REDACTED] [REDACTED]",
        ] {
            assert!(output.contains(wanted), "{attempt:#}");
        }
    }
    let logs: Vec<&str> = job(&done.run, "unit")["processes"]
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

    let (stdout, stderr) = (text(&done.out.stdout), text(&done.out.stderr));
    for secret in [&token, &key] {
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
    let Some((ex, file)) = Example::with_unit_tests(
        &[],
        "interrupt",
        "def test_a_finishes_before_the_signal():\n    assert True\n\n\n\
         def test_b_sleeps_until_killed():\n    \
             child = subprocess.Popen([\"sleep\", \"600\"])\n    \
             path = os.path.join(os.environ[\"E2E_STATE_DIR\"], \"sleeper.pids\")\n    \
             with open(path + \".tmp\", \"w\") as f:\n        \
                 f.write(f\"pid={os.getpid()}\\npgid={os.getpgid(0)}\\nchild={child.pid}\\n\")\n    \
             os.replace(path + \".tmp\", path)\n    \
             time.sleep(600)\n",
    ) else {
        return;
    };
    git_commit_all(&ex.root, "example");
    let reports = ex.reports();
    let stopped = ex.interrupt_when(
        ex.run_command(&UNIT, &reports),
        &ex.base.join("tmp/sleeper.pids"),
        signal,
    );
    let what = format!("SIG{signal}");
    stopped.assert_prompt_exit(&what);
    // No orphan: the test process, its child and its whole group are gone.
    assert_no_orphans(&stopped.pids, &what);

    // Partial results, marked incomplete, with the test finished before.
    let run = ex.json("run.json");
    assert_eq!(run["complete"], false, "{run:#}");
    assert_eq!(run["status"], "interrupted");
    let finished = format!("{file}::test_a_finishes_before_the_signal");
    assert_eq!(test_report(&run, &finished)["outcome"], "passed");
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
    let junit = junit_attempts(&reports.junit);
    assert!(junit
        .iter()
        .any(|(id, o, _)| *id == junit_id(&finished) && *o == Outcome::Passed));
    // The store has the run, marked incomplete (never a baseline).
    let runs = ex.json_output(&["history", "--format", "json"]);
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
/// test's child that ignores SIGTERM are gone, the Python tests that finished
/// are kept, the cut-off test is no result.
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
    let reports = ex.reports();
    let stopped = ex.interrupt_when(
        ex.run_command(&["--pipeline", "pr", "--job", "integration_0"], &reports),
        &ex.base.join("tmp/rust-sleeper.pids"),
        "INT",
    );
    stopped.assert_prompt_exit("SIGINT");
    let test = stopped.pids["pid"];
    assert_gone(test, "the test");
    assert_gone(
        stopped.pids["child"],
        "the test's SIGTERM-ignoring child (an orphan)",
    );
    // Its parent was nextest: gone too, with the test's own group.
    let nextest = stopped.test_parent;
    assert!(nextest > 1, "no parent recorded");
    assert_gone(nextest, "nextest");
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
