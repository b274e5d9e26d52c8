//! The project every strategy command works on: `tollgate.toml`, the root it
//! sits in, and the whole inventory (Python and Rust, rules applied).
//!
//! `lint`, `plan` and `run` all need exactly this, so it is computed one way.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use tollgate_config::{Config, CONFIG_FILE};
use tollgate_discover_python as py;
use tollgate_discover_rust as rs;
use tollgate_inventory::{Inventory, TestItem};

use crate::exit::usage;
use crate::progress::Progress;

/// Where to find `tollgate.toml`: `--config`, else the nearest one walking up
/// from the current directory.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigLocation {
    /// The tollgate.toml to use [default: the nearest one in this or a parent directory].
    #[arg(long = "config", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
}

impl ConfigLocation {
    /// Loads and validates the configuration. Any problem is a usage error
    /// (exit 2) rendered with file:line:col and a source snippet.
    pub fn load(&self) -> anyhow::Result<Project> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let path = match &self.config {
            Some(path) => cwd.join(path),
            None => Config::discover(&cwd).ok_or_else(|| {
                usage(format!(
                    "no {CONFIG_FILE} in {} or any parent directory; pass --config FILE, \
                     or create one with `tollgate init --preset dynamo` (or minimal)",
                    cwd.display()
                ))
            })?,
        };
        let config = Config::load(&path).map_err(|e| usage(e.render()))?;
        // Node ids and changed paths are relative to the project root: no
        // `..` or symlink may stay in it.
        let path = std::fs::canonicalize(&path).unwrap_or(path);
        let root = path.parent().map_or_else(|| cwd.clone(), Path::to_path_buf);
        Ok(Project {
            config_path: path,
            root,
            config,
        })
    }
}

/// A loaded `tollgate.toml` and the directory it governs.
pub struct Project {
    pub config_path: PathBuf,
    pub root: PathBuf,
    pub config: Config,
}

/// Everything discovery found for the project, with the config's rules applied.
pub struct ProjectInventory {
    pub inventory: Inventory,
    /// pytest's view of the project: ini file, registered markers, strictness.
    /// `None` only for a project without any Python at all is not distinguished:
    /// pytest's defaults still apply, so this is always present.
    pub python: PythonSetup,
}

/// What the pytest ini of the project says, as far as tollgate cares.
pub struct PythonSetup {
    pub inifile: Option<PathBuf>,
    pub registered_markers: Vec<(String, String)>,
    pub strict_markers: bool,
}

impl Project {
    /// Python and Rust tests the way `tollgate collect` finds them from the
    /// project root — every Rust feature on and ignored tests included, since
    /// each job decides what it runs — with the config's rules applied.
    pub fn collect(&self) -> anyhow::Result<ProjectInventory> {
        let learned = crate::learned::Use {
            enabled: true,
            store: None,
        };
        self.collect_with(Languages::BOTH, learned, CacheChoice::default())
    }

    /// [`Project::collect`] with learned items used as `learned` says
    /// (`--no-learned`, `--store`) and the cache as `cache` says (`--no-cache`).
    pub fn collect_learned(
        &self,
        learned: crate::learned::Use<'_>,
        cache: CacheChoice,
    ) -> anyhow::Result<ProjectInventory> {
        self.collect_with(Languages::BOTH, learned, cache)
    }

