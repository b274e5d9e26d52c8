//! Rust discovery on generated source: the test scanner over one file's
//! text (tests, modules, macros, rstest cases, annotations).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = tollgate_discover_rust::scan::scan_source(text);
});
