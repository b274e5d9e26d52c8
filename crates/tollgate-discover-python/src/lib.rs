//! Static pytest collection: what `pytest --collect-only -q` would collect
//! (node ids) and each item's markers as `item.iter_markers()` yields them,
//! without importing or running anything.
//!
//! The pipeline is: [`config`] (rootdir and ini, as `findpaths.py`) →
//! [`walk`] (which files, in pytest's order, honouring conftest ignores) →
//! per file in parallel: [`model`] (AST → names, marks) → [`collect`]
//! (classes, MRO, [`parametrize`] expansion, [`fixtures`] with `params=`
//! that make a test `dynamic`) → items. Files are parsed one at
//! a time per thread and their ASTs dropped straight away.

pub mod cache;
mod collect;
mod condition;
mod config;
mod conftest;
mod fixtures;
mod fnmatch;
mod generation;
mod hooks;
mod ids;
mod iniconfig;
mod interp;
pub mod learned;
mod model;
mod parametrize;
pub mod plugins;
mod resolve;
mod shlex;
mod value;
mod walk;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use tollgate_inventory::{Diagnostic, Inventory, Severity, TestItem};

use crate::cache::{CacheStats, CacheUse, Counters, Deps, Hash, Validator};
use crate::collect::{collect_module, ModuleContext, NameFilters};
use crate::config::{absolute, IniConfig};
use crate::fixtures::FixtureLayer;
use crate::parametrize::IdOptions;
use crate::resolve::{FileLookup, ProjectModules};
use crate::walk::{read_source, ModuleTarget, WalkOptions, Walker};

pub use crate::fnmatch::fnmatch;

/// What pytest would be invoked with.
#[derive(Debug, Clone, Default)]
pub struct CollectOptions {
    /// The directory pytest would be invoked from (absolute).
    pub invocation_dir: PathBuf,
    /// Positional args as given on pytest's command line (files or
    /// directories, optionally with `::` selections, relative to
    /// `invocation_dir` or absolute). Empty = pytest's default (`testpaths`
    /// when invoked from the rootdir, else the invocation dir).
    pub args: Vec<String>,
    /// `--rootdir DIR`.
    pub rootdir: Option<PathBuf>,
    /// `-c FILE` / `--config-file FILE`.
    pub config_file: Option<PathBuf>,
    /// Plugins the project declares (`[python] plugins` in tollgate.toml),
    /// beside those found from its settings ([`plugins`]).
    pub plugins: Vec<plugins::DeclaredPlugin>,
}

/// The result of static collection.
#[derive(Debug, Clone)]
pub struct Collection {
    pub rootdir: PathBuf,
    pub inifile: Option<PathBuf>,
    /// Markers registered in the ini `markers` option (name, description), in order.
    pub registered_markers: Vec<(String, String)>,
    /// Markers the active pytest plugins register ([`plugins`]), not already
    /// in the ini: known to pytest (`--strict-markers` accepts them) but not
    /// the project's own registrations, so not marker drift.
    pub plugin_markers: Vec<(String, String)>,
    /// `--strict-markers` in addopts, or `strict_markers`/`strict` ini options.
    pub strict_markers: bool,
    /// A `-m EXPR` in the ini's `addopts`: pytest applies it to every run
    /// unless the command line gives its own `-m`. Collection does not apply
    /// it (the marker-expression evaluator lives elsewhere); callers should.
    pub addopts_markexpr: Option<String>,
    /// Tests in pytest's collection order; ids exactly as `pytest --collect-only -q` prints them.
    pub inventory: Inventory,
    /// Test modules analysed from source and served from the cache
    /// ([`collect_cached`]; without a cache every module is parsed).
    pub cache_stats: CacheStats,
}

