//! Hostile input and faults (issue 14): each test reproduces one attack on
//! the real binary — in a temporary directory, with loopback servers only,
//! every command bounded in time — and checks that tollgate neither runs the
//! payload, nor leaks the secret, nor hangs, nor damages data.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::{describe, python, text, write};

/// `tollgate ARGS` in `dir` with `env`, bounded to 120 s.
fn tollgate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = common::tollgate(dir);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.timeout(Duration::from_secs(120)).output().unwrap()
}

const TAXONOMY: &str = r#"
[taxonomy.categories.lifecycle]
ordered = true

[taxonomy.categories.lifecycle.markers]
pre_merge = "before merging"

[taxonomy.categories.type.markers]
unit = "unit tests"
"#;

/// A project whose pipeline `pr` runs `jobs` (TOML for `[jobs.*]`, the
/// pipeline lists `names`), with `extra` appended to the config.
fn project(python: Option<&Path>, jobs: &str, names: &[&str], extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let run = match python {
        Some(p) => format!("[run]\npython = \"{}\"\n", p.display()),
        None => String::new(),
    };
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let config = format!(
        "[project]\nname = \"hostile\"\n{run}{TAXONOMY}\n{jobs}\n\
         [pipelines.pr]\nstage = \"pre_merge\"\non = \"pull_request\"\njobs = [{list}]\n{extra}"
    );
    write(dir.path(), "tollgate.toml", &config);
    write(
        dir.path(),
        "pytest.ini",
        "[pytest]\nmarkers =\n    unit: unit tests\n    pre_merge: before merging\n",
    );
    dir
}

// ------------------------------------------------------------ injection

