//! rootdir and configuration-file resolution, a port of
//! `_pytest/config/findpaths.py` (`determine_setup`), plus typed access to
//! the ini options collection depends on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{iniconfig, shlex, CollectError};

/// One option value as the config file spelled it.
#[derive(Debug, Clone, PartialEq)]
pub enum IniValue {
    Str(String),
    List(Vec<String>),
    Bool(bool),
}

/// The `[pytest]`-section options of the chosen config file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IniConfig {
    values: BTreeMap<String, IniValue>,
}

impl IniConfig {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, IniValue)>) -> Self {
        IniConfig {
            values: pairs.into_iter().collect(),
        }
    }

    /// Whether the option is set at all.
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// An `args`-typed option (shell-split string or list), or `default`.
    pub fn args(&self, key: &str, default: &[&str]) -> Vec<String> {
        match self.values.get(key) {
            Some(IniValue::Str(s)) => shlex::split(s),
            Some(IniValue::List(l)) => l.clone(),
            Some(IniValue::Bool(b)) => vec![python_bool(*b).to_string()],
            None => default.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// A `linelist`-typed option: one entry per non-empty line.
    pub fn linelist(&self, key: &str) -> Vec<String> {
        match self.values.get(key) {
            Some(IniValue::Str(s)) => s
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect(),
            Some(IniValue::List(l)) => l.clone(),
            Some(IniValue::Bool(b)) => vec![python_bool(*b).to_string()],
            None => Vec::new(),
        }
    }

    /// A `bool`-typed option; `None` when unset or not a truth value.
    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.values.get(key)? {
            IniValue::Bool(b) => Some(*b),
            IniValue::Str(s) => strtobool(s.trim()),
            IniValue::List(_) => None,
        }
    }

    /// A `string`-typed option.
    pub fn string(&self, key: &str) -> Option<String> {
        match self.values.get(key)? {
            IniValue::Str(s) => Some(s.clone()),
            IniValue::Bool(b) => Some(python_bool(*b).to_string()),
            IniValue::List(l) => Some(l.join(" ")),
        }
    }
}

fn python_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// `_pytest.config._strtobool`.
pub fn strtobool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Some(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// The outcome of `determine_setup`.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub rootdir: PathBuf,
    pub inifile: Option<PathBuf>,
    pub ini: IniConfig,
}

/// Config files pytest looks for, in precedence order within one directory.
const CONFIG_NAMES: [&str; 7] = [
    "pytest.toml",
    ".pytest.toml",
    "pytest.ini",
    ".pytest.ini",
    "pyproject.toml",
    "tox.ini",
    "setup.cfg",
];

#[derive(Clone, Copy)]
enum Loader {
    PytestToml,
    PytestIni,
    Pyproject,
    ToxIni,
    SetupCfg,
    CustomToml,
}

fn loader_for(path: &Path) -> Option<Loader> {
    let name = path.file_name()?.to_str()?;
    Some(match name {
        "pytest.toml" | ".pytest.toml" => Loader::PytestToml,
        "pytest.ini" | ".pytest.ini" => Loader::PytestIni,
        "pyproject.toml" => Loader::Pyproject,
        "tox.ini" => Loader::ToxIni,
        "setup.cfg" => Loader::SetupCfg,
        _ => match path.extension()?.to_str()? {
            "ini" => Loader::ToxIni,
            "cfg" => Loader::SetupCfg,
            "toml" => Loader::CustomToml,
            _ => return None,
        },
    })
}

