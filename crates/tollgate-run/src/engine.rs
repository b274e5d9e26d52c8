//! The runner core: stages in order, jobs of a stage in parallel within the
//! machine, steps of a job in sequence; a failed gating job stops later
//! stages; with fail-fast it also cancels the jobs of its stage: those
//! running are stopped (their process groups terminated, their partial
//! results kept, their status `cancelled`), those not started are skipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::live::RunEvent;
use crate::outcome::{final_outcome, Attempt};
use crate::process::{run_logged, StepContext, TestEvent};
use crate::quarantine::{Date, Quarantine};
use crate::redact::Redactor;
use crate::report::{
    count, job_status, run_status, BudgetReport, JobReport, JobStatus, RunReport, RunStatus,
    TestOverrun, TestReport,
};
use crate::signals;
use crate::spec::{JobSpec, RunSpec, Step};
use crate::step::{StepFailure, StepResult};
use crate::supervise::DEFAULT_GRACE;
use crate::{pytest, rust};

/// Everything the engine needs besides the spec.
pub struct EngineOptions<'a> {
    pub quarantine: &'a Quarantine,
    pub today: Date,
    pub redactor: &'a Redactor,
    /// SIGTERM → SIGKILL grace for stopped process groups.
    pub grace: Duration,
    /// Receives progress events (already redacted) as jobs and tests start
    /// and end; called from the jobs' threads.
    pub progress: &'a (dyn Fn(&RunEvent) + Sync),
}

impl<'a> EngineOptions<'a> {
    pub fn new(
        quarantine: &'a Quarantine,
        redactor: &'a Redactor,
        progress: &'a (dyn Fn(&RunEvent) + Sync),
    ) -> Self {
        EngineOptions {
            quarantine,
            today: Date::today_utc(),
            redactor,
            grace: DEFAULT_GRACE,
            progress,
        }
    }
}

/// Why a job cannot run on this machine, if it cannot (pure).
pub fn unfit_reason(
    job: &JobSpec,
    machine_gpus: u32,
    machine_provides: &[String],
) -> Option<String> {
    if job.gpus > machine_gpus {
        return Some(format!(
            "needs {} GPU(s), this machine has {machine_gpus}",
            job.gpus
        ));
    }
    let missing: Vec<&str> = job
        .provides
        .iter()
        .filter(|p| !machine_provides.contains(p))
        .map(String::as_str)
        .collect();
    (!missing.is_empty()).then(|| format!("needs a runner with {}", missing.join(", ")))
}

