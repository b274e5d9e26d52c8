//! GitHub Actions: a matrix for `strategy.matrix` (`{"include": [...]}`,
//! one entry per job or shard) and a Markdown step summary.
//!
//! Use it as
//! ```yaml
//! jobs:
//!   plan:
//!     outputs: { matrix: ${{ steps.plan.outputs.matrix }} }
//!     steps:
//!       - id: plan
//!         run: echo "matrix=$(tollgate plan --pipeline pr --format github)" >> "$GITHUB_OUTPUT"
//!   test:
//!     needs: plan
//!     if: ${{ fromJSON(needs.plan.outputs.matrix).include[0] }}
//!     strategy: { matrix: ${{ fromJSON(needs.plan.outputs.matrix) }} }
//!     runs-on: ${{ matrix.runs_on }}
//!     steps: [ { run: "${{ matrix.script }}" } ]
//! ```
//! GitHub rejects an empty matrix, hence the `if:` guard.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::json;

use super::script;
use crate::Plan;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubOutput {
    /// One line of JSON (fits `$GITHUB_OUTPUT`).
    pub matrix: String,
    /// Markdown for `$GITHUB_STEP_SUMMARY`.
    pub summary: String,
}

#[derive(Serialize)]
struct Entry<'a> {
    name: String,
    job: &'a str,
    stage: u32,
    gating: bool,
    gpus: u32,
    runs_on: serde_json::Value,
    framework: Option<&'a str>,
    container: Option<&'a str>,
    shard: u32,
    shards: u32,
    tests: usize,
    script: String,
}

pub fn github(plan: &Plan) -> GithubOutput {
    let mut include = Vec::new();
    for job in &plan.jobs {
        // Labels from the job or `[[runner_labels]]`; a GPU job without any
        // asks for a self-hosted GPU runner rather than a hosted CPU one.
        let runs_on = if !job.runner.labels.is_empty() {
            json!(job.runner.labels)
        } else if job.runner.gpus > 0 {
            json!(["self-hosted", format!("gpu-{}", job.runner.gpus)])
        } else {
            json!("ubuntu-latest")
        };
        let entry =
            |name: String, shard: u32, shards: u32, tests: usize, commands: &[String]| Entry {
                name,
                job: &job.job,
                stage: job.stage,
                gating: job.gating,
                gpus: job.runner.gpus,
                runs_on: runs_on.clone(),
                framework: job.framework.as_deref(),
                container: job.runner.container.as_deref(),
                shard,
                shards,
                tests,
                script: job_script(plan, &job.name, commands),
            };
        if job.shards.is_empty() {
            include.push(entry(
                job.name.clone(),
                1,
                1,
                job.tests.len(),
                &job.commands,
            ));
        } else {
            for s in &job.shards {
                let name = format!("{} ({}/{})", job.name, s.index, s.count);
                include.push(entry(name, s.index, s.count, s.tests.len(), &s.commands));
            }
        }
    }
    let matrix = serde_json::to_string(&json!({ "include": include })).unwrap_or_default();
    GithubOutput {
        matrix,
        summary: summary(plan),
    }
}

/// The job's commands, preceded by `tollgate plan ... --job NAME` when they
/// read files that only the planning machine has.
pub(crate) fn job_script(plan: &Plan, job: &str, commands: &[String]) -> String {
    if Plan::reads_plan_files(commands) {
        let mut all = vec![plan.replan_job(job)];
        all.extend(commands.iter().cloned());
        script(&all)
    } else {
        script(commands)
    }
}

fn summary(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### tollgate plan: `{}`\n", plan.pipeline);
    if let Some(fw) = &plan.framework {
        let _ = writeln!(
            out,
            "Framework under test: `{fw}` ({})\n",
            plan.framework_source.as_deref().unwrap_or("default")
        );
    }
    let _ = writeln!(out, "| stage | job | gating | runner | tests |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for job in &plan.jobs {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} |",
            job.stage,
            md(&job.name),
            if job.gating { "yes" } else { "no" },
            md(&job.runner.summary()),
            job.tests.len()
        );
    }
    if !plan.dropped.is_empty() {
        let _ = writeln!(out, "\n**Dropped jobs**\n");
        for d in &plan.dropped {
            let _ = writeln!(out, "- `{}`: {}", md(&d.name), md(&d.reason));
        }
    }
    if !plan.unrunnable.is_empty() {
        let _ = writeln!(
            out,
            "\n**Tests the runner cannot host** ({})\n",
            plan.unrunnable.len()
        );
        for u in &plan.unrunnable {
            let _ = writeln!(
                out,
                "- `{}` in `{}`: {}",
                md(&u.test),
                md(&u.job),
                md(&u.reason)
            );
        }
    }
    let unlabelled: Vec<&str> = plan
        .jobs
        .iter()
        .filter(|j| j.runner.gpus > 0 && j.runner.labels.is_empty())
        .map(|j| j.name.as_str())
        .collect();
    if !unlabelled.is_empty() {
        let _ = writeln!(
            out,
            "\n> GPU job(s) without runner labels run on `[self-hosted, gpu-N]`: {}; set `runner.labels` or `[[runner_labels]]` in tollgate.toml",
            md(&unlabelled.join(", "))
        );
    }
    if !plan.not_run.is_empty() {
        let _ = writeln!(
            out,
            "\n**{} test(s) of this stage run by no job** (`tollgate plan --format json` lists them with reasons)",
            plan.not_run.len()
        );
    }
    for note in &plan.notes {
        let _ = writeln!(out, "\n> {}", md(note));
    }
    out
}

/// Escapes what would break a Markdown table cell.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
