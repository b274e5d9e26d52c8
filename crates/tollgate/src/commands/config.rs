//! `tollgate init`, `tollgate config check` and `tollgate markers`: the
//! commands that write, validate and explain `tollgate.toml`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use tollgate_config::{presets, CONFIG_FILE};
use tollgate_discover_python as py;

use crate::ci_source::{self, CiKind};
use crate::exit::{usage, Status};
use crate::project::ConfigLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// The Dynamo testing strategy (seeds 003/004): lifecycle, type, hardware,
    /// framework, component taxonomy; pre-commit, pr, push, nightly, weekly,
    /// release pipelines; owners, budgets and gates. Without .pre-commit-config.yaml
    /// its lint job runs `tollgate lint`; without container/build.sh its container
    /// build jobs are left out (init says so).
    Dynamo,
    /// A small generic taxonomy for any project.
    Minimal,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which preset to start from.
    #[arg(long, value_enum, default_value_t = Preset::Minimal)]
    pub preset: Preset,
    /// Directory to write tollgate.toml into.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite an existing tollgate.toml.
    #[arg(long)]
    pub force: bool,
    /// Import the CI the repository has today instead of a preset: pipelines from its
    /// triggers, jobs from its `pytest -m` selections and `cargo test` steps (and the
    /// shell scripts they call), runner labels, pytest's registered markers, the Cargo
    /// workspaces and CODEOWNERS. What cannot be translated is listed at the end.
    #[arg(long, conflicts_with = "preset")]
    pub from_ci: bool,
    /// Which CI to import with --from-ci [default: GitHub when .github/workflows exists,
    /// else GitLab].
    #[arg(long, value_enum, requires = "from_ci")]
    pub ci: Option<CiKind>,
}

