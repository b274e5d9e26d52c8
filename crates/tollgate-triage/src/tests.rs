use super::*;

fn config() -> Config {
    toml::from_str(
        r#"
[components.router]
paths = ["components/src/dynamo/router/**"]
owner = "Rudy"
[components.kvbm]
paths = ["lib/kvbm/**"]
owner = "Ryan"
[frameworks.vllm]
paths = ["components/backends/vllm/**"]
owner = "Alec"
[owners]
fallback = "Pavithra"
[owners.ci_areas]
test_fail = "Pavithra"
infra_fail = "Meenakshi"
docker_build = "Tushar"
[triage]
infra_patterns = ["runner-pool exhausted"]
"#,
    )
    .unwrap()
}

fn failure(id: &str, file: &str, markers: &[&str], message: &str) -> Failure {
    Failure {
        test_id: id.into(),
        file: Some(file.into()),
        markers: markers.iter().map(|m| m.to_string()).collect(),
        message: message.into(),
        ..Failure::default()
    }
}

#[test]
fn component_by_marker_then_path_then_log_line() {
    let t = Triager::new(&config()).unwrap();
    let by_marker = t.triage(&failure("a", "tests/x.py", &["kvbm"], "E   AssertionError"));
    assert_eq!(
        (by_marker.component.as_deref(), by_marker.via),
        (Some("kvbm"), Some(Via::Marker))
    );
    let by_path = t.triage(&failure(
        "b",
        "components/src/dynamo/router/tests/t.py",
        &[],
        "E   AssertionError",
    ));
    assert_eq!(
        (by_path.component.as_deref(), by_path.via),
        (Some("router"), Some(Via::Path))
    );
    let log = "INFO ok\n2026-01-01 10:00:00 ERROR vllm - 3f2b1c4d-1111-4a2b-9c3d-0123456789ab - engine=v1 worker crashed\n";
    let by_log = t.triage(&failure("c", "tests/serve/test_x.py", &[], log));
    assert_eq!(
        (by_log.component.as_deref(), by_log.via),
        (Some("vllm"), Some(Via::LogLine))
    );
    assert_eq!(by_log.signature, "engine=v<n> worker crashed");
    // A structured line naming something that is not a component is not used.
    let unknown = t.triage(&failure(
        "d",
        "tests/x.py",
        &[],
        "web - 3f2b1c4d-1111-4a2b-9c3d-0123456789ab - boom",
    ));
    assert_eq!(unknown.component, None);
}

#[test]
fn classes() {
    let t = Triager::new(&config()).unwrap();
    let class = |m: &str| t.triage(&failure("a", "x.py", &[], m)).class;
    assert_eq!(class("E   assert 1 == 2"), Class::TestFailure);
    assert_eq!(
        class("requests.exceptions.ConnectionError: Connection refused"),
        Class::Infrastructure
    );
    assert_eq!(
        class("runner-pool exhausted for gpu_2"),
        Class::Infrastructure
    );
    assert_eq!(class("error[E0308]: mismatched types"), Class::Build);
    assert_eq!(
        class("process aborted with signal 11 (SIGSEGV)"),
        Class::Crash
    );
    assert_eq!(class("Failed: Timeout >60.0s"), Class::Timeout);
    let mut timed = failure("a", "x.py", &[], "anything");
    timed.timed_out = true;
    assert_eq!(t.triage(&timed).class, Class::Timeout);
}

#[test]
fn forty_tests_on_one_broken_fixture_are_one_cluster() {
    let t = Triager::new(&config()).unwrap();
    let mut failures = Vec::new();
    for i in 0..40 {
        failures.push(failure(
            &format!("tests/kvbm/test_k.py::test_{i}"),
            "lib/kvbm/tests/test_k.py",
            &[],
            &format!(
                "lib/kvbm/tests/conftest.py:{}: in pool\n    return Pool(size={i})\nE   RuntimeError: pool at 0x7f{i:04x} exhausted after {i} blocks in /tmp/run-{i}/cache\n",
                10 + i
            ),
        ));
    }
    failures.push(failure(
        "tests/t.py::other",
        "tests/t.py",
        &[],
        "E   KeyError: 'model'",
    ));
    let resolver = Resolver::new(&config(), None).unwrap();
    let clusters = t.clusters(&failures, &|c, class| route(&resolver, c, class));
    assert_eq!(clusters.len(), 2);
    assert_eq!(clusters[0].tests.len(), 40);
    assert_eq!(clusters[0].component.as_deref(), Some("kvbm"));
    assert_eq!(clusters[0].owner.as_ref().unwrap().owners, ["Ryan"]);
    assert_eq!(
        clusters[0].signature,
        "pool: RuntimeError: pool at <addr> exhausted after <n> blocks in <path>"
    );
    assert_eq!(clusters[1].owner.as_ref().unwrap().owners, ["Pavithra"]);
}

#[test]
fn infra_goes_to_the_infra_owner_even_with_a_component() {
    let t = Triager::new(&config()).unwrap();
    let resolver = Resolver::new(&config(), None).unwrap();
    let f = failure(
        "a",
        "lib/kvbm/t.py",
        &[],
        "OSError: [Errno 28] No space left on device",
    );
    let clusters = t.clusters(&[f], &|c, class| route(&resolver, c, class));
    assert_eq!(clusters[0].class, Class::Infrastructure);
    assert_eq!(clusters[0].owner.as_ref().unwrap().owners, ["Meenakshi"]);
    assert_eq!(clusters[0].component.as_deref(), Some("kvbm"));
}
