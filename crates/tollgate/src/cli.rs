//! Command-line definitions. `--help` is the user's first documentation, so
//! every option says what it does and what it defaults to.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::config::{ConfigArgs, InitArgs, MarkersArgs};
use crate::commands::lint::LintArgs;

#[derive(Debug, Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Test-strategy engine for Rust + Python monorepos",
    long_about = "tollgate discovers every pytest and Rust test statically (no imports, no \
compiling), checks them against the marker taxonomy in tollgate.toml, and selects, plans, runs \
and gates them per CI pipeline.",
    after_help = "Start with `tollgate init`, then `tollgate lint` and `tollgate run --pipeline pr`.

Exit codes: 0 success, 1 findings (diagnostics with --strict, lint errors, \
failed tests, a blocked gate), 2 usage or configuration error, 3 infrastructure error, \
4 run incomplete (a gating job could not run here), 5 `collect -m` selected no test."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every test statically, with its markers, like `pytest --collect-only -q` and
    /// `cargo nextest list` would, without importing or compiling anything.
    #[command(after_help = COLLECT_EXAMPLES)]
    Collect(CollectArgs),
    /// Run real `pytest --collect-only` in the project's environment and record every item's
    /// node id and marks in the history store, so that entries static discovery flags dynamic
    /// are known exactly while their files are unchanged.
    #[command(after_help = crate::commands::learn::EXAMPLES)]
    Learn(crate::commands::learn::LearnArgs),
    /// Check every test against the taxonomy in tollgate.toml: required
    /// categories, exclusive markers, unknown and alias markers, pytest
    /// registration, location, file names, Rust feature gates, tests no
    /// pipeline runs.
    Lint(LintArgs),
    /// Plan a pipeline: which jobs run, on which runners, with which exact
    /// commands and tests; jobs that would select nothing are dropped.
    #[command(after_help = "Examples:
  tollgate plan --pipeline pr                     the pull-request plan as a table
  tollgate plan --pipeline pr --base origin/main  narrowed to what changed since main
  tollgate plan --pipeline nightly --format github -o matrix.json
  tollgate plan --pipeline pr --explain 'tests/test_x.py::test_y'

