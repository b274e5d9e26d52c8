//! Turning stored benchmark samples into the series the gate judges.
//!
//! A series is one `(benchmark, metric)`: this run's samples against the
//! samples of the same series in the history window. History recorded in
//! another unit (`ms` then `s`) is not comparable and is left out.

use std::collections::BTreeMap;

use crate::model::BenchSeries;

/// One stored benchmark value, as the store returns it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchValue<'a> {
    pub name: &'a str,
    pub metric: &'a str,
    pub unit: &'a str,
    pub value: f64,
}

/// Whether a larger value of the metric is better: throughput-like units
/// (`ops/s`, `tokens/s`, `req/sec`) and metric names (`ops`, `throughput`,
/// `*_per_s`, `tps`, `qps`, `rps`). Everything else (times, latencies,
/// memory) is better smaller.
pub fn higher_is_better(metric: &str, unit: &str) -> bool {
    let unit = unit.trim().to_ascii_lowercase();
    let metric = metric.trim().to_ascii_lowercase();
    let per_time = |s: &str| {
        ["/s", "/sec", "/second", "/min", "/minute", "/h", "/hour"]
            .iter()
            .any(|suffix| s.ends_with(suffix))
            || ["per_s", "per_sec", "per_second", "_per_min", "_per_minute"]
                .iter()
                .any(|suffix| s.ends_with(suffix))
    };
    per_time(&unit)
        || per_time(&metric)
        || matches!(
            metric.as_str(),
            "ops" | "throughput" | "tps" | "qps" | "rps" | "iops" | "bandwidth"
        )
}

/// Spread statistics (`stddev`, `iqr`, ...) describe how noisy a benchmark
/// was, not how fast: a perf-regression check does not judge them (an
/// absolute limit still may).
pub fn is_spread_metric(metric: &str) -> bool {
    matches!(
        metric.trim().to_ascii_lowercase().as_str(),
        "stddev" | "std_dev" | "std" | "iqr" | "median_abs_dev" | "mad" | "variance"
    )
}

/// Groups this run's values into series (in order of first appearance) and
/// attaches the history of each series in the same unit.
pub fn group_series<'a>(
    current: impl IntoIterator<Item = BenchValue<'a>>,
    history: impl IntoIterator<Item = BenchValue<'a>>,
) -> Vec<BenchSeries> {
    let mut order: Vec<(&str, &str)> = Vec::new();
    let mut series: BTreeMap<(&str, &str), BenchSeries> = BTreeMap::new();
    for v in current {
        let entry = series.entry((v.name, v.metric)).or_insert_with(|| {
            order.push((v.name, v.metric));
            BenchSeries {
                name: v.name.to_string(),
                metric: v.metric.to_string(),
                unit: v.unit.to_string(),
                higher_is_better: higher_is_better(v.metric, v.unit),
                current: Vec::new(),
                history: Vec::new(),
            }
        });
        if entry.unit == v.unit {
            entry.current.push(v.value);
        }
    }
    for v in history {
        if let Some(entry) = series.get_mut(&(v.name, v.metric)) {
            if entry.unit == v.unit {
                entry.history.push(v.value);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|key| series.remove(&key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v<'a>(name: &'a str, metric: &'a str, unit: &'a str, value: f64) -> BenchValue<'a> {
        BenchValue {
            name,
            metric,
            unit,
            value,
        }
    }

    #[test]
    fn direction_from_unit_and_metric() {
        for (metric, unit, expected) in [
            ("mean", "s", false),
            ("ttft_ms", "ms", false),
            ("sample", "ns", false),
            ("ops", "ops/s", true),
            ("ops", "", true),
            ("tokens", "tokens/s", true),
            ("tokens_per_s", "", true),
            ("Throughput", "", true),
            ("peak_rss", "MiB", false),
            ("requests", "req/sec", true),
        ] {
            assert_eq!(
                higher_is_better(metric, unit),
                expected,
                "{metric} [{unit}]"
            );
        }
    }

    #[test]
    fn spread_metrics_are_recognised() {
        assert!(is_spread_metric("stddev") && is_spread_metric("IQR"));
        assert!(!is_spread_metric("mean") && !is_spread_metric("sample"));
    }

    #[test]
    fn groups_in_order_and_drops_history_in_another_unit() {
        let current = [
            v("b", "mean", "s", 2.0),
            v("a", "ttft", "ms", 100.0),
            v("b", "mean", "s", 2.5),
            v("a", "ttft", "s", 9.0), // a unit clash inside the run: ignored
        ];
        let history = [
            v("a", "ttft", "ms", 90.0),
            v("a", "ttft", "s", 0.09),
            v("b", "mean", "s", 1.0),
            v("c", "mean", "s", 5.0), // not measured in this run
        ];
        let got = group_series(current, history);
        let summary: Vec<(&str, &str, Vec<f64>, Vec<f64>)> = got
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.metric.as_str(),
                    s.current.clone(),
                    s.history.clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("b", "mean", vec![2.0, 2.5], vec![1.0]),
                ("a", "ttft", vec![100.0], vec![90.0]),
            ]
        );
        assert_eq!(got[1].unit, "ms");
        assert!(!got[1].higher_is_better);
    }
}
