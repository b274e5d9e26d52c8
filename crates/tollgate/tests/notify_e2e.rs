//! Alerts end to end, against real servers on loopback that stop with the
//! test: a webhook receiver and a GitHub issues API (small HTTP servers in
//! this file) and a real SMTP server (Python's `aiosmtpd`, from the test
//! venv that `scripts/test.sh` makes, or `$TOLLGATE_PYTHON`; missing, the
//! tests that need it fail and say how to install it). Results reach the
//! store through `tollgate ingest`; alerts go out through `tollgate notify`
//! and `tollgate gate`.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

// ------------------------------------------------------------------ HTTP

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    body: String,
}

type Handler = Box<dyn Fn(&Request) -> (u16, String) + Send + Sync>;

/// A loopback HTTP/1.1 server recording every request; stops when dropped.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(handler: Handler) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &handler, &r),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => break,
                }
            }
        });
        Server {
            url,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let request = Request {
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, answer) = handler(&request);
    log.lock().unwrap().push(request);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

fn webhook_server() -> Server {
    Server::start(Box::new(|_| (200, "ok".into())))
}

/// The GitHub issues endpoints tollgate uses, over an in-memory repository.
#[derive(Default)]
struct Issues {
    issues: Vec<Value>,
    comments: BTreeMap<u64, Vec<String>>,
    reopened: u32,
    closed: u32,
}

fn github_server(state: Arc<Mutex<Issues>>) -> Server {
    Server::start(Box::new(move |r| {
        let mut s = state.lock().unwrap();
        let path = r.path.split('?').next().unwrap_or("");
        let query = r.path.split_once('?').map_or("", |q| q.1);
        let rest = path.strip_prefix("/repos/acme/app/issues").unwrap_or("!");
        match (r.method.as_str(), rest) {
            ("GET", "") => {
                let page: usize = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("page="))
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let list: Vec<Value> = if page == 1 {
                    s.issues.clone()
                } else {
                    Vec::new()
                };
                (200, Value::Array(list).to_string())
            }
            ("POST", "") => {
                let body: Value = serde_json::from_str(&r.body).unwrap();
                let number = s.issues.len() as u64 + 1;
                let issue = json!({"number": number, "state": "open", "title": body["title"], "body": body["body"]});
                s.issues.push(issue.clone());
                (201, issue.to_string())
            }
            ("POST", tail) if tail.ends_with("/comments") => {
                let n: u64 = tail
                    .trim_start_matches('/')
                    .trim_end_matches("/comments")
                    .parse()
                    .unwrap();
                let body: Value = serde_json::from_str(&r.body).unwrap();
                s.comments
                    .entry(n)
                    .or_default()
                    .push(body["body"].as_str().unwrap().to_string());
                (201, json!({"id": 1}).to_string())
            }
            ("PATCH", tail) => {
                let n: usize = tail.trim_start_matches('/').parse().unwrap();
                let body: Value = serde_json::from_str(&r.body).unwrap();
                s.issues[n - 1]["state"] = body["state"].clone();
                match body["state"].as_str() {
                    Some("open") => s.reopened += 1,
                    Some("closed") => s.closed += 1,
                    other => panic!("PATCH with state {other:?}"),
                }
                (200, s.issues[n - 1].to_string())
            }
            _ => (404, json!({"message": "Not Found"}).to_string()),
        }
    }))
}

// ------------------------------------------------------------------ SMTP

/// A real SMTP server (`aiosmtpd`) writing each message to a file.
struct Smtp {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Smtp {
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect()
    }
}

const SMTP_SERVER: &str = r#"
import asyncio, pathlib, sys, uuid
from aiosmtpd.controller import Controller

out = pathlib.Path(sys.argv[1])

class Save:
    async def handle_DATA(self, server, session, envelope):
        name = out / f"{len(list(out.glob('*.eml'))):04d}-{uuid.uuid4().hex}.tmp"
        name.write_bytes(envelope.content)
        name.rename(name.with_suffix(".eml"))
        return "250 OK"

