//! Handing a job's selection to pytest as `-m EXPR`, when that is exact.
//!
//! tollgate selects with more than the job's expression: lifecycle
//! inheritance, aliases (pytest knows nothing of `premerge` meaning
//! `pre_merge`), markers added by `tollgate.toml` rules (pytest does not see
//! them), the framework under test, runner capability and changed files. The
//! `-m` built here spells out what it can (every alias, the inherited
//! stages, the framework filter); the planner then checks, test by test, that
//! pytest would select exactly the planned tests with it, and falls back to
//! a file of node ids (`pytest @file`, pytest ≥ 8.2) when it would not.

use std::borrow::Cow;
use std::collections::HashMap;

use tollgate_config::Taxonomy;
use tollgate_inventory::{MarkSource, TestItem};
use tollgate_markexpr::Expression;

/// Which framework's tests a job instance runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameworkFilter {
    /// Not framework-specific.
    Any,
    /// The framework under test's tests (those marked for several frameworks
    /// included) and framework-free ones (`framework = "selected"`):
    /// `(fw or not (other or ...))`.
    Selected { marker: String, others: Vec<String> },
    /// One framework's tests only (`framework = "each"`).
    Only { marker: String },
    /// Framework-free tests only (the `[common]` instance of an `each` job).
    Free { all: Vec<String> },
}

/// Spellings of each canonical marker (itself first, then its aliases).
pub(crate) struct Spellings {
    by_canonical: HashMap<String, Vec<String>>,
}

impl Spellings {
    pub(crate) fn new(taxonomy: &Taxonomy) -> Spellings {
        let mut by_canonical: HashMap<String, Vec<String>> = HashMap::new();
        for (alias, _) in taxonomy.aliases.iter() {
            if let Some(target) = taxonomy.resolve_alias(alias) {
                by_canonical
                    .entry(target.to_string())
                    .or_insert_with(|| vec![target.to_string()])
                    .push(alias.to_string());
            }
        }
        Spellings { by_canonical }
    }

    /// `name` as a pytest term matching every spelling: `name` or `(a or b)`.
    fn term(&self, taxonomy: &Taxonomy, name: &str) -> String {
        match self.by_canonical.get(taxonomy.canonical(name)) {
            Some(all) if all.len() > 1 => format!("({})", all.join(" or ")),
            _ => name.to_string(),
        }
    }

    fn any_of(&self, taxonomy: &Taxonomy, names: &[impl AsRef<str>]) -> String {
        let terms: Vec<String> = names
            .iter()
            .map(|n| self.term(taxonomy, n.as_ref()))
            .collect();
        if terms.len() == 1 {
            terms.join("")
        } else {
            format!("({})", terms.join(" or "))
        }
    }
}

/// The `-m` expression for a job: its expression with every marker widened
/// to all its spellings, AND the inherited lifecycle stages, AND the
/// framework filter. `None` if the job expression does not parse.
pub(crate) fn build(
    taxonomy: &Taxonomy,
    spellings: &Spellings,
    job_expr: &str,
    stages: Option<&[&str]>,
    framework: &FrameworkFilter,
) -> Option<String> {
    let parsed = Expression::parse(job_expr).ok()?;
    let mut expr = String::with_capacity(job_expr.len() * 2);
    let mut last = 0;
    for (name, range) in parsed.marker_names() {
        let has_kwargs = job_expr
            .get(range.end..)
            .is_some_and(|rest| rest.trim_start().starts_with('('));
        expr.push_str(job_expr.get(last..range.start)?);
        if has_kwargs {
            expr.push_str(name);
        } else {
            expr.push_str(&spellings.term(taxonomy, name));
        }
        last = range.end;
    }
    expr.push_str(job_expr.get(last..)?);
    let mut clauses = vec![format!("({})", expr.trim())];
    if let Some(stages) = stages {
        clauses.push(spellings.any_of(taxonomy, stages));
    }
    match framework {
        FrameworkFilter::Any => {}
        FrameworkFilter::Selected { others, .. } if others.is_empty() => {}
        // A test marked for several frameworks runs wherever one of them is
        // under test: `(vllm or not (trtllm or sglang))`.
        FrameworkFilter::Selected { marker, others } => clauses.push(format!(
            "({} or not {})",
            spellings.term(taxonomy, marker),
            spellings.any_of(taxonomy, others)
        )),
        FrameworkFilter::Only { marker } => clauses.push(spellings.term(taxonomy, marker)),
        FrameworkFilter::Free { all } if all.is_empty() => {}
        FrameworkFilter::Free { all } => {
            clauses.push(format!("not {}", spellings.any_of(taxonomy, all)))
        }
    }
    Some(clauses.join(" and "))
}

/// A test as pytest sees it: without the markers tollgate's own rules added.
pub(crate) fn pytest_view(test: &TestItem) -> Cow<'_, TestItem> {
    if test
        .markers
        .iter()
        .any(|m| m.origin.source == MarkSource::ConfigRule)
    {
        let mut seen = test.clone();
        seen.markers
            .retain(|m| m.origin.source != MarkSource::ConfigRule);
        Cow::Owned(seen)
    } else {
        Cow::Borrowed(test)
    }
}

/// Whether `expr` can be pasted inside double quotes in a shell command
/// without the shell changing it.
pub(crate) fn shell_safe_in_double_quotes(expr: &str) -> bool {
    !expr.contains(['"', '$', '`', '\\', '!'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_config::Config;

    fn taxonomy() -> Taxonomy {
        let src = r#"
[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_commit = "", pre_merge = "", nightly = "" }
[taxonomy.categories.hardware]
markers = { gpu_0 = "", gpu_1 = "" }
[taxonomy.categories.framework]
markers = { vllm = "", trtllm = "" }
[taxonomy.categories.type]
markers = { e2e = "", gpus = "" }
[taxonomy.aliases]
premerge = "pre_merge"
gpus_needed_1 = "gpu_1"
"#;
        Config::from_str(src, "tollgate.toml").unwrap().taxonomy
    }

    #[test]
    fn widens_aliases_and_adds_lifecycle_and_framework() {
        let t = taxonomy();
        let s = Spellings::new(&t);
        let fw = FrameworkFilter::Selected {
            marker: "vllm".into(),
            others: vec!["trtllm".into()],
        };
        let expr = build(
            &t,
            &s,
            "e2e and  gpu_1",
            Some(&["pre_commit", "pre_merge"]),
            &fw,
        )
        .unwrap();
        assert_eq!(
            expr,
            "(e2e and  (gpu_1 or gpus_needed_1)) and (pre_commit or (pre_merge or premerge)) and (vllm or not trtllm)"
        );
        let expr = build(
            &t,
            &s,
            "gpus_needed_1 or gpus(count=2)",
            None,
            &FrameworkFilter::Any,
        )
        .unwrap();
        assert_eq!(expr, "((gpu_1 or gpus_needed_1) or gpus(count=2))");
        let free = FrameworkFilter::Free {
            all: vec!["vllm".into(), "trtllm".into()],
        };
        let expr = build(&t, &s, "e2e", Some(&["nightly"]), &free).unwrap();
        assert_eq!(expr, "(e2e) and nightly and not (vllm or trtllm)");
        assert!(Expression::parse(&expr).is_ok());
    }

    #[test]
    fn shell_safety() {
        assert!(shell_safe_in_double_quotes("(a and b(x='y'))"));
        assert!(!shell_safe_in_double_quotes("a(x=\"$HOME\")"));
    }
}
