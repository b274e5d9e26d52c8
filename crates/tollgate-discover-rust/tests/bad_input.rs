//! Bad input never panics: each problem becomes exactly one diagnostic (with
//! file, line and column where there is one) and everything else is still
//! collected.

use std::path::Path;

use tollgate_discover_rust::{collect, CollectOptions, FeatureSelection};
use tollgate_inventory::Diagnostic;

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn run(root: &Path) -> (Vec<String>, Vec<Diagnostic>) {
    let collection = collect(&CollectOptions {
        paths: vec![root.to_path_buf()],
        features: FeatureSelection::default(),
    })
    .expect("collect");
    let ids = collection
        .inventory
        .tests
        .iter()
        .map(|t| t.id.clone())
        .collect();
    (ids, collection.inventory.diagnostics)
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<(String, String, u32)> {
    let mut out: Vec<_> = diagnostics
        .iter()
        .map(|d| (d.code.clone(), d.file.clone(), d.line))
        .collect();
    out.sort();
    out
}

#[test]
fn each_bad_file_is_one_diagnostic_and_the_rest_is_collected() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "Cargo.toml",
        b"[package]\nname = \"bad\"\nedition = \"2021\"\n",
    );
    write(
        root,
        "src/lib.rs",
        b"mod broken;\nmod latin1;\nmod big;\nmod missing;\nmod looped;\nmod good;\n\n#[test]\nfn root_test() {}\n",
    );
    write(
        root,
        "src/broken.rs",
        b"#[test]\nfn fine() {}\n\nfn broken( {\n",
    );
    write(root, "src/latin1.rs", b"// caf\xe9\n#[test]\nfn t() {}\n");
    write(root, "src/good.rs", b"#[test]\nfn still_collected() {}\n");
    // 50 MB of valid Rust.
    let line = b"// padding padding padding padding padding padding padding\n";
    let big: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(50 * 1024 * 1024)
        .collect();
    write(root, "src/big.rs", &big);
    std::os::unix::fs::symlink("looped.rs", root.join("src/looped.rs")).unwrap();
    // A directory symlink loop below the search root must not hang the walk.
    std::os::unix::fs::symlink(".", root.join("src/dirloop")).unwrap();
    write(root, "sub/Cargo.toml", b"[package\nname = \"sub\"\n");

    let (ids, diagnostics) = run(root);
    assert_eq!(
        ids,
        vec!["bad good::still_collected", "bad root_test"],
        "{diagnostics:#?}"
    );
    assert_eq!(
        codes(&diagnostics),
        vec![
            ("file-too-large".to_string(), "src/big.rs".to_string(), 0),
            (
                "invalid-manifest".to_string(),
                "sub/Cargo.toml".to_string(),
                1
            ),
            ("missing-module".to_string(), "src/lib.rs".to_string(), 4),
            ("not-utf8".to_string(), "src/latin1.rs".to_string(), 0),
            ("parse-error".to_string(), "src/broken.rs".to_string(), 4),
            ("unreadable".to_string(), "src/looped.rs".to_string(), 0),
        ]
    );
    let parse = diagnostics
        .iter()
        .find(|d| d.code == "parse-error")
        .unwrap();
    assert!(parse.column > 0);
    let missing = diagnostics
        .iter()
        .find(|d| d.code == "missing-module")
        .unwrap();
    assert_eq!(missing.column, 5);
}

#[test]
fn unreadable_directory_is_one_diagnostic() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "ok/Cargo.toml", b"[package]\nname = \"ok\"\n");
    write(root, "ok/src/lib.rs", b"#[test]\nfn t() {}\n");
    let locked = root.join("locked");
    write(root, "locked/Cargo.toml", b"[package]\nname = \"locked\"\n");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let readable_anyway = std::fs::read_dir(&locked).is_ok(); // running as root
    let (ids, diagnostics) = run(root);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    if readable_anyway {
        eprintln!("NOTE: running as root; permissions are not enforced, only the walk is checked");
        assert!(ids.contains(&"ok t".to_string()));
        return;
    }
    assert_eq!(ids, vec!["ok t"]);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(diagnostics[0].code, "unreadable");
    assert_eq!(diagnostics[0].file, "locked");
}