/// Runs the whole spec. Never panics on runner trouble: every problem ends
/// up in the report.
pub fn run(spec: &RunSpec, opts: &EngineOptions<'_>) -> RunReport {
    let started = Instant::now();
    let mut stages: BTreeMap<u32, Vec<&JobSpec>> = BTreeMap::new();
    for job in &spec.jobs {
        stages.entry(job.stage).or_default().push(job);
    }
    let parallel = match spec.parallel {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let mut reports: Vec<JobReport> = Vec::new();
    let mut stop: Option<String> = None;
    for (stage, jobs) in stages {
        if let Some(reason) = &stop {
            for job in jobs {
                reports.push(not_started(job, JobStatus::Skipped, reason.clone(), opts));
            }
            continue;
        }
        let stage_reports = run_stage(spec, &jobs, parallel, opts);
        let failed_gating: Vec<&str> = stage_reports
            .iter()
            .filter(|r| r.gating && r.is_failure())
            .map(|r| r.name.as_str())
            .collect();
        if signals::interrupted() {
            stop = Some("interrupted".to_string());
        } else if !failed_gating.is_empty() {
            stop = Some(format!(
                "gating job {} failed in stage {stage}",
                failed_gating.join(", ")
            ));
        }
        reports.extend(stage_reports);
    }
    let interrupted = signals::interrupted();
    let status = run_status(&reports, interrupted);
    RunReport {
        pipeline: spec.pipeline.clone(),
        // An incomplete run (a gating job not run here) is no baseline either.
        complete: !matches!(status, RunStatus::Interrupted | RunStatus::Incomplete),
        status,
        wall_secs: started.elapsed().as_secs_f64(),
        jobs: reports,
    }
}

/// A job that never started, reported to the progress display too.
fn not_started(
    job: &JobSpec,
    status: JobStatus,
    reason: String,
    opts: &EngineOptions<'_>,
) -> JobReport {
    (opts.progress)(&RunEvent::JobNotStarted {
        job: job.name.clone(),
        status,
        reason: opts.redactor.redact_owned(reason.clone()),
    });
    let mut report = JobReport::not_started(&job.name, job.stage, job.gating, status, reason);
    report.optional = job.optional;
    report
}

/// Fail-fast within a stage: the first gating failure cancels the others.
#[derive(Default)]
struct StageCancel {
    cancelled: AtomicBool,
    /// The gating job whose failure cancelled the stage.
    by: Mutex<Option<String>>,
}

impl StageCancel {
    fn reason(&self) -> String {
        let by = self.by.lock().ok().and_then(|g| g.clone());
        format!(
            "fail-fast: gating job {} of this stage failed",
            by.as_deref().unwrap_or("?")
        )
    }
}

fn run_stage(
    spec: &RunSpec,
    jobs: &[&JobSpec],
    parallel: usize,
    opts: &EngineOptions<'_>,
) -> Vec<JobReport> {
    let slots: Vec<Mutex<Option<JobReport>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let cancel = StageCancel::default();
    let workers = parallel.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let report = if signals::interrupted() {
                    not_started(job, JobStatus::Skipped, "interrupted".into(), opts)
                } else if cancel.cancelled.load(Ordering::SeqCst) {
                    not_started(job, JobStatus::Skipped, cancel.reason(), opts)
                } else if let Some(reason) =
                    unfit_reason(job, spec.machine_gpus, &spec.machine_provides)
                {
                    not_started(job, JobStatus::NotRunnable, reason, opts)
                } else {
                    let fail_fast = spec.fail_fast.then_some(&cancel.cancelled);
                    let mut report = run_job(spec, job, fail_fast, opts);
                    if report.status == JobStatus::Cancelled {
                        report.reason = Some(opts.redactor.redact_owned(cancel.reason()));
                    }
                    if spec.fail_fast && report.gating && report.is_failure() {
                        if let Ok(mut by) = cancel.by.lock() {
                            by.get_or_insert_with(|| report.name.clone());
                        }
                        cancel.cancelled.store(true, Ordering::SeqCst);
                    }
                    (opts.progress)(&RunEvent::job_finished(&report));
                    if let Some(text) = crate::failures::job_details(&report, &Default::default()) {
                        (opts.progress)(&RunEvent::JobFailures {
                            job: report.name.clone(),
                            text,
                        });
                    }
                    report
                };
                if let Some(slot) = slots.get(i) {
                    if let Ok(mut guard) = slot.lock() {
                        *guard = Some(report);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .zip(jobs)
        .map(|(slot, job)| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                JobReport::not_started(
                    &job.name,
                    job.stage,
                    job.gating,
                    JobStatus::Skipped,
                    "not run".into(),
                )
            })
        })
        .collect()
}

