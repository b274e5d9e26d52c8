//! The pytest runner.
//!
//! pytest runs in the configured interpreter with the selected node ids in an
//! args file (`pytest @file`, so no command line overflows). A small plugin
//! shipped here ([`WATCHDOG_PLUGIN`]) writes one JSON line as each test
//! starts and one with its result (worst phase, duration, and for failures
//! the message and captured output); those lines are the results, read back
//! once pytest is done. There is no JUnit report: pytest's `--junitxml` with
//! captured output, and parsing it back, cost more than the rest of tollgate
//! on a large suite (bench/run_overhead.py).
//!
//! Per-test timeouts do not need pytest-timeout: when the test that started
//! last runs past its timeout the whole process group is killed, that test
//! is recorded as a timeout, and the tests that had not run yet continue in a
//! new process.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde::Deserialize;
use tollgate_results::Outcome;

use crate::outcome::{wants_retry, Attempt, AttemptOutcome};
use crate::process::{display_argv, run_logged, StepContext, TestEvent};
use crate::progress::{ProgressEvent, ProgressTail};
use crate::spec::{PytestStep, TestSpec};
use crate::step::{fold_attempts, spec_id_for, StepFailure, StepResult};
use crate::supervise::StopReason;

/// The watchdog plugin's source; written as `tollgate_watchdog.py`.
pub const WATCHDOG_PLUGIN: &str = include_str!("watchdog.py");
const PLUGIN_MODULE: &str = "tollgate_watchdog";

/// The argv of one pytest invocation (pure).
pub fn pytest_argv(step: &PytestStep, args_file: &Path) -> Vec<String> {
    let mut argv = vec![
        step.python.to_string_lossy().into_owned(),
        "-m".to_string(),
        "pytest".to_string(),
        "-p".to_string(),
        PLUGIN_MODULE.to_string(),
    ];
    for plugin in &step.plugins {
        argv.push("-p".to_string());
        argv.push(plugin.module.clone());
    }
    argv.extend(step.extra_args.iter().cloned());
    argv.push(format!("@{}", args_file.display()));
    argv
}

/// Runs the step: every test once, then failed ones again up to their retries.
pub fn run(step: &PytestStep, ctx: &StepContext<'_>) -> StepResult {
    let mut result = StepResult::default();
    let plugin_dir = ctx.work_dir.join("pytest-plugin");
    let written = std::fs::create_dir_all(&plugin_dir).and_then(|()| {
        std::fs::write(
            plugin_dir.join(format!("{PLUGIN_MODULE}.py")),
            WATCHDOG_PLUGIN,
        )?;
        for plugin in &step.plugins {
            std::fs::write(
                plugin_dir.join(format!("{}.py", plugin.module)),
                &plugin.source,
            )?;
        }
        Ok(())
    });
    if let Err(e) = written {
        result.failure = Some(StepFailure::Infrastructure(format!(
            "cannot write the pytest plugin into {}: {e}",
            plugin_dir.display()
        )));
        return result;
    }
    let specs: HashMap<&str, &TestSpec> = step.tests.iter().map(|t| (t.id.as_str(), t)).collect();
    // An id pytest would misread from the args file (a line break, a leading
    // `-` or `@`) would inject arguments: it is an error, never a line.
    let mut to_run: Vec<String> = Vec::new();
    for t in &step.tests {
        match tollgate_plan::pytest_arg_problem(&t.id) {
            None => to_run.push(t.id.clone()),
            Some(problem) => result.push_attempt(
                &t.id,
                Attempt {
                    number: 0,
                    outcome: AttemptOutcome::Error,
                    duration: 0.0,
                    message: Some(format!(
                        "not run: the test id cannot be passed to pytest safely: {problem}"
                    )),
                    output: None,
                },
            ),
        }
    }
    let mut invocation = 0u32;
    while !to_run.is_empty() {
        // One round: every test in `to_run` once, across as many processes as
        // per-test timeouts make necessary.
        let mut remaining = to_run;
        while !remaining.is_empty() {
            invocation += 1;
            let seg = match run_segment(step, ctx, &specs, &remaining, invocation, &plugin_dir) {
                Ok(seg) => seg,
                Err(message) => {
                    result.failure = Some(StepFailure::Infrastructure(message));
                    return result;
                }
            };
            result.push_process(seg.record);
            for (id, attempt) in seg.attempts {
                result.push_attempt(&id, attempt);
            }
            match seg.stopped {
                Some(StopReason::TestTimeout(timed_out)) => {
                    (ctx.on_test)(TestEvent::Finished(&timed_out, AttemptOutcome::Timeout));
                    result.push_attempt(
                        &timed_out,
                        Attempt {
                            number: 0,
                            outcome: AttemptOutcome::Timeout,
                            duration: specs
                                .get(timed_out.as_str())
                                .and_then(|s| s.timeout)
                                .map_or(0.0, |d| d.as_secs_f64()),
                            message: Some(
                                "killed by tollgate: the test ran past its timeout".to_string(),
                            ),
                            output: None,
                        },
                    );
                    remaining.retain(|id| !seg.reported.contains(id) && *id != timed_out);
                }
                Some(StopReason::Deadline) => {
                    result.failure = Some(StepFailure::Deadline);
                    return result;
                }
                Some(StopReason::Interrupted) => {
                    result.failure = Some(StepFailure::Interrupted);
                    return result;
                }
                None => {
                    if let Some(message) = seg.infrastructure {
                        result.failure = Some(StepFailure::Infrastructure(message));
                        return result;
                    }
                    for id in remaining.iter().filter(|id| !seg.reported.contains(*id)) {
                        let attempt = Attempt {
                            number: 0,
                            outcome: AttemptOutcome::Missing,
                            duration: 0.0,
                            message: Some(
                                "pytest did not report this test (not collected?)".to_string(),
                            ),
                            output: None,
                        };
                        result.push_attempt(id, attempt);
                    }
                    remaining.clear();
                }
            }
        }
        to_run = step
            .tests
            .iter()
            .filter(|t| tollgate_plan::pytest_arg_problem(&t.id).is_none())
            .filter(|t| {
                wants_retry(
                    result.attempts.get(&t.id).map_or(&[][..], Vec::as_slice),
                    t.retries,
                )
            })
            .map(|t| t.id.clone())
            .collect();
    }
    result
}

