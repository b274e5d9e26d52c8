//! The inventory learned from real pytest runs.
//!
//! Static discovery flags what it cannot know (`dynamic`); pytest itself,
//! run in the project's environment, knows. `tollgate learn` (and every
//! pytest job of `tollgate run`) loads [`PLUGIN_SOURCE`], which writes what
//! pytest collected: each item's node id, line and marks. Those items are
//! grouped per test file and keyed by [`file_key`], a hash of the file, its
//! conftest chain and the ini file; static collection uses a file's learned
//! items in place of its dynamic entries **only while the key still
//! matches**, so an edit to the file (or to a conftest above it, or to the
//! ini file) makes that file fall back to static discovery.
//!
//! Everything here is pure except [`file_key`] and [`keys_for`], which read
//! the files they hash.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tollgate_inventory::{
    Inventory, Language, MarkOrigin, MarkSource, MarkValue, Marker, TestItem,
};

/// The pytest plugin, loaded as `-p` [`PLUGIN_MODULE`]; it writes its report
/// to the file named by [`OUTPUT_ENV`].
pub const PLUGIN_SOURCE: &str = include_str!("learn_plugin.py");
/// The module name the plugin is written as (`<name>.py` on `PYTHONPATH`).
pub const PLUGIN_MODULE: &str = "tollgate_learn";
/// The environment variable naming the file the plugin writes.
pub const OUTPUT_ENV: &str = "TOLLGATE_LEARN_FILE";
/// The environment variable naming a directory the plugin writes a report
/// of its own into (`learn-<pid>-<ns>.json`), for runs of many processes.
pub const OUTPUT_DIR_ENV: &str = "TOLLGATE_LEARN_DIR";

/// One mark as `item.iter_markers()` yields it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedMark {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<MarkValue>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kwargs: BTreeMap<String, MarkValue>,
}

/// One collected item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedItem {
    /// pytest's node id (relative to its rootdir).
    pub id: String,
    /// 1-based line of the test's definition (0 when pytest gave none).
    #[serde(default)]
    pub line: u32,
    #[serde(default)]
    pub marks: Vec<LearnedMark>,
}

/// What the plugin writes.
#[derive(Debug, Clone, Deserialize)]
pub struct PluginReport {
    pub rootdir: PathBuf,
    #[serde(default)]
    pub inifile: Option<PathBuf>,
    pub items: Vec<LearnedItem>,
    /// Files only part of which was collected (an argument selected inside
    /// them with `::`): not recorded, since their items are not all there.
    #[serde(default)]
    pub partial: Vec<String>,
    /// Files pytest could not collect: not recorded.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// The items of one test file, with the key they were learned under.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedFile {
    /// Relative to pytest's rootdir, `/`-separated.
    pub path: String,
    pub key: String,
    /// The learn id or run key that recorded it.
    pub source: String,
    pub items: Vec<LearnedItem>,
}

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("cannot read the learn plugin's report: {0}")]
    Report(String),
    #[error("stored learned items of {path} are not valid: {message}")]
    Stored { path: String, message: String },
}

/// Parses the plugin's report.
pub fn parse_report(text: &str) -> Result<PluginReport, LearnError> {
    serde_json::from_str(text).map_err(|e| LearnError::Report(e.to_string()))
}

/// The file part of a node id.
fn file_of(id: &str) -> &str {
    id.split("::").next().unwrap_or(id)
}

/// The report's items per file, in pytest's order, without the files that
/// were collected partly or with errors (pure).
pub fn files_of(report: &PluginReport) -> Vec<(String, Vec<LearnedItem>)> {
    let skip: HashSet<&str> = report
        .partial
        .iter()
        .chain(&report.errors)
        .map(String::as_str)
        .collect();
    let mut order: Vec<String> = Vec::new();
    let mut by_file: HashMap<String, Vec<LearnedItem>> = HashMap::new();
    for item in &report.items {
        let file = file_of(&item.id);
        // Items outside the rootdir have ids that are not relative paths.
        if skip.contains(file) || file.starts_with('/') || file.starts_with("..") {
            continue;
        }
        let entry = by_file.entry(file.to_string()).or_insert_with(|| {
            order.push(file.to_string());
            Vec::new()
        });
        entry.push(item.clone());
    }
    order
        .into_iter()
        .filter_map(|f| by_file.remove(&f).map(|items| (f, items)))
        .collect()
}

