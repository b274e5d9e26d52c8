//! Prints what `cargo nextest list --workspace --message-format oneline` would
//! print for a directory, plus diagnostics on stderr:
//! `cargo run -p tollgate-discover-rust --example list_ids -- <dir> [--all-features]
//! [--no-default-features] [--features F] [--run-ignored default|only|all]`.

use std::path::PathBuf;

use tollgate_discover_rust::{
    collect, nextest_list_ids, CollectOptions, FeatureSelection, RunIgnored,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut paths = Vec::new();
    let mut features = FeatureSelection::default();
    let mut run_ignored = RunIgnored::Default;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--all-features" => features.all_features = true,
            "--no-default-features" => features.no_default_features = true,
            "--features" => features.features.extend(args.next()),
            "--run-ignored" => {
                run_ignored = match args.next().as_deref() {
                    Some("only") => RunIgnored::Only,
                    Some("all") => RunIgnored::All,
                    _ => RunIgnored::Default,
                }
            }
            path => paths.push(std::fs::canonicalize(PathBuf::from(path)).unwrap_or_default()),
        }
    }
    match collect(&CollectOptions { paths, features }) {
        Ok(c) => {
            for d in &c.inventory.diagnostics {
                eprintln!("{d}");
            }
            for id in nextest_list_ids(&c.inventory, run_ignored) {
                println!("{id}");
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
