//! Helpers of `run_example.rs`: a private copy of `examples/monorepo` per
//! test, the real `tollgate` binary run in it, and process/file checks.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

/// tollgate's workspace root (canonical: discovery derives ids from paths).
pub fn workspace() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&path).unwrap_or(path)
}

/// One target dir for every copy: the example's crates compile once and
/// stay fresh (copies keep the sources' modification times).
pub fn shared_target_dir() -> PathBuf {
    workspace().join("target/e2e-example")
}

/// The interpreter with pytest: `TOLLGATE_PYTHON` (set by scripts/test.sh),
/// else the workspace's `.venv`. `None` (test skipped, with a note) when
/// neither works outside CI; under CI a missing interpreter fails the test.
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("TOLLGATE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let works = Command::new(&candidate)
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

/// A copy of the example in a temporary directory:
/// `base/monorepo` (the project), `base/tmp` (TMPDIR of tollgate and its
/// children), `base/out` (reports, logs).
pub struct Example {
    _dir: tempfile::TempDir,
    pub base: PathBuf,
    pub root: PathBuf,
}

impl Example {
    /// Copies the example and gives it the interpreter the supported ways: a
    /// `.venv` (what tollgate picks when present, like scripts/example.sh
    /// sets up), or `[run] python` when the interpreter is not a venv's.
    /// `run_options` are extra `[run]` keys (`retries = 1`); with none and a
    /// venv, tollgate.toml stays the example's own.
    pub fn new(run_options: &[&str]) -> Option<Example> {
        let python = python()?;
        let dir = tempfile::Builder::new()
            .prefix("tollgate-run-example-")
            .tempdir()
            .expect("temp dir");
        let base = std::fs::canonicalize(dir.path()).expect("canonical temp dir");
        let root = base.join("monorepo");
        copy_tree(&workspace().join("examples/monorepo"), &root);
        for sub in ["tmp", "out"] {
            std::fs::create_dir_all(base.join(sub)).expect("mkdir");
        }
        let mut run_table: Vec<String> = run_options.iter().map(|s| s.to_string()).collect();
        let venv = python
            .parent()
            .and_then(Path::parent)
            .filter(|v| v.join("pyvenv.cfg").is_file());
        match venv {
            Some(venv) => std::os::unix::fs::symlink(venv, root.join(".venv")).expect("symlink"),
            None => run_table.push(format!("python = {:?}", python.display().to_string())),
        }
        let example = Example {
            _dir: dir,
            base,
            root,
        };
        if !run_table.is_empty() {
            example.append(
                "tollgate.toml",
                &format!("\n[run]\n{}\n", run_table.join("\n")),
            );
        }
        Some(example)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn out(&self, name: &str) -> PathBuf {
        self.base.join("out").join(name)
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }

    pub fn append(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        let mut content = std::fs::read_to_string(&path).expect("read");
        content.push_str(text);
        std::fs::write(&path, content).expect("write");
    }

    /// Adds a Python test module of the planner component, marked so the
    /// `unit` job of the `pr` pipeline selects it.
    pub fn add_planner_unit_tests(&self, flow: &str, body: &str) -> String {
        let rel = format!("components/src/dynamo/planner/tests/test_planner_{flow}.py");
        let text = format!(
            "import os\nimport subprocess\nimport sys\nimport time\n\nimport pytest\n\n\
             pytestmark = [pytest.mark.pre_merge, pytest.mark.unit, pytest.mark.gpu_0, pytest.mark.planner]\n\n{body}"
        );
        self.write(&rel, &text);
        rel
    }

    /// `tollgate ARGS` in the project root, with a controlled environment.
    pub fn tollgate(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        cmd.current_dir(&self.root).args(args);
        // The outer cargo/nextest's variables must not steer the inner ones.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy().into_owned();
            let inherited_tool_state = (name.starts_with("CARGO_") && name != "CARGO_HOME")
                || name.starts_with("NEXTEST")
                || name.starts_with("__NEXTEST")
                || name.starts_with("RUST_TEST");
            let run_identity = [
                "CI_FAIL_FAST",
                "TOLLGATE_RUN_KEY",
                "CI_PIPELINE_ID",
                "GITHUB_RUN_ID",
                "GITHUB_STEP_SUMMARY",
                "CUDA_VISIBLE_DEVICES",
                "PYTHONPATH",
            ]
            .contains(&name.as_str());
            if inherited_tool_state || run_identity {
                cmd.env_remove(&name);
            }
        }
        cmd.env("CARGO_TARGET_DIR", shared_target_dir())
            .env("TMPDIR", self.base.join("tmp"))
            .env("E2E_STATE_DIR", self.base.join("tmp"));
        cmd
    }

    /// Runs tollgate to completion (failing the test if it takes longer than `limit`).
    pub fn run(&self, args: &[&str], limit: Duration) -> Output {
        self.run_cmd(self.tollgate(args), limit)
    }

    pub fn run_cmd(&self, cmd: Command, limit: Duration) -> Output {
        assert_cmd::Command::from_std(cmd)
            .timeout(limit)
            .output()
            .unwrap_or_else(|e| panic!("tollgate did not finish within {limit:?}: {e}"))
    }

    /// The `--json` results written to `out/NAME`.
    pub fn json(&self, name: &str) -> Value {
        let text =
            std::fs::read_to_string(self.out(name)).unwrap_or_else(|e| panic!("no {name}: {e}"));
        serde_json::from_str(&text).expect("--json is JSON")
    }
}

/// Copies the example without local state; modification times are kept so
/// the shared target dir stays fresh for unchanged sources.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let name = entry.file_name();
        let local_state = [
            ".venv",
            ".tollgate",
            "target",
            "__pycache__",
            ".pytest_cache",
        ];
        if local_state.iter().any(|s| name == *s) {
            continue;
        }
        let dest = to.join(&name);
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &dest).expect("copy");
            if let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                let _ = std::fs::File::options()
                    .write(true)
                    .open(&dest)
                    .and_then(|f| f.set_modified(modified));
            }
        }
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything about a failed expectation, for the assertion message.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// The per-test entry of a job in the `--json` document.
pub fn test_report<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|j| j["tests"].as_array().into_iter().flatten())
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no result for {id} in {json:#}"))
}

