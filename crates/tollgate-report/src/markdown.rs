//! The PR comment / `$GITHUB_STEP_SUMMARY` text: the verdict first, then
//! what changed against the base run. It shrinks itself to `max_bytes`
//! (GitHub refuses a check summary above 65,535 bytes): the least important
//! sections lose their items first, each cut replaced by an "N more" line.

use std::fmt::Write as _;

use crate::model::{Counts, Report};

/// GitHub's limit for a check-run summary.
pub const GITHUB_SUMMARY_LIMIT: usize = 65_535;

/// A section: a heading, its items (one line each), and how important it is
/// (sections are cut from the least important up).
struct Section {
    heading: String,
    items: Vec<String>,
    priority: u8,
}

fn verdict_line(report: &Report) -> String {
    let (icon, word) = match report.status.as_str() {
        "block" => ("❌", "blocked"),
        "alert" => ("⚠️", "passed with alerts"),
        "pass" => ("✅", "passed"),
        "failed" => ("❌", "tests failed"),
        _ => ("✅", "tests passed"),
    };
    let run = &report.meta.run;
    let commit = run.commit.get(..12).unwrap_or(&run.commit);
    format!(
        "## {icon} tollgate: {word} — `{}` run `{}` ({}{})",
        if run.pipeline.is_empty() {
            "-"
        } else {
            &run.pipeline
        },
        run.key,
        if run.branch.is_empty() {
            "no branch"
        } else {
            &run.branch
        },
        if commit.is_empty() {
            String::new()
        } else {
            format!(" @ {commit}")
        }
    )
}

fn delta(now: u64, base: Option<u64>) -> String {
    match base {
        Some(b) if now > b => format!("{now} (+{})", now - b),
        Some(b) if now < b => format!("{now} (−{})", b - now),
        _ => now.to_string(),
    }
}

fn counts_table(counts: &Counts, base: Option<&Counts>) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| tests | passed | failed | flaky | skipped | test time |"
    );
    let _ = writeln!(out, "|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {:.1} s |",
        delta(counts.tests, base.map(|b| b.tests)),
        delta(counts.passed, base.map(|b| b.passed)),
        delta(counts.failed, base.map(|b| b.failed)),
        delta(counts.flaky, base.map(|b| b.flaky)),
        delta(counts.skipped, base.map(|b| b.skipped)),
        counts.test_seconds
    );
    out
}

/// Inline code that survives any test id (backticks inside get a wider fence).
fn code(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

fn first_line(text: &str, max: usize) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out.replace('|', "\\|")
}