#[test]
fn module_cycles_through_path_attributes_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "Cargo.toml", b"[package]\nname = \"cyc\"\n");
    write(
        root,
        "src/lib.rs",
        b"#[path = \"lib.rs\"]\nmod again;\n\n#[test]\nfn once() {}\n",
    );
    let (ids, diagnostics) = run(root);
    assert_eq!(ids, vec!["cyc once"]);
    assert_eq!(
        codes(&diagnostics),
        vec![("module-cycle".to_string(), "src/lib.rs".to_string(), 2)]
    );
}

#[test]
fn macro_generated_and_unsupported_tests_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "Cargo.toml", b"[package]\nname = \"mac\"\n");
    write(
        root,
        "src/lib.rs",
        b"#[cfg(test)]\nmod tests {\n    make_tests! { #[test] fn generated() {} }\n\n    #[test_case(1 => is gt 0)]\n    fn tc(_n: u8) {}\n\n    #[test]\n    fn visible() {}\n}\n",
    );
    let (ids, diagnostics) = run(root);
    assert_eq!(ids, vec!["mac tests::visible"]);
    assert_eq!(
        codes(&diagnostics),
        vec![
            ("incomplete-binary".to_string(), "src/lib.rs".to_string(), 0),
            ("macro-tests".to_string(), "src/lib.rs".to_string(), 3),
            (
                "unsupported-test-attribute".to_string(),
                "src/lib.rs".to_string(),
                5
            ),
        ]
    );
}

#[test]
fn a_shared_bad_module_is_reported_once() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(root, "Cargo.toml", b"[package]\nname = \"shared\"\n");
    write(
        root,
        "tests/common/mod.rs",
        b"#[cfg(tokio_unstable)]\nfn x() {}\nfn broken( {\n",
    );
    for name in ["a", "b"] {
        write(
            root,
            &format!("tests/{name}.rs"),
            format!("mod common;\n#[cfg(not(tokio_unstable))]\n#[test]\nfn {name}() {{}}\n")
                .as_bytes(),
        );
    }
    let (ids, diagnostics) = run(root);
    assert_eq!(ids, vec!["shared::a a", "shared::b b"]);
    assert_eq!(
        codes(&diagnostics),
        vec![
            (
                "parse-error".to_string(),
                "tests/common/mod.rs".to_string(),
                3
            ),
            ("unknown-cfg".to_string(), "tests/a.rs".to_string(), 2),
            ("unknown-cfg".to_string(), "tests/b.rs".to_string(), 2),
        ]
    );
}

/// A package with one `src/lib.rs`, collected on this test's thread.
fn lib_only(lib: &str) -> (Vec<String>, Vec<Diagnostic>) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "Cargo.toml",
        b"[package]\nname = \"deep\"\nedition = \"2021\"\n",
    );
    write(root, "src/lib.rs", lib.as_bytes());
    run(root)
}

#[test]
fn deeply_nested_test_code_is_collected_without_overflowing_the_stack() {
    // rustc compiles each of these; syn parses (and drops) them recursively.
    let ifs = format!(
        "#[test]\nfn many_ifs() {{\n{}let _x = 1;\n{}}}\n",
        "if true {\n".repeat(350),
        "}\n".repeat(350)
    );
    let blocks = format!(
        "#[test]\nfn many_blocks() {{\n{}{}}}\n",
        "{\n".repeat(500),
        "}\n".repeat(500)
    );
    let modules = format!(
        "{}#[test]\nfn in_module() {{}}\n{}",
        "pub mod m {\n".repeat(500),
        "}\n".repeat(500)
    );
    let types = format!(
        "#[test]\nfn nested_type() {{\n    let _x: {}u8{} = None;\n}}\n",
        "Option<".repeat(500),
        ">".repeat(500)
    );
    let (ids, diagnostics) = lib_only(&format!("{ifs}{blocks}{modules}{types}"));
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    let module_path = "m::".repeat(500);
    assert_eq!(
        ids,
        vec![
            format!("deep {module_path}in_module"),
            "deep many_blocks".to_string(),
            "deep many_ifs".to_string(),
            "deep nested_type".to_string(),
        ]
    );
}

