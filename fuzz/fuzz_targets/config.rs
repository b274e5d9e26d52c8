//! `tollgate.toml`: parse and validate (every check, every span).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = tollgate_config::Config::from_str(text, "tollgate.toml") {
        let _ = e.render();
    }
});
