//! End-to-end: the runner core on real pytest and cargo-nextest projects
//! (copied from `tests/fixtures/` into a temporary directory per test).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tollgate_run::{
    engine, to_json, write_junit, AttemptOutcome, EngineOptions, FinalOutcome, JobSpec, JobStatus,
    PytestStep, Quarantine, QuarantineEntry, Redactor, RunReport, RunSpec, RunStatus, RustStep,
    Step, TestSpec,
};

const PYTHON: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python");

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let dst = dir.path().join(name);
    copy_dir(&src, &dst);
    (dir, dst)
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" && entry.file_name() != "__pycache__" {
                copy_dir(&entry.path(), &to);
            }
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

fn spec(root: &Path, jobs: Vec<JobSpec>) -> RunSpec {
    RunSpec {
        pipeline: "pr".into(),
        root: root.to_path_buf(),
        jobs,
        fail_fast: true,
        parallel: 2,
        machine_gpus: 0,
        machine_provides: vec![],
    }
}

fn test(id: &str, retries: u32, timeout: Option<u64>) -> TestSpec {
    TestSpec {
        id: id.to_string(),
        timeout: timeout.map(Duration::from_secs),
        retries,
    }
}

fn pytest_job(name: &str, tests: Vec<TestSpec>, env: Vec<(String, String)>) -> JobSpec {
    let mut job = JobSpec::new(name, 2);
    job.env = env;
    job.steps = vec![Step::Pytest(PytestStep {
        python: PathBuf::from(PYTHON),
        tests,
        extra_args: vec![],
        plugins: vec![],
        env: vec![],
    })];
    job
}

fn rust_job(name: &str, tests: Vec<TestSpec>, target: &Path) -> JobSpec {
    let mut job = JobSpec::new(name, 2);
    job.env = vec![("CARGO_TARGET_DIR".into(), target.display().to_string())];
    job.steps = vec![Step::Rust(RustStep {
        workspace: String::new(),
        tests,
        cargo_args: vec![],
        force_cargo_test: false,
    })];
    job
}

fn run_with(spec: &RunSpec, quarantine: &Quarantine, redactor: &Redactor) -> (RunReport, String) {
    let lines = std::sync::Mutex::new(String::new());
    let progress = |event: &tollgate_run::RunEvent| {
        if let Some(line) = tollgate_run::plain_line(event) {
            let mut l = lines.lock().unwrap();
            l.push_str(&line);
            l.push('\n');
        }
    };
    let opts = EngineOptions::new(quarantine, redactor, &progress);
    let report = engine::run(spec, &opts);
    let printed = lines.into_inner().unwrap();
    (report, printed)
}

fn run_plain(spec: &RunSpec) -> RunReport {
    run_with(spec, &Quarantine::default(), &Redactor::default()).0
}

fn outcome<'r>(report: &'r RunReport, id: &str) -> &'r tollgate_run::TestReport {
    report
        .jobs
        .iter()
        .flat_map(|j| &j.tests)
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("no result for {id}: {report:#?}"))
}

fn counter_env(dir: &Path) -> Vec<(String, String)> {
    vec![("FIXTURE_COUNTER_DIR".into(), dir.display().to_string())]
}

#[test]
fn a_passing_pipeline_passes_with_every_result_matched() {
    let (tmp, root) = fixture("pyproj");
    let (_rtmp, rroot) = fixture("rustproj");
    let py = pytest_job(
        "unit-py",
        vec![
            test("tests/test_pass.py::test_one", 0, None),
            // A function id stands for all its parametrized cases.
            test("tests/test_pass.py::test_param", 0, None),
            test("tests/test_pass.py::test_param[2]", 0, None),
        ],
        counter_env(tmp.path()),
    );
    let mut rs = rust_job(
        "unit-rs",
        vec![test("runfix tests::adds", 0, None)],
        &tmp.path().join("target"),
    );
    rs.stage = 3;
    let mut s = spec(&root, vec![py]);
    let report = run_plain(&s);
    assert_eq!(report.status, RunStatus::Passed, "{report:#?}");
    assert!(report.complete);
    let job = &report.jobs[0];
    assert_eq!(job.counts.passed, 3);
    assert!(job.resources.max_rss_kib > 0 && job.resources.user_secs > 0.0);
    assert_eq!(
        outcome(&report, "tests/test_pass.py::test_param")
            .attempts
            .len(),
        1
    );

    s.root = rroot;
    s.jobs = vec![rs];
    let report = run_plain(&s);
    assert_eq!(report.status, RunStatus::Passed, "{report:#?}");
    assert_eq!(
        outcome(&report, "runfix tests::adds").outcome,
        FinalOutcome::Passed
    );
}

