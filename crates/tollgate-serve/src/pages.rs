//! The dashboard's own small pages (everything else is the report page).

use serde_json::Value;

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `/runs`: the recent runs (already redacted JSON), each linking to its report.
pub fn runs_page(title: &str, runs: &Value) -> String {
    let mut rows = String::new();
    for r in runs.as_array().into_iter().flatten() {
        let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let key = s("run_key");
        let commit = s("commit");
        let started = r.get("started_at_ms").and_then(Value::as_i64).unwrap_or(0);
        rows.push_str(&format!(
            "<tr><td><a href=\"./?run={}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td data-ms=\"{started}\">{}</td><td>{}</td></tr>\n",
            url_encode(&key),
            escape(&key),
            escape(&s("pipeline")),
            escape(&s("branch")),
            escape(commit.get(..12).unwrap_or(&commit)),
            started,
            if r.get("complete").and_then(Value::as_bool).unwrap_or(false) { "complete" } else { "incomplete" },
        ));
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>{t} — runs</title><link rel=\"icon\" href=\"data:,\"><style>body{{font:14px system-ui,sans-serif;margin:16px}}\
td,th{{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}}</style></head><body>\
<h1>{t} — runs</h1><p><a href=\"./\">latest run</a></p><table><tr><th>run</th><th>pipeline</th><th>branch</th>\
<th>commit</th><th>started (Unix ms)</th><th>state</th></tr>\n{rows}</table></body></html>\n",
        t = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_page_escapes_and_links() {
        let runs = serde_json::json!([{"run_key": "a<b&c", "pipeline": "pr", "branch": "x\"y",
            "commit": "0123456789abcdef", "started_at_ms": 5, "complete": true}]);
        let page = runs_page("T", &runs);
        assert!(
            page.contains("href=\"./?run=a%3Cb%26c\">a&lt;b&amp;c</a>"),
            "{page}"
        );
        assert!(page.contains("x&quot;y"));
        assert!(page.contains("<td>0123456789ab</td>"));
        assert!(!page.contains("a<b"));
    }
}
