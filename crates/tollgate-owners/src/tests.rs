use tollgate_inventory::{Language, MarkOrigin, MarkSource, MarkValue, Marker, TestItem};

use super::*;

fn config() -> Config {
    toml::from_str(
        r#"
[components.router]
paths = ["components/src/dynamo/router/**"]
owner = "Rudy"
[components.nixl]
paths = ["lib/nixl/**"]
[frameworks.vllm]
paths = ["components/backends/vllm/**"]
owner = "Alec"
[owners]
fallback = "Pavithra"
[owners.ci_areas]
infra_fail = "Meenakshi"
"#,
    )
    .unwrap()
}

fn test(file: &str, markers: Vec<Marker>) -> TestItem {
    TestItem {
        id: format!("{file}::test_x"),
        language: Language::Python,
        file: file.into(),
        line: 3,
        function: format!("{file}::test_x"),
        markers,
        dynamic: None,
        rust: None,
    }
}

fn marker(name: &str, arg: Option<&str>) -> Marker {
    let mut m = Marker::new(
        name,
        MarkOrigin {
            file: "tests/a.py".into(),
            line: 2,
            source: MarkSource::FunctionDecorator,
            learned: None,
        },
    );
    if let Some(a) = arg {
        m.args.push(MarkValue::Str(a.into()));
    }
    m
}

#[test]
fn owner_marker_then_component_marker_then_path_then_codeowners_then_fallback() {
    let codeowners = CodeOwners::parse("CODEOWNERS", "/tools/ @tooling\n", Flavor::Github).unwrap();
    let r = Resolver::new(&config(), Some(codeowners)).unwrap();
    let o = r
        .for_test(&test(
            "tests/a.py",
            vec![marker("owner", Some("alice")), marker("router", None)],
        ))
        .unwrap();
    assert_eq!(o.owners, ["alice"]);
    assert_eq!(o.component.as_deref(), Some("router"));
    assert_eq!(o.why, "marker `owner` at tests/a.py:2");
    let o = r
        .for_test(&test("tests/a.py", vec![marker("vllm", None)]))
        .unwrap();
    assert_eq!(
        (o.owners[0].as_str(), o.why.as_str()),
        ("Alec", "framework `vllm` by marker `vllm` at tests/a.py:2")
    );
    let o = r
        .for_test(&test("components/src/dynamo/router/t.py", vec![]))
        .unwrap();
    assert_eq!(
        o.why,
        "component `router` by path `components/src/dynamo/router/**`"
    );
    let o = r.for_path("tools/x.sh").unwrap();
    assert_eq!(
        (o.owners[0].as_str(), o.why.as_str()),
        ("@tooling", "CODEOWNERS:1 `/tools/`")
    );
    // nixl has no owner: CODEOWNERS, then the fallback.
    let o = r.for_path("lib/nixl/a.rs").unwrap();
    assert_eq!(
        (o.owners[0].as_str(), o.component.as_deref()),
        ("Pavithra", Some("nixl"))
    );
    assert_eq!(r.unowned_units(), [("component", "nixl")]);
}

#[test]
fn ci_areas_and_their_fallback() {
    let r = Resolver::new(&config(), None).unwrap();
    assert_eq!(r.for_area(CiArea::InfraFail).unwrap().owners, ["Meenakshi"]);
    let o = r.for_area(CiArea::DockerBuild).unwrap();
    assert_eq!(o.owners, ["Pavithra"]);
    assert!(o.why.contains("fallback"));
}
