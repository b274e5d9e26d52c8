//! Scale: a synthetic workspace of 240 source files and 6,000 tests (unit
//! tests in nested `mod` files, integration tests, rstest cases, feature
//! gates) is collected completely. Timing is printed, not asserted (see
//! `examples/time_collect.rs` for a release-mode measurement).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use tollgate_discover_rust::{
    collect, nextest_list_ids, CollectOptions, FeatureSelection, RunIgnored,
};

const CRATES: usize = 8;
const MODULES: usize = 25; // per crate, plus lib.rs and 4 integration tests
const TESTS_PER_MODULE: usize = 24;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Writes the corpus; returns how many tests nextest would list by default.
fn generate(root: &Path) -> usize {
    let members: Vec<String> = (0..CRATES).map(|c| format!("\"crates/c{c}\"")).collect();
    write(
        root,
        "Cargo.toml",
        &format!("[workspace]\nmembers = [{}]\n", members.join(", ")),
    );
    let mut listed = 0;
    for c in 0..CRATES {
        let dir = format!("crates/c{c}");
        write(
            root,
            &format!("{dir}/Cargo.toml"),
            &format!("[package]\nname = \"c{c}\"\n\n[features]\ndefault = []\nintegration = []\n"),
        );
        let mut lib = String::new();
        for m in 0..MODULES {
            writeln!(lib, "pub mod m{m};").unwrap();
            let mut module =
                String::from("pub fn helper() -> u32 { 1 }\n\n#[cfg(test)]\nmod tests {\n");
            for t in 0..TESTS_PER_MODULE {
                match t % 6 {
                    0 => writeln!(
                        module,
                        "    #[test]\n    #[ignore = \"slow\"]\n    fn t{t}() {{}}\n"
                    )
                    .unwrap(),
                    1 => writeln!(
                        module,
                        "    #[cfg(feature = \"integration\")]\n    #[test]\n    fn t{t}() {{}}\n"
                    )
                    .unwrap(),
                    2 => {
                        writeln!(module, "    #[rstest::rstest]\n    #[case(1)]\n    #[case(2)]\n    fn t{t}(#[case] _n: u32) {{}}\n").unwrap();
                        listed += 2;
                    }
                    _ => {
                        writeln!(
                            module,
                            "    #[test]\n    fn t{t}() {{ assert_eq!(super::helper(), 1); }}\n"
                        )
                        .unwrap();
                        listed += 1;
                    }
                }
            }
            module.push_str("}\n");
            write(root, &format!("{dir}/src/m{m}.rs"), &module);
        }
        write(root, &format!("{dir}/src/lib.rs"), &lib);
        for i in 0..4 {
            let mut text = String::new();
            for t in 0..10 {
                writeln!(text, "#[tokio::test]\nasync fn it{t}() {{}}\n").unwrap();
                listed += 1;
            }
            write(root, &format!("{dir}/tests/it{i}.rs"), &text);
        }
    }
    listed
}

#[test]
fn a_large_workspace_is_collected_completely() {
    let tmp = tempfile::tempdir().unwrap();
    let expected = generate(tmp.path());
    let start = Instant::now();
    let collection = collect(&CollectOptions {
        paths: vec![tmp.path().to_path_buf()],
        features: FeatureSelection::default(),
    })
    .unwrap();
    let elapsed = start.elapsed();
    let inventory = &collection.inventory;
    assert!(
        inventory.diagnostics.is_empty(),
        "{:?}",
        inventory.diagnostics
    );
    let listed = nextest_list_ids(inventory, RunIgnored::Default).len();
    assert_eq!(listed, expected);
    assert!(inventory.tests.len() >= 5_000, "{}", inventory.tests.len());
    eprintln!(
        "collected {} tests ({} listed) from {} files in {elapsed:?} (debug build)",
        inventory.tests.len(),
        listed,
        CRATES * (MODULES + 5)
    );
}
