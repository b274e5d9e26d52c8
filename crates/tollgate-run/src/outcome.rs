//! Attempts → a final outcome per test (pure).
//!
//! The rule of §7: a test that failed and then passed is **flaky**, never a
//! plain pass; one that kept failing is failed; a quarantined test keeps its
//! attempts but cannot fail the run.

use serde::{Deserialize, Serialize};

/// How one attempt of one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Passed,
    Failed,
    /// Setup/teardown error or crash.
    Error,
    Skipped,
    /// Killed by tollgate after its per-test timeout.
    Timeout,
    /// The runner never reported it (crash, collection error, deselected).
    Missing,
    /// Never started: the build it needed failed.
    NotRun,
}

impl AttemptOutcome {
    /// The outcome as a person reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Passed => "passed",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Error => "error",
            AttemptOutcome::Skipped => "skipped",
            AttemptOutcome::Timeout => "timed out",
            AttemptOutcome::Missing => "not reported",
            AttemptOutcome::NotRun => "not run",
        }
    }

    pub fn is_failure(self) -> bool {
        matches!(
            self,
            AttemptOutcome::Failed
                | AttemptOutcome::Error
                | AttemptOutcome::Timeout
                | AttemptOutcome::Missing
        )
    }
}

/// One attempt, with what the runner said about it (already redacted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1 for the first run.
    pub number: u32,
    pub outcome: AttemptOutcome,
    /// Seconds.
    pub duration: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Captured stdout and stderr, if the runner reported any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The verdict on one test across its attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalOutcome {
    Passed,
    Failed,
    Flaky,
    Skipped,
    /// Failed (or flaky) but quarantined: reported, cannot fail the run.
    Quarantined,
    /// Its last attempt ran past its timeout and was killed (a failure).
    TimedOut,
    /// Never ran: the build it needed failed. Not a test failure of its own;
    /// the job fails for its build.
    NotRun,
}

impl FinalOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            FinalOutcome::Passed => "passed",
            FinalOutcome::Failed => "failed",
            FinalOutcome::Flaky => "flaky",
            FinalOutcome::Skipped => "skipped",
            FinalOutcome::Quarantined => "quarantined",
            FinalOutcome::TimedOut => "timed out",
            FinalOutcome::NotRun => "not run (build failed)",
        }
    }
}

/// Decides a test's outcome from its attempts, in order.
///
/// No attempt at all counts as failed: a selected test that never reported
/// must not look green.
pub fn final_outcome(attempts: &[Attempt], quarantined: bool) -> FinalOutcome {
    let Some(last) = attempts.last() else {
        return if quarantined {
            FinalOutcome::Quarantined
        } else {
            FinalOutcome::Failed
        };
    };
    let any_failure = attempts.iter().any(|a| a.outcome.is_failure());
    let verdict = match last.outcome {
        AttemptOutcome::Passed if any_failure => FinalOutcome::Flaky,
        AttemptOutcome::Passed => FinalOutcome::Passed,
        AttemptOutcome::Skipped if any_failure => FinalOutcome::Failed,
        AttemptOutcome::Skipped => FinalOutcome::Skipped,
        AttemptOutcome::NotRun if !any_failure => FinalOutcome::NotRun,
        AttemptOutcome::Timeout => FinalOutcome::TimedOut,
        _ => FinalOutcome::Failed,
    };
    match verdict {
        FinalOutcome::Failed | FinalOutcome::Flaky | FinalOutcome::TimedOut if quarantined => {
            FinalOutcome::Quarantined
        }
        v => v,
    }
}

/// Whether a test whose attempts so far are `attempts` gets another run.
pub fn wants_retry(attempts: &[Attempt], retries: u32) -> bool {
    match attempts.last() {
        Some(last) => last.outcome.is_failure() && attempts.len() <= retries as usize,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(number: u32, outcome: AttemptOutcome) -> Attempt {
        Attempt {
            number,
            outcome,
            duration: 0.1,
            message: None,
            output: None,
        }
    }

    #[test]
    fn fail_then_pass_is_flaky_never_passed() {
        let attempts = [a(1, AttemptOutcome::Failed), a(2, AttemptOutcome::Passed)];
        assert_eq!(final_outcome(&attempts, false), FinalOutcome::Flaky);
        let timed_out = [a(1, AttemptOutcome::Timeout), a(2, AttemptOutcome::Passed)];
        assert_eq!(final_outcome(&timed_out, false), FinalOutcome::Flaky);
    }

    #[test]
    fn every_attempt_failing_is_failed() {
        let attempts = [a(1, AttemptOutcome::Failed), a(2, AttemptOutcome::Error)];
        assert_eq!(final_outcome(&attempts, false), FinalOutcome::Failed);
    }

    #[test]
    fn quarantine_hides_failures_and_flakes_only() {
        assert_eq!(
            final_outcome(&[a(1, AttemptOutcome::Failed)], true),
            FinalOutcome::Quarantined
        );
        assert_eq!(
            final_outcome(
                &[a(1, AttemptOutcome::Failed), a(2, AttemptOutcome::Passed)],
                true
            ),
            FinalOutcome::Quarantined
        );
        assert_eq!(
            final_outcome(&[a(1, AttemptOutcome::Passed)], true),
            FinalOutcome::Passed
        );
    }

    #[test]
    fn no_attempt_is_a_failure() {
        assert_eq!(final_outcome(&[], false), FinalOutcome::Failed);
        assert_eq!(
            final_outcome(&[a(1, AttemptOutcome::Skipped)], false),
            FinalOutcome::Skipped
        );
    }

    #[test]
    fn timeouts_and_tests_of_a_failed_build_have_their_own_verdicts() {
        assert_eq!(
            final_outcome(&[a(1, AttemptOutcome::Timeout)], false),
            FinalOutcome::TimedOut
        );
        assert_eq!(
            final_outcome(
                &[a(1, AttemptOutcome::Failed), a(2, AttemptOutcome::Timeout)],
                false
            ),
            FinalOutcome::TimedOut
        );
        assert_eq!(
            final_outcome(&[a(1, AttemptOutcome::Timeout)], true),
            FinalOutcome::Quarantined
        );
        assert_eq!(
            final_outcome(&[a(1, AttemptOutcome::NotRun)], false),
            FinalOutcome::NotRun
        );
        assert!(!AttemptOutcome::NotRun.is_failure());
        assert!(!wants_retry(&[a(1, AttemptOutcome::NotRun)], 3));
    }

    #[test]
    fn retries_stop_after_a_pass_or_the_limit() {
        assert!(wants_retry(&[a(1, AttemptOutcome::Failed)], 1));
        assert!(!wants_retry(
            &[a(1, AttemptOutcome::Failed), a(2, AttemptOutcome::Failed)],
            1
        ));
        assert!(!wants_retry(&[a(1, AttemptOutcome::Passed)], 3));
        assert!(!wants_retry(&[a(1, AttemptOutcome::Failed)], 0));
    }
}
