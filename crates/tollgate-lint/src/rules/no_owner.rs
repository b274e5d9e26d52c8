//! TG801: a component, framework or test that nobody owns (seed 004: "All
//! tests failing in CI must be investigated and fixed as a priority" — by
//! someone). Active once the project configures ownership at all (an
//! `owner` anywhere, `[owners] fallback`, CI areas or a CODEOWNERS file).
//!
//! A test is owned by its owner marker, its component's or framework's
//! owner (by marker, then path), a CODEOWNERS rule, or the fallback; see
//! `tollgate owners TEST` for why.

use std::path::Path;

use tollgate_config::Config;
use tollgate_owners::{CodeOwners, Flavor, Resolver};

use crate::context::Context;
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG801",
    name: "no-owner",
    summary: "a component, framework or test that no owner, CODEOWNERS rule or fallback claims",
    severity: Severity::Warning,
    fixable: false,
};

/// The resolver for `config`, reading its CODEOWNERS under `root`; `None`
/// when the project configures no ownership (or a glob or CODEOWNERS line is
/// invalid: `tollgate config check` and `tollgate owners` report those).
pub(crate) fn resolver(config: &Config, root: &Path) -> Option<Resolver> {
    let owners = &config.owners;
    let codeowners = owners.codeowners.as_ref().and_then(|file| {
        let text = std::fs::read_to_string(root.join(file)).ok()?;
        let flavor = match owners.codeowners_flavor {
            Some(tollgate_config::CodeownersFlavor::Gitlab) => Flavor::Gitlab,
            Some(tollgate_config::CodeownersFlavor::Github) => Flavor::Github,
            None if file.contains(".gitlab/") => Flavor::Gitlab,
            None => Flavor::Github,
        };
        CodeOwners::parse(file, &text, flavor).ok()
    });
    let configured = codeowners.is_some()
        || owners.fallback.is_some()
        || !owners.ci_areas.is_empty()
        || config.components.values().any(|c| c.owner.is_some())
        || config.frameworks.values().any(|f| f.owner.is_some());
    if !configured {
        return None;
    }
    Resolver::new(config, codeowners).ok()
}

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let Some(resolver) = &ctx.owners else {
        return;
    };
    let file = if ctx.config.origin_file.is_empty() {
        tollgate_config::CONFIG_FILE
    } else {
        ctx.config.origin_file.as_str()
    };
    for (kind, name) in resolver.unowned_units() {
        out.push(INFO.finding(
            At::new(file, 0),
            format!("{kind} `{name}` has no owner"),
            format!("add `owner = \"...\"` to [{kind}s.{name}] (seed 004's PIC table)"),
        ));
    }
    for group in &ctx.functions {
        let Some(&first) = group.first() else {
            continue;
        };
        let test = &ctx.tests[first];
        if resolver.for_test(test).is_none() {
            out.push(INFO.finding(
                At::new(&test.file, test.line).test(&test.function),
                format!("nobody owns `{}`", test.function),
                "give it an owner marker, a component marker or path with an owner, a CODEOWNERS rule, or set [owners] fallback".to_string(),
            ));
        }
    }
}