/// Usage errors: situations where pytest itself would refuse to start.
#[derive(thiserror::Error, Debug)]
pub enum CollectError {
    #[error("{path}: {message}")]
    ConfigFile { path: PathBuf, message: String },
    #[error("{path}:{line}: invalid configuration: {message}")]
    InvalidConfig {
        path: PathBuf,
        line: u32,
        message: String,
    },
    #[error("Directory '{0}' not found. Check your '--rootdir' option.")]
    RootdirNotFound(PathBuf),
    #[error("file or directory not found: {0}")]
    PathNotFound(String),
    #[error("directory argument cannot contain :: selection parts: {0}")]
    SelectionOnDirectory(String),
    /// The collection threads could not be started.
    #[error("cannot start collection: {0}")]
    Runtime(String),
}

/// Options from `addopts` that change collection.
#[derive(Debug, Default)]
struct AddOpts {
    strict_markers: bool,
    ignore: Vec<String>,
    ignore_glob: Vec<String>,
    deselect: Vec<String>,
    plugins: Vec<String>,
    confcutdir: Option<String>,
    markexpr: Option<String>,
}

fn parse_addopts(tokens: &[String]) -> AddOpts {
    let mut out = AddOpts::default();
    let mut it = tokens.iter();
    while let Some(tok) = it.next() {
        let (flag, inline) = match tok.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (tok.as_str(), None),
        };
        let mut value = |inline: Option<String>| inline.or_else(|| it.next().cloned());
        match flag {
            "--strict-markers" | "--strict" => out.strict_markers = true,
            "--ignore" => out.ignore.extend(value(inline)),
            "--ignore-glob" => out.ignore_glob.extend(value(inline)),
            "--deselect" => out.deselect.extend(value(inline)),
            "--confcutdir" => out.confcutdir = value(inline),
            "-p" => out.plugins.extend(value(inline)),
            "-m" => out.markexpr = value(inline),
            f if f.starts_with("-m") && f.len() > 2 && !f.starts_with("--") => {
                out.markexpr = Some(f[2..].to_string())
            }
            f if f.starts_with("-p") && f.len() > 2 => out.plugins.push(f[2..].to_string()),
            _ => {}
        }
    }
    out
}

/// A resolved command-line argument (`resolve_collection_argument`).
#[derive(Debug, Clone, PartialEq)]
struct CollectionArg {
    path: PathBuf,
    parts: Vec<String>,
    parametrization: Option<String>,
}

fn resolve_arg(invocation_dir: &Path, arg: &str) -> Result<CollectionArg, CollectError> {
    let (base, param) = match arg.find('[') {
        Some(i) => (&arg[..i], Some(arg[i..].to_string())),
        None => (arg, None),
    };
    let mut pieces = base.split("::");
    let strpath = pieces.next().unwrap_or("");
    let parts: Vec<String> = pieces.map(String::from).collect();
    let path = absolute(invocation_dir, Path::new(strpath));
    if !path.exists() {
        return Err(CollectError::PathNotFound(arg.to_string()));
    }
    if !parts.is_empty() && path.is_dir() {
        return Err(CollectError::SelectionOnDirectory(arg.to_string()));
    }
    Ok(CollectionArg {
        path,
        parts,
        parametrization: param,
    })
}

/// `normalize_collection_arguments`: drop args subsumed by another, keep order.
fn normalize_args(args: Vec<CollectionArg>) -> Vec<CollectionArg> {
    let mut indexed: Vec<(usize, CollectionArg)> = args.into_iter().enumerate().collect();
    indexed.sort_by(|a, b| {
        (
            &a.1.path,
            &a.1.parts,
            a.1.parametrization.as_deref().unwrap_or(""),
        )
            .cmp(&(
                &b.1.path,
                &b.1.parts,
                b.1.parametrization.as_deref().unwrap_or(""),
            ))
    });
    let mut kept: Vec<(usize, CollectionArg)> = Vec::new();
    for (i, arg) in indexed {
        let subsumed = kept.last().is_some_and(|(_, by)| {
            if by.path != arg.path {
                by.parts.is_empty() && arg.path.starts_with(&by.path)
            } else {
                by.parts.len() <= arg.parts.len()
                    && arg.parts.get(..by.parts.len()) == Some(by.parts.as_slice())
                    && (by.parametrization.is_none() || by.parametrization == arg.parametrization)
            }
        });
        if !subsumed {
            kept.push((i, arg));
        }
    }
    kept.sort_by_key(|(i, _)| *i);
    kept.into_iter().map(|(_, a)| a).collect()
}

