//! The learned inventory at the CLI's edge (shared by `learn`, `run`,
//! `collect`, `lint` and `plan`): running pytest with tollgate's learn
//! plugin, recording what it reports in the history store, and reading it
//! back for the files static discovery could not know. What the items mean
//! and when they apply is `tollgate_discover_python::learned`'s business.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tollgate_discover_python::learned::{self, LearnedFile, PluginReport};
use tollgate_inventory::{Diagnostic, Inventory, Language, Severity, TestItem};
use tollgate_store::{LearnedRow, Store};

use crate::history_store::{store_location, StoreLocation};
use crate::project::Project;

/// How a read command uses learned items.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Use<'a> {
    /// `false` with `--no-learned`.
    pub enabled: bool,
    /// `--store`, when the command has one.
    pub store: Option<&'a str>,
}

/// Opens the store for reading learned items, if there is one: a SQLite
/// store that does not exist is not created (there is nothing learned in
/// it). A store that cannot be opened is a warning: static discovery still
/// answers.
pub(crate) fn open_existing(project: &Project, flag: Option<&str>) -> Option<Store> {
    let location = match store_location(project, flag) {
        StoreLocation::Postgres(url) => url,
        StoreLocation::Sqlite(path) => {
            if !path.is_file() {
                return None;
            }
            path.display().to_string()
        }
    };
    match Store::open_read(&location) {
        Ok(store) => Some(store),
        Err(e) => {
            eprintln!(
                "warning: learned items not used: cannot open the store {}: {e}",
                crate::history_store::redact(&location)
            );
            None
        }
    }
}

