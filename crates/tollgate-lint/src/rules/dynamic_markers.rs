//! TG501: a test discovery could not fully know statically (parametrize
//! values or marks computed at import time), so lint cannot verify its
//! markers. A warning with discovery's reason: the test may well be fine.

use crate::context::{test_label, Context};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG501",
    name: "dynamic-markers",
    summary: "a test's markers cannot be verified statically",
    severity: Severity::Warning,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    for group in &ctx.functions {
        let Some((test, reason)) = group
            .iter()
            .map(|&i| &ctx.tests[i])
            .find_map(|t| t.dynamic.as_deref().map(|reason| (t, reason)))
        else {
            continue;
        };
        let label = test_label(test);
        out.push(INFO.finding(
            At::new(&test.file, test.line).test(label),
            format!("markers of `{label}` cannot be verified statically: {reason}"),
            "use literal parametrize values and marks, or declare its markers with a [[rules]] entry".to_string(),
        ));
    }
}
