//! Applying `[[rules]]` to an inventory: the markers discovery cannot see
//! (what conftest hooks add, what a Rust test's location or features mean).
//!
//! Pure: the inventory is changed in place and nothing else is touched.
//! Explicit markers always stay; rules only add, never remove, and never add
//! a marker twice.

use std::collections::HashSet;

use globset::{GlobSet, GlobSetBuilder};
use tollgate_inventory::{Inventory, MarkOrigin, MarkSource, Marker, TestItem};

use crate::schema::{Config, Rule, RustAttribute, Taxonomy};
use crate::taxonomy::CanonicalNames;

type NameSet<'a> = HashSet<&'a str, foldhash::fast::RandomState>;

/// A rule with its globs compiled once for the whole inventory.
struct CompiledRule<'a> {
    rule: &'a Rule,
    paths: Option<GlobSet>,
    packages: Option<GlobSet>,
    /// The canonical markers whose presence stops the rule: each `unless`
    /// entry's marker, or every marker of the category it names.
    unless: NameSet<'a>,
}

/// Compiles a list of globs; `None` when the list is empty (no condition).
/// A glob that does not compile (only possible for a config that skipped
/// validation) makes the set match nothing rather than everything.
fn glob_set(globs: &[String]) -> Option<GlobSet> {
    if globs.is_empty() {
        return None;
    }
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        if let Ok(g) = globset::GlobBuilder::new(glob)
            .literal_separator(true)
            .build()
        {
            builder.add(g);
        }
    }
    Some(builder.build().unwrap_or_else(|_| GlobSet::empty()))
}

impl<'a> CompiledRule<'a> {
    fn new(rule: &'a Rule, taxonomy: &'a Taxonomy, canonical: &CanonicalNames<'a>) -> Self {
        let mut unless = NameSet::default();
        for name in &rule.unless {
            match taxonomy.categories.get(name) {
                Some(category) => unless.extend(category.markers.iter().map(|(m, _)| m)),
                None => {
                    unless.insert(canonical.of(name));
                }
            }
        }
        CompiledRule {
            rule,
            paths: glob_set(&rule.paths),
            packages: glob_set(&rule.packages),
            unless,
        }
    }

    /// Whether the rule's `paths` admit `file` (every file when it has none).
    fn admits_file(&self, file: &str) -> bool {
        self.paths.as_ref().is_none_or(|paths| paths.is_match(file))
    }

    /// Whether the rule applies to `test`, whose file the rule's `paths`
    /// admit ([`CompiledRule::admits_file`], asked once per file).
    fn matches_in_admitted_file(&self, test: &TestItem, canonical: &CanonicalNames<'_>) -> bool {
        let rule = self.rule;
        if rule.language.is_some_and(|l| l != test.language) {
            return false;
        }
        let needs_rust = !rule.target_kind.is_empty()
            || !rule.features.is_empty()
            || rule.attribute.is_some()
            || self.packages.is_some();
        if needs_rust {
            let Some(facts) = &test.rust else {
                return false;
            };
            if !rule.target_kind.is_empty() && !rule.target_kind.contains(&facts.target_kind) {
                return false;
            }
            if !rule
                .features
                .iter()
                .all(|f| facts.required_features.contains(f))
            {
                return false;
            }
            let attribute_ok = match rule.attribute {
                None => true,
                Some(RustAttribute::Ignore) => facts.ignored.is_some(),
                Some(RustAttribute::ShouldPanic) => facts.should_panic,
            };
            if !attribute_ok {
                return false;
            }
            if let Some(packages) = &self.packages {
                if !packages.is_match(&facts.package) {
                    return false;
                }
            }
        }
        // `unless`: the test carries none of the named markers (under any
        // alias spelling) nor any marker of a named category.
        self.unless.is_empty()
            || !test
                .markers
                .iter()
                .any(|m| self.unless.contains(canonical.of(&m.name)))
    }
}

impl Config {
    /// Drops the tests and diagnostics of files `[discovery] exclude` names
    /// (fixtures, vendored code): they are not the project's tests, so no
    /// command should list, plan, run or judge them. Paths are relative to
    /// the project root, as discovery reports them.
    pub fn drop_excluded(&self, inv: &mut Inventory) -> Result<(), globset::Error> {
        if self.discovery.exclude.is_empty() {
            return Ok(());
        }
        let globs = compile_globs(&self.discovery.exclude)?;
        inv.tests.retain(|t| !globs.is_match(&t.file));
        inv.diagnostics
            .retain(|d| d.file.is_empty() || !globs.is_match(&d.file));
        Ok(())
    }