fn sections(report: &Report) -> Vec<Section> {
    let mut out = Vec::new();
    let checks: Vec<String> = report
        .verdicts
        .iter()
        .map(|v| {
            let icon = match v.status.as_str() {
                "block" => "❌",
                "alert" => "⚠️",
                _ => "✅",
            };
            format!(
                "- {icon} **{}** {}: {}",
                v.check,
                v.status,
                first_line(&v.detail, 300)
            )
        })
        .collect();
    out.push(Section {
        heading: "### Gate".into(),
        items: checks,
        priority: 9,
    });
    let d = &report.deltas;
    out.push(Section {
        heading: if d.has_base {
            "### New failures (passed or absent in the base run)".into()
        } else {
            "### New failures".into()
        },
        items: d
            .new_failures
            .iter()
            .map(|t| format!("- {}", code(t)))
            .collect(),
        priority: 8,
    });
    let mut failed = Vec::new();
    let mut flaky = Vec::new();
    for group in &report.failures {
        for t in &group.tests {
            if t.state == "flaky" {
                let outcomes: Vec<&str> = t.attempts.iter().map(|a| a.outcome.as_str()).collect();
                flaky.push(format!(
                    "- {} ({}): {}",
                    code(&t.id),
                    t.job,
                    outcomes.join(" → ")
                ));
                continue;
            }
            let message = t
                .attempts
                .last()
                .map(|a| first_line(&a.output, 200))
                .unwrap_or_default();
            let owner = if group.owner.is_empty() {
                String::new()
            } else {
                format!(" {}", group.owner)
            };
            let component = if group.component.is_empty() {
                String::new()
            } else {
                format!(" [{}{owner}]", group.component)
            };
            failed.push(format!(
                "- {} ({}, {} attempt{}){component}{}",
                code(&t.id),
                t.job,
                t.attempts.len(),
                if t.attempts.len() == 1 { "" } else { "s" },
                if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                }
            ));
        }
    }
    out.push(Section {
        heading: "### Failures".into(),
        items: failed,
        priority: 7,
    });
    out.push(Section {
        heading: "### Flaky in this run (failed, then passed on retry)".into(),
        items: flaky,
        priority: 6,
    });
    out.push(Section {
        heading: "### Fixed".into(),
        items: d.fixed.iter().map(|t| format!("- {}", code(t))).collect(),
        priority: 5,
    });
    out.push(Section {
        heading: "### Newly skipped".into(),
        items: d
            .newly_skipped
            .iter()
            .map(|t| format!("- {}", code(t)))
            .collect(),
        priority: 4,
    });
    out.push(Section {
        heading: "### Removed tests".into(),
        items: d.removed.iter().map(|t| format!("- {}", code(t))).collect(),
        priority: 3,
    });
    let coverage: Vec<String> = report
        .coverage
        .iter()
        .map(|c| {
            let drop = c
                .base_percent
                .map(|b| format!(" ({:+.2} vs base)", c.percent - b))
                .unwrap_or_default();
            format!("- {} `{}`: {:.2}%{drop}", c.by, c.key, c.percent)
        })
        .collect();
    out.push(Section {
        heading: "### Coverage".into(),
        items: coverage,
        priority: 2,
    });
    out.push(Section {
        heading: "### Slowest tests".into(),
        items: report
            .slowest
            .iter()
            .take(10)
            .map(|s| format!("- {} ({}): {:.2} s", code(&s.id), s.job, s.seconds))
            .collect(),
        priority: 1,
    });
    out
}

fn section_text(s: &Section, keep: usize) -> String {
    if s.items.is_empty() {
        return String::new();
    }
    let mut text = format!("\n{} ({})\n\n", s.heading, s.items.len());
    for item in s.items.iter().take(keep) {
        text.push_str(item);
        text.push('\n');
    }
    let hidden = s.items.len().saturating_sub(keep);
    if hidden > 0 {
        let _ = writeln!(text, "- … {hidden} more");
    }
    text
}

/// Renders the summary within `max_bytes` (UTF-8 bytes).
pub fn render(report: &Report, max_bytes: usize) -> String {
    let mut head = verdict_line(report);
    head.push_str("\n\n");
    head.push_str(&counts_table(&report.counts, report.base_counts.as_ref()));
    if let Some(base) = &report.meta.base {
        let _ = writeln!(
            head,
            "\nCompared with base run `{}` ({} @ {}).",
            base.key,
            base.branch,
            base.commit.get(..12).unwrap_or(&base.commit)
        );
    } else {
        head.push_str("\nNo base run to compare with.\n");
    }
    let sections = sections(report);
    let mut keep: Vec<usize> = sections.iter().map(|s| s.items.len()).collect();
    let total = |keep: &[usize]| -> usize {
        head.len()
            + sections
                .iter()
                .zip(keep)
                .map(|(s, k)| section_text(s, *k).len())
                .sum::<usize>()
    };
    // Cut from the least important section up; within a section, keep the
    // largest prefix that fits (binary search on the kept count).
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_by_key(|i| sections[*i].priority);
    for i in order {
        if total(&keep) <= max_bytes {
            break;
        }
        let (mut lo, mut hi) = (0usize, keep[i]);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            keep[i] = mid;
            if total(&keep) <= max_bytes {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        keep[i] = lo;
    }
    let mut out = head;
    for (s, k) in sections.iter().zip(&keep) {
        out.push_str(&section_text(s, *k));
    }
    if out.len() > max_bytes {
        // Even the headings do not fit: cut at a character boundary.
        let mut cut = max_bytes.saturating_sub(5);
        while cut > 0 && !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        if max_bytes >= 5 {
            out.push_str("\n…\n");
        }
    }
    out
}
