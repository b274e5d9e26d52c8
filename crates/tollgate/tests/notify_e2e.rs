//! Alerts end to end, against real servers on loopback that stop with the
//! test: a webhook receiver and a GitHub issues API (small HTTP servers in
//! this file) and a real SMTP server (Python's `aiosmtpd`, from the test
//! venv that `scripts/test.sh` makes; missing, the SMTP parts fail when
//! `CI` is set). Results reach the store through `tollgate ingest junit`;
//! alerts go out through `tollgate notify` and `tollgate gate`.

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
                s.reopened += 1;
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

/// Starts aiosmtpd; `None` (with a loud note) when it is not installed and
/// `CI` is not set. With `CI` set, a missing aiosmtpd fails the test.
fn smtp_server() -> Option<Smtp> {
    let python = python();
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!(
                "aiosmtpd is not importable by {} and CI is set (scripts/test.sh installs it)",
                python.display()
            );
        }
        eprintln!("\n!!!!!!!! NOTE: aiosmtpd not importable by {}; SMTP checks SKIPPED. Run scripts/test.sh. !!!!!!!!\n", python.display());
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("smtp_server.py");
    std::fs::write(&script, SMTP_SERVER).unwrap();
    let port = free_port();
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(dir.path())
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start aiosmtpd");
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "READY", "aiosmtpd did not start");
    Some(Smtp { child, port, dir })
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
[owners.contacts.Rudy]
email = "rudy@example.com"
[owners.contacts.Ryan]
email = "ryan@example.com"

[gates.ci]
critical_failures = "block"

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
    let out = tollgate(
        p,
        &[
            "ingest",
            "junit",
            file.to_str().unwrap(),
            "--run",
            run,
            "--pipeline",
            "nightly",
            "--branch",
            "main",
            "--commit",
            &format!("c-{run}"),
            "--complete",
        ],
    )
    .output()
    .unwrap();
    ok(out, "ingest", 0);
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
    let port = smtp.as_ref().map_or_else(free_port, |s| s.port);
    let p = project(
        &config(&format!("{}/hook/SECRETPATH", hook.url), &gh.url, ""),
        port,
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
    if let Some(smtp) = &smtp {
        let mails = smtp.messages();
        assert_eq!(mails.len(), 2, "one e-mail per owner");
        assert!(mails.iter().any(|m| m.contains("rudy@example.com")));
        no_secrets(&mails);
    }

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
    if let Some(smtp) = &smtp {
        assert_eq!(smtp.messages().len(), 2);
    }
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
    }
    if let Some(smtp) = &smtp {
        assert_eq!(smtp.messages().len(), 3);
    }
    // No planted secret in any payload that left tollgate.
    let mut all: Vec<String> = hook.requests().into_iter().map(|r| r.body).collect();
    all.extend(gh.requests().into_iter().map(|r| r.body));
    if let Some(smtp) = &smtp {
        all.extend(smtp.messages());
    }
    no_secrets(&all);
}

#[test]
fn eight_concurrent_shards_send_one_alert() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let smtp = smtp_server();
    let port = smtp.as_ref().map_or_else(free_port, |s| s.port);
    let p = project(&config(&hook.url, &gh.url, ""), port);
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
    if let Some(smtp) = &smtp {
        assert_eq!(smtp.messages().len(), 1);
    }
}

#[test]
fn ten_runs_one_github_issue_with_comments_reopened_at_most_once() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    // Repeat at once: every run reports again.
    let text = config(&hook.url, &gh.url, "").replace("dedup = \"1h\"", "dedup = \"0s\"");
    let p = project(&text, free_port());
    let one: Vec<Case> = forty(false).into_iter().skip(25).collect();
    for run in 1..=10 {
        ingest(&p, &format!("r{run}"), &one);
        let out = tollgate(&p, &["notify", "--run", &format!("r{run}")])
            .output()
            .unwrap();
        // No SMTP server here: e-mail fails (exit 3), the others still go out.
        ok(out, "notify", 3);
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
    assert_eq!(
        s.issues[0]["state"], "closed",
        "closed again by a person, it stays closed"
    );
    assert_eq!(hook.requests().len(), 10);
}

#[test]
fn unreachable_webhook_and_smtp_report_a_notify_error_without_losing_the_verdict() {
    let dead = format!("http://127.0.0.1:{}/hook", free_port());
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let p = project(&config(&dead, &gh.url, ""), free_port());
    ingest(&p, "r1", &forty(false));
    let out = ok(
        tollgate(
            &p,
            &[
                "gate",
                "--pipeline",
                "ci",
                "--run",
                "r1",
                "--format",
                "json",
            ],
        )
        .output()
        .unwrap(),
        "gate",
        1,
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).expect("the verdict is still written");
    assert_eq!(verdict["verdict"], "blocked");
    let stderr = String::from_utf8_lossy(&out.stderr);
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

    // Asked to treat it as fatal: exit 3, verdict still written.
    let fatal = config(&dead, &gh.url, "fatal = true");
    std::fs::write(p.dir.path().join("tollgate.toml"), fatal).unwrap();
    let out = ok(
        tollgate(
            &p,
            &[
                "gate",
                "--pipeline",
                "ci",
                "--run",
                "r1",
                "--format",
                "json",
            ],
        )
        .output()
        .unwrap(),
        "gate fatal",
        3,
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).expect("the verdict is still written");
    assert_eq!(verdict["verdict"], "blocked");
}

#[test]
fn dry_run_prints_and_sends_nothing() {
    let hook = webhook_server();
    let gh_state = Arc::new(Mutex::new(Issues::default()));
    let gh = github_server(gh_state.clone());
    let p = project(&config(&hook.url, &gh.url, ""), free_port());
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
    // Nothing was recorded: a real run afterwards still sends.
    ok(
        tollgate(&p, &["notify", "--run", "r1"]).output().unwrap(),
        "notify",
        3,
    );
    assert_eq!(hook.requests().len(), 2);
}
