//! `tollgate report`, `serve`, `metrics` and `grafana-dashboard`, the real
//! binary, on both store backends: a base run and a run with a new failure,
//! a flaky test, a newly skipped and a removed test, and secrets planted in
//! the stored output that must never come out.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::stores::{failed, ingest_bench, ingest_tests, passed, result, run_meta, Location};
use common::{tollgate, tollgate_std};
use serde_json::Value;
use tollgate_results::Outcome;

/// A secret given to tollgate through the environment (`*_TOKEN` is redacted
/// by default) and one matched by a configured pattern.
const ENV_SECRET: &str = "planted-env-secret-7f3a9c";
const PATTERN_SECRET: &str = "sk-PLANTED0123456789";

const OK: &str = "tests/router/test_route.py::test_ok";
const BREAKS: &str = "tests/router/test_route.py::test_breaks";
const FLAKY: &str = "tests/kv/test_cache.py::test_flaky";
const SKIPPED: &str = "tests/kv/test_cache.py::test_skipped_now";
const GONE: &str = "tests/kv/test_cache.py::test_gone";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{}\n[project]\nname = \"demo\"\n\n\
         [taxonomy.categories.component]\ndescription = \"area\"\n\n\
         [taxonomy.categories.component.markers]\nrouter = \"router\"\nkv = \"kv\"\n\n[components.router]\npaths = [\"tests/router/**\"]\nowner = \"@net-team\"\n\n\
         [components.kv]\npaths = [\"tests/kv/**\"]\nowner = \"@kv-team\"\ncritical = true\n\n\
         [run.redact]\npatterns = [\"sk-[A-Za-z0-9]{{16,}}\"]\n",
        tollgate_config::presets::MINIMAL
    );
    std::fs::write(dir.path().join("tollgate.toml"), config).unwrap();
    dir
}

/// Stores a base run (all pass) and the run under report. The stored
/// messages carry both secrets, as if `tollgate run` had missed them.
fn fill(loc: &Location) {
    let mut store = loc.open();
    // Recent runs: flakiness is measured over the last 30 days.
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let base = run_meta("base", "c0ffee0000000000", "main", "pr", now - 7_200_000);
    ingest_tests(
        &mut store,
        &base,
        "test",
        &[
            passed(OK, 0.1),
            passed(BREAKS, 0.1),
            passed(FLAKY, 0.1),
            passed(SKIPPED, 0.1),
            passed(GONE, 0.1),
        ],
    );
    store.finish_run("base", now - 7_000_000, true).unwrap();
    let run = run_meta("head", "beef000000000000", "main", "pr", now - 3_600_000);
    let mut breaks = failed(BREAKS, 0.2);
    breaks.message = Some(format!(
        "AssertionError: token {ENV_SECRET} rejected\nkey {PATTERN_SECRET}"
    ));
    let mut breaks2 = result(BREAKS, 2, Outcome::Failed, 0.2);
    breaks2.message = Some(format!("still failing with {ENV_SECRET}"));
    ingest_tests(
        &mut store,
        &run,
        "test",
        &[
            passed(OK, 0.1),
            breaks,
            breaks2,
            failed(FLAKY, 0.3),
            result(FLAKY, 2, Outcome::Passed, 0.3),
            result(SKIPPED, 1, Outcome::Skipped, 0.0),
        ],
    );
    store.finish_run("head", now - 3_000_000, true).unwrap();
}

fn report_cmd(dir: &Path, loc: &Location) -> common::Tg {
    let mut cmd = tollgate(dir);
    cmd.env("DEPLOY_TOKEN", ENV_SECRET)
        .args(["report", "--store", &loc.url()]);
    cmd
}

fn embedded(page: &str) -> Value {
    let marker = r#"<script type="application/json" id="tollgate-data">"#;
    let start = page.find(marker).expect("data script") + marker.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).expect("embedded JSON")
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(ENV_SECRET), "{what} serves the env secret");
    assert!(
        !text.contains(PATTERN_SECRET),
        "{what} serves the pattern secret"
    );
}

