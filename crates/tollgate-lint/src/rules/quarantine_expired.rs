//! TG701: a quarantine entry past its `expires` date, or with a date that
//! is not `YYYY-MM-DD`. Quarantine is a loan, not a gift: once it lapses the
//! test fails the run again (the runner stops honouring the entry), so the
//! entry must be dealt with — the test fixed, or the loan renewed on purpose.

use tollgate_config::quarantine::{expired_entries, EntryProblem};

use crate::context::Context;
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG701",
    name: "quarantine-expired",
    summary: "a quarantine entry is past its expiry date (or its date is unreadable)",
    severity: Severity::Error,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let Some(input) = ctx.quarantine else {
        return;
    };
    for expired in expired_entries(&input.quarantine, input.today) {
        let at = At::new(&input.file, input.line(expired.index));
        let id = &expired.id;
        out.push(match expired.problem {
            EntryProblem::Expired { expires } => INFO.finding(
                at,
                format!(
                    "quarantine of `{id}` expired on {expires} (today is {}): its failures fail runs again",
                    input.today
                ),
                format!(
                    "fix the test and run `tollgate quarantine remove '{id}'`, or set a later `expires` with the owner's agreement"
                ),
            ),
            EntryProblem::BadDate { text } => INFO.finding(
                at,
                format!("quarantine of `{id}` has `expires = {text:?}`, not a YYYY-MM-DD date: the entry protects nothing"),
                "write the date as YYYY-MM-DD, e.g. expires = \"2026-12-31\"".to_string(),
            ),
        });
    }
}
