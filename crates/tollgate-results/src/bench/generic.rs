//! The plain forms for anything else that measures: a CSV with columns
//! `metric,value,unit` (or `name,metric,value,unit`), or JSON — an array of
//! `{"metric", "value", "unit"?, "name"?}` objects, or `{"metrics": [...]}`.
//!
//! A header row is recognised by its first cell (`metric` or `name`); lines
//! starting with `#` are comments. Rows without a name take `default_name`
//! (the caller passes e.g. the file's stem). Commas inside fields are not
//! supported: metric names and units do not need them.

use std::io::{BufRead, Read};

use serde::Deserialize;

use crate::error::{check_non_negative, parse_non_negative, Error, ErrorKind};
use crate::input::io_error_kind;
use crate::json::read_json;
use crate::model::BenchSample;

pub fn parse_generic_csv<R: BufRead>(
    mut input: R,
    default_name: &str,
) -> Result<Vec<BenchSample>, Error> {
    let mut samples = Vec::new();
    let mut line = String::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        if input
            .read_line(&mut line)
            .map_err(|e| Error::at_line(io_error_kind(e), line_no + 1, 1))?
            == 0
        {
            break;
        }
        line_no += 1;
        let row = line
            .trim_end_matches(['\n', '\r'])
            .trim_start_matches('\u{feff}');
        if row.trim().is_empty() || row.trim_start().starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = row.split(',').map(str::trim).collect();
        let first = cells
            .first()
            .copied()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if samples.is_empty() && (first == "metric" || first == "name") {
            continue; // header
        }
        let (name, metric, value, unit, value_col) = match cells.as_slice() {
            [metric, value, unit] => (default_name, *metric, *value, *unit, 2),
            [metric, value] => (default_name, *metric, *value, "", 2),
            [name, metric, value, unit] => (*name, *metric, *value, *unit, 3),
            _ => {
                return Err(Error::at_line(
                    ErrorKind::Format(format!(
                        "expected `metric,value,unit` or `name,metric,value,unit`, got {} columns",
                        cells.len()
                    )),
                    line_no,
                    1,
                ))
            }
        };
        if metric.is_empty() {
            return Err(Error::at_line(
                ErrorKind::Format("empty metric name".into()),
                line_no,
                1,
            ));
        }
        let column = 1 + cells
            .iter()
            .take(value_col - 1)
            .map(|c| c.len() as u64 + 1)
            .sum::<u64>();
        let value = parse_non_negative(value, metric)
            .map_err(|kind| Error::at_line(kind, line_no, column))?;
        samples.push(BenchSample {
            name: name.to_string(),
            metric: metric.to_string(),
            value,
            unit: unit.to_string(),
        });
    }
    Ok(samples)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    Rows(Vec<Row>),
    Wrapped { metrics: Vec<Row> },
}

#[derive(Deserialize)]
struct Row {
    name: Option<String>,
    metric: String,
    value: f64,
    #[serde(default)]
    unit: String,
}

pub fn parse_generic_json<R: Read>(
    input: R,
    default_name: &str,
) -> Result<Vec<BenchSample>, Error> {
    let (rows, prefix) = match read_json::<Document, R>(input)? {
        Document::Rows(rows) => (rows, ""),
        Document::Wrapped { metrics } => (metrics, "metrics"),
    };
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let value = check_non_negative(row.value, &row.metric)
                .map_err(|kind| Error::at_json(kind, format!("{prefix}[{i}].value")))?;
            Ok(BenchSample {
                name: row.name.unwrap_or_else(|| default_name.to_string()),
                metric: row.metric,
                value,
                unit: row.unit,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_and_without_header_and_names() {
        let csv = "metric,value,unit\n# comment\nttft,180.5,ms\nitl, 12 ,ms\n";
        let samples = parse_generic_csv(csv.as_bytes(), "serve").unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(
            samples[1],
            BenchSample {
                name: "serve".into(),
                metric: "itl".into(),
                value: 12.0,
                unit: "ms".into()
            }
        );
        let samples = parse_generic_csv("llama,ttft,1,s\n".as_bytes(), "x").unwrap();
        assert_eq!(samples[0].name, "llama");
    }

    #[test]
    fn csv_errors_point_at_the_value() {
        let err =
            parse_generic_csv("metric,value,unit\nttft,NaN,ms\n".as_bytes(), "x").unwrap_err();
        assert_eq!(err.to_string(), "2:6: ttft: not a number (got \"NaN\")");
        let err = parse_generic_csv("ttft,-3,ms\n".as_bytes(), "x").unwrap_err();
        assert_eq!(err.to_string(), "1:6: ttft: negative (got \"-3\")");
        let err = parse_generic_csv("a,b,c,d,e\n".as_bytes(), "x").unwrap_err();
        assert!(err.to_string().contains("5 columns"), "{err}");
    }

    #[test]
    fn json_array_or_wrapped() {
        let samples = parse_generic_json(
            r#"[{"metric": "ttft", "value": 150, "unit": "ms"}]"#.as_bytes(),
            "d",
        )
        .unwrap();
        assert_eq!(samples[0].name, "d");
        let samples = parse_generic_json(
            r#"{"metrics": [{"name": "n", "metric": "tps", "value": 9.5}]}"#.as_bytes(),
            "d",
        )
        .unwrap();
        assert_eq!(
            (samples[0].name.as_str(), samples[0].unit.as_str()),
            ("n", "")
        );
        let err = parse_generic_json(
            r#"{"metrics": [{"metric": "m", "value": -1}]}"#.as_bytes(),
            "d",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "at metrics[0].value: m: negative (got \"-1\")"
        );
    }
}