/// The learned files among `files` whose key still matches (I/O: hashes the
/// files, queries the store). A stored row that cannot be decoded is left
/// out with a warning.
pub(crate) fn current(
    store: &mut Store,
    rootdir: &Path,
    inifile: Option<&Path>,
    files: &[String],
) -> Result<HashMap<String, LearnedFile>, tollgate_store::StoreError> {
    let keys = learned::keys_for(rootdir, inifile, files);
    let wanted: Vec<&str> = keys.values().map(String::as_str).collect();
    let rows = store.learned_by_keys(&wanted)?;
    let mut out = HashMap::new();
    for row in rows {
        if keys.get(&row.path) != Some(&row.key_hash) {
            continue;
        }
        match learned::decode_items(&row.path, &row.items) {
            Ok(items) => {
                out.insert(
                    row.path.clone(),
                    LearnedFile {
                        path: row.path,
                        key: row.key_hash,
                        source: row.source,
                        items,
                    },
                );
            }
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    Ok(out)
}

/// Python files of the inventory with an entry flagged dynamic.
fn dynamic_files(tests: &[TestItem]) -> Vec<String> {
    let mut files: Vec<String> = tests
        .iter()
        .filter(|t| t.language == Language::Python && t.dynamic.is_some())
        .map(|t| t.file.clone())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Every Python file of the inventory.
pub(crate) fn python_files(tests: &[TestItem]) -> Vec<String> {
    let mut files: Vec<String> = tests
        .iter()
        .filter(|t| t.language == Language::Python)
        .map(|t| t.file.clone())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Replaces the dynamic entries of files with up-to-date learned items
/// (`collect`, `lint`, `plan`, `run`), with an info diagnostic per file.
pub(crate) fn apply(
    project: &Project,
    usage: Use<'_>,
    rootdir: &Path,
    inifile: Option<&Path>,
    inventory: &mut Inventory,
) {
    if !usage.enabled {
        return;
    }
    let files = dynamic_files(&inventory.tests);
    if files.is_empty() {
        return;
    }
    let Some(mut store) = open_existing(project, usage.store) else {
        return;
    };
    let table = match current(&mut store, rootdir, inifile, &files) {
        Ok(table) => table,
        Err(e) => {
            eprintln!("warning: learned items not used: {e}");
            return;
        }
    };
    if table.is_empty() {
        return;
    }
    learned::apply(inventory, &table);
    let mut used: Vec<&LearnedFile> = table.values().collect();
    used.sort_by(|a, b| a.path.cmp(&b.path));
    for file in used {
        inventory.diagnostics.push(Diagnostic {
            severity: Severity::Info,
            code: "learned".into(),
            file: file.path.clone(),
            line: 0,
            column: 0,
            message: format!(
                "{} items as pytest collected them (learned ({})) replace the entries flagged dynamic",
                file.items.len(),
                file.source
            ),
        });
    }
}

/// The store rows for a plugin report (I/O: hashes the files).
pub(crate) fn rows(report: &PluginReport, source: &str, at_ms: i64) -> Vec<LearnedRow> {
    learned::learned_files(report, source)
        .into_iter()
        .map(|f| LearnedRow {
            items: learned::encode_items(&f.items),
            path: f.path,
            key_hash: f.key,
            source: f.source,
            recorded_at_ms: at_ms,
        })
        .collect()
}

/// Writes the learn plugin into `dir` (a private directory) and returns it,
/// for `PYTHONPATH`.
pub(crate) fn write_plugin(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::write(
        dir.join(format!("{}.py", learned::PLUGIN_MODULE)),
        learned::PLUGIN_SOURCE,
    )?;
    Ok(dir.to_path_buf())
}

/// `PYTHONPATH` with `dir` first.
pub(crate) fn pythonpath_with(dir: &Path) -> std::ffi::OsString {
    match std::env::var_os("PYTHONPATH") {
        Some(existing) if !existing.is_empty() => {
            let mut joined = dir.as_os_str().to_owned();
            joined.push(":");
            joined.push(existing);
            joined
        }
        _ => dir.as_os_str().to_owned(),
    }
}

/// The project around `dir` (its tollgate.toml, for `[store]` and `[run]`),
/// else tollgate's defaults rooted at `dir`: `learn` and `collect` work
/// without a tollgate.toml.
pub(crate) fn project_or_default(dir: &Path) -> anyhow::Result<Project> {
    if tollgate_config::Config::discover(dir).is_some() {
        return crate::project::ConfigLocation::default().load();
    }
    Ok(Project {
        config_path: dir.join(tollgate_config::CONFIG_FILE),
        root: dir.to_path_buf(),
        config: tollgate_config::Config::default(),
    })
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Loads the learn plugin in every pytest step of `spec`, reporting into `dir`.
pub(crate) fn add_to_pytest_steps(spec: &mut tollgate_run::spec::RunSpec, dir: &Path) {
    for job in &mut spec.jobs {
        for step in &mut job.steps {
            if let tollgate_run::spec::Step::Pytest(p) = step {
                p.plugins.push(tollgate_run::spec::PluginFile {
                    module: learned::PLUGIN_MODULE.to_string(),
                    source: learned::PLUGIN_SOURCE.to_string(),
                });
                p.env.push((
                    learned::OUTPUT_DIR_ENV.to_string(),
                    dir.display().to_string(),
                ));
            }
        }
    }
}

/// Records every plugin report in `dir` (the pytest jobs of a run) under
/// `source`. Files collected whole by several processes are recorded once
/// (the last report read wins; they hold the same items).
pub(crate) fn record_dir(
    project: &Project,
    flag: Option<&str>,
    dir: &Path,
    source: &str,
) -> anyhow::Result<usize> {
    let mut reports: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    reports.sort();
    let now = now_ms();
    let mut by_key: HashMap<(String, String), LearnedRow> = HashMap::new();
    for path in reports {
        let text = std::fs::read_to_string(&path)?;
        let report = learned::parse_report(&text)?;
        for row in rows(&report, source, now) {
            by_key.insert((row.path.clone(), row.key_hash.clone()), row);
        }
    }
    if by_key.is_empty() {
        return Ok(0);
    }
    let mut rows: Vec<LearnedRow> = by_key.into_values().collect();
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    let mut store = crate::history_store::open_store(project, flag)?;
    store.record_learned(&rows)?;
    Ok(rows.len())
}
