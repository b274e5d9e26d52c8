//! A job's exact commands: its templates with placeholders filled in, or,
//! when it has none, the commands derived from what it selects (`pytest`
//! and `cargo nextest run`).
//!
//! A command is only kept for a language the job selects tests of: a unit
//! job with no Rust tests in this plan does not run `cargo nextest`.

use tollgate_config::{CargoOptions, IgnoredTests};
use tollgate_inventory::TestItem;

use crate::filterset::{self, RustUniverse, MAX_FILTERSET_ARG};
use crate::model::ArgsFile;
use crate::vars::Variables;

/// What to fill the placeholders with, for one job (or one shard of it).
#[derive(Clone, Copy)]
pub(crate) struct CommandContext<'a> {
    pub pipeline: &'a str,
    pub job: &'a str,
    pub stage: u32,
    pub framework: Option<&'a str>,
    pub shard: Option<(u32, u32)>,
    /// The `-m` expression, when it selects exactly the planned Python tests.
    pub markexpr: Option<&'a str>,
    /// Otherwise, the node-id file pytest reads.
    pub args_file: Option<&'a str>,
    pub python_tests: usize,
    pub rust_tests: &'a [&'a TestItem],
    pub cargo: &'a CargoOptions,
    pub variables: &'a Variables,
    /// Every Rust test of the inventory, for compact filtersets.
    pub universe: &'a RustUniverse<'a>,
    /// Files this job's commands read are named after this stem
    /// (`.tollgate/plan/<pipeline>/<job>`).
    pub files_stem: &'a str,
    /// `{nextest_filter}` as already decided for one workspace.
    pub nextest_filter: Option<&'a str>,
}

/// Which runner a command template drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommandKind {
    Python,
    Rust,
    Other,
}

fn kind_of(template: &str) -> CommandKind {
    let words: Vec<&str> = template.split_whitespace().collect();
    if template.contains("{markexpr}")
        || words
            .iter()
            .any(|w| *w == "pytest" || w.ends_with("/pytest"))
    {
        CommandKind::Python
    } else if template.contains("{nextest_filter}")
        || template.contains("{cargo_features}")
        // `cargo test`, `cargo nextest run`, `cargo llvm-cov nextest`...; a
        // `cargo build` (a build job's command) runs no test and is kept.
        || (words.first() == Some(&"cargo")
            && words.iter().any(|w| matches!(*w, "test" | "nextest" | "bench")))
    {
        CommandKind::Rust
    } else {
        CommandKind::Other
    }
}

/// A job's rendered commands, notes for the plan, and files its commands read.
pub(crate) struct Rendered {
    pub commands: Vec<String>,
    pub notes: Vec<String>,
    pub files: Vec<ArgsFile>,
}

/// Renders the job's commands. A Rust command becomes one command per Cargo
/// workspace its tests live in, each run in that workspace's directory.
pub(crate) fn render(templates: &[String], ctx: &CommandContext<'_>) -> Rendered {
    let mut notes = Vec::new();
    let mut files = Vec::new();
    let derived;
    let templates: &[String] = if templates.is_empty() {
        derived = derived_templates(ctx);
        &derived
    } else {
        templates
    };
    let mut commands = Vec::new();
    for template in templates {
        let kind = kind_of(template);
        if (kind == CommandKind::Python && ctx.python_tests == 0)
            || (kind == CommandKind::Rust && ctx.rust_tests.is_empty())
        {
            continue;
        }
        let template = match (kind, ctx.markexpr, ctx.args_file) {
            (CommandKind::Python, None, Some(file)) if template.contains("{markexpr}") => {
                let (rewritten, whole) = use_args_file(template, file);
                notes.push(if whole {
                    format!(
                        "job `{}`: `-m` cannot express its selection exactly, so `{template}` was replaced by `{rewritten}`",
                        ctx.job
                    )
                } else {
                    format!(
                        "job `{}`: `-m` cannot express its selection exactly; pytest reads the node ids from `{file}`",
                        ctx.job
                    )
                });
                rewritten
            }
            _ => template.clone(),
        };
        if kind == CommandKind::Rust {
            for (workspace, tests) in by_workspace(ctx.rust_tests) {
                let filter;
                let mut sub = CommandContext {
                    rust_tests: &tests,
                    ..*ctx
                };
                if template.contains("{nextest_filter}") {
                    filter = nextest_filter(&sub, workspace, &mut files, &mut notes);
                    sub.nextest_filter = Some(&filter);
                }
                let command = collapse_spaces(&fill(&template, &sub));
                if command.is_empty() {
                    continue;
                }
                commands.push(if workspace.is_empty() {
                    command
                } else {
                    format!("cd {} && {command}", shell_quote(workspace))
                });
            }
            continue;
        }
        let command = collapse_spaces(&fill(&template, ctx));
        if !command.is_empty() {
            commands.push(command);
        }
    }
    Rendered {
        commands,
        notes,
        files,
    }
}