    /// Adds the markers of every matching rule, in rule order, to every test.
    /// Each added [`Marker`] has [`MarkSource::ConfigRule`] and an origin
    /// pointing at the rule's `[[rules]]` line in this file.
    pub fn apply_rules(&self, inv: &mut Inventory) {
        let canonical = self.taxonomy.canonical_names();
        let rules: Vec<CompiledRule<'_>> = self
            .rules
            .iter()
            .map(|rule| CompiledRule::new(rule, &self.taxonomy, &canonical))
            .collect();
        if rules.is_empty() {
            return;
        }
        // Tests of one file are neighbours in an inventory, and the path
        // globs are most of a rule's cost: they are matched once per file.
        let mut admitted: Vec<bool> = Vec::with_capacity(rules.len());
        let mut admitted_for: Option<String> = None;
        for test in &mut inv.tests {
            if admitted_for.as_deref() != Some(test.file.as_str()) {
                admitted.clear();
                admitted.extend(rules.iter().map(|r| r.admits_file(&test.file)));
                admitted_for = Some(test.file.clone());
            }
            for (compiled, _) in rules.iter().zip(&admitted).filter(|(_, ok)| **ok) {
                if !compiled.matches_in_admitted_file(test, &canonical) {
                    continue;
                }
                for name in &compiled.rule.markers {
                    if test.has_marker(name) {
                        continue;
                    }
                    test.markers.push(Marker::new(
                        name.clone(),
                        MarkOrigin {
                            file: self.origin_file.clone(),
                            line: compiled.rule.line,
                            source: MarkSource::ConfigRule,
                            learned: None,
                        },
                    ));
                }
            }
        }
    }
}

/// Compiles globs for other crates that match paths the way rules do
/// (`*` stays within a directory, `**` crosses them).
pub fn compile_globs(globs: &[String]) -> Result<GlobSet, globset::Error> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(
            globset::GlobBuilder::new(glob)
                .literal_separator(true)
                .build()?,
        );
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use tollgate_inventory::{Language, RustFacts};

    use super::*;

    const SRC: &str = r#"
[taxonomy.categories.type]
exclusive = true
markers = { unit = "u", integration = "i", e2e = "e" }

[taxonomy.categories.other]
markers = { slow = "s", kvbm = "k" }

[[rules]]
language = "python"
paths = ["tests/serve/**"]
markers = ["e2e"]

[[rules]]
target_kind = ["lib", "bin"]
unless = ["type"]
markers = ["unit"]

[[rules]]
target_kind = ["test"]
features = ["integration"]
markers = ["integration"]

[[rules]]
attribute = "ignore"
markers = ["slow"]