/// Loads the pytest options of `path`; `Ok(None)` when the file holds none.
fn load(path: &Path, loader: Loader) -> Result<Option<IniConfig>, CollectError> {
    let text = std::fs::read_to_string(path).map_err(|e| CollectError::ConfigFile {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    match loader {
        Loader::PytestIni | Loader::ToxIni | Loader::SetupCfg => {
            let doc = iniconfig::parse(&text).map_err(|e| CollectError::InvalidConfig {
                path: path.to_path_buf(),
                line: e.line,
                message: e.message,
            })?;
            let section = match loader {
                Loader::SetupCfg => {
                    if doc.section("tool:pytest").is_none() && doc.section("pytest").is_some() {
                        return Err(CollectError::InvalidConfig {
                            path: path.to_path_buf(),
                            line: 0,
                            message: "[pytest] section in setup.cfg files is no longer supported, change to [tool:pytest] instead.".into(),
                        });
                    }
                    "tool:pytest"
                }
                _ => "pytest",
            };
            match doc.section(section) {
                Some(kv) => Ok(Some(IniConfig::from_pairs(
                    kv.iter()
                        .map(|(k, v)| (k.clone(), IniValue::Str(v.clone()))),
                ))),
                None if matches!(loader, Loader::PytestIni) => Ok(Some(IniConfig::default())),
                None => Ok(None),
            }
        }
        Loader::PytestToml | Loader::Pyproject | Loader::CustomToml => {
            let table: toml::Table =
                text.parse()
                    .map_err(|e: toml::de::Error| CollectError::InvalidConfig {
                        path: path.to_path_buf(),
                        line: e
                            .span()
                            .map(|s| text.get(..s.start).unwrap_or(&text).lines().count() as u32)
                            .unwrap_or(0),
                        message: e.message().to_string(),
                    })?;
            let invalid = |message: String| CollectError::InvalidConfig {
                path: path.to_path_buf(),
                line: 0,
                message,
            };
            match loader {
                Loader::PytestToml => Ok(Some(pytest_table(&table).map_err(invalid)?.unwrap_or_default())),
                Loader::Pyproject => tool_pytest(&table).map_err(invalid),
                _ => match tool_pytest(&table).map_err(invalid)? {
                    Some(_) if table.contains_key("pytest") => Err(invalid(
                        "Cannot use both [pytest] and [tool.pytest]/[tool.pytest.ini_options] in the same file".into(),
                    )),
                    Some(cfg) => Ok(Some(cfg)),
                    None => pytest_table(&table).map_err(invalid),
                },
            }
        }
    }
}

/// `[pytest]` of `pytest.toml` (native TOML types).
fn pytest_table(table: &toml::Table) -> Result<Option<IniConfig>, String> {
    if let Some(toml::Value::Table(t)) = table.get("pytest") {
        return Ok(Some(native_toml(t)));
    }
    let top: Vec<&str> = table
        .iter()
        .filter(|(_, v)| !v.is_table())
        .map(|(k, _)| k.as_str())
        .collect();
    if !top.is_empty() {
        return Err(format!(
            "pytest configuration must be under a [pytest] table (found top-level options: {})",
            top.join(", ")
        ));
    }
    Ok(None)
}

/// `[tool.pytest]` (native types) or `[tool.pytest.ini_options]` (strings).
fn tool_pytest(table: &toml::Table) -> Result<Option<IniConfig>, String> {
    let Some(toml::Value::Table(tool_pytest)) = table.get("tool").and_then(|t| t.get("pytest"))
    else {
        return Ok(None);
    };
    let native: toml::Table = tool_pytest
        .iter()
        .filter(|(k, _)| k.as_str() != "ini_options")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let ini_options = tool_pytest.get("ini_options");
    if !native.is_empty() && ini_options.is_some() {
        return Err("Cannot use both [tool.pytest] (native TOML types) and [tool.pytest.ini_options] (string-based INI format) simultaneously.".into());
    }
    if !native.is_empty() {
        return Ok(Some(native_toml(&native)));
    }
    match ini_options {
        Some(toml::Value::Table(t)) => Ok(Some(native_toml(t))),
        Some(_) => Err("[tool.pytest.ini_options] must be a table".into()),
        None => Ok(None),
    }
}

fn native_toml(t: &toml::Table) -> IniConfig {
    IniConfig::from_pairs(t.iter().map(|(k, v)| {
        let value = match v {
            toml::Value::Boolean(b) => IniValue::Bool(*b),
            toml::Value::Array(a) => IniValue::List(a.iter().map(toml_scalar).collect()),
            other => IniValue::Str(toml_scalar(other)),
        };
        (k.clone(), value)
    }))
}

/// Python's `str()` of a TOML scalar.
fn toml_scalar(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Boolean(b) => python_bool(*b).to_string(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => crate::ids::python_float_repr(*f),
        other => other.to_string(),
    }
}

/// The args pytest treats as paths: strips `::` selections; keeps those that exist.
fn dirs_from_args(invocation_dir: &Path, args: &[String]) -> Vec<PathBuf> {
    args.iter()
        .filter(|a| !a.starts_with('-'))
        .map(|a| absolute(invocation_dir, Path::new(a.split("::").next().unwrap_or(a))))
        .filter(|p| p.exists())
        .map(|p| {
            if p.is_dir() {
                p
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or(p)
            }
        })
        .collect()
}

/// `os.path.abspath`-like: joins and normalises `.`/`..` without touching symlinks.
pub fn absolute(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    let mut out = PathBuf::new();
    for comp in joined.components() {
        match comp {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn common_ancestor(invocation_dir: &Path, paths: &[PathBuf]) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for path in paths.iter().filter(|p| p.exists()) {
        common = Some(match common {
            None => path.clone(),
            Some(c) => {
                if path.starts_with(&c) {
                    c
                } else if c.starts_with(path) {
                    path.clone()
                } else {
                    let shared: PathBuf = c
                        .components()
                        .zip(path.components())
                        .take_while(|(a, b)| a == b)
                        .map(|(a, _)| a.as_os_str())
                        .collect();
                    if shared.as_os_str().is_empty() {
                        c
                    } else {
                        shared
                    }
                }
            }
        });
    }
    match common {
        None => invocation_dir.to_path_buf(),
        Some(c) if c.is_file() => c.parent().map(Path::to_path_buf).unwrap_or(c),
        Some(c) => c,
    }
}

type Located = (PathBuf, PathBuf, IniConfig);

fn locate_config(args: &[PathBuf]) -> Result<Option<Located>, CollectError> {
    let mut found_pyproject: Option<PathBuf> = None;
    for arg in args {
        for base in arg.ancestors() {
            for name in CONFIG_NAMES {
                let p = base.join(name);
                if !p.is_file() {
                    continue;
                }
                if name == "pyproject.toml" && found_pyproject.is_none() {
                    found_pyproject = Some(p.clone());
                }
                let Some(loader) = loader_for(&p) else {
                    continue;
                };
                if let Some(cfg) = load(&p, loader)? {
                    return Ok(Some((base.to_path_buf(), p, cfg)));
                }
            }
        }
    }
    Ok(found_pyproject.map(|p| {
        let dir = p.parent().map(Path::to_path_buf).unwrap_or_default();
        (dir, p, IniConfig::default())
    }))
}

fn is_fs_root(p: &Path) -> bool {
    p.parent().is_none()
}

/// `determine_setup` from findpaths.py.
pub fn determine_setup(
    invocation_dir: &Path,
    args: &[String],
    config_file: Option<&Path>,
    rootdir_arg: Option<&Path>,
) -> Result<Setup, CollectError> {
    let dirs = dirs_from_args(invocation_dir, args);
    let (mut rootdir, inifile, ini);
    if let Some(cf) = config_file {
        let path = absolute(invocation_dir, cf);
        if !path.exists() {
            return Err(CollectError::ConfigFile {
                path,
                message: "config file not found (check your '-c/--config-file' option)".into(),
            });
        }
        if path.is_dir() {
            return Err(CollectError::ConfigFile {
                path,
                message: "config file is a directory (check your '-c/--config-file' option)".into(),
            });
        }
        ini = match loader_for(&path) {
            Some(loader) => load(&path, loader)?.unwrap_or_default(),
            None if path.is_file() => return Err(CollectError::ConfigFile {
                path,
                message:
                    "unsupported config file format (supported extensions are: .cfg, .ini, .toml)"
                        .into(),
            }),
            None => IniConfig::default(),
        };
        rootdir = if path.is_file() {
            path.parent().map(Path::to_path_buf)
        } else {
            let anc = common_ancestor(invocation_dir, &dirs);
            Some(if is_fs_root(&anc) {
                invocation_dir.to_path_buf()
            } else {
                anc
            })
        };
        inifile = Some(path);
    } else {
        let ancestor = common_ancestor(invocation_dir, &dirs);
        match locate_config(std::slice::from_ref(&ancestor))? {
            Some((r, i, c)) => {
                rootdir = Some(r);
                inifile = Some(i);
                ini = c;
            }
            None => {
                let mut found = (None, None, IniConfig::default());
                if rootdir_arg.is_none() {
                    if let Some(setup_py_dir) =
                        ancestor.ancestors().find(|d| d.join("setup.py").is_file())
                    {
                        found.0 = Some(setup_py_dir.to_path_buf());
                    } else {
                        if dirs != [ancestor.clone()] {
                            if let Some((r, i, c)) = locate_config(&dirs)? {
                                found = (Some(r), Some(i), c);
                            }
                        }
                        if found.0.is_none() {
                            let r = common_ancestor(
                                invocation_dir,
                                &[invocation_dir.to_path_buf(), ancestor.clone()],
                            );
                            found.0 = Some(if is_fs_root(&r) { ancestor.clone() } else { r });
                        }
                    }
                }
                rootdir = found.0;
                inifile = found.1;
                ini = found.2;
            }
        }
    }
    if let Some(r) = rootdir_arg {
        let r = absolute(invocation_dir, r);
        if !r.is_dir() {
            return Err(CollectError::RootdirNotFound(r));
        }
        rootdir = Some(r);
    }
    Ok(Setup {
        rootdir: rootdir.unwrap_or_else(|| invocation_dir.to_path_buf()),
        inifile,
        ini,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn setup(dir: &Path, args: &[&str]) -> Setup {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        determine_setup(dir, &args, None, None).unwrap()
    }

    #[test]
    fn pytest_ini_wins_over_pyproject_in_same_dir() {
        let t = tempfile::tempdir().unwrap();
        fs::write(
            t.path().join("pytest.ini"),
            "[pytest]\npython_files = check_*.py\n",
        )
        .unwrap();
        fs::write(
            t.path().join("pyproject.toml"),
            "[tool.pytest.ini_options]\nx = 1\n",
        )
        .unwrap();
        let s = setup(t.path(), &[]);
        assert_eq!(
            s.inifile.as_deref(),
            Some(t.path().join("pytest.ini").as_path())
        );
        assert_eq!(s.ini.args("python_files", &[]), vec!["check_*.py"]);
    }

    #[test]
    fn tox_without_section_is_skipped_and_parent_found() {
        let t = tempfile::tempdir().unwrap();
        let sub = t.path().join("sub");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("tox.ini"), "[tox]\nenvlist = py\n").unwrap();
        fs::write(
            t.path().join("setup.cfg"),
            "[tool:pytest]\ntestpaths = a b\n",
        )
        .unwrap();
        let s = setup(&sub, &[]);
        assert_eq!(s.rootdir, t.path());
        assert_eq!(s.ini.args("testpaths", &[]), vec!["a", "b"]);
    }

    #[test]
    fn native_toml_table_and_ini_options() {
        let t = tempfile::tempdir().unwrap();
        fs::write(
            t.path().join("pyproject.toml"),
            "[tool.pytest]\ntestpaths = [\"tests\"]\nstrict_markers = true\nmarkers = [\"slow: slow\"]\n",
        )
        .unwrap();
        let s = setup(t.path(), &[]);
        assert_eq!(s.ini.args("testpaths", &[]), vec!["tests"]);
        assert_eq!(s.ini.bool("strict_markers"), Some(true));
        assert_eq!(s.ini.linelist("markers"), vec!["slow: slow"]);
    }

    #[test]
    fn pyproject_without_pytest_table_still_roots() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("pyproject.toml"), "[project]\nname='x'\n").unwrap();
        let sub = t.path().join("a");
        fs::create_dir(&sub).unwrap();
        let s = setup(&sub, &[]);
        assert_eq!(s.rootdir, t.path());
        assert!(s.ini.args("testpaths", &[]).is_empty());
    }

    #[test]
    fn invalid_ini_is_an_error_and_setup_cfg_pytest_section_refused() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("setup.cfg"), "[pytest]\nx=1\n").unwrap();
        assert!(determine_setup(t.path(), &[], None, None).is_err());
        fs::write(t.path().join("pytest.ini"), "junk\n").unwrap();
        assert!(matches!(
            determine_setup(t.path(), &[], None, None),
            Err(CollectError::InvalidConfig { line: 1, .. })
        ));
    }

    #[test]
    fn config_file_and_rootdir_options() {
        let t = tempfile::tempdir().unwrap();
        let cfg = t.path().join("ci").join("my.ini");
        fs::create_dir(t.path().join("ci")).unwrap();
        fs::write(&cfg, "[pytest]\npython_functions = check\n").unwrap();
        let s = determine_setup(t.path(), &[], Some(Path::new("ci/my.ini")), None).unwrap();
        assert_eq!(s.rootdir, t.path().join("ci"));
        assert_eq!(s.ini.args("python_functions", &[]), vec!["check"]);
        let s = determine_setup(t.path(), &[], Some(&cfg), Some(Path::new("."))).unwrap();
        assert_eq!(s.rootdir, t.path());
        assert!(determine_setup(t.path(), &[], Some(Path::new("nope.ini")), None).is_err());
        assert!(determine_setup(t.path(), &[], None, Some(Path::new("nope"))).is_err());
    }
}
