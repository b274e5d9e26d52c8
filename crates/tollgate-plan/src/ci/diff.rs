//! Today's CI versus tollgate's plan, for one pipeline: the tests run by
//! both, only by the CI (with why tollgate leaves each out) and only by
//! tollgate (with the jobs that run it), per language.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;
use tollgate_inventory::{Inventory, Language};
use tollgate_select::Selector;

use super::{ci_selection, CiPipeline};
use crate::model::Plan;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CiDiff {
    pub pipeline: String,
    /// Where today's pipeline is defined.
    pub sources: Vec<String>,
    pub python: LanguageDiff,
    pub rust: LanguageDiff,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LanguageDiff {
    /// Tests today's CI selects.
    pub ci: usize,
    /// Tests tollgate's plan runs.
    pub tollgate: usize,
    pub both: usize,
    /// `both / ci`: how much of today's selection tollgate's plan covers
    /// (`None` when the CI selects none).
    pub coverage: Option<f64>,
    pub only_ci: Vec<DiffEntry>,
    pub only_tollgate: Vec<DiffEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffEntry {
    pub test: String,
    pub reason: String,
}

/// Compares `ci` with `plan` (made for the same pipeline from the same
/// inventory, without changed files).
pub fn diff(
    ci: &CiPipeline,
    plan: &Plan,
    inventory: &Inventory,
    selector: &Selector<'_>,
) -> CiDiff {
    let ci_set = ci_selection(ci, inventory);
    let mut run_by: HashMap<&str, Vec<&str>> = HashMap::new();
    for job in &plan.jobs {
        for t in &job.tests {
            run_by
                .entry(t.as_str())
                .or_default()
                .push(job.name.as_str());
        }
    }
    let not_run: HashMap<&str, &str> = plan
        .not_run
        .iter()
        .map(|u| (u.test.as_str(), u.reason.as_str()))
        .collect();
    let mut python = LanguageDiff::default();
    let mut rust = LanguageDiff::default();
    let mut seen = BTreeSet::new();
    for test in &inventory.tests {
        if !seen.insert(test.id.as_str()) {
            continue;
        }
        let side = match test.language {
            Language::Python => &mut python,
            Language::Rust => &mut rust,
        };
        let in_ci = ci_set.contains(&test.id);
        let jobs = run_by.get(test.id.as_str());
        if in_ci {
            side.ci += 1;
        }
        if jobs.is_some() {
            side.tollgate += 1;
        }
        match (in_ci, jobs) {
            (true, Some(_)) => side.both += 1,
            (true, None) => {
                let reason = match not_run.get(test.id.as_str()) {
                    Some(reason) => (*reason).to_string(),
                    None if !selector.stage_covers(&plan.pipeline, test) => format!(
                        "its lifecycle markers are not of stage `{}` or earlier",
                        plan.stage
                    ),
                    None => "no job of the plan selects it".to_string(),
                };
                side.only_ci.push(DiffEntry {
                    test: test.id.clone(),
                    reason,
                });
            }
            (false, Some(jobs)) => side.only_tollgate.push(DiffEntry {
                test: test.id.clone(),
                reason: format!("run by {}", jobs.join(", ")),
            }),
            (false, None) => {}
        }
    }
    for side in [&mut python, &mut rust] {
        side.coverage = (side.ci > 0).then(|| side.both as f64 / side.ci as f64);
    }
    CiDiff {
        pipeline: ci.name.clone(),
        sources: ci.sources.clone(),
        python,
        rust,
    }
}