[[rules]]
packages = ["dynamo-kvbm*"]
markers = ["kvbm"]
"#;

    fn python(file: &str, markers: &[&str]) -> TestItem {
        TestItem {
            id: format!("{file}::test_x"),
            language: Language::Python,
            file: file.into(),
            line: 1,
            function: format!("{file}::test_x"),
            markers: markers
                .iter()
                .map(|m| {
                    Marker::new(
                        *m,
                        MarkOrigin {
                            file: file.into(),
                            line: 1,
                            source: MarkSource::FunctionDecorator,
                            learned: None,
                        },
                    )
                })
                .collect(),
            dynamic: None,
            rust: None,
        }
    }

    fn rust(package: &str, kind: &str, features: &[&str], ignored: bool) -> TestItem {
        TestItem {
            id: format!("{package} t"),
            language: Language::Rust,
            file: format!("lib/{package}/src/lib.rs"),
            line: 3,
            function: "t".into(),
            markers: Vec::new(),
            dynamic: None,
            rust: Some(RustFacts {
                package: package.into(),
                target_kind: kind.into(),
                target_name: package.into(),
                binary_id: package.into(),
                required_features: features.iter().map(|f| f.to_string()).collect(),
                test_attribute: "test".into(),
                ignored: ignored.then(String::new),
                ..RustFacts::default()
            }),
        }
    }

    fn names(test: &TestItem) -> Vec<&str> {
        test.markers.iter().map(|m| m.name.as_str()).collect()
    }

    /// `unless` names a marker (any spelling stops the rule, through an
    /// alias chain too) or a category (any of its markers stops it).
    #[test]
    fn unless_follows_aliases_and_categories() {
        let src = r#"
[taxonomy.categories.type]
markers = { unit = "u", e2e = "e" }

[taxonomy.categories.hardware]
markers = { gpu_1 = "g", gpu_2 = "g2", cpu_only = "c" }

[taxonomy.aliases]
gpus_needed_1 = "gpu_1"
one_gpu = "gpus_needed_1"

[[rules]]
unless = ["gpu_1"]
markers = ["cpu_only"]

[[rules]]
unless = ["type"]
markers = ["unit"]
"#;
        let config = Config::from_str(src, "tollgate.toml").unwrap();
        let mut inv = Inventory {
            tests: vec![
                python("t.py", &[]),
                python("t.py", &["gpu_1"]),
                python("t.py", &["one_gpu"]),
                python("t.py", &["gpus_needed_1", "e2e"]),
                python("t.py", &["gpu_2"]),
            ],
            diagnostics: Vec::new(),
        };
        config.apply_rules(&mut inv);
        let got: Vec<Vec<&str>> = inv.tests.iter().map(names).collect();
        assert_eq!(
            got,
            vec![
                vec!["cpu_only", "unit"],
                vec!["gpu_1", "unit"],
                vec!["one_gpu", "unit"],
                vec!["gpus_needed_1", "e2e"],
                vec!["gpu_2", "cpu_only", "unit"],
            ]
        );
    }

    #[test]
    fn excluded_files_leave_tests_and_diagnostics() {
        let src = r#"
[discovery]
exclude = ["crates/*/tests/fixtures/**", "vendor/**"]
"#;
        let config = Config::from_str(src, "tollgate.toml").unwrap();
        let diagnostic = |file: &str| tollgate_inventory::Diagnostic {
            severity: tollgate_inventory::Severity::Warning,
            code: "parse-error".into(),
            file: file.into(),
            line: 1,
            column: 1,
            message: "m".into(),
        };
        let mut inv = Inventory {
            tests: vec![
                python("crates/a/tests/fixtures/p/tests/test_x.py", &[]),
                python("crates/a/tests/test_real.py", &[]),
                python("vendor/lib/test_v.py", &[]),
                // `*` stays within one directory.
                python("crates/a/b/tests/fixtures/test_deep.py", &[]),
            ],
            diagnostics: vec![
                diagnostic("vendor/x.py"),
                diagnostic("src/y.py"),
                diagnostic(""),
            ],
        };
        config.drop_excluded(&mut inv).unwrap();
        let files: Vec<&str> = inv.tests.iter().map(|t| t.file.as_str()).collect();
        assert_eq!(
            files,
            [
                "crates/a/tests/test_real.py",
                "crates/a/b/tests/fixtures/test_deep.py"
            ]
        );
        let diag_files: Vec<&str> = inv.diagnostics.iter().map(|d| d.file.as_str()).collect();
        assert_eq!(diag_files, ["src/y.py", ""]);
    }

    #[test]
    fn rules_add_markers_with_their_origin() {
        let config = crate::Config::from_str(SRC, "tollgate.toml").unwrap();
        let mut inv = Inventory {
            tests: vec![
                python("tests/serve/test_api.py", &[]),
                python("tests/other/test_api.py", &[]),
                rust("dynamo-runtime", "lib", &[], false),
                rust("dynamo-kvbm", "test", &["integration"], true),
                rust("dynamo-llm", "test", &[], false),
            ],
            diagnostics: Vec::new(),
        };
        config.apply_rules(&mut inv);
        assert_eq!(names(&inv.tests[0]), ["e2e"]);
        assert!(names(&inv.tests[1]).is_empty());
        assert_eq!(names(&inv.tests[2]), ["unit"]);
        assert_eq!(names(&inv.tests[3]), ["integration", "slow", "kvbm"]);
        assert!(names(&inv.tests[4]).is_empty(), "no integration feature");

        let origin = &inv.tests[0].markers[0].origin;
        assert_eq!(origin.source, MarkSource::ConfigRule);
        assert_eq!(origin.file, "tollgate.toml");
        assert_eq!(origin.line, 9, "line of the first [[rules]] header");
        assert_eq!(inv.tests[3].markers[1].origin.line, 24);
    }

    #[test]
    fn explicit_markers_win_and_nothing_is_added_twice() {
        let config = crate::Config::from_str(SRC, "tollgate.toml").unwrap();
        let mut annotated = rust("dynamo-runtime", "lib", &[], false);
        annotated.markers.push(Marker::new(
            "integration",
            MarkOrigin {
                file: "lib/dynamo-runtime/src/lib.rs".into(),
                line: 2,
                source: MarkSource::Annotation,
                learned: None,
            },
        ));
        let mut inv = Inventory {
            tests: vec![annotated, python("tests/serve/test_a.py", &["e2e"])],
            diagnostics: Vec::new(),
        };
        config.apply_rules(&mut inv);
        config.apply_rules(&mut inv);
        assert_eq!(
            names(&inv.tests[0]),
            ["integration"],
            "`unless = [\"type\"]`"
        );
        assert_eq!(names(&inv.tests[1]), ["e2e"]);
        assert_eq!(
            inv.tests[1].markers[0].origin.source,
            MarkSource::FunctionDecorator
        );
    }
}
