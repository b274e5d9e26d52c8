//! Helpers of `run_example.rs`: a private copy of `examples/monorepo` per
//! test, the real `tollgate` binary run in it, and process/file checks.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use tollgate_results::Outcome;

pub use crate::common::copy::copy_tree;
pub use crate::common::{describe, git_commit_all, job, python, text, workspace};

/// Generous: the first test to run may build the example's crates.
pub const LIMIT: Duration = Duration::from_secs(600);

/// One target dir for every copy: the example's crates compile once and
/// stay fresh (copies keep the sources' modification times).
pub fn shared_target_dir() -> PathBuf {
    workspace().join("target/e2e-example")
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
        copy_tree(&crate::common::example_root(), &root);
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

    /// [`Example::new`] with a planner test module of `body` added (see
    /// [`Example::add_planner_unit_tests`]): the copy and the module's path.
    pub fn with_unit_tests(
        run_options: &[&str],
        flow: &str,
        body: &str,
    ) -> Option<(Example, String)> {
        let example = Example::new(run_options)?;
        let file = example.add_planner_unit_tests(flow, body);
        Some((example, file))
    }

    /// `tollgate ARGS` in the project root, with a controlled environment
    /// (see `common::tollgate_std`) and the scratch space inside the copy.
    pub fn tollgate(&self, args: &[&str]) -> Command {
        let mut cmd = crate::common::tollgate_std(&self.root);
        cmd.args(args)
            .env("CARGO_TARGET_DIR", shared_target_dir())
            .env("TMPDIR", self.base.join("tmp"))
            .env("E2E_STATE_DIR", self.base.join("tmp"));
        cmd
    }

    /// Runs tollgate to completion (failing the test if it takes longer than `limit`).
    pub fn run(&self, args: &[&str], limit: Duration) -> Output {
        self.run_cmd(self.tollgate(args), limit)
    }

    pub fn run_cmd(&self, cmd: Command, limit: Duration) -> Output {
        let what = format!("{cmd:?}");
        let out = assert_cmd::Command::from_std(cmd)
            .timeout(limit)
            .output()
            .unwrap_or_else(|e| panic!("tollgate did not finish within {limit:?}: {e}"));
        crate::common::assert_no_debug_dump(&what, &out);
        out
    }

    /// The `--json` results written to `out/NAME`.
    pub fn json(&self, name: &str) -> Value {
        read_json(&self.out(name))
    }

    /// `tollgate ARGS`, which must succeed within [`LIMIT`]: its stdout as JSON.
    #[track_caller]
    pub fn json_output(&self, args: &[&str]) -> Value {
        let out = self.run(args, LIMIT);
        assert!(
            out.status.success(),
            "tollgate {args:?}: {}",
            describe(&out)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("tollgate {args:?} prints no JSON: {e}"))
    }

    /// Replaces the first `from` in the file `rel` by `to`; `from` must be there.
    #[track_caller]
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(rel)).expect("read");
        assert!(text.contains(from), "{rel} no longer contains {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// `out/run.json` and `out/run.xml`.
    pub fn reports(&self) -> Reports {
        Reports {
            json: self.out("run.json"),
            junit: self.out("run.xml"),
        }
    }

    /// `tollgate run ARGS --json .. --junit ..` (not started: a test may add
    /// to its environment or interrupt it).
    pub fn run_command(&self, args: &[&str], reports: &Reports) -> Command {
        let mut cmd = self.tollgate(&["run"]);
        cmd.args(args)
            .arg("--json")
            .arg(&reports.json)
            .arg("--junit")
            .arg(&reports.junit);
        cmd
    }

    /// Runs `cmd` (from [`Example::run_command`] with `reports`) within
    /// [`LIMIT`]; it must exit with `code`.
    #[track_caller]
    pub fn finish(&self, cmd: Command, reports: &Reports, code: i32) -> Finished {
        let started = std::time::Instant::now();
        let out = self.run_cmd(cmd, LIMIT);
        let took = started.elapsed();
        assert_eq!(out.status.code(), Some(code), "{}", describe(&out));
        Finished {
            run: read_json(&reports.json),
            junit: reports.junit.clone(),
            out,
            took,
        }
    }

    /// `tollgate run ARGS` with the reports in `out/`; it must exit with `code`.
    #[track_caller]
    pub fn run_expecting(&self, args: &[&str], code: i32) -> Finished {
        let reports = self.reports();
        self.finish(self.run_command(args, &reports), &reports, code)
    }
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("no {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}

/// Where `tollgate run` writes its `--json` and `--junit` reports.
pub struct Reports {
    pub json: PathBuf,
    pub junit: PathBuf,
}

/// A finished `tollgate run`: its output, its `--json` document, its JUnit file.
pub struct Finished {
    pub out: Output,
    pub run: Value,
    pub junit: PathBuf,
    /// From the start to the exit.
    pub took: Duration,
}

impl Finished {
    pub fn stdout(&self) -> String {
        text(&self.out.stdout)
    }

    /// The summary table's rows by job.
    pub fn rows(&self) -> BTreeMap<String, Vec<String>> {
        summary_rows(&self.stdout())
    }

    /// The job `name`: its status is `status`, its counts have `counts`, and
    /// its summary row shows all its `--json` counts.
    #[track_caller]
    pub fn assert_job(&self, name: &str, status: &str, counts: &[(&str, u64)]) -> &Value {
        let job = job(&self.run, name);
        assert_eq!(job["status"], status, "{name}: {job:#}");
        for (key, n) in counts {
            assert_eq!(job["counts"][key], *n, "{name}: {key}: {job:#}");
        }
        assert_row_matches(&self.rows(), job);
        job
    }

    /// The per-test entry of `id` in the `--json` document.
    #[track_caller]
    pub fn test(&self, id: &str) -> &Value {
        test_report(&self.run, id)
    }

    /// The `(outcome, attempt)` of every attempt of `id` in the JUnit file.
    pub fn junit_of(&self, id: &str) -> Vec<(Outcome, u32)> {
        let wanted = junit_id(id);
        junit_attempts(&self.junit)
            .into_iter()
            .filter(|(jid, _, _)| *jid == wanted)
            .map(|(_, o, n)| (o, n))
            .collect()
    }
}

/// The columns of the summary table, in order.
pub const SUMMARY_COLUMNS: [&str; 12] = [
    "job", "status", "pass", "fail", "t/o", "flaky", "skip", "quar", "not run", "time", "peak rss",
    "budget",
];

/// The summary table's rows by job: the cells after the job name, split on
/// runs of 2+ spaces (cells are separated by two spaces at least).
pub fn summary_rows(stdout: &str) -> BTreeMap<String, Vec<String>> {
    let mut lines = stdout.lines();
    let header = lines
        .by_ref()
        .find(|l| l.starts_with("job "))
        .unwrap_or_else(|| panic!("no summary table header in:\n{stdout}"));
    let columns: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(columns, SUMMARY_COLUMNS, "summary header: {header}");
    let mut rows = BTreeMap::new();
    for line in lines {
        let cells: Vec<String> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        // Rows have a cell per column (the budget may be the last, `-`).
        if cells.len() == SUMMARY_COLUMNS.len() {
            rows.insert(cells[0].clone(), cells[1..].to_vec());
        }
    }
    rows
}

/// Asserts a job's row shows the counts of the `--json` document.
#[track_caller]
pub fn assert_row_matches(rows: &BTreeMap<String, Vec<String>>, json_job: &Value) {
    let name = json_job["name"].as_str().unwrap_or_default();
    let row = rows
        .get(name)
        .unwrap_or_else(|| panic!("no summary row for {name}: {rows:?}"));
    let counts = &json_job["counts"];
    for (i, key) in [
        "passed",
        "failed",
        "timed_out",
        "flaky",
        "skipped",
        "quarantined",
        "not_run",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(
            row[i + 1],
            counts[key].to_string(),
            "{name}: `{}` column vs --json counts {counts}",
            SUMMARY_COLUMNS[i + 2]
        );
    }
}

/// A job of a later stage that a failed gating build kept from starting:
/// skipped, no test, no process, `skipped` in the summary table.
#[track_caller]
pub fn assert_never_started(job: &Value, rows: &BTreeMap<String, Vec<String>>) {
    assert_eq!(job["status"], "skipped", "{job:#}");
    assert_eq!(job["tests"].as_array().map(Vec::len), Some(0), "{job:#}");
    assert_eq!(
        job["processes"].as_array().map(Vec::len),
        Some(0),
        "{job:#}"
    );
    let name = job["name"].as_str().unwrap_or_default();
    assert_eq!(rows[name][0], "skipped", "{name}: {:?}", rows[name]);
}

/// The message of an attempt (`""` without one).
pub fn message(attempt: &Value) -> &str {
    attempt["message"].as_str().unwrap_or_default()
}

/// The first object in `value` (searched depth-first) whose `key` is `wanted`.
pub fn find_object<'a>(value: &'a Value, key: &str, wanted: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => {
            if map.get(key).and_then(Value::as_str) == Some(wanted) {
                return Some(value);
            }
            map.values().find_map(|v| find_object(v, key, wanted))
        }
        Value::Array(items) => items.iter().find_map(|v| find_object(v, key, wanted)),
        _ => None,
    }
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

/// `pid` is gone within 5 s.
#[track_caller]
pub fn assert_gone(pid: i32, what: &str) {
    assert!(
        wait_gone(pid, Duration::from_secs(5)),
        "{what} {pid} survived"
    );
}

/// No orphan of a test that wrote `pid`, `child` and `pgid` (see
/// [`read_pids`]): the test process, its child and its whole group are gone.
#[track_caller]
pub fn assert_no_orphans(pids: &HashMap<String, i32>, what: &str) {
    for key in ["pid", "child"] {
        assert_gone(pids[key], &format!("{what}: {key}"));
    }
    assert_eq!(
        group_members(pids["pgid"]),
        Vec::<i32>::new(),
        "{what}: group survived"
    );
}

/// Reads `KEY=VALUE` lines a test wrote.
pub fn read_pids(path: &Path) -> HashMap<String, i32> {
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
    pub pids: HashMap<String, i32>,
    /// The parent of the test process when the signal was sent.
    pub test_parent: i32,
    /// tollgate's stdout and stderr.
    pub logs: String,
}

impl Interrupted {
    /// tollgate exited with 3 (interrupted) within 10 s of the signal.
    #[track_caller]
    pub fn assert_prompt_exit(&self, what: &str) {
        assert_eq!(
            self.status.code(),
            Some(3),
            "{what}: {}\n{}",
            self.status,
            self.logs
        );
        assert!(
            self.took < Duration::from_secs(10),
            "{what}: stopped after {:?}",
            self.took
        );
    }
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