/// What one pytest process produced.
struct Segment {
    attempts: Vec<(String, Attempt)>,
    /// Selected ids with at least one result.
    reported: HashSet<String>,
    stopped: Option<StopReason>,
    record: crate::process::ProcessRecord,
    /// pytest ran but produced no report: missing pytest, bad interpreter...
    infrastructure: Option<String>,
}

fn run_segment(
    step: &PytestStep,
    ctx: &StepContext<'_>,
    specs: &HashMap<&str, &TestSpec>,
    ids: &[String],
    invocation: u32,
    plugin_dir: &Path,
) -> Result<Segment, String> {
    let args_file = ctx.work_dir.join(format!("pytest-{invocation}.args"));
    let progress = ctx.work_dir.join(format!("pytest-{invocation}.progress"));
    let log = ctx.work_dir.join(format!("pytest-{invocation}.log"));
    let mut listing = ids.join("\n");
    listing.push('\n');
    std::fs::write(&args_file, listing)
        .map_err(|e| format!("cannot write {}: {e}", args_file.display()))?;

    let argv = pytest_argv(step, &args_file);
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    let pythonpath = match std::env::var_os("PYTHONPATH") {
        Some(existing) if !existing.is_empty() => {
            let mut joined = plugin_dir.as_os_str().to_owned();
            joined.push(":");
            joined.push(existing);
            joined
        }
        _ => plugin_dir.as_os_str().to_owned(),
    };
    command.env("PYTHONPATH", pythonpath);
    command.env("TOLLGATE_PROGRESS_FILE", &progress);
    command.envs(step.env.iter().map(|(k, v)| (k, v)));

    let selected: HashSet<String> = ids.iter().cloned().collect();
    let mut tail = ProgressTail::new(&progress);
    let mut current: Option<(String, Instant)> = None;
    let ran = run_logged(ctx, command, display_argv(&argv), &log, |now| {
        for event in tail.poll() {
            ctx.pytest_event(&event);
            if let ProgressEvent::Start { id } = event {
                current = Some((id, now));
            }
        }
        let (id, started) = current.as_ref()?;
        let spec_id = spec_id_for(id, &selected)?;
        let limit = specs.get(spec_id).and_then(|s| s.timeout)?;
        (now.duration_since(*started) > limit).then(|| StopReason::TestTimeout(spec_id.to_string()))
    })
    .map_err(|e| {
        format!(
            "cannot run the Python interpreter {}: {e}\n\
             set `[run] python = \"/path/to/python\"` (or `[run] venv`) in tollgate.toml, \
             or create {}/.venv with pytest in it",
            argv[0],
            ctx.root.display()
        )
    })?;
    // The last test's result is written at the end of the session.
    for event in tail.poll() {
        ctx.pytest_event(&event);
    }

    let plugin = read_plugin_lines(&progress);
    let mut by_spec: HashMap<String, Vec<Attempt>> = HashMap::new();
    for (id, attempt) in plugin.results {
        if let Some(spec_id) = spec_id_for(&id, &selected) {
            let attempt = Attempt {
                message: attempt.message.map(|m| ctx.redactor.redact_owned(m)),
                output: attempt.output.map(|o| ctx.redactor.redact_owned(o)),
                ..attempt
            };
            by_spec
                .entry(spec_id.to_string())
                .or_default()
                .push(attempt);
        }
    }
    // Selected tests in a module (or class) pytest could not collect: errors.
    for (id, message) in collect_errors(&plugin.collect_errors, ids, &by_spec) {
        let attempt = Attempt {
            number: 0,
            outcome: AttemptOutcome::Error,
            duration: 0.0,
            message: Some(ctx.redactor.redact_owned(message)),
            output: None,
        };
        by_spec.entry(id).or_default().push(attempt);
    }
    // Raw runner files may hold secrets; only redacted copies live on.
    for file in [&progress, &log] {
        let _ = std::fs::remove_file(file);
    }
    let reported: HashSet<String> = by_spec.keys().cloned().collect();
    let mut attempts: Vec<(String, Attempt)> = by_spec
        .into_iter()
        .filter_map(|(id, parts)| Some((id, fold_attempts(parts)?)))
        .collect();
    attempts.sort_by(|a, b| a.0.cmp(&b.0));
    let stopped = ran.finished.stopped.clone();
    let infrastructure =
        (stopped.is_none() && reported.is_empty() && !plugin.finished).then(|| {
            no_results_message(
                &step.python,
                ctx.root,
                &ran.finished.exit,
                &ran.record.log_tail,
            )
        });
    Ok(Segment {
        attempts,
        reported,
        stopped,
        record: ran.record,
        infrastructure,
    })
}

