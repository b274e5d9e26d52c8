//! A fixture's `cases.toml`: the invocations on which tollgate and pytest must agree.
//!
//! ```toml
//! compare = "exact"            # or "function" (values not knowable statically)
//! dynamic_functions = []       # "function" mode: functions tollgate must flag `dynamic`
//!
//! [[case]]
//! name = "from-subdir"
//! cwd = "tests/sub"            # relative to the fixture root; default "."
//! args = [".."]                # paths, relative to cwd
//! rootdir = ".."               # --rootdir
//! config = "other.ini"         # -c
//! markexprs = ["slow", "not slow"]
//! ```
//!
//! `{project}` in `args`, `rootdir` and `config` stands for the project's
//! absolute path.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

/// How strictly a fixture's results are compared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompareMode {
    /// Node ids, marker names per id and `-m` selections must all be equal.
    #[default]
    Exact,
    /// Some parametrize values cannot be known without running code: compare
    /// the set of test functions, and ids only for the functions that are static.
    Function,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureCases {
    /// `"plugins"`: pytest runs with the plugins of the second venv loaded
    /// (see `oracle::Python::find_with_plugins`); default: none loads.
    #[serde(default)]
    pub interpreter: Option<String>,
    #[serde(default)]
    pub compare: CompareMode,
    /// Functions (node ids without `[...]`) that tollgate must flag `dynamic`.
    #[serde(default)]
    pub dynamic_functions: Vec<String>,
    /// Compare only the files pytest can import. Never set for the fixtures
    /// (they must collect cleanly); meant for external suites whose
    /// dependencies may be missing here.
    #[serde(default)]
    pub tolerate_collection_errors: bool,
    #[serde(rename = "case")]
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub cwd: Option<String>,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub rootdir: Option<String>,
    #[serde(default)]
    pub config: Option<String>,
    #[serde(default)]
    pub markexprs: Vec<String>,
}

impl FixtureCases {
    pub fn load(path: &Path) -> Result<FixtureCases, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let cases: FixtureCases =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if cases.cases.is_empty() {
            return Err(format!("{}: no [[case]]", path.display()));
        }
        Ok(cases)
    }
}

/// One command line, given identically to pytest and to tollgate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Working directory relative to the fixture root (`.` for the root).
    pub cwd: String,
    pub rootdir: Option<String>,
    pub config: Option<String>,
    pub markexpr: Option<String>,
    pub paths: Vec<String>,
}

impl Case {
    /// The invocation without `-m`, with `{project}` in paths, `--rootdir`
    /// and `-c` replaced by the project's absolute path (to test absolute
    /// arguments although the project is copied to a temporary directory).
    pub fn invocation(&self, project: &Path) -> Invocation {
        let project = project.to_string_lossy();
        let expand = |s: &String| s.replace("{project}", &project);
        Invocation {
            cwd: self.cwd.clone().unwrap_or_else(|| ".".to_owned()),
            rootdir: self.rootdir.as_ref().map(expand),
            config: self.config.as_ref().map(expand),
            markexpr: None,
            paths: self.args.iter().map(expand).collect(),
        }
    }
}

impl Invocation {
    pub fn with_markexpr(&self, expr: &str) -> Invocation {
        Invocation {
            markexpr: Some(expr.to_owned()),
            ..self.clone()
        }
    }

    /// The options shared by both tools, in command-line form.
    pub fn options(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(rootdir) = &self.rootdir {
            args.extend(["--rootdir".to_owned(), rootdir.clone()]);
        }
        if let Some(config) = &self.config {
            args.extend(["-c".to_owned(), config.clone()]);
        }
        if let Some(expr) = &self.markexpr {
            args.extend(["-m".to_owned(), expr.clone()]);
        }
        args
    }
}

impl fmt::Display for Invocation {
    /// Shown in failure reports so a mismatch can be reproduced by hand.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(cd {} &&", self.cwd)?;
        for arg in self.options().iter().chain(&self.paths) {
            write!(f, " {}", shell_quote(arg))?;
        }
        f.write_str(")")
    }
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_field_and_defaults() {
        let cases: FixtureCases = toml::from_str(
            r#"
            compare = "function"
            dynamic_functions = ["t.py::test_a"]
            [[case]]
            name = "a"
            [[case]]
            name = "b"
            cwd = "sub"
            args = ["x.py"]
            rootdir = "{project}/.."
            config = "o.ini"
            markexprs = ["slow"]
            "#,
        )
        .unwrap();
        assert_eq!(cases.compare, CompareMode::Function);
        let project = Path::new("/p");
        assert_eq!(cases.cases[0].invocation(project).cwd, ".");
        let b = cases.cases[1].invocation(project).with_markexpr("not slow");
        assert_eq!(
            b.options(),
            ["--rootdir", "/p/..", "-c", "o.ini", "-m", "not slow"]
        );
        assert_eq!(
            b.to_string(),
            "(cd sub && --rootdir /p/.. -c o.ini -m 'not slow' x.py)"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = toml::from_str::<FixtureCases>("[[case]]\nname = \"a\"\narg = []\n");
        assert!(err.is_err());
    }
}
