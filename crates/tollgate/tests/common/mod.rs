//! Shared by tollgate's CLI integration tests: the binary under test in a
//! controlled environment, the workspace and its example, a copy of a tree,
//! the interpreter with pytest, git, and the store test backends.

#![allow(dead_code)] // each test binary uses a different subset

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

/// `copy_tree`, also used by `tollgate-plan`'s tests.
pub mod copy;

/// The store suite's backends (a SQLite file, a throwaway PostgreSQL schema).
#[path = "../../../tollgate-store/tests/common/mod.rs"]
pub mod stores;

/// tollgate's workspace root (canonical: discovery derives ids from paths,
/// and `..` in them would leak into the ids).
pub fn workspace() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&path).unwrap_or(path)
}

/// `examples/monorepo` (canonical, as [`workspace`]).
pub fn example_root() -> PathBuf {
    workspace().join("examples/monorepo")
}

/// Variables of the environment the tests run in that would steer the
/// tollgate under test: the outer cargo/nextest's own state, a CI run's
/// identity, the store's location, GPUs and Python paths.
fn steers_tollgate(name: &str) -> bool {
    let inherited_tool_state = (name.starts_with("CARGO_") && name != "CARGO_HOME")
        || name.starts_with("NEXTEST")
        || name.starts_with("__NEXTEST")
        || name.starts_with("RUST_TEST");
    let run_identity = [
        "CI",
        "CI_FAIL_FAST",
        "TOLLGATE_RUN_KEY",
        "CI_PIPELINE_ID",
        "GITHUB_RUN_ID",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_ACTIONS",
        "TOLLGATE_STORE",
        "TOLLGATE_STORE_URL",
        "CUDA_VISIBLE_DEVICES",
        "PYTHONPATH",
    ]
    .contains(&name);
    inherited_tool_state || run_identity
}

/// `tollgate` (the binary under test) in `dir`, without the variables of
/// [`steers_tollgate`]; a test sets the ones it means to.
pub fn tollgate_std(dir: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"));
    cmd.current_dir(dir);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if steers_tollgate(&name) {
            cmd.env_remove(&name);
        }
    }
    cmd
}

/// [`tollgate_std`] as a [`Tg`]: an `assert_cmd` command whose every
/// `output()` / `assert()` also checks that no Rust `Debug` dump reached the
/// user ([`assert_no_debug_dump`]).
pub fn tollgate(dir: &Path) -> Tg {
    Tg {
        cmd: assert_cmd::Command::from_std(tollgate_std(dir)),
        args: Vec::new(),
    }
}

/// The tollgate binary as the scenario tests run it: the builder methods of
/// `assert_cmd::Command` they use, and `output()` / `assert()` that fail the
/// test when stdout or stderr holds a `Debug` dump. There is no way around
/// the check: every scenario test that runs tollgate through [`tollgate`]
/// (or [`checked_output`] for a `std` command) gets it.
pub struct Tg {
    cmd: assert_cmd::Command,
    /// The arguments, for the failure message.
    args: Vec<String>,
}

impl Tg {
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.arg(arg);
        }
        self
    }

    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Self {
        self.cmd.env_remove(key);
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn timeout(&mut self, timeout: std::time::Duration) -> &mut Self {
        self.cmd.timeout(timeout);
        self
    }

    pub fn write_stdin(&mut self, buffer: impl Into<Vec<u8>>) -> &mut Self {
        self.cmd.write_stdin(buffer);
        self
    }

    /// Runs it to completion; its output must hold no `Debug` dump.
    pub fn output(&mut self) -> std::io::Result<Output> {
        let out = self.cmd.output()?;
        assert_no_debug_dump(&format!("tollgate {}", self.args.join(" ")), &out);
        Ok(out)
    }

    /// [`Tg::output`] as an `assert_cmd` assertion.
    pub fn assert(&mut self) -> assert_cmd::assert::Assert {
        use assert_cmd::assert::OutputAssertExt;
        self.output().expect("tollgate runs").assert()
    }
}

/// `cmd` (a `std` command running tollgate) to completion; its output must
/// hold no `Debug` dump.
pub fn checked_output(cmd: &mut std::process::Command) -> std::io::Result<Output> {
    let out = cmd.output()?;
    assert_no_debug_dump(&format!("{cmd:?}"), &out);
    Ok(out)
}

