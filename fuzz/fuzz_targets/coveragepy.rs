//! coverage.py JSON reports.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tollgate_results::coverage::parse_coveragepy(data);
});
