//! The one-file HTML report: the page, its style and script (vanilla JS, no
//! CDN, no network) and the report's JSON in a `<script type="application/json">`.
//!
//! A Content-Security-Policy in the page forbids every network request (the
//! dashboard allows requests to its own origin): the file opens the same
//! from `file://`, a CI artifact or the dashboard.

use crate::model::Report;

const TEMPLATE: &str = include_str!("assets/report.html");
const STYLE: &str = include_str!("assets/report.css");
const SCRIPT: &str = include_str!("assets/report.js");

/// Where the page is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A file: no network at all.
    File,
    /// The dashboard: the page may fetch from its own origin (the test table
    /// is loaded on demand).
    Dashboard,
}

/// JSON safe inside a `<script>` element: `<` never appears literally, so
/// no `</script>` or `<!--` can end or change the element.
pub fn script_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    text.replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Renders the page around already-redacted report JSON.
pub fn render_value(report: &serde_json::Value, mode: Mode) -> String {
    let title = report
        .pointer("/meta/title")
        .and_then(|v| v.as_str())
        .unwrap_or("tollgate report");
    let connect = match mode {
        Mode::File => "'none'",
        Mode::Dashboard => "'self'",
    };
    TEMPLATE
        .replace("{{TITLE}}", &escape_html(title))
        .replace("{{CONNECT}}", connect)
        .replace("{{STYLE}}", STYLE)
        .replace("{{SCRIPT}}", SCRIPT)
        .replace("{{DATA}}", &script_json(report))
}

/// Renders a report (without redaction: see [`crate::redact_report`]).
pub fn render(report: &Report, mode: Mode) -> String {
    let value = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
    render_value(&value, mode)
}
