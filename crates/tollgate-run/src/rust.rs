//! The Rust runner: cargo-nextest with a filterset of exact test names and a
//! generated tool profile (JUnit path, retries, per-test slow-timeout with
//! `terminate-after`), or `cargo test` when nextest is not installed (with
//! per-test timeouts enforced by tollgate: see [`LibtestWatch`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tollgate_results::junit::{parse_junit, IdStyle, JunitOptions};

use crate::outcome::{wants_retry, Attempt, AttemptOutcome};
use crate::process::{display_argv, run_logged, StepContext, TestEvent};
use crate::progress::LineTail;
use crate::pytest::attempt_outcome;
use crate::spec::{RustStep, TestSpec};
use crate::step::{StepFailure, StepResult};
use crate::supervise::{Exit, StopReason};

/// The profile tollgate defines through `--tool-config-file` (tool profiles
/// must be prefixed with the tool's name).
pub const PROFILE: &str = "tollgate:run";

/// nextest's exit code when building the tests failed.
const NEXTEST_BUILD_FAILED: i32 = 101;

/// Splits `<binary-id> <test name>`.
pub fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(' ')
}

/// A filterset selecting exactly these tests (pure).
pub fn filterset(tests: &[TestSpec]) -> String {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in tests {
        if let Some((binary, name)) = split_id(&t.id) {
            groups.entry(binary).or_default().push(name);
        }
    }
    if groups.is_empty() {
        return "none()".to_string();
    }
    groups
        .iter()
        .map(|(binary, names)| {
            let names: Vec<String> = names.iter().map(|n| format!("test(={n})")).collect();
            format!("(binary_id(={binary}) & ({}))", names.join(" | "))
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The longest filterset passed as a `-E` argument. Linux refuses a single
/// argument over 128 KiB (`MAX_ARG_STRLEN`) and every argument shares
/// `ARG_MAX`; a longer selection goes into the tool profile's
/// `default-filter` instead, which has no such limit.
pub const MAX_FILTERSET_ARG: usize = 32 * 1024;

/// The selection of exactly these tests as nextest receives it: the `-E`
/// arguments, and the profile's `default-filter` when the filterset is too
/// long for a command line (pure).
pub fn selection(tests: &[TestSpec]) -> (Vec<String>, Option<String>) {
    let filter = filterset(tests);
    if filter.len() <= MAX_FILTERSET_ARG {
        (vec!["-E".to_string(), filter], None)
    } else {
        (Vec::new(), Some(filter))
    }
}

/// The tool config: JUnit report path, the selection when it does not fit
/// a command line (`default_filter`), and per-test retries and timeouts as
/// overrides grouped by value (pure). For each setting nextest applies the
/// first override that matches and sets it, so the groups never conflict.
pub fn tool_config(tests: &[TestSpec], junit: &Path, default_filter: Option<&str>) -> String {
    let filter_line = default_filter
        .map(|f| format!("default-filter = {}\n", toml_string(f)))
        .unwrap_or_default();
    let mut out = format!(
        "[profile.\"{PROFILE}\"]\nfail-fast = false\nretries = 0\n{filter_line}\n[profile.\"{PROFILE}\".junit]\npath = {}\nstore-success-output = false\nstore-failure-output = true\n",
        toml_string(&junit.to_string_lossy())
    );
    let mut by_timeout: BTreeMap<u128, Vec<TestSpec>> = BTreeMap::new();
    let mut by_retries: BTreeMap<u32, Vec<TestSpec>> = BTreeMap::new();
    for t in tests {
        if let Some(limit) = t.timeout {
            by_timeout
                .entry(limit.as_millis().max(1))
                .or_default()
                .push(t.clone());
        }
        if t.retries > 0 {
            by_retries.entry(t.retries).or_default().push(t.clone());
        }
    }
    // A group holding every selected test needs no list: `all()` is the
    // same set (only selected tests run) and nextest matches it at once,
    // where a list of thousands of names is matched against every test.
    let group_filter = |group: &[TestSpec]| {
        if group.len() == tests.len() {
            "all()".to_string()
        } else {
            filterset(group)
        }
    };
    for (millis, group) in by_timeout {
        out.push_str(&format!(
            "\n[[profile.\"{PROFILE}\".overrides]]\nfilter = {}\nslow-timeout = {{ period = \"{millis}ms\", terminate-after = 1 }}\n",
            toml_string(&group_filter(&group))
        ));
    }
    for (retries, group) in by_retries {
        out.push_str(&format!(
            "\n[[profile.\"{PROFILE}\".overrides]]\nfilter = {}\nretries = {retries}\n",
            toml_string(&group_filter(&group))
        ));
    }
    out
}

/// nextest reports a timeout as a failure; one that ran as long as its
/// timeout (nextest kills it right after) is a timeout.
fn is_timeout(duration: f64, limit: Option<std::time::Duration>) -> bool {
    limit.is_some_and(|l| duration + 0.05 >= l.as_secs_f64())
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `cargo nextest` works here (checked once).
pub fn nextest_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("cargo")
            .args(["nextest", "--version"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

pub fn run(step: &RustStep, ctx: &StepContext<'_>) -> StepResult {
    if crate::process::find_program("cargo").is_none() {
        return StepResult {
            failure: Some(StepFailure::Infrastructure(
                "cargo is not on PATH".to_string(),
            )),
            ..StepResult::default()
        };
    }
    if step.workspace.is_empty() {
        return run_in_workspace(step, ctx);
    }
    // A nested workspace: cargo runs in its directory, and its reports and
    // logs go to a scratch directory of their own.
    let dir = ctx.root.join(&step.workspace);
    let work_dir = ctx
        .work_dir
        .join(format!("ws-{}", step.workspace.replace(['/', '\\'], "-")));
    if let Err(e) = std::fs::create_dir_all(&work_dir) {
        return StepResult {
            failure: Some(StepFailure::Infrastructure(format!(
                "cannot create {}: {e}",
                work_dir.display()
            ))),
            ..StepResult::default()
        };
    }
    let nested = StepContext {
        root: &dir,
        work_dir: &work_dir,
        ..*ctx
    };
    run_in_workspace(step, &nested)
}

fn run_in_workspace(step: &RustStep, ctx: &StepContext<'_>) -> StepResult {
    if !step.force_cargo_test && nextest_available() {
        run_nextest(step, ctx)
    } else {
        run_cargo_test(step, ctx)
    }
}

fn run_nextest(step: &RustStep, ctx: &StepContext<'_>) -> StepResult {
    let mut result = StepResult::default();
    let junit = ctx.work_dir.join("nextest-junit.xml");
    let config = ctx.work_dir.join("nextest-tool.toml");
    let log = ctx.work_dir.join("nextest.log");
    let (filter_args, default_filter) = selection(&step.tests);
    if let Err(e) = std::fs::write(
        &config,
        tool_config(&step.tests, &junit, default_filter.as_deref()),
    ) {
        result.failure = Some(StepFailure::Infrastructure(format!(
            "cannot write {}: {e}",
            config.display()
        )));
        return result;
    }
    let mut argv: Vec<String> = ["cargo", "nextest", "run", "--workspace"]
        .map(String::from)
        .to_vec();
    argv.extend(step.cargo_args.iter().cloned());
    argv.extend([
        "--no-tests=pass".to_string(),
        "--tool-config-file".to_string(),
        format!("tollgate:{}", config.display()),
        "--profile".to_string(),
        PROFILE.to_string(),
    ]);
    argv.extend(filter_args);
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    // One process builds and runs: a separate `--no-run` build check costs a
    // cargo start-up and fingerprint pass (~0.8 s on a 2,665-test workspace,
    // 5% of a 15 s suite). nextest's `Starting N tests` line ends the build
    // (compile time is not test time, for budgets), and its exit code 101
    // says the build failed. nextest's status lines are followed live for the
    // progress display; the results themselves come from its JUnit report.
    let mut tail = LineTail::new(&log);
    let mut summary_seen = false;
    let started = std::time::Instant::now();
    let mut build_done: Option<f64> = None;
    let ran = match run_logged(ctx, command, display_argv(&argv), &log, |_| {
        for line in tail.poll() {
            if build_done.is_none() && line.trim_start().starts_with("Starting ") {
                build_done = Some(started.elapsed().as_secs_f64());
            }
            if summary_seen {
                continue;
            }
            // The final status list repeats lines already seen.
            summary_seen = line.trim_start().starts_with("Summary [");
            if let Some((id, outcome)) = parse_nextest_status(&line) {
                (ctx.on_test)(TestEvent::Finished(id, outcome));
            }
        }
        None
    }) {
        Ok(ran) => ran,
        Err(e) => {
            result.failure = Some(StepFailure::Infrastructure(format!(
                "cannot run cargo nextest: {e}"
            )));
            return result;
        }
    };
    let stopped = ran.finished.stopped.clone();
    let exit = ran.finished.exit.clone();
    let log_tail = ran.record.log_tail.clone();
    // Until tests start it is a build; a run that never started tests spent
    // all of its time building (or failing to).
    result.build_secs += build_done.unwrap_or(ran.record.resources.wall_secs);
    result.push_process(ran.record);
    if stopped.is_none() && build_done.is_none() {
        if log_tail.contains("no such command") {
            result.failure = Some(StepFailure::Infrastructure(
                "cargo-nextest is not installed (cargo install cargo-nextest)".into(),
            ));
            return result;
        }
        if exit == Exit::Code(NEXTEST_BUILD_FAILED) {
            mark_not_run(&mut result, &step.tests);
            let errors = crate::failures::compiler_errors(&log_tail, 60)
                .unwrap_or_else(|| last_lines(&log_tail, 20));
            result.failure = Some(StepFailure::CommandFailed(format!(
                "the Rust test build failed\n{errors}"
            )));
            let _ = std::fs::remove_file(&junit);
            return result;
        }
    }
    let selected: HashSet<&str> = step.tests.iter().map(|t| t.id.as_str()).collect();
    let limits: HashMap<&str, Option<std::time::Duration>> = step
        .tests
        .iter()
        .map(|t| (t.id.as_str(), t.timeout))
        .collect();
    let parsed = File::open(&junit).ok().and_then(|f| {
        let options = JunitOptions {
            id_style: IdStyle::Nextest,
            ..JunitOptions::default()
        };
        parse_junit(BufReader::new(f), &options).ok()
    });
    let _ = std::fs::remove_file(&junit);
    for r in parsed.iter().flatten() {
        if !selected.contains(r.id.as_str()) {
            continue;
        }
        // A test the interrupt cut short (nextest reports it aborted by the
        // signal it passed on) never finished: no result, as with pytest.
        if stopped == Some(StopReason::Interrupted)
            && r.message
                .as_deref()
                .is_some_and(|m| m.contains("aborted with signal"))
        {
            continue;
        }
        let message = r
            .message
            .as_deref()
            .map(|m| ctx.redactor.redact_owned(m.to_string()));
        let timed_out = is_timeout(r.duration, limits.get(r.id.as_str()).copied().flatten());
        let output = match (&r.stdout, &r.stderr) {
            (Some(o), Some(e)) => Some(format!("{o}\n{e}")),
            (o, e) => o.clone().or_else(|| e.clone()),
        };
        let outcome = match attempt_outcome(r.outcome) {
            AttemptOutcome::Failed | AttemptOutcome::Error if timed_out => AttemptOutcome::Timeout,
            o => o,
        };
        result.push_attempt(
            &r.id,
            Attempt {
                number: 0,
                outcome,
                duration: r.duration,
                message,
                output: output.map(|o| ctx.redactor.redact_owned(o)),
            },
        );
    }
    match stopped {
        Some(StopReason::Interrupted) => result.failure = Some(StepFailure::Interrupted),
        Some(StopReason::Deadline) => result.failure = Some(StepFailure::Deadline),
        _ if parsed.is_none() => {
            // No report at all: the build failed or nextest could not start.
            if exit != Exit::Code(0) && !step.tests.is_empty() {
                mark_missing(
                    &mut result,
                    &step.tests,
                    "cargo nextest produced no report (build failure?)",
                );
                if log_tail.contains("error: no such command") {
                    result.failure = Some(StepFailure::Infrastructure(
                        "cargo-nextest is not installed".into(),
                    ));
                }
            }
        }
        _ => mark_missing(&mut result, &step.tests, "nextest did not report this test"),
    }
    result
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Tests of a build that failed: not run, not failed.
fn mark_not_run(result: &mut StepResult, tests: &[TestSpec]) {
    for t in tests {
        if !result.attempts.contains_key(&t.id) {
            result.push_attempt(
                &t.id,
                Attempt {
                    number: 0,
                    outcome: AttemptOutcome::NotRun,
                    duration: 0.0,
                    message: Some("not run: the test build failed".to_string()),
                    output: None,
                },
            );
        }
    }
}

fn mark_missing(result: &mut StepResult, tests: &[TestSpec], why: &str) {
    for t in tests {
        if !result.attempts.contains_key(&t.id) {
            result.push_attempt(
                &t.id,
                Attempt {
                    number: 0,
                    outcome: AttemptOutcome::Missing,
                    duration: 0.0,
                    message: Some(why.to_string()),
                    output: None,
                },
            );
        }
    }
}

/// One of nextest's status lines (`PASS [ 0.004s] (1/3) bin test`,
/// `TRY 2 FAIL [...] bin test`, `TIMEOUT [...] bin test`) as the test's id
/// and the attempt's outcome (pure). Skips, slow warnings and other lines
/// give `None`.
pub fn parse_nextest_status(line: &str) -> Option<(&str, AttemptOutcome)> {
    let mut rest = line.trim_start();
    if let Some(after) = rest.strip_prefix("TRY ") {
        rest = after.trim_start().split_once(' ')?.1.trim_start();
    }
    let (word, rest) = rest.split_once(' ')?;
    let outcome = match word {
        "PASS" | "LEAK" => AttemptOutcome::Passed,
        "FAIL" | "LEAK-FAIL" => AttemptOutcome::Failed,
        "TIMEOUT" => AttemptOutcome::Timeout,
        "ABORT" | "SIGSEGV" | "SIGABRT" | "SIGBUS" | "SIGILL" | "SIGFPE" | "SIGKILL"
        | "SIGTERM" => AttemptOutcome::Error,
        _ => return None,
    };
    let rest = rest
        .trim_start()
        .strip_prefix('[')?
        .split_once(']')?
        .1
        .trim();
    let rest = match rest.strip_prefix('(') {
        Some(counter) => counter.split_once(')')?.1.trim_start(),
        None => rest,
    };
    rest.contains(' ').then_some((rest, outcome))
}

/// Parses libtest's `test NAME ... ok|FAILED|ignored` lines (pure).
pub fn parse_libtest_output(text: &str) -> Vec<(String, AttemptOutcome)> {
    text.lines().filter_map(parse_libtest_line).collect()
}

fn parse_libtest_line(line: &str) -> Option<(String, AttemptOutcome)> {
    let rest = line.strip_prefix("test ")?;
    let (name, status) = rest.rsplit_once(" ... ")?;
    let outcome = match status.trim() {
        "ok" => AttemptOutcome::Passed,
        "FAILED" => AttemptOutcome::Failed,
        s if s.starts_with("ignored") => AttemptOutcome::Skipped,
        _ => return None,
    };
    Some((name.trim().to_string(), outcome))
}

/// Follows libtest's output while it runs. With `--test-threads=1` libtest
/// prints `test NAME ... ` when a test starts and the result when it ends,
/// so the test without a result yet is the one running: that is how the
/// `cargo test` fallback knows which test to blame when it kills the group
/// for a per-test timeout.
#[derive(Debug, Default)]
pub struct LibtestWatch {
    /// The test running now and since when.
    pub running: Option<(String, Instant)>,
    /// Results in order: name, outcome, seconds (measured from its start
    /// line when it was seen, else 0).
    pub finished: Vec<(String, AttemptOutcome, f64)>,
}

impl LibtestWatch {
    /// Takes new complete lines and the unfinished last line; returns how
    /// many results were added.
    pub fn feed(&mut self, lines: &[String], partial: &str, now: Instant) -> usize {
        let before = self.finished.len();
        for line in lines {
            if let Some((name, outcome)) = parse_libtest_line(line) {
                let secs = match &self.running {
                    Some((running, since)) if *running == name => {
                        now.duration_since(*since).as_secs_f64()
                    }
                    _ => 0.0,
                };
                if self.running.as_ref().is_some_and(|(r, _)| *r == name) {
                    self.running = None;
                }
                self.finished.push((name, outcome, secs));
            }
        }
        if let Some(name) = partial
            .strip_prefix("test ")
            .and_then(|r| r.strip_suffix(" ... "))
        {
            if self.running.as_ref().is_none_or(|(r, _)| r != name) {
                self.running = Some((name.to_string(), now));
            }
        }
        self.finished.len() - before
    }
}

/// The `cargo test` command line for these test names (pure). nextest's
/// `--run-ignored` (from `cargo.ignored` in the config) becomes libtest's
/// `--include-ignored` / `--ignored`.
pub fn cargo_test_argv(cargo_args: &[String], names: &[&str], serial: bool) -> Vec<String> {
    let mut argv: Vec<String> = ["cargo", "test", "--workspace", "--no-fail-fast"]
        .map(String::from)
        .to_vec();
    let mut libtest = vec!["--exact".to_string()];
    for arg in cargo_args {
        match arg.as_str() {
            "--run-ignored=all" => libtest.push("--include-ignored".to_string()),
            "--run-ignored=only" => libtest.push("--ignored".to_string()),
            "--run-ignored=default" => {}
            _ => argv.push(arg.clone()),
        }
    }
    if serial {
        libtest.push("--test-threads=1".to_string());
    }
    argv.push("--".to_string());
    argv.extend(libtest);
    argv.extend(names.iter().map(|n| n.to_string()));
    argv
}

/// The fallback: `cargo test -- --exact NAMES`. libtest does not say which
/// binary a line came from, so a name selected in several binaries gets the
/// worst of their outcomes. When a selected test has a timeout, tests run
/// one at a time (`--test-threads=1`) so that the running one is known: past
/// its timeout the process group is killed, the test recorded as timed out,
/// and the tests not yet run continue in a new `cargo test`.
fn run_cargo_test(step: &RustStep, ctx: &StepContext<'_>) -> StepResult {
    let mut result = StepResult::default();
    let serial = step.tests.iter().any(|t| t.timeout.is_some());
    let mut to_run: Vec<TestSpec> = step.tests.clone();
    let mut invocation = 0;
    while !to_run.is_empty() {
        // One round: every test in `to_run` once, over as many processes as
        // timeouts make necessary.
        let mut remaining = to_run;
        while !remaining.is_empty() {
            invocation += 1;
            let mut names: Vec<&str> = remaining
                .iter()
                .filter_map(|t| split_id(&t.id).map(|(_, n)| n))
                .collect();
            names.sort_unstable();
            names.dedup();
            let limits: HashMap<&str, Duration> = remaining
                .iter()
                .filter_map(|t| Some((split_id(&t.id)?.1, t.timeout?)))
                .fold(HashMap::new(), |mut m, (name, limit)| {
                    let e = m.entry(name).or_insert(limit);
                    *e = (*e).min(limit);
                    m
                });
            let argv = cargo_test_argv(&step.cargo_args, &names, serial);
            let log = ctx.work_dir.join(format!("cargo-test-{invocation}.log"));
            let mut command = Command::new(&argv[0]);
            command.args(&argv[1..]);
            // libtest prints bare names; the display shows selected ids.
            let id_of: HashMap<&str, &str> = remaining
                .iter()
                .filter_map(|t| Some((split_id(&t.id)?.1, t.id.as_str())))
                .collect();
            let shown = |name: &str| id_of.get(name).copied().unwrap_or(name).to_string();
            let mut tail = LineTail::new(&log);
            let mut watch = LibtestWatch::default();
            let ran = run_logged(ctx, command, display_argv(&argv), &log, |now| {
                let lines = tail.poll();
                let was_running = watch.running.as_ref().map(|(n, _)| n.clone());
                let added = watch.feed(&lines, tail.partial(), now);
                for (name, outcome, _) in &watch.finished[watch.finished.len() - added..] {
                    (ctx.on_test)(TestEvent::Finished(&shown(name), *outcome));
                }
                let (name, since) = watch.running.as_ref()?;
                if was_running.as_deref() != Some(name.as_str()) {
                    (ctx.on_test)(TestEvent::Started(&shown(name)));
                }
                let limit = limits.get(name.as_str())?;
                (now.duration_since(*since) > *limit).then(|| StopReason::TestTimeout(name.clone()))
            });
            let ran = match ran {
                Ok(ran) => ran,
                Err(e) => {
                    result.failure = Some(StepFailure::Infrastructure(format!(
                        "cannot run cargo test: {e}"
                    )));
                    return result;
                }
            };
            // The whole log, not only what the watch saw before the exit.
            let full = crate::process::read_tail(&log, u64::MAX);
            let _ = std::fs::remove_file(&log);
            let mut by_name: HashMap<String, (AttemptOutcome, f64)> = HashMap::new();
            let seen_secs: HashMap<&str, f64> = watch
                .finished
                .iter()
                .map(|(n, _, secs)| (n.as_str(), *secs))
                .collect();
            for (name, outcome) in parse_libtest_output(&full) {
                let secs = seen_secs.get(name.as_str()).copied().unwrap_or(0.0);
                let slot = by_name.entry(name).or_insert((outcome, secs));
                if outcome.is_failure() {
                    *slot = (outcome, secs);
                }
            }
            let stopped = ran.finished.stopped.clone();
            result.push_process(ran.record);
            if stopped.is_none() && by_name.is_empty() && full.contains("error: could not compile")
            {
                // The build failed: nothing ran.
                mark_not_run(&mut result, &remaining);
                let errors = crate::failures::compiler_errors(&full, 60)
                    .unwrap_or_else(|| last_lines(&full, 20));
                result.failure = Some(StepFailure::CommandFailed(format!(
                    "the Rust test build failed\n{errors}"
                )));
                return result;
            }
            let mut timed_out: Option<String> = None;
            for t in &remaining {
                let name = split_id(&t.id).map_or(t.id.as_str(), |(_, n)| n);
                let attempt = match by_name.get(name) {
                    Some(&(outcome, secs)) => Attempt {
                        number: 0,
                        outcome,
                        duration: secs,
                        message: None,
                        output: None,
                    },
                    None => match &stopped {
                        // The first selected test of that name without a
                        // result is the one that was running.
                        Some(StopReason::TestTimeout(running))
                            if running == name && timed_out.is_none() =>
                        {
                            timed_out = Some(t.id.clone());
                            (ctx.on_test)(TestEvent::Finished(&t.id, AttemptOutcome::Timeout));
                            Attempt {
                                number: 0,
                                outcome: AttemptOutcome::Timeout,
                                duration: t.timeout.map_or(0.0, |d| d.as_secs_f64()),
                                message: Some(
                                    "killed by tollgate: the test ran past its timeout".into(),
                                ),
                                output: None,
                            }
                        }
                        Some(_) => continue,
                        None => Attempt {
                            number: 0,
                            outcome: AttemptOutcome::Missing,
                            duration: 0.0,
                            message: Some("cargo test did not report this test".to_string()),
                            output: None,
                        },
                    },
                };
                result.push_attempt(&t.id, attempt);
            }
            match stopped {
                Some(StopReason::Interrupted) => {
                    result.failure = Some(StepFailure::Interrupted);
                    return result;
                }
                Some(StopReason::Deadline) => {
                    result.failure = Some(StepFailure::Deadline);
                    return result;
                }
                Some(StopReason::TestTimeout(_)) => {
                    // The rest of this round continues in a new process.
                    remaining.retain(|t| {
                        let name = split_id(&t.id).map_or(t.id.as_str(), |(_, n)| n);
                        !by_name.contains_key(name) && Some(&t.id) != timed_out.as_ref()
                    });
                    if timed_out.is_none() {
                        // Cannot happen (the watch only stops on a selected
                        // name); never loop forever on it.
                        remaining.clear();
                    }
                }
                None => remaining.clear(),
            }
        }
        to_run = step
            .tests
            .iter()
            .filter(|t| {
                wants_retry(
                    result.attempts.get(&t.id).map_or(&[][..], Vec::as_slice),
                    t.retries,
                )
            })
            .cloned()
            .collect();
    }
    result
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spec(id: &str, timeout: Option<u64>, retries: u32) -> TestSpec {
        TestSpec {
            id: id.to_string(),
            timeout: timeout.map(Duration::from_secs),
            retries,
        }
    }

    #[test]
    fn filterset_groups_exact_names_by_binary() {
        let tests = [
            spec("pkg::it a::b", None, 0),
            spec("pkg t::x", None, 0),
            spec("pkg::it c", None, 0),
            spec("no-space-id", None, 0),
        ];
        assert_eq!(
            filterset(&tests),
            "(binary_id(=pkg) & (test(=t::x))) | (binary_id(=pkg::it) & (test(=a::b) | test(=c)))"
        );
        assert_eq!(filterset(&[]), "none()");
    }

    #[test]
    fn a_selection_too_long_for_a_command_line_goes_into_the_profile() {
        let small = [spec("p a", None, 0)];
        assert_eq!(
            selection(&small),
            (
                vec!["-E".to_string(), "(binary_id(=p) & (test(=a)))".to_string()],
                None
            )
        );
        // 3,000 tests with long module paths: ~180 KB, over Linux's 128 KiB
        // limit for one argument.
        let many: Vec<TestSpec> = (0..3_000)
            .map(|i| {
                spec(
                    &format!("pkg::it some::deeply::nested::module::test_number_{i}"),
                    None,
                    0,
                )
            })
            .collect();
        let (args, default_filter) = selection(&many);
        assert!(args.is_empty());
        let filter = default_filter.expect("the filter moves into the profile");
        assert!(filter.len() > 128 * 1024);
        let config = tool_config(&many, Path::new("/tmp/w/j.xml"), Some(&filter));
        let parsed: toml::Value = toml::from_str(&config).unwrap();
        assert_eq!(
            parsed["profile"][PROFILE]["default-filter"].as_str(),
            Some(filter.as_str())
        );
        assert_eq!(filter, filterset(&many));
    }

    #[test]
    fn a_setting_shared_by_every_selected_test_applies_to_all() {
        let tests = [spec("p a", Some(5), 2), spec("p b", Some(5), 2)];
        let config = tool_config(&tests, Path::new("/tmp/w/j.xml"), None);
        let parsed: toml::Value = toml::from_str(&config).unwrap();
        let overrides = parsed["profile"][PROFILE]["overrides"].as_array().unwrap();
        assert_eq!(overrides.len(), 2);
        assert!(overrides
            .iter()
            .all(|o| o["filter"].as_str() == Some("all()")));
    }

    #[test]
    fn tool_config_has_junit_retries_and_timeouts() {
        let tests = [
            spec("p a", Some(5), 2),
            spec("p b", Some(5), 0),
            spec("p c", None, 1),
        ];
        let config = tool_config(&tests, Path::new("/tmp/w/j.xml"), None);
        let parsed: toml::Value = toml::from_str(&config).unwrap();
        let profile = &parsed["profile"][PROFILE];
        assert_eq!(profile["retries"].as_integer(), Some(0));
        assert_eq!(profile["junit"]["path"].as_str(), Some("/tmp/w/j.xml"));
        let overrides = profile["overrides"].as_array().unwrap();
        assert_eq!(overrides.len(), 3);
        assert_eq!(
            overrides[1]["filter"].as_str(),
            Some("(binary_id(=p) & (test(=c)))")
        );
        assert_eq!(overrides[1]["retries"].as_integer(), Some(1));
        assert_eq!(
            overrides[2]["filter"].as_str(),
            Some("(binary_id(=p) & (test(=a)))")
        );
        assert_eq!(overrides[2]["retries"].as_integer(), Some(2));
        assert_eq!(
            overrides[0]["filter"].as_str(),
            Some("(binary_id(=p) & (test(=a) | test(=b)))")
        );
        assert_eq!(
            overrides[0]["slow-timeout"]["period"].as_str(),
            Some("5000ms")
        );
        assert_eq!(
            overrides[0]["slow-timeout"]["terminate-after"].as_integer(),
            Some(1)
        );
    }

    #[test]
    fn nextest_status_lines() {
        let lines = [
            "        PASS [   0.006s] (1/2) runfix tests::adds",
            "  TRY 1 FAIL [   0.203s] (───) runfix tests::fails",
            "  TRY 2 FAIL [   0.160s] (2/2) runfix tests::fails",
            "     TIMEOUT [   2.003s] runfix::it tests::sleeps",
            "     SIGSEGV [   0.010s] runfix tests::crashes",
            "        SKIP [         ] (───) runfix tests::sleeps",
            "        SLOW [> 1.000s] runfix tests::sleeps",
            "     Summary [   0.244s] 2 tests run: 1 passed, 1 failed, 1 skipped",
            "    PASS is a word in test output",
        ];
        let parsed: Vec<_> = lines
            .iter()
            .filter_map(|l| parse_nextest_status(l))
            .collect();
        assert_eq!(
            parsed,
            [
                ("runfix tests::adds", AttemptOutcome::Passed),
                ("runfix tests::fails", AttemptOutcome::Failed),
                ("runfix tests::fails", AttemptOutcome::Failed),
                ("runfix::it tests::sleeps", AttemptOutcome::Timeout),
                ("runfix tests::crashes", AttemptOutcome::Error),
            ]
        );
    }

    #[test]
    fn libtest_watch_knows_the_running_test_and_times_results() {
        let t0 = Instant::now();
        let mut w = LibtestWatch::default();
        let lines = |ls: &[&str]| ls.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        assert_eq!(w.feed(&lines(&["running 2 tests"]), "test a ... ", t0), 0);
        assert_eq!(w.running.as_ref().map(|(n, _)| n.as_str()), Some("a"));
        let t1 = t0 + Duration::from_millis(1500);
        assert_eq!(w.feed(&lines(&["test a ... ok"]), "test b ... ", t1), 1);
        assert_eq!(w.finished[0].0, "a");
        assert!((w.finished[0].2 - 1.5).abs() < 1e-9);
        // b started at t1, not later: the start is kept while it runs.
        w.feed(&[], "test b ... ", t1 + Duration::from_secs(5));
        assert_eq!(
            w.running.as_ref().map(|(n, s)| (n.as_str(), *s)),
            Some(("b", t1))
        );
        w.feed(
            &lines(&["test b ... FAILED"]),
            "",
            t1 + Duration::from_secs(6),
        );
        assert_eq!(w.running, None);
        assert_eq!(w.finished[1].1, AttemptOutcome::Failed);
    }

    #[test]
    fn cargo_test_argv_translates_nextest_flags() {
        let args = [
            "--features".to_string(),
            "x,y".into(),
            "--run-ignored=all".into(),
        ];
        assert_eq!(
            cargo_test_argv(&args, &["a::b", "c"], true),
            [
                "cargo",
                "test",
                "--workspace",
                "--no-fail-fast",
                "--features",
                "x,y",
                "--",
                "--exact",
                "--include-ignored",
                "--test-threads=1",
                "a::b",
                "c"
            ]
        );
        let only = cargo_test_argv(&["--run-ignored=only".to_string()], &["t"], false);
        assert_eq!(only[4..], ["--", "--exact", "--ignored", "t"]);
    }

    #[test]
    fn libtest_lines() {
        let out = "running 3 tests\ntest a::b ... ok\ntest c ... FAILED\ntest d ... ignored, needs gpu\ntest result: FAILED\n";
        assert_eq!(
            parse_libtest_output(out),
            [
                ("a::b".to_string(), AttemptOutcome::Passed),
                ("c".to_string(), AttemptOutcome::Failed),
                ("d".to_string(), AttemptOutcome::Skipped)
            ]
        );
    }
}
