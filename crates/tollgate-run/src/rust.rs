//! The Rust runner: cargo-nextest with a filterset of exact test names and a
//! generated tool profile (JUnit path, retries, per-test slow-timeout with
//! `terminate-after`), or `cargo test` when nextest is not installed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use tollgate_results::junit::{parse_junit, IdStyle, JunitOptions};

use crate::outcome::{wants_retry, Attempt, AttemptOutcome};
use crate::process::{display_argv, run_logged, StepContext};
use crate::pytest::attempt_outcome;
use crate::spec::{RustStep, TestSpec};
use crate::step::{StepFailure, StepResult};
use crate::supervise::{Exit, StopReason};

/// The profile tollgate defines through `--tool-config-file` (tool profiles
/// must be prefixed with the tool's name).
pub const PROFILE: &str = "tollgate:run";

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

/// The tool config: JUnit report path, and per-test retries and timeouts as
/// overrides grouped by value (pure). For each setting nextest applies the
/// first override that matches and sets it, so the groups never conflict.
pub fn tool_config(tests: &[TestSpec], junit: &Path) -> String {
    let mut out = format!(
        "[profile.\"{PROFILE}\"]\nfail-fast = false\nretries = 0\n\n[profile.\"{PROFILE}\".junit]\npath = {}\nstore-success-output = false\nstore-failure-output = true\n",
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
    for (millis, group) in by_timeout {
        out.push_str(&format!(
            "\n[[profile.\"{PROFILE}\".overrides]]\nfilter = {}\nslow-timeout = {{ period = \"{millis}ms\", terminate-after = 1 }}\n",
            toml_string(&filterset(&group))
        ));
    }
    for (retries, group) in by_retries {
        out.push_str(&format!(
            "\n[[profile.\"{PROFILE}\".overrides]]\nfilter = {}\nretries = {retries}\n",
            toml_string(&filterset(&group))
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
    if let Err(e) = std::fs::write(&config, tool_config(&step.tests, &junit)) {
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
    // Build first, on its own: compile time is not test time (budgets), and
    // a build failure is reported as one, not as every test missing.
    let mut build_argv = argv.clone();
    build_argv.push("--no-run".to_string());
    let mut build = Command::new(&build_argv[0]);
    build.args(&build_argv[1..]);
    let build_log = ctx.work_dir.join("nextest-build.log");
    match run_logged(ctx, build, display_argv(&build_argv), &build_log, |_| None) {
        Ok(ran) => {
            let _ = std::fs::remove_file(&build_log);
            let stopped = ran.finished.stopped.clone();
            let ok = ran.finished.exit == Exit::Code(0);
            let tail = ran.record.log_tail.clone();
            result.build_secs += ran.record.resources.wall_secs;
            result.push_process(ran.record);
            match stopped {
                Some(StopReason::Interrupted) => {
                    result.failure = Some(StepFailure::Interrupted);
                    return result;
                }
                Some(StopReason::Deadline) => {
                    result.failure = Some(StepFailure::Deadline);
                    return result;
                }
                _ if tail.contains("no such command") => {
                    result.failure = Some(StepFailure::Infrastructure(
                        "cargo-nextest is not installed (cargo install cargo-nextest)".into(),
                    ));
                    return result;
                }
                _ if !ok => {
                    mark_missing(&mut result, &step.tests, "the test build failed");
                    result.failure = Some(StepFailure::CommandFailed(format!(
                        "the Rust test build failed\n{}",
                        last_lines(&tail, 20)
                    )));
                    return result;
                }
                _ => {}
            }
        }
        Err(e) => {
            result.failure = Some(StepFailure::Infrastructure(format!(
                "cannot run cargo nextest: {e}"
            )));
            return result;
        }
    }
    argv.extend([
        "--no-tests=pass".to_string(),
        "--tool-config-file".to_string(),
        format!("tollgate:{}", config.display()),
        "--profile".to_string(),
        PROFILE.to_string(),
        "-E".to_string(),
        filterset(&step.tests),
    ]);
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    let ran = match run_logged(ctx, command, display_argv(&argv), &log, |_| None) {
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
    result.push_process(ran.record);
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

/// Parses libtest's `test NAME ... ok|FAILED|ignored` lines (pure).
pub fn parse_libtest_output(text: &str) -> Vec<(String, AttemptOutcome)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, status) = rest.rsplit_once(" ... ")?;
            let outcome = match status.trim() {
                "ok" => AttemptOutcome::Passed,
                "FAILED" => AttemptOutcome::Failed,
                s if s.starts_with("ignored") => AttemptOutcome::Skipped,
                _ => return None,
            };
            Some((name.trim().to_string(), outcome))
        })
        .collect()
}

/// The fallback: `cargo test -- --exact NAMES`. libtest does not say which
/// binary a line came from, so a name selected in several binaries gets the
/// worst of their outcomes; per-test timeouts are not enforced (the job's
/// wall timeout is).
fn run_cargo_test(step: &RustStep, ctx: &StepContext<'_>) -> StepResult {
    let mut result = StepResult::default();
    let mut to_run: Vec<TestSpec> = step.tests.clone();
    let mut invocation = 0;
    while !to_run.is_empty() {
        invocation += 1;
        let mut names: Vec<&str> = to_run
            .iter()
            .filter_map(|t| split_id(&t.id).map(|(_, n)| n))
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut argv: Vec<String> = ["cargo", "test", "--workspace", "--no-fail-fast"]
            .map(String::from)
            .to_vec();
        argv.extend(step.cargo_args.iter().cloned());
        argv.push("--".to_string());
        argv.push("--exact".to_string());
        argv.extend(names.iter().map(|n| n.to_string()));
        let log = ctx.work_dir.join(format!("cargo-test-{invocation}.log"));
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        let ran = match run_logged(ctx, command, display_argv(&argv), &log, |_| None) {
            Ok(ran) => ran,
            Err(e) => {
                result.failure = Some(StepFailure::Infrastructure(format!(
                    "cannot run cargo test: {e}"
                )));
                return result;
            }
        };
        let full = crate::process::read_tail(&log, u64::MAX);
        let _ = std::fs::remove_file(&log);
        let mut by_name: HashMap<String, AttemptOutcome> = HashMap::new();
        for (name, outcome) in parse_libtest_output(&full) {
            let slot = by_name.entry(name).or_insert(outcome);
            if outcome.is_failure() {
                *slot = outcome;
            }
        }
        let stopped = ran.finished.stopped.clone();
        result.push_process(ran.record);
        for t in &to_run {
            let name = split_id(&t.id).map_or(t.id.as_str(), |(_, n)| n);
            let outcome = by_name
                .get(name)
                .copied()
                .unwrap_or(AttemptOutcome::Missing);
            result.push_attempt(
                &t.id,
                Attempt {
                    number: 0,
                    outcome,
                    duration: 0.0,
                    message: (outcome == AttemptOutcome::Missing)
                        .then(|| "cargo test did not report this test".to_string()),
                    output: None,
                },
            );
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
            _ => {}
        }
        to_run.retain(|t| {
            wants_retry(
                result.attempts.get(&t.id).map_or(&[][..], Vec::as_slice),
                t.retries,
            )
        });
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
    fn tool_config_has_junit_retries_and_timeouts() {
        let tests = [
            spec("p a", Some(5), 2),
            spec("p b", Some(5), 0),
            spec("p c", None, 1),
        ];
        let config = tool_config(&tests, Path::new("/tmp/w/j.xml"));
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
