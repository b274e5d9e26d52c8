//! Every printed command runs as printed: on a generated 20,000-test Rust
//! workspace, no argument of any command exceeds Linux's 128 KiB and no
//! command 1 MiB — whether the selection compacts into whole binaries and
//! modules or has to go to a nextest config file — and the filterset
//! (on the command line or in the file) selects exactly the planned tests.

use std::collections::BTreeSet;

use tollgate_config::Config;
use tollgate_inventory::{
    Inventory, Language, MarkOrigin, MarkSource, Marker, RustFacts, TestItem,
};
use tollgate_plan::{plan, Plan, PlanInput, Variables};

const ARG_MAX: usize = 128 * 1024;
const TOTAL_MAX: usize = 1024 * 1024;

const CONFIG: &str = r#"
[taxonomy.categories.lifecycle]
ordered = true
markers = { pre_merge = "" }
[taxonomy.categories.type]
markers = { unit = "", integration = "" }
[jobs.unit]
expr = "unit"
commands = ["cargo nextest run --workspace {cargo_features} {nextest_filter}"]
[pipelines.pr]
stage = "pre_merge"
on = "pull_request"
jobs = ["unit"]
"#;

/// 20,000 tests in 4 binaries of a nested workspace, 50 modules each with
/// 100 tests; `unit(i)` decides which are unit tests.
fn inventory(unit: impl Fn(usize, usize) -> bool) -> Inventory {
    let origin = MarkOrigin {
        file: "lib/big/src/lib.rs".into(),
        line: 1,
        source: MarkSource::ConfigRule,
        learned: None,
    };
    let mut tests = Vec::new();
    for binary in 0..4 {
        for i in 0..5000 {
            let module = i / 100;
            let name = format!(
                "subsystem_{module}::behaviour::test_{i}_does_what_its_rather_long_descriptive_name_says"
            );
            let kind = if unit(module, i) {
                "unit"
            } else {
                "integration"
            };
            tests.push(TestItem {
                id: format!("big-{binary} {name}"),
                language: Language::Rust,
                file: "lib/big/src/lib.rs".into(),
                line: 1,
                function: name,
                markers: vec![
                    Marker::new("pre_merge", origin.clone()),
                    Marker::new(kind, origin.clone()),
                ],
                dynamic: None,
                rust: Some(RustFacts {
                    package: format!("big-{binary}"),
                    target_kind: "lib".into(),
                    target_name: format!("big_{binary}"),
                    binary_id: format!("big-{binary}"),
                    test_attribute: "test".into(),
                    workspace: "lib/big".into(),
                    ..RustFacts::default()
                }),
            });
        }
    }
    Inventory {
        tests,
        diagnostics: vec![],
    }
}

fn plan_of(inventory: &Inventory) -> Plan {
    let config = Config::from_str(CONFIG, "tollgate.toml").unwrap();
    let no_env = |_: &str| None;
    let variables = Variables::resolve(&config, config.pipelines.get("pr"), &[], &no_env).unwrap();
    plan(&PlanInput {
        config: &config,
        inventory,
        pipeline: "pr",
        variables: &variables,
        changes: None,
        durations: None,
        shards: None,
        flaky: None,
    })
    .unwrap()
}

/// POSIX shell words (single and double quotes, backslash outside quotes).
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = command.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            ' ' => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// A filterset as tollgate prints it: `binary_id(=b)`, `test(=name)`,
/// `test(/^prefix::/)`, `&`, `|`, parentheses, `none()` — parsed once, so
/// that 20,000 tests can be checked against a megabyte of it.
#[derive(Debug)]
enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    /// An `|` of exact names only.
    Names(std::collections::HashSet<String>),
    Binary(String),
    Exact(String),
    Prefix(String),
    Nothing,
}

impl Filter {
    fn parse(text: &str) -> Filter {
        let mut s = text;
        let f = Self::or(&mut s);
        assert!(s.trim().is_empty(), "trailing text: {s}");
        f
    }

    fn or(s: &mut &str) -> Filter {
        let mut parts = vec![Self::and(s)];
        loop {
            *s = s.trim_start();
            match s.strip_prefix('|') {
                Some(rest) => {
                    *s = rest;
                    parts.push(Self::and(s));
                }
                None => break,
            }
        }
        if parts.len() == 1 {
            return parts.pop().unwrap();
        }
        if parts.iter().all(|p| matches!(p, Filter::Exact(_))) {
            return Filter::Names(
                parts
                    .into_iter()
                    .map(|p| match p {
                        Filter::Exact(n) => n,
                        _ => unreachable!(),
                    })
                    .collect(),
            );
        }
        Filter::Or(parts)
    }

    fn and(s: &mut &str) -> Filter {
        let mut parts = vec![Self::atom(s)];
        loop {
            *s = s.trim_start();
            match s.strip_prefix('&') {
                Some(rest) => {
                    *s = rest;
                    parts.push(Self::atom(s));
                }
                None => break,
            }
        }
        if parts.len() == 1 {
            parts.pop().unwrap()
        } else {
            Filter::And(parts)
        }
    }

