//! Running one process of a step: working directory, environment, output to a
//! log file, supervision with the job's deadline and tollgate's interrupt.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use std::sync::atomic::{AtomicBool, Ordering};

use crate::outcome::AttemptOutcome;
use crate::progress::ProgressEvent;
use crate::redact::Redactor;
use crate::signals;
use crate::supervise::{self, Exit, Finished, Resources, StopReason};

/// Bytes of a process's output kept in the report (the end, where errors are).
pub const LOG_TAIL_BYTES: u64 = 16 * 1024;

/// What every process of a job shares.
#[derive(Clone)]
pub struct StepContext<'a> {
    /// Project root: the working directory of every runner.
    pub root: &'a Path,
    /// Scratch directory of this job (args files, reports, logs).
    pub work_dir: &'a Path,
    pub env: &'a [(String, String)],
    /// The job's wall-clock deadline.
    pub deadline: Option<Instant>,
    pub redactor: &'a Redactor,
    /// SIGTERM → SIGKILL grace.
    pub grace: Duration,
    /// Set when the job is cancelled (fail-fast): its processes are stopped
    /// as on an interrupt.
    pub cancel: Option<&'a AtomicBool>,
    /// Live per-test events for the progress display (ids as the runner
    /// reports them; the engine redacts).
    pub on_test: &'a (dyn Fn(TestEvent<'_>) + Sync),
}

impl StepContext<'_> {
    /// Whether this job's processes must stop now (interrupt or cancel).
    pub fn stopping(&self) -> bool {
        signals::interrupted() || self.cancel.is_some_and(|c| c.load(Ordering::SeqCst))
    }

    /// Forwards one of the pytest watchdog's events as a [`TestEvent`].
    pub fn pytest_event(&self, event: &ProgressEvent) {
        match event {
            ProgressEvent::Start { id } => (self.on_test)(TestEvent::Started(id)),
            ProgressEvent::Result { id, .. } => {
                if let Some(outcome) = event.attempt_outcome() {
                    (self.on_test)(TestEvent::Finished(id, outcome));
                }
            }
        }
    }
}

/// A test starting or finishing, as a runner reports it while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestEvent<'e> {
    Started(&'e str),
    Finished(&'e str, AttemptOutcome),
}

/// An `on_test` that ignores everything.
pub fn ignore_test_events(_: TestEvent<'_>) {}

/// One process tollgate ran, as reported (output redacted).
#[derive(Debug, Clone, Serialize)]
pub struct ProcessRecord {
    pub command: String,
    pub exit: Option<Exit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    pub resources: Resources,
    /// The end of its combined stdout/stderr.
    pub log_tail: String,
}

/// The outcome of [`run_logged`].
#[derive(Debug)]
pub struct Ran {
    pub finished: Finished,
    pub record: ProcessRecord,
}

/// Runs `command` from the project root with output to `log`, stopping it
/// when the deadline passes, tollgate is interrupted, or `watch` says so.
pub fn run_logged(
    ctx: &StepContext<'_>,
    mut command: Command,
    display: String,
    log: &Path,
    mut watch: impl FnMut(Instant) -> Option<StopReason>,
) -> io::Result<Ran> {
    let out = File::create(log)?;
    let err = out.try_clone()?;
    command
        .current_dir(ctx.root)
        .envs(ctx.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    let child = supervise::spawn_in_group(&mut command)?;
    let deadline = ctx.deadline;
    let finished = supervise::supervise(child, ctx.grace, |now| {
        if signals::interrupted() || ctx.cancel.is_some_and(|c| c.load(Ordering::SeqCst)) {
            return Some(StopReason::Interrupted);
        }
        if deadline.is_some_and(|d| now >= d) {
            return Some(StopReason::Deadline);
        }
        watch(now)
    })?;
    let log_tail = ctx.redactor.redact_owned(read_tail(log, LOG_TAIL_BYTES));
    let record = ProcessRecord {
        command: ctx.redactor.redact_owned(display),
        exit: Some(finished.exit.clone()),
        stopped: finished.stopped.as_ref().map(describe_stop),
        resources: finished.resources,
        log_tail,
    };
    Ok(Ran { finished, record })
}

pub fn describe_stop(reason: &StopReason) -> String {
    match reason {
        StopReason::Deadline => "job timeout".to_string(),
        StopReason::TestTimeout(id) => format!("test timeout: {id}"),
        StopReason::Interrupted => "interrupted".to_string(),
    }
}

/// The last `max` bytes of a file, lossily decoded (empty if unreadable).
pub fn read_tail(path: &Path, max: u64) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > max && file.seek(SeekFrom::Start(len - max)).is_err() {
        return String::new();
    }
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `program` found on `PATH` (or as given, when it contains a `/`).
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Quotes an argv for display (`sh`-style), so logged commands can be re-run.
pub fn display_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_what_the_shell_would_split() {
        let argv = [
            "pytest".to_string(),
            "-m".into(),
            "unit and not slow".into(),
            "it's".into(),
        ];
        assert_eq!(
            display_argv(&argv),
            "pytest -m 'unit and not slow' 'it'\\''s'"
        );
    }

    #[test]
    fn tail_keeps_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "0123456789").unwrap();
        assert_eq!(read_tail(&p, 4), "6789");
        assert_eq!(read_tail(&p, 100), "0123456789");
        assert_eq!(read_tail(&dir.path().join("none"), 4), "");
    }

    #[test]
    fn output_is_logged_redacted_and_deadline_enforced() {
        let dir = tempfile::tempdir().unwrap();
        let redactor = Redactor::new(
            &["MY_TOKEN".to_string()],
            [("MY_TOKEN", "sekrit-1234")],
            &[],
        )
        .unwrap();
        let env = vec![("MY_TOKEN".to_string(), "sekrit-1234".to_string())];
        let ctx = StepContext {
            root: dir.path(),
            work_dir: dir.path(),
            env: &env,
            deadline: Some(Instant::now() + Duration::from_millis(500)),
            redactor: &redactor,
            grace: Duration::from_millis(200),
            cancel: None,
            on_test: &ignore_test_events,
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("echo token=$MY_TOKEN; sleep 30");
        let ran = run_logged(&ctx, cmd, "sh".into(), &dir.path().join("log"), |_| None).unwrap();
        assert_eq!(ran.finished.stopped, Some(StopReason::Deadline));
        assert_eq!(ran.record.log_tail.trim(), "token=[REDACTED]");
        assert!(ran.finished.resources.wall_secs < 5.0);
    }

    #[test]
    fn a_cancelled_job_stops_its_process_as_on_an_interrupt() {
        let dir = tempfile::tempdir().unwrap();
        let redactor = Redactor::default();
        let cancel = AtomicBool::new(false);
        let ctx = StepContext {
            root: dir.path(),
            work_dir: dir.path(),
            env: &[],
            deadline: None,
            redactor: &redactor,
            grace: Duration::from_millis(200),
            cancel: Some(&cancel),
            on_test: &ignore_test_events,
        };
        let started = Instant::now();
        let ran = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(300));
                cancel.store(true, Ordering::SeqCst);
            });
            let mut cmd = Command::new("sleep");
            cmd.arg("30");
            run_logged(&ctx, cmd, "sleep".into(), &dir.path().join("log"), |_| None).unwrap()
        });
        assert_eq!(ran.finished.stopped, Some(StopReason::Interrupted));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
