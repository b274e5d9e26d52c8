//! Scores attribution on a labelled corpus (JSON lines of
//! `{"failure": Failure, "expect": {"component": ..., "class": ...}, "kind": ...}`)
//! against a project's tollgate.toml; prints accuracy per kind and overall.
//!
//! `cargo run --release -p tollgate-triage --example attribution_eval -- tollgate.toml corpus.jsonl`
//! (bench/triage_bench.py builds the corpus from examples/monorepo and runs this).

use std::collections::BTreeMap;

use tollgate_triage::{Class, Failure, Triager};

#[derive(serde::Deserialize)]
struct Case {
    kind: String,
    failure: Failure,
    expect: Expect,
}

#[derive(serde::Deserialize)]
struct Expect {
    component: Option<String>,
    class: Class,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(config_path), Some(corpus_path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: attribution_eval TOLLGATE_TOML CORPUS_JSONL");
        std::process::exit(2);
    };
    let config =
        tollgate_config::Config::load(std::path::Path::new(config_path)).unwrap_or_else(|e| {
            eprintln!("{}", e.render());
            std::process::exit(2);
        });
    let triager = Triager::new(&config).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let text = std::fs::read_to_string(corpus_path).unwrap_or_else(|e| {
        eprintln!("{corpus_path}: {e}");
        std::process::exit(2);
    });
    // kind -> (cases, component right, class right)
    let mut score: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let case: Case = serde_json::from_str(line).unwrap_or_else(|e| {
            eprintln!("{corpus_path}:{}: {e}", i + 1);
            std::process::exit(2);
        });
        let t = triager.triage(&case.failure);
        let s = score.entry(case.kind.clone()).or_default();
        s.0 += 1;
        let component_ok = t.component == case.expect.component;
        let class_ok = t.class == case.expect.class;
        s.1 += u32::from(component_ok);
        s.2 += u32::from(class_ok);
        if !component_ok || !class_ok {
            println!(
                "miss {}:{} {}: component {:?} (expected {:?}), class {} (expected {})",
                corpus_path,
                i + 1,
                case.failure.test_id,
                t.component,
                case.expect.component,
                t.class.as_str(),
                case.expect.class.as_str()
            );
        }
    }
    let (mut n, mut c, mut k) = (0, 0, 0);
    for (kind, (cases, comp, class)) in &score {
        println!(
            "{kind:<12} {cases:>4} cases  component {:>6.2}%  class {:>6.2}%",
            100.0 * f64::from(*comp) / f64::from(*cases),
            100.0 * f64::from(*class) / f64::from(*cases)
        );
        n += cases;
        c += comp;
        k += class;
    }
    let comp = 100.0 * f64::from(c) / f64::from(n.max(1));
    let class = 100.0 * f64::from(k) / f64::from(n.max(1));
    println!("overall      {n:>4} cases  component {comp:>6.2}%  class {class:>6.2}%");
    if comp < 95.0 || class < 95.0 {
        std::process::exit(1);
    }
}