fn html_and_markdown_show_the_failure_the_flaky_test_and_the_changes(loc: &Location) {
    let project = project();
    let dir = project.path();
    fill(loc);
    let html = dir.join("out/report.html");
    let out = report_cmd(dir, loc)
        .arg("--html")
        .arg(&html)
        .arg("--markdown")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        loc.name(),
        common::describe(&out)
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert_no_secret("markdown", &md);
    assert!(
        md.starts_with("## ❌ tollgate: tests failed — `pr` run `head` (main @ beef00000000)"),
        "{}: {md}",
        loc.name()
    );
    assert!(
        md.contains("| 4 (−1) | 1 (−4) | 1 (+1) | 1 (+1) | 1 (+1) |"),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "### New failures (passed or absent in the base run) (1)\n\n- `{BREAKS}`"
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "- `{BREAKS}` (test, 2 attempts) [router @net-team]: still failing with [REDACTED]"
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!("- `{FLAKY}` (test): failed → passed")),
        "{md}"
    );
    assert!(
        md.contains(&format!("### Newly skipped (1)\n\n- `{SKIPPED}`")),
        "{md}"
    );
    assert!(
        md.contains(&format!("### Removed tests (1)\n\n- `{GONE}`")),
        "{md}"
    );

    let page = std::fs::read_to_string(&html).unwrap();
    assert_no_secret("the HTML report", &page);
    let data = embedded(&page);
    assert_eq!(data["meta"]["run"]["key"], "head");
    assert_eq!(data["meta"]["base"]["key"], "base");
    assert_eq!(data["counts"]["failed"], 1, "{}", loc.name());
    assert_eq!(data["counts"]["flaky"], 1);
    let groups = data["failures"].as_array().unwrap();
    assert_eq!(groups[0]["component"], "router");
    assert_eq!(groups[0]["owner"], "@net-team");
    let breaks = &groups[0]["tests"][0];
    assert_eq!(breaks["id"], BREAKS);
    assert_eq!(breaks["attempts"].as_array().unwrap().len(), 2);
    assert!(breaks["attempts"][0]["output"]
        .as_str()
        .unwrap()
        .contains("key [REDACTED]"));
    let flaky = &groups[1]["tests"][0];
    assert_eq!(
        (flaky["id"].as_str(), flaky["state"].as_str()),
        (Some(FLAKY), Some("flaky"))
    );
    assert_eq!(flaky["attempts"][1]["outcome"], "passed");
    let ids: Vec<&str> = data["tests"]["id"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(ids.len(), 4);
    let i = ids.iter().position(|t| *t == BREAKS).unwrap();
    assert_eq!(data["tests"]["history"][i], "PF");
}

#[test]
fn markdown_fits_the_byte_limit_it_is_given() {
    let loc = &common::stores::sqlite();
    let project = project();
    let dir = project.path();
    let mut store = loc.open();
    let base = run_meta("base", "c0", "main", "pr", 1_000);
    let run = run_meta("head", "c1", "main", "pr", 2_000);
    let many: Vec<String> = (0..2000)
        .map(|i| format!("tests/router/test_x.py::test_{i:04}"))
        .collect();
    let ok: Vec<_> = many.iter().map(|id| passed(id, 0.1)).collect();
    let bad: Vec<_> = many.iter().map(|id| failed(id, 0.1)).collect();
    ingest_tests(&mut store, &base, "test", &ok);
    store.finish_run("base", 1_500, true).unwrap();
    ingest_tests(&mut store, &run, "test", &bad);
    drop(store);
    for limit in ["65535", "3000"] {
        let out = report_cmd(dir, loc)
            .args(["--markdown", "--max-bytes", limit])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::describe(&out));
        let limit: usize = limit.parse().unwrap();
        assert!(out.stdout.len() <= limit, "{} > {limit}", out.stdout.len());
        let md = String::from_utf8(out.stdout).unwrap();
        assert!(md.contains(" more\n"), "{md}");
        assert!(md.contains("### Failures (2000)"), "{md}");
    }
}

