//! Marker expressions (`-m`, job and budget `expr`): parse, then evaluate
//! against a fixed marker set. Must never panic or recurse without bound.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(expr) = tollgate_markexpr::Expression::parse(text) {
        let _ = expr.is_empty();
        let _ = expr.marker_names().len();
    }
});