#[test]
fn trigger_variables_and_job_names_are_pasted_as_data_never_as_shell() {
    let jobs = r#"
[variables.MODEL]
type = "string"
default = "none"

[jobs.echo]
stage = 1
commands = ["printf '%s|%s\n' {MODEL} {job} > out.txt", "touch made-by-argv-{MODEL}"]
"#;
    let dir = project(None, jobs, &["echo"], "");
    // From the environment.
    let out = tollgate(
        dir.path(),
        &["run", "--pipeline", "pr", "--no-store"],
        &[("MODEL", "x; touch pwned-env")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(!dir.path().join("pwned-env").exists(), "the payload ran");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "x; touch pwned-env|echo\n"
    );
    // The second command has no shell syntax: an argument vector, one word.
    assert!(dir.path().join("made-by-argv-x; touch pwned-env").exists());

    // From a flag, with command substitution and quotes.
    for payload in [
        "$(touch pwned-flag)",
        "'; touch pwned-flag; '",
        "`touch pwned-flag`",
    ] {
        let out = tollgate(
            dir.path(),
            &[
                "run",
                "--pipeline",
                "pr",
                "--no-store",
                "--var",
                &format!("MODEL={payload}"),
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        assert!(!dir.path().join("pwned-flag").exists(), "{payload} ran");
        let written = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
        assert_eq!(written, format!("{payload}|echo\n"));
    }
    // The plan shows the same quoted command a CI system would run.
    let out = tollgate(
        dir.path(),
        &["plan", "--pipeline", "pr", "--format", "json"],
        &[("MODEL", "x; touch pwned-env")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        text(&out.stdout).contains(r#"printf '%s|%s\n' 'x; touch pwned-env' echo > out.txt"#),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_test_file_name_with_a_newline_cannot_inject_pytest_arguments() {
    let Some(python) = python() else { return };
    let jobs = "[jobs.unit]\nstage = 2\nexpr = \"unit\"\n";
    let dir = project(Some(&python), jobs, &["unit"], "");
    let test =
        "import pytest\n\n@pytest.mark.unit\n@pytest.mark.pre_merge\ndef test_x():\n    pass\n";
    write(dir.path(), "tests/test_ok.py", test);
    write(
        dir.path(),
        "tests/test_evil\n--junitxml=injected.xml\n.py",
        test,
    );
    // `plan` leaves the id out of the args file and says why.
    let out = tollgate(dir.path(), &["plan", "--pipeline", "pr"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    for entry in walk(&dir.path().join(".tollgate")) {
        let contents = std::fs::read_to_string(&entry).unwrap_or_default();
        assert!(!contents.contains("--junitxml"), "{}", entry.display());
    }
    // `run` reports it as an error instead of passing it to pytest.
    let json = dir.path().join("results.json");
    let out = tollgate(
        dir.path(),
        &[
            "run",
            "--pipeline",
            "pr",
            "--no-store",
            "--json",
            json.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        !dir.path().join("injected.xml").exists(),
        "pytest read --junitxml"
    );
    let doc = std::fs::read_to_string(&json).unwrap();
    assert!(doc.contains("cannot be passed to pytest safely"), "{doc}");
    assert!(doc.contains("tests/test_ok.py::test_x"), "{doc}");
}

#[test]
fn lint_fix_never_rewrites_a_file_outside_the_repository() {
    let outside = tempfile::tempdir().unwrap();
    let victim = write(
        outside.path(),
        "test_victim.py",
        "import pytest\n\n@pytest.mark.premerge\ndef test_x():\n    pass\n",
    );
    let before = std::fs::read_to_string(&victim).unwrap();
    let dir = project(
        None,
        "",
        &[],
        "\n[taxonomy.aliases]\npremerge = \"pre_merge\"\n",
    );
    std::fs::create_dir_all(dir.path().join("tests")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("tests/test_link.py")).unwrap();
    let out = tollgate(dir.path(), &["lint", "--fix"], &[]);
    assert!(out.status.code().is_some(), "{}", describe(&out));
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        before,
        "{}",
        describe(&out)
    );
}

// ------------------------------------------------------------ secrets

const HF_TOKEN: &str = "hf_PlSecretValue0123456789abcdef";
const MY_KEY: &str = "plantedkey-XyZ-987654321-qwerty";

/// Every form of the two secrets the test plants, and fragments that any
/// unredacted part (a split form's pieces) would show.
fn leaked_forms() -> Vec<String> {
    let mut forms = Vec::new();
    for secret in [HF_TOKEN, MY_KEY] {
        forms.push(secret.to_string());
        forms.push(b64(secret.as_bytes()));
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        forms.push(hex.to_ascii_uppercase());
        forms.push(hex);
        forms.push(secret[5..20].to_string());
    }
    forms
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out.push(if i <= chunk.len() {
                A[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[track_caller]
fn assert_no_secret(what: &str, haystack: &str) {
    for form in leaked_forms() {
        assert!(
            !haystack.contains(&form),
            "{what} leaks `{form}`:\n{haystack}"
        );
    }
}

/// Every regular file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => out.extend(walk(&path)),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
    out
}

/// The text of every row of every table of the store (both backends).
fn store_dump(location: &str) -> String {
    if location.starts_with("postgres") {
        let mut client = postgres::Client::connect(location, postgres::NoTls).unwrap();
        let tables: Vec<String> = client
            .query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(tables.len() > 3, "no tables in {location}");
        let mut out = String::new();
        for table in tables {
            for row in client
                .query(&format!("SELECT t::text FROM \"{table}\" t"), &[])
                .unwrap()
            {
                out.push_str(&row.get::<_, String>(0));
                out.push('\n');
            }
        }
        out
    } else {
        // The database and its write-ahead log, as bytes.
        let mut out = String::new();
        for suffix in ["", "-wal"] {
            if let Ok(bytes) = std::fs::read(format!("{location}{suffix}")) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        assert!(!out.is_empty(), "no store at {location}");
        out
    }
}

/// A loopback webhook receiver that keeps every request body; it stops
/// with the test process.
struct Webhook {
    url: String,
    bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Webhook {
    fn start() -> Webhook {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(clone) = stream.try_clone() else {
                    continue;
                };
                let mut reader = std::io::BufReader::new(clone);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let mut stream = stream;
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
            }
        });
        Webhook { url, bodies }
    }

    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

#[test]
fn a_planted_secret_appears_nowhere() {
    let Some(python) = python() else { return };
    let jobs = r#"
[variables.HF_TOKEN]
type = "string"
description = "taken from the environment"

[variables.MY_API_KEY]
type = "string"
description = "taken from the environment"

[jobs.leak]
stage = 1
gating = false
commands = ["python3 leak.py {HF_TOKEN} {MY_API_KEY}"]

[jobs.unit]
stage = 2
expr = "unit"
"#;
    let hook = Webhook::start();
    let notify = format!(
        "\n[owners]\nfallback = \"Pavithra\"\n\n[[notify.webhook]]\nurl = \"{}\"\n",
        hook.url
    );
    let dir = project(Some(&python), jobs, &["leak", "unit"], &notify);
    let forms = r#"
import base64, os, sys

def forms(s):
    return [s, base64.b64encode(s.encode()).decode(), s.encode().hex(), s.encode().hex().upper(), s[:5] + "\n" + s[5:]]

def everything():
    out = []
    for name in ("HF_TOKEN", "MY_API_KEY"):
        out += forms(os.environ[name])
    return out
"#;
    write(
        dir.path(),
        "leak.py",
        &format!("{forms}\nfor f in everything() + sys.argv[1:]:\n    print(f)\n    print(repr(f), file=sys.stderr)\nsys.exit(3)\n"),
    );
    write(dir.path(), "tests/leakforms.py", forms);
    write(
        dir.path(),
        "tests/test_leak.py",
        &format!(
            r#"import sys
import pytest

sys.path.insert(0, __import__("os").path.dirname(__file__))
from leakforms import everything


@pytest.mark.unit
@pytest.mark.pre_merge
@pytest.mark.parametrize("token", ["{HF_TOKEN}", "{MY_KEY}"])
def test_ids_hold_secrets(token):
    print(everything())
    assert token == "", repr(everything())


@pytest.mark.unit
@pytest.mark.pre_merge
def test_output_holds_secrets():
    for f in everything():
        print(f)
        print(repr(f), file=sys.stderr)
    raise AssertionError("\n".join(everything()))
"#
        ),
    );
    let tmp = tempfile::tempdir().unwrap();
    let env = [
        ("HF_TOKEN", HF_TOKEN),
        ("MY_API_KEY", MY_KEY),
        ("TMPDIR", tmp.path().to_str().unwrap()),
        ("TOLLGATE_RUN_KEY", "leak-1"),
    ];
    let mut stores = vec![dir.path().join("history.db").display().to_string()];
    let pg = common::stores::locations();
    for location in &pg {
        if location.name() == "postgres" {
            stores.push(location.url());
        }
    }
    for store in &stores {
        let json = dir.path().join("r.json");
        let junit = dir.path().join("r.xml");
        let out = tollgate(
            dir.path(),
            &[
                "run",
                "--pipeline",
                "pr",
                "--store",
                store,
                "--json",
                json.to_str().unwrap(),
                "--junit",
                junit.to_str().unwrap(),
            ],
            &env,
        );
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("[REDACTED]") || stdout.contains("[REDACTED]"),
            "{}",
            describe(&out)
        );
        assert_no_secret("run's stdout", &stdout);
        assert_no_secret("run's stderr", &stderr);
        let json_text = std::fs::read_to_string(&json).unwrap();
        assert!(json_text.contains("test_ids_hold_secrets"), "{json_text}");
        assert_no_secret("--json", &json_text);
        assert_no_secret("--junit", &std::fs::read_to_string(&junit).unwrap());
        let dump = store_dump(store);
        assert!(
            dump.contains("test_ids_hold_secrets"),
            "the store holds the run"
        );
        assert_no_secret(&format!("the store {store}"), &dump);
        // Nothing of the run is left in the temporary directory.
        let left = walk(tmp.path());
        assert!(left.is_empty(), "left behind: {left:?}");
        // The alerts: what `notify` prints and every payload it sends.
        let sent_before = hook.bodies().len();
        let out = tollgate(
            dir.path(),
            &["notify", "--run", "leak-1", "--store", store],
            &env,
        );
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        assert_no_secret("notify's stdout", &text(&out.stdout));
        assert_no_secret("notify's stderr", &text(&out.stderr));
        let bodies = hook.bodies();
        assert!(
            bodies.len() > sent_before,
            "no alert sent: {}",
            describe(&out)
        );
        for body in &bodies[sent_before..] {
            assert!(body.contains("test_"), "{body}");
            assert_no_secret("an alert", body);
        }
        // Everything tollgate wrote into the project (its scratch, logs and
        // args files; the SQLite store was read above).
        for file in walk(&dir.path().join(".tollgate")) {
            if let Ok(bytes) = std::fs::read(&file) {
                assert_no_secret(
                    &file.display().to_string(),
                    &String::from_utf8_lossy(&bytes),
                );
            }
        }
    }
    for format in ["human", "json", "gitlab", "github"] {
        let summary = dir.path().join("summary.md");
        let mut env = env.to_vec();
        let summary_text = summary.display().to_string();
        env.push(("GITHUB_STEP_SUMMARY", &summary_text));
        let out = tollgate(
            dir.path(),
            &["plan", "--pipeline", "pr", "--format", format],
            &env,
        );
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        assert!(
            text(&out.stdout).contains("[REDACTED]"),
            "{format}: {}",
            text(&out.stdout)
        );
        assert_no_secret(&format!("plan --format {format}"), &text(&out.stdout));
        assert_no_secret("plan's stderr", &text(&out.stderr));
        assert_no_secret(
            "the step summary",
            &std::fs::read_to_string(&summary).unwrap_or_default(),
        );
        for file in walk(&dir.path().join(".tollgate")) {
            if file.extension().is_some_and(|e| e == "args") {
                assert_no_secret("an args file", &std::fs::read_to_string(&file).unwrap());
            }
        }
    }
}

// ------------------------------------------------------------ kill -9

/// Live (not zombie) processes whose ancestry leads to `root` (inclusive).
fn descendants(root: i32) -> Vec<i32> {
    let mut parent = std::collections::HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some((ppid, _)) = stat(pid) {
            parent.insert(pid, ppid);
        }
    }
    let mut out = vec![root];
    loop {
        let before = out.len();
        for (&pid, ppid) in &parent {
            if out.contains(ppid) && !out.contains(&pid) {
                out.push(pid);
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// `(ppid, state)` of a live process; `None` for a zombie or a gone one.
fn stat(pid: i32) -> Option<(i32, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    (state != 'Z' && state != 'X').then_some((ppid, state))
}

/// Starts `tollgate run`, waits until `ready` exists, kills it with SIGKILL
/// and checks that none of its processes is alive 5 s later and that its
/// scratch directories are gone.
fn kill_nine_leaves_nothing(dir: &Path, env: &[(&str, &str)], ready: &Path, tmp: &Path) {
    let mut cmd = common::tollgate_std(dir);
    cmd.args(["run", "--pipeline", "pr", "--no-store"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("TMPDIR", tmp);
    cmd.stdout(std::process::Stdio::null());
    cmd.stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(240);
    while !ready.exists() {
        if Instant::now() > until || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("the test never started: {err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Let the scratch directory and the test settle.
    std::thread::sleep(Duration::from_millis(300));
    let tree = descendants(child.id() as i32);
    assert!(
        tree.len() >= 3,
        "tollgate, the reaper and a runner: {tree:?}"
    );
    child.kill().unwrap();
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let alive: Vec<i32> = tree
            .iter()
            .copied()
            .filter(|&p| stat(p).is_some())
            .collect();
        let left = walk(tmp);
        if alive.is_empty() && left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            for &p in &alive {
                unsafe_kill(p);
            }
            panic!("5 s after kill -9: alive {alive:?}, files left {left:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn unsafe_kill(pid: i32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}

#[test]
fn kill_nine_during_a_pytest_job_leaves_no_process_and_no_scratch() {
    let Some(python) = python() else { return };
    let jobs = "[jobs.unit]\nstage = 2\nexpr = \"unit\"\n";
    let dir = project(Some(&python), jobs, &["unit"], "");
    let ready = dir.path().join("started");
    write(
        dir.path(),
        "tests/test_sleep.py",
        &format!(
            "import os, subprocess, time\nimport pytest\n\n@pytest.mark.unit\n@pytest.mark.pre_merge\n\
             def test_sleeps():\n    child = subprocess.Popen(['sleep', '60'], start_new_session=True)\n    \
             open({:?}, 'w').write(str(child.pid))\n    time.sleep(60)\n",
            ready.display().to_string()
        ),
    );
    let tmp = tempfile::tempdir().unwrap();
    kill_nine_leaves_nothing(dir.path(), &[], &ready, tmp.path());
}

#[test]
fn kill_nine_during_a_nextest_job_leaves_no_process_and_no_scratch() {
    if std::process::Command::new("cargo-nextest")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "cargo-nextest is not installed"
        );
        eprintln!("skipping: cargo-nextest is not installed");
        return;
    }
    let jobs = "[jobs.unit]\nstage = 2\nexpr = \"unit\"\n";
    let rules = "\n[[rules]]\nlanguage = \"rust\"\nmarkers = [\"unit\", \"pre_merge\"]\n";
    let dir = project(None, jobs, &["unit"], rules);
    let ready = dir.path().join("started");
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"sleepy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    );
    write(
        dir.path(),
        "src/lib.rs",
        &format!(
            "#[cfg(test)]\nmod tests {{\n    #[test]\n    fn sleeps() {{\n        \
             let child = std::process::Command::new(\"sleep\").arg(\"60\").spawn().unwrap();\n        \
             std::fs::write({:?}, child.id().to_string()).unwrap();\n        \
             std::thread::sleep(std::time::Duration::from_secs(60));\n    }}\n}}\n",
            ready.display().to_string()
        ),
    );
    let target = dir.path().join("target");
    let tmp = tempfile::tempdir().unwrap();
    kill_nine_leaves_nothing(
        dir.path(),
        &[("CARGO_TARGET_DIR", target.to_str().unwrap())],
        &ready,
        tmp.path(),
    );
}

// ------------------------------------------------------------ hangs

/// A loopback server that accepts connections and never answers; it lives
/// as long as the returned guard.
fn silent_server() -> (u16, std::sync::mpsc::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        loop {
            if stopped.try_recv().is_ok() {
                return;
            }
            if let Ok((socket, _)) = listener.accept() {
                held.push(socket);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    (port, stop)
}

#[test]
fn a_postgres_server_that_never_answers_does_not_hang_ingest_or_run() {
    let (port, _guard) = silent_server();
    let dir = tempfile::tempdir().unwrap();
    let junit = write(
        dir.path(),
        "r.xml",
        "<testsuite name=\"s\"><testcase classname=\"t\" name=\"a\"/></testsuite>",
    );
    let started = Instant::now();
    let url = format!("postgres://postgres@127.0.0.1:{port}/test?connect_timeout=2");
    let out = tollgate(
        dir.path(),
        &["ingest", "junit", junit.to_str().unwrap(), "--store", &url],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("no answer"),
        "{}",
        describe(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(60));

    // Without connect_timeout: the default bounds it; `run` still ends and
    // reports the store problem as a warning.
    let jobs = "[jobs.ok]\nstage = 1\ncommands = [\"true\"]\n";
    let project = project(None, jobs, &["ok"], "");
    let url = format!("postgres://postgres@127.0.0.1:{port}/test");
    let out = tollgate(
        project.path(),
        &["run", "--pipeline", "pr", "--store", &url],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("not recorded"),
        "{}",
        describe(&out)
    );
}

/// A loopback "PostgreSQL server" that completes the start-up exchange
/// (authentication ok, a backend key, ready for query) on every connection
/// and then never answers a query; it lives as long as the returned guard.
fn stalling_server() -> (u16, std::sync::mpsc::Sender<()>) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        loop {
            if stopped.try_recv().is_ok() {
                return;
            }
            if let Ok((mut socket, _)) = listener.accept() {
                socket.set_nonblocking(false).unwrap();
                socket
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                // The start-up message: its length, then the rest.
                let mut len = [0u8; 4];
                if socket.read_exact(&mut len).is_ok() {
                    let mut rest = vec![0u8; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
                    if socket.read_exact(&mut rest).is_ok() {
                        let mut reply = Vec::new();
                        reply.extend_from_slice(b"R\0\0\0\x08\0\0\0\0"); // AuthenticationOk
                        reply.extend_from_slice(b"K\0\0\0\x0c\0\0\0\x01\0\0\0\x02"); // BackendKeyData
                        reply.extend_from_slice(b"Z\0\0\0\x05I"); // ReadyForQuery
                        let _ = socket.write_all(&reply);
                    }
                }
                held.push(socket);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    (port, stop)
}

#[test]
fn a_postgres_server_that_stalls_mid_query_does_not_hang_ingest_or_run() {
    let (port, _guard) = stalling_server();
    let dir = tempfile::tempdir().unwrap();
    let junit = write(
        dir.path(),
        "r.xml",
        "<testsuite name=\"s\"><testcase classname=\"t\" name=\"a\"/></testsuite>",
    );
    // The connect timeout is long; the client-side deadline (3 s here) is
    // what ends the wait for an answer to the first query.
    let url = format!("postgres://postgres@127.0.0.1:{port}/test?connect_timeout=600");
    let started = Instant::now();
    let out = tollgate(
        dir.path(),
        &["ingest", "junit", junit.to_str().unwrap(), "--store", &url],
        &[("TOLLGATE_STORE_DEADLINE", "3")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("did not finish the ingest within 3 s"),
        "{}",
        describe(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(60));

    // The end of `run`: the job's result stands, the store gets a warning.
    let jobs = "[jobs.ok]\nstage = 1\ncommands = [\"true\"]\n";
    let project = project(None, jobs, &["ok"], "");
    let started = Instant::now();
    let out = tollgate(
        project.path(),
        &["run", "--pipeline", "pr", "--store", &url],
        &[("TOLLGATE_STORE_DEADLINE", "3")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("not recorded")
            && text(&out.stderr).contains("did not finish the recording of the run within 3 s"),
        "{}",
        describe(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(60));

    // A deadline that is not a number is the user's mistake.
    let out = tollgate(
        dir.path(),
        &["ingest", "junit", junit.to_str().unwrap(), "--store", &url],
        &[("TOLLGATE_STORE_DEADLINE", "soon")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn devices_and_fifos_are_refused_as_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = tollgate(
        dir.path(),
        &["config", "check", "--config", "/dev/zero"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        describe(&out)
    );

    let fifo = dir.path().join("results.xml");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let store = dir.path().join("h.db");
    for kind in ["junit", "coverage", "bench"] {
        let out = tollgate(
            dir.path(),
            &[
                "ingest",
                kind,
                fifo.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{kind}: {}", describe(&out));
        assert!(
            text(&out.stderr).contains("not a regular file"),
            "{}",
            describe(&out)
        );
    }
    // A config that is merely huge is refused before it is read whole.
    let big = dir.path().join("big.toml");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(64 * 1024 * 1024).unwrap();
    let out = tollgate(
        dir.path(),
        &["config", "check", "--config", big.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("larger than"),
        "{}",
        describe(&out)
    );
}

#[test]
fn a_symlink_to_proc_under_the_tests_is_not_walked() {
    let dir = project(None, "", &[], "");
    let test = "def test_x():\n    pass\n";
    write(dir.path(), "tests/test_a.py", test);
    std::os::unix::fs::symlink("/proc", dir.path().join("tests/proc")).unwrap();
    std::os::unix::fs::symlink("/", dir.path().join("tests/root")).unwrap();
    let started = Instant::now();
    let out = tollgate(
        dir.path(),
        &["collect", "--lang", "python", "--format", "ids", "tests"],
        &[],
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{}",
        describe(&out)
    );
    assert_eq!(
        text(&out.stdout).trim(),
        "tests/test_a.py::test_x",
        "{}",
        describe(&out)
    );
    assert!(
        text(&out.stderr).contains("outside the repository"),
        "{}",
        describe(&out)
    );
}

// ------------------------------------------------------------ data

#[test]
fn outputs_that_are_not_regular_files_are_refused_before_any_job_runs() {
    let jobs = "[jobs.mark]\nstage = 1\ncommands = [\"touch ran\"]\n";
    let dir = project(None, jobs, &["mark"], "");
    let victim = write(dir.path(), "victim.txt", "keep");
    std::os::unix::fs::symlink(&victim, dir.path().join("link.json")).unwrap();
    std::fs::create_dir(dir.path().join("reports")).unwrap();
    for (flag, target) in [
        ("--json", "link.json"),
        ("--junit", "reports"),
        ("--junit", "/dev/full"),
        ("--json", "/dev/null"),
    ] {
        let out = tollgate(
            dir.path(),
            &["run", "--pipeline", "pr", "--no-store", flag, target],
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {target}: {}",
            describe(&out)
        );
        assert!(
            text(&out.stderr).contains("not a regular file"),
            "{}",
            describe(&out)
        );
        assert!(
            !dir.path().join("ran").exists(),
            "a job ran before the output was checked"
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    assert!(std::fs::symlink_metadata(dir.path().join("link.json"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn read_commands_never_create_a_store_and_read_a_read_only_one() {
    let jobs = "[jobs.ok]\nstage = 1\ncommands = [\"true\"]\n";
    let dir = project(None, jobs, &["ok"], "");
    let typo = dir.path().join("histroy.db");
    let typo_text = typo.to_str().unwrap();
    let read_commands: [&[&str]; 5] = [
        &["history", "--store", typo_text],
        &["flaky", "--store", typo_text],
        &["report", "--markdown", "--store", typo_text],
        &["metrics", "--store", typo_text],
        &["serve", "--bind", "127.0.0.1:0", "--store", typo_text],
    ];
    for args in read_commands {
        let command = args[0];
        let out = tollgate(dir.path(), args, &[]);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", describe(&out));
        assert!(
            text(&out.stderr).contains("no history store"),
            "{}",
            describe(&out)
        );
        assert!(!typo.exists(), "{command} created {}", typo.display());
    }
    // A real store, then made read-only (file and directory).
    let store_dir = dir.path().join("ro");
    std::fs::create_dir(&store_dir).unwrap();
    let db = store_dir.join("h.db");
    let out = tollgate(
        dir.path(),
        &["run", "--pipeline", "pr", "--store", db.to_str().unwrap()],
        &[("TOLLGATE_RUN_KEY", "ro-1")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    use std::os::unix::fs::PermissionsExt;
    let read_only = |p: &Path, mode| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    for entry in std::fs::read_dir(&store_dir).unwrap().flatten() {
        read_only(&entry.path(), 0o444);
    }
    read_only(&store_dir, 0o555);
    let db_text = db.to_str().unwrap();
    let readers: [&[&str]; 4] = [
        &["history", "--store", db_text],
        &["flaky", "--store", db_text],
        &["report", "--markdown", "--store", db_text],
        &["metrics", "--store", db_text],
    ];
    let outs: Vec<Output> = readers
        .iter()
        .map(|args| tollgate(dir.path(), args, &[]))
        .collect();
    // `serve` on the read-only store answers /metrics.
    let served = serve_metrics(dir.path(), db_text);
    read_only(&store_dir, 0o755);
    for (args, out) in readers.iter().zip(&outs) {
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", describe(out));
        assert!(
            !text(&out.stderr).contains("readonly"),
            "{args:?}: {}",
            describe(out)
        );
    }
    assert!(
        text(&outs[2].stdout).contains("ro-1") || text(&outs[2].stdout).contains("pr"),
        "{}",
        describe(&outs[2])
    );
    assert!(
        text(&outs[3].stdout).contains("tollgate_"),
        "{}",
        describe(&outs[3])
    );
    assert!(served.contains("tollgate_"), "{served}");
}

/// `tollgate serve` on `store` (loopback, any port): the body of its
/// `/metrics`, then the server is killed.
fn serve_metrics(dir: &Path, store: &str) -> String {
    use std::io::{BufRead, Write};
    let mut child = common::tollgate_std(dir)
        .args(["serve", "--bind", "127.0.0.1:0", "--store", store])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let body = (|| {
        let addr = line.split("http://").nth(1)?.split('/').next()?.to_string();
        let mut stream = std::net::TcpStream::connect(&addr).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .ok()?;
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut raw = String::new();
        stream.read_to_string(&mut raw).ok()?;
        Some(raw)
    })();
    let _ = child.kill();
    let _ = child.wait();
    body.unwrap_or_else(|| format!("no answer; serve said {line:?}"))
}

#[test]
fn run_and_ingest_record_one_ci_run_under_one_key() {
    let jobs = "[jobs.ok]\nstage = 1\ncommands = [\"true\"]\n";
    let dir = project(None, jobs, &["ok"], "");
    let db = dir.path().join("h.db");
    let junit = write(
        dir.path(),
        "r.xml",
        "<testsuite name=\"s\"><testcase classname=\"t\" name=\"a\"/></testsuite>",
    );
    for (name, value) in [("CI_PIPELINE_ID", "777123"), ("GITHUB_RUN_ID", "4242")] {
        let env = [(name, value)];
        let out = tollgate(
            dir.path(),
            &["run", "--pipeline", "pr", "--store", db.to_str().unwrap()],
            &env,
        );
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let out = tollgate(
            dir.path(),
            &[
                "ingest",
                "junit",
                junit.to_str().unwrap(),
                "--store",
                db.to_str().unwrap(),
            ],
            &env,
        );
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    }
    let mut store = tollgate_store::Store::open(db.to_str().unwrap()).unwrap();
    for key in ["gitlab-777123", "github-4242-1"] {
        let run = store
            .run(key)
            .unwrap()
            .unwrap_or_else(|| panic!("no run {key}"));
        assert_eq!(run.pipeline, "pr");
    }
    assert!(store.run("777123").unwrap().is_none());
}

// ------------------------------------------------------------ codes

#[test]
fn bad_input_is_a_usage_error_and_passwords_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("h.db");
    let lcov = dir.path().join("cov.info");
    std::fs::write(&lcov, b"TN:\nSF:a\xff\xfe.py\nDA:1,1\nend_of_record\n").unwrap();
    let csv = dir.path().join("bench.csv");
    std::fs::write(&csv, b"metric,value,unit\nlat\xff,1.0,ms\n").unwrap();
    for (kind, file) in [("coverage", &lcov), ("bench", &csv)] {
        let out = tollgate(
            dir.path(),
            &[
                "ingest",
                kind,
                file.to_str().unwrap(),
                "--store",
                store.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{kind}: {}", describe(&out));
    }
    let junit = write(
        dir.path(),
        "r.xml",
        "<testsuite name=\"s\"><testcase classname=\"t\" name=\"a\"/></testsuite>",
    );
    let url = "postgres://postgres@127.0.0.1:notaport/test?password=hunter2secret";
    let out = tollgate(
        dir.path(),
        &["ingest", "junit", junit.to_str().unwrap(), "--store", url],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        !text(&out.stderr).contains("hunter2secret"),
        "{}",
        describe(&out)
    );
    // A reachable-port URL whose server refuses: the password stays hidden too.
    let url = "postgres://nobody:userpw@127.0.0.1:1/test?password=hunter2secret&connect_timeout=2";
    let jobs = "[jobs.ok]\nstage = 1\ncommands = [\"true\"]\n";
    let project = project(None, jobs, &["ok"], "");
    let out = tollgate(project.path(), &["history", "--store", url], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        !text(&out.stderr).contains("hunter2secret"),
        "{}",
        describe(&out)
    );
    assert!(!text(&out.stderr).contains("userpw"), "{}", describe(&out));
}

#[test]
fn a_quarantine_entry_matching_everything_is_refused_and_linted() {
    let jobs = "[jobs.ok]\nstage = 1\ncommands = [\"true\"]\n";
    let dir = project(None, jobs, &["ok"], "");
    write(
        dir.path(),
        ".tollgate/quarantine.toml",
        "[[quarantine]]\nid = \"*\"\nreason = \"make everything pass\"\n",
    );
    for args in [
        &["run", "--pipeline", "pr", "--no-store"][..],
        &["lint"][..],
    ] {
        let out = tollgate(dir.path(), args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", describe(&out));
        assert!(
            text(&out.stderr).contains("every test"),
            "{}",
            describe(&out)
        );
    }
    std::fs::remove_file(dir.path().join(".tollgate/quarantine.toml")).unwrap();
    let out = tollgate(
        dir.path(),
        &["quarantine", "add", "*::*", "--reason", "x"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}

#[test]
fn quarantine_add_refuses_an_expired_entry_and_warns_about_a_pattern_matching_nothing() {
    let jobs = "[jobs.ok]\nstage = 1\ncommands = [\"true\"]\n";
    let dir = project(None, jobs, &["ok"], "");
    write(
        dir.path(),
        "tests/test_app.py",
        "import pytest\n\n\n@pytest.mark.unit\ndef test_one():\n    pass\n",
    );
    let file = dir.path().join(".tollgate/quarantine.toml");
    let id = "tests/test_app.py::test_one";

    // Already past: refused, nothing written.
    let out = tollgate(
        dir.path(),
        &[
            "quarantine",
            "add",
            id,
            "--reason",
            "races",
            "--expires",
            "2020-01-31",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("--expires 2020-01-31: that day is already past"),
        "{}",
        describe(&out)
    );
    assert!(!file.exists(), "an expired entry was written");

    // A pattern matching no collected test: kept, with a warning.
    let typo = "tests/test_ap.py::*";
    let out = tollgate(
        dir.path(),
        &[
            "quarantine",
            "add",
            typo,
            "--reason",
            "races",
            "--expires",
            "2099-12-31",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains(&format!("warning: {typo} matches none of the 1 tests")),
        "{}",
        describe(&out)
    );
    assert!(std::fs::read_to_string(&file).unwrap().contains(typo));

    // A pattern that matches: no warning.
    let out = tollgate(
        dir.path(),
        &[
            "quarantine",
            "add",
            id,
            "--reason",
            "races",
            "--expires",
            "2099-12-31",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(!text(&out.stderr).contains("warning"), "{}", describe(&out));
}

#[test]
fn a_bad_cron_schedule_and_an_empty_expression_fail_config_check() {
    for (extra, needle) in [
        ("[pipelines.nightly]\nstage = \"pre_merge\"\non = \"schedule\"\nschedule = \"not a cron\"\njobs = [\"ok\"]\n", "cron"),
        ("[budgets.all]\nexpr = \"\"\nlimit = \"10m\"\n", "empty marker expression"),
    ] {
        let jobs = "[jobs.ok]\nstage = 1\ncommands = [\"true\"]\n";
        let dir = project(None, jobs, &["ok"], extra);
        let out = tollgate(dir.path(), &["config", "check"], &[]);
        assert_eq!(out.status.code(), Some(2), "{extra}: {}", describe(&out));
        assert!(text(&out.stderr).contains(needle) || text(&out.stdout).contains(needle), "{}", describe(&out));
    }
    let jobs = "[jobs.ok]\nstage = 1\nexpr = \"\"\n";
    let dir = project(None, jobs, &["ok"], "");
    let out = tollgate(dir.path(), &["config", "check"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
}