#[test]
fn usage_errors() {
    let loc = &common::stores::sqlite();
    let project = project();
    let dir = project.path();
    let out = tollgate(dir)
        .args(["report", "--store", &loc.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to write"));
    // `report` reads: no store at the path is an error, not a new store.
    let out = tollgate(dir)
        .args(["report", "--markdown", "--store", &loc.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no history store"));
    let out = tollgate(dir)
        .args(["store", "migrate", "--store", &loc.url()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    let out = tollgate(dir)
        .args(["report", "--markdown", "--store", &loc.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the store has no runs"));
}

/// A `tollgate serve` child, killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, loc: &Location, envs: &[(&str, &str)]) -> Server {
    let mut cmd = tollgate_std(dir);
    cmd.env("DEPLOY_TOKEN", ENV_SECRET)
        .args(["serve", "--bind", "127.0.0.1:0", "--store", &loc.url()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    // Keep draining stderr so the server never blocks on it.
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = stderr.read_to_string(&mut sink);
    });
    Server { child, addr }
}

/// A plain HTTP/1.1 GET: (status, body).
fn get(addr: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, dechunk(&body, &text))
}

fn dechunk(body: &str, whole: &str) -> String {
    let head = whole
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if !head.contains("transfer-encoding: chunked") {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

const PAGES: &[&str] = &[
    "/",
    "/runs",
    "/api/report",
    "/api/tests?run=head",
    "/api/runs",
    "/metrics",
    "/?run=base",
];

fn serve_requires_the_token_and_never_serves_a_secret(loc: &Location) {
    let project = project();
    let dir = project.path();
    fill(loc);
    let token = "serve-token-5b1d2e";
    let server = serve(dir, loc, &[("TOLLGATE_SERVE_TOKEN", token)]);
    for page in PAGES {
        let (status, body) = get(&server.addr, page, None);
        assert_eq!(status, 401, "{}: {page} without a token", loc.name());
        assert!(!body.contains("test_breaks"));
        let (status, _) = get(&server.addr, page, Some("Bearer wrong"));
        assert_eq!(status, 401, "{page} with a wrong token");
        let (status, body) = get(&server.addr, page, Some(&format!("Bearer {token}")));
        assert_eq!(status, 200, "{}: {page}: {body}", loc.name());
        assert_no_secret(page, &body);
    }
    let (_, body) = get(
        &server.addr,
        "/api/report",
        Some(&format!("Bearer {token}")),
    );
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["failures"][0]["tests"][0]["id"], BREAKS);
    assert_eq!(report["tests_url"], "api/tests?run=head");
    let (_, body) = get(
        &server.addr,
        "/api/tests?run=head",
        Some(&format!("Bearer {token}")),
    );
    let tests: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(tests["id"].as_array().unwrap().len(), 4);
    let (_, body) = get(&server.addr, "/", Some(&format!("Bearer {token}")));
    assert!(body.contains("connect-src 'self'"));
    let (status, _) = get(&server.addr, "/?run=nope", Some(&format!("Bearer {token}")));
    assert_eq!(status, 404);
}

#[test]
fn serve_refuses_a_public_address_without_credentials() {
    let loc = &common::stores::sqlite();
    let project = project();
    let out = tollgate(project.path())
        .args(["serve", "--bind", "0.0.0.0:0", "--store", &loc.url()])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to serve on 0.0.0.0:0 without authentication"),
        "{stderr}"
    );
}

/// A real tool the test needs. A missing tool fails the test (a test that
/// passes without the tool it drives cannot fail), unless the caller opted
/// out explicitly with `TOLLGATE_TEST_SKIP_TOOLS=1` outside CI: then `None`,
/// with a loud note.
fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let opted_out = std::env::var("TOLLGATE_TEST_SKIP_TOOLS").is_ok_and(|v| v == "1");
        if std::env::var_os("CI").is_some() || !opted_out {
            panic!(
                "`{name}` is not installed (apt-get install prometheus chromium chromium-driver; \
                 .ci/run installs them); TOLLGATE_TEST_SKIP_TOOLS=1 skips this test outside CI"
            );
        }
        eprintln!("\n!!!!!!!! SKIPPED: `{name}` is not installed and TOLLGATE_TEST_SKIP_TOOLS=1 !!!!!!!!\n");
    }
    found
}

fn metrics_text(dir: &Path, loc: &Location) -> String {
    let out = tollgate(dir)
        .env("DEPLOY_TOKEN", ENV_SECRET)
        .args(["metrics", "--store", &loc.url()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn metrics_are_openmetrics_with_bounded_series_and_promtool_accepts_them() {
    let loc = &common::stores::sqlite();
    let project = project();
    let dir = project.path();
    fill(loc);
    let verdict = |check: &str, status: &str| tollgate_store::Verdict {
        check: check.into(),
        status: status.into(),
        measured: Some(1.0),
        threshold: Some(0.0),
        detail: String::new(),
    };
    loc.open()
        .record_verdicts(
            "head",
            &[
                verdict("critical_failures", "block"),
                verdict("flaky_rate", "alert"),
            ],
            3_000,
        )
        .unwrap();
    let run = run_meta("head", "beef000000000000", "main", "pr", i64::MAX / 2);
    let coverage = [tollgate_store::CoverageEntry {
        file: tollgate_results::FileCoverage {
            path: "router/route.py".into(),
            lines_total: 4,
            lines_covered: 3,
            covered_lines: vec![1, 2, 3],
            uncovered_lines: vec![4],
        },
        component: Some("router".into()),
    }];
    loc.open()
        .ingest(&tollgate_store::Batch {
            coverage: &coverage,
            ..common::stores::empty_batch(&run, &common::stores::job("test"))
        })
        .unwrap();
    let text = metrics_text(dir, loc);
    assert!(text.ends_with("# EOF\n"), "{text}");
    for line in [
        "tollgate_runs{pipeline=\"pr\"} 2",
        "tollgate_tests{pipeline=\"pr\",ci_job=\"test\",outcome=\"failed\"} 1",
        "tollgate_tests{pipeline=\"pr\",ci_job=\"test\",outcome=\"flaky\"} 1",
        "tollgate_component_tests{pipeline=\"pr\",component=\"router\",owner=\"@net-team\",outcome=\"failed\"} 1",
        "tollgate_job_peak_rss_bytes{pipeline=\"pr\",ci_job=\"test\"} 52428800",
        "tollgate_quarantined_tests 0",
        "tollgate_flaky_tests{pipeline=\"pr\"} 1",
        "tollgate_coverage_language_ratio{pipeline=\"pr\",language=\"python\"} 0.75",
        "tollgate_coverage_component_ratio{pipeline=\"pr\",component=\"router\"} 0.75",
        "tollgate_gate_verdict{pipeline=\"pr\",verdict=\"block\"} 1",
        "tollgate_gate_check{pipeline=\"pr\",check=\"flaky_rate\",status=\"alert\"} 1",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "missing {line}:\n{text}");
    }
    for metric in tollgate_report::grafana::METRICS_USED {
        assert!(
            text.contains(&format!("# TYPE {metric} "))
                || text.contains(&format!(
                    "# TYPE {} ",
                    metric
                        .trim_end_matches("_seconds")
                        .trim_end_matches("_bytes")
                        .trim_end_matches("_ratio")
                )),
            "the dashboard queries {metric}, which is not exported"
        );
    }
    // Textfile: written atomically where asked.
    let file = dir.join("textfile/tollgate.prom");
    let out = tollgate(dir)
        .args(["metrics", "--store", &loc.url(), "--textfile"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("tollgate_runs{pipeline=\"pr\"} 2"));

    let Some(promtool) = tool("promtool") else {
        return;
    };
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}",
        common::describe(&out)
    );
}

#[test]
fn the_series_count_does_not_grow_with_the_number_of_tests() {
    let count = |n: usize| {
        let loc = &common::stores::sqlite();
        let project = project();
        let dir = project.path();
        let mut store = loc.open();
        let run = run_meta("r", "c", "main", "pr", 1_000);
        let tests: Vec<_> = (0..n)
            .map(|i| {
                let id = format!(
                    "tests/{}/test_x.py::test_{i}",
                    if i % 2 == 0 { "router" } else { "kv" }
                );
                if i % 10 == 0 {
                    failed(&id, 0.1)
                } else {
                    passed(&id, 0.1)
                }
            })
            .collect();
        ingest_tests(&mut store, &run, "test", &tests);
        drop(store);
        metrics_text(dir, loc)
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count()
    };
    // The bar: bounded as tests grow from 1,000 to 100,000. The stated
    // figure is the bound of tollgate_report::metrics with one pipeline, one
    // job, two components (and tests outside them), one language, no gate
    // check and the default top-K of 10:
    // P·(4 + 4J + 5J + 4C + 2C + L + 4G + 4 + 2K) + 2 = 4+4+5+12+6+1+0+4+20+2 = 58.
    let small = count(1_000);
    let large = count(100_000);
    assert_eq!(
        small, large,
        "series: {small} for 1,000 tests, {large} for 100,000"
    );
    assert!(large <= 58, "{large} series, over the stated bound of 58");
    eprintln!("{large} series for 1,000 and for 100,000 tests");
}

#[test]
fn a_real_prometheus_scrapes_serve() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let loc = &common::stores::sqlite();
    let project = project();
    let dir = project.path();
    fill(loc);
    let server = serve(dir, loc, &[]);
    let work = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    std::fs::write(
        work.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tollgate\n    static_configs:\n      - targets: ['{}']\n",
            server.addr
        ),
    )
    .unwrap();
    let child = std::process::Command::new(prometheus)
        .arg(format!(
            "--config.file={}",
            work.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            work.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _prometheus = Server {
        child,
        addr: format!("127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let query = "/api/v1/query?query=tollgate_tests%7Boutcome%3D%22failed%22%7D";
    loop {
        let answer = TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| get(&format!("127.0.0.1:{port}"), query, None));
        if let Some((200, body)) = &answer {
            let v: Value = serde_json::from_str(body).unwrap_or_default();
            let result = &v["data"]["result"];
            if result.as_array().is_some_and(|r| !r.is_empty()) {
                assert_eq!(result[0]["metric"]["ci_job"], "test", "{v}");
                assert_eq!(result[0]["metric"]["job"], "tollgate", "{v}");
                assert_eq!(result[0]["value"][1], "1", "{v}");
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never returned the series: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn grafana_dashboard_is_json_over_exported_metrics() {
    let project = project();
    let out = tollgate(project.path())
        .arg("grafana-dashboard")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));
    let board: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(board["uid"], "tollgate-test-health");
    assert!(board["panels"].as_array().unwrap().len() > 10);
}

// ---------------------------------------------------------------- the browser

/// One HTTP/1.1 request with an optional JSON body: (status, body). Reads
/// exactly the response (chromedriver keeps the connection open).
fn http(addr: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let payload = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut length = None;
    let mut chunked = false;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse::<usize>().ok();
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..n]);
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        reader.read_exact(&mut body).unwrap();
    } else {
        reader.read_to_end(&mut body).unwrap();
    }
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A WebDriver session on headless Chromium through chromedriver (plain
/// HTTP, no client crate). Ends the session and chromedriver when dropped.
struct Browser {
    driver: Server,
    session: String,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn start(chromium: &Path, chromedriver: &Path) -> Browser {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = std::process::Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Server {
            child,
            addr: format!("127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&driver.addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run",
                         "--disable-dev-shm-usage", "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.path().display())],
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let (status, body) = http(&driver.addr, "POST", "/session", Some(&caps));
        assert_eq!(status, 200, "new session: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        Browser {
            driver,
            session,
            _profile: profile,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, text) = http(
            &self.driver.addr,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        assert_eq!(status, 200, "{method} {path}: {text}");
        serde_json::from_str::<Value>(&text).unwrap()["value"].take()
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(serde_json::json!({"url": url})));
    }

    fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(serde_json::json!({"script": script, "args": []})),
        )
    }

    /// Waits until `script` returns something truthy.
    fn wait_for(&self, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.script(script);
            if !(v.is_null() || v == false || v == "") {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for: {script}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (status, text) = http(
                &self.driver.addr,
                "POST",
                &format!("/session/{}/element", self.session),
                Some(&serde_json::json!({"using": "css selector", "value": css})),
            );
            if status == 200 {
                let v: Value = serde_json::from_str(&text).unwrap();
                return v["value"][ELEMENT].as_str().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "no element {css}: {text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn click(&self, css: &str) {
        let id = self.find(css);
        self.call(
            "POST",
            &format!("/element/{id}/click"),
            Some(serde_json::json!({})),
        );
    }

    fn text(&self, css: &str) -> String {
        let id = self.find(css);
        self.call("GET", &format!("/element/{id}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(serde_json::json!({"text": text})),
        );
    }

    /// Console messages at SEVERE level since the last call.
    fn console_errors(&self) -> Vec<String> {
        self.call(
            "POST",
            "/se/log",
            Some(serde_json::json!({"type": "browser"})),
        )
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
    }

    /// URLs of every network request since the last call (DevTools' log).
    fn requests(&self) -> Vec<String> {
        self.call(
            "POST",
            "/se/log",
            Some(serde_json::json!({"type": "performance"})),
        )
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
        .filter(|m| m["message"]["method"] == "Network.requestWillBeSent")
        .filter_map(|m| {
            m["message"]["params"]["request"]["url"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            &self.driver.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

fn click_through(browser: &Browser) {
    browser.wait_for("return document.body.getAttribute('data-ready')");
    assert_eq!(browser.text("#verdict"), "Tests failed");
    browser.click("#tab-failures");
    browser.wait_for("return document.body.getAttribute('data-page') === 'failures'");
    browser.click("details.failure summary span");
    let output = browser.text("details.failure[open] pre");
    assert!(
        output.contains("AssertionError: token [REDACTED] rejected"),
        "{output}"
    );
    browser.click("details.failure summary a");
    browser.wait_for("return document.body.getAttribute('data-page') === 'test'");
    assert_eq!(browser.text("#test-title"), BREAKS);
    assert_eq!(browser.text("#test-state"), "failed");
    // Search over every test.
    browser.type_into("#search", "test_flaky");
    let count = browser.wait_for(
        "var e = document.getElementById('test-count'); return e && e.textContent.indexOf('1 of 4') === 0 ? e.textContent : ''",
    );
    assert!(count.as_str().unwrap().contains("test_flaky"), "{count}");
    assert!(browser
        .script("return document.body.innerText.indexOf('planted') < 0")
        .as_bool()
        .unwrap());
}

#[test]
fn the_report_and_the_dashboard_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) = (tool("chromium"), tool("chromedriver")) else {
        return;
    };
    let loc = &common::stores::sqlite();
    let project = project();
    let dir = project.path();
    fill(loc);
    let html = dir.join("report.html");
    let out = report_cmd(dir, loc)
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::describe(&out));

    let browser = Browser::start(&chromium, &chromedriver);
    let url = format!("file://{}", html.display());
    browser.go(&url);
    click_through(&browser);
    assert_eq!(
        browser.console_errors(),
        Vec::<String>::new(),
        "console errors in the report"
    );
    // Anything that would leave the machine, or another file.
    let requests: Vec<String> = browser
        .requests()
        .into_iter()
        .filter(|u| {
            ["http:", "https:", "ws:", "wss:", "ftp:"]
                .iter()
                .any(|s| u.starts_with(s))
                || (u.starts_with("file:") && *u != url)
        })
        .collect();
    assert_eq!(
        requests,
        Vec::<String>::new(),
        "the report made network requests"
    );

    let server = serve(dir, loc, &[]);
    browser.go(&format!("http://{}/", server.addr));
    click_through(&browser);
    assert_eq!(
        browser.console_errors(),
        Vec::<String>::new(),
        "console errors in the dashboard"
    );
}

// ------------------------------------------- trends, change points, owners

const MISC: &str = "tests/misc/test_misc.py::test_unowned_by_components";

/// Eight runs of pipeline `pr` on branches `main` (five) and `release`
/// (three, the latest among them: BREAKS fails there), with a benchmark
/// whose latency steps up by 30% from the fifth run on.
fn fill_history(loc: &Location) {
    let mut store = loc.open();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    for i in 0..8i64 {
        let key = format!("h{i}");
        let branch = if i % 3 == 1 { "release" } else { "main" };
        let run = run_meta(
            &key,
            &format!("c{i:015}"),
            branch,
            "pr",
            now - 3_600_000 * (10 - i),
        );
        let last = i == 7;
        let slow = 0.1 * (i + 1) as f64;
        ingest_tests(
            &mut store,
            &run,
            "test",
            &[
                passed(OK, slow),
                if last {
                    failed(BREAKS, 0.2)
                } else {
                    passed(BREAKS, 0.2)
                },
                passed(FLAKY, 0.3),
                passed(MISC, 0.05),
            ],
        );
        let latency = if i >= 4 { 130.0 } else { 100.0 } + (i % 2) as f64;
        ingest_bench(
            &mut store,
            &run,
            "bench",
            &[tollgate_results::BenchSample {
                name: "decode".into(),
                metric: "latency".into(),
                value: latency,
                unit: "ms".into(),
            }],
        );
        store
            .finish_run(&key, now - 3_600_000 * (10 - i) + 60_000, true)
            .unwrap();
    }
}

/// The dashboard shows trends split by branch, the benchmark's change
/// point, and the owners → components → tests drill-down; first as the
/// page's data (`/api/report`), then as a person sees it in Chromium.
fn serve_shows_trends_by_branch_change_points_and_owners(loc: &Location) {
    let project = project();
    let dir = project.path();
    // Tests outside every component go to CODEOWNERS' owner, through [owners].
    let config = std::fs::read_to_string(dir.join("tollgate.toml")).unwrap();
    std::fs::write(
        dir.join("tollgate.toml"),
        format!("{config}\n[owners]\ncodeowners = \"CODEOWNERS\"\nfallback = \"@platform\"\n"),
    )
    .unwrap();
    std::fs::write(dir.join("CODEOWNERS"), "/tests/misc/ @misc-team\n").unwrap();
    fill_history(loc);
    let server = serve(dir, loc, &[]);
    let (status, body) = get(&server.addr, "/api/report", None);
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    let branches: Vec<&str> = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["branch"].as_str().unwrap())
        .collect();
    assert_eq!(
        branches,
        ["main", "release", "main", "main", "release", "main", "main", "release"]
    );
    let last = &report["runs"][7];
    assert_eq!(last["p50_ms"], 200, "{last}");
    assert_eq!(last["p95_ms"], 800, "{last}");
    let bench = &report["bench"][0];
    assert_eq!(
        bench["change_points"].as_array().unwrap().len(),
        1,
        "{bench}"
    );
    assert_eq!(bench["change_points"][0]["index"], 4, "{bench}");
    let owners: Vec<&str> = report["owners"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["owner"].as_str().unwrap())
        .collect();
    assert_eq!(
        owners,
        ["@net-team", "@kv-team", "@misc-team"],
        "{report:#}"
    );

    let (Some(chromium), Some(chromedriver)) = (tool("chromium"), tool("chromedriver")) else {
        return;
    };
    let browser = Browser::start(&chromium, &chromedriver);
    browser.go(&format!("http://{}/", server.addr));
    browser.wait_for("return document.body.getAttribute('data-ready')");
    // Trends: one line per branch, with its runs.
    browser.click("#tab-trends");
    browser.wait_for("return document.body.getAttribute('data-page') === 'trends'");
    assert_eq!(
        browser.text("#trend-legend [data-branch='main']"),
        "● main · 5 runs"
    );
    assert_eq!(
        browser.text("#trend-legend [data-branch='release']"),
        "● release · 3 runs"
    );
    let points = browser.script(
        "var c = document.querySelector('#trend-charts .chart[data-title=\"test duration p95\"]');\
         return ['main', 'release'].map(function (b) { return c.querySelectorAll('circle[data-series=\"' + b + '\"]').length; });",
    );
    assert_eq!(points, serde_json::json!([5, 3]));
    // Benchmarks: the step is a change point, marked on the chart and named.
    browser.click("#tab-bench");
    browser.wait_for("return document.body.getAttribute('data-page') === 'bench'");
    assert_eq!(
        browser.script("return document.querySelectorAll('.bench line.cp').length"),
        serde_json::json!(1)
    );
    let change = browser.text(".bench .cps li");
    assert!(change.starts_with("change at run −3: +29.9%"), "{change}");
    // Owners → components → tests.
    browser.click("#tab-owners");
    browser.wait_for("return document.body.getAttribute('data-page') === 'owners'");
    assert_eq!(
        browser.text("#owners-table tr[data-owner='@misc-team'] td:nth-child(2)"),
        "1"
    );
    browser.click("#owners-table tr[data-owner='@net-team'] a");
    browser.wait_for("return document.body.getAttribute('data-page') === 'owner'");
    assert_eq!(browser.text("#owner-title"), "@net-team");
    assert_eq!(
        browser.text("#owner-components tr[data-component='router'] td:nth-child(3)"),
        "1"
    );
    browser.click("#owner-components tr[data-component='router'] a");
    browser.wait_for("return document.body.getAttribute('data-page') === 'owner-component'");
    assert_eq!(browser.text("#component-title"), "router");
    browser.wait_for("return document.getElementById('owner-test-count')");
    assert_eq!(
        browser.text("#owner-test-count"),
        "2 tests, failures and flaky tests first"
    );
    // The failure first; it opens the test page.
    let first = browser.wait_for(
        "var r = document.querySelector('.vt .sp .r'); return r && r.getAttribute('data-test')",
    );
    assert_eq!(first, serde_json::json!(BREAKS));
    browser.click(".vt .sp .r");
    browser.wait_for("return document.body.getAttribute('data-page') === 'test'");
    assert_eq!(browser.text("#test-state"), "failed");
    assert_eq!(
        browser.console_errors(),
        Vec::<String>::new(),
        "console errors in the dashboard"
    );
}

/// Every test above on a fresh SQLite file.
mod sqlite {
    #[test]
    fn html_and_markdown_show_the_failure_the_flaky_test_and_the_changes() {
        super::html_and_markdown_show_the_failure_the_flaky_test_and_the_changes(
            &crate::common::stores::sqlite(),
        );
    }

    #[test]
    fn serve_requires_the_token_and_never_serves_a_secret() {
        super::serve_requires_the_token_and_never_serves_a_secret(&crate::common::stores::sqlite());
    }

    #[test]
    fn serve_shows_trends_by_branch_change_points_and_owners() {
        super::serve_shows_trends_by_branch_change_points_and_owners(
            &crate::common::stores::sqlite(),
        );
    }
}

/// Every test above on a fresh PostgreSQL schema. Ignored by default so that a
/// machine without the server reports them skipped, not passed; `scripts/test.sh`
/// runs them (`--run-ignored all`) when the server answers or `CI` is set, and
/// then an unreachable server fails them.
mod postgres {
    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn html_and_markdown_show_the_failure_the_flaky_test_and_the_changes() {
        super::html_and_markdown_show_the_failure_the_flaky_test_and_the_changes(
            &crate::common::stores::postgres(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn serve_requires_the_token_and_never_serves_a_secret() {
        super::serve_requires_the_token_and_never_serves_a_secret(
            &crate::common::stores::postgres(),
        );
    }

    #[test]
    #[ignore = "needs PostgreSQL (TOLLGATE_TEST_PG, default postgres://postgres@127.0.0.1:5432/test); scripts/test.sh runs it when the server answers or CI is set"]
    fn serve_shows_trends_by_branch_change_points_and_owners() {
        super::serve_shows_trends_by_branch_change_points_and_owners(
            &crate::common::stores::postgres(),
        );
    }
}