#[test]
fn a_real_failure_fails_after_its_retries_keeping_every_attempt() {
    let (tmp, root) = fixture("pyproj");
    let py = pytest_job(
        "unit",
        vec![
            test("tests/test_fail.py::test_real_failure", 2, None),
            test("tests/test_pass.py::test_one", 2, None),
        ],
        counter_env(tmp.path()),
    );
    let report = run_plain(&spec(&root, vec![py]));
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.status.exit_code(), 1);
    let t = outcome(&report, "tests/test_fail.py::test_real_failure");
    assert_eq!(t.outcome, FinalOutcome::Failed);
    assert_eq!(t.attempts.len(), 3);
    for (i, a) in t.attempts.iter().enumerate() {
        assert_eq!(a.number, i as u32 + 1);
        assert_eq!(a.outcome, AttemptOutcome::Failed);
        assert!(
            a.message
                .as_deref()
                .unwrap_or("")
                .contains("arithmetic is broken"),
            "{a:?}"
        );
        assert!(
            a.output
                .as_deref()
                .unwrap_or("")
                .contains("about to fail for real"),
            "{a:?}"
        );
    }
    // The passing test ran once: retries are for failures only.
    assert_eq!(
        outcome(&report, "tests/test_pass.py::test_one")
            .attempts
            .len(),
        1
    );
    let junit = String::from_utf8(write_junit(&report).unwrap()).unwrap();
    assert_eq!(junit.matches("<rerunFailure").count(), 2, "{junit}");
    assert_eq!(junit.matches("<failure").count(), 1);
}

#[test]
fn a_test_failing_once_then_passing_is_flaky_not_passed() {
    let (tmp, root) = fixture("pyproj");
    let py = pytest_job(
        "unit",
        vec![test(
            "tests/test_flaky.py::test_fails_on_first_attempt",
            1,
            None,
        )],
        counter_env(tmp.path()),
    );
    let report = run_plain(&spec(&root, vec![py]));
    let t = outcome(&report, "tests/test_flaky.py::test_fails_on_first_attempt");
    assert_eq!(t.outcome, FinalOutcome::Flaky);
    let outcomes: Vec<AttemptOutcome> = t.attempts.iter().map(|a| a.outcome).collect();
    assert_eq!(outcomes, [AttemptOutcome::Failed, AttemptOutcome::Passed]);
    assert_eq!(report.jobs[0].status, JobStatus::PassedWithFlakes);
    assert_eq!(report.status, RunStatus::Passed);

    let json: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
    assert_eq!(
        json["tests"]["tests/test_flaky.py::test_fails_on_first_attempt"]["outcome"],
        "flaky"
    );
    assert_eq!(
        json["tests"]["tests/test_flaky.py::test_fails_on_first_attempt"]["attempts"],
        2
    );

    // Both attempts reach the history store, so its flaky query sees them.
    #[cfg(feature = "store")]
    assert_stored_attempts(&report, tmp.path());
}

#[cfg(feature = "store")]
fn assert_stored_attempts(report: &RunReport, dir: &Path) {
    let db = dir.join("history.db");
    let mut sink = tollgate_run::StoreSink {
        store: tollgate_store::Store::open(db.to_str().unwrap()).unwrap(),
        run: tollgate_store::RunMeta {
            run_key: "local-1".into(),
            pipeline: "pr".into(),
            started_at_ms: 1_000,
            ..Default::default()
        },
    };
    tollgate_run::ResultSink::record(&mut sink, report).unwrap();
    let history = sink
        .store
        .test_history("tests/test_flaky.py::test_fails_on_first_attempt", 10)
        .unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
}

