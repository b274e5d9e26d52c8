//! Whole-strategy checks (SPEC §6, also reported by `tollgate lint`): what is
//! wrong with the strategy as a whole rather than with one test's markers.
//!
//! - `never-run`: a test no job of any pipeline selects;
//! - `broken-inheritance`: a test an earlier pipeline runs but a later one
//!   does not (lifecycle stages promise the opposite);
//! - `job-selects-nothing`: a test job that selects no test in any pipeline
//!   that runs it;
//! - `unknown-marker`: a job expression naming a marker the taxonomy lacks.
//!
//! Selection here is [`tollgate_select`]'s: expression, lifecycle, runner and
//! cargo options — not trigger variables or changes, which vary per run.

use std::collections::BTreeSet;

use serde::Serialize;
use tollgate_config::Config;
use tollgate_inventory::Inventory;
use tollgate_markexpr::Expression;
use tollgate_select::Selector;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code: `never-run`, `broken-inheritance`, `job-selects-nothing`, `unknown-marker`.
    pub code: &'static str,
    pub message: String,
    /// The test's file (for test findings) or the config file.
    pub file: String,
    /// 1-based; 0 when unknown.
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// Runs every check; findings come test by test, then job by job.
pub fn strategy_checks(config: &Config, inventory: &Inventory) -> Vec<Finding> {
    let selector = Selector::new(config);
    let taxonomy = &config.taxonomy;
    // Pipelines by lifecycle stage (file order among equals).
    let mut pipelines: Vec<(usize, &str)> = config
        .pipelines
        .iter()
        .filter_map(|(name, p)| taxonomy.stage_index(&p.stage).map(|i| (i, name)))
        .collect();
    pipelines.sort_by_key(|(stage, _)| *stage);
    let config_file = if config.origin_file.is_empty() {
        "tollgate.toml".to_string()
    } else {
        config.origin_file.clone()
    };

    let mut findings = Vec::new();
    let mut job_used: BTreeSet<&str> = BTreeSet::new();
    for test in &inventory.tests {
        let mut selected_in: Vec<(usize, &str)> = Vec::new();
        for &(stage, pipeline) in &pipelines {
            let mut any = false;
            for job in selector.jobs(pipeline) {
                if selector
                    .job_verdict(pipeline, job, test)
                    .is_some_and(|v| v.is_selected())
                {
                    any = true;
                    job_used.insert(job);
                }
            }
            if any {
                selected_in.push((stage, pipeline));
            }
        }
        if selected_in.is_empty() {
            findings.push(Finding {
                code: "never-run",
                message: format!("no job of any pipeline runs `{}`", test.id),
                file: test.file.clone(),
                line: test.line,
                test: Some(test.id.clone()),
                job: None,
            });
            continue;
        }
        if let Some(&(first_stage, first)) = selected_in.first() {
            let missing: Vec<&str> = pipelines
                .iter()
                .filter(|(stage, name)| {
                    *stage > first_stage && !selected_in.iter().any(|(_, n)| n == name)
                })
                .map(|(_, name)| *name)
                .collect();
            if !missing.is_empty() {
                findings.push(Finding {
                    code: "broken-inheritance",
                    message: format!(
                        "`{}` runs in `{first}` but not in the later {}: lifecycle stages promise every later pipeline runs it",
                        test.id,
                        missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                    ),
                    file: test.file.clone(),
                    line: test.line,
                    test: Some(test.id.clone()),
                    job: None,
                });
            }
        }
    }

    let run_jobs: BTreeSet<&str> = config
        .pipelines
        .values()
        .flat_map(|p| p.jobs.iter().map(String::as_str))
        .collect();
    for (name, job) in config.jobs.iter() {
        let has_expr = job.expr.is_some()
            || config
                .pipelines
                .values()
                .any(|p| p.overrides.get(name).is_some_and(|o| o.expr.is_some()));
        if has_expr && run_jobs.contains(name) && !job_used.contains(name) {
            findings.push(Finding {
                code: "job-selects-nothing",
                message: format!("job `{name}` selects no test in any pipeline that runs it"),
                file: config_file.clone(),
                line: 0,
                test: None,
                job: Some(name.to_string()),
            });
        }
    }

    let has_taxonomy = taxonomy.categories.values().any(|c| !c.markers.is_empty());
    if has_taxonomy {
        let mut exprs: Vec<(&str, &str)> = config
            .jobs
            .iter()
            .filter_map(|(name, job)| job.expr.as_deref().map(|e| (name, e)))
            .collect();
        for pipeline in config.pipelines.values() {
            for (name, over) in pipeline.overrides.iter() {
                if let Some(e) = over.expr.as_deref() {
                    exprs.push((name, e));
                }
            }
        }
        for (job, text) in exprs {
            let Ok(expr) = Expression::parse(text) else {
                continue;
            };
            let mut reported = BTreeSet::new();
            for (marker, _) in expr.marker_names() {
                let known = taxonomy.is_marker(taxonomy.canonical(marker));
                if !known && reported.insert(marker) {
                    let hint = taxonomy
                        .suggest(marker)
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    findings.push(Finding {
                        code: "unknown-marker",
                        message: format!("job `{job}`'s expression `{text}` names unknown marker `{marker}`{hint}"),
                        file: config_file.clone(),
                        line: 0,
                        test: None,
                        job: Some(job.to_string()),
                    });
                }
            }
        }
    }
    findings
}
