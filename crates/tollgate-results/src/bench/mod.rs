//! Benchmark results: pytest-benchmark JSON, criterion, and a plain generic form.

mod criterion;
mod generic;
mod pytest_benchmark;

pub use criterion::{parse_criterion_estimates, parse_criterion_sample};
pub use generic::{parse_generic_csv, parse_generic_json};
pub use pytest_benchmark::parse_pytest_benchmark;

/// A benchmark file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchFormat {
    PytestBenchmark,
    CriterionEstimates,
    CriterionSample,
    GenericCsv,
    GenericJson,
}

impl BenchFormat {
    /// Recognises the format from the first bytes of a file.
    pub fn sniff(head: &[u8]) -> Option<BenchFormat> {
        let text = String::from_utf8_lossy(head);
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Some(
                if trimmed.contains("\"benchmarks\"") || trimmed.contains("\"machine_info\"") {
                    BenchFormat::PytestBenchmark
                } else if trimmed.contains("\"point_estimate\"") {
                    BenchFormat::CriterionEstimates
                } else if trimmed.contains("\"iters\"") && trimmed.contains("\"times\"") {
                    BenchFormat::CriterionSample
                } else {
                    BenchFormat::GenericJson
                },
            );
        }
        (!trimmed.is_empty() && !trimmed.starts_with('<')).then_some(BenchFormat::GenericCsv)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_each_format() {
        assert_eq!(
            BenchFormat::sniff(br#"{"machine_info": {}, "benchmarks": []}"#),
            Some(BenchFormat::PytestBenchmark)
        );
        assert_eq!(
            BenchFormat::sniff(br#"{"mean":{"point_estimate":1}}"#),
            Some(BenchFormat::CriterionEstimates)
        );
        assert_eq!(
            BenchFormat::sniff(br#"{"sampling_mode":"Linear","iters":[1],"times":[2]}"#),
            Some(BenchFormat::CriterionSample)
        );
        assert_eq!(
            BenchFormat::sniff(br#"[{"metric":"a","value":1}]"#),
            Some(BenchFormat::GenericJson)
        );
        assert_eq!(
            BenchFormat::sniff(b"metric,value,unit\n"),
            Some(BenchFormat::GenericCsv)
        );
        assert_eq!(BenchFormat::sniff(b"<x/>"), None);
        assert_eq!(BenchFormat::sniff(b""), None);
    }
}
