//! Why a job does or does not select a test (for `plan --explain` and lint).

use std::fmt;

/// The outcome of asking one job about one test. Only [`Verdict::Selected`]
/// selects; every other variant names the first condition that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Selected,
    /// The job runs the other language only.
    OtherLanguage,
    /// The job has no marker expression (lint, build): it selects no tests.
    NoExpression,
    /// The job's marker expression does not match the test's markers.
    ExpressionFalse,
    /// The test has no lifecycle marker, so no pipeline stage includes it.
    NoLifecycle,
    /// The test's earliest lifecycle stage comes after the pipeline's.
    LaterLifecycle,
    /// The pipeline's stage is not a lifecycle marker.
    UnknownStage,
    /// The test needs more GPUs than the job's runner offers.
    NotEnoughGpus {
        needed: u32,
        offered: u32,
    },
    /// The test carries a `requires_runner` marker the runner does not provide.
    RunnerLacks(String),
    /// A Rust test whose required features the job's cargo options leave off.
    FeaturesOff(Vec<String>),
    /// A Rust `#[ignore]`d test in a job that excludes ignored tests.
    IgnoredExcluded,
    /// A Rust test that is not ignored, in a job that runs only ignored tests.
    NotIgnored,
}

impl Verdict {
    pub fn is_selected(&self) -> bool {
        matches!(self, Verdict::Selected)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Selected => f.write_str("selected"),
            Verdict::OtherLanguage => f.write_str("the job runs another language"),
            Verdict::NoExpression => f.write_str("the job selects no tests (no marker expression)"),
            Verdict::ExpressionFalse => f.write_str("the job's marker expression does not match"),
            Verdict::NoLifecycle => f.write_str("the test has no lifecycle marker"),
            Verdict::LaterLifecycle => {
                f.write_str("the test's lifecycle stage comes after the pipeline's")
            }
            Verdict::UnknownStage => f.write_str("the pipeline's stage is not a lifecycle marker"),
            Verdict::NotEnoughGpus { needed, offered } => write!(
                f,
                "the test needs {needed} GPU(s), the job's runner offers {offered}"
            ),
            Verdict::RunnerLacks(marker) => {
                write!(f, "the job's runner does not provide `{marker}`")
            }
            Verdict::FeaturesOff(features) => write!(
                f,
                "the job does not enable feature(s) {}",
                features.join(", ")
            ),
            Verdict::IgnoredExcluded => {
                f.write_str("the test is #[ignore]d and the job excludes ignored tests")
            }
            Verdict::NotIgnored => f.write_str("the job runs only #[ignore]d tests"),
        }
    }
}