#[test]
fn a_quarantined_failure_runs_but_does_not_fail_the_run() {
    let (tmp, root) = fixture("pyproj");
    let quarantine = Quarantine {
        entries: vec![QuarantineEntry {
            id: "tests/test_quarantined.py::*".into(),
            reason: "tracked upstream".into(),
            owner: Some("alice".into()),
            issue: Some("https://example.invalid/issues/1".into()),
            expires: Some("2999-01-01".into()),
        }],
    };
    let py = pytest_job(
        "unit",
        vec![
            test("tests/test_quarantined.py::test_known_broken", 1, None),
            test("tests/test_pass.py::test_one", 0, None),
        ],
        counter_env(tmp.path()),
    );
    let (report, _) = run_with(&spec(&root, vec![py]), &quarantine, &Redactor::default());
    let t = outcome(&report, "tests/test_quarantined.py::test_known_broken");
    assert_eq!(t.outcome, FinalOutcome::Quarantined);
    assert_eq!(t.attempts.len(), 2, "quarantined tests still run and retry");
    assert_eq!(t.quarantine_reason.as_deref(), Some("tracked upstream"));
    assert_eq!(report.jobs[0].counts.quarantined, 1);
    assert_eq!(report.status, RunStatus::Passed);
}

fn alive(pid: i32) -> bool {
    // A zombie is dead for our purposes: check /proc state too.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.split_whitespace().next() != Some("Z")),
        Err(_) => false,
    }
}

fn wait_dead(pid: i32) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    !alive(pid)
}

#[test]
fn a_hung_test_is_killed_by_its_timeout_and_the_rest_continue() {
    let (tmp, root) = fixture("pyproj");
    let pids = tempfile::tempdir().unwrap();
    let mut env = counter_env(tmp.path());
    env.push(("FIXTURE_PID_DIR".into(), pids.path().display().to_string()));
    let py = pytest_job(
        "unit",
        vec![
            test("tests/test_hang.py::test_hangs", 0, Some(1)),
            test("tests/test_hang.py::test_after_the_hang", 0, Some(30)),
        ],
        env,
    );
    let started = Instant::now();
    let report = run_plain(&spec(&root, vec![py]));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let hung = outcome(&report, "tests/test_hang.py::test_hangs");
    assert_eq!(hung.outcome, FinalOutcome::TimedOut);
    assert_eq!(hung.attempts[0].outcome, AttemptOutcome::Timeout);
    assert_eq!(
        outcome(&report, "tests/test_hang.py::test_after_the_hang").outcome,
        FinalOutcome::Passed
    );
    assert_eq!(
        report.jobs[0].processes.len(),
        2,
        "a second pytest continued after the kill"
    );
    for file in ["pytest.pid", "grandchild.pid"] {
        let pid: i32 = std::fs::read_to_string(pids.path().join(file))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(wait_dead(pid), "{file} {pid} survived");
    }
}

#[test]
fn nextest_enforces_rust_timeouts_and_reports_failures() {
    let (tmp, root) = fixture("rustproj");
    let rs = rust_job(
        "unit-rs",
        vec![
            test("runfix tests::sleeps", 0, Some(2)),
            test("runfix tests::fails", 1, None),
            test("runfix tests::adds", 0, None),
        ],
        &tmp.path().join("target"),
    );
    let started = Instant::now();
    let report = run_plain(&spec(&root, vec![rs]));
    assert!(started.elapsed() < Duration::from_secs(120));
    assert_eq!(
        outcome(&report, "runfix tests::adds").outcome,
        FinalOutcome::Passed
    );
    let sleeps = outcome(&report, "runfix tests::sleeps");
    assert_eq!(sleeps.outcome, FinalOutcome::TimedOut);
    assert_eq!(
        sleeps.attempts[0].outcome,
        AttemptOutcome::Timeout,
        "{sleeps:#?}"
    );
    let fails = outcome(&report, "runfix tests::fails");
    assert_eq!(fails.outcome, FinalOutcome::Failed);
    assert_eq!(fails.attempts.len(), 2, "{fails:#?}");
}

