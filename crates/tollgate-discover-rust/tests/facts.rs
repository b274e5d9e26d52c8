//! The raw facts behind each id (location, target, attribute, features,
//! ignore/should_panic, annotation markers) on the fixture, pinned by a
//! snapshot and spot-checked by explicit assertions.

use std::path::PathBuf;

use tollgate_discover_rust::{collect, CollectOptions, Collection, FeatureSelection};
use tollgate_inventory::{MarkSource, TestItem};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ws")
}

fn collect_with(features: FeatureSelection) -> Collection {
    collect(&CollectOptions {
        paths: vec![fixture()],
        features,
    })
    .expect("collect")
}

fn find<'a>(c: &'a Collection, id: &str) -> &'a TestItem {
    c.inventory
        .tests
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("{id} not collected"))
}

fn render(t: &TestItem) -> String {
    let r = t.rust.as_ref().expect("rust facts");
    let mut line = format!(
        "{} | {}:{} | {} {} | #[{}]",
        t.id, t.file, t.line, r.target_kind, r.target_name, r.test_attribute
    );
    if !r.required_features.is_empty() {
        line.push_str(&format!(" | features={}", r.required_features.join(",")));
    }
    if let Some(reason) = &r.ignored {
        line.push_str(&format!(" | ignored({reason})"));
    }
    if r.should_panic {
        line.push_str(" | should_panic");
    }
    if !t.markers.is_empty() {
        line.push_str(&format!(" | markers={}", t.marker_names().join(",")));
    }
    line
}

#[test]
fn facts_of_every_test_with_all_features() {
    let c = collect_with(FeatureSelection {
        all_features: true,
        ..FeatureSelection::default()
    });
    let text: Vec<String> = c.inventory.tests.iter().map(render).collect();
    insta::assert_snapshot!("facts_all_features", text.join("\n"));
    let diagnostics: Vec<String> = c
        .inventory
        .diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect();
    insta::assert_snapshot!("diagnostics_all_features", diagnostics.join("\n"));
}

#[test]
fn ignore_styles_and_should_panic() {
    let c = collect_with(FeatureSelection::default());
    let facts = |id: &str| find(&c, id).rust.clone().expect("facts");
    assert_eq!(
        facts("alpha-core tests::ignored_with_reason")
            .ignored
            .as_deref(),
        Some("takes a while")
    );
    assert_eq!(
        facts("alpha-core tests::ignored_bare").ignored.as_deref(),
        Some("")
    );
    assert_eq!(
        facts("alpha-core tests::ignored_trailing_comment")
            .ignored
            .as_deref(),
        Some("")
    );
    assert!(facts("alpha-core tests::panics").should_panic);
    assert!(!facts("alpha-core tests::adds").should_panic);
    // rstest: an attribute before a `#[case]` belongs to that case only.
    assert!(facts("gamma tests::ignored_cases::case_1")
        .ignored
        .is_some());
    assert!(facts("gamma tests::ignored_cases::case_2")
        .ignored
        .is_none());
    assert_eq!(
        facts("gamma tests::async_plain").test_attribute,
        "tokio::test"
    );
    assert_eq!(
        facts("gamma tests::via_local_macro").test_attribute,
        "mytest::test"
    );
}

#[test]
fn cfg_attr_ignore_follows_features() {
    let off = collect_with(FeatureSelection::default());
    let on = collect_with(FeatureSelection {
        features: vec!["alpha-core/gpu".into()],
        ..FeatureSelection::default()
    });
    let id = "alpha-core tests::maybe_ignored";
    assert!(find(&off, id).rust.as_ref().unwrap().ignored.is_none());
    assert_eq!(
        find(&on, id).rust.as_ref().unwrap().ignored.as_deref(),
        Some("no gpu here")
    );
}

#[test]
fn annotation_markers_come_from_the_comment() {
    let c = collect_with(FeatureSelection::default());
    let t = find(&c, "alpha-core tests::annotated");
    assert_eq!(t.marker_names(), vec!["gpu_0", "integration"]);
    let m = &t.markers[0];
    assert_eq!(m.origin.source, MarkSource::Annotation);
    assert_eq!(m.origin.file, "crates/alpha/src/lib.rs");
    assert_eq!(m.origin.line, t.line - 2);
    assert!(find(&c, "alpha-core tests::adds").markers.is_empty());
}

#[test]
fn required_features_come_from_cfgs_and_targets() {
    let c = collect_with(FeatureSelection {
        all_features: true,
        ..FeatureSelection::default()
    });
    let req = |id: &str| find(&c, id).rust.clone().unwrap().required_features;
    assert_eq!(
        req("alpha-core tests::only_integration"),
        vec!["integration"]
    );
    assert_eq!(
        req("alpha-core tests::gpu_and_integration"),
        vec!["gpu", "integration"]
    );
    assert_eq!(req("alpha-core::integ gated_file"), vec!["integration"]);
    assert_eq!(req("alpha-core::needs_gpu gpu_required"), vec!["gpu"]);
    assert_eq!(req("alpha-core gpu::tests::needs_gpu_feature"), vec!["gpu"]);
    assert!(req("alpha-core tests::adds").is_empty());
}