/// Runs one job. `cancel`, when given, is watched: once set, the job's
/// processes are stopped and it ends `Cancelled` (unless tollgate itself was
/// interrupted, which makes it `Incomplete`).
fn run_job(
    spec: &RunSpec,
    job: &JobSpec,
    cancel: Option<&AtomicBool>,
    opts: &EngineOptions<'_>,
) -> JobReport {
    let started = Instant::now();
    (opts.progress)(&RunEvent::JobStarted {
        job: job.name.clone(),
        tests: job.tests().count(),
    });
    // Private (0700: raw logs may hold secrets), and removed by the reaper
    // if tollgate dies before it removes it itself.
    let work = match tempfile::Builder::new()
        .prefix("tollgate-job-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()
    {
        Ok(dir) => {
            crate::reaper::watch_dir(dir.path());
            ScratchDir(dir)
        }
        Err(e) => {
            return JobReport::not_started(
                &job.name,
                job.stage,
                job.gating,
                JobStatus::InfrastructureError,
                format!("cannot create a scratch directory: {e}"),
            )
        }
    };
    // Attempt numbers per reported id, for the progress display.
    let attempts_seen: Mutex<HashMap<String, u32>> = Mutex::new(HashMap::new());
    let on_test = |event: TestEvent<'_>| {
        let event = match event {
            TestEvent::Started(id) => RunEvent::TestStarted {
                job: job.name.clone(),
                id: opts.redactor.redact(id).into_owned(),
            },
            TestEvent::Finished(id, outcome) => {
                let attempt = attempts_seen.lock().map_or(1, |mut seen| {
                    let n = seen.entry(id.to_string()).or_insert(0);
                    *n += 1;
                    *n
                });
                RunEvent::TestFinished {
                    job: job.name.clone(),
                    id: opts.redactor.redact(id).into_owned(),
                    outcome,
                    attempt,
                }
            }
        };
        (opts.progress)(&event);
    };
    let ctx = StepContext {
        root: &spec.root,
        work_dir: work.0.path(),
        env: &job.env,
        deadline: job.wall_timeout.map(|d| started + d),
        redactor: opts.redactor,
        grace: opts.grace,
        cancel,
        on_test: &on_test,
    };
    let mut attempts: BTreeMap<String, Vec<Attempt>> = BTreeMap::new();
    let mut resources = crate::supervise::Resources::default();
    let mut processes = Vec::new();
    let mut failure: Option<StepFailure> = None;
    let mut test_secs = 0.0;
    for (index, step) in job.steps.iter().enumerate() {
        if ctx.stopping() {
            failure = Some(StepFailure::Interrupted);
            break;
        }
        let result = match step {
            Step::Shell { command } => run_shell(command, index, &ctx),
            Step::Pytest(p) => pytest::run(p, &ctx),
            Step::Rust(r) => rust::run(r, &ctx),
        };
        if !matches!(step, Step::Shell { .. }) {
            // Budgets are about running tests: compiling them does not count.
            test_secs += (result.resources.wall_secs - result.build_secs).max(0.0);
        }
        resources.add(result.resources);
        processes.extend(result.processes);
        for (id, list) in result.attempts {
            attempts.entry(id).or_default().extend(list);
        }
        if result.failure.is_some() {
            failure = result.failure;
            break;
        }
    }
    resources.wall_secs = started.elapsed().as_secs_f64();
    let stopped_early = failure
        .as_ref()
        .is_some_and(|f| !matches!(f, StepFailure::CommandFailed(_)));
    let tests: Vec<TestReport> = job
        .tests()
        .filter_map(|t| {
            let list = attempts.remove(&t.id).unwrap_or_default();
            // Tests an interrupt or a broken runner kept from running are not
            // results; the job's status says why they are absent.
            if list.is_empty() && stopped_early {
                return None;
            }
            let entry = opts.quarantine.matching(&t.id, opts.today);
            Some(TestReport {
                id: t.id.clone(),
                outcome: final_outcome(&list, entry.is_some()),
                quarantine_reason: entry.map(|e| opts.redactor.redact_owned(e.reason.clone())),
                attempts: list,
            })
        })
        .collect();
    let counts = count(&tests);
    let (mut status, reason) = job_status(&counts, failure.as_ref());
    let cancelled = cancel.is_some_and(|c| c.load(Ordering::SeqCst));
    if cancelled && failure == Some(StepFailure::Interrupted) && !signals::interrupted() {
        status = JobStatus::Cancelled;
    }
    // A job stopped early did not run its whole suite: no budget verdict.
    let budget = job
        .budget
        .as_ref()
        .filter(|_| !stopped_early)
        .map(|b| BudgetReport {
            name: b.name.clone(),
            limit_secs: b.limit.as_secs_f64(),
            used_secs: test_secs,
            exceeded: test_secs > b.limit.as_secs_f64(),
        });
    let mut over_budget_tests = test_overruns(job, &tests);
    // Ids are reported (printed, stored, written) only redacted: a token in
    // a parametrize id must not reach the store or a report file.
    let tests: Vec<TestReport> = tests
        .into_iter()
        .map(|t| TestReport {
            id: opts.redactor.redact_owned(t.id),
            ..t
        })
        .collect();
    for overrun in &mut over_budget_tests {
        overrun.id = opts.redactor.redact_owned(std::mem::take(&mut overrun.id));
    }
    JobReport {
        name: job.name.clone(),
        stage: job.stage,
        gating: job.gating,
        optional: job.optional,
        status,
        reason: reason.map(|r| opts.redactor.redact_owned(r)),
        counts,
        resources,
        budget,
        over_budget_tests,
        tests,
        processes,
    }
}

/// A job's scratch directory: removed when dropped, then no longer the
/// reaper's to remove.
struct ScratchDir(tempfile::TempDir);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let path = self.0.path().to_path_buf();
        let _ = std::fs::remove_dir_all(&path);
        crate::reaper::forget_dir(&path);
    }
}

