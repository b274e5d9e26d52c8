//! Python discovery on generated source: the input is written as a test
//! module (and, after a NUL byte, a conftest.py) in a scratch project and
//! collected as `pytest --collect-only` would.
//!
//! Collected on libFuzzer's thread (its stack grows to the limit
//! scripts/fuzz.sh sets, as big as tollgate's parser threads), inside a
//! one-thread rayon pool that is that thread: no hand-off to another thread
//! per input, which on a busy machine cost more than the collection.
#![no_main]
use libfuzzer_sys::fuzz_target;
use tollgate_discover_python::{collect_on_this_thread, CollectOptions};

thread_local! {
    // In memory where there is a tmpfs: rewriting three small files per
    // input on ext4 (truncate, write, close) flushed them to disk every
    // time, which cost more than the collection itself.
    static DIR: tempfile::TempDir = {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir())
        } else {
            tempfile::tempdir()
        }
        .expect("scratch directory");
        std::fs::write(dir.path().join("pytest.ini"), "[pytest]\n").expect("pytest.ini");
        dir
    };
    static POOL: rayon::ThreadPool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .use_current_thread()
        .build()
        .expect("a one-thread pool on this thread");
}

fuzz_target!(|data: &[u8]| {
    let (module, conftest) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    DIR.with(|dir| {
        let root = dir.path();
        std::fs::write(root.join("test_fuzz.py"), module).unwrap();
        std::fs::write(root.join("conftest.py"), conftest).unwrap();
        let opts = CollectOptions {
            invocation_dir: root.to_path_buf(),
            args: vec![],
            rootdir: None,
            config_file: None,
            plugins: vec![],
        };
        let _ = POOL.with(|pool| pool.install(|| collect_on_this_thread(&opts)));
    });
});
