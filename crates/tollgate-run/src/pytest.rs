//! The pytest runner.
//!
//! pytest runs in the configured interpreter with the selected node ids in an
//! args file (`pytest @file`, so no command line overflows) and `--junitxml`.
//! Per-test timeouts do not need pytest-timeout: a small plugin shipped here
//! ([`WATCHDOG_PLUGIN`]) reports each test as it starts; when one runs past
//! its timeout the whole process group is killed, that test is recorded as a
//! timeout, and the tests that had not run yet continue in a new process.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use tollgate_results::junit::{parse_junit, IdStyle, JunitOptions, PytestIds};
use tollgate_results::Outcome;

use crate::outcome::{wants_retry, Attempt, AttemptOutcome};
use crate::process::{display_argv, run_logged, StepContext};
use crate::progress::{ProgressEvent, ProgressTail};
use crate::spec::{PytestStep, TestSpec};
use crate::step::{fold_attempts, spec_id_for, StepFailure, StepResult};
use crate::supervise::StopReason;

/// The watchdog plugin's source; written as `tollgate_watchdog.py`.
pub const WATCHDOG_PLUGIN: &str = include_str!("watchdog.py");
const PLUGIN_MODULE: &str = "tollgate_watchdog";

/// The argv of one pytest invocation (pure).
pub fn pytest_argv(step: &PytestStep, args_file: &Path, junit: &Path) -> Vec<String> {
    let mut argv = vec![
        step.python.to_string_lossy().into_owned(),
        "-m".to_string(),
        "pytest".to_string(),
        "-p".to_string(),
        PLUGIN_MODULE.to_string(),
        format!("--junitxml={}", junit.display()),
        // Captured output in the report, so a failure's output is kept per attempt.
        "-o".to_string(),
        "junit_logging=all".to_string(),
    ];
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
        )
    });
    if let Err(e) = written {
        result.failure = Some(StepFailure::Infrastructure(format!(
            "cannot write the pytest plugin into {}: {e}",
            plugin_dir.display()
        )));
        return result;
    }
    let specs: HashMap<&str, &TestSpec> = step.tests.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut to_run: Vec<String> = step.tests.iter().map(|t| t.id.clone()).collect();
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
    let junit = ctx.work_dir.join(format!("pytest-{invocation}.xml"));
    let progress = ctx.work_dir.join(format!("pytest-{invocation}.progress"));
    let log = ctx.work_dir.join(format!("pytest-{invocation}.log"));
    let mut listing = ids.join("\n");
    listing.push('\n');
    std::fs::write(&args_file, listing)
        .map_err(|e| format!("cannot write {}: {e}", args_file.display()))?;

    let argv = pytest_argv(step, &args_file, &junit);
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

    let selected: HashSet<String> = ids.iter().cloned().collect();
    let mut tail = ProgressTail::new(&progress);
    let mut events: Vec<ProgressEvent> = Vec::new();
    let mut current: Option<(String, Instant)> = None;
    let ran = run_logged(ctx, command, display_argv(&argv), &log, |now| {
        for event in tail.poll() {
            if let ProgressEvent::Start { id } = &event {
                current = Some((id.clone(), now));
            }
            events.push(event);
        }
        let (id, started) = current.as_ref()?;
        let spec_id = spec_id_for(id, &selected)?;
        let limit = specs.get(spec_id).and_then(|s| s.timeout)?;
        (now.duration_since(*started) > limit).then(|| StopReason::TestTimeout(spec_id.to_string()))
    })
    .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
    events.extend(tail.poll());

    let reported_results = match read_junit(&junit, ids) {
        Some(results) => results,
        None => results_from_progress(&events),
    };
    let mut by_spec: HashMap<String, Vec<Attempt>> = HashMap::new();
    for (id, attempt) in reported_results {
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
    // Raw runner files may hold secrets; only redacted copies live on.
    for file in [&junit, &progress, &log] {
        let _ = std::fs::remove_file(file);
    }
    let reported: HashSet<String> = by_spec.keys().cloned().collect();
    let mut attempts: Vec<(String, Attempt)> = by_spec
        .into_iter()
        .filter_map(|(id, parts)| Some((id, fold_attempts(parts)?)))
        .collect();
    attempts.sort_by(|a, b| a.0.cmp(&b.0));
    let stopped = ran.finished.stopped.clone();
    let infrastructure = (stopped.is_none()
        && reported.is_empty()
        && !junit_written(&ran.record.log_tail))
    .then(|| {
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
        return format!(
            "pytest is not installed for {python}. Set it up with:\n  cd {root} && python3 -m venv .venv && .venv/bin/pip install pytest\n\
             (tollgate uses `.venv/bin/python` when it exists; or set [run] python or venv in tollgate.toml)",
            python = python.display(),
            root = root.display()
        );
    }
    format!(
        "pytest produced no results (exit {exit:?}) with {}\n{}",
        python.display(),
        last_lines(log, 15)
    )
}

/// pytest says where it wrote the report; if it did, the run itself worked
/// (the selection may simply have matched nothing).
fn junit_written(log: &str) -> bool {
    log.contains("generated xml file")
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn read_junit(path: &Path, ids: &[String]) -> Option<Vec<(String, Attempt)>> {
    let file = File::open(path).ok()?;
    let known_files = ids
        .iter()
        .map(|id| id.split("::").next().unwrap_or(id).to_string())
        .collect();
    let options = JunitOptions {
        id_style: IdStyle::Pytest,
        pytest: PytestIds {
            junit_prefix: None,
            known_files: Some(known_files),
        },
        ..JunitOptions::default()
    };
    let results = parse_junit(BufReader::new(file), &options).ok()?;
    Some(
        results
            .into_iter()
            .map(|r| {
                let output = match (r.stdout, r.stderr) {
                    (Some(o), Some(e)) => Some(format!("{o}\n{e}")),
                    (o, e) => o.or(e),
                };
                let attempt = Attempt {
                    number: 0,
                    outcome: attempt_outcome(r.outcome),
                    duration: r.duration,
                    message: r.message,
                    output,
                };
                (r.id, attempt)
            })
            .collect(),
    )
}

pub(crate) fn attempt_outcome(outcome: Outcome) -> AttemptOutcome {
    match outcome {
        Outcome::Passed => AttemptOutcome::Passed,
        Outcome::Failed => AttemptOutcome::Failed,
        Outcome::Error => AttemptOutcome::Error,
        Outcome::Skipped => AttemptOutcome::Skipped,
    }
}

/// Results of the tests that finished before a kill, from the plugin's lines.
fn results_from_progress(events: &[ProgressEvent]) -> Vec<(String, Attempt)> {
    events
        .iter()
        .filter_map(|e| match e {
            ProgressEvent::Result {
                id,
                when,
                outcome,
                duration,
                message,
            } => {
                let outcome = match (outcome.as_str(), when.as_str()) {
                    ("passed", _) => AttemptOutcome::Passed,
                    ("skipped", _) => AttemptOutcome::Skipped,
                    (_, "call") => AttemptOutcome::Failed,
                    _ => AttemptOutcome::Error,
                };
                Some((
                    id.clone(),
                    Attempt {
                        number: 0,
                        outcome,
                        duration: *duration,
                        message: message.clone(),
                        output: None,
                    },
                ))
            }
            ProgressEvent::Start { .. } => None,
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
        };
        let argv = pytest_argv(&step, Path::new("/w/ids"), Path::new("/w/j.xml"));
        assert_eq!(
            argv,
            [
                "/venv/bin/python",
                "-m",
                "pytest",
                "-p",
                "tollgate_watchdog",
                "--junitxml=/w/j.xml",
                "-o",
                "junit_logging=all",
                "-x",
                "@/w/ids"
            ]
        );
    }

    #[test]
    fn progress_results_distinguish_failures_from_errors() {
        let events = vec![
            ProgressEvent::Start { id: "a".into() },
            ProgressEvent::Result {
                id: "a".into(),
                when: "call".into(),
                outcome: "failed".into(),
                duration: 0.1,
                message: Some("boom".into()),
            },
            ProgressEvent::Result {
                id: "b".into(),
                when: "setup".into(),
                outcome: "failed".into(),
                duration: 0.0,
                message: None,
            },
            ProgressEvent::Result {
                id: "c".into(),
                when: "setup".into(),
                outcome: "skipped".into(),
                duration: 0.0,
                message: None,
            },
        ];
        let got: Vec<(String, AttemptOutcome)> = results_from_progress(&events)
            .into_iter()
            .map(|(id, a)| (id, a.outcome))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_string(), AttemptOutcome::Failed),
                ("b".to_string(), AttemptOutcome::Error),
                ("c".to_string(), AttemptOutcome::Skipped)
            ]
        );
    }
}
