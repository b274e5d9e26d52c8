//! What widely used pytest plugins do to collection, as data.
//!
//! pytest plugins load from an entry point as soon as they are installed, so
//! the source of a test module rarely says which are active. A plugin is
//! taken as **in use** only on evidence the project wrote down: `-p NAME` in
//! `addopts`, an ini option or an `addopts` flag that only that plugin
//! defines (pytest rejects unknown ones), a dependency declaration that
//! names its distribution (`pyproject.toml`, `setup.cfg`, `setup.py`,
//! `tox.ini`, `requirements*.txt` near the rootdir), or tollgate's own
//! `[python] plugins` setting. What an active plugin does is then modelled
//! exactly where pytest's behaviour is fixed, and flagged `dynamic` (with
//! the reason) where it depends on the machine pytest runs on — never
//! guessed:
//!
//! | plugin | model |
//! |---|---|
//! | hypothesis | `@given` tests are marked `hypothesis` (always; see `model.rs`) |
//! | pytest-asyncio | `asyncio_mode = auto`: every `async def` test is marked `asyncio` |
//! | pytest-trio | `trio_mode = true`: every `async def` test is marked `trio` |
//! | anyio | an `async def` test marked `anyio` (or any, with `anyio_mode = auto`) gets `usefixtures("anyio_backend")`; parametrized by the project's `anyio_backend` fixture, or flagged dynamic when that is anyio's own (its params are the event loops installed where pytest runs) |
//! | pytest-repeat | `repeat(n)` or `--count n`: `[1-n]` … `[n-n]` appended to the ids |
//! | pytest-timeout, pytest-xdist, pytest-rerunfailures, … | the markers they register (`timeout`, `xdist_group`, `flaky`, …), so lint knows them |
//!
//! A plugin declared in `[python] plugins` with `parametrizes = [MARK]`
//! flags the tests carrying MARK dynamic: plans run them as a whole and
//! `tollgate learn` fills in what pytest really collects.
//!
//! Hand-written: there is no machine-readable registry of what pytest
//! plugins do; the table below was checked against the plugins' sources and
//! real `pytest --collect-only` (pytest 9.2, anyio 4.16, pytest-asyncio 1.5,
//! pytest-trio 0.8, pytest-repeat 0.9, pytest-timeout 2.4, pytest-xdist 3.8).

use std::path::{Path, PathBuf};

use crate::config::IniConfig;

/// What one known plugin registers and how it is recognised.
#[derive(Debug)]
pub struct PluginModel {
    /// The distribution's name on PyPI (`pytest-timeout`).
    pub dist: &'static str,
    /// Names `-p` loads it by (its pytest11 entry point or module).
    pub module_names: &'static [&'static str],
    /// Ini options only this plugin defines.
    pub ini_keys: &'static [&'static str],
    /// Command-line flags only this plugin defines (as written in addopts).
    pub flags: &'static [&'static str],
    /// Markers it registers (`config.addinivalue_line("markers", ...)`).
    pub markers: &'static [&'static str],
}