/// Python's `glob.glob(pattern, recursive=True)` relative to `base`, sorted.
fn glob_testpath(base: &Path, pattern: &str) -> Vec<String> {
    let magic = |s: &str| s.contains(['*', '?', '[']);
    if !magic(pattern) {
        return if absolute(base, Path::new(pattern)).exists() {
            vec![pattern.to_string()]
        } else {
            Vec::new()
        };
    }
    let absolute_pattern = pattern.starts_with('/');
    let mut current: Vec<String> = vec![if absolute_pattern {
        "/".into()
    } else {
        String::new()
    }];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for prefix in &current {
            let dir = absolute(
                base,
                Path::new(if prefix.is_empty() { "." } else { prefix }),
            );
            let join = |name: &str| {
                if prefix.is_empty() {
                    name.to_string()
                } else if prefix.ends_with('/') {
                    format!("{prefix}{name}")
                } else {
                    format!("{prefix}/{name}")
                }
            };
            if comp == "**" {
                next.push(prefix.clone());
                let mut stack = vec![(dir.clone(), prefix.clone())];
                while let Some((d, p)) = stack.pop() {
                    let Ok(rd) = std::fs::read_dir(&d) else {
                        continue;
                    };
                    for e in rd.flatten() {
                        let name = e.file_name().to_string_lossy().into_owned();
                        if name.starts_with('.') || !e.path().is_dir() {
                            continue;
                        }
                        let child = if p.is_empty() {
                            name.clone()
                        } else {
                            format!("{}/{name}", p.trim_end_matches('/'))
                        };
                        next.push(child.clone());
                        stack.push((e.path(), child));
                    }
                }
            } else if magic(comp) {
                let Ok(rd) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with('.') && !comp.starts_with('.') {
                        continue;
                    }
                    if fnmatch(&name, comp) {
                        next.push(join(&name));
                    }
                }
            } else if dir.join(comp).exists() {
                next.push(join(comp));
            }
        }
        current = next;
    }
    let mut out: Vec<String> = current.into_iter().filter(|p| !p.is_empty()).collect();
    out.sort();
    out.dedup();
    out
}

/// `Config._decide_args`: explicit args, else `testpaths` (only when invoked
/// from the rootdir), else the invocation dir.
fn decide_args(opts: &CollectOptions, ini: &IniConfig, rootdir: &Path) -> Vec<String> {
    if !opts.args.is_empty() {
        return opts.args.clone();
    }
    if opts.invocation_dir == rootdir {
        let result: Vec<String> = ini
            .args("testpaths", &[])
            .iter()
            .flat_map(|p| glob_testpath(&opts.invocation_dir, p))
            .collect();
        if !result.is_empty() {
            return result;
        }
    }
    vec![opts.invocation_dir.to_string_lossy().into_owned()]
}

fn registered_markers(ini: &IniConfig) -> Vec<(String, String)> {
    ini.linelist("markers")
        .iter()
        .map(|line| {
            let (head, desc) = line.split_once(':').unwrap_or((line, ""));
            let name = head.split('(').next().unwrap_or(head).trim().to_string();
            (name, desc.trim().to_string())
        })
        .collect()
}

/// Stack size for the threads that parse and walk Python ASTs. Parsing,
/// visiting and dropping pathological sources (thousands of nested brackets,
/// 100k-term expressions) recurses deeply; only the pages used are committed.
pub const PARSER_STACK_BYTES: usize = 512 * 1024 * 1024;