#[test]
fn a_failing_gating_build_stops_later_stages() {
    let (tmp, root) = fixture("rustproj");
    let mut build = JobSpec::new("build", 1);
    build.env = vec![(
        "CARGO_TARGET_DIR".into(),
        tmp.path().join("target").display().to_string(),
    )];
    build.steps = vec![Step::Shell {
        command: "cargo build --features broken".into(),
    }];
    let unit = rust_job(
        "unit",
        vec![test("runfix tests::adds", 0, None)],
        &tmp.path().join("target"),
    );
    let mut gpu = JobSpec::new("e2e_2", 1);
    gpu.gpus = 2;
    gpu.steps = vec![Step::Shell {
        command: "true".into(),
    }];
    let report = run_plain(&spec(&root, vec![build, unit, gpu]));
    assert_eq!(report.status, RunStatus::Failed);
    let by_name = |n: &str| report.jobs.iter().find(|j| j.name == n).unwrap();
    assert_eq!(by_name("build").status, JobStatus::Failed);
    assert!(by_name("build")
        .reason
        .as_deref()
        .unwrap()
        .contains("does not build, by design"));
    assert_eq!(by_name("unit").status, JobStatus::Skipped);
    assert!(by_name("unit")
        .reason
        .as_deref()
        .unwrap()
        .contains("gating job build failed"));
    assert_eq!(by_name("e2e_2").status, JobStatus::NotRunnable);
}

#[test]
fn a_missing_runner_is_an_infrastructure_error() {
    let (tmp, root) = fixture("pyproj");
    let mut job = pytest_job(
        "unit",
        vec![test("tests/test_pass.py::test_one", 0, None)],
        counter_env(tmp.path()),
    );
    if let Step::Pytest(p) = &mut job.steps[0] {
        p.python = PathBuf::from("/nonexistent/python");
    }
    let report = run_plain(&spec(&root, vec![job]));
    assert_eq!(report.jobs[0].status, JobStatus::InfrastructureError);
    assert_eq!(report.status.exit_code(), 3);

    // An interpreter without pytest: the report says how to set one up.
    let fake = tmp.path().join("python-without-pytest");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho '/usr/bin/python3: No module named pytest' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut job = pytest_job(
        "unit",
        vec![test("tests/test_pass.py::test_one", 0, None)],
        counter_env(tmp.path()),
    );
    if let Step::Pytest(p) = &mut job.steps[0] {
        p.python = fake.clone();
    }
    let report = run_plain(&spec(&root, vec![job]));
    assert_eq!(report.jobs[0].status, JobStatus::InfrastructureError);
    let reason = report.jobs[0].reason.as_deref().unwrap();
    let fix = format!("{} -m pip install pytest", fake.display());
    assert!(
        reason.contains("pytest is not installed") && reason.contains(&fix),
        "{reason}"
    );
    assert_eq!(report.status.exit_code(), 3);
    // The summary shows the whole message, the fix included, not its first line only.
    let summary = tollgate_run::summary_table(&report);
    for needle in [fix.as_str(), "python3 -m venv .venv", "[run] python = "] {
        assert!(summary.contains(needle), "{needle} not in:\n{summary}");
    }
}

#[test]
fn the_cargo_test_fallback_enforces_timeouts_and_matches_inventory_ids() {
    let (tmp, root) = fixture("rustproj");
    let mut rs = rust_job(
        "unit-rs",
        vec![
            test("runfix tests::sleeps", 0, Some(3)),
            test("runfix tests::fails", 1, None),
            test("runfix tests::adds", 0, None),
        ],
        &tmp.path().join("target"),
    );
    if let Step::Rust(r) = &mut rs.steps[0] {
        r.force_cargo_test = true;
    }
    let started = Instant::now();
    let (report, printed) = run_with(
        &spec(&root, vec![rs]),
        &Quarantine::default(),
        &Redactor::default(),
    );
    assert!(
        started.elapsed() < Duration::from_secs(200),
        "took {:?}",
        started.elapsed()
    );
    let job = &report.jobs[0];
    assert!(
        job.processes
            .iter()
            .all(|p| p.command.starts_with("cargo test")),
        "{:?}",
        job.processes.iter().map(|p| &p.command).collect::<Vec<_>>()
    );
    let sleeps = outcome(&report, "runfix tests::sleeps");
    assert_eq!(sleeps.outcome, FinalOutcome::TimedOut);
    assert_eq!(sleeps.attempts.len(), 1);
    assert_eq!(
        sleeps.attempts[0].outcome,
        AttemptOutcome::Timeout,
        "{sleeps:#?}"
    );
    let fails = outcome(&report, "runfix tests::fails");
    assert_eq!(fails.outcome, FinalOutcome::Failed);
    assert_eq!(fails.attempts.len(), 2, "{fails:#?}");
    assert_eq!(
        outcome(&report, "runfix tests::adds").outcome,
        FinalOutcome::Passed
    );
    // Every result is one of the selected ids, each exactly once.
    let ids: Vec<&str> = job.tests.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "runfix tests::sleeps",
            "runfix tests::fails",
            "runfix tests::adds"
        ]
    );
    assert!(
        printed.contains("[unit-rs] TIMEOUT runfix tests::sleeps (attempt 1)"),
        "{printed}"
    );
}

