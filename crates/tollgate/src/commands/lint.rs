//! `tollgate lint`: check every test against the taxonomy in tollgate.toml.

use std::io::IsTerminal;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use tollgate_config::quarantine::Date;
use tollgate_lint::{has_errors, lint, render, LintInput, PytestMarkers, QuarantineInput};

use crate::exit::{usage, Status};
use crate::project::ConfigLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    /// `file:line:col: CODE message` with a fix hint, like ruff.
    Human,
    /// `{"findings": [{code, rule, severity, message, help, file, line, column, test, fixable}],
    /// "summary": {errors, warnings, fixable}}`; line and column are 1-based as in `human`.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=...`), shown as annotations.
    Github,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  tollgate lint                                   every test of the project
  tollgate lint components/router/                only findings in these paths
  tollgate lint --fix                             rewrite aliases, then report what is left
  tollgate lint --format sarif > lint.sarif       for GitHub code scanning

Rules have stable codes (TG101 missing required category, TG102 two \
markers of an exclusive category, TG103 unknown marker, TG104 alias in use, TG201 applied but not \
registered with pytest, TG202 registered but never used, TG301 test in the wrong place for its \
type, TG302 file name, TG401 Rust integration test not behind the integration feature, TG402 \
#[ignore] without a reason, TG501 markers of a dynamic test cannot be verified, TG502 a test file cannot be parsed, read, or is too large, TG601 no pipeline \
runs the test, TG701 quarantine entry expired, TG702 quarantine entry matches no test). Disable rules with `[lint] disable = [...]` in tollgate.toml.

Exit codes: 0 no errors (warnings allowed), 1 errors found, 2 usage or configuration error.")]
pub struct LintArgs {
    /// Only report findings in these files or directories (relative to the
    /// current directory) [default: the whole project].
    pub paths: Vec<std::path::PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Human)]
    pub format: LintFormat,

    /// Rewrite what is mechanical (aliases to their canonical marker), then
    /// lint again and report what is left.
    #[arg(long)]
    pub fix: bool,

    /// With --format github: emit at most N annotations (errors first; GitHub shows 10
    /// per step and drops the rest), then a notice with the counts. The full list goes
    /// to $GITHUB_STEP_SUMMARY when it is set.
    #[arg(long, value_name = "N", default_value_t = tollgate_lint::render::DEFAULT_MAX_ANNOTATIONS)]
    pub max_annotations: usize,

    /// Do not use what `tollgate learn` or `tollgate run` recorded of pytest's own collection
    /// for entries static discovery flags dynamic.
    #[arg(long)]
    pub no_learned: bool,

    #[command(flatten)]
    pub cache: crate::project::CacheChoice,

    /// History store holding learned items: a SQLite path or a postgres:// URL
    /// [default: `[store]` in tollgate.toml; never created].
    #[arg(long, value_name = "URL|PATH")]
    pub store: Option<String>,

    #[command(flatten)]
    pub location: ConfigLocation,
}

pub fn run(args: &LintArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    let cwd = std::env::current_dir()?;
    if let Some(missing) = args.paths.iter().find(|p| !cwd.join(p).exists()) {
        return Err(usage(format!(
            "file or directory not found: {}",
            missing.display()
        )));
    }
    let filters: Vec<String> = args
        .paths
        .iter()
        .map(|p| project.relative(&cwd.join(p)))
        .map(|p| p.trim_end_matches('/').to_string())
        .collect();

    let quarantine = read_quarantine(&project)?;
    let lint_once = || -> anyhow::Result<Vec<tollgate_lint::Finding>> {
        let collected = project.collect_learned(
            crate::learned::Use {
                enabled: !args.no_learned,
                store: args.store.as_deref(),
            },
            args.cache,
        )?;
        let pytest = collected.python.inifile.as_ref().map(|ini| {
            PytestMarkers::read(
                &project.root,
                &project.relative(ini),
                collected.python.strict_markers,
                &collected.python.registered_markers,
            )
        });
        let mut findings = lint(&LintInput {
            config: &project.config,
            inventory: &collected.inventory,
            pytest: pytest.as_ref(),
            root: &project.root,
            quarantine: quarantine.as_ref(),
        });
        if !filters.is_empty() {
            findings.retain(|f| {
                filters
                    .iter()
                    .any(|p| p.is_empty() || f.file == *p || f.file.starts_with(&format!("{p}/")))
            });
        }
        // Findings own their text; the inventory (every test with its marks,
        // tens of thousands of small allocations) is not needed again, and
        // freeing it piece by piece costs more than the rules themselves. The
        // process is about to exit: let the OS reclaim it in one go.
        std::mem::forget(collected);
        Ok(findings)
    };

    let mut findings = lint_once()?;
    if args.fix {
        let report = tollgate_lint::fix(&findings, &project.root)?;
        eprintln!(
            "fixed {} occurrence(s) in {} file(s)",
            report.edits,
            report.files_changed.len()
        );
        for (fix, reason) in &report.skipped {
            eprintln!("not fixed: {}:{}: {reason}", fix.file, fix.line);
        }
        if report.edits > 0 {
            findings = lint_once()?;
        }
    }

    let format = match args.format {
        LintFormat::Human => render::Format::Human,
        LintFormat::Json => render::Format::Json,
        LintFormat::Sarif => render::Format::Sarif,
        LintFormat::Github => render::Format::Github,
    };
    let color = args.format == LintFormat::Human
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    if format == render::Format::Github {
        let mut summary_written = false;
        if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
            use std::io::Write as _;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| {
                    format!("cannot write the step summary {}", path.to_string_lossy())
                })?;
            file.write_all(render::github_summary(&findings).as_bytes())?;
            summary_written = true;
        }
        print!(
            "{}",
            render::github_capped(&findings, args.max_annotations, summary_written)
        );
    } else {
        print!("{}", render::render(format, &findings, color));
    }
    Ok(if has_errors(&findings) {
        Status::Findings
    } else {
        Status::Success
    })
}

/// The quarantine file (`[quarantine] file`), judged on today's date (UTC);
/// `None` when the project has none. A file that does not parse is a usage
/// error, like a bad tollgate.toml.
fn read_quarantine(project: &crate::project::Project) -> anyhow::Result<Option<QuarantineInput>> {
    let file = &project.config.quarantine.file;
    let path = project.root.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    QuarantineInput::parse(&text, file, Date::today_utc())
        .map(Some)
        .map_err(|e| usage(e.to_string()))
}
