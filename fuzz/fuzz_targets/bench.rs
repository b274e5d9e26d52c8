//! Benchmark results: the first byte picks the format (pytest-benchmark
//! JSON, criterion estimates/sample JSON, generic CSV, generic JSON), the
//! rest is the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_results::bench;

fuzz_target!(|data: &[u8]| {
    let Some((&which, input)) = data.split_first() else { return };
    let _ = match which % 5 {
        0 => bench::parse_pytest_benchmark(input),
        1 => bench::parse_criterion_estimates(input, "fuzz"),
        2 => bench::parse_criterion_sample(input, "fuzz"),
        3 => bench::parse_generic_csv(input, "fuzz"),
        _ => bench::parse_generic_json(input, "fuzz"),
    };
});
