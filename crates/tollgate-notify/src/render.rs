//! Message text for each service, within its limits. Every text passes
//! through the caller's redaction before it is laid out.

use serde_json::{json, Value};

use crate::{Item, Kind, Message, FINGERPRINT_PREFIX};

/// Slack: at most 50 blocks, 3,000 characters of text in a section.
pub const SLACK_MAX_BLOCKS: usize = 50;
pub const SLACK_MAX_SECTION: usize = 3000;
/// Slack's top-level `text` fallback is cut at 40,000 characters.
pub const SLACK_MAX_TEXT: usize = 40_000;
/// GitHub issue and comment bodies: 65,536 characters.
pub const GITHUB_MAX_BODY: usize = 65_536;
/// Tests listed per cluster before "… and N more".
const MAX_TESTS: usize = 10;

/// Cuts `text` to at most `max` characters, ending with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `2 clusters`, `1 gate check`, `2 clusters and 1 gate check`.
fn counted(m: &Message, adjective: &str) -> String {
    let checks = m.items.iter().filter(|i| i.is_check()).count();
    let clusters = m.items.len() - checks;
    let part =
        |n: usize, what: &str| format!("{n} {adjective}{what}{}", if n == 1 { "" } else { "s" });
    match (clusters, checks) {
        (_, 0) => part(clusters, "cluster"),
        (0, _) => part(checks, "gate check"),
        _ => format!(
            "{} and {}",
            part(clusters, "cluster"),
            part(checks, "gate check")
        ),
    }
}

fn title(m: &Message) -> String {
    match m.kind {
        Kind::Firing => format!(
            "tollgate: {} for {} — {} on {} (run {})",
            counted(m, "failing "),
            m.owner,
            m.run.pipeline,
            m.run.branch,
            m.run.run_key
        ),
        Kind::Resolved => format!(
            "tollgate: {} resolved for {} — {} on {} (run {})",
            counted(m, ""),
            m.owner,
            m.run.pipeline,
            m.run.branch,
            m.run.run_key
        ),
    }
}

fn tests_line(item: &Item) -> String {
    let mut shown: Vec<&str> = item
        .tests
        .iter()
        .take(MAX_TESTS)
        .map(String::as_str)
        .collect();
    let more = item.tests.len().saturating_sub(MAX_TESTS);
    let extra = if more > 0 {
        format!(" … and {more} more")
    } else {
        String::new()
    };
    if shown.is_empty() {
        shown.push("(none)");
    }
    format!("{}{extra}", shown.join(", "))
}

/// Plain-text block for one item (used by e-mail and GitHub).
fn item_text(item: &Item, redact: &dyn Fn(&str) -> String) -> String {
    if item.reason == "resolved" {
        return format!(
            "- resolved: {}{}\n  {FINGERPRINT_PREFIX}{}\n",
            if item.is_check() { "gate check " } else { "" },
            redact(&item.signature),
            item.alert
        );
    }
    if item.is_check() {
        return format!(
            "- [{}] gate check {}{}\n  failing {} gate run{} in a row\n  owner because: {}\n  {FINGERPRINT_PREFIX}{}\n",
            item.reason,
            redact(&item.signature),
            item.component.as_deref().map(|c| format!(" (component {c})")).unwrap_or_default(),
            item.streak,
            if item.streak == 1 { "" } else { "s" },
            item.why,
            item.alert,
        );
    }
    let mut out = format!(
        "- [{}] {}{}{}\n  {} failure{} in {} test{}; failing {} run{} in a row{}\n  tests: {}\n  owner because: {}\n  {FINGERPRINT_PREFIX}{}\n",
        item.reason,
        item.what,
        item.component.as_deref().map(|c| format!(" in {c}")).unwrap_or_default(),
        format_args!(": {}", redact(&item.signature)),
        item.failures,
        if item.failures == 1 { "" } else { "s" },
        item.tests.len(),
        if item.tests.len() == 1 { "" } else { "s" },
        item.streak,
        if item.streak == 1 { "" } else { "s" },
        if item.flaky { " (passed on retry: flaky)" } else { "" },
        redact(&tests_line(item)),
        item.why,
        item.alert,
    );
    if !item.excerpt.is_empty() {
        out.push_str("  excerpt:\n");
        for l in redact(&item.excerpt).lines().take(20) {
            out.push_str("    ");
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// A Slack-compatible webhook payload: `text` plus `blocks`, within limits.
pub fn slack(m: &Message, redact: &dyn Fn(&str) -> String) -> Value {
    let head = title(m);
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": cut(&head, 150)}
    })];
    let mut text = head.clone();
    let room = SLACK_MAX_BLOCKS - 2;
    for (i, item) in m.items.iter().enumerate() {
        let body = item_text(item, redact);
        text.push('\n');
        text.push_str(&body);
        if i < room {
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": cut(&format!("```{}```", body.trim_end()), SLACK_MAX_SECTION)}
            }));
        }
    }
    if m.items.len() > room {
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!("… and {} more clusters", m.items.len() - room)}]
        }));
    }
    json!({"text": cut(&text, SLACK_MAX_TEXT), "blocks": blocks})
}

/// E-mail subject and plain-text body.
pub fn email(m: &Message, redact: &dyn Fn(&str) -> String) -> (String, String) {
    let mut body = format!(
        "{}\n\nPipeline {}, branch {}, commit {}, run {}.\n\n",
        title(m),
        m.run.pipeline,
        m.run.branch,
        m.run.commit,
        m.run.run_key
    );
    for item in &m.items {
        body.push_str(&item_text(item, redact));
        body.push('\n');
    }
    (cut(&title(m), 200), cut(&body, 200_000))
}

/// A GitHub issue's title and body for one item; the fingerprint line is
/// first so no cut can lose it.
pub fn issue(item: &Item, m: &Message, redact: &dyn Fn(&str) -> String) -> (String, String) {
    let title = cut(
        &format!(
            "tollgate: {}{}: {}",
            item.what,
            item.component
                .as_deref()
                .map(|c| format!(" in {c}"))
                .unwrap_or_default(),
            redact(&item.signature)
        ),
        240,
    );
    let body = format!(
        "{FINGERPRINT_PREFIX}{}\n\nOwner: {} ({})\nFirst reported by pipeline `{}` on `{}`, commit {}, run {}.\n\n{}",
        item.alert,
        m.owner,
        item.why,
        m.run.pipeline,
        m.run.branch,
        m.run.commit,
        m.run.run_key,
        item_text(item, redact)
    );
    (title, cut(&body, GITHUB_MAX_BODY))
}

/// A comment for a run in which the issue's cluster failed again (or resolved).
pub fn comment(item: &Item, m: &Message, redact: &dyn Fn(&str) -> String) -> String {
    let head = if item.reason == "resolved" {
        format!(
            "Resolved: no longer failing in run {} (commit {}).",
            m.run.run_key, m.run.commit
        )
    } else {
        format!(
            "Failing again in run {} (pipeline `{}`, branch `{}`, commit {}).",
            m.run.run_key, m.run.pipeline, m.run.branch, m.run.commit
        )
    };
    cut(
        &format!("{head}\n\n{}", item_text(item, redact)),
        GITHUB_MAX_BODY,
    )
}