#[test]
fn a_suite_over_its_budget_is_reported() {
    let (tmp, root) = fixture("pyproj");
    let mut py = pytest_job(
        "unit",
        vec![test("tests/test_pass.py::test_one", 0, None)],
        counter_env(tmp.path()),
    );
    // Starting pytest alone takes longer than this.
    py.budget = Some(tollgate_run::Budget {
        name: "unit".into(),
        limit: Duration::from_millis(1),
    });
    py.test_budgets = vec![tollgate_run::TestBudget {
        name: "per_test".into(),
        limit: Duration::from_secs(60),
        tests: vec!["tests/test_pass.py::test_one".into()],
    }];
    let (report, printed) = run_with(
        &spec(&root, vec![py]),
        &Quarantine::default(),
        &Redactor::default(),
    );
    assert_eq!(
        report.status,
        RunStatus::Passed,
        "budgets report, they do not fail the run"
    );
    let budget = report.jobs[0].budget.as_ref().unwrap();
    assert!(budget.exceeded && budget.used_secs > 0.001, "{budget:?}");
    assert!(report.jobs[0].over_budget_tests.is_empty());
    assert!(tollgate_run::summary_table(&report).contains("over budget `unit`"));
    assert!(printed.contains("over its budget"), "{printed}");
    let json: serde_json::Value = serde_json::from_str(&to_json(&report)).unwrap();
    assert_eq!(json["jobs"][0]["budget"]["exceeded"], true);
}

#[test]
fn a_planted_secret_appears_nowhere() {
    let (tmp, root) = fixture("pyproj");
    let secret = "hf_PLANTEDsecret0123456789";
    let mut env = counter_env(tmp.path());
    env.push(("HF_TOKEN".into(), secret.into()));
    let names: Vec<String> = tollgate_run::DEFAULT_SECRET_ENV
        .iter()
        .map(|s| s.to_string())
        .collect();
    let redactor = Redactor::new(&names, [("HF_TOKEN", secret)], &[]).unwrap();
    let py = pytest_job(
        "unit",
        vec![test("tests/test_secret.py::test_leaks_a_secret", 1, None)],
        env,
    );
    let (report, printed) = run_with(&spec(&root, vec![py]), &Quarantine::default(), &redactor);
    let t = outcome(&report, "tests/test_secret.py::test_leaks_a_secret");
    assert_eq!(t.outcome, FinalOutcome::Failed);
    // The output was captured (and redacted), not dropped.
    assert!(
        t.attempts[0]
            .output
            .as_deref()
            .unwrap_or("")
            .contains("stdout has [REDACTED]"),
        "{t:#?}"
    );
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("results.json"), to_json(&report)).unwrap();
    std::fs::write(out.join("junit.xml"), write_junit(&report).unwrap()).unwrap();
    std::fs::write(
        out.join("summary.txt"),
        tollgate_run::summary_table(&report),
    )
    .unwrap();
    std::fs::write(out.join("progress.txt"), &printed).unwrap();
    let mut leaks = Vec::new();
    grep_tree(tmp.path(), secret, &mut leaks);
    assert!(leaks.is_empty(), "secret found in {leaks:?}");
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("[REDACTED]"), "{junit}");
}

fn grep_tree(dir: &Path, needle: &str, hits: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            grep_tree(&path, needle, hits);
        } else if let Ok(bytes) = std::fs::read(&path) {
            if String::from_utf8_lossy(&bytes).contains(needle) {
                hits.push(path);
            }
        }
    }
}

