//! TG601: a test that no job of any pipeline selects — written, reviewed,
//! and never run (seed 004's component tests whose markers were forgotten).
//!
//! Selection is `tollgate-select`'s: each job's marker expression, lifecycle
//! inheritance, the runner's GPUs and environment, and for Rust the job's
//! features and `#[ignore]` handling. The help names the closest miss: the
//! condition that failed in a job whose expression did match, if any.

use tollgate_inventory::TestItem;
use tollgate_select::{Selector, Verdict};

use crate::context::{Context, Failing};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG601",
    name: "never-run",
    summary: "no job of any pipeline would run the test",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if ctx.config.pipelines.is_empty() {
        return;
    }
    let selector = Selector::new(ctx.config);
    for group in &ctx.functions {
        let Some(failing) = Failing::of(group, |t| !selector.any_pipeline_selects(t)) else {
            continue;
        };
        for (test, label) in failing.sites() {
            out.push(INFO.finding(
                At::new(&test.file, test.line).test(label),
                format!("no pipeline runs `{label}`"),
                closest_miss(&selector, test),
            ));
        }
    }
}

/// Why the test is not selected, from the job that came closest.
fn closest_miss(selector: &Selector<'_>, test: &TestItem) -> String {
    let mut best: Option<(String, String, Verdict)> = None;
    for pipeline in selector.pipelines() {
        for job in selector.jobs(pipeline) {
            let Some(verdict) = selector.job_verdict(pipeline, job, test) else {
                continue;
            };
            if closeness(&verdict) > best.as_ref().map_or(0, |(_, _, v)| closeness(v)) {
                best = Some((pipeline.to_string(), job.to_string(), verdict));
            }
        }
    }
    match best {
        Some((pipeline, job, verdict)) => {
            format!(
                "closest: job `{job}` in pipeline `{pipeline}` matches its markers, but {verdict}"
            )
        }
        None => {
            let names = test.marker_names().join(", ");
            format!("no job's marker expression matches its markers ({names}); fix the markers or add a job")
        }
    }
}

/// How far selection got: 0 means the expression did not even match.
fn closeness(verdict: &Verdict) -> u8 {
    match verdict {
        Verdict::Selected => 9,
        Verdict::OtherLanguage | Verdict::NoExpression | Verdict::ExpressionFalse => 0,
        Verdict::NoLifecycle | Verdict::UnknownStage => 1,
        Verdict::LaterLifecycle => 2,
        Verdict::NotEnoughGpus { .. } | Verdict::RunnerLacks(_) => 3,
        Verdict::FeaturesOff(_) | Verdict::IgnoredExcluded | Verdict::NotIgnored => 4,
    }
}
