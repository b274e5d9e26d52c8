//! What running one step produced.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::outcome::{Attempt, AttemptOutcome};
use crate::process::ProcessRecord;
use crate::supervise::Resources;

/// Why a step did not complete normally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum StepFailure {
    /// A shell step exited non-zero.
    CommandFailed(String),
    /// A runner is missing or could not be started; results are unknown.
    Infrastructure(String),
    /// The job's wall-clock deadline passed.
    Deadline,
    /// tollgate was interrupted.
    Interrupted,
}

/// Attempts per test id (the spec's ids), resources and processes of one step.
#[derive(Debug, Default)]
pub struct StepResult {
    pub attempts: BTreeMap<String, Vec<Attempt>>,
    pub resources: Resources,
    pub processes: Vec<ProcessRecord>,
    pub failure: Option<StepFailure>,
    /// Part of the wall time spent building (not counted against budgets).
    pub build_secs: f64,
}

impl StepResult {
    /// Appends an attempt to `id`, numbering it.
    pub fn push_attempt(&mut self, id: &str, mut attempt: Attempt) {
        let list = self.attempts.entry(id.to_string()).or_default();
        attempt.number = list.len() as u32 + 1;
        list.push(attempt);
    }

    pub fn push_process(&mut self, record: ProcessRecord) {
        self.resources.add(record.resources);
        self.processes.push(record);
    }
}

/// Several results of one test in one runner invocation (parametrized cases
/// of an id discovery could only know as a whole) folded into one attempt:
/// any failure wins, then a pass, then a skip.
pub fn fold_attempts(parts: Vec<Attempt>) -> Option<Attempt> {
    let rank = |o: AttemptOutcome| match o {
        AttemptOutcome::Timeout => 0,
        AttemptOutcome::Error => 1,
        AttemptOutcome::Failed => 2,
        AttemptOutcome::Missing => 3,
        AttemptOutcome::Passed => 4,
        AttemptOutcome::Skipped => 5,
        AttemptOutcome::NotRun => 6,
    };
    let duration = parts.iter().map(|a| a.duration).sum();
    let mut parts = parts;
    parts.sort_by_key(|a| rank(a.outcome));
    let mut it = parts.into_iter();
    let mut first = it.next()?;
    first.duration = duration;
    for other in it.filter(|a| a.outcome == first.outcome) {
        if let Some(m) = other.message {
            let joined = match first.message.take() {
                Some(prev) => format!("{prev}\n{m}"),
                None => m,
            };
            first.message = Some(joined);
        }
    }
    Some(first)
}

/// Maps an id a runner reported to the selected id it belongs to: the same
/// id, or the function id of a parametrized case (`f[1]` → `f`).
pub fn spec_id_for<'a>(
    reported: &str,
    selected: &'a std::collections::HashSet<String>,
) -> Option<&'a str> {
    if let Some(s) = selected.get(reported) {
        return Some(s.as_str());
    }
    let base = reported.split_once('[').map(|(b, _)| b)?;
    selected.get(base).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn at(outcome: AttemptOutcome, message: Option<&str>) -> Attempt {
        Attempt {
            number: 1,
            outcome,
            duration: 1.0,
            message: message.map(str::to_string),
            output: None,
        }
    }

    #[test]
    fn folding_keeps_the_worst_and_sums_time() {
        let folded = fold_attempts(vec![
            at(AttemptOutcome::Passed, None),
            at(AttemptOutcome::Failed, Some("a")),
            at(AttemptOutcome::Failed, Some("b")),
        ])
        .unwrap();
        assert_eq!(folded.outcome, AttemptOutcome::Failed);
        assert_eq!(folded.duration, 3.0);
        assert_eq!(folded.message.as_deref(), Some("a\nb"));
        assert!(fold_attempts(vec![]).is_none());
    }

    #[test]
    fn parametrized_cases_map_to_their_function() {
        let selected: HashSet<String> = ["t.py::f".to_string(), "t.py::g[1]".to_string()].into();
        assert_eq!(spec_id_for("t.py::f[a-b]", &selected), Some("t.py::f"));
        assert_eq!(spec_id_for("t.py::g[1]", &selected), Some("t.py::g[1]"));
        assert_eq!(spec_id_for("t.py::g[2]", &selected), None);
        assert_eq!(spec_id_for("t.py::h", &selected), None);
    }

    #[test]
    fn attempts_are_numbered_in_order() {
        let mut r = StepResult::default();
        r.push_attempt("x", at(AttemptOutcome::Failed, None));
        r.push_attempt("x", at(AttemptOutcome::Passed, None));
        let numbers: Vec<u32> = r.attempts["x"].iter().map(|a| a.number).collect();
        assert_eq!(numbers, [1, 2]);
    }
}