#[test]
fn nesting_beyond_the_limit_is_one_too_deep_diagnostic() {
    let lib = format!(
        "mod deep;\n#[test]\nfn fine() {{}}\n// {}\n",
        "x".repeat(10)
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        root,
        "Cargo.toml",
        b"[package]\nname = \"deep\"\nedition = \"2021\"\n",
    );
    write(root, "src/lib.rs", lib.as_bytes());
    let depth = tollgate_discover_rust::scan::MAX_GROUP_DEPTH + 50;
    write(
        root,
        "src/deep.rs",
        format!(
            "#[test]\nfn lost() {{\n{}{}}}\n",
            "{".repeat(depth),
            "}".repeat(depth)
        )
        .as_bytes(),
    );
    let (ids, diagnostics) = run(root);
    assert_eq!(ids, vec!["deep fine".to_string()]);
    assert_eq!(
        codes(&diagnostics),
        vec![("too-deep".to_string(), "src/deep.rs".to_string(), 3)]
    );
    assert!(
        diagnostics[0].message.contains("too deep"),
        "{diagnostics:#?}"
    );
}

#[test]
fn runaway_macros_are_one_diagnostic_each_and_stop() {
    let arms: String = (0..10_000)
        .map(|i| format!("    (arm{i}) => {{ #[test] fn arm_{i}() {{}} }};\n"))
        .collect();
    let lib = format!(
        r#"macro_rules! forever {{
    () => {{ forever!(); }};
}}
macro_rules! ping {{
    ($($t:tt)*) => {{ pong!($($t)* x); }};
}}
macro_rules! pong {{
    ($($t:tt)*) => {{ ping!($($t)* y); }};
}}
macro_rules! doubling {{
    () => {{ doubling!(); doubling!(); }};
}}
macro_rules! wide {{
{arms}}}

#[cfg(test)]
mod tests {{
    forever!();
    ping!();
    wide!(arm9999);
    wide!(arm0);
    #[test]
    fn survivor() {{}}
}}

#[cfg(test)]
mod exponential {{
    doubling!();
}}
"#
    );
    let (ids, diagnostics) = lib_only(&lib);
    assert_eq!(
        ids,
        vec![
            "deep tests::arm_0".to_string(),
            "deep tests::arm_9999".to_string(),
            "deep tests::survivor".to_string(),
        ]
    );
    let line_of = |text: &str| {
        lib.lines()
            .position(|l| l.trim() == text)
            .map(|i| i as u32 + 1)
            .unwrap()
    };
    let at: std::collections::BTreeSet<(String, u32)> = diagnostics
        .iter()
        .map(|d| (d.code.clone(), d.line))
        .collect();
    // `forever!()` and `ping!()` hit the depth limit, `doubling!()` the
    // expansion budget; each is reported at its call, and the binary is
    // marked incomplete.
    let expected: std::collections::BTreeSet<(String, u32)> = [
        ("macro-recursion".to_string(), line_of("forever!();")),
        ("macro-recursion".to_string(), line_of("ping!();")),
        ("macro-recursion".to_string(), line_of("doubling!();")),
        ("incomplete-binary".to_string(), 0),
    ]
    .into_iter()
    .collect();
    assert_eq!(at, expected, "{diagnostics:#?}");
}
