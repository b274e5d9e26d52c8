//! Python discovery on generated source: the input is written as a test
//! module (and, after a NUL byte, a conftest.py) in a scratch project and
//! collected as `pytest --collect-only` would.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_discover_python::{collect, CollectOptions};

thread_local! {
    static DIR: tempfile::TempDir = tempfile::tempdir().expect("scratch directory");
}

fuzz_target!(|data: &[u8]| {
    let (module, conftest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    DIR.with(|dir| {
        let root = dir.path();
        std::fs::write(root.join("pytest.ini"), "[pytest]\n").unwrap();
        std::fs::write(root.join("test_fuzz.py"), module).unwrap();
        std::fs::write(root.join("conftest.py"), conftest).unwrap();
        let _ = collect(&CollectOptions {
            invocation_dir: root.to_path_buf(),
            args: vec![],
            rootdir: None,
            config_file: None,
        });
    });
});
