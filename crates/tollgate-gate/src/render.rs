//! Verdicts as a terminal table, as Markdown (CI step summary, PR comment)
//! and as JSON (the shape SPEC §8 fixes).

use std::fmt::Write as _;

use crate::model::{CheckResult, Outcome, Verdict};

fn number(value: Option<f64>) -> String {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => format!("{v:.2}"),
        None => "—".to_string(),
    }
}

fn headline(verdict: &Verdict) -> &'static str {
    match verdict.verdict {
        Outcome::Pass => "pass",
        Outcome::Blocked => "blocked",
    }
}

/// A plain, aligned table with a summary line listing the alerts.
pub fn table(verdict: &Verdict) -> String {
    let rows: Vec<[String; 5]> = verdict
        .checks
        .iter()
        .map(|c| {
            [
                c.name.clone(),
                c.status.as_str().to_string(),
                number(c.measured),
                number(c.threshold),
                c.detail.clone(),
            ]
        })
        .collect();
    let header = ["CHECK", "STATUS", "MEASURED", "THRESHOLD", "DETAIL"];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, cells: [&str; 5]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let pad = w - cell.chars().count();
                let _ = write!(text, "{cell}{}  ", " ".repeat(pad));
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(&mut out, header);
    for row in &rows {
        line(&mut out, [&row[0], &row[1], &row[2], &row[3], &row[4]]);
    }
    let _ = writeln!(
        out,
        "\ngate: {}{}",
        headline(verdict),
        alert_suffix(verdict)
    );
    out
}

fn alert_suffix(verdict: &Verdict) -> String {
    let alerts: Vec<&str> = verdict.alerts().map(|c| c.name.as_str()).collect();
    if alerts.is_empty() {
        String::new()
    } else {
        format!(" ({} alert(s): {})", alerts.len(), alerts.join(", "))
    }
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn icon(check: &CheckResult) -> &'static str {
    match check.status {
        crate::Status::Pass => "✅",
        crate::Status::Alert => "⚠️",
        crate::Status::Block => "❌",
    }
}

/// GitHub-flavoured Markdown for `$GITHUB_STEP_SUMMARY` or a PR comment.
pub fn markdown(verdict: &Verdict, title: &str) -> String {
    let mut out = String::new();
    let mark = match verdict.verdict {
        Outcome::Pass => "✅ pass",
        Outcome::Blocked => "❌ blocked",
    };
    let _ = writeln!(out, "### {}: {mark}\n", markdown_cell(title));
    let _ = writeln!(out, "| Check | Status | Measured | Threshold | Detail |");
    let _ = writeln!(out, "| --- | --- | ---: | ---: | --- |");
    for c in &verdict.checks {
        let _ = writeln!(
            out,
            "| `{}` | {} {} | {} | {} | {} |",
            markdown_cell(&c.name),
            icon(c),
            c.status.as_str(),
            number(c.measured),
            number(c.threshold),
            markdown_cell(&c.detail)
        );
    }
    let alerts: Vec<&CheckResult> = verdict.alerts().collect();
    if !alerts.is_empty() {
        let _ = writeln!(out, "\n**Alerts**\n");
        for c in alerts {
            let _ = writeln!(
                out,
                "- `{}`: {}",
                markdown_cell(&c.name),
                markdown_cell(&c.detail)
            );
        }
    }
    out
}

/// `{"verdict": ..., "checks": [{"name", "status", "measured", "threshold"}]}`.
pub fn json(verdict: &Verdict) -> String {
    // Serializing plain data with string keys cannot fail; fall back to a
    // minimal document rather than panicking if it ever did.
    serde_json::to_string_pretty(verdict)
        .unwrap_or_else(|_| format!("{{\"verdict\": \"{}\", \"checks\": []}}", headline(verdict)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    fn sample() -> Verdict {
        Verdict::from_checks(vec![
            CheckResult {
                name: "coverage.rust".into(),
                status: Status::Pass,
                measured: Some(82.5),
                threshold: Some(80.0),
                detail: "165/200 lines".into(),
            },
            CheckResult {
                name: "coverage_drop.python".into(),
                status: Status::Block,
                measured: Some(3.0),
                threshold: Some(2.0),
                detail: "90.00% → 87.00%".into(),
            },
            CheckResult {
                name: "flaky_rate".into(),
                status: Status::Alert,
                measured: Some(6.25),
                threshold: Some(5.0),
                detail: "1 of 16 tests | flaky".into(),
            },
        ])
    }

    #[test]
    fn json_has_exactly_the_specified_shape() {
        let value: serde_json::Value = serde_json::from_str(&json(&sample())).unwrap_or_default();
        assert_eq!(value["verdict"], "blocked");
        let checks = value["checks"].as_array().cloned().unwrap_or_default();
        assert_eq!(checks.len(), 3);
        let keys: Vec<&String> = checks[0]
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["measured", "name", "status", "threshold"]);
        assert_eq!(checks[2]["status"], "alert");
        assert_eq!(checks[1]["measured"], 3.0);
    }

    #[test]
    fn table_lists_checks_and_alerts() {
        let text = table(&sample());
        assert!(text.starts_with("CHECK"));
        assert!(text.contains("coverage_drop.python  block   3         2"));
        assert!(text.ends_with("gate: blocked (1 alert(s): flaky_rate)\n"));
    }

    #[test]
    fn markdown_escapes_pipes_and_lists_alerts() {
        let text = markdown(&sample(), "gate pr");
        assert!(text.starts_with("### gate pr: ❌ blocked"));
        assert!(text.contains("| `flaky_rate` | ⚠️ alert | 6.25 | 5 | 1 of 16 tests \\| flaky |"));
        assert!(text.contains("**Alerts**\n\n- `flaky_rate`"));
    }
}
