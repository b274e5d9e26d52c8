use tollgate_owners::Ownership;
use tollgate_triage::Class;

use super::*;

fn cluster(fp: &str, owner: &str, class: Class, tests: usize) -> Cluster {
    Cluster {
        fingerprint: fp.into(),
        signature: format!("sig {fp}"),
        class,
        component: Some("router".into()),
        owner: Some(Ownership {
            owners: vec![owner.into()],
            component: Some("router".into()),
            why: "component".into(),
        }),
        tests: (0..tests).map(|i| format!("t{i}")).collect(),
        failures: tests,
        flaky: false,
        excerpt: String::new(),
    }
}

fn run(key: &str, branch: &str) -> RunRef {
    RunRef {
        run_key: key.into(),
        pipeline: "nightly".into(),
        branch: branch.into(),
        commit: "abc".into(),
    }
}

fn state(alert: &str, owner: &str, sent: i64, run: &str) -> AlertState {
    AlertState {
        alert: alert.into(),
        owner: owner.into(),
        pipeline: "nightly".into(),
        branch: "main".into(),
        status: "firing".into(),
        last_sent_ms: sent,
        last_run_key: run.into(),
        summary: "sig".into(),
    }
}

#[test]
fn one_message_per_owner() {
    let clusters = [
        cluster("a", "Rudy", Class::TestFailure, 30),
        cluster("b", "Rudy", Class::Crash, 5),
        cluster("c", "Meenakshi", Class::Infrastructure, 5),
    ];
    let p = plan(
        &run("r1", "main"),
        &clusters,
        &BTreeMap::new(),
        &[],
        0,
        &Policy::default(),
    );
    assert_eq!(p.messages.len(), 2);
    let rudy = p.messages.iter().find(|m| m.owner == "Rudy").unwrap();
    assert_eq!(rudy.items.len(), 2);
    assert!(p.held.is_empty());
}

#[test]
fn repeat_interval_and_resolve() {
    let policy = Policy {
        repeat_ms: 1000,
        ..Policy::default()
    };
    let a = alert_fingerprint("main", "a");
    let gone = alert_fingerprint("main", "gone");
    let states = [state(&a, "Rudy", 0, "r1"), state(&gone, "Rudy", 0, "r1")];
    let clusters = [cluster("a", "Rudy", Class::TestFailure, 1)];
    // Within the interval: nothing firing, one resolve for the cluster that stopped.
    let p = plan(
        &run("r2", "main"),
        &clusters,
        &BTreeMap::new(),
        &states,
        500,
        &policy,
    );
    assert_eq!(p.messages.len(), 1);
    assert_eq!(p.messages[0].kind, Kind::Resolved);
    assert_eq!(p.messages[0].items[0].alert, gone);
    assert_eq!(p.held.len(), 1);
    // After it: one repeat.
    let p = plan(
        &run("r3", "main"),
        &clusters,
        &BTreeMap::new(),
        &states[..1],
        1500,
        &policy,
    );
    assert_eq!(p.messages[0].items[0].reason, "repeat");
}

#[test]
fn confirmation_except_critical_on_gated_branches() {
    let policy = Policy {
        confirm_runs: 3,
        ..Policy::default()
    };
    let clusters = [
        cluster("code", "Rudy", Class::TestFailure, 1),
        cluster("infra", "Meenakshi", Class::Infrastructure, 1),
    ];
    let streaks: BTreeMap<String, u32> = [("code".to_string(), 1), ("infra".to_string(), 2)].into();
    // Gated branch: the code failure at once, the infra one waits.
    let p = plan(&run("r1", "main"), &clusters, &streaks, &[], 0, &policy);
    assert_eq!(p.messages.len(), 1);
    assert_eq!(p.messages[0].owner, "Rudy");
    assert_eq!(p.held[0].why, "failed in 2 of 3 consecutive runs needed");
    // A feature branch: both wait; after three runs the infra one fires.
    let p = plan(
        &run("r1", "feature/x"),
        &clusters,
        &streaks,
        &[],
        0,
        &policy,
    );
    assert!(p.messages.is_empty());
    let streaks: BTreeMap<String, u32> = [("infra".to_string(), 3)].into();
    let p = plan(
        &run("r1", "feature/x"),
        &clusters,
        &streaks,
        &[],
        0,
        &policy,
    );
    assert_eq!(p.messages[0].owner, "Meenakshi");
}