controller = Controller(Save(), hostname="127.0.0.1", port=int(sys.argv[2]))
controller.start()
print("READY", flush=True)
sys.stdin.read()  # until the test closes our stdin (or kills us)
controller.stop()
"#;

fn python() -> PathBuf {
    std::env::var_os("TOLLGATE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"))
}

/// Starts aiosmtpd on a free loopback port.
///
/// aiosmtpd is required: an earlier version fell back to "no SMTP server"
/// when it was not importable (a fresh clone without `.venv`, or a venv
/// still being installed) yet left `[notify.email]` pointing at a dead
/// port, so the tests that expect delivery failed with "cannot reach
/// smtp://127.0.0.1:…: Connection refused". Now a missing aiosmtpd is a
/// clear failure. The port is chosen by binding port 0 and releasing it, so
/// another process may take it before aiosmtpd binds: then aiosmtpd exits
/// without `READY` and another port is tried. `READY` is printed after
/// `Controller.start()`, which returns once the server answers a connection.
fn smtp_server() -> Smtp {
    let python = python();
    let probe = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        panic!(
            "aiosmtpd is not importable by {} ({}); run scripts/test.sh, or \
             `python3 -m venv .venv && .venv/bin/pip install pytest aiosmtpd`, or set TOLLGATE_PYTHON",
            python.display(),
            match &probe {
                Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
                Err(e) => e.to_string(),
            }
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("smtp_server.py");
    std::fs::write(&script, SMTP_SERVER).unwrap();
    let mut last_error = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(dir.path())
            .arg(port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start aiosmtpd");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        if ready.trim() == "READY" {
            return Smtp { child, port, dir };
        }
        let _ = child.kill();
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let _ = child.wait();
        last_error = err;
    }
    panic!("aiosmtpd did not start on any of 5 ports; last error:\n{last_error}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ------------------------------------------------------------------ project

const HF_SECRET: &str = "hf_plantedSecretValue0123456789abcdefXYZ";
const GH_SECRET: &str = "ghp_plantedGithubToken0123456789abcdefghijkl";

fn config(webhook: &str, github: &str, extra: &str) -> String {
    format!(
        r#"
[components.router]
paths = ["tests/router/**"]
owner = "Rudy"
[components.kvbm]
paths = ["tests/kvbm/**"]
owner = "Ryan"

[owners]
fallback = "Pavithra"
[owners.ci_areas]
test_fail = "Pavithra"
infra_fail = "Meenakshi"
reporting = "Priya"
[owners.contacts.Rudy]
email = "rudy@example.com"
[owners.contacts.Ryan]
email = "ryan@example.com"
[owners.contacts.Priya]
email = "priya@example.com"

[gates.ci]
critical_failures = "block"
[gates.soft]
critical_failures = "alert"
[gates.cov]
coverage_drop = {{ max_points = 2.0, action = "block" }}

[run.redact]
env = ["HF_TOKEN"]
patterns = ["gh[pousr]_[A-Za-z0-9]{{36,}}"]

[notify]
dedup = "1h"
{extra}

[[notify.webhook]]
url = "{webhook}"

[notify.email]
to = ["ci@example.com"]
from = "tollgate@example.com"
smtp_url_env = "TEST_SMTP_URL"

[notify.github_issue]
repo = "acme/app"
api_url = "{github}"
token_env = "TEST_GH_TOKEN"
labels = ["ci-failure"]
"#
    )
}

struct Project {
    dir: tempfile::TempDir,
    smtp_url: String,
}

fn project(config_text: &str, smtp_port: u16) -> Project {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tollgate.toml"), config_text).unwrap();
    Project {
        dir,
        smtp_url: format!("smtp://127.0.0.1:{smtp_port}"),
    }
}

/// A failure case: (classname, name, message, text).
type Case = (String, String, String, String);

/// 40 failures in 3 clusters: 25 router tests on one broken fixture, 10
/// router tests on one KeyError (both Rudy's), 5 kvbm tests on one panic
/// (Ryan's). Every traceback carries planted secrets and varying numbers.
fn forty(include_kvbm: bool) -> Vec<Case> {
    let mut cases = Vec::new();
    for i in 0..25 {
        cases.push((
            "tests.router.test_route".to_string(),
            format!("test_route_{i}"),
            "RuntimeError: pool exhausted".to_string(),
            format!("tests/router/conftest.py:{}: in pool\n    return Pool(token='{HF_SECRET}')\nE   RuntimeError: pool exhausted after {i} leases at 0x7f{i:04x} (auth {GH_SECRET})", 10 + i),
        ));
    }
    for i in 0..10 {
        cases.push((
            "tests.router.test_config".to_string(),
            format!("test_config_{i}"),
            "KeyError: 'model_name'".to_string(),
            format!("tests/router/test_config.py:{i}: in test_config_{i}\n    cfg['model_name']\nE   KeyError: 'model_name'"),
        ));
    }
    if include_kvbm {
        for i in 0..5 {
            cases.push((
                "tests.kvbm.test_offload".to_string(),
                format!("test_offload_{i}"),
                "AssertionError".to_string(),
                format!("tests/kvbm/test_offload.py:{}: in test_offload_{i}\nE   AssertionError: expected {i} blocks offloaded, got 0 (HF_TOKEN={HF_SECRET})", 40 + i),
            ));
        }
    }
    cases
}

fn junit(cases: &[Case]) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
    };
    let mut xml = format!(
        "<testsuites><testsuite name=\"pytest\" tests=\"{}\">",
        cases.len() + 1
    );
    for (class, name, message, text) in cases {
        xml.push_str(&format!(
            "<testcase classname=\"{}\" name=\"{}\" time=\"0.1\"><failure message=\"{}\">{}</failure></testcase>",
            esc(class), esc(name), esc(message), esc(text)
        ));
    }
    xml.push_str("<testcase classname=\"tests.router.test_ok\" name=\"test_ok\" time=\"0.1\"/></testsuite></testsuites>");
    xml
}