/// The threads that parse Python: one pool per process, made on first use,
/// every worker with a [`PARSER_STACK_BYTES`] stack. Making a pool (and its
/// threads) per call cost more than collecting a small project; callers that
/// collect many times (the fuzzer, `lint` over many roots) share this one.
fn parser_pool() -> Result<&'static rayon::ThreadPool, CollectError> {
    static POOL: std::sync::OnceLock<Result<rayon::ThreadPool, String>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(PARSER_STACK_BYTES)
            .thread_name(|i| format!("tollgate-collect-{i}"))
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| CollectError::Runtime(e.clone()))
}

/// Collects what `pytest --collect-only -q` would, statically. The work runs
/// on [`parser_pool`]'s big-stack threads; the caller's thread only waits.
pub fn collect(opts: &CollectOptions) -> Result<Collection, CollectError> {
    let pool = parser_pool()?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.install(|| collect_on_big_stack(opts, None))
    }))
    .map_err(|_| CollectError::Runtime("collection thread panicked".into()))?
}

/// [`collect`], serving each test module's result from `cache` when its
/// source and everything its result depends on are unchanged, and storing
/// fresh results there (see [`cache`] for what an entry is keyed on).
pub fn collect_cached(
    opts: &CollectOptions,
    cache: &CacheUse<'_>,
) -> Result<Collection, CollectError> {
    let pool = parser_pool()?;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.install(|| collect_on_big_stack(opts, Some(cache)))
    }))
    .map_err(|_| CollectError::Runtime("collection thread panicked".into()))?
}

/// [`collect`] on the caller's thread and rayon pool, for callers that
/// collect many small projects in a row (the fuzzer): no hand-off to
/// [`parser_pool`]'s threads, which on a busy machine costs a scheduler
/// wake-up or two per call. The caller provides what `collect` otherwise
/// does: a stack of [`PARSER_STACK_BYTES`] (its own thread's, and its pool's
/// if it has one).
pub fn collect_on_this_thread(opts: &CollectOptions) -> Result<Collection, CollectError> {
    collect_on_big_stack(opts, None)
}

