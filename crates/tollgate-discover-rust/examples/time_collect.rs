//! Times `collect` on a directory: `cargo run --release -p tollgate-discover-rust
//! --example time_collect -- <dir> [runs]`. Prints the median wall time.

use std::path::PathBuf;
use std::time::Instant;

use tollgate_discover_rust::{collect, CollectOptions, FeatureSelection};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: time_collect <dir> [runs]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let dir = std::fs::canonicalize(PathBuf::from(dir)).unwrap_or_default();
    let opts = CollectOptions {
        paths: vec![dir],
        features: FeatureSelection::default(),
    };
    let mut times = Vec::new();
    let mut tests = 0;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        match collect(&opts) {
            Ok(c) => tests = c.inventory.tests.len(),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "{tests} tests, median {:?} over {} runs",
        times[times.len() / 2],
        times.len()
    );
}