pub fn job<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no job {name} in {json:#}"))
}

/// Attempt outcomes of a test, in order.
pub fn attempt_outcomes(test: &Value) -> Vec<String> {
    test["attempts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| a["outcome"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// The merged JUnit file parsed by tollgate's own reader (a real XML parser):
/// `(id, outcome, attempt)` per attempt, ids as `<classname>::<name>`.
pub fn junit_attempts(path: &Path) -> Vec<(String, tollgate_results::Outcome, u32)> {
    use tollgate_results::junit::{parse_junit, IdStyle, JunitOptions};
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let options = JunitOptions {
        id_style: IdStyle::Generic,
        ..JunitOptions::default()
    };
    parse_junit(std::io::BufReader::new(file), &options)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
        .into_iter()
        .map(|r| (r.id, r.outcome, r.attempt))
        .collect()
}

/// How a test id appears in the merged JUnit file read with generic ids.
pub fn junit_id(id: &str) -> String {
    let (class, name) = tollgate_run::junit_out::split_case(id);
    if class.is_empty() {
        name.to_string()
    } else {
        format!("{class}::{name}")
    }
}

/// Running (a zombie waiting for its reaper counts as gone).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.split_whitespace().next() != Some("Z"))
    })
}

/// Live processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str()) {
            members.push(pid);
        }
    }
    members
}

/// Waits up to `limit` for `pid` to be gone.
pub fn wait_gone(pid: i32, limit: Duration) -> bool {
    let until = std::time::Instant::now() + limit;
    while alive(pid) {
        if std::time::Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// Reads `KEY=VALUE` lines a test wrote.
pub fn read_pids(path: &Path) -> std::collections::HashMap<String, i32> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Every file under `dir` (symlinks not followed) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let bytes = std::fs::read(entry.path()).unwrap_or_default();
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(entry.path());
                }
            }
        }
    }
    hits
}

/// What [`Example::interrupt_when`] saw.
pub struct Interrupted {
    pub status: std::process::ExitStatus,
    /// From the signal to tollgate's exit.
    pub took: Duration,
    /// The `KEY=VALUE` pids the test wrote.
    pub pids: std::collections::HashMap<String, i32>,
    /// The parent of the test process when the signal was sent.
    pub test_parent: i32,
    /// tollgate's stdout and stderr.
    pub logs: String,
}

impl Example {
    /// Starts `cmd`, waits until a test writes `pid_file` (it is then
    /// running), sends `kill -SIGNAL` to tollgate alone, and waits (30 s at
    /// most) for tollgate to exit.
    pub fn interrupt_when(&self, mut cmd: Command, pid_file: &Path, signal: &str) -> Interrupted {
        let (stdout, stderr) = (self.out("stdout"), self.out("stderr"));
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        let mut child = cmd.spawn().expect("tollgate starts");
        let logs = || {
            format!(
                "--- stdout\n{}\n--- stderr\n{}",
                std::fs::read_to_string(&stdout).unwrap_or_default(),
                std::fs::read_to_string(&stderr).unwrap_or_default()
            )
        };
        let waiting = std::time::Instant::now();
        while !pid_file.exists() {
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!(
                    "tollgate ended ({status}) before the test started\n{}",
                    logs()
                );
            }
            if waiting.elapsed() > Duration::from_secs(600) {
                let _ = child.kill();
                panic!("the test never started\n{}", logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let pids = read_pids(pid_file);
        let test_parent = parent_of(pids["pid"]).unwrap_or(0);
        let sent = std::time::Instant::now();
        let kill = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(kill.success(), "kill -{signal} failed");
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            if sent.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!(
                    "tollgate did not stop within 30 s of SIG{signal}\n{}",
                    logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Interrupted {
            status,
            took: sent.elapsed(),
            pids,
            test_parent,
            logs: logs(),
        }
    }
}

/// The parent pid of a running process.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}