/// The plugins tollgate models. Order is irrelevant; names are unique.
pub const KNOWN: &[PluginModel] = &[
    PluginModel {
        dist: "hypothesis",
        module_names: &["hypothesispytest", "hypothesis"],
        ini_keys: &[],
        flags: &[
            "--hypothesis-profile",
            "--hypothesis-seed",
            "--hypothesis-show-statistics",
        ],
        markers: &["hypothesis"],
    },
    PluginModel {
        dist: "pytest-asyncio",
        module_names: &["asyncio", "pytest_asyncio"],
        ini_keys: &[
            "asyncio_mode",
            "asyncio_default_fixture_loop_scope",
            "asyncio_default_test_loop_scope",
        ],
        flags: &["--asyncio-mode"],
        markers: &["asyncio"],
    },
    PluginModel {
        dist: "pytest-trio",
        module_names: &["trio", "pytest_trio"],
        ini_keys: &["trio_mode", "trio_run"],
        flags: &[],
        markers: &["trio"],
    },
    PluginModel {
        dist: "anyio",
        module_names: &["anyio"],
        ini_keys: &["anyio_mode"],
        flags: &[],
        markers: &["anyio"],
    },
    PluginModel {
        dist: "pytest-repeat",
        module_names: &["repeat", "pytest_repeat"],
        ini_keys: &[],
        flags: &["--count", "--repeat-scope"],
        markers: &["repeat"],
    },
    PluginModel {
        dist: "pytest-timeout",
        module_names: &["timeout", "pytest_timeout"],
        ini_keys: &[
            "timeout",
            "timeout_method",
            "timeout_func_only",
            "timeout_disable_debugger_detection",
        ],
        flags: &[
            "--timeout",
            "--timeout-method",
            "--timeout_method",
            "--timeout-disable-debugger-detection",
        ],
        markers: &["timeout"],
    },
    PluginModel {
        dist: "pytest-xdist",
        module_names: &["xdist", "xdist.plugin", "xdist.looponfail"],
        ini_keys: &["rsyncdirs", "rsyncignore", "looponfailroots"],
        flags: &[
            "-n",
            "--numprocesses",
            "--dist",
            "--maxprocesses",
            "--max-worker-restart",
        ],
        markers: &["xdist_group"],
    },
    PluginModel {
        dist: "pytest-rerunfailures",
        module_names: &["rerunfailures", "pytest_rerunfailures"],
        ini_keys: &["reruns", "reruns_delay"],
        flags: &[
            "--reruns",
            "--reruns-delay",
            "--only-rerun",
            "--rerun-except",
        ],
        markers: &["flaky"],
    },
    PluginModel {
        dist: "flaky",
        module_names: &["flaky", "flaky.flaky_pytest_plugin"],
        ini_keys: &[],
        flags: &[
            "--force-flaky",
            "--no-flaky-report",
            "--max-runs",
            "--min-passes",
        ],
        markers: &["flaky"],
    },
    PluginModel {
        dist: "pytest-order",
        module_names: &["pytest_order", "order"],
        ini_keys: &["order_scope", "order_dependencies"],
        flags: &[
            "--order-scope",
            "--order-dependencies",
            "--indulgent-ordering",
        ],
        markers: &["order"],
    },
    PluginModel {
        dist: "pytest-dependency",
        module_names: &["dependency", "pytest_dependency"],
        ini_keys: &["automark_dependency", "accept_xfail"],
        flags: &["--ignore-unknown-dependency"],
        markers: &["dependency"],
    },
    PluginModel {
        dist: "pytest-django",
        module_names: &["django", "pytest_django"],
        ini_keys: &[
            "DJANGO_SETTINGS_MODULE",
            "django_find_project",
            "django_debug_mode",
        ],
        flags: &[
            "--ds",
            "--dc",
            "--reuse-db",
            "--create-db",
            "--nomigrations",
            "--migrations",
        ],
        markers: &["django_db", "urls", "ignore_template_errors"],
    },
    PluginModel {
        dist: "pytest-benchmark",
        module_names: &["benchmark", "pytest_benchmark"],
        ini_keys: &[],
        flags: &[
            "--benchmark-skip",
            "--benchmark-only",
            "--benchmark-disable",
            "--benchmark-autosave",
            "--benchmark-json",
        ],
        markers: &["benchmark"],
    },
    PluginModel {
        dist: "pytest-forked",
        module_names: &["forked", "pytest_forked"],
        ini_keys: &[],
        flags: &["--forked"],
        markers: &["forked"],
    },
    PluginModel {
        dist: "pytest-socket",
        module_names: &["socket", "pytest_socket"],
        ini_keys: &[],
        flags: &["--disable-socket", "--allow-hosts", "--allow-unix-socket"],
        markers: &["disable_socket", "enable_socket", "allow_hosts"],
    },
    PluginModel {
        dist: "pytest-httpx",
        module_names: &["pytest_httpx"],
        ini_keys: &[],
        flags: &[],
        markers: &["httpx_mock"],
    },
    PluginModel {
        dist: "pytest-freezer",
        module_names: &["pytest_freezer", "freezer"],
        ini_keys: &[],
        flags: &[],
        markers: &["freeze_time"],
    },
    PluginModel {
        dist: "pytest-recording",
        module_names: &["recording", "pytest_recording"],
        ini_keys: &[],
        flags: &["--record-mode", "--block-network", "--allowed-hosts"],
        markers: &["vcr", "block_network", "default_cassette"],
    },
];

