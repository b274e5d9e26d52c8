//! A Grafana dashboard over the metrics of [`crate::metrics`]: test health,
//! coverage, flakiness, performance and resources. Importable as is: the
//! Prometheus data source and the pipeline are dashboard variables.

use serde_json::{json, Value};

/// Every metric name the dashboard queries (tests check each one exists in
/// the exposition).
pub const METRICS_USED: &[&str] = &[
    "tollgate_runs",
    "tollgate_tests",
    "tollgate_component_tests",
    "tollgate_gate_verdict",
    "tollgate_gate_check",
    "tollgate_gate_check_measured",
    "tollgate_coverage_language_ratio",
    "tollgate_coverage_component_ratio",
    "tollgate_flaky_rate_ratio",
    "tollgate_component_flaky_tests",
    "tollgate_top_test_flake_rate_ratio",
    "tollgate_top_test_duration_seconds",
    "tollgate_job_duration_seconds",
    "tollgate_job_cpu_seconds",
    "tollgate_job_peak_rss_bytes",
    "tollgate_quarantined_tests",
    "tollgate_quarantine_expiring_tests",
];

const DS: &str = "${datasource}";

fn target(expr: &str, legend: &str) -> Value {
    json!({
        "datasource": {"type": "prometheus", "uid": DS},
        "expr": expr,
        "legendFormat": legend,
        "refId": "A",
    })
}

struct Layout {
    id: u64,
    y: u64,
    x: u64,
}

impl Layout {
    fn place(&mut self, w: u64, h: u64) -> Value {
        if self.x + w > 24 {
            self.x = 0;
            self.y += 8;
        }
        let pos = json!({"x": self.x, "y": self.y, "w": w, "h": h});
        self.x += w;
        pos
    }

    fn row(&mut self, title: &str) -> Value {
        if self.x > 0 {
            self.x = 0;
            self.y += 8;
        }
        self.id += 1;
        let panel = json!({
            "type": "row", "id": self.id, "title": title, "collapsed": false,
            "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}, "panels": [],
        });
        self.y += 1;
        panel
    }

    fn panel(&mut self, kind: &str, title: &str, w: u64, targets: Vec<Value>, unit: &str) -> Value {
        self.id += 1;
        let mut targets = targets;
        for (i, t) in targets.iter_mut().enumerate() {
            t["refId"] = json!(((b'A' + i as u8) as char).to_string());
        }
        json!({
            "type": kind,
            "id": self.id,
            "title": title,
            "datasource": {"type": "prometheus", "uid": DS},
            "gridPos": self.place(w, 8),
            "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "options": {},
        })
    }
}

