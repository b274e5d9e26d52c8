//! TG601: a test that no job of any pipeline selects — written, reviewed,
//! and never run (seed 004's component tests whose markers were forgotten).
//!
//! Selection is `tollgate-select`'s: each job's marker expression, lifecycle
//! inheritance, the runner's GPUs and environment, and for Rust the job's
//! features and `#[ignore]` handling. The help names the closest miss: the
//! condition that failed in a job whose expression did match, if any.

use std::hash::{Hash, Hasher};

use tollgate_inventory::{Language, TestItem};
use tollgate_select::{Selector, Verdict};

use crate::context::{Context, Failing, FastHasher, FastMap};
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
    let mut reachable = Reachability::new(&selector);
    for group in &ctx.functions {
        let misses: Vec<(usize, Option<String>)> = group
            .iter()
            .map(|&i| (i, reachable.check(ctx, i)))
            .collect();
        let miss = |i: usize| {
            misses
                .iter()
                .find(|(g, _)| *g == i)
                .and_then(|(_, m)| m.as_ref())
        };
        let Some(failing) = Failing::of(group, |i| miss(i).is_some()) else {
            continue;
        };
        for (i, label) in failing.sites(ctx.tests) {
            let test = &ctx.tests[i];
            let help = miss(i).cloned().unwrap_or_default();
            out.push(INFO.finding(
                At::new(&test.file, test.line).test(label),
                format!("no pipeline runs `{label}`"),
                help,
            ));
        }
    }
}

/// Everything selection looks at, except mark arguments: the language, the
/// canonical marker names, and for Rust the required features and whether
/// the test is ignored.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Signature<'a> {
    language: Language,
    markers: Vec<&'a str>,
    features: Vec<&'a str>,
    ignored: bool,
}

/// Whether some pipeline runs a test, memoized by what selection depends
/// on. Large suites have tens of thousands of tests but only a few hundred
/// distinct marker sets, so this turns pipelines × jobs expression
/// evaluations per test into one hash lookup.
///
/// The lookup allocates nothing: each test's signature is built in a reused
/// scratch value and looked up by its hash; only a new signature is copied
/// into the table.
struct Reachability<'s, 'c, 'a> {
    selector: &'s Selector<'c>,
    /// Signature hash → the signatures with that hash and their answers:
    /// `None`, some pipeline runs it; `Some(help)`, none does, and why.
    known: FastMap<u64, Vec<(Signature<'a>, Option<String>)>>,
    scratch: Signature<'a>,
}

impl<'s, 'c, 'a> Reachability<'s, 'c, 'a> {
    fn new(selector: &'s Selector<'c>) -> Self {
        Reachability {
            selector,
            known: FastMap::default(),
            scratch: Signature {
                language: Language::Python,
                markers: Vec::new(),
                features: Vec::new(),
                ignored: false,
            },
        }
    }

    /// `None` when some pipeline runs the test, else the closest miss.
    fn check(&mut self, ctx: &Context<'a>, index: usize) -> Option<String> {
        let test: &'a TestItem = &ctx.tests[index];
        // A keyword term (`timeout(seconds=5)`) compares mark arguments, which
        // the signature leaves out: such tests are asked directly.
        if test.markers.iter().any(|m| !m.kwargs.is_empty()) {
            return self.ask(test);
        }
        let signature = &mut self.scratch;
        signature.language = test.language;
        signature.markers.clear();
        signature
            .markers
            .extend(ctx.resolved[index].marks.iter().map(|(n, _, _)| *n));
        signature.markers.sort_unstable();
        signature.features.clear();
        signature.ignored = false;
        if let Some(facts) = &test.rust {
            signature
                .features
                .extend(facts.required_features.iter().map(String::as_str));
            signature.features.sort_unstable();
            signature.ignored = facts.ignored.is_some();
        }
        let hash = {
            let mut hasher = FastHasher::default();
            signature.hash(&mut hasher);
            hasher.finish()
        };
        if let Some((_, known)) = self
            .known
            .get(&hash)
            .and_then(|bucket| bucket.iter().find(|(s, _)| s == signature))
        {
            return known.clone();
        }
        let answer = self.ask(test);
        self.known
            .entry(hash)
            .or_default()
            .push((self.scratch.clone(), answer.clone()));
        answer
    }

    fn ask(&self, test: &TestItem) -> Option<String> {
        (!self.selector.any_pipeline_selects(test)).then(|| closest_miss(self.selector, test))
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