/// A plugin the project declares in `[python] plugins`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeclaredPlugin {
    /// A known plugin's distribution name, or the project's own name for it.
    pub name: String,
    /// Markers it registers.
    pub markers: Vec<String>,
    /// Marks whose tests it parametrizes or otherwise changes in ways static
    /// discovery cannot see: such tests are flagged dynamic.
    pub parametrizes: Vec<String>,
}

/// A plugin taken as active, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivePlugin {
    pub name: String,
    pub markers: Vec<String>,
    pub parametrizes: Vec<String>,
    /// Where it was seen (`addopts -p xdist`, `ini option timeout`,
    /// `pyproject.toml`, `[python] plugins`).
    pub evidence: String,
}

/// The active plugins and the switches that follow from their settings.
#[derive(Debug, Clone, Default)]
pub struct PluginSet {
    pub active: Vec<ActivePlugin>,
    /// pytest-asyncio's `asyncio_mode = auto`.
    pub asyncio_auto: bool,
    /// pytest-trio's `trio_mode = true`.
    pub trio_mode: bool,
    /// anyio's `anyio_mode = auto`.
    pub anyio_auto: bool,
    /// `-p no:anyio` in addopts: anyio's pytest plugin (loaded wherever
    /// anyio is installed) does not run, so its model adds nothing.
    pub anyio_off: bool,
    /// pytest-repeat is active; its `--count` from addopts (1 when unset).
    pub repeat: Option<u64>,
}

impl PluginSet {
    pub fn is_active(&self, dist: &str) -> bool {
        self.active.iter().any(|p| p.name == dist)
    }

    /// Markers the active plugins register, with a description naming the
    /// plugin and its evidence.
    pub fn registered_markers(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for p in &self.active {
            for m in &p.markers {
                if !out.iter().any(|(n, _)| n == m) {
                    out.push((
                        m.clone(),
                        format!("registered by plugin {} ({})", p.name, p.evidence),
                    ));
                }
            }
        }
        out
    }

    /// The first declared plugin that parametrizes tests carrying `mark`.
    pub fn parametrizer_of(&self, mark: &str) -> Option<&ActivePlugin> {
        self.active
            .iter()
            .find(|p| p.parametrizes.iter().any(|m| m == mark))
    }
}

/// What the project's settings say about plugins: `addopts` flags and `-p`
/// names, the ini file's options, declared dependencies, `[python] plugins`.
pub struct PluginInputs<'a> {
    pub ini: &'a IniConfig,
    /// `addopts`, shell-split.
    pub addopts: &'a [String],
    pub rootdir: &'a Path,
    pub declared: &'a [DeclaredPlugin],
}