/// Rust tests by Cargo workspace, the root workspace first, then the others
/// in the order they first appear.
fn by_workspace<'t>(tests: &[&'t TestItem]) -> Vec<(&'t str, Vec<&'t TestItem>)> {
    let mut groups: Vec<(&str, Vec<&TestItem>)> = Vec::new();
    for t in tests {
        let ws = t.rust.as_ref().map_or("", |f| f.workspace.as_str());
        match groups.iter_mut().find(|(w, _)| *w == ws) {
            Some((_, group)) => group.push(t),
            None => groups.push((ws, vec![t])),
        }
    }
    groups.sort_by_key(|(ws, _)| !ws.is_empty());
    groups
}

fn derived_templates(ctx: &CommandContext<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if !ctx.rust_tests.is_empty() {
        out.push("cargo nextest run --workspace {cargo_features} {nextest_filter}".to_string());
    }
    if ctx.python_tests > 0 {
        out.push(match (ctx.markexpr, ctx.args_file) {
            (Some(_), _) => "pytest -m {markexpr_quoted}".to_string(),
            (None, Some(file)) => format!("pytest @{file}"),
            (None, None) => "pytest".to_string(),
        });
    }
    out
}

/// Replaces the `-m {markexpr}` option by `@file`; the whole command when the
/// option is not written in a recognisable way. The flag says which.
fn use_args_file(template: &str, file: &str) -> (String, bool) {
    for form in ["-m \"{markexpr}\"", "-m '{markexpr}'", "-m {markexpr}"] {
        if template.contains(form) {
            return (template.replacen(form, &format!("@{file}"), 1), false);
        }
    }
    (format!("pytest @{file}"), true)
}

