//! Where a finished (or interrupted) run's results go besides the files the
//! CLI writes: the history store. The store crate implements [`ResultSink`];
//! the runner only knows this trait, so it can be tested without a database.

use crate::report::RunReport;

pub trait ResultSink {
    /// Records a run. Called once, also for partial runs (`report.complete`
    /// is false then). Errors are reported by the caller, never fatal to the run.
    fn record(
        &mut self,
        report: &RunReport,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// Keeps reports in memory (tests, dry runs).
#[derive(Debug, Default)]
pub struct MemorySink {
    pub reports: Vec<RunReport>,
}

impl ResultSink for MemorySink {
    fn record(
        &mut self,
        report: &RunReport,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.reports.push(report.clone());
        Ok(())
    }
}