/// Decides which plugins are active, and their settings.
pub fn detect(inputs: &PluginInputs<'_>) -> PluginSet {
    let mut set = PluginSet::default();
    let deps = DependencyText::read(inputs.rootdir);
    let add = |set: &mut PluginSet, p: ActivePlugin| {
        if !set.active.iter().any(|a| a.name == p.name) {
            set.active.push(p);
        }
    };
    for d in inputs.declared {
        let known = KNOWN.iter().find(|k| k.dist == d.name);
        let mut markers: Vec<String> = known
            .map(|k| k.markers.iter().map(|m| m.to_string()).collect())
            .unwrap_or_default();
        markers.extend(d.markers.iter().cloned());
        add(
            &mut set,
            ActivePlugin {
                name: d.name.clone(),
                markers,
                parametrizes: d.parametrizes.clone(),
                evidence: "[python] plugins in tollgate.toml".into(),
            },
        );
    }
    let loaded = loaded_by_p(inputs.addopts);
    let flags = addopt_flags(inputs.addopts);
    for k in KNOWN {
        let evidence = if let Some(p) = loaded.iter().find(|p| k.module_names.contains(&p.as_str()))
        {
            Some(format!("addopts -p {p}"))
        } else if let Some(key) = k.ini_keys.iter().find(|key| inputs.ini.contains(key)) {
            Some(format!("ini option {key}"))
        } else if let Some(f) = k.flags.iter().find(|f| flags.iter().any(|g| g == *f)) {
            Some(format!("addopts {f}"))
        } else {
            deps.declaring(k.dist)
                .map(|file| format!("declared in {file}"))
        };
        if let Some(evidence) = evidence {
            add(
                &mut set,
                ActivePlugin {
                    name: k.dist.to_string(),
                    markers: k.markers.iter().map(|m| m.to_string()).collect(),
                    parametrizes: Vec::new(),
                    evidence,
                },
            );
        }
    }
    let disabled = |names: &[&str]| {
        inputs
            .addopts
            .windows(2)
            .any(|w| w[0] == "-p" && names.iter().any(|n| w[1] == format!("no:{n}")))
            || inputs
                .addopts
                .iter()
                .any(|a| names.iter().any(|n| *a == format!("-pno:{n}")))
    };
    set.active.retain(|p| {
        let names = KNOWN
            .iter()
            .find(|k| k.dist == p.name)
            .map(|k| k.module_names.to_vec())
            .unwrap_or_default();
        names.is_empty() || !disabled(&names)
    });
    let mode =
        |flag: &str, key: &str| flag_value(inputs.addopts, flag).or_else(|| inputs.ini.string(key));
    set.asyncio_auto = set.is_active("pytest-asyncio")
        && mode("--asyncio-mode", "asyncio_mode").is_some_and(|m| m.trim() == "auto");
    set.trio_mode = set.is_active("pytest-trio") && inputs.ini.bool("trio_mode") == Some(true);
    set.anyio_off = disabled(&["anyio"]);
    set.anyio_auto = !set.anyio_off
        && inputs
            .ini
            .string("anyio_mode")
            .is_some_and(|m| m.trim() == "auto");
    if set.is_active("pytest-repeat") {
        let count = flag_value(inputs.addopts, "--count")
            .and_then(|c| c.trim().parse::<u64>().ok())
            .unwrap_or(1);
        set.repeat = Some(count);
    }
    set
}

/// `-p NAME` / `-pNAME` in addopts (not `no:` ones).
fn loaded_by_p(addopts: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = addopts.iter();
    while let Some(a) = it.next() {
        let name = if a == "-p" {
            it.next().cloned()
        } else {
            a.strip_prefix("-p")
                .filter(|r| !r.is_empty())
                .map(str::to_string)
        };
        if let Some(n) = name.filter(|n| !n.starts_with("no:")) {
            out.push(n);
        }
    }
    out
}

/// The flags written in addopts (`--count=3` gives `--count`; `-n4` gives `-n`).
fn addopt_flags(addopts: &[String]) -> Vec<String> {
    addopts
        .iter()
        .filter(|a| a.starts_with('-'))
        .map(|a| match a.split_once('=') {
            Some((f, _)) => f.to_string(),
            None if a.starts_with("-n") && !a.starts_with("--") => "-n".to_string(),
            None => a.clone(),
        })
        .collect()
}

/// The value of `--flag V` or `--flag=V` in addopts, the last one winning.
fn flag_value(addopts: &[String], flag: &str) -> Option<String> {
    let mut found = None;
    let mut it = addopts.iter();
    while let Some(a) = it.next() {
        if a == flag {
            found = it.next().cloned();
        } else if let Some(v) = a.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
            found = Some(v.to_string());
        }
    }
    found
}

/// The dependency declarations near the rootdir, lower-cased, with the file
/// each came from.
struct DependencyText {
    files: Vec<(String, String)>,
}