pub fn init(args: &InitArgs) -> anyhow::Result<Status> {
    if args.from_ci {
        return init_from_ci(args);
    }
    let name = match args.preset {
        Preset::Dynamo => "dynamo",
        Preset::Minimal => "minimal",
    };
    // A preset job that calls a tool or script the project lacks (Dynamo's
    // pre-commit hooks, its container build) is adapted or left out here,
    // and said so: otherwise every run would fail on it.
    let facts = presets::ProjectFacts {
        pre_commit_config: args.dir.join(".pre-commit-config.yaml").is_file(),
        container_build: args.dir.join("container/build.sh").is_file(),
    };
    let adapted = presets::for_project(name, &facts)
        .ok_or_else(|| usage(format!("unknown preset {name}")))?;
    let text = adapted.text.as_str();
    let path = args.dir.join(CONFIG_FILE);
    if path.exists() && !args.force {
        return Err(usage(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    write_atomically(&path, text)?;
    eprintln!("wrote {} (preset {name})", path.display());
    for note in &adapted.notes {
        eprintln!("  {note}");
    }
    if facts.pre_commit_config && name == "dynamo" && !on_path("pre-commit") {
        eprintln!(
            "  note: the lint job runs `pre-commit run --all-files` (this project has \
             .pre-commit-config.yaml) but pre-commit is not on PATH: install it on every runner, \
             or the lint job fails (exit 3)"
        );
    }
    ignore_local_state(&args.dir)?;
    Ok(Status::Success)
}

/// Whether `program` is an executable file in a directory of `PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Writes or extends `dir/.gitignore` for tollgate's local state, and says
/// what to commit.
fn ignore_local_state(dir: &Path) -> anyhow::Result<()> {
    let gitignore = dir.join(".gitignore");
    let existing = match std::fs::read_to_string(&gitignore) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read {}", gitignore.display()));
        }
    };
    match gitignore_with_state(&existing) {
        Some(updated) => {
            write_atomically(&gitignore, &updated)?;
            eprintln!(
                "{} {}: tollgate's local state (.tollgate/: history store, plan files, caches) is ignored",
                if existing.is_empty() { "wrote" } else { "extended" },
                gitignore.display()
            );
        }
        None => eprintln!(
            "{} already ignores tollgate's local state",
            gitignore.display()
        ),
    }
    eprintln!(
        "commit tollgate.toml and .tollgate/quarantine.toml (once `tollgate quarantine add` writes it); \
         the rest of .tollgate/ stays local\n\
         next: `tollgate lint`, then `tollgate run --pipeline pr`"
    );
    Ok(())
}

/// `tollgate init --from-ci`: today's CI as a tollgate.toml.
fn init_from_ci(args: &InitArgs) -> anyhow::Result<Status> {
    let root = std::fs::canonicalize(&args.dir)
        .map_err(|e| usage(format!("cannot open {}: {e}", args.dir.display())))?;
    let path = root.join(CONFIG_FILE);
    if path.exists() && !args.force {
        return Err(usage(format!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        )));
    }
    let (kind, import) = ci_source::read(&root, args.ci)?;
    let python = py::collect(&py::CollectOptions {
        invocation_dir: root.clone(),
        ..Default::default()
    })
    .map_err(|e| usage(e.to_string()))?;
    let relative = |p: &Path| {
        let rel = p
            .strip_prefix(&root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/");
        if rel.is_empty() {
            ".".to_string()
        } else {
            rel
        }
    };
    let workspaces: Vec<String> =
        tollgate_discover_rust::workspace::discover(std::slice::from_ref(&root))
            .workspaces
            .iter()
            .map(|w| relative(&w.root))
            .collect();
    let codeowners = [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]
        .into_iter()
        .find(|c| root.join(c).is_file())
        .map(str::to_string);
    let facts = tollgate_plan::ci::ProjectFacts {
        name: root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        registered: python.registered_markers,
        registered_in: python.inifile.as_deref().map(relative),
        workspaces,
        codeowners,
        command: format!("tollgate init --from-ci --ci {}", kind.name()),
    };
    let text = tollgate_plan::ci::render_config(&import, &facts);
    // What we write must load: a failure here is tollgate's bug, said plainly.
    if let Err(e) = tollgate_config::Config::from_str(&text, CONFIG_FILE) {
        anyhow::bail!(
            "the imported configuration does not validate (a tollgate bug; please report it):\n{}",
            e.render()
        );
    }
    write_atomically(&path, &text)?;
    let pipelines: Vec<String> = import
        .pipelines
        .iter()
        .map(|p| format!("{} ({} job(s))", p.name, p.jobs.len()))
        .collect();
    eprintln!(
        "wrote {} from {}: pipelines {}; {} item(s) not translated, listed at the end of the file",
        path.display(),
        kind.name(),
        if pipelines.is_empty() {
            "none".to_string()
        } else {
            pipelines.join(", ")
        },
        import.untranslated.len()
    );
    ignore_local_state(&root)?;
    Ok(Status::Success)
}

/// The lines `init` adds to `.gitignore`: everything in `.tollgate/` but the
/// quarantine file, which the team shares.
const GITIGNORE_BLOCK: &str =
    "# tollgate's local state (history store, plan files, caches); the quarantine file is shared\n\
/.tollgate/*\n\
!/.tollgate/quarantine.toml\n";

/// `.gitignore` with tollgate's block appended, or `None` when it already
/// ignores `.tollgate/` (pure).
fn gitignore_with_state(existing: &str) -> Option<String> {
    let already = existing.lines().map(str::trim).any(|l| {
        matches!(
            l,
            ".tollgate"
                | ".tollgate/"
                | "/.tollgate"
                | "/.tollgate/"
                | "/.tollgate/*"
                | ".tollgate/*"
        )
    });
    if already {
        return None;
    }
    let mut text = existing.to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(GITIGNORE_BLOCK);
    Some(text)
}

#[cfg(test)]
mod gitignore_tests {
    use super::*;

    #[test]
    fn init_adds_the_state_block_once_and_keeps_the_rest() {
        let fresh = gitignore_with_state("").unwrap();
        assert!(
            fresh.contains("/.tollgate/*\n!/.tollgate/quarantine.toml\n"),
            "{fresh}"
        );
        let extended = gitignore_with_state("target/").unwrap();
        assert!(extended.starts_with("target/\n\n# tollgate"), "{extended}");
        assert_eq!(gitignore_with_state(&extended), None);
        assert_eq!(gitignore_with_state("/.tollgate/\n"), None);
    }
}

/// Writes through a temporary file in the same directory and a rename, so a
/// crash never leaves a half-written file behind.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tollgate_plan::new_temp_file(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate tollgate.toml: syntax, unknown keys, types, taxonomy
    /// consistency (exclusive categories, aliases), job expressions.
    #[command(after_help = "Example:
  tollgate config check")]
    Check,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub command: ConfigCommand,
    #[command(flatten)]
    pub location: ConfigLocation,
}