    fn arg(s: &mut &str) -> String {
        let mut out = String::new();
        let mut chars = s.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, c)) = chars.next() {
                        out.push(c);
                    }
                }
                ')' => {
                    *s = &s[i + 1..];
                    return out;
                }
                c => out.push(c),
            }
        }
        panic!("unterminated matcher");
    }

    fn atom(s: &mut &str) -> Filter {
        *s = s.trim_start();
        if let Some(rest) = s.strip_prefix('(') {
            *s = rest;
            let f = Self::or(s);
            *s = s
                .trim_start()
                .strip_prefix(')')
                .expect("closing parenthesis");
            f
        } else if let Some(rest) = s.strip_prefix("binary_id(=") {
            *s = rest;
            Filter::Binary(Self::arg(s))
        } else if let Some(rest) = s.strip_prefix("test(=") {
            *s = rest;
            Filter::Exact(Self::arg(s))
        } else if let Some(rest) = s.strip_prefix("test(/^") {
            *s = rest;
            let pattern = Self::arg(s);
            Filter::Prefix(pattern.strip_suffix('/').expect("regex end").to_string())
        } else if let Some(rest) = s.strip_prefix("none()") {
            *s = rest;
            Filter::Nothing
        } else {
            panic!("unexpected filterset text: {}", &s[..s.len().min(40)]);
        }
    }

    fn matches(&self, binary: &str, name: &str) -> bool {
        match self {
            Filter::Or(parts) => parts.iter().any(|p| p.matches(binary, name)),
            Filter::And(parts) => parts.iter().all(|p| p.matches(binary, name)),
            Filter::Names(names) => names.contains(name),
            Filter::Binary(b) => b == binary,
            Filter::Exact(n) => n == name,
            Filter::Prefix(p) => name.starts_with(p.as_str()),
            Filter::Nothing => false,
        }
    }
}

/// Checks the limits, then that the filterset selects exactly the plan's tests.
fn check(inventory: &Inventory, plan: &Plan) -> &'static str {
    let job = &plan.jobs[0];
    assert_eq!(job.commands.len(), 1, "one workspace, one command");
    let command = &job.commands[0];
    assert!(
        command.len() <= TOTAL_MAX,
        "command of {} bytes",
        command.len()
    );
    assert!(
        command.starts_with("cd lib/big && cargo nextest run"),
        "{command}"
    );
    let argv = words(command);
    for w in &argv {
        assert!(w.len() <= ARG_MAX, "argument of {} bytes", w.len());
    }
    let (filter, how) = if let Some(i) = argv.iter().position(|w| w == "-E") {
        (argv[i + 1].clone(), "command line")
    } else {
        let i = argv
            .iter()
            .position(|w| w == "--config-file")
            .expect("-E or --config-file");
        let path = argv[i + 1].trim_start_matches("../").to_string();
        assert_eq!(
            argv[i + 2..i + 4],
            ["--profile".to_string(), "tollgate".to_string()]
        );
        let file = plan
            .args_files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} not among the plan's files"));
        let parsed: toml::Table = toml::from_str(&file.contents).unwrap();
        let filter = parsed["profile"]["tollgate"]["default-filter"]
            .as_str()
            .unwrap()
            .to_string();
        (filter, "config file")
    };
    let planned: BTreeSet<&str> = job.tests.iter().map(String::as_str).collect();
    let filter = Filter::parse(&filter);
    for t in &inventory.tests {
        let facts = t.rust.as_ref().unwrap();
        assert_eq!(
            filter.matches(&facts.binary_id, &t.function),
            planned.contains(t.id.as_str()),
            "{}",
            t.id
        );
    }
    how
}

#[test]
fn a_scattered_selection_of_20000_tests_goes_to_a_nextest_config_file() {
    // Every other test: nothing groups, 10,000 names (about 1 MB).
    let inventory = inventory(|_, i| i % 2 == 0);
    let plan = plan_of(&inventory);
    assert_eq!(plan.jobs[0].rust_tests, 10_000);
    assert_eq!(check(&inventory, &plan), "config file");
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("too long for a command line")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn whole_modules_and_binaries_compact_onto_the_command_line() {
    // Even modules are unit tests: 25 module regexes per binary.
    let inventory = inventory(|module, _| module % 2 == 0);
    let plan = plan_of(&inventory);
    assert_eq!(plan.jobs[0].rust_tests, 10_000);
    assert_eq!(check(&inventory, &plan), "command line");
    assert!(plan.args_files.is_empty());
    // Everything: one term per binary.
    let inventory = self::inventory(|_, _| true);
    let plan = plan_of(&inventory);
    assert_eq!(check(&inventory, &plan), "command line");
    assert!(plan.jobs[0].commands[0].ends_with(
        "-E 'binary_id(=big-0) | binary_id(=big-1) | binary_id(=big-2) | binary_id(=big-3)'"
    ));
}