/// Fills `{placeholder}`s; `{{` and `}}` are literal braces. An unknown
/// placeholder (validation rejects them) is left as written.
///
/// Commands are shell command lines, so a value is pasted as data, never as
/// shell syntax: outside quotes it becomes one POSIX-quoted word, inside
/// `'...'` or `"..."` the characters that would end the quotes or expand
/// (`'`; `"`, `$`, backquote, `\`) are escaped. `MODEL='x; touch pwned'`
/// renders as the single argument `x; touch pwned`.
fn fill(template: &str, ctx: &CommandContext<'_>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    let mut quoting = Quoting::default();
    while let Some(pos) = rest.find(['{', '}']) {
        quoting.scan(&rest[..pos]);
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if tail.starts_with('{') {
            if let Some(end) = tail.find('}') {
                let name = &tail[1..end];
                match value(name, ctx) {
                    Some(Value::Shell(v)) => {
                        quoting.scan(&v);
                        out.push_str(&v);
                    }
                    Some(Value::Data(v)) => out.push_str(&quoting.quote(&v)),
                    None => out.push_str(&tail[..=end]),
                }
                rest = &tail[end + 1..];
                continue;
            }
        }
        quoting.scan(&tail[..1]);
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

/// Where a position of a command line is, for POSIX `sh`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    #[default]
    Bare,
    Single,
    Double,
    /// After a backslash outside single quotes (inside double quotes when
    /// the flag is set).
    Escaped(bool),
}

impl Quoting {
    fn scan(&mut self, text: &str) {
        for c in text.chars() {
            *self = match (*self, c) {
                (Quoting::Escaped(true), _) => Quoting::Double,
                (Quoting::Escaped(false), _) => Quoting::Bare,
                (Quoting::Bare, '\\') => Quoting::Escaped(false),
                (Quoting::Bare, '\'') => Quoting::Single,
                (Quoting::Bare, '"') => Quoting::Double,
                (Quoting::Single, '\'') => Quoting::Bare,
                (Quoting::Double, '\\') => Quoting::Escaped(true),
                (Quoting::Double, '"') => Quoting::Bare,
                (state, _) => state,
            };
        }
    }

    /// `value` as literal text at this position.
    fn quote(self, value: &str) -> String {
        match self {
            // Empty stays empty (an unset variable drops out of the line).
            Quoting::Bare if value.is_empty() => String::new(),
            Quoting::Bare => shell_quote(value),
            Quoting::Single => value.replace('\'', "'\\''"),
            Quoting::Double => {
                let mut out = String::with_capacity(value.len());
                for c in value.chars() {
                    if matches!(c, '"' | '$' | '`' | '\\') {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out
            }
            // `\{x}`: the backslash takes the first character as it is
            // (a newline: a line continuation, dropped); the rest is quoted.
            Quoting::Escaped(inside) => {
                let after = if inside {
                    Quoting::Double
                } else {
                    Quoting::Bare
                };
                let mut chars = value.chars();
                match chars.next() {
                    Some(first) => format!("{first}{}", after.quote(chars.as_str())),
                    None => String::new(),
                }
            }
        }
    }
}

/// A placeholder's text: shell syntax tollgate generated (already quoted),
/// or data from the configuration, the environment or a flag.
enum Value {
    Shell(String),
    Data(String),
}

fn value(name: &str, ctx: &CommandContext<'_>) -> Option<Value> {
    Some(match name {
        "markexpr_quoted" => Value::Shell(shell_quote(ctx.markexpr.unwrap_or_default())),
        "nextest_filter" => Value::Shell(match ctx.nextest_filter {
            Some(decided) => decided.to_string(),
            None => {
                let filterset = filterset::compact(ctx.rust_tests, ctx.universe, ctx.cargo.ignored);
                format!("{}-E {}", ignored_flag(ctx.cargo), shell_quote(&filterset))
            }
        }),
        "cargo_features" => Value::Shell(cargo_features(ctx.cargo)),
        "markexpr" => Value::Data(ctx.markexpr.unwrap_or_default().to_string()),
        "framework" => Value::Data(ctx.framework.unwrap_or_default().to_string()),
        "pipeline" => Value::Data(ctx.pipeline.to_string()),
        "job" => Value::Data(ctx.job.to_string()),
        "stage" => Value::Data(ctx.stage.to_string()),
        "shard" => Value::Data(ctx.shard.map_or(1, |(i, _)| i).to_string()),
        "shards" => Value::Data(ctx.shard.map_or(1, |(_, n)| n).to_string()),
        var => Value::Data(ctx.variables.text(var).or_else(|| {
            // A declared but unset variable renders empty; anything else stays.
            ctx.variables.is_declared(var).then(String::new)
        })?),
    })
}

fn cargo_features(cargo: &CargoOptions) -> String {
    let mut flags = Vec::new();
    if cargo.no_default_features {
        flags.push("--no-default-features".to_string());
    }
    if cargo.all_features {
        flags.push("--all-features".to_string());
    } else if !cargo.features.is_empty() {
        flags.push(format!(
            "--features {}",
            shell_quote(&cargo.features.join(","))
        ));
    }
    flags.join(" ")
}

fn ignored_flag(cargo: &CargoOptions) -> &'static str {
    match cargo.ignored {
        IgnoredTests::Exclude => "",
        IgnoredTests::Include => "--run-ignored all ",
        IgnoredTests::Only => "--run-ignored only ",
    }
}

/// `{nextest_filter}` for one workspace's tests: `-E '<filterset>'` when it
/// fits in one argument, else a nextest config file whose `tollgate`
/// profile has the filterset as its `default-filter` (written next to the
/// plan's other files; the path is relative to the workspace directory).
fn nextest_filter(
    ctx: &CommandContext<'_>,
    workspace: &str,
    files: &mut Vec<ArgsFile>,
    notes: &mut Vec<String>,
) -> String {
    let filterset = filterset::compact(ctx.rust_tests, ctx.universe, ctx.cargo.ignored);
    let ignored = ignored_flag(ctx.cargo);
    let quoted = shell_quote(&filterset);
    if quoted.len() <= MAX_FILTERSET_ARG {
        return format!("{ignored}-E {quoted}");
    }
    let suffix = if workspace.is_empty() {
        String::new()
    } else {
        format!(".{}", workspace.replace(['/', '\\'], "-"))
    };
    let path = format!("{}{suffix}.nextest.toml", ctx.files_stem);
    let up = "../".repeat(workspace.split('/').filter(|s| !s.is_empty()).count());
    notes.push(format!(
        "job `{}`: its Rust selection ({} tests, a {} KiB filterset) is too long for a command line; \
         nextest reads it from `{path}` (profile `{}`, nextest >= 0.9.76)",
        ctx.job,
        ctx.rust_tests.len(),
        quoted.len() / 1024,
        filterset::PROFILE
    ));
    files.push(ArgsFile {
        path: path.clone(),
        contents: filterset::config_file(&filterset),
    });
    format!(
        "{ignored}--config-file {} --profile {}",
        shell_quote(&format!("{up}{path}")),
        filterset::PROFILE
    )
}

/// POSIX shell single-quoting (only when needed, so commands stay readable).
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ',' | '=' | ':' | '@' | '+')
        });
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Empty placeholders leave double spaces behind; quoted text is kept as is.
fn collapse_spaces(command: &str) -> String {
    let mut out = String::with_capacity(command.len());
    let mut quote: Option<char> = None;
    let mut previous_space = false;
    for c in command.trim().chars() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
        if c == ' ' && quote.is_none() {
            if previous_space {
                continue;
            }
            previous_space = true;
        } else {
            previous_space = false;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_inventory::{Language, RustFacts};

    fn rust_test(binary: &str, name: &str) -> TestItem {
        TestItem {
            id: format!("{binary} {name}"),
            language: Language::Rust,
            file: "lib/x/src/lib.rs".into(),
            line: 1,
            function: name.into(),
            markers: vec![],
            dynamic: None,
            rust: Some(RustFacts {
                package: binary.into(),
                binary_id: binary.into(),
                ..RustFacts::default()
            }),
        }
    }

    fn ctx<'a>(
        vars: &'a Variables,
        cargo: &'a CargoOptions,
        rust: &'a [&'a TestItem],
        markexpr: Option<&'a str>,
    ) -> CommandContext<'a> {
        static EMPTY: std::sync::OnceLock<RustUniverse<'static>> = std::sync::OnceLock::new();
        CommandContext {
            pipeline: "pr",
            job: "unit",
            stage: 3,
            framework: Some("vllm"),
            shard: None,
            markexpr,
            args_file: Some(".tollgate/plan/pr/unit.args"),
            python_tests: 2,
            rust_tests: rust,
            cargo,
            variables: vars,
            universe: EMPTY.get_or_init(RustUniverse::default),
            files_stem: ".tollgate/plan/pr/unit",
            nextest_filter: None,
        }
    }

    fn render_pair(templates: &[String], c: &CommandContext<'_>) -> (Vec<String>, Vec<String>) {
        let r = render(templates, c);
        (r.commands, r.notes)
    }

    #[test]
    fn templates_are_filled() {
        let vars = Variables::default();
        let cargo = CargoOptions {
            features: vec!["integration".into()],
            ..CargoOptions::default()
        };
        let t = rust_test("kvbm", "pool::tests::alloc");
        let rust = [&t];
        let c = ctx(&vars, &cargo, &rust, Some("(unit) and pre_merge"));
        let templates = vec![
            "cargo nextest run --workspace {cargo_features} {nextest_filter}".to_string(),
            "pytest -m \"{markexpr}\"".to_string(),
            "./build.sh --framework {framework} # {{literal}} {pipeline}/{job}@{stage}".to_string(),
        ];
        let (commands, notes) = render_pair(&templates, &c);
        assert_eq!(
            commands,
            [
                "cargo nextest run --workspace --features integration -E '(binary_id(=kvbm) & (test(=pool::tests::alloc)))'",
                "pytest -m \"(unit) and pre_merge\"",
                "./build.sh --framework vllm # {literal} pr/unit@3",
            ]
        );
        assert!(notes.is_empty());
    }

    #[test]
    fn commands_for_languages_without_tests_are_dropped() {
        let vars = Variables::default();
        let cargo = CargoOptions::default();
        let c = ctx(&vars, &cargo, &[], Some("unit"));
        let templates = vec![
            "cargo nextest run {nextest_filter}".to_string(),
            "pytest -m \"{markexpr}\"".to_string(),
        ];
        let (commands, _) = render_pair(&templates, &c);
        assert_eq!(commands, ["pytest -m \"unit\""]);
    }

    #[test]
    fn build_commands_are_kept_without_rust_tests() {
        let vars = Variables::default();
        let cargo = CargoOptions::default();
        let c = ctx(&vars, &cargo, &[], Some("unit"));
        let templates = vec![
            "cargo build --workspace --all-targets".to_string(),
            "cargo test --workspace".to_string(),
            "cargo llvm-cov nextest --workspace".to_string(),
        ];
        let (commands, _) = render_pair(&templates, &c);
        assert_eq!(commands, ["cargo build --workspace --all-targets"]);
    }

    #[test]
    fn inexpressible_selections_use_the_args_file() {
        let vars = Variables::default();
        let cargo = CargoOptions::default();
        let c = ctx(&vars, &cargo, &[], None);
        let templates = vec![
            "pytest --timeout 60 -m \"{markexpr}\" -x".to_string(),
            "python -m pytest -m {markexpr}".to_string(),
            "pytest -m=\"{markexpr}\"".to_string(),
        ];
        let (commands, notes) = render_pair(&templates, &c);
        assert_eq!(
            commands,
            [
                "pytest --timeout 60 @.tollgate/plan/pr/unit.args -x",
                "python -m pytest @.tollgate/plan/pr/unit.args",
                "pytest @.tollgate/plan/pr/unit.args",
            ]
        );
        assert_eq!(notes.len(), 3);
        assert!(notes[2].contains("was replaced by"), "{}", notes[2]);
    }

    #[test]
    fn derived_commands_without_templates() {
        let vars = Variables::default();
        let cargo = CargoOptions {
            all_features: true,
            ignored: IgnoredTests::Only,
            ..CargoOptions::default()
        };
        let t = rust_test("llm", "it's");
        let rust = [&t];
        let c = ctx(&vars, &cargo, &rust, Some("unit and not slow"));
        let (commands, _) = render_pair(&[], &c);
        assert_eq!(
            commands,
            [
                "cargo nextest run --workspace --all-features --run-ignored only -E '(binary_id(=llm) & (test(=it'\\''s)))'",
                "pytest -m 'unit and not slow'",
            ]
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("integration,gpu"), "integration,gpu");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(collapse_spaces("a  b  'c  d'  "), "a b 'c  d'");
    }
}
