//! pytest-benchmark's `--benchmark-json` output.
//!
//! Every benchmark's summary statistics become samples named by the test's
//! node id (`fullname`); with `--benchmark-save-data` the raw per-round
//! timings (`stats.data`) are kept too, as metric `sample`, which is what a
//! statistical comparison against history wants.

use std::io::Read;

use serde::Deserialize;

use crate::error::{check_non_negative, Error};
use crate::json::read_json;
use crate::model::BenchSample;

#[derive(Deserialize)]
struct Report {
    benchmarks: Vec<Benchmark>,
}

#[derive(Deserialize)]
struct Benchmark {
    name: String,
    fullname: Option<String>,
    stats: Stats,
}

#[derive(Deserialize)]
struct Stats {
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
    stddev: Option<f64>,
    median: Option<f64>,
    iqr: Option<f64>,
    ops: Option<f64>,
    #[serde(default)]
    data: Vec<f64>,
}

pub fn parse_pytest_benchmark<R: Read>(input: R) -> Result<Vec<BenchSample>, Error> {
    let report: Report = read_json(input)?;
    let mut samples = Vec::new();
    for (i, bench) in report.benchmarks.into_iter().enumerate() {
        let name = bench.fullname.unwrap_or(bench.name);
        let stats = &bench.stats;
        let summary = [
            ("min", stats.min, "s"),
            ("max", stats.max, "s"),
            ("mean", stats.mean, "s"),
            ("stddev", stats.stddev, "s"),
            ("median", stats.median, "s"),
            ("iqr", stats.iqr, "s"),
            ("ops", stats.ops, "ops/s"),
        ];
        let raw = stats.data.iter().map(|&v| ("sample", Some(v), "s"));
        for (j, (metric, value, unit)) in summary.into_iter().chain(raw).enumerate() {
            let Some(value) = value else { continue };
            let path = if j < 7 {
                format!("benchmarks[{i}].stats.{metric}")
            } else {
                format!("benchmarks[{i}].stats.data[{}]", j - 7)
            };
            let value =
                check_non_negative(value, metric).map_err(|kind| Error::at_json(kind, path))?;
            samples.push(BenchSample {
                name: name.clone(),
                metric: metric.to_string(),
                value,
                unit: unit.to_string(),
            });
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_and_raw_data() {
        let doc = r#"{"machine_info": {}, "benchmarks": [{"group": null, "name": "test_a", "fullname": "t/test_p.py::test_a",
            "stats": {"min": 0.1, "max": 0.3, "mean": 0.2, "stddev": 0.05, "median": 0.2, "iqr": 0.1, "ops": 5.0,
                      "rounds": 2, "data": [0.1, 0.3]}}], "version": "5.1.0"}"#;
        let samples = parse_pytest_benchmark(doc.as_bytes()).unwrap();
        assert_eq!(samples.len(), 9);
        assert!(samples.iter().all(|s| s.name == "t/test_p.py::test_a"));
        let ops = samples.iter().find(|s| s.metric == "ops").unwrap();
        assert_eq!((ops.value, ops.unit.as_str()), (5.0, "ops/s"));
        assert_eq!(samples.iter().filter(|s| s.metric == "sample").count(), 2);
    }

    #[test]
    fn negative_values_name_their_path() {
        let doc = r#"{"benchmarks": [{"name": "a", "stats": {"mean": 1.0, "data": [0.5, -0.5]}}]}"#;
        let err = parse_pytest_benchmark(doc.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "at benchmarks[0].stats.data[1]: sample: negative (got \"-0.5\")"
        );
    }
}