/// Why pytest produced nothing, with the fix when it is a missing pytest.
fn no_results_message(
    python: &Path,
    root: &Path,
    exit: &crate::supervise::Exit,
    log: &str,
) -> String {
    if log.contains("No module named pytest") {
        let python = python.display();
        let root = root.display();
        return format!(
            "pytest is not installed for {python}: install it with `{python} -m pip install pytest`\n\
             or create the project's venv, which tollgate uses when it exists:\n  \
             cd {root} && python3 -m venv .venv && .venv/bin/python -m pip install pytest\n\
             or point tollgate at an interpreter that has pytest: `[run] python = \"/path/to/python\"` \
             (or `[run] venv = \"path/to/venv\"`) in tollgate.toml"
        );
    }
    format!(
        "pytest produced no results ({exit}) with {}\n{}",
        python.display(),
        last_lines(log, 15)
    )
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub(crate) fn attempt_outcome(outcome: Outcome) -> AttemptOutcome {
    match outcome {
        Outcome::Passed => AttemptOutcome::Passed,
        Outcome::Failed => AttemptOutcome::Failed,
        Outcome::Error => AttemptOutcome::Error,
        Outcome::Skipped => AttemptOutcome::Skipped,
    }
}

/// One line of the plugin's progress file, read back once pytest is done
/// (`start` lines only matter while it runs).
#[derive(Debug, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum PluginLine {
    Start {},
    Result {
        id: String,
        when: String,
        outcome: String,
        #[serde(default)]
        duration: f64,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        output: Option<String>,
    },
    CollectError {
        id: String,
        #[serde(default)]
        message: Option<String>,
    },
    Finish {},
}

/// What the plugin reported for one pytest process.
#[derive(Debug, Default)]
struct PluginReport {
    /// One attempt per test that ran (pytest's node ids).
    results: Vec<(String, Attempt)>,
    /// `(collector node id, message)` of modules or classes that failed to collect.
    collect_errors: Vec<(String, String)>,
    /// The session ended normally: pytest ran, whatever it found.
    finished: bool,
}

fn read_plugin_lines(path: &Path) -> PluginReport {
    let bytes = std::fs::read(path).unwrap_or_default();
    parse_plugin_lines(&String::from_utf8_lossy(&bytes))
}