fn collect_on_big_stack(
    opts: &CollectOptions,
    cache: Option<&CacheUse<'_>>,
) -> Result<Collection, CollectError> {
    // pytest's invocation dir is always absolute; accept a relative one.
    let absolute_opts;
    let opts = if opts.invocation_dir.is_absolute() {
        opts
    } else {
        let cwd = std::env::current_dir().map_err(|e| CollectError::Runtime(e.to_string()))?;
        absolute_opts = CollectOptions {
            invocation_dir: absolute(&cwd, &opts.invocation_dir),
            ..opts.clone()
        };
        &absolute_opts
    };
    let setup = config::determine_setup(
        &opts.invocation_dir,
        &opts.args,
        opts.config_file.as_deref(),
        opts.rootdir.as_deref(),
    )?;
    let ini = &setup.ini;
    let addopts_tokens = ini.args("addopts", &[]);
    let addopts = parse_addopts(&addopts_tokens);
    let strict_markers = addopts.strict_markers
        || ini
            .bool("strict_markers")
            .unwrap_or_else(|| ini.bool("strict").unwrap_or(false));

    let raw_args = decide_args(opts, ini, &setup.rootdir);
    let args = normalize_args(
        raw_args
            .iter()
            .map(|a| resolve_arg(&opts.invocation_dir, a))
            .collect::<Result<Vec<_>, _>>()?,
    );

    let confcutdir = match &addopts.confcutdir {
        Some(c) => absolute(&opts.invocation_dir, Path::new(c)),
        None => setup
            .inifile
            .as_ref()
            .and_then(|i| i.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| setup.rootdir.clone()),
    };
    let walk_opts = WalkOptions {
        rootdir: setup.rootdir.clone(),
        confcutdir,
        python_files: ini.args("python_files", &["test_*.py", "*_test.py"]),
        norecursedirs: ini.args(
            "norecursedirs",
            &[
                "*.egg",
                ".*",
                "_darcs",
                "build",
                "CVS",
                "dist",
                "node_modules",
                "venv",
                "{arch}",
            ],
        ),
        ignore: addopts
            .ignore
            .iter()
            .map(|p| absolute(&opts.invocation_dir, Path::new(p)))
            .collect(),
        ignore_glob: addopts
            .ignore_glob
            .iter()
            .map(|p| {
                absolute(&opts.invocation_dir, Path::new(p))
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
    };
    let initial: Vec<PathBuf> = args.iter().map(|a| a.path.clone()).collect();
    let mut walker = Walker::new(&walk_opts, &initial);
    let mut selections: Vec<(PathBuf, Vec<&CollectionArg>)> = Vec::new();
    for arg in &args {
        walker.walk_arg(&arg.path);
        if !arg.parts.is_empty() {
            match selections.iter_mut().find(|(p, _)| *p == arg.path) {
                Some((_, v)) => v.push(arg),
                None => selections.push((arg.path.clone(), vec![arg])),
            }
        }
    }
    let targets = std::mem::take(&mut walker.targets);
    let mut inventory = Inventory {
        tests: Vec::new(),
        diagnostics: std::mem::take(&mut walker.diagnostics),
    };
    for plugin in addopts.plugins.iter().filter(|p| !p.starts_with("no:")) {
        inventory.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: "plugin".into(),
            file: setup
                .inifile
                .as_ref()
                .and_then(|i| walk::rel_to(i, &setup.rootdir))
                .unwrap_or_default(),
            line: 0,
            column: 0,
            message: format!("addopts loads plugin `{plugin}`, which may change collection"),
        });
    }

    let filters = NameFilters {
        classes: ini.args("python_classes", &["Test"]),
        functions: ini.args("python_functions", &["test"]),
    };
    let id_options = IdOptions {
        disable_escaping: ini
            .bool("disable_test_id_escaping_and_forfeit_all_rights_to_community_support")
            .unwrap_or(false),
        long_str_strategy: ini
            .string("parametrize_long_str_id_strategy")
            .unwrap_or_else(|| "short".into()),
        empty_parameter_set_mark: ini
            .string("empty_parameter_set_mark")
            .unwrap_or_else(|| "skip".into()),
        strict_ids: ini
            .bool("strict_parametrization_ids")
            .unwrap_or_else(|| ini.bool("strict").unwrap_or(false)),
    };
    let plugin_set = plugins::detect(&plugins::PluginInputs {
        ini,
        addopts: &addopts_tokens,
        rootdir: &setup.rootdir,
        declared: &opts.plugins,
    });
    let modules = ProjectModules::new(setup.rootdir.clone());
    let counters = Counters::default();
    let cached = cache.map(|c| CachedRun {
        use_: c,
        global: cache::global_key(
            c.build_id,
            &setup.rootdir,
            &format!("{filters:?}\n{id_options:?}\nplugins={plugin_set:?}"),
        ),
        conftests: conftest_fingerprints(&targets),
        validator: Validator::new(&modules),
    });
    let per_file: Vec<Inventory> = targets
        .par_iter()
        .map(|t| {
            let setting = FileSetting {
                filters: &filters,
                id_options: &id_options,
                modules: &modules,
                plugins: &plugin_set,
            };
            match &cached {
                Some(run) => collect_file_cached(t, &setting, run, &counters),
                None => {
                    counters.parsed();
                    collect_file(t, &setting, read_source(&t.path), &Deps::default())
                }
            }
        })
        .collect();
    // One allocation for the whole tree, not a doubling per growth.
    inventory
        .tests
        .reserve(per_file.iter().map(|inv| inv.tests.len()).sum());
    for (target, mut inv) in targets.iter().zip(per_file) {
        if let Some((_, sels)) = selections.iter().find(|(p, _)| *p == target.path) {
            inv.tests
                .retain(|item| sels.iter().any(|s| selected(item, &target.node_path, s)));
        }
        inventory.extend(inv);
    }
    if !addopts.deselect.is_empty() {
        inventory.tests.retain(|t| {
            !addopts
                .deselect
                .iter()
                .any(|d| t.id.starts_with(d.as_str()))
        });
    }
    flag_plugin_marked(&mut inventory.tests, &addopts.plugins, &plugin_set);
    let registered = registered_markers(ini);
    let plugin_markers: Vec<(String, String)> = plugin_set
        .registered_markers()
        .into_iter()
        .filter(|(name, _)| !registered.iter().any(|(n, _)| n == name))
        .collect();
    Ok(Collection {
        rootdir: setup.rootdir.clone(),
        inifile: setup.inifile.clone(),
        registered_markers: registered,
        plugin_markers,
        strict_markers,
        addopts_markexpr: addopts.markexpr,
        inventory,
        cache_stats: counters.stats(),
    })
}

