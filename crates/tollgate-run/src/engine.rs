//! The runner core: stages in order, jobs of a stage in parallel within the
//! machine, steps of a job in sequence; a failed gating job stops later
//! stages (and, with fail-fast, jobs of its stage not yet started).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::outcome::{final_outcome, Attempt};
use crate::process::{run_logged, StepContext};
use crate::quarantine::{Date, Quarantine};
use crate::redact::Redactor;
use crate::report::{
    count, job_status, run_status, BudgetReport, JobReport, JobStatus, RunReport, TestReport,
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
    /// Receives progress lines (already redacted) as jobs start and end.
    pub progress: &'a (dyn Fn(&str) + Sync),
}

impl<'a> EngineOptions<'a> {
    pub fn new(
        quarantine: &'a Quarantine,
        redactor: &'a Redactor,
        progress: &'a (dyn Fn(&str) + Sync),
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
                reports.push(JobReport::not_started(
                    &job.name,
                    job.stage,
                    job.gating,
                    JobStatus::Skipped,
                    reason.clone(),
                ));
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
    RunReport {
        pipeline: spec.pipeline.clone(),
        complete: !interrupted,
        status: run_status(&reports, interrupted),
        wall_secs: started.elapsed().as_secs_f64(),
        jobs: reports,
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
    let gating_failed = AtomicBool::new(false);
    let workers = parallel.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(i) else { break };
                let report = if signals::interrupted() {
                    JobReport::not_started(
                        &job.name,
                        job.stage,
                        job.gating,
                        JobStatus::Skipped,
                        "interrupted".into(),
                    )
                } else if spec.fail_fast && gating_failed.load(Ordering::SeqCst) {
                    JobReport::not_started(
                        &job.name,
                        job.stage,
                        job.gating,
                        JobStatus::Skipped,
                        "fail-fast: a gating job of this stage failed".into(),
                    )
                } else if let Some(reason) =
                    unfit_reason(job, spec.machine_gpus, &spec.machine_provides)
                {
                    JobReport::not_started(
                        &job.name,
                        job.stage,
                        job.gating,
                        JobStatus::NotRunnable,
                        reason,
                    )
                } else {
                    (opts.progress)(&format!("[{}] started", job.name));
                    let report = run_job(spec, job, opts);
                    (opts.progress)(&opts.redactor.redact_owned(progress_line(&report)));
                    if report.gating && report.is_failure() {
                        gating_failed.store(true, Ordering::SeqCst);
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

fn progress_line(r: &JobReport) -> String {
    let c = &r.counts;
    let mut line = format!(
        "[{}] {:?}: {} passed, {} failed, {} flaky, {} skipped, {} quarantined in {:.1}s",
        r.name,
        r.status,
        c.passed,
        c.failed,
        c.flaky,
        c.skipped,
        c.quarantined,
        r.resources.wall_secs
    );
    if let Some(b) = r.budget.as_ref().filter(|b| b.exceeded) {
        line.push_str(&format!(" (budget {:.0}s EXCEEDED)", b.limit_secs));
    }
    if let Some(reason) = &r.reason {
        line.push_str(&format!(" — {}", reason.lines().next().unwrap_or_default()));
    }
    line
}

fn run_job(spec: &RunSpec, job: &JobSpec, opts: &EngineOptions<'_>) -> JobReport {
    let started = Instant::now();
    let work = match tempfile::Builder::new().prefix("tollgate-job-").tempdir() {
        Ok(dir) => dir,
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
    let ctx = StepContext {
        root: &spec.root,
        work_dir: work.path(),
        env: &job.env,
        deadline: job.wall_timeout.map(|d| started + d),
        redactor: opts.redactor,
        grace: opts.grace,
    };
    let mut attempts: BTreeMap<String, Vec<Attempt>> = BTreeMap::new();
    let mut resources = crate::supervise::Resources::default();
    let mut processes = Vec::new();
    let mut failure: Option<StepFailure> = None;
    let mut test_secs = 0.0;
    for (index, step) in job.steps.iter().enumerate() {
        if signals::interrupted() {
            failure = Some(StepFailure::Interrupted);
            break;
        }
        let result = match step {
            Step::Shell { command } => run_shell(command, index, &ctx),
            Step::Pytest(p) => pytest::run(p, &ctx),
            Step::Rust(r) => rust::run(r, &ctx),
        };
        if !matches!(step, Step::Shell { .. }) {
            test_secs += result.resources.wall_secs;
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
    let (status, reason) = job_status(&counts, failure.as_ref());
    let budget = job.budget.map(|limit| BudgetReport {
        limit_secs: limit.as_secs_f64(),
        used_secs: test_secs,
        exceeded: test_secs > limit.as_secs_f64(),
    });
    JobReport {
        name: job.name.clone(),
        stage: job.stage,
        gating: job.gating,
        status,
        reason: reason.map(|r| opts.redactor.redact_owned(r)),
        counts,
        resources,
        budget,
        tests,
        processes,
    }
}

fn run_shell(command: &str, index: usize, ctx: &StepContext<'_>) -> StepResult {
    let mut result = StepResult::default();
    let log = ctx.work_dir.join(format!("step-{index}.log"));
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(command);
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
                    "`{}` failed ({exit:?})\n{}",
                    ctx.redactor.redact(command),
                    ran.record.log_tail
                ))),
            };
            result.push_process(ran.record);
        }
        Err(e) => {
            result.failure = Some(StepFailure::Infrastructure(format!("cannot run sh: {e}")));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

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