fn tollgate(p: &Project, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    cmd.current_dir(p.dir.path())
        .args(args)
        .env("TEST_SMTP_URL", &p.smtp_url)
        .env("TEST_GH_TOKEN", "test-token")
        .env("HF_TOKEN", HF_SECRET)
        .env_remove("CI_PIPELINE_ID");
    cmd
}

/// `out` of tollgate, which must exit with `code` and show no `Debug` dump.
fn ok(out: Output, what: &str, code: i32) -> Output {
    common::assert_no_debug_dump(what, &out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ingest(p: &Project, run: &str, cases: &[Case]) {
    let file = p.dir.path().join(format!("{run}.xml"));
    std::fs::write(&file, junit(cases)).unwrap();
    ingest_file(p, "junit", &file, run, "nightly", "main");
}

/// `tollgate ingest KIND FILE` as one complete run.
fn ingest_file(p: &Project, kind: &str, file: &Path, run: &str, pipeline: &str, branch: &str) {
    let out = tollgate(
        p,
        &[
            "ingest",
            kind,
            file.to_str().unwrap(),
            "--run",
            run,
            "--pipeline",
            pipeline,
            "--branch",
            branch,
            "--commit",
            &format!("c-{run}"),
            "--complete",
        ],
    )
    .output()
    .unwrap();
    ok(out, "ingest", 0);
}

/// An LCOV report of one 100-line file with `covered` lines covered.
fn lcov(p: &Project, name: &str, covered: u32) -> PathBuf {
    let mut text = "TN:\nSF:app/core.py\n".to_string();
    for line in 1..=100 {
        text.push_str(&format!("DA:{line},{}\n", u32::from(line <= covered)));
    }
    text.push_str("end_of_record\n");
    let path = p.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The configuration without its e-mail channel.
fn without_email(text: &str) -> String {
    let from = text.find("[notify.email]").unwrap();
    let to = text.find("[notify.github_issue]").unwrap();
    format!("{}{}", &text[..from], &text[to..])
}

fn notify(p: &Project, run: &str) -> Output {
    ok(
        tollgate(p, &["notify", "--run", run]).output().unwrap(),
        "notify",
        0,
    )
}

fn no_secrets(texts: &[String]) {
    for t in texts {
        assert!(
            !t.contains(HF_SECRET),
            "planted HF token in a payload:\n{t}"
        );
        assert!(
            !t.contains(GH_SECRET),
            "planted GitHub token in a payload:\n{t}"
        );
        assert!(
            !t.contains("plantedSecret") && !t.contains("plantedGithub"),
            "part of a planted secret in:\n{t}"
        );
    }
}

// ------------------------------------------------------------------ tests

#[test]
fn one_message_per_owner_nothing_new_on_repeat_one_resolve_and_no_secrets() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let smtp = smtp_server();
    let p = project(
        &config(&format!("{}/hook/SECRETPATH", hook.url), &gh.url, ""),
        smtp.port,
    );

    ingest(&p, "r1", &forty(true));
    // triage sees the three clusters and their owners.
    let out = ok(
        tollgate(
            &p,
            &["triage", "--run", "r1", "--format", "json", "--no-collect"],
        )
        .output()
        .unwrap(),
        "triage",
        1,
    );
    let triage: Value = serde_json::from_slice(&out.stdout).unwrap();
    let clusters = triage["clusters"].as_array().unwrap();
    assert_eq!(triage["failures"], 40);
    assert_eq!(clusters.len(), 3, "{triage:#}");
    let sizes: Vec<(u64, &str)> = clusters
        .iter()
        .map(|c| {
            (
                c["tests"].as_array().unwrap().len() as u64,
                c["owner"]["owners"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(sizes, [(25, "Rudy"), (10, "Rudy"), (5, "Ryan")]);
    no_secrets(&[String::from_utf8_lossy(&out.stdout).into_owned()]);

    notify(&p, "r1");
    let posts = hook.requests();
    assert_eq!(posts.len(), 2, "one webhook message per owner: {posts:#?}");
    assert!(posts
        .iter()
        .all(|r| r.method == "POST" && r.path == "/hook/SECRETPATH"));
    let rudy = posts
        .iter()
        .find(|r| r.body.contains("for Rudy"))
        .expect("Rudy's message");
    assert!(rudy.body.contains("2 failing clusters"), "{}", rudy.body);
    assert!(
        rudy.body.contains("25 failures in 25 tests"),
        "{}",
        rudy.body
    );
    assert!(
        rudy.body.contains("10 failures in 10 tests"),
        "{}",
        rudy.body
    );
    // The excerpt (which held the planted secrets) went out, redacted.
    assert!(rudy.body.contains("[REDACTED]"), "{}", rudy.body);
    assert!(posts
        .iter()
        .any(|r| r.body.contains("1 failing cluster for Ryan")));
    {
        let s = gh_state.lock().unwrap();
        assert_eq!(s.issues.len(), 3, "one issue per cluster");
        assert!(s.comments.is_empty());
        for issue in &s.issues {
            assert!(issue["body"]
                .as_str()
                .unwrap()
                .starts_with("tollgate-fingerprint: "));
        }
    }
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "one e-mail per owner");
    assert!(mails.iter().any(|m| m.contains("rudy@example.com")));
    assert!(mails.iter().any(|m| m.contains("ryan@example.com")));

    // The same failures again: nothing new anywhere (repeat interval 1h).
    ingest(&p, "r2", &forty(true));
    let out = notify(&p, "r2");
    assert_eq!(
        hook.requests().len(),
        2,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(gh_state.lock().unwrap().issues.len(), 3);
    assert!(gh_state.lock().unwrap().comments.is_empty());
    assert_eq!(smtp.messages().len(), 2);
    // Re-running notify for the same run sends nothing either.
    notify(&p, "r1");
    assert_eq!(hook.requests().len(), 2);

    // kvbm fixed: one resolve notice (to Ryan), nothing else.
    ingest(&p, "r3", &forty(false));
    notify(&p, "r3");
    let posts = hook.requests();
    assert_eq!(posts.len(), 3, "{posts:#?}");
    assert!(
        posts[2].body.contains("1 cluster resolved for Ryan"),
        "{}",
        posts[2].body
    );
    {
        let s = gh_state.lock().unwrap();
        assert_eq!(s.issues.len(), 3);
        let comments: Vec<&String> = s.comments.values().flatten().collect();
        assert_eq!(comments.len(), 1, "{comments:#?}");
        assert!(comments[0].starts_with("Resolved"));
        assert_eq!(s.closed, 1, "the resolved cluster's issue is closed");
        assert_eq!(
            s.issues.iter().filter(|i| i["state"] == "closed").count(),
            1
        );
    }
    assert_eq!(smtp.messages().len(), 3);
    // Still fixed: the resolve is not sent again.
    ingest(&p, "r4", &forty(false));
    notify(&p, "r4");
    assert_eq!(hook.requests().len(), 3);
    assert_eq!(smtp.messages().len(), 3);
    assert_eq!(
        gh_state.lock().unwrap().comments.values().flatten().count(),
        1
    );

    // No planted secret in any payload that left tollgate.
    let mut all: Vec<String> = hook.requests().into_iter().map(|r| r.body).collect();
    all.extend(gh.requests().into_iter().map(|r| r.body));
    all.extend(smtp.messages());
    assert!(all.len() >= 3 + 4 + 3);
    no_secrets(&all);
}

#[test]
fn eight_concurrent_shards_send_one_alert() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let smtp = smtp_server();
    let p = project(&config(&hook.url, &gh.url, ""), smtp.port);
    let cases: Vec<Case> = forty(false).into_iter().take(25).collect();
    ingest(&p, "r1", &cases);
    let children: Vec<Child> = (0..8)
        .map(|_| {
            tollgate(&p, &["notify", "--run", "r1"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        ok(c.wait_with_output().unwrap(), "shard notify", 0);
    }
    assert_eq!(hook.requests().len(), 1, "{:#?}", hook.requests());
    assert_eq!(gh_state.lock().unwrap().issues.len(), 1);
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn ten_runs_one_github_issue_with_comments_reopened_at_most_once() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    // Repeat at once: every run reports again.
    let text = config(&hook.url, &gh.url, "").replace("dedup = \"1h\"", "dedup = \"0s\"");
    let p = project(&without_email(&text), free_port());
    let one: Vec<Case> = forty(false).into_iter().skip(25).collect();
    for run in 1..=10 {
        ingest(&p, &format!("r{run}"), &one);
        let out = notify(&p, &format!("r{run}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        if run > 1 {
            assert!(
                stdout.contains("sent firing:Rudy"),
                "a repeat each run: {stdout}"
            );
        }
        let mut s = gh_state.lock().unwrap();
        // A person closes the issue after runs 4 and 6.
        if run == 4 || run == 6 {
            s.issues[0]["state"] = json!("closed");
        }
    }
    let s = gh_state.lock().unwrap();
    assert_eq!(s.issues.len(), 1, "never duplicated");
    assert_eq!(
        s.comments.get(&1).map_or(0, Vec::len),
        9,
        "commented on every later run"
    );
    assert_eq!(s.reopened, 1, "reopened once, not in a loop");
    assert_eq!(s.closed, 0, "tollgate closes only on a resolve");
    assert_eq!(
        s.issues[0]["state"], "closed",
        "closed again by a person, it stays closed"
    );
    assert_eq!(hook.requests().len(), 10);
}

#[test]
fn a_flapping_cluster_keeps_one_issue_closed_once_and_reopened_once() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let text = config(&hook.url, &gh.url, "").replace("dedup = \"1h\"", "dedup = \"0s\"");
    let p = project(&without_email(&text), free_port());
    let one: Vec<Case> = forty(false).into_iter().skip(25).collect();
    // Fails in odd runs, passes in even ones.
    for run in 1..=10 {
        let cases = if run % 2 == 1 {
            one.clone()
        } else {
            Vec::new()
        };
        ingest(&p, &format!("r{run}"), &cases);
        notify(&p, &format!("r{run}"));
    }
    let s = gh_state.lock().unwrap();
    assert_eq!(s.issues.len(), 1, "never duplicated");
    assert_eq!(s.comments.get(&1).map_or(0, Vec::len), 9);
    assert_eq!(s.closed, 1, "closed on the first resolve only");
    assert_eq!(s.reopened, 1, "reopened on the first relapse only");
    assert_eq!(
        s.issues[0]["state"], "open",
        "a flapping cluster's issue is left open for a person"
    );
    let posts = hook.requests();
    assert_eq!(posts.len(), 10, "5 alerts and 5 resolves");
    assert_eq!(
        posts
            .iter()
            .filter(|r| r.body.contains("resolved for Rudy"))
            .count(),
        5
    );
}

#[test]
fn a_coverage_drop_alerts_its_owner_once_then_resolves() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let smtp = smtp_server();
    let p = project(&config(&hook.url, &gh.url, ""), smtp.port);
    let base = lcov(&p, "base.lcov", 90);
    ingest_file(&p, "coverage", &base, "base", "cov", "main");
    let gate = |run: &str, code: i32| {
        let out = ok(
            tollgate(
                &p,
                &[
                    "gate",
                    "--pipeline",
                    "cov",
                    "--run",
                    run,
                    "--format",
                    "json",
                ],
            )
            .output()
            .unwrap(),
            "gate",
            code,
        );
        let verdict: Value = serde_json::from_slice(&out.stdout).expect("verdict");
        (verdict, String::from_utf8_lossy(&out.stderr).into_owned())
    };

    // 90% -> 80% on a pull request: the check blocks and its owner (the
    // reporting CI area's) gets one alert on each channel.
    let dropped = lcov(&p, "dropped.lcov", 80);
    ingest_file(&p, "coverage", &dropped, "f1", "cov", "feature/x");
    let (verdict, stderr) = gate("f1", 1);
    assert_eq!(verdict["verdict"], "blocked");
    assert!(!stderr.contains("notify error"), "{stderr}");
    let posts = hook.requests();
    assert_eq!(posts.len(), 1, "{posts:#?}");
    assert!(
        posts[0].body.contains("1 failing gate check for Priya"),
        "{}",
        posts[0].body
    );
    assert!(
        posts[0].body.contains("coverage_drop.python"),
        "{}",
        posts[0].body
    );
    assert!(
        posts[0].body.contains("tollgate-fingerprint: check-"),
        "{}",
        posts[0].body
    );
    let mails = smtp.messages();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("priya@example.com"), "{}", mails[0]);
    {
        let s = gh_state.lock().unwrap();
        assert_eq!(s.issues.len(), 1);
        assert!(s.issues[0]["title"]
            .as_str()
            .unwrap()
            .contains("coverage_drop.python"));
    }

    // Still dropped in the next run: nothing new (repeat interval 1h).
    let again = lcov(&p, "again.lcov", 80);
    ingest_file(&p, "coverage", &again, "f2", "cov", "feature/x");
    let (_, stderr) = gate("f2", 1);
    assert_eq!(hook.requests().len(), 1, "{stderr}");
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(gh_state.lock().unwrap().issues.len(), 1);
    assert!(gh_state.lock().unwrap().comments.is_empty());
    // `tollgate notify` for a run the gate judged sends nothing new either.
    notify(&p, "f2");
    assert_eq!(hook.requests().len(), 1);
    // A run no gate judged says nothing about the check: no resolve.
    let unjudged = lcov(&p, "unjudged.lcov", 90);
    ingest_file(&p, "coverage", &unjudged, "f2b", "cov", "feature/x");
    notify(&p, "f2b");
    assert_eq!(hook.requests().len(), 1);

    // Recovered: one resolve on each channel, and the issue is closed.
    let back = lcov(&p, "back.lcov", 90);
    ingest_file(&p, "coverage", &back, "f3", "cov", "feature/x");
    let (verdict, _) = gate("f3", 0);
    assert_eq!(verdict["verdict"], "pass");
    let posts = hook.requests();
    assert_eq!(posts.len(), 2, "{posts:#?}");
    assert!(
        posts[1].body.contains("1 gate check resolved for Priya"),
        "{}",
        posts[1].body
    );
    assert_eq!(smtp.messages().len(), 2);
    {
        let s = gh_state.lock().unwrap();
        assert_eq!(s.comments.values().flatten().count(), 1);
        assert_eq!(s.closed, 1);
    }
    // Still recovered: the resolve is not sent again.
    let fine = lcov(&p, "fine.lcov", 90);
    ingest_file(&p, "coverage", &fine, "f4", "cov", "feature/x");
    gate("f4", 0);
    assert_eq!(hook.requests().len(), 2);
    assert_eq!(smtp.messages().len(), 2);
}

#[test]
fn unreachable_webhook_and_smtp_report_a_notify_error_without_losing_the_verdict() {
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let p = project(&config(&dead, &gh.url, ""), free_port());
    ingest(&p, "r1", &forty(false));
    let gate = |pipeline: &str, code: i32, what: &str| {
        let out = ok(
            tollgate(
                &p,
                &[
                    "gate",
                    "--pipeline",
                    pipeline,
                    "--run",
                    "r1",
                    "--format",
                    "json",
                ],
            )
            .output()
            .unwrap(),
            what,
            code,
        );
        let verdict: Value =
            serde_json::from_slice(&out.stdout).expect("the verdict is still written");
        (verdict, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (verdict, stderr) = gate("ci", 1, "gate");
    assert_eq!(verdict["verdict"], "blocked");
    assert!(
        stderr.contains("notify error: webhook: cannot reach http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("notify error: e-mail: cannot reach"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("/hook"),
        "the webhook path is a secret: {stderr}"
    );
    // The reachable channel still delivered.
    assert_eq!(gh_state.lock().unwrap().issues.len(), 2);
    // A passing verdict keeps exit 0 despite the notify error.
    let (verdict, stderr) = gate("soft", 0, "gate soft");
    assert_eq!(verdict["verdict"], "pass");
    assert!(stderr.contains("notify error: webhook"), "{stderr}");

    // Asked to treat it as fatal: exit 3, verdict still written.
    let fatal = config(&dead, &gh.url, "fatal = true");
    std::fs::write(p.dir.path().join("tollgate.toml"), fatal).unwrap();
    let (verdict, _) = gate("ci", 3, "gate fatal");
    assert_eq!(verdict["verdict"], "blocked");
    let (verdict, stderr) = gate("soft", 3, "gate soft fatal");
    assert_eq!(verdict["verdict"], "pass");
    assert!(stderr.contains("notify error: e-mail"), "{stderr}");
}

#[test]
fn dry_run_prints_and_sends_nothing() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let smtp = smtp_server();
    let p = project(&config(&hook.url, &gh.url, ""), smtp.port);
    ingest(&p, "r1", &forty(true));
    let out = ok(
        tollgate(&p, &["notify", "--run", "r1", "--dry-run"])
            .output()
            .unwrap(),
        "dry run",
        0,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("would send"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
    no_secrets(&[text.into_owned()]);
    assert!(hook.requests().is_empty());
    assert!(gh.requests().is_empty());
    assert!(smtp.messages().is_empty());
    // Nothing was recorded: a real run afterwards still sends.
    notify(&p, "r1");
    assert_eq!(hook.requests().len(), 2);
    assert_eq!(smtp.messages().len(), 2);
}