/// Tests whose longest attempt ran past a per-test budget (pure).
fn test_overruns(job: &JobSpec, tests: &[TestReport]) -> Vec<TestOverrun> {
    let by_id: HashMap<&str, &TestReport> = tests.iter().map(|t| (t.id.as_str(), t)).collect();
    let mut out = Vec::new();
    for budget in &job.test_budgets {
        let limit = budget.limit.as_secs_f64();
        for id in &budget.tests {
            let Some(t) = by_id.get(id.as_str()) else {
                continue;
            };
            let used = t
                .attempts
                .iter()
                .map(|a| a.duration)
                .filter(|d| d.is_finite())
                .fold(0.0, f64::max);
            if used > limit {
                out.push(TestOverrun {
                    id: id.clone(),
                    budget: budget.name.clone(),
                    limit_secs: limit,
                    used_secs: used,
                });
            }
        }
    }
    out
}

fn run_shell(command: &str, index: usize, ctx: &StepContext<'_>) -> StepResult {
    let mut result = StepResult::default();
    let log = ctx.work_dir.join(format!("step-{index}.log"));
    let cmd = shell_or_argv(command);
    match run_logged(ctx, cmd, command.to_string(), &log, |_| None) {
        Ok(ran) => {
            let _ = std::fs::remove_file(&log);
            result.failure = match (&ran.finished.stopped, &ran.finished.exit) {
                (Some(crate::supervise::StopReason::Deadline), _) => Some(StepFailure::Deadline),
                (Some(_), _) => Some(StepFailure::Interrupted),
                (None, crate::supervise::Exit::Code(0)) => None,
                (None, crate::supervise::Exit::Code(127)) => {
                    Some(StepFailure::Infrastructure(format!(
                        "command not found: `{}`\n{}",
                        ctx.redactor.redact(command),
                        ran.record.log_tail
                    )))
                }
                (None, exit) => Some(StepFailure::CommandFailed(format!(
                    "`{}` failed ({exit})\n{}",
                    ctx.redactor.redact(command),
                    ran.record.log_tail
                ))),
            };
            result.push_process(ran.record);
        }
        Err(e) => {
            result.failure = Some(StepFailure::Infrastructure(
                if e.kind() == std::io::ErrorKind::NotFound {
                    format!("command not found: `{}`", ctx.redactor.redact(command))
                } else {
                    format!("cannot run `{}`: {e}", ctx.redactor.redact(command))
                },
            ));
        }
    }
    result
}

/// Characters that make a command line shell syntax (operators, expansions,
/// globs, comments, redirections).
const SHELL_SYNTAX: &[char] = &[
    '|', '&', ';', '<', '>', '(', ')', '$', '`', '*', '?', '[', ']', '#', '~', '{', '}', '!', '\n',
];

/// The process for a job command: a plain command line (words, quotes, no
/// shell syntax) runs as an argument vector; only a command the user wrote
/// with shell syntax (`a && b`, `> file`, `$VAR`, globs) goes to `sh -c`.
/// Values tollgate pasted into a command were POSIX-quoted by the planner,
/// so they are one word either way.
pub fn shell_or_argv(command: &str) -> std::process::Command {
    if let Some(argv) = plain_argv(command) {
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]);
        return cmd;
    }
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(command);
    cmd
}