/// Rust `Debug` formatting that must never reach a user: a struct dump
/// (`Expired { expires: .. }`, `Os { code: 2, .. }`), a tuple variant or
/// `Option` (`Code(1)`, `Signal(9)`, `Some(..)`), a `PathBuf` or string
/// dump of an error (`Error { kind: .. }`, `Custom { .. }`).
fn debug_dump() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"\b[A-Z][A-Za-z0-9_]* \{ [a-z_][a-z0-9_]*: |\bOs \{ code|\b(Code|Signal|Some|Ok|Err)\([^)]*\)|\bkind: [A-Z][a-z]+",
        )
        .expect("valid regex")
    })
}

/// Fails the test when stdout or stderr of `what` holds a `Debug` dump
/// (see [`debug_dump`]), naming the line.
#[track_caller]
pub fn assert_no_debug_dump(what: &str, out: &Output) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        if let Some(line) = text.lines().find(|l| debug_dump().is_match(l)) {
            panic!(
                "{what}: Debug formatting in its {stream}: {line:?}\n{}",
                describe(out)
            );
        }
    }
}

/// The interpreter with pytest: `TOLLGATE_PYTHON` (set by scripts/test.sh),
/// else the workspace's `.venv`. `None` (test skipped, with a note) when
/// neither works outside CI; under CI a missing interpreter fails the test.
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("TOLLGATE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let works = std::process::Command::new(&candidate)
        .args(["-c", "import pytest"])
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(candidate);
    }
    let message = format!(
        "no Python with pytest at {} (set TOLLGATE_PYTHON, or create the venv: \
         python3 -m venv .venv && .venv/bin/pip install pytest==9.2.0)",
        candidate.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{message}");
    }
    eprintln!("skipping: {message}");
    None
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything about a finished command, for an assertion message.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// `git -C DIR ARGS` with a committer identity and no signing; must succeed.
pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out.stderr));
}

/// `git init` on `main` and one commit of the whole tree.
pub fn git_commit_all(dir: &Path, message: &str) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
}

/// The element of the JSON array `items` whose `name` is `name`.
#[track_caller]
pub fn named<'a>(items: &'a Value, name: &str) -> &'a Value {
    items
        .as_array()
        .into_iter()
        .flatten()
        .find(|item| item["name"] == name)
        .unwrap_or_else(|| panic!("no {name:?} in {items:#}"))
}

/// A job of a plan or `--json` run document.
#[track_caller]
pub fn job<'a>(doc: &'a Value, name: &str) -> &'a Value {
    named(&doc["jobs"], name)
}

/// A check of a gate verdict.
#[track_caller]
pub fn check<'a>(verdict: &'a Value, name: &str) -> &'a Value {
    named(&verdict["checks"], name)
}

/// `tollgate ingest KIND FILE --run RUN --pipeline pr --branch BRANCH
/// --commit RUN-sha --repo-root DIR --store STORE` in `dir`, not started.
pub fn ingest(dir: &Path, kind: &str, file: &Path, run: &str, branch: &str, store: &str) -> Tg {
    let mut cmd = tollgate(dir);
    cmd.args(["ingest", kind])
        .arg(file)
        .args(["--run", run, "--pipeline", "pr", "--branch", branch])
        .args(["--commit", &format!("{run}-sha"), "--store", store])
        .arg("--repo-root")
        .arg(dir);
    cmd
}

/// Writes `text` to `dir/name` (parents created); its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, text).expect("write");
    path
}

/// `dir/name`: LCOV for `source` (100 lines) with its first `covered` lines hit.
pub fn lcov(dir: &Path, name: &str, source: &str, covered: u32) -> PathBuf {
    let mut text = format!("TN:\nSF:{source}\n");
    for line in 1..=100 {
        text.push_str(&format!("DA:{line},{}\n", u32::from(line <= covered)));
    }
    text.push_str("end_of_record\n");
    write(dir, name, &text)
}

/// A JSON array of strings.
#[track_caller]
pub fn strings(array: &Value) -> Vec<String> {
    array
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {array}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_string()
        })
        .collect()
}
