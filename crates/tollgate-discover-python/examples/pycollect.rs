//! Dev tool: prints what `collect()` finds, for diffing against pytest.
//!
//! `cargo run -p tollgate-discover-python --example pycollect -- [--markers] [--rootdir D] [-c F] [ARGS...]`
//! prints one node id per line (with `--markers`: id, a tab, and the marker
//! names in `iter_markers()` order, comma-separated), then diagnostics on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use tollgate_discover_python::{collect, CollectOptions};

fn main() -> ExitCode {
    let mut opts = CollectOptions {
        invocation_dir: std::env::current_dir().unwrap_or_default(),
        ..Default::default()
    };
    let mut markers = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--markers" => markers = true,
            "--rootdir" => opts.rootdir = args.next().map(PathBuf::from),
            "-c" => opts.config_file = args.next().map(PathBuf::from),
            _ => opts.args.push(a),
        }
    }
    let collection = match collect(&opts) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for t in &collection.inventory.tests {
        if markers {
            let names: Vec<&str> = t.markers.iter().map(|m| m.name.as_str()).collect();
            println!("{}\t{}", t.id, names.join(","));
        } else {
            println!("{}", t.id);
        }
    }
    for d in &collection.inventory.diagnostics {
        eprintln!("{d}");
    }
    ExitCode::SUCCESS
}
