//! JUnit XML (pytest, nextest, anything): streamed parse to test results.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_results::junit::{parse_junit, JunitOptions};

fuzz_target!(|data: &[u8]| {
    let _ = parse_junit(data, &JunitOptions::default());
});