/// How far below the rootdir dependency files are looked for, how many and
/// how large: enough for `requirements/test.txt` or
/// `container/deps/requirements.test.txt`, bounded on any tree.
const DEP_DEPTH: usize = 3;
/// Directories the scan reads at most: a monorepo with thousands of
/// top-level directories must not make every `collect` list them all.
const DEP_DIRS_MAX: usize = 2_000;
const DEP_FILES_MAX: usize = 64;
const DEP_FILE_BYTES_MAX: u64 = 1024 * 1024;

impl DependencyText {
    fn read(rootdir: &Path) -> Self {
        let mut paths: Vec<PathBuf> = Vec::new();
        let mut dirs_left = DEP_DIRS_MAX;
        collect_dep_files(rootdir, 0, &mut dirs_left, &mut paths);
        paths.sort();
        paths.truncate(DEP_FILES_MAX);
        let files = paths
            .into_iter()
            .filter_map(|p| {
                let meta = std::fs::symlink_metadata(&p).ok()?;
                if !meta.is_file() || meta.len() > DEP_FILE_BYTES_MAX {
                    return None;
                }
                let text = std::fs::read_to_string(&p).ok()?;
                let rel = p
                    .strip_prefix(rootdir)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                Some((rel, normalize_dist(&text)))
            })
            .collect();
        DependencyText { files }
    }

    /// The first file that names `dist` as a whole word.
    fn declaring(&self, dist: &str) -> Option<&str> {
        let needle = normalize_dist(dist);
        self.files
            .iter()
            .find(|(_, text)| names_word(text, &needle))
            .map(|(f, _)| f.as_str())
    }
}

fn is_dep_file(name: &str) -> bool {
    matches!(
        name,
        "pyproject.toml" | "setup.cfg" | "setup.py" | "tox.ini" | "Pipfile" | "environment.yml"
    ) || (name.contains("requirements") && (name.ends_with(".txt") || name.ends_with(".in")))
}

/// The dependency files under `dir`, breadth before depth within a
/// directory, reading at most `dirs_left` more directories.
fn collect_dep_files(dir: &Path, depth: usize, dirs_left: &mut usize, out: &mut Vec<PathBuf>) {
    if *dirs_left == 0 {
        return;
    }
    *dirs_left -= 1;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // file_type does not follow symlinks: a link is neither walked nor read.
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_file() && is_dep_file(&name) {
            out.push(e.path());
        } else if kind.is_dir()
            && depth < DEP_DEPTH
            && !name.starts_with('.')
            && !matches!(
                name.as_str(),
                "node_modules" | "target" | "venv" | "build" | "dist"
            )
        {
            subdirs.push(e.path());
        }
        if out.len() > DEP_FILES_MAX * 4 {
            return;
        }
    }
    subdirs.sort();
    for d in subdirs {
        collect_dep_files(&d, depth + 1, dirs_left, out);
    }
}

/// PEP 503 normalisation (lower case, runs of `-_.` as `-`) over a whole text.
fn normalize_dist(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut sep = false;
    for c in s.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !sep {
                out.push('-');
            }
            sep = true;
        } else {
            out.extend(c.to_lowercase());
            sep = false;
        }
    }
    out
}