/// Parses the plugin's lines (pure); a line that is not one (torn by a kill) is skipped.
fn parse_plugin_lines(text: &str) -> PluginReport {
    let mut report = PluginReport::default();
    for line in text.lines() {
        let Ok(parsed) = serde_json::from_str::<PluginLine>(line) else {
            continue;
        };
        match parsed {
            PluginLine::Start {} => {}
            PluginLine::Result {
                id,
                when,
                outcome,
                duration,
                message,
                output,
            } => {
                let outcome = match (outcome.as_str(), when.as_str()) {
                    ("passed", _) => AttemptOutcome::Passed,
                    ("skipped", _) => AttemptOutcome::Skipped,
                    (_, "call") => AttemptOutcome::Failed,
                    _ => AttemptOutcome::Error,
                };
                let attempt = Attempt {
                    number: 0,
                    outcome,
                    duration,
                    message,
                    output,
                };
                report.results.push((id, attempt));
            }
            PluginLine::CollectError { id, message } => {
                report
                    .collect_errors
                    .push((id, message.unwrap_or_default()));
            }
            PluginLine::Finish {} => report.finished = true,
        }
    }
    report
}

/// Selected ids without a result that lie in a collector that failed: the
/// collector's error is theirs (pure).
fn collect_errors(
    errors: &[(String, String)],
    ids: &[String],
    reported: &HashMap<String, Vec<Attempt>>,
) -> Vec<(String, String)> {
    if errors.is_empty() {
        return Vec::new();
    }
    ids.iter()
        .filter(|id| !reported.contains_key(*id))
        .filter_map(|id| {
            let (collector, message) = errors.iter().find(|(collector, _)| {
                !collector.is_empty()
                    && (id.as_str() == collector
                        || id
                            .strip_prefix(collector.as_str())
                            .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('[')))
            })?;
            Some((
                id.clone(),
                format!("pytest could not collect {collector}:\n{message}"),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn argv_loads_the_plugin_and_reads_ids_from_a_file() {
        let step = PytestStep {
            python: PathBuf::from("/venv/bin/python"),
            tests: vec![TestSpec::new("t.py::a")],
            extra_args: vec!["-x".into()],
            plugins: Vec::new(),
            env: Vec::new(),
        };
        let argv = pytest_argv(&step, Path::new("/w/ids"));
        assert_eq!(
            argv,
            [
                "/venv/bin/python",
                "-m",
                "pytest",
                "-p",
                "tollgate_watchdog",
                "-x",
                "@/w/ids"
            ]
        );
    }

    #[test]
    fn plugin_results_distinguish_failures_from_errors() {
        let text = concat!(
            "{\"event\":\"start\",\"id\":\"a\"}\n",
            "{\"event\":\"result\",\"id\":\"a\",\"when\":\"call\",\"outcome\":\"failed\",",
            "\"duration\":0.1,\"message\":\"boom\",\"output\":\"printed\"}\n",
            "{\"event\":\"result\",\"id\":\"b\",\"when\":\"setup\",\"outcome\":\"failed\",\"duration\":0.0}\n",
            "{\"event\":\"result\",\"id\":\"c\",\"when\":\"setup\",\"outcome\":\"skipped\",\"duration\":0.0}\n",
            "{\"event\":\"result\",\"id\":\"d\",\"when\":\"call\",\"outcome\":\"passed\",\"duration\":2.5}\n",
            "{\"event\":\"result\",\"id\":\"e\",\"when\":\"call\",\"outc",
        );
        let report = parse_plugin_lines(text);
        let got: Vec<(&str, AttemptOutcome)> = report
            .results
            .iter()
            .map(|(id, a)| (id.as_str(), a.outcome))
            .collect();
        assert_eq!(
            got,
            [
                ("a", AttemptOutcome::Failed),
                ("b", AttemptOutcome::Error),
                ("c", AttemptOutcome::Skipped),
                ("d", AttemptOutcome::Passed)
            ]
        );
        let a = &report.results[0].1;
        assert_eq!(a.message.as_deref(), Some("boom"));
        assert_eq!(a.output.as_deref(), Some("printed"));
        assert_eq!(report.results[3].1.duration, 2.5);
        // No `finish` line: the session did not end normally.
        assert!(!report.finished);
        assert!(parse_plugin_lines("{\"event\":\"finish\",\"exitstatus\":5}\n").finished);
    }

    #[test]
    fn a_collection_error_is_the_error_of_the_selected_tests_under_it() {
        let errors = vec![(
            "tests/test_b.py".to_string(),
            "ImportError: nope".to_string(),
        )];
        let ids: Vec<String> = [
            "tests/test_a.py::t",
            "tests/test_b.py::t",
            "tests/test_b.py::C::t[1]",
            "tests/test_bb.py::t",
        ]
        .map(String::from)
        .to_vec();
        let reported = HashMap::from([("tests/test_a.py::t".to_string(), vec![])]);
        let got = collect_errors(&errors, &ids, &reported);
        let got_ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(got_ids, ["tests/test_b.py::t", "tests/test_b.py::C::t[1]"]);
        assert!(got[0].1.contains("ImportError: nope"), "{got:?}");
    }
}
