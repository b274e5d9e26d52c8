//! The rules, one per file. Each file exports `INFO` (its code, name,
//! default severity and whether it is fixable) and `check`, which reads the
//! shared [`Context`] and pushes findings. Codes are stable: a retired rule's
//! code is never reused.

mod alias_in_use;
mod broken_test_file;
mod dynamic_markers;
mod exclusive_category_conflict;
mod file_name;
mod ignore_without_reason;
mod integration_not_feature_gated;
mod missing_required_category;
mod never_run;
mod quarantine_expired;
mod quarantine_unmatched;
mod registered_unused;
mod unknown_marker;
mod unregistered_marker;
mod wrong_location;

use rayon::prelude::*;
use serde::Serialize;

use crate::context::Context;
use crate::finding::{At, Finding, Severity};

/// What a rule is, for listings, SARIF's `tool.driver.rules` and docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    pub code: &'static str,
    pub name: &'static str,
    /// One line: what the rule reports.
    pub summary: &'static str,
    /// The usual severity; a finding may differ (see the rule's docs).
    pub severity: Severity,
    pub fixable: bool,
}

impl RuleInfo {
    pub(crate) fn finding(
        &self,
        at: At,
        message: String,
        help: impl Into<Option<String>>,
    ) -> Finding {
        Finding {
            code: self.code,
            rule: self.name,
            severity: self.severity,
            message,
            help: help.into(),
            file: at.file,
            line: at.line,
            column: 0,
            test: at.test,
            fixable: false,
            fix: None,
        }
    }
}

type Check = fn(&Context<'_>, &mut Vec<Finding>);

/// Every rule with its check, in code order.
const RULES: &[(RuleInfo, Check)] = &[
    (
        missing_required_category::INFO,
        missing_required_category::check,
    ),
    (
        exclusive_category_conflict::INFO,
        exclusive_category_conflict::check,
    ),
    (unknown_marker::INFO, unknown_marker::check),
    (alias_in_use::INFO, alias_in_use::check),
    (unregistered_marker::INFO, unregistered_marker::check),
    (registered_unused::INFO, registered_unused::check),
    (wrong_location::INFO, wrong_location::check),
    (file_name::INFO, file_name::check),
    (
        integration_not_feature_gated::INFO,
        integration_not_feature_gated::check,
    ),
    (ignore_without_reason::INFO, ignore_without_reason::check),
    (dynamic_markers::INFO, dynamic_markers::check),
    (broken_test_file::INFO, broken_test_file::check),
    (never_run::INFO, never_run::check),
    (quarantine_expired::INFO, quarantine_expired::check),
    (quarantine_unmatched::INFO, quarantine_unmatched::check),
];

/// Every rule, in code order.
pub fn all_rules() -> impl Iterator<Item = &'static RuleInfo> {
    RULES.iter().map(|(info, _)| info)
}

/// The rule with this code (`TG101`) or name (`missing-required-category`).
pub fn rule(code_or_name: &str) -> Option<&'static RuleInfo> {
    all_rules().find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// Runs every rule not disabled in `[lint] disable` (by code or name).
///
/// Rules only read the shared context, so they run in parallel: by the time
/// lint starts, discovery is over and every core is free. The findings are
/// sorted afterwards, so the order they arrive in does not matter.
pub(crate) fn run(ctx: &Context<'_>) -> Vec<Finding> {
    let disabled = &ctx.config.lint.disable;
    let enabled: Vec<&Check> = RULES
        .iter()
        .filter(|(info, _)| {
            !disabled
                .iter()
                .any(|d| d.eq_ignore_ascii_case(info.code) || d == info.name)
        })
        .map(|(_, check)| check)
        .collect();
    enabled
        .into_par_iter()
        .map(|check| {
            let mut findings = Vec::new();
            check(ctx, &mut findings);
            findings
        })
        .flatten_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_well_formed() {
        let rules: Vec<&RuleInfo> = all_rules().collect();
        for (i, a) in rules.iter().enumerate() {
            assert!(a.code.starts_with("TG") && a.code.len() == 5, "{}", a.code);
            assert!(a.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            for b in &rules[i + 1..] {
                assert_ne!(a.code, b.code);
                assert_ne!(a.name, b.name);
            }
        }
        assert_eq!(rule("tg104").map(|r| r.name), Some("alias-in-use"));
        assert_eq!(rule("never-run").map(|r| r.code), Some("TG601"));
        assert!(rule("TG999").is_none());
    }
}
