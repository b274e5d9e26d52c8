//! Recording a run in the history store (`tollgate-store`): one batch per
//! job, every attempt of every test, then the run marked finished —
//! `complete: false` for an interrupted run, so it never becomes a baseline.

use tollgate_results::{Outcome, TestResult};
use tollgate_store::{Batch, JobMeta, RunMeta, Store};

use crate::junit_out::split_case;
use crate::outcome::AttemptOutcome;
use crate::report::{JobReport, JobStatus, RunReport};
use crate::sink::ResultSink;

/// A job's results as the store takes them (pure).
pub fn job_batch(job: &JobReport) -> (JobMeta, Vec<TestResult>) {
    let meta = JobMeta {
        name: job.name.clone(),
        status: format!("{:?}", job.status).to_lowercase(),
        wall_ms: Some((job.resources.wall_secs * 1000.0) as i64),
        cpu_ms: Some(((job.resources.user_secs + job.resources.system_secs) * 1000.0) as i64),
        peak_rss_kb: i64::try_from(job.resources.max_rss_kib).ok(),
    };
    let mut results = Vec::new();
    for t in &job.tests {
        let (classname, name) = split_case(&t.id);
        for a in &t.attempts {
            let outcome = match a.outcome {
                AttemptOutcome::Passed => Outcome::Passed,
                AttemptOutcome::Failed | AttemptOutcome::Timeout => Outcome::Failed,
                AttemptOutcome::Error | AttemptOutcome::Missing => Outcome::Error,
                AttemptOutcome::Skipped | AttemptOutcome::NotRun => Outcome::Skipped,
            };
            let message = match (a.outcome, &a.message) {
                (AttemptOutcome::Timeout, m) => {
                    Some(format!("timeout: {}", m.as_deref().unwrap_or("")))
                }
                (_, m) => m.clone(),
            };
            results.push(TestResult {
                id: t.id.clone(),
                classname: classname.to_string(),
                name: name.to_string(),
                outcome,
                duration: if a.duration.is_finite() {
                    a.duration.max(0.0)
                } else {
                    0.0
                },
                message,
                stdout: a.output.clone(),
                stderr: None,
                attempt: a.number.max(1),
            });
        }
    }
    (meta, results)
}

/// Writes runs into a [`Store`].
pub struct StoreSink {
    pub store: Store,
    pub run: RunMeta,
}

impl ResultSink for StoreSink {
    fn record(
        &mut self,
        report: &RunReport,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        for job in &report.jobs {
            // Jobs that never started have nothing to remember.
            if matches!(job.status, JobStatus::Skipped | JobStatus::NotRunnable) {
                continue;
            }
            let (meta, tests) = job_batch(job);
            self.store.ingest(&Batch {
                run: &self.run,
                job: &meta,
                tests: &tests,
                coverage: &[],
                bench: &[],
            })?;
        }
        let finished = self.run.started_at_ms + (report.wall_secs * 1000.0) as i64;
        self.store
            .finish_run(&self.run.run_key, finished, report.complete)?;
        Ok(())
    }
}