/// Plugins loaded with `-p NAME` in addopts act on tests carrying their own
/// mark (`-p myplugin` turning `@pytest.mark.myplugin` tests into several
/// items), and plugins declared in `[python] plugins` with `parametrizes`
/// act on the marks they name: such tests are flagged `dynamic`, since what
/// the plugin does to them is not visible in the source. Plugins tollgate
/// models ([`plugins::KNOWN`]) are left to their models.
fn flag_plugin_marked(tests: &mut [TestItem], loaded: &[String], set: &plugins::PluginSet) {
    let names: Vec<&str> = loaded
        .iter()
        .filter(|p| !p.starts_with("no:"))
        .filter(|p| {
            !plugins::KNOWN
                .iter()
                .any(|k| k.module_names.contains(&p.as_str()))
        })
        .filter_map(|p| p.split('.').next())
        .map(|p| p.strip_prefix("pytest_").unwrap_or(p))
        .collect();
    for item in tests.iter_mut().filter(|t| t.dynamic.is_none()) {
        for m in &item.markers {
            if names.contains(&m.name.as_str()) {
                item.dynamic = Some(format!(
                    "marked `{0}`, which plugin `{0}` (addopts `-p`) may parametrize or change",
                    m.name
                ));
                break;
            }
            if let Some(p) = set.parametrizer_of(&m.name) {
                item.dynamic = Some(format!(
                    "marked `{}`, which plugin {} ({}) parametrizes or changes",
                    m.name, p.name, p.evidence
                ));
                break;
            }
        }
    }
}

/// Does `item` match a `file::Class::test[param]` selection?
fn selected(item: &TestItem, node_path: &str, sel: &CollectionArg) -> bool {
    let prefix = format!("{node_path}::{}", sel.parts.join("::"));
    match &sel.parametrization {
        Some(p) => item.id == format!("{prefix}{p}"),
        None => item.function == prefix || item.function.starts_with(&format!("{prefix}::")),
    }
}

/// What every module of one collection is analysed with.
struct FileSetting<'a> {
    filters: &'a NameFilters,
    id_options: &'a IdOptions,
    modules: &'a ProjectModules,
    plugins: &'a plugins::PluginSet,
}

/// The cache during one collection.
struct CachedRun<'a> {
    use_: &'a CacheUse<'a>,
    /// The key part every module shares (build, rootdir, ini options).
    global: Hash,
    /// Each conftest's fingerprint, by its rootdir-relative path.
    conftests: std::collections::HashMap<String, Hash>,
    validator: Validator<'a>,
}