/// The key a test file's items are learned under: SHA-256 of its path, its
/// content, every `conftest.py` from `rootdir` down to its directory, and the
/// ini file (I/O: reads them). `None` when the file cannot be read.
///
/// Modules the test imports are not part of the key: a test generated from a
/// helper module changes without the key changing; `collect --verify` shows
/// such drift.
pub fn file_key(rootdir: &Path, inifile: Option<&Path>, rel: &str) -> Option<String> {
    let mut hash = Sha256::new();
    let mut feed = |label: &str, name: &str, bytes: &[u8]| {
        hash.update(label.as_bytes());
        hash.update([0]);
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    feed("tollgate-learned-v1", "", &[]);
    let file = rootdir.join(rel);
    feed("file", rel, &std::fs::read(&file).ok()?);
    let mut dir = PathBuf::new();
    let parent = Path::new(rel).parent().unwrap_or(Path::new(""));
    let mut chain = vec![PathBuf::new()];
    for part in parent.components() {
        dir.push(part);
        chain.push(dir.clone());
    }
    for d in chain {
        let conftest = d.join("conftest.py");
        if let Ok(bytes) = std::fs::read(rootdir.join(&conftest)) {
            feed("conftest", &conftest.to_string_lossy(), &bytes);
        }
    }
    if let Some(ini) = inifile {
        let name = ini
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        feed("ini", &name, &std::fs::read(ini).unwrap_or_default());
    }
    Some(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// [`file_key`] of each file (I/O), in parallel; unreadable files are left out.
pub fn keys_for(
    rootdir: &Path,
    inifile: Option<&Path>,
    files: &[String],
) -> HashMap<String, String> {
    use rayon::prelude::*;
    files
        .par_iter()
        .filter_map(|f| file_key(rootdir, inifile, f).map(|k| (f.clone(), k)))
        .collect()
}

/// The files of a plugin report, keyed, ready to store (I/O: hashes them).
pub fn learned_files(report: &PluginReport, source: &str) -> Vec<LearnedFile> {
    let files = files_of(report);
    let names: Vec<String> = files.iter().map(|(f, _)| f.clone()).collect();
    let keys = keys_for(&report.rootdir, report.inifile.as_deref(), &names);
    files
        .into_iter()
        .filter_map(|(path, items)| {
            let key = keys.get(&path)?.clone();
            Some(LearnedFile {
                path,
                key,
                source: source.to_string(),
                items,
            })
        })
        .collect()
}

/// A file's items as the JSON the store keeps.
pub fn encode_items(items: &[LearnedItem]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Items stored by [`encode_items`].
pub fn decode_items(path: &str, text: &str) -> Result<Vec<LearnedItem>, LearnError> {
    serde_json::from_str(text).map_err(|e| LearnError::Stored {
        path: path.to_string(),
        message: e.to_string(),
    })
}

/// The inventory item for a learned one.
pub fn test_item(file: &str, item: &LearnedItem, source: &str) -> TestItem {
    let origin = MarkOrigin {
        file: file.to_string(),
        line: item.line,
        source: MarkSource::Learned,
        learned: Some(source.to_string()),
    };
    TestItem {
        id: item.id.clone(),
        language: Language::Python,
        file: file.to_string(),
        line: item.line,
        function: function_of(&item.id).to_string(),
        markers: item
            .marks
            .iter()
            .map(|m| Marker {
                name: m.name.clone(),
                args: m.args.clone(),
                kwargs: m.kwargs.clone(),
                origin: origin.clone(),
            })
            .collect(),
        dynamic: None,
        rust: None,
    }
}

/// The node id without its `[param]` suffix.
fn function_of(id: &str) -> &str {
    // Python names hold no `[`: the first one after the path starts the
    // parameters (which may hold `::` and `[` themselves).
    let after_path = id.find("::").map_or(id.len(), |i| i + 2);
    match id[after_path..].find('[') {
        Some(i) => &id[..after_path + i],
        None => id,
    }
}

/// What [`apply`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Files whose items came from pytest.
    pub files: usize,
    /// Dynamic entries replaced.
    pub replaced: usize,
    /// Items put in their place.
    pub items: usize,
}

/// Replaces every file that has an entry flagged `dynamic` by the items
/// pytest collected from it, when `learned` has the file (the caller looked
/// it up by the file's current key, so it is up to date). The whole file is
/// taken from pytest, in pytest's order, at the place of its first entry: a
/// dynamic entry may stand for any number of items. Other files are left as
/// they are (pure).
pub fn apply(inventory: &mut Inventory, learned: &HashMap<String, LearnedFile>) -> Applied {
    let mut applied = Applied::default();
    let dynamic_files: HashSet<String> = inventory
        .tests
        .iter()
        .filter(|t| t.language == Language::Python && t.dynamic.is_some())
        .filter(|t| learned.contains_key(&t.file))
        .map(|t| t.file.clone())
        .collect();
    if dynamic_files.is_empty() {
        return applied;
    }
    let old = std::mem::take(&mut inventory.tests);
    let mut done: HashSet<&str> = HashSet::new();
    for t in old {
        if t.language != Language::Python || !dynamic_files.contains(&t.file) {
            inventory.tests.push(t);
            continue;
        }
        if t.dynamic.is_some() {
            applied.replaced += 1;
        }
        let Some((path, file)) = learned.get_key_value(&t.file) else {
            continue;
        };
        if done.insert(path.as_str()) {
            applied.files += 1;
            applied.items += file.items.len();
            inventory.tests.extend(
                file.items
                    .iter()
                    .map(|i| test_item(&file.path, i, &file.source)),
            );
        }
    }
    applied
}

/// Where static discovery and pytest disagree about one file.
#[derive(Debug, Clone, PartialEq)]
pub enum Disagreement {
    /// Static discovery lists the id; pytest did not collect it.
    OnlyStatic { file: String, id: String },
    /// pytest collected the id; static discovery does not list it.
    OnlyLearned { file: String, id: String },
    /// Both list the id with different marker names.
    Markers {
        file: String,
        id: String,
        only_static: Vec<String>,
        only_learned: Vec<String>,
    },
}

impl std::fmt::Display for Disagreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disagreement::OnlyStatic { id, .. } => {
                write!(f, "{id}: only static discovery lists it")
            }
            Disagreement::OnlyLearned { id, .. } => write!(f, "{id}: only pytest collected it"),
            Disagreement::Markers {
                id,
                only_static,
                only_learned,
                ..
            } => {
                write!(f, "{id}: markers differ")?;
                if !only_static.is_empty() {
                    write!(f, "; only static: {}", only_static.join(", "))?;
                }
                if !only_learned.is_empty() {
                    write!(f, "; only pytest: {}", only_learned.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// Compares the static items of every file `learned` has with what pytest
/// collected from it (pure). Dynamic entries count as static ids: a module
/// flagged dynamic disagrees until it is learned. Files are compared in
/// path order, ids in pytest's order.
pub fn verify(
    static_items: &[TestItem],
    learned: &HashMap<String, LearnedFile>,
) -> Vec<Disagreement> {
    let mut by_file: HashMap<&str, Vec<&TestItem>> = HashMap::new();
    for t in static_items
        .iter()
        .filter(|t| t.language == Language::Python)
    {
        by_file.entry(t.file.as_str()).or_default().push(t);
    }
    let mut paths: Vec<&String> = learned.keys().collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let file = &learned[path];
        let statics = by_file.remove(path.as_str()).unwrap_or_default();
        let static_ids: HashMap<&str, &TestItem> =
            statics.iter().map(|t| (t.id.as_str(), *t)).collect();
        let learned_ids: HashSet<&str> = file.items.iter().map(|i| i.id.as_str()).collect();
        for t in &statics {
            if !learned_ids.contains(t.id.as_str()) {
                out.push(Disagreement::OnlyStatic {
                    file: path.clone(),
                    id: t.id.clone(),
                });
            }
        }
        for item in &file.items {
            let Some(t) = static_ids.get(item.id.as_str()) else {
                out.push(Disagreement::OnlyLearned {
                    file: path.clone(),
                    id: item.id.clone(),
                });
                continue;
            };
            let static_names: HashSet<&str> = t.markers.iter().map(|m| m.name.as_str()).collect();
            let learned_names: HashSet<&str> = item.marks.iter().map(|m| m.name.as_str()).collect();
            let mut only_static: Vec<String> = static_names
                .difference(&learned_names)
                .map(|s| s.to_string())
                .collect();
            let mut only_learned: Vec<String> = learned_names
                .difference(&static_names)
                .map(|s| s.to_string())
                .collect();
            if !only_static.is_empty() || !only_learned.is_empty() {
                only_static.sort();
                only_learned.sort();
                out.push(Disagreement::Markers {
                    file: path.clone(),
                    id: item.id.clone(),
                    only_static,
                    only_learned,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, marks: &[&str]) -> LearnedItem {
        LearnedItem {
            id: id.into(),
            line: 3,
            marks: marks
                .iter()
                .map(|m| LearnedMark {
                    name: (*m).into(),
                    args: vec![],
                    kwargs: BTreeMap::new(),
                })
                .collect(),
        }
    }

    fn static_item(id: &str, marks: &[&str], dynamic: bool) -> TestItem {
        let mut t = test_item(file_of(id), &item(id, marks), "static");
        for m in &mut t.markers {
            m.origin.source = MarkSource::FunctionDecorator;
            m.origin.learned = None;
        }
        t.dynamic = dynamic.then(|| "generated at import time".to_string());
        t
    }

    fn learned(files: &[(&str, Vec<LearnedItem>)]) -> HashMap<String, LearnedFile> {
        files
            .iter()
            .map(|(p, items)| {
                (
                    p.to_string(),
                    LearnedFile {
                        path: p.to_string(),
                        key: "k".into(),
                        source: "learn-1".into(),
                        items: items.clone(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn function_drops_the_param_suffix_only() {
        assert_eq!(
            function_of("t.py::TestA::test_b[x::y[0]]"),
            "t.py::TestA::test_b"
        );
        assert_eq!(function_of("t.py::test_b[1-a]"), "t.py::test_b");
        assert_eq!(function_of("t.py::test_b"), "t.py::test_b");
    }

    #[test]
    fn report_files_skip_partial_and_failed_ones() {
        let report = parse_report(
            r#"{"rootdir": "/r", "inifile": null, "items": [
                {"id": "a/test_x.py::test_1", "line": 2, "marks": [{"name": "slow", "args": [1, {"expr": "obj()"}], "kwargs": {"reason": "r"}}]},
                {"id": "b/test_y.py::test_2", "line": 4, "marks": []},
                {"id": "c/test_z.py::test_3", "line": 4, "marks": []},
                {"id": "a/test_x.py::test_4", "line": 9, "marks": []}],
              "partial": ["b/test_y.py"], "errors": ["d/test_e.py"]}"#,
        )
        .expect("parses");
        let files = files_of(&report);
        let names: Vec<(&str, usize)> = files.iter().map(|(f, i)| (f.as_str(), i.len())).collect();
        assert_eq!(names, [("a/test_x.py", 2), ("c/test_z.py", 1)]);
        let mark = &files[0].1[0].marks[0];
        assert_eq!(
            mark.args[1],
            MarkValue::Expr {
                expr: "obj()".into()
            }
        );
        assert_eq!(mark.kwargs["reason"], MarkValue::Str("r".into()));
        assert!(parse_report("{").is_err());
    }

    #[test]
    fn only_files_with_dynamic_entries_are_replaced_in_place() {
        let mut inv = Inventory {
            tests: vec![
                static_item("a.py::test_1", &["unit"], false),
                static_item("gen.py", &[], true),
                static_item("z.py::test_9", &[], false),
            ],
            diagnostics: vec![],
        };
        let table = learned(&[
            (
                "gen.py",
                vec![
                    item("gen.py::TestA::test_x", &["gpu"]),
                    item("gen.py::TestB::test_x", &[]),
                ],
            ),
            ("a.py", vec![item("a.py::test_1", &["other"])]),
        ]);
        let applied = apply(&mut inv, &table);
        assert_eq!(
            applied,
            Applied {
                files: 1,
                replaced: 1,
                items: 2
            }
        );
        let ids: Vec<&str> = inv.tests.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "a.py::test_1",
                "gen.py::TestA::test_x",
                "gen.py::TestB::test_x",
                "z.py::test_9"
            ]
        );
        assert_eq!(
            inv.tests[0].marker_names(),
            ["unit"],
            "a file without dynamic entries stays static"
        );
        let origin = &inv.tests[1].markers[0].origin;
        assert_eq!(origin.source, MarkSource::Learned);
        assert_eq!(origin.describe(), "learned (learn-1)");
        assert!(inv.tests[1].dynamic.is_none());
    }

    #[test]
    fn verify_reports_ids_on_one_side_and_marker_differences() {
        let statics = vec![
            static_item("a.py::test_1", &["unit", "slow"], false),
            static_item("a.py::test_2", &[], false),
            static_item("b.py::test_3", &[], false),
        ];
        let table = learned(&[(
            "a.py",
            vec![
                item("a.py::test_1", &["unit", "gpu"]),
                item("a.py::test_5", &[]),
            ],
        )]);
        let found: Vec<String> = verify(&statics, &table)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "a.py::test_2: only static discovery lists it",
                "a.py::test_1: markers differ; only static: slow; only pytest: gpu",
                "a.py::test_5: only pytest collected it",
            ]
        );
        let same = learned(&[("b.py", vec![item("b.py::test_3", &[])])]);
        assert!(verify(&statics, &same).is_empty());
    }

    #[test]
    fn keys_change_with_the_file_its_conftests_and_the_ini() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("t/sub")).expect("mkdir");
        std::fs::write(root.join("t/sub/test_a.py"), "def test_a(): pass\n").expect("write");
        std::fs::write(root.join("t/sub/test_b.py"), "def test_b(): pass\n").expect("write");
        std::fs::write(root.join("pytest.ini"), "[pytest]\n").expect("write");
        let ini = root.join("pytest.ini");
        let key = |rel: &str| file_key(root, Some(&ini), rel).expect("readable");
        let a = key("t/sub/test_a.py");
        let b = key("t/sub/test_b.py");
        assert_ne!(a, b);
        std::fs::write(root.join("t/conftest.py"), "x = 1\n").expect("write");
        let a2 = key("t/sub/test_a.py");
        assert_ne!(a, a2, "a conftest on the chain changes the key");
        std::fs::write(root.join("pytest.ini"), "[pytest]\nmarkers = a\n").expect("write");
        let a3 = key("t/sub/test_a.py");
        assert_ne!(a2, a3, "the ini file changes the key");
        assert_eq!(a3, key("t/sub/test_a.py"), "stable");
        assert!(file_key(root, None, "t/missing.py").is_none());
    }
}