/// `needle` occurs in `text` not as part of a longer name.
fn names_word(text: &str, needle: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || c == '-';
    let mut from = 0;
    while let Some(i) = text[from..].find(needle) {
        let start = from + i;
        let end = start + needle.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        if !before.is_some_and(part) && !after.is_some_and(part) {
            return true;
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IniValue;

    fn ini(pairs: &[(&str, &str)]) -> IniConfig {
        IniConfig::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), IniValue::Str(v.to_string()))),
        )
    }

    fn detect_in(
        dir: &Path,
        ini: &IniConfig,
        addopts: &[&str],
        declared: &[DeclaredPlugin],
    ) -> PluginSet {
        let addopts: Vec<String> = addopts.iter().map(|s| s.to_string()).collect();
        detect(&PluginInputs {
            ini,
            addopts: &addopts,
            rootdir: dir,
            declared,
        })
    }

    #[test]
    fn evidence_from_ini_addopts_and_dependency_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("container/deps")).expect("mkdir");
        std::fs::write(
            dir.path().join("container/deps/requirements.test.txt"),
            "pytest==9.2\nPytest_Timeout>=2\npytest-xdist-extra==1\n",
        )
        .expect("write");
        let set = detect_in(
            dir.path(),
            &ini(&[("asyncio_mode", "auto")]),
            &["-p", "anyio", "--count=3"],
            &[],
        );
        let names: Vec<&str> = set.active.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["pytest-asyncio", "anyio", "pytest-repeat", "pytest-timeout"]
        );
        assert!(set.asyncio_auto);
        assert_eq!(set.repeat, Some(3));
        let timeout = &set.active[3];
        assert_eq!(
            timeout.evidence,
            "declared in container/deps/requirements.test.txt"
        );
        // `pytest-xdist-extra` is another distribution, not pytest-xdist.
        assert!(!set.is_active("pytest-xdist"));
        let registered = set.registered_markers();
        assert!(registered
            .iter()
            .any(|(n, d)| n == "timeout" && d.contains("pytest-timeout")));
    }

    #[test]
    fn disabled_plugins_and_declared_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let declared = [DeclaredPlugin {
            name: "ourplugin".into(),
            markers: vec!["needs_db".into()],
            parametrizes: vec!["matrix".into()],
        }];
        let set = detect_in(
            dir.path(),
            &ini(&[("asyncio_mode", "auto")]),
            &["-p", "no:asyncio"],
            &declared,
        );
        assert!(!set.is_active("pytest-asyncio"));
        assert!(!set.asyncio_auto);
        assert_eq!(
            set.parametrizer_of("matrix").map(|p| p.name.as_str()),
            Some("ourplugin")
        );
        assert!(set
            .registered_markers()
            .iter()
            .any(|(n, _)| n == "needs_db"));
        let anyio_off = detect_in(
            dir.path(),
            &ini(&[("anyio_mode", "auto")]),
            &["-pno:anyio"],
            &[],
        );
        assert!(anyio_off.anyio_off && !anyio_off.anyio_auto);
        assert!(!anyio_off.is_active("anyio"));
        let anyio_on = detect_in(dir.path(), &ini(&[("anyio_mode", "auto")]), &[], &[]);
        assert!(!anyio_on.anyio_off && anyio_on.anyio_auto);
    }

    /// A tree wider than the scan's directory budget is read up to it, in
    /// name order, and no further: a file past the budget is not seen.
    #[test]
    fn dependency_scan_reads_a_bounded_number_of_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("aaa")).expect("mkdir");
        std::fs::write(dir.path().join("aaa/requirements.txt"), "pytest-timeout\n").expect("write");
        std::fs::create_dir(dir.path().join("zzz")).expect("mkdir");
        std::fs::write(dir.path().join("zzz/requirements.txt"), "pytest-repeat\n").expect("write");
        let found = DependencyText::read(dir.path());
        assert!(found.declaring("pytest-timeout").is_some());
        assert!(found.declaring("pytest-repeat").is_some());
        for i in 0..DEP_DIRS_MAX {
            std::fs::create_dir(dir.path().join(format!("m{i:05}"))).expect("mkdir");
        }
        let found = DependencyText::read(dir.path());
        assert!(found.declaring("pytest-timeout").is_some());
        assert!(found.declaring("pytest-repeat").is_none());
    }

    #[test]
    fn word_match_respects_name_boundaries() {
        assert!(names_word(
            "deps = [\"pytest-repeat>=0.9\"]",
            "pytest-repeat"
        ));
        assert!(!names_word("pytest-repeater", "pytest-repeat"));
        assert!(!names_word("my-pytest-repeat", "pytest-repeat"));
        assert_eq!(normalize_dist("Pytest__Timeout.x"), "pytest-timeout-x");
    }
}