pub fn config(args: &ConfigArgs) -> anyhow::Result<Status> {
    match args.command {
        ConfigCommand::Check => {
            let project = args.location.load()?;
            let (path, config) = (&project.config_path, &project.config);
            let markers: usize = config
                .taxonomy
                .categories
                .values()
                .map(|c| c.markers.len())
                .sum();
            let summary = format!(
                "{} categories, {markers} markers, {} pipelines, {} jobs",
                config.taxonomy.categories.len(),
                config.pipelines.len(),
                config.jobs.len()
            );
            let problems = project_problems(&project)?;
            if problems.is_empty() {
                println!("{}: ok ({summary})", path.display());
                return Ok(Status::Success);
            }
            for p in &problems {
                println!("{p}");
            }
            println!(
                "{}: valid ({summary}), but {} problem(s) with the project above",
                path.display(),
                problems.len()
            );
            Ok(Status::Findings)
        }
    }
}

/// What a valid config gets wrong about the project it sits in: markers
/// registered with pytest that the taxonomy lacks (and the reverse), and
/// path globs that match no file.
fn project_problems(project: &crate::project::Project) -> anyhow::Result<Vec<String>> {
    let config = &project.config;
    let file = project.config_path.display().to_string();
    let mut problems = Vec::new();
    let python = py::collect(&py::CollectOptions {
        invocation_dir: project.root.clone(),
        plugins: crate::project::declared_plugins(Some(config)),
        ..Default::default()
    })
    .map_err(|e| usage(e.to_string()))?;
    if let Some(ini) = &python.inifile {
        let ini = project.relative(ini);
        for d in tollgate_config::marker_drift(config, &python.registered_markers) {
            problems.push(format!("{ini}: {d} (`tollgate markers --check`)"));
        }
    }
    let globs = config.path_globs();
    if !globs.is_empty() {
        let compiled: Vec<Option<globset::GlobMatcher>> = globs
            .iter()
            .map(|g| {
                globset::GlobBuilder::new(&g.glob)
                    .literal_separator(true)
                    .build()
                    .ok()
                    .map(|g| g.compile_matcher())
            })
            .collect();
        let mut matched = vec![false; globs.len()];
        let walker = ignore::WalkBuilder::new(&project.root)
            .hidden(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker.flatten() {
            let rel = project.relative(entry.path());
            if rel.is_empty() {
                continue;
            }
            for (i, m) in compiled.iter().enumerate() {
                if !matched[i] && m.as_ref().is_some_and(|m| m.is_match(&rel)) {
                    matched[i] = true;
                }
            }
            if matched.iter().all(|m| *m) {
                break;
            }
        }
        for (g, hit) in globs.iter().zip(&matched) {
            if !hit {
                problems.push(format!(
                    "{file}: `{}` in {} matches no file of the project",
                    g.glob, g.at
                ));
            }
        }
    }
    Ok(problems)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MarkersFormat {
    /// Like `pytest --markers`.
    List,
    /// The `markers =` block for pytest.ini / tox.ini / setup.cfg.
    Ini,
    /// The `markers = [...]` array for pyproject.toml.
    Toml,
}

#[derive(Debug, Args)]
pub struct MarkersArgs {
    /// What to print.
    #[arg(long, value_enum, default_value_t = MarkersFormat::List)]
    pub format: MarkersFormat,
    /// Compare the taxonomy with the markers registered in the pytest ini of
    /// the project (found like pytest finds it) and exit 1 on any drift.
    #[arg(long)]
    pub check: bool,
    #[command(flatten)]
    pub location: ConfigLocation,
}

pub fn markers(args: &MarkersArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    let (path, config) = (&project.config_path, &project.config);
    if args.check {
        let collection = py::collect(&py::CollectOptions {
            invocation_dir: project.root.clone(),
            plugins: crate::project::declared_plugins(Some(config)),
            ..Default::default()
        })
        .map_err(|e| usage(e.to_string()))?;
        let ini = collection.inifile.as_ref().map_or_else(
            || "(no pytest ini)".to_string(),
            |p| p.display().to_string(),
        );
        let drift = tollgate_config::marker_drift(config, &collection.registered_markers);
        if drift.is_empty() {
            println!(
                "{ini}: pytest's registered markers agree with {}",
                path.display()
            );
            return Ok(Status::Success);
        }
        for d in &drift {
            println!("{ini}: {d}");
        }
        println!(
            "{} difference(s); `tollgate markers --format ini` (or toml) prints the block to register",
            drift.len()
        );
        return Ok(Status::Findings);
    }
    let text = match args.format {
        MarkersFormat::List => tollgate_config::marker_listing(config),
        MarkersFormat::Ini => tollgate_config::pytest_markers_block(config),
        MarkersFormat::Toml => tollgate_config::pytest_markers_toml(config),
    };
    print!("{text}");
    Ok(Status::Success)
}
