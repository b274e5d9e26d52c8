//! criterion's `target/criterion/<id>/new/estimates.json` (and `sample.json`).
//!
//! The files do not name their benchmark; the caller passes the name (see
//! [`crate::files::criterion_name`], which reads `benchmark.json` or the
//! directory layout). Times are nanoseconds.

use std::io::Read;

use serde::Deserialize;

use crate::error::{check_non_negative, Error, ErrorKind};
use crate::json::read_json;
use crate::model::BenchSample;

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
    median: Estimate,
    std_dev: Option<Estimate>,
    median_abs_dev: Option<Estimate>,
    slope: Option<Estimate>,
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct Sample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

pub fn parse_criterion_estimates<R: Read>(input: R, name: &str) -> Result<Vec<BenchSample>, Error> {
    let estimates: Estimates = read_json(input)?;
    let all = [
        ("mean", Some(&estimates.mean)),
        ("median", Some(&estimates.median)),
        ("std_dev", estimates.std_dev.as_ref()),
        ("median_abs_dev", estimates.median_abs_dev.as_ref()),
        ("slope", estimates.slope.as_ref()),
    ];
    all.into_iter()
        .filter_map(|(metric, estimate)| estimate.map(|e| (metric, e.point_estimate)))
        .map(|(metric, value)| {
            let value = check_non_negative(value, metric)
                .map_err(|kind| Error::at_json(kind, format!("{metric}.point_estimate")))?;
            Ok(BenchSample {
                name: name.to_string(),
                metric: metric.to_string(),
                value,
                unit: "ns".to_string(),
            })
        })
        .collect()
}

/// Per-iteration times (`times[i] / iters[i]`) as metric `sample`.
pub fn parse_criterion_sample<R: Read>(input: R, name: &str) -> Result<Vec<BenchSample>, Error> {
    let sample: Sample = read_json(input)?;
    if sample.iters.len() != sample.times.len() {
        return Err(Error::at_json(
            ErrorKind::Format(format!(
                "{} iteration counts but {} times",
                sample.iters.len(),
                sample.times.len()
            )),
            "times",
        ));
    }
    sample
        .iters
        .iter()
        .zip(&sample.times)
        .enumerate()
        .map(|(i, (&iters, &time))| {
            let at = |field: &str| format!("{field}[{i}]");
            check_non_negative(time, "time").map_err(|kind| Error::at_json(kind, at("times")))?;
            let iters = check_non_negative(iters, "iterations")
                .map_err(|kind| Error::at_json(kind, at("iters")))?;
            if iters == 0.0 {
                return Err(Error::at_json(
                    ErrorKind::InvalidNumber {
                        field: "iterations".into(),
                        value: "0".into(),
                        reason: "zero",
                    },
                    at("iters"),
                ));
            }
            Ok(BenchSample {
                name: name.to_string(),
                metric: "sample".to_string(),
                value: time / iters,
                unit: "ns".to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESTIMATES: &str = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":9.0,"upper_bound":11.0},
        "point_estimate":10.0,"standard_error":0.5},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":9.0,
        "upper_bound":11.0},"point_estimate":9.5,"standard_error":0.4},"median_abs_dev":{"confidence_interval":
        {"confidence_level":0.95,"lower_bound":0.1,"upper_bound":0.3},"point_estimate":0.2,"standard_error":0.01},
        "slope":null,"std_dev":{"confidence_interval":{"confidence_level":0.95,"lower_bound":0.5,"upper_bound":1.5},
        "point_estimate":1.0,"standard_error":0.1}}"#;

    #[test]
    fn estimates_without_slope() {
        let samples = parse_criterion_estimates(ESTIMATES.as_bytes(), "group/fib").unwrap();
        let metrics: Vec<_> = samples
            .iter()
            .map(|s| (s.metric.as_str(), s.value))
            .collect();
        assert_eq!(
            metrics,
            vec![
                ("mean", 10.0),
                ("median", 9.5),
                ("std_dev", 1.0),
                ("median_abs_dev", 0.2)
            ]
        );
        assert!(samples
            .iter()
            .all(|s| s.unit == "ns" && s.name == "group/fib"));
    }

    #[test]
    fn per_iteration_samples() {
        let doc = r#"{"sampling_mode":"Linear","iters":[1.0,2.0],"times":[10.0,30.0]}"#;
        let samples = parse_criterion_sample(doc.as_bytes(), "b").unwrap();
        assert_eq!(
            samples.iter().map(|s| s.value).collect::<Vec<_>>(),
            vec![10.0, 15.0]
        );
        let err =
            parse_criterion_sample(r#"{"iters":[0.0],"times":[1.0]}"#.as_bytes(), "b").unwrap_err();
        assert!(err.to_string().contains("iters[0]"), "{err}");
        let err =
            parse_criterion_sample(r#"{"iters":[1.0],"times":[]}"#.as_bytes(), "b").unwrap_err();
        assert!(
            err.to_string().contains("1 iteration counts but 0 times"),
            "{err}"
        );
    }
}