/// A fingerprint of every conftest analysis in scope of some module: a
/// hash of all it holds (fixtures, hooks, ignores, diagnostics).
fn conftest_fingerprints(targets: &[ModuleTarget]) -> std::collections::HashMap<String, Hash> {
    let mut out = std::collections::HashMap::new();
    for t in targets {
        for (rel, info) in &t.conftest_fixtures {
            if !out.contains_key(rel) {
                out.insert(rel.clone(), cache::sha256(format!("{info:?}").as_bytes()));
            }
        }
    }
    out
}

/// [`collect_file`] through the cache: a hit is served when the entry is
/// whole and its recorded dependencies hold; anything else is analysed and
/// (re)written.
fn collect_file_cached(
    target: &ModuleTarget,
    setting: &FileSetting<'_>,
    run: &CachedRun<'_>,
    counters: &Counters,
) -> Inventory {
    let source = read_source(&target.path);
    let Ok(text) = &source else {
        // Unreadable: nothing to key on; the diagnostic is cheap to remake.
        counters.parsed();
        return collect_file(target, setting, source, &Deps::default());
    };
    let conftests: Vec<(&str, Hash)> = target
        .conftest_fixtures
        .iter()
        .map(|(rel, _)| {
            let fingerprint = run.conftests.get(rel).copied().unwrap_or_default();
            (rel.as_str(), fingerprint)
        })
        .collect();
    let key = cache::module_key(
        &run.global,
        &target.path,
        &target.node_path,
        &target.rel,
        target.conftest_dynamic.as_deref(),
        &conftests,
        &cache::sha256(text.as_bytes()),
    );
    if let Some(hit) = cache::lookup(run.use_.store, &key, &run.validator) {
        counters.cached();
        return hit;
    }
    counters.parsed();
    let deps = Deps::default();
    let inv = collect_file(target, setting, source, &deps);
    run.use_
        .store
        .put(&key, &cache::encode_entry(&deps.take(), &inv));
    inv
}

