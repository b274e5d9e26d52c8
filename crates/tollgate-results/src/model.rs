//! The plain data every parser produces and the store consumes.

use serde::{Deserialize, Serialize};

/// How one attempt of one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    /// An assertion failed (`<failure>`).
    Failed,
    /// The test could not run to completion: setup/teardown error, crash (`<error>`).
    Error,
    Skipped,
}

impl Outcome {
    /// The lowercase name used in storage and output.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
        }
    }

    /// Parses [`Outcome::as_str`] back.
    pub fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "passed" => Outcome::Passed,
            "failed" => Outcome::Failed,
            "error" => Outcome::Error,
            "skipped" => Outcome::Skipped,
            _ => return None,
        })
    }

    /// Failed or errored: the attempt counts against the test.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Error)
    }
}

/// One attempt of one test case, as read from a JUnit report.
///
/// A retried test yields one `TestResult` per attempt (`attempt` counts from 1),
/// so "failed, then passed on retry" is visible to the flaky-rate query instead
/// of being collapsed into a green result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// The id tollgate uses everywhere else: a pytest node id
    /// (`tests/test_x.py::TestC::test_a[1]`) or `<binary-id> <test name>` for nextest.
    pub id: String,
    pub classname: String,
    pub name: String,
    pub outcome: Outcome,
    /// Seconds, finite and non-negative.
    pub duration: f64,
    /// The failure/error/skip message, if any (bounded like `stdout`).
    pub message: Option<String>,
    /// Captured output, truncated to [`crate::Limits::max_output_bytes`].
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// 1 for the first run; retries count up.
    pub attempt: u32,
}

/// Line coverage of one source file.
///
/// Line numbers are kept (not just totals) so that patch coverage — "how many
/// of the lines this change touched are covered" — can be computed later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCoverage {
    /// Repository-relative with `/` separators once [`crate::coverage::relativize`]
    /// has run; as written in the report before that.
    pub path: String,
    pub lines_total: u32,
    pub lines_covered: u32,
    /// Sorted, unique.
    pub covered_lines: Vec<u32>,
    /// Sorted, unique; executable lines never executed.
    pub uncovered_lines: Vec<u32>,
}

impl FileCoverage {
    /// Builds a file's coverage from `(line, hit count)` pairs; a line that
    /// appears several times (Cobertura classes sharing a file, LCOV records
    /// from several test names) counts as covered if any record hit it.
    pub fn from_line_hits(path: String, hits: impl IntoIterator<Item = (u32, u64)>) -> Self {
        let mut by_line = std::collections::BTreeMap::<u32, u64>::new();
        for (line, count) in hits {
            let entry = by_line.entry(line).or_insert(0);
            *entry = entry.saturating_add(count);
        }
        let (covered, uncovered): (Vec<_>, Vec<_>) = by_line.iter().partition(|(_, &c)| c > 0);
        let covered_lines: Vec<u32> = covered.into_iter().map(|(&l, _)| l).collect();
        let uncovered_lines: Vec<u32> = uncovered.into_iter().map(|(&l, _)| l).collect();
        FileCoverage {
            path,
            lines_total: (covered_lines.len() + uncovered_lines.len()) as u32,
            lines_covered: covered_lines.len() as u32,
            covered_lines,
            uncovered_lines,
        }
    }

    /// Covered fraction in percent; a file with no executable lines is 100%.
    pub fn percent(&self) -> f64 {
        if self.lines_total == 0 {
            100.0
        } else {
            100.0 * f64::from(self.lines_covered) / f64::from(self.lines_total)
        }
    }
}

/// One measured value of one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchSample {
    /// The benchmark (`tests/test_perf.py::test_decode`, `group/function`).
    pub name: String,
    /// What was measured: `mean`, `median`, `ops`, `sample`, `ttft`, ...
    pub metric: String,
    /// Finite and non-negative.
    pub value: f64,
    /// `s`, `ns`, `ops/s`, `ms`, ... as given by the source.
    pub unit: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_hits_merge_duplicates_and_sort() {
        let cov = FileCoverage::from_line_hits("a.rs".into(), [(3, 0), (1, 2), (3, 1), (2, 0)]);
        assert_eq!(cov.covered_lines, vec![1, 3]);
        assert_eq!(cov.uncovered_lines, vec![2]);
        assert_eq!((cov.lines_total, cov.lines_covered), (3, 2));
        assert!((cov.percent() - 200.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn outcome_round_trips() {
        for o in [
            Outcome::Passed,
            Outcome::Failed,
            Outcome::Error,
            Outcome::Skipped,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("PASSED"), None);
    }
}