    /// Collects the languages asked for; Python files with entries flagged
    /// dynamic take pytest's own items where they were learned and are
    /// unchanged since (see [`crate::learned`]).
    ///
    /// Only the languages asked for are collected: `tollgate run` of
    /// Rust-only jobs does not pay for Python discovery (and the other way
    /// round). Python modules come from `.tollgate/cache/` while unchanged
    /// unless `cache` says `--no-cache` (see [`crate::cache`]).
    pub fn collect_with(
        &self,
        languages: Languages,
        learned: crate::learned::Use<'_>,
        cache: CacheChoice,
    ) -> anyhow::Result<ProjectInventory> {
        let root = &self.root;
        // A spinner on a terminal (nothing in a log): a large tree takes a while.
        let progress = Progress::spinner("collecting tests");
        progress.message(match (languages.python, languages.rust) {
            (true, true) => "Python and Rust",
            (true, false) => "Python",
            _ => "Rust",
        });
        let (on_python, on_rust) = (progress.handle(), progress.handle());
        let (python, rust) = rayon::join(
            || {
                languages.python.then(|| {
                    let found = collect_python(
                        &py::CollectOptions {
                            invocation_dir: root.clone(),
                            plugins: declared_plugins(Some(&self.config)),
                            ..Default::default()
                        },
                        (!cache.no_cache).then_some(root.as_path()),
                        cache_secrets(Some(&self.config)),
                    );
                    if let Ok(found) = &found {
                        on_python.message(format!(
                            "Python: {} tests found",
                            found.inventory.tests.len()
                        ));
                    }
                    found
                })
            },
            || {
                languages.rust.then(|| {
                    let found = rs::collect(&rs::CollectOptions {
                        paths: vec![root.clone()],
                        features: rs::FeatureSelection {
                            features: Vec::new(),
                            all_features: true,
                            no_default_features: false,
                        },
                    });
                    if let Ok(found) = &found {
                        on_rust
                            .message(format!("Rust: {} tests found", found.inventory.tests.len()));
                    }
                    found
                })
            },
        );
        progress.message("applying the rules of tollgate.toml");
        let python = python.transpose().map_err(|e| usage(e.to_string()))?;
        let mut inventory = Inventory::default();
        let setup = match python {
            Some(mut python) => {
                crate::learned::apply(
                    self,
                    learned,
                    &python.rootdir,
                    python.inifile.as_deref(),
                    &mut python.inventory,
                );
                inventory = python.inventory;
                PythonSetup {
                    inifile: python.inifile,
                    // Lint knows the plugins' markers as registered too.
                    registered_markers: python
                        .registered_markers
                        .into_iter()
                        .chain(python.plugin_markers)
                        .collect(),
                    strict_markers: python.strict_markers,
                }
            }
            None => PythonSetup {
                inifile: None,
                registered_markers: Vec::new(),
                strict_markers: false,
            },
        };
        if let Some(rust) = rust {
            inventory.extend(rust.map_err(|e| usage(e.to_string()))?.inventory);
        }
        self.config
            .drop_excluded(&mut inventory)
            .map_err(|e| usage(format!("[discovery] exclude: {e}")))?;
        apply_rules_in_parallel(&self.config, &mut inventory);
        Ok(ProjectInventory {
            inventory,
            python: setup,
        })
    }

    /// `path` relative to the project root, `/`-separated.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }
}

/// `--no-cache` of the commands that collect.
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct CacheChoice {
    /// Parse every test file again instead of using (and updating) the
    /// discovery cache in `.tollgate/cache/`.
    #[arg(long)]
    pub no_cache: bool,
}

/// Python discovery as `pytest` would be invoked with `opts`, through the
/// discovery cache of the project at `cache_root` when there is one.
pub fn collect_python(
    opts: &py::CollectOptions,
    cache_root: Option<&Path>,
    secrets: tollgate_run::Redactor,
) -> Result<py::Collection, py::CollectError> {
    match cache_root {
        Some(root) => {
            let disk = crate::cache::DiskCache::open(root).with_secrets(secrets);
            let found = py::collect_cached(
                opts,
                &py::cache::CacheUse {
                    store: &disk,
                    build_id: disk.build_id(),
                },
            );
            disk.finish();
            found
        }
        None => py::collect(opts),
    }
}

/// [`Config::apply_rules`] on every core. A rule looks at one test at a
/// time, so applying the rules to consecutive chunks of the tests gives the
/// same inventory; on a large tree it is the one serial step between
/// discovery and the strategy commands.
pub fn apply_rules_in_parallel(config: &Config, inventory: &mut Inventory) {
    use rayon::prelude::*;

    let mut rest = std::mem::take(&mut inventory.tests);
    let chunk = rest.len().div_ceil(rayon::current_num_threads()).max(1);
    let mut chunks = Vec::new();
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        chunks.push(std::mem::replace(&mut rest, tail));
    }
    chunks.push(rest);
    let done: Vec<Vec<TestItem>> = chunks
        .into_par_iter()
        .map(|tests| {
            let mut part = Inventory {
                tests,
                diagnostics: Vec::new(),
            };
            config.apply_rules(&mut part);
            part.tests
        })
        .collect();
    inventory.tests = done.into_iter().flatten().collect();
}

/// Which languages to discover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Languages {
    pub python: bool,
    pub rust: bool,
}

impl Languages {
    pub const BOTH: Languages = Languages {
        python: true,
        rust: true,
    };
}

/// The pytest plugins `[python] plugins` declares, as Python discovery
/// takes them.
pub fn declared_plugins(
    config: Option<&tollgate_config::Config>,
) -> Vec<py::plugins::DeclaredPlugin> {
    config
        .map(|c| {
            c.python
                .plugins
                .iter()
                .map(|p| {
                    let d = p.declaration();
                    py::plugins::DeclaredPlugin {
                        name: d.name,
                        markers: d.markers,
                        parametrizes: d.parametrizes,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The secrets no discovery cache entry may hold: `[run.redact]` of the
/// project's config (when it is valid) plus the default token variables.
pub fn cache_secrets(config: Option<&tollgate_config::Config>) -> tollgate_run::Redactor {
    let (names, patterns) = config
        .map(|c| (c.run.redact.env.clone(), c.run.redact.patterns.clone()))
        .unwrap_or_default();
    tollgate_run::Redactor::from_process_env(&names, &patterns)
        .or_else(|_| tollgate_run::Redactor::from_process_env(&[], &[]))
        .unwrap_or_default()
}