/// Parses and collects one module from its source (as [`read_source`]
/// gave it); what the analysis reads of other modules goes to `deps`.
fn collect_file(
    target: &ModuleTarget,
    setting: &FileSetting<'_>,
    source: Result<String, walk::SourceError>,
    deps: &Deps,
) -> Inventory {
    let FileSetting {
        filters,
        id_options,
        modules,
        plugins,
    } = *setting;
    let mut inv = Inventory::default();
    let diag = |severity, code: &str, line, column, message: String| Diagnostic {
        severity,
        code: code.into(),
        file: target.rel.clone(),
        line,
        column,
        message,
    };
    let source = match source {
        Ok(s) => s,
        Err(e) => {
            inv.diagnostics
                .push(diag(Severity::Error, e.code, e.line, e.column, e.message));
            return inv;
        }
    };
    let lookup = FileLookup {
        modules,
        importer: target.path.clone(),
        depth: 0,
        deps,
    };
    let model =
        match model::build_module(&source, Arc::from(target.rel.as_str()), &lookup, 0, false) {
            Ok(m) => m,
            Err((line, column, message)) => {
                inv.diagnostics
                    .push(diag(Severity::Error, "parse-error", line, column, message));
                return inv;
            }
        };
    drop(source);
    let conftest_fixtures: Vec<FixtureLayer> = target
        .conftest_fixtures
        .iter()
        .map(|(rel, info)| FixtureLayer {
            file: rel,
            fixtures: &info.fixtures,
        })
        .collect();
    let ctx = ModuleContext {
        conftest_fixtures: &conftest_fixtures,
        module_id: &target.node_path,
        file: &target.rel,
        filters,
        ids: id_options,
        external_dynamic: target.conftest_dynamic.clone(),
        plugins,
        lookup: &lookup,
    };
    let out = collect_module(&model, &ctx);
    inv.tests = out.items;
    inv.diagnostics.extend(
        out.diagnostics
            .into_iter()
            .map(|d| diag(d.severity, d.code, d.line, d.column, d.message)),
    );
    inv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_marked_tests_are_flagged_dynamic() {
        let item = |id: &str, mark: &str| TestItem {
            id: id.into(),
            language: tollgate_inventory::Language::Python,
            file: "t.py".into(),
            line: 1,
            function: id.into(),
            markers: vec![tollgate_inventory::Marker::new(
                mark,
                tollgate_inventory::MarkOrigin {
                    file: "t.py".into(),
                    line: 1,
                    source: tollgate_inventory::MarkSource::FunctionDecorator,
                    learned: None,
                },
            )],
            dynamic: None,
            rust: None,
        };
        let none = plugins::PluginSet::default();
        let mut tests = vec![
            item("t.py::test_a", "myplugin"),
            item("t.py::test_b", "slow"),
            item("t.py::test_c", "anyio"),
        ];
        flag_plugin_marked(
            &mut tests,
            &[
                "no:asyncio".into(),
                "myplugin".into(),
                "anyio".into(),
                "pytester".into(),
            ],
            &none,
        );
        assert!(tests[0]
            .dynamic
            .as_deref()
            .is_some_and(|r| r.contains("`myplugin`")));
        assert_eq!(tests[1].dynamic, None);
        // anyio has a model of its own (collect.rs), which knows sync tests
        // are left alone.
        assert_eq!(tests[2].dynamic, None);
        let mut untouched = vec![item("t.py::test_c", "asyncio")];
        flag_plugin_marked(&mut untouched, &["no:asyncio".into()], &none);
        assert_eq!(untouched[0].dynamic, None);
        let declared = plugins::PluginSet {
            active: vec![plugins::ActivePlugin {
                name: "ours".into(),
                markers: Vec::new(),
                parametrizes: vec!["slow".into()],
                evidence: "[python] plugins in tollgate.toml".into(),
            }],
            ..Default::default()
        };
        let mut declared_tests = vec![item("t.py::test_b", "slow")];
        flag_plugin_marked(&mut declared_tests, &[], &declared);
        assert!(declared_tests[0]
            .dynamic
            .as_deref()
            .is_some_and(|r| r.contains("plugin ours")));
    }

    #[test]
    fn addopts_options() {
        let a = parse_addopts(&shlex::split("-m 'not slow' -ra --strict-markers -p no:cacheprovider -p xdist --ignore=a --ignore-glob '*_x.py' --deselect t.py::x"));
        assert!(a.strict_markers);
        assert_eq!(a.markexpr.as_deref(), Some("not slow"));
        assert_eq!(a.plugins, vec!["no:cacheprovider", "xdist"]);
        assert_eq!(a.ignore, vec!["a"]);
        assert_eq!(a.ignore_glob, vec!["*_x.py"]);
        assert_eq!(a.deselect, vec!["t.py::x"]);
    }

    #[test]
    fn args_are_normalized_like_pytest() {
        let a = |p: &str, parts: &[&str]| CollectionArg {
            path: PathBuf::from(p),
            parts: parts.iter().map(|s| s.to_string()).collect(),
            parametrization: None,
        };
        let out = normalize_args(vec![
            a("/r/t/x.py", &["T"]),
            a("/r/t", &[]),
            a("/r/u.py", &[]),
            a("/r/t", &[]),
        ]);
        assert_eq!(out, vec![a("/r/t", &[]), a("/r/u.py", &[])]);
    }

    #[test]
    fn registered_marker_names() {
        let ini = IniConfig::from_pairs([(
            "markers".to_string(),
            config::IniValue::Str("slow: slow tests\ngpus(count): needs gpus\nplain".into()),
        )]);
        assert_eq!(
            registered_markers(&ini),
            vec![
                ("slow".to_string(), "slow tests".to_string()),
                ("gpus".to_string(), "needs gpus".to_string()),
                ("plain".to_string(), String::new())
            ]
        );
    }
}
