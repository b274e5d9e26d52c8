//! The I/O edge: open a file with the size limit, pick the parser (sniffing
//! the format when not told), and name the file in every error.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::bench::{self, BenchFormat};
use crate::coverage::{self, CoverageFormat, CoverageReport};
use crate::error::{Error, ErrorKind};
use crate::input::{open, Limits};
use crate::junit::{JunitOptions, JunitReader};
use crate::model::{BenchSample, TestResult};

/// Reads every test result of a JUnit file.
pub fn junit_file(path: &Path, options: &JunitOptions) -> Result<Vec<TestResult>, Error> {
    let input = open(path, &options.limits)?;
    JunitReader::new(input, options.clone())
        .collect::<Result<_, _>>()
        .map_err(|e| e.in_file(path))
}

/// Reads a coverage file, sniffing its format unless given.
pub fn coverage_file(
    path: &Path,
    format: Option<CoverageFormat>,
    limits: &Limits,
) -> Result<CoverageReport, Error> {
    // The size limit first: a huge file is refused as too large, not
    // misreported as an unknown format.
    let input = open(path, limits)?;
    let format = match format {
        Some(format) => format,
        None => CoverageFormat::sniff(&head(path)?).ok_or_else(|| {
            Error::new(
                ErrorKind::Format(
                    "not a recognised coverage format (LCOV, Cobertura XML, coverage.py JSON, llvm-cov JSON)".into(),
                ),
                None,
            )
            .in_file(path)
        })?,
    };
    coverage::parse_coverage(input, format, limits).map_err(|e| e.in_file(path))
}

/// Reads a benchmark file, sniffing its format unless given. Criterion files
/// are named after their benchmark ([`criterion_name`]); generic ones take
/// the file stem as the default benchmark name.
pub fn bench_file(
    path: &Path,
    format: Option<BenchFormat>,
    limits: &Limits,
) -> Result<Vec<BenchSample>, Error> {
    let input = open(path, limits)?;
    let format = match format {
        Some(format) => format,
        None => BenchFormat::sniff(&head(path)?).ok_or_else(|| {
            Error::new(
                ErrorKind::Format(
                    "not a recognised benchmark format (pytest-benchmark JSON, criterion estimates.json/sample.json, metric,value,unit CSV or JSON)".into(),
                ),
                None,
            )
            .in_file(path)
        })?,
    };
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = match format {
        BenchFormat::PytestBenchmark => bench::parse_pytest_benchmark(input),
        BenchFormat::CriterionEstimates => {
            bench::parse_criterion_estimates(input, &criterion_name(path, limits))
        }
        BenchFormat::CriterionSample => {
            bench::parse_criterion_sample(input, &criterion_name(path, limits))
        }
        BenchFormat::GenericCsv => bench::parse_generic_csv(input, &stem),
        BenchFormat::GenericJson => bench::parse_generic_json(input, &stem),
    };
    parsed.map_err(|e| e.in_file(path))
}

/// The benchmark id of a criterion result file: `full_id` from the
/// `benchmark.json` beside it, else the directories between `criterion/`
/// and `new/` (`target/criterion/fib/20/new/estimates.json` → `fib/20`).
pub fn criterion_name(path: &Path, limits: &Limits) -> String {
    #[derive(Deserialize)]
    struct BenchmarkJson {
        full_id: String,
    }
    if let Some(dir) = path.parent() {
        if let Ok(mut input) = open(&dir.join("benchmark.json"), limits) {
            let mut text = String::new();
            if input.read_to_string(&mut text).is_ok() {
                if let Ok(meta) = serde_json::from_str::<BenchmarkJson>(&text) {
                    return meta.full_id;
                }
            }
        }
    }
    let parts: Vec<String> = path
        .parent()
        .into_iter()
        .flat_map(Path::components)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let start = parts
        .iter()
        .rposition(|p| p == "criterion")
        .map_or(0, |i| i + 1);
    let end = match parts.last().map(String::as_str) {
        Some("new" | "base" | "change") => parts.len() - 1,
        _ => parts.len(),
    };
    parts
        .get(start..end)
        .map(|p| p.join("/"))
        .unwrap_or_default()
}

fn head(path: &Path) -> Result<Vec<u8>, Error> {
    let mut file = crate::input::open_regular(path)
        .map_err(|e| Error::new(ErrorKind::Io(e), None).in_file(path))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) => return Err(Error::new(ErrorKind::Io(e), None).in_file(path)),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criterion_names_from_layout_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("target/criterion/fib/20/new");
        std::fs::create_dir_all(&new).unwrap();
        let est = new.join("estimates.json");
        assert_eq!(criterion_name(&est, &Limits::default()), "fib/20");
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"fib","full_id":"fib/n=20"}"#,
        )
        .unwrap();
        assert_eq!(criterion_name(&est, &Limits::default()), "fib/n=20");
    }
}
