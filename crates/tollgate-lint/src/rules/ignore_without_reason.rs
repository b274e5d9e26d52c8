//! TG402: `#[ignore]` without a reason (`#[ignore = "needs NATS"]`), when
//! `[lint] require_ignore_reason` is set. An ignored test is one nobody
//! runs by default; the reason is what tells the next reader whether it is
//! slow, special, or broken.

use crate::context::{test_label, Context};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG402",
    name: "ignore-without-reason",
    summary: "a Rust test is #[ignore]d without a reason",
    severity: Severity::Warning,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if !ctx.config.lint.require_ignore_reason {
        return;
    }
    for test in ctx.tests {
        let Some(facts) = &test.rust else { continue };
        if facts
            .ignored
            .as_deref()
            .is_some_and(|r| r.trim().is_empty())
        {
            let label = test_label(test);
            out.push(INFO.finding(
                At::new(&test.file, facts.ignore_line.unwrap_or(test.line)).test(label),
                format!("`{label}` is #[ignore]d without a reason"),
                "write the reason: #[ignore = \"why it does not run by default\"]".to_string(),
            ));
        }
    }
}
