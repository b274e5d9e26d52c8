//! A table that reads well in a terminal and pastes well in a CI log:
//! fixed-width columns, no colour, no box drawing.

use std::fmt::Write as _;

use crate::changes::ChangeScope;
use crate::Plan;

pub fn human(plan: &Plan) -> String {
    let mut out = String::new();
    let mut header = format!("pipeline {} (stage {})", plan.pipeline, plan.stage);
    if let Some(fw) = &plan.framework {
        let _ = write!(
            header,
            ", framework {fw} ({})",
            plan.framework_source.as_deref().unwrap_or("default")
        );
    }
    if plan.framework.is_none() && plan.framework_source.as_deref() == Some("pipeline") {
        header.push_str(", every framework in its own job instance");
    }
    let _ = writeln!(out, "{header}");
    if let Some(changes) = &plan.changes {
        let scope = match &changes.scope {
            ChangeScope::Everything { reason } => format!("everything runs: {reason}"),
            ChangeScope::LintOnly { reason } => format!("lint only: {reason}"),
            ChangeScope::Affected { tests } => format!("{} affected test(s)", tests.len()),
        };
        let _ = writeln!(out, "changes: {} file(s), {scope}", changes.files.len());
    }

    let rows: Vec<[String; 5]> = plan
        .jobs
        .iter()
        .map(|j| {
            let tests = if j.tests.is_empty() {
                "-".to_string()
            } else {
                format!(
                    "{} ({} py, {} rs)",
                    j.tests.len(),
                    j.python_tests,
                    j.rust_tests
                )
            };
            let shards = if j.shards.is_empty() {
                String::new()
            } else {
                format!(" x{}", j.shards.len())
            };
            [
                j.stage.to_string(),
                j.name.clone() + &shards,
                if j.gating { "yes" } else { "no" }.to_string(),
                j.runner.summary(),
                tests,
            ]
        })
        .collect();
    let titles = ["STAGE", "JOB", "GATING", "RUNNER", "TESTS"];
    let mut widths = titles.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.len());
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (cell, w) in cells.iter().zip(widths) {
            let _ = write!(s, "{cell:<w$}  ");
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(titles));
    for row in &rows {
        let _ = writeln!(
            out,
            "{}",
            line([&row[0], &row[1], &row[2], &row[3], &row[4]])
        );
    }
    // Commands in full, below the table: a filterset of exact test names
    // can be long, and a wrapped table cell would not paste back into a shell.
    if plan
        .jobs
        .iter()
        .any(|j| !j.commands.is_empty() || !j.shards.is_empty())
    {
        let _ = writeln!(out, "commands:");
    }
    for job in &plan.jobs {
        for command in &job.commands {
            let _ = writeln!(out, "  [{}] {command}", job.name);
        }
        for shard in &job.shards {
            for command in &shard.commands {
                let _ = writeln!(
                    out,
                    "  [{} {}/{}] {command}",
                    job.name, shard.index, shard.count
                );
            }
        }
    }
    if plan.jobs.iter().any(|j| !j.shards.is_empty()) {
        let _ = writeln!(out, "shards:");
    }
    for job in &plan.jobs {
        for shard in &job.shards {
            let estimate = shard
                .estimated_s
                .map_or(String::new(), |s| format!(", ~{}", duration(s)));
            let _ = writeln!(
                out,
                "  [{} {}/{}] {} test(s){estimate}",
                job.name,
                shard.index,
                shard.count,
                shard.tests.len()
            );
        }
    }
    if plan.jobs.is_empty() {
        let _ = writeln!(out, "(no jobs)");
    }
    if !plan.dropped.is_empty() {
        let _ = writeln!(out, "dropped:");
        let w = plan.dropped.iter().map(|d| d.name.len()).max().unwrap_or(0);
        for d in &plan.dropped {
            let _ = writeln!(out, "  {:<w$}  {}", d.name, d.reason);
        }
    }
    if !plan.unrunnable.is_empty() {
        let _ = writeln!(out, "not run (the runner cannot host them):");
        for u in &plan.unrunnable {
            let _ = writeln!(out, "  {}  in {}: {}", u.test, u.job, u.reason);
        }
    }
    if !plan.not_run.is_empty() {
        // Grouped by reason: a narrowed PR plan leaves thousands of tests
        // out for the same reason.
        let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
        for u in &plan.not_run {
            match by_reason.iter_mut().find(|(r, _)| *r == u.reason) {
                Some((_, tests)) => tests.push(&u.test),
                None => by_reason.push((&u.reason, vec![&u.test])),
            }
        }
        let _ = writeln!(
            out,
            "not run by any job ({} test(s) of stage `{}` or earlier; `--format json` lists them all):",
            plan.not_run.len(),
            plan.stage
        );
        for (reason, tests) in &by_reason {
            let _ = writeln!(out, "  {} test(s): {reason}", tests.len());
            for test in tests.iter().take(3) {
                let _ = writeln!(out, "    {test}");
            }
            if tests.len() > 3 {
                let _ = writeln!(out, "    ...");
            }
        }
    }
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    let total: usize = plan.jobs.iter().map(|j| j.tests.len()).sum();
    let _ = writeln!(
        out,
        "{} job(s) in {} stage(s), {} dropped, {total} test run(s){}",
        plan.jobs.len(),
        plan.stages.len(),
        plan.dropped.len(),
        if plan.fail_fast {
            "; a failed gating job stops later stages"
        } else {
            ""
        }
    );
    out
}

/// `4.2s`, `12m 03s`, `1h 02m`: an estimate, to the precision that matters.
fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".to_string();
    }
    if seconds < 60.0 {
        return format!("{seconds:.1}s");
    }
    let whole = seconds.round() as u64;
    if whole < 3600 {
        format!("{}m {:02}s", whole / 60, whole % 60)
    } else {
        format!("{}h {:02}m", whole / 3600, (whole % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(4.24), "4.2s");
        assert_eq!(duration(59.94), "59.9s");
        assert_eq!(duration(723.4), "12m 03s");
        assert_eq!(duration(3720.0), "1h 02m");
        assert_eq!(duration(f64::NAN), "?");
    }
}