/// The dashboard JSON.
pub fn dashboard() -> Value {
    let p = "pipeline=~\"$pipeline\"";
    let mut l = Layout { id: 0, y: 0, x: 0 };
    let panels = vec![
        l.row("Test health"),
        l.panel(
            "stat",
            "Failed tests (latest run)",
            6,
            vec![target(
                &format!("sum by (pipeline) (tollgate_tests{{{p}, outcome=\"failed\"}})"),
                "{{pipeline}}",
            )],
            "none",
        ),
        l.panel(
            "stat",
            "Gate verdict",
            6,
            vec![target(
                &format!("tollgate_gate_verdict{{{p}}} == 1"),
                "{{pipeline}}: {{verdict}}",
            )],
            "none",
        ),
        l.panel(
            "timeseries",
            "Tests by outcome",
            12,
            vec![target(
                &format!("sum by (outcome) (tollgate_tests{{{p}}})"),
                "{{outcome}}",
            )],
            "none",
        ),
        l.panel(
            "table",
            "Failing tests by component and owner",
            12,
            vec![target(
                &format!("tollgate_component_tests{{{p}, outcome=\"failed\"}} > 0"),
                "{{component}} {{owner}}",
            )],
            "none",
        ),
        l.panel(
            "table",
            "Gate checks",
            12,
            vec![target(
                &format!("tollgate_gate_check{{{p}}} == 1"),
                "{{check}}: {{status}}",
            )],
            "none",
        ),
        l.panel(
            "stat",
            "Runs recorded",
            24,
            vec![target(&format!("tollgate_runs{{{p}}}"), "{{pipeline}}")],
            "none",
        ),
        l.row("Coverage"),
        l.panel(
            "timeseries",
            "Coverage per language",
            12,
            vec![target(
                &format!("tollgate_coverage_language_ratio{{{p}}}"),
                "{{language}}",
            )],
            "percentunit",
        ),
        l.panel(
            "bargauge",
            "Coverage per component",
            12,
            vec![target(
                &format!("tollgate_coverage_component_ratio{{{p}}}"),
                "{{component}}",
            )],
            "percentunit",
        ),
        l.row("Flakiness"),
        l.panel(
            "timeseries",
            "Flaky rate",
            8,
            vec![target(
                &format!("tollgate_flaky_rate_ratio{{{p}}}"),
                "{{pipeline}}",
            )],
            "percentunit",
        ),
        l.panel(
            "bargauge",
            "Flaky tests per component",
            8,
            vec![target(
                &format!("tollgate_component_flaky_tests{{{p}}}"),
                "{{component}} {{owner}}",
            )],
            "none",
        ),
        l.panel(
            "table",
            "Flakiest tests (top K)",
            8,
            vec![target(
                &format!("tollgate_top_test_flake_rate_ratio{{{p}}}"),
                "{{test}}",
            )],
            "percentunit",
        ),
        l.panel(
            "stat",
            "Quarantined / expiring",
            8,
            vec![
                target("tollgate_quarantined_tests", "quarantined"),
                target("tollgate_quarantine_expiring_tests", "expiring"),
            ],
            "none",
        ),
        l.row("Performance"),
        l.panel(
            "timeseries",
            "Job duration",
            12,
            vec![target(
                &format!("tollgate_job_duration_seconds{{{p}}}"),
                "{{ci_job}}",
            )],
            "s",
        ),
        l.panel(
            "table",
            "Slowest tests (top K)",
            12,
            vec![target(
                &format!("tollgate_top_test_duration_seconds{{{p}}}"),
                "{{test}}",
            )],
            "s",
        ),
        l.panel(
            "timeseries",
            "Gate measurements",
            12,
            vec![target(
                &format!("tollgate_gate_check_measured{{{p}}}"),
                "{{check}}",
            )],
            "none",
        ),
        l.row("Resources"),
        l.panel(
            "timeseries",
            "CPU time per job",
            12,
            vec![target(
                &format!("tollgate_job_cpu_seconds{{{p}}}"),
                "{{ci_job}}",
            )],
            "s",
        ),
        l.panel(
            "timeseries",
            "Peak memory per job",
            12,
            vec![target(
                &format!("tollgate_job_peak_rss_bytes{{{p}}}"),
                "{{ci_job}}",
            )],
            "bytes",
        ),
    ];
    json!({
        "title": "tollgate: test health",
        "uid": "tollgate-test-health",
        "tags": ["tollgate", "tests"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "refresh": "5m",
        "time": {"from": "now-30d", "to": "now"},
        "annotations": {"list": []},
        "templating": {"list": [
            {
                "name": "datasource", "label": "Prometheus", "type": "datasource",
                "query": "prometheus", "current": {}, "hide": 0,
            },
            {
                "name": "pipeline", "label": "Pipeline", "type": "query",
                "datasource": {"type": "prometheus", "uid": DS},
                "query": {"query": "label_values(tollgate_runs, pipeline)", "refId": "pipelines"},
                "definition": "label_values(tollgate_runs, pipeline)",
                "includeAll": true, "multi": true, "allValue": ".*", "refresh": 2,
                "current": {"text": "All", "value": "$__all"}, "hide": 0,
            },
        ]},
        "panels": panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_have_unique_ids_and_query_only_known_metrics() {
        let board = dashboard();
        let panels = board["panels"].as_array().expect("panels");
        let mut ids: Vec<u64> = panels.iter().filter_map(|p| p["id"].as_u64()).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate panel ids");
        let mut used = Vec::new();
        for p in panels {
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"].as_str().expect("expr");
                let metric = METRICS_USED
                    .iter()
                    .filter(|m| expr.contains(*m))
                    .max_by_key(|m| m.len())
                    .unwrap_or_else(|| {
                        panic!("panel {:?} queries an unknown metric: {expr}", p["title"])
                    });
                used.push(*metric);
            }
        }
        for m in METRICS_USED {
            assert!(used.contains(m), "{m} is listed but no panel uses it");
        }
    }
}
