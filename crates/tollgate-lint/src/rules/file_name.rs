//! TG302: a Python test file whose name does not follow `[lint.file_name]`
//! (seed 003: `test_<component>_<flow>.py`).
//!
//! The pattern's placeholders: `{component}` is a declared component or
//! framework name (or its marker), `{framework}` a declared framework, and
//! `{flow}` / `{name}` any `[a-z0-9_]+`. Reported once per file, at its
//! first test.

use std::collections::HashSet;

use regex::Regex;
use tollgate_config::{Config, FileNameRule};
use tollgate_inventory::Language;

use crate::context::{compile, test_label, Context};
use crate::finding::{At, Finding, Severity};
use crate::rules::RuleInfo;

pub(crate) const INFO: RuleInfo = RuleInfo {
    code: "TG302",
    name: "file-name",
    summary: "a test file's name does not follow the configured pattern",
    severity: Severity::Warning,
    fixable: false,
};

pub(crate) fn check(ctx: &Context<'_>, out: &mut Vec<Finding>) {
    let Some(rule) = &ctx.config.lint.file_name else {
        return;
    };
    let Some(pattern) = file_name_regex(ctx.config, rule) else {
        return;
    };
    let applies_to = compile(&rule.applies_to);
    let mut seen: HashSet<&str> = HashSet::new();
    for test in ctx.tests.iter().filter(|t| t.language == Language::Python) {
        if !seen.insert(&test.file) {
            continue;
        }
        if applies_to.as_ref().is_some_and(|g| !g.is_match(&test.file)) {
            continue;
        }
        let base = test.file.rsplit('/').next().unwrap_or(&test.file);
        if pattern.is_match(base) {
            continue;
        }
        out.push(INFO.finding(
            At::new(&test.file, test.line).test(test_label(test)),
            format!("test file name `{base}` does not match `{}`", rule.pattern),
            "rename the file after the component it tests and the flow it exercises".to_string(),
        ));
    }
}

/// The pattern as an anchored regex; `None` only if it cannot compile.
pub(crate) fn file_name_regex(config: &Config, rule: &FileNameRule) -> Option<Regex> {
    let mut components: Vec<&str> = Vec::new();
    for (name, c) in config.components.iter() {
        components.push(name);
        components.push(c.marker_or(name));
    }
    let mut frameworks: Vec<&str> = Vec::new();
    for (name, f) in config.frameworks.iter() {
        frameworks.push(name);
        frameworks.push(f.marker_or(name));
    }
    let word = "[a-z0-9_]+".to_string();
    let alternation = |names: &[&str]| {
        if names.is_empty() {
            word.clone()
        } else {
            let escaped: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
            format!("(?:{})", escaped.join("|"))
        }
    };
    let mut any_component = components.clone();
    any_component.extend(&frameworks);
    let mut out = String::from("^");
    let mut rest = rule.pattern.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&regex::escape(&rest[..open]));
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&regex::escape(&rest[open..]));
            rest = "";
            break;
        };
        match &after[..close] {
            "component" => out.push_str(&alternation(&any_component)),
            "framework" => out.push_str(&alternation(&frameworks)),
            "flow" | "name" => out.push_str(&word),
            other => out.push_str(&regex::escape(&format!("{{{other}}}"))),
        }
        rest = &after[close + 1..];
    }
    out.push_str(&regex::escape(rest));
    out.push('$');
    Regex::new(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(src: &str, pattern: &str) -> Regex {
        let config = Config::from_str(src, "tollgate.toml").unwrap_or_default();
        let rule = FileNameRule {
            pattern: pattern.into(),
            applies_to: Vec::new(),
        };
        file_name_regex(&config, &rule)
            .unwrap_or_else(|| Regex::new("^$").unwrap_or_else(|_| unreachable!()))
    }

    #[test]
    fn placeholders_expand_to_declared_names_or_words() {
        let src = "[components.planner]\n[components.kv]\nmarker = \"kvbm\"\n[frameworks.vllm]\n";
        let r = regex(src, "test_{component}_{flow}.py");
        assert!(r.is_match("test_planner_scaling.py"));
        assert!(r.is_match("test_kvbm_offload.py"));
        assert!(r.is_match("test_vllm_engine.py"));
        assert!(!r.is_match("test_misc.py"));
        assert!(!r.is_match("test_serve_x.py"));
        assert!(
            !r.is_match("test_plannerXscaling.py"),
            "the dot and braces are literal"
        );
        let any = regex("", "test_{name}_{flow}.py");
        assert!(any.is_match("test_fault_tolerance_migration.py"));
        assert!(!any.is_match("test_misc.py"));
        assert!(!any.is_match("test_Misc_x.py"));
    }
}
