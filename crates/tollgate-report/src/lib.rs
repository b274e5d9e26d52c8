//! Test-health reports: a pure model built from the store's data
//! ([`build()`]), rendered as one self-contained HTML file ([`html`]) or a
//! size-bounded Markdown summary for a pull request ([`markdown`]).
//!
//! Secrets: whatever reaches a page passes through [`redact_value`] first
//! (every string of the report's JSON), on top of the redaction `tollgate
//! run` applied before storing.

mod build;
pub mod changepoint;
pub mod components;
mod gather;
pub mod grafana;
pub mod html;
pub mod markdown;
pub mod metrics;
pub mod model;

pub use build::{build, BenchInput, ReportInput};
pub use components::{ComponentDef, ComponentError, Components};
pub use gather::{gather, GatherError, GatherOptions};
pub use model::Report;

/// Replaces every string of a JSON value (keys included) by `redact(string)`.
pub fn redact_value(value: &mut serde_json::Value, redact: &dyn Fn(&str) -> Option<String>) {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            if let Some(r) = redact(s) {
                *s = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, redact)),
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if let Some(mut v) = map.remove(&key) {
                    redact_value(&mut v, redact);
                    let key = redact(&key).unwrap_or(key);
                    map.insert(key, v);
                }
            }
        }
        _ => {}
    }
}

/// The report as JSON with every string redacted.
pub fn redacted_json(
    report: &Report,
    redact: &dyn Fn(&str) -> Option<String>,
) -> serde_json::Value {
    let mut value = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
    redact_value(&mut value, redact);
    value
}