#[test]
fn payloads_keep_limits_and_redact() {
    let mut clusters: Vec<Cluster> = (0..80)
        .map(|i| cluster(&format!("c{i}"), "Rudy", Class::TestFailure, 200))
        .collect();
    clusters[0].excerpt = "token=hf_SECRETSECRET\n".repeat(5000);
    let p = plan(
        &run("r1", "main"),
        &clusters,
        &BTreeMap::new(),
        &[],
        0,
        &Policy::default(),
    );
    let m = &p.messages[0];
    let redact = |s: &str| s.replace("hf_SECRETSECRET", "[REDACTED]");
    let slack = render::slack(m, &redact);
    let blocks = slack["blocks"].as_array().unwrap();
    assert!(blocks.len() <= render::SLACK_MAX_BLOCKS);
    for b in blocks {
        if let Some(t) = b["text"]["text"].as_str() {
            assert!(t.chars().count() <= render::SLACK_MAX_SECTION);
        }
    }
    assert!(slack["text"].as_str().unwrap().chars().count() <= render::SLACK_MAX_TEXT);
    let (title, body) = render::issue(&m.items[0], m, &redact);
    assert!(body.chars().count() <= render::GITHUB_MAX_BODY);
    assert!(body.starts_with(FINGERPRINT_PREFIX));
    assert!(title.chars().count() <= 240);
    let (_, mail) = render::email(m, &redact);
    for text in [slack.to_string(), body, mail] {
        assert!(!text.contains("hf_SECRETSECRET"));
    }
}

fn check(name: &str, owner: &str, blocking: bool, streak: u32) -> CheckFailure {
    CheckFailure {
        name: name.into(),
        blocking,
        detail: "85.00% → 82.00%".into(),
        component: None,
        owner: Some(Ownership {
            owners: vec![owner.into()],
            component: None,
            why: "[owners.ci_areas] reporting".into(),
        }),
        streak,
    }
}

#[test]
fn gate_checks_join_their_owners_message_and_resolve_only_when_judged() {
    let clusters = [cluster("a", "Pavithra", Class::TestFailure, 3)];
    let checks = [
        check("coverage_drop.rust", "Pavithra", true, 1),
        check("flaky_rate", "Pavithra", false, 1),
    ];
    let r1 = run("r1", "main");
    let p = plan_all(
        &r1,
        &clusters,
        Some(&checks),
        &BTreeMap::new(),
        &[],
        0,
        &Policy::default(),
    );
    // One message for the owner: the cluster and both checks.
    assert_eq!(p.messages.len(), 1);
    let items = &p.messages[0].items;
    assert_eq!(items.len(), 3);
    let cov = check_alert("nightly", "main", "coverage_drop.rust");
    assert!(is_check_alert(&cov));
    assert!(!is_check_alert(&alert_fingerprint("main", "a")));
    assert!(items
        .iter()
        .any(|i| i.alert == cov && i.what == "gate check"));
    let slack = render::slack(&p.messages[0], &|s| s.to_string());
    let text = slack["text"].as_str().unwrap();
    assert!(
        text.starts_with("tollgate: 1 failing cluster and 2 failing gate checks for Pavithra"),
        "{text}"
    );
    assert!(
        text.contains("gate check coverage_drop.rust: 85.00% → 82.00%"),
        "{text}"
    );

    // Confirmation: a non-blocking check waits for its streak, a blocking
    // one on a gated branch does not.
    let policy = Policy {
        confirm_runs: 2,
        ..Policy::default()
    };
    let p = plan_all(&r1, &[], Some(&checks), &BTreeMap::new(), &[], 0, &policy);
    assert_eq!(p.messages[0].items.len(), 1);
    assert_eq!(p.messages[0].items[0].cluster, "coverage_drop.rust");
    assert_eq!(p.held.len(), 1);

    // The check passes later: resolved only when the run's verdicts are known.
    let mut st = state(&cov, "Pavithra", 0, "r1");
    st.summary = checks[0].summary();
    let states = [st];
    let p = plan_all(
        &run("r2", "main"),
        &[],
        None,
        &BTreeMap::new(),
        &states,
        10,
        &Policy::default(),
    );
    assert!(p.messages.is_empty(), "no verdict, no resolve: {p:?}");
    let p = plan_all(
        &run("r2", "main"),
        &[],
        Some(&[]),
        &BTreeMap::new(),
        &states,
        10,
        &Policy::default(),
    );
    assert_eq!(p.messages.len(), 1);
    assert_eq!(p.messages[0].kind, Kind::Resolved);
    let (subject, body) = render::email(&p.messages[0], &|s| s.to_string());
    assert!(
        subject.starts_with("tollgate: 1 gate check resolved for Pavithra"),
        "{subject}"
    );
    assert!(
        body.contains("- resolved: gate check coverage_drop.rust: 85.00% → 82.00%"),
        "{body}"
    );
}