Exit codes: 0 planned, 2 usage or configuration error.")]
    Plan(crate::commands::plan::PlanArgs),
    /// Run a pipeline here: stages in order, retries (flaky tests are
    /// reported as flaky), quarantine, timeouts, budgets, secret redaction.
    Run(crate::commands::run::RunArgs),
    /// Record JUnit, coverage or benchmark results produced elsewhere in the
    /// history store (shards of one run merge into one run).
    #[command(after_help = "Examples:
  tollgate ingest junit results/*.xml --pipeline pr --job unit --run $GITHUB_RUN_ID
  tollgate ingest lcov coverage/lcov.info --run $GITHUB_RUN_ID
  tollgate ingest junit shard-*.xml --run 1234 --complete   the last shard closes the run

Exit codes: 0 recorded, 2 usage error (unreadable file, unknown format), 3 store error.")]
    Ingest(crate::commands::ingest::IngestArgs),
    /// Decide whether a run may merge or release: critical failures,
    /// coverage and coverage drop against the baseline, patch coverage,
    /// performance regressions, flaky rate, budgets (exit 1 when blocked).
    #[command(after_help = "Examples:
  tollgate gate --pipeline pr                     judge the latest pr run against main's baseline
  tollgate gate --pipeline release --run 1234 --format json -o gate.json

Exit codes: 0 pass (alerts allowed), 1 blocked, 2 usage or configuration error, 3 store error.")]
    Gate(crate::commands::gate::GateArgs),
    /// Flake rate per test and per component from the history store, with
    /// the evidence and quarantine suggestions.
    #[command(after_help = "Examples:
  tollgate flaky                                  the 10 flakiest tests of the last 30 days
  tollgate flaky --component router --window 7d
  tollgate flaky --pipeline nightly --format json

Exit codes: 0 listed, 2 usage error (unknown pipeline or component), 3 store error.")]
    Flaky(crate::commands::flaky::FlakyArgs),
    /// Recent runs, one test's history, recorded durations.
    #[command(after_help = "Examples:
  tollgate history                                recent runs: status, start, duration, commit, branch
  tollgate history --pipeline pr --limit 5
  tollgate history --test 'tests/test_x.py::test_y'
  tollgate history --durations --window 7d

Exit codes: 0 listed, 2 usage error (unknown pipeline), 3 store error.")]
    History(crate::commands::history::HistoryArgs),
    /// Upkeep of the history store: statistics, retention, schema migrations.
    #[command(after_help = "Examples:
  tollgate store stats
  tollgate store prune --keep 90d
  tollgate store migrate --check")]
    Store(crate::commands::store::StoreArgs),
    /// The test health of a run as one self-contained HTML file and/or a
    /// size-bounded Markdown summary for a pull request.
    #[command(after_help = crate::commands::report::EXAMPLES)]
    Report(crate::commands::report::ReportArgs),
    /// A read-only web dashboard over the history store, with Prometheus
    /// metrics at /metrics.
    #[command(after_help = crate::commands::serve::EXAMPLES)]
    Serve(crate::commands::serve::ServeArgs),
    /// Prometheus metrics (OpenMetrics text) from the history store, for
    /// node_exporter's textfile collector.
    #[command(after_help = crate::commands::metrics::EXAMPLES)]
    Metrics(crate::commands::metrics::MetricsArgs),
    /// Print a Grafana dashboard (JSON) over tollgate's Prometheus metrics.
    #[command(after_help = crate::commands::grafana_dashboard::EXAMPLES)]
    GrafanaDashboard(crate::commands::grafana_dashboard::GrafanaArgs),
    /// Manage the quarantine file: tests that run but cannot fail the run.
    #[command(after_help = "Examples:
  tollgate quarantine add 'tests/test_x.py::test_y' --reason 'races the cache' --owner @ana --expires 2026-12-31
  tollgate quarantine list
  tollgate quarantine remove 'tests/test_x.py::test_y'

The file (`[quarantine] file`, default .tollgate/quarantine.toml) belongs in git.")]
    Quarantine(crate::commands::quarantine::QuarantineArgs),
    /// Write a commented tollgate.toml from a preset, or from the CI the repository
    /// has today (--from-ci).
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
    /// Check tollgate.toml.
    #[command(after_help = "Examples:
  tollgate config check
  tollgate config check --config ci/tollgate.toml

Exit codes: 0 valid, 2 invalid (every problem with file:line:column).")]
    Config(ConfigArgs),
    /// List the taxonomy's markers like `pytest --markers`, print the block to
    /// register them with pytest, or check that pytest's registrations agree.
    #[command(after_help = "Examples:
  tollgate markers                                every marker with its description
  tollgate markers --format toml                  the block to paste into pyproject.toml
  tollgate markers --check                        exit 1 when pytest's registrations drift

Exit codes: 0 ok, 1 drift (with --check), 2 usage or configuration error.")]
    Markers(MarkersArgs),
    /// Who owns a test, a path, a component or a CI area, and why
    /// ([owners], component paths and markers, CODEOWNERS).
    #[command(after_help = crate::commands::owners::OWNERS_EXAMPLES)]
    Owners(crate::commands::owners::OwnersArgs),
    /// A stored run's failures clustered by root cause, with owner, class,
    /// first sighting, pre-existing and flaky flags, and a redacted excerpt.
    #[command(after_help = crate::commands::triage::TRIAGE_EXAMPLES)]
    Triage(crate::commands::triage::TriageArgs),
    /// Send a stored run's alerts to [notify]'s channels (webhook, e-mail,
    /// GitHub issues), grouped per owner and de-duplicated through the store.
    #[command(after_help = crate::commands::notify::NOTIFY_EXAMPLES)]
    Notify(crate::commands::notify::NotifyArgs),
    /// Compare today's CI with tollgate's plans (`tollgate ci diff`).
    #[command(after_help = "Examples:
  tollgate init --from-ci && tollgate ci diff       import today's CI, then check the import
  tollgate ci diff --pipeline nightly --limit 0     every difference of the nightly pipeline")]
    Ci(crate::commands::ci::CiArgs),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    #[command(after_help = "Examples:
  tollgate completions bash > ~/.local/share/bash-completion/completions/tollgate
  tollgate completions zsh > \"${fpath[1]}/_tollgate\"
  tollgate completions fish > ~/.config/fish/completions/tollgate.fish")]
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, or write one page per command into a directory.
    #[command(after_help = "Examples:
  tollgate man > tollgate.1 && man ./tollgate.1
  tollgate man --dir /usr/local/share/man/man1    tollgate.1, tollgate-run.1, ...")]
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `tollgate.1` and one page per subcommand (`tollgate-run.1`, ...) into DIR.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

const INIT_EXAMPLES: &str = "Examples:
  tollgate init --preset dynamo             the seeds' strategy for Dynamo
  tollgate init --from-ci                   reproduce the CI this repository has today
  tollgate init --from-ci --ci gitlab .     ... from .gitlab-ci.yml
  tollgate init --from-ci && tollgate ci diff

Also adds tollgate's local state (.tollgate/, but its quarantine file) to .gitignore.";

const COLLECT_EXAMPLES: &str = "Examples:
  tollgate collect                          every test below the current directory
  tollgate collect tests/ -m 'e2e and gpu_1' what `pytest tests/ -m 'e2e and gpu_1'` would select
  tollgate collect --lang rust --features integration
  tollgate collect --lang rust -p my-crate   one member, as `cargo nextest list -p my-crate`
  tollgate collect crates/core/Cargo.toml    that member only, with its features
  tollgate collect --format json > inventory.json

--format ids prints pytest node ids exactly as `pytest --collect-only -q` does, then Rust tests \
exactly as `cargo nextest list --message-format oneline` does (`<binary-id> <test name>`).";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    Python,
    Rust,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CollectFormat {
    /// One test id per line.
    Ids,
    /// The whole inventory: ids, files, lines, markers with their origins.
    Json,
    /// A human-readable table.
    Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunIgnored {
    /// Rust tests that are not `#[ignore]`d (nextest's default).
    Default,
    /// Only `#[ignore]`d Rust tests.
    Only,
    /// All Rust tests.
    All,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Files or directories to collect from, as you would pass them to pytest
    /// [default: pytest's testpaths, else the current directory].
    pub paths: Vec<PathBuf>,

    /// pytest's `--rootdir`: the directory node ids are relative to.
    #[arg(long, value_name = "DIR")]
    pub rootdir: Option<PathBuf>,

    /// pytest's `-c/--config-file`: the ini file to use instead of searching for one.
    #[arg(short = 'c', long = "config-file", value_name = "FILE")]
    pub config_file: Option<PathBuf>,

    /// Only tests whose markers match this expression (pytest's `-m` grammar,
    /// e.g. "e2e and (gpu_1 or gpu_2) and not slow").
    #[arg(short = 'm', value_name = "EXPR")]
    pub marker_expr: Option<String>,

    /// Which tests to collect.
    #[arg(long, value_enum, default_value_t = Lang::All)]
    pub lang: Lang,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CollectFormat::Ids)]
    pub format: CollectFormat,

    /// Exit 1 when any file could not be read, parsed or fully resolved.
    #[arg(long)]
    pub strict: bool,

    /// Rust: features to enable, as `cargo nextest list --features` (comma or space separated).
    #[arg(long, short = 'F', value_name = "FEATURES")]
    pub features: Vec<String>,

    /// Rust: enable all features.
    #[arg(long)]
    pub all_features: bool,

    /// Rust: do not enable the `default` feature.
    #[arg(long)]
    pub no_default_features: bool,

    /// Rust: only this workspace member (repeatable), as `cargo nextest list -p`.
    #[arg(long = "package", short = 'p', value_name = "NAME")]
    pub package: Vec<String>,

    /// Rust: every member of the workspace, even when a member's Cargo.toml is the path.
    #[arg(long)]
    pub workspace: bool,

    /// Rust: leave this member out (repeatable), as `cargo nextest list --exclude`.
    #[arg(long, value_name = "NAME")]
    pub exclude: Vec<String>,

    /// Rust: which tests to list with respect to `#[ignore]`, as nextest's `--run-ignored`.
    #[arg(long, value_enum, default_value_t = RunIgnored::Default)]
    pub run_ignored: RunIgnored,

    /// Do not use what `tollgate learn` or `tollgate run` recorded of pytest's own collection:
    /// list exactly what static discovery finds.
    #[arg(long)]
    pub no_learned: bool,

    /// Compare static discovery with what pytest collected (learned items whose files are
    /// unchanged): print node ids found on one side only and marker differences; exit 1
    /// when they disagree.
    #[arg(long, conflicts_with_all = ["no_learned", "marker_expr"])]
    pub verify: bool,

    /// History store holding learned items: a SQLite path or a postgres:// URL
    /// [default: `[store]` in tollgate.toml, else .tollgate/history.db; never created].
    #[arg(long, value_name = "URL|PATH")]
    pub store: Option<String>,

    #[command(flatten)]
    pub cache: crate::project::CacheChoice,

    /// Also print to stderr how many Python test files were parsed and how
    /// many were served from the discovery cache.
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// Every command a user can type has an example in its `--help`
    /// (clap's own `help` subcommands excepted).
    #[test]
    fn every_subcommand_help_has_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands() {
                if sub.get_name() == "help" {
                    continue;
                }
                let name = format!("{path} {}", sub.get_name());
                let help = [sub.get_after_help(), sub.get_after_long_help()]
                    .into_iter()
                    .flatten()
                    .map(|h| h.to_string())
                    .collect::<String>();
                if !help.contains("Example") {
                    missing.push(name.clone());
                }
                walk(sub, &name, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "tollgate", &mut missing);
        assert!(missing.is_empty(), "no example in --help of: {missing:?}");
    }
}
