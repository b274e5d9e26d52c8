//! Dev tool: how much does lint add to a static collection?
//!
//! `cargo run --release -p tollgate-lint --example lint_bench -- ROOT [RUNS]`
//! collects ROOT (Python and Rust, as `tollgate lint` does), then applies the
//! config's rules and lints, RUNS times (default 5), and prints the medians
//! and lint's cost relative to collect. The config is ROOT/tollgate.toml, or
//! the `dynamo` preset when there is none (as on the benchmark corpus).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tollgate_config::Config;
use tollgate_inventory::Inventory;
use tollgate_lint::{lint, LintInput, PytestMarkers};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(root) = args.next().map(PathBuf::from) else {
        eprintln!("usage: lint_bench ROOT [RUNS]");
        return ExitCode::from(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let root = match root.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", root.display());
            return ExitCode::from(2);
        }
    };
    let config = match Config::discover(&root) {
        Some(path) if path.parent() == Some(root.as_path()) => Config::load(&path),
        _ => Config::from_str(tollgate_config::presets::DYNAMO, "tollgate.toml"),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e.render());
            return ExitCode::from(2);
        }
    };

    let mut collect_times = Vec::new();
    let mut lint_times = Vec::new();
    let mut rules_times = Vec::new();
    let mut by_code = std::collections::BTreeMap::new();
    let mut counts = (0, 0);
    for _ in 0..runs {
        let start = Instant::now();
        let Some((mut inventory, pytest)) = collect(&root) else {
            return ExitCode::from(2);
        };
        collect_times.push(start.elapsed());

        let start = Instant::now();
        config.apply_rules(&mut inventory);
        rules_times.push(start.elapsed());
        let findings = lint(&LintInput {
            config: &config,
            inventory: &inventory,
            pytest: pytest.as_ref(),
            root: &root,
            quarantine: None,
        });
        lint_times.push(start.elapsed());
        counts = (inventory.tests.len(), findings.len());
        by_code = findings
            .iter()
            .fold(std::collections::BTreeMap::new(), |mut m, f| {
                *m.entry(f.code).or_insert(0usize) += 1;
                m
            });
    }
    if std::env::var_os("LINT_BENCH_PER_RULE").is_some() {
        per_rule(&root, &config);
    }
    let collect = median(&mut collect_times);
    let lint = median(&mut lint_times);
    let rules = median(&mut rules_times);
    println!("tests: {}, findings: {}, runs: {runs}", counts.0, counts.1);
    println!("collect (median):          {:>8.1} ms", ms(collect));
    println!("apply_rules + lint (median): {:>6.1} ms", ms(lint));
    println!("  of which apply_rules:    {:>8.1} ms", ms(rules));
    println!("findings by code: {by_code:?}");
    println!(
        "lint / collect:            {:>8.1} %",
        100.0 * ms(lint) / ms(collect)
    );
    ExitCode::SUCCESS
}

fn collect(root: &std::path::Path) -> Option<(Inventory, Option<PytestMarkers>)> {
    let mut inventory = Inventory::default();
    let python = tollgate_discover_python::collect(&tollgate_discover_python::CollectOptions {
        invocation_dir: root.to_path_buf(),
        rootdir: Some(root.to_path_buf()),
        ..Default::default()
    });
    let python = match python {
        Ok(p) => p,
        Err(e) => {
            eprintln!("python: {e}");
            return None;
        }
    };
    let pytest = python.inifile.as_ref().map(|ini| {
        let file = ini
            .strip_prefix(root)
            .unwrap_or(ini)
            .to_string_lossy()
            .into_owned();
        PytestMarkers::read(
            root,
            &file,
            python.strict_markers,
            &python.registered_markers,
        )
    });
    inventory.extend(python.inventory);
    if root.join("Cargo.toml").is_file() {
        let rust = tollgate_discover_rust::collect(&tollgate_discover_rust::CollectOptions {
            paths: vec![root.to_path_buf()],
            features: tollgate_discover_rust::FeatureSelection {
                all_features: true,
                ..Default::default()
            },
        });
        match rust {
            Ok(r) => inventory.extend(r.inventory),
            Err(e) => {
                eprintln!("rust: {e}");
                return None;
            }
        }
    }
    Some((inventory, pytest))
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Times each rule alone (every other rule disabled), once.
fn per_rule(root: &std::path::Path, config: &Config) {
    let Some((mut inventory, pytest)) = collect(root) else {
        return;
    };
    config.apply_rules(&mut inventory);
    let mut none = config.clone();
    none.lint.disable = tollgate_lint::all_rules()
        .map(|r| r.code.to_string())
        .collect();
    let start = Instant::now();
    let _ = lint(&LintInput {
        config: &none,
        inventory: &inventory,
        pytest: pytest.as_ref(),
        root,
        quarantine: None,
    });
    println!(
        "  no rule (shared set-up)                {:>8.1} ms",
        ms(start.elapsed())
    );
    for rule in tollgate_lint::all_rules() {
        let mut alone = config.clone();
        alone.lint.disable = tollgate_lint::all_rules()
            .filter(|r| r.code != rule.code)
            .map(|r| r.code.to_string())
            .collect();
        let start = Instant::now();
        let findings = lint(&LintInput {
            config: &alone,
            inventory: &inventory,
            pytest: pytest.as_ref(),
            root,
            quarantine: None,
        });
        println!(
            "  {} {:<32} {:>8.1} ms  {} findings",
            rule.code,
            rule.name,
            ms(start.elapsed()),
            findings.len()
        );
    }
}