/// The words of `command` when it needs no shell (pure).
pub fn plain_argv(command: &str) -> Option<Vec<String>> {
    if command.contains(SHELL_SYNTAX) {
        return None;
    }
    let words = shell_words::split(command).ok()?;
    // `NAME=value cmd` is an assignment, a shell feature.
    let first = words.first()?;
    if first.contains('=') {
        return None;
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::{AttemptOutcome, FinalOutcome};
    use crate::spec::TestBudget;

    fn shell_job(name: &str, stage: u32, command: &str) -> JobSpec {
        let mut job = JobSpec::new(name, stage);
        job.steps = vec![Step::Shell {
            command: command.to_string(),
        }];
        job
    }

    fn run_collecting(spec: &RunSpec) -> (RunReport, Vec<RunEvent>) {
        let quarantine = Quarantine::default();
        let redactor = Redactor::default();
        let events = Mutex::new(Vec::new());
        let progress = |e: &RunEvent| events.lock().unwrap().push(e.clone());
        let mut opts = EngineOptions::new(&quarantine, &redactor, &progress);
        opts.grace = Duration::from_millis(300);
        let report = run(spec, &opts);
        (report, events.into_inner().unwrap())
    }

    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.split_whitespace().next() != Some("Z"))
        })
    }

    #[test]
    fn fail_fast_cancels_running_jobs_of_the_stage_and_kills_their_processes() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("sleeper.pid");
        let sleeper = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
        let failing = format!(
            "while [ ! -s {} ]; do sleep 0.05; done; exit 1",
            pidfile.display()
        );
        let spec = RunSpec {
            pipeline: "pr".into(),
            root: dir.path().to_path_buf(),
            jobs: vec![
                shell_job("slow", 1, &sleeper),
                shell_job("build", 1, &failing),
                shell_job("later", 2, "true"),
            ],
            fail_fast: true,
            parallel: 2,
            machine_gpus: 0,
            machine_provides: vec![],
        };
        let started = Instant::now();
        let (report, events) = run_collecting(&spec);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            started.elapsed()
        );
        let by_name = |n: &str| report.jobs.iter().find(|j| j.name == n).unwrap();
        assert_eq!(by_name("build").status, JobStatus::Failed);
        assert_eq!(by_name("slow").status, JobStatus::Cancelled, "{report:#?}");
        assert_eq!(
            by_name("slow").reason.as_deref(),
            Some("fail-fast: gating job build of this stage failed")
        );
        assert!(!by_name("slow").is_failure());
        assert_eq!(by_name("later").status, JobStatus::Skipped);
        assert_eq!(report.status, RunStatus::Failed);
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(pid), "the cancelled job's sleep {pid} survived");
        assert!(events.iter().any(|e| matches!(
            e,
            RunEvent::JobFinished { job, status: JobStatus::Cancelled, .. } if job == "slow"
        )));
    }

    #[test]
    fn without_fail_fast_the_other_jobs_of_the_stage_finish() {
        let dir = tempfile::tempdir().unwrap();
        let spec = RunSpec {
            pipeline: "pr".into(),
            root: dir.path().to_path_buf(),
            jobs: vec![
                shell_job("slow", 1, "sleep 0.5"),
                shell_job("build", 1, "exit 1"),
                shell_job("later", 2, "true"),
            ],
            fail_fast: false,
            parallel: 2,
            machine_gpus: 0,
            machine_provides: vec![],
        };
        let (report, _) = run_collecting(&spec);
        let by_name = |n: &str| report.jobs.iter().find(|j| j.name == n).unwrap();
        assert_eq!(by_name("slow").status, JobStatus::Passed);
        // A failed gating job still stops later stages.
        assert_eq!(by_name("later").status, JobStatus::Skipped);
    }

    #[test]
    fn a_failing_non_gating_job_cancels_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut lint = shell_job("lint", 1, "exit 1");
        lint.gating = false;
        let spec = RunSpec {
            pipeline: "pr".into(),
            root: dir.path().to_path_buf(),
            jobs: vec![lint, shell_job("slow", 1, "sleep 0.5")],
            fail_fast: true,
            parallel: 2,
            machine_gpus: 0,
            machine_provides: vec![],
        };
        let (report, _) = run_collecting(&spec);
        assert_eq!(report.jobs[1].status, JobStatus::Passed, "{report:#?}");
    }

    #[test]
    fn per_test_budgets_report_the_tests_over_them() {
        let mut job = JobSpec::new("unit", 2);
        job.test_budgets = vec![TestBudget {
            name: "unit_test".into(),
            limit: Duration::from_secs(1),
            tests: vec!["a".into(), "b".into(), "absent".into()],
        }];
        let t = |id: &str, durations: &[f64]| TestReport {
            id: id.into(),
            outcome: FinalOutcome::Passed,
            quarantine_reason: None,
            attempts: durations
                .iter()
                .enumerate()
                .map(|(i, d)| Attempt {
                    number: i as u32 + 1,
                    outcome: AttemptOutcome::Passed,
                    duration: *d,
                    message: None,
                    output: None,
                })
                .collect(),
        };
        let tests = [t("a", &[0.2, 1.5]), t("b", &[0.9]), t("c", &[9.0])];
        let over = test_overruns(&job, &tests);
        assert_eq!(
            over,
            [TestOverrun {
                id: "a".into(),
                budget: "unit_test".into(),
                limit_secs: 1.0,
                used_secs: 1.5
            }]
        );
    }

    #[test]
    fn jobs_that_need_more_than_the_machine_are_not_runnable() {
        let mut job = JobSpec::new("e2e_2", 2);
        job.gpus = 2;
        assert_eq!(
            unfit_reason(&job, 1, &[]).as_deref(),
            Some("needs 2 GPU(s), this machine has 1")
        );
        assert_eq!(unfit_reason(&job, 2, &[]), None);
        job.provides = vec!["k8s".into(), "h100".into()];
        assert_eq!(
            unfit_reason(&job, 8, &["k8s".into()]).as_deref(),
            Some("needs a runner with h100")
        );
    }
}