/// Re-executed by [`sigterm_mid_run_stops_children_and_writes_partial_results`]
/// as a separate process (a stand-in for `tollgate run`); a no-op otherwise.
#[test]
fn child_entry() {
    let Ok(root) = std::env::var("TOLLGATE_RUN_CHILD_ROOT") else {
        return;
    };
    let out = std::env::var("TOLLGATE_RUN_CHILD_JSON").unwrap();
    let pids = std::env::var("FIXTURE_PID_DIR").unwrap();
    tollgate_run::signals::install_handlers();
    let mut env = counter_env(Path::new(&pids));
    env.push(("FIXTURE_PID_DIR".into(), pids));
    let job = pytest_job(
        "unit",
        vec![
            test("tests/test_pass.py::test_one", 0, None),
            test("tests/test_hang.py::test_hangs", 0, Some(600)),
        ],
        env,
    );
    let later = pytest_job(
        "later",
        vec![test("tests/test_pass.py::test_one", 0, None)],
        vec![],
    );
    let mut later = later;
    later.stage = 3;
    let report = run_plain(&spec(Path::new(&root), vec![job, later]));
    std::fs::write(out, to_json(&report)).unwrap();
}

#[test]
fn sigterm_mid_run_stops_children_and_writes_partial_results() {
    let (_tmp, root) = fixture("pyproj");
    let pids = tempfile::tempdir().unwrap();
    let json = pids.path().join("results.json");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
        .env("TOLLGATE_RUN_CHILD_ROOT", &root)
        .env("TOLLGATE_RUN_CHILD_JSON", &json)
        .env("FIXTURE_PID_DIR", pids.path())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let grandchild_file = pids.path().join("grandchild.pid");
    let until = Instant::now() + Duration::from_secs(60);
    while !grandchild_file.exists() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(grandchild_file.exists(), "the hanging test never started");
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: plain kill(2) on a child we spawned.
    unsafe {
        libc_kill(child.id() as i32, 15);
    }
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "the runner process itself should exit cleanly: {status:?}"
    );
    for file in ["pytest.pid", "grandchild.pid"] {
        let pid: i32 = std::fs::read_to_string(pids.path().join(file))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(wait_dead(pid), "{file} {pid} survived the interrupt");
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["complete"], false);
    assert_eq!(v["status"], "interrupted");
    assert_eq!(v["jobs"][0]["status"], "incomplete");
    assert_eq!(v["jobs"][1]["status"], "skipped");
    // The test that finished before the signal is kept.
    assert_eq!(
        v["tests"]["tests/test_pass.py::test_one"]["outcome"],
        "passed"
    );
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn tests_of_a_failed_rust_build_are_not_run_and_the_compiler_error_is_shown() {
    let (tmp, root) = fixture("rustproj");
    let target = tmp.path().join("target");
    let mut nextest = rust_job("unit", vec![test("runfix tests::adds", 0, None)], &target);
    let mut fallback = rust_job(
        "unit_cargo_test",
        vec![test("runfix tests::adds", 0, None)],
        &target,
    );
    for (job, force) in [(&mut nextest, false), (&mut fallback, true)] {
        // Not gating: neither may cancel the other.
        job.gating = false;
        job.steps = vec![Step::Rust(RustStep {
            workspace: String::new(),
            tests: vec![test("runfix tests::adds", 0, None)],
            cargo_args: vec!["--features".into(), "broken".into()],
            force_cargo_test: force,
        })];
    }
    let report = run_plain(&spec(&root, vec![nextest, fallback]));
    assert_eq!(report.status, RunStatus::Failed);
    for job in &report.jobs {
        assert_eq!(job.status, JobStatus::Failed, "{job:#?}");
        let t = &job.tests[0];
        assert_eq!(t.outcome, FinalOutcome::NotRun, "{}: {t:#?}", job.name);
        assert_eq!(job.counts.not_run, 1);
        assert_eq!(job.counts.failed, 0);
        let reason = job.reason.as_deref().unwrap_or_default();
        assert!(
            reason.starts_with("the Rust test build failed\n"),
            "{reason}"
        );
        assert!(reason.contains("does not build, by design"), "{reason}");
        let details = tollgate_run::failures::job_details(job, &Default::default()).unwrap();
        assert!(details.contains("does not build, by design"), "{details}");
    }
}
