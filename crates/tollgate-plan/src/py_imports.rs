//! A static import graph from Python files to the modules they import, for
//! change awareness: a changed source module reaches the tests that import
//! it, directly or through other modules.
//!
//! Cheap on purpose: only import statements are parsed. A line scan picks
//! out `import ...` / `from ... import ...` statements (with parenthesised
//! and backslash continuations, at any indentation, so imports under `if` or
//! `try` count too), and `ruff_python_parser` parses just those.
//!
//! Absolute imports are resolved by package path: `dynamo.planner.scaling`
//! resolves to every file whose path ends in `dynamo/planner/scaling.py` (or
//! `.../scaling/__init__.py`) where `dynamo` is top-level — the directory
//! holding it is not a package, so it can be a source root. That needs no
//! knowledge of `sys.path` and handles namespace packages split over several
//! source trees, while two modules named `main` stay two modules: `import
//! main` is not `dynamo/vllm/main.py` (that is `dynamo.vllm.main`). Where two
//! top-level files share the name, both are taken (unless the importer's own
//! directory holds one, which shadows the others), which can only make the
//! run larger, never miss a test. Importing a submodule runs
//! its packages' `__init__.py` files, so those count as imported too.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::Path;

use rayon::prelude::*;
use ruff_python_ast::Stmt;

/// One import statement's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// Dotted module as written (`a.b`; empty for `from . import x`).
    pub module: String,
    /// Names imported from it (`from a import b, c`): each may be a submodule.
    pub names: Vec<String>,
    /// Leading dots of a relative import; 0 for absolute.
    pub level: u32,
}

/// Every Python file of the project with the imports it makes.
#[derive(Debug, Clone, Default)]
pub struct ImportGraph {
    /// Path relative to the project root (`/`-separated) → its imports.
    files: BTreeMap<String, Vec<Import>>,
}

/// Directories never scanned for Python sources.
const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "__pycache__",
    "target",
    "site-packages",
    "venv",
];

impl ImportGraph {
    /// Reads every `.py` file below `root` (gitignore-aware, hidden
    /// directories skipped), in parallel. Unreadable files are skipped: a file
    /// nobody can read imports nothing we could know about.
    pub fn scan(root: &Path) -> ImportGraph {
        let mut paths = Vec::new();
        let walker = ignore::WalkBuilder::new(root)
            .filter_entry(|e| {
                !(e.file_type().is_some_and(|t| t.is_dir())
                    && SKIPPED_DIRS.contains(&e.file_name().to_string_lossy().as_ref()))
            })
            .build();
        for entry in walker.flatten() {
            let path = entry.path();
            if entry.file_type().is_some_and(|t| t.is_file())
                && path.extension().is_some_and(|e| e == "py")
            {
                if let Ok(rel) = path.strip_prefix(root) {
                    paths.push((rel.to_string_lossy().replace('\\', "/"), path.to_path_buf()));
                }
            }
        }
        let files = paths
            .into_par_iter()
            .filter_map(|(rel, abs)| {
                let source = std::fs::read_to_string(abs).ok()?;
                Some((rel, extract_imports(&source)))
            })
            .collect();
        ImportGraph { files }
    }

    /// A graph from sources already in memory (`(relative path, text)`).
    pub fn from_sources<'a>(sources: impl IntoIterator<Item = (&'a str, &'a str)>) -> ImportGraph {
        ImportGraph {
            files: sources
                .into_iter()
                .map(|(path, text)| (path.to_string(), extract_imports(text)))
                .collect(),
        }
    }

    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Every file that imports one of `changed`, directly or transitively,
    /// each with the changed file that reached it (the first one found in a
    /// breadth-first walk, so the shortest chain wins). The changed files
    /// themselves are included, reached by themselves. Changed paths need not
    /// exist any more: a deleted module still reaches its importers.
    pub fn importers_of(&self, changed: &[&str]) -> BTreeMap<String, String> {
        let index = SuffixIndex::new(
            self.files
                .keys()
                .map(String::as_str)
                .chain(changed.iter().copied()),
        );
        // Reverse edges: imported file → importing files.
        let mut importers: HashMap<&str, Vec<&str>> = HashMap::new();
        for (file, imports) in &self.files {
            let mut targets = BTreeSet::new();
            for import in imports {
                index.resolve(file, import, &mut targets);
            }
            for target in targets {
                if target != file.as_str() {
                    importers.entry(target).or_default().push(file.as_str());
                }
            }
        }
        let mut reached: BTreeMap<String, String> = BTreeMap::new();
        let mut queue: VecDeque<(&str, &str)> = VecDeque::new();
        for path in changed {
            if !reached.contains_key(*path) {
                reached.insert(path.to_string(), path.to_string());
                queue.push_back((path, path));
            }
        }
        while let Some((file, origin)) = queue.pop_front() {
            for importer in importers.get(file).map(Vec::as_slice).unwrap_or_default() {
                if !reached.contains_key(*importer) {
                    reached.insert(importer.to_string(), origin.to_string());
                    queue.push_back((importer, origin));
                }
            }
        }
        reached
    }
}

/// Files by every dotted suffix of their module path.
struct SuffixIndex<'a> {
    by_suffix: HashMap<String, Vec<&'a str>>,
    by_path: BTreeSet<&'a str>,
}

impl<'a> SuffixIndex<'a> {
    fn new(paths: impl Iterator<Item = &'a str>) -> Self {
        let mut by_suffix: HashMap<String, Vec<&'a str>> = HashMap::new();
        let mut by_path = BTreeSet::new();
        for path in paths {
            if !path.ends_with(".py") || !by_path.insert(path) {
                continue;
            }
            let parts = module_parts(path);
            for start in 0..parts.len() {
                by_suffix
                    .entry(parts[start..].join("."))
                    .or_default()
                    .push(path);
            }
        }
        SuffixIndex { by_suffix, by_path }
    }

    /// Adds the files `import` (made by `importer`) loads to `out`.
    fn resolve(&self, importer: &str, import: &Import, out: &mut BTreeSet<&'a str>) {
        if import.level > 0 {
            let mut dir: Vec<&str> = importer.split('/').collect();
            dir.pop(); // the file name
            for _ in 1..import.level {
                if dir.pop().is_none() {
                    return;
                }
            }
            let base: Vec<&str> = dir
                .into_iter()
                .chain(import.module.split('.').filter(|s| !s.is_empty()))
                .collect();
            self.add_path_module(&base, out);
            for name in &import.names {
                let mut sub = base.clone();
                sub.push(name);
                self.add_path_module(&sub, out);
            }
            return;
        }
        self.add_dotted(importer, &import.module, out);
        for name in &import.names {
            self.add_dotted(importer, &format!("{}.{name}", import.module), out);
        }
    }

    /// `dir/a/b` as `dir/a/b.py` or `dir/a/b/__init__.py`.
    fn add_path_module(&self, parts: &[&str], out: &mut BTreeSet<&'a str>) {
        let joined = parts.join("/");
        for candidate in [format!("{joined}.py"), format!("{joined}/__init__.py")] {
            if let Some(found) = self.by_path.get(candidate.as_str()) {
                out.insert(found);
                self.add_packages(found, parts.len().saturating_sub(1), out);
            }
        }
    }

    /// An absolute import `dotted` made by `importer`: the files whose path
    /// ends in it *and* whose first dotted name is a top-level one there —
    /// the directory holding it is not itself a package (no `__init__.py`),
    /// so it can be a `sys.path` entry. `import main` is a top-level `main`
    /// (a script's sibling, a directory a test puts on `sys.path`), not
    /// `dynamo/vllm/main.py`, which is `dynamo.vllm.main`. When the
    /// importer's own base directory (the first one above it that is not a
    /// package: what pytest's `prepend` import mode and `python script.py`
    /// put first on `sys.path`) holds the module, that one shadows the rest.
    fn add_dotted(&self, importer: &str, dotted: &str, out: &mut BTreeSet<&'a str>) {
        let Some(files) = self.by_suffix.get(dotted) else {
            return;
        };
        let depth = dotted.split('.').count();
        let anchored: Vec<(&'a str, String)> = files
            .iter()
            .filter_map(|file| {
                let parts = module_parts(file);
                let root = parts[..parts.len().saturating_sub(depth)].join("/");
                (!self.is_package(&root)).then_some((*file, root))
            })
            .collect();
        let base = self.base_dir(importer);
        let shadowing = anchored.iter().any(|(_, root)| *root == base);
        for (file, root) in &anchored {
            if shadowing && *root != base {
                continue;
            }
            out.insert(file);
            self.add_packages(file, depth.saturating_sub(1), out);
        }
    }

    /// Whether directory `dir` (relative, `/`-separated; empty for the
    /// root) is a regular package.
    fn is_package(&self, dir: &str) -> bool {
        let init = if dir.is_empty() {
            "__init__.py".to_string()
        } else {
            format!("{dir}/__init__.py")
        };
        self.by_path.contains(init.as_str())
    }

    /// The first directory above `file` that is not a package.
    fn base_dir(&self, file: &str) -> String {
        let mut dir: Vec<&str> = file.split('/').collect();
        dir.pop();
        while !dir.is_empty() && self.is_package(&dir.join("/")) {
            dir.pop();
        }
        dir.join("/")
    }

    /// The `__init__.py` of the `levels` packages enclosing `file`'s module.
    fn add_packages(&self, file: &str, levels: usize, out: &mut BTreeSet<&'a str>) {
        let mut dir: Vec<&str> = file.split('/').collect();
        dir.pop();
        if file.ends_with("/__init__.py") {
            dir.pop();
        }
        for _ in 0..levels {
            let init = format!("{}/__init__.py", dir.join("/"));
            if let Some(found) = self.by_path.get(init.as_str()) {
                out.insert(found);
            }
            if dir.pop().is_none() {
                break;
            }
        }
    }
}

/// `a/b/c.py` → `[a, b, c]`; `a/b/__init__.py` → `[a, b]`.
fn module_parts(path: &str) -> Vec<&str> {
    let stem = path.strip_suffix(".py").unwrap_or(path);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.split('/').filter(|s| !s.is_empty()).collect()
}

/// The import statements of a Python source, without parsing the rest.
pub fn extract_imports(source: &str) -> Vec<Import> {
    let statements = import_statements(source);
    if statements.is_empty() {
        return Vec::new();
    }
    let joined = statements.join("\n");
    let mut imports = Vec::new();
    if let Ok(parsed) = ruff_python_parser::parse_module(&joined) {
        collect(&parsed.syntax().body, &mut imports);
    } else {
        // One bad snippet (an `import` inside a string, say) must not hide the others.
        for statement in &statements {
            if let Ok(parsed) = ruff_python_parser::parse_module(statement) {
                collect(&parsed.syntax().body, &mut imports);
            }
        }
    }
    imports
}

fn collect(body: &[Stmt], out: &mut Vec<Import>) {
    for stmt in body {
        match stmt {
            Stmt::Import(i) => {
                for alias in &i.names {
                    out.push(Import {
                        module: alias.name.to_string(),
                        names: Vec::new(),
                        level: 0,
                    });
                }
            }
            Stmt::ImportFrom(i) => out.push(Import {
                module: i.module.as_ref().map(|m| m.to_string()).unwrap_or_default(),
                names: i
                    .names
                    .iter()
                    .map(|a| a.name.to_string())
                    .filter(|n| n != "*")
                    .collect(),
                level: i.level,
            }),
            _ => {}
        }
    }
}

/// Import statements found by a line scan, each dedented onto one logical
/// statement (continuation lines kept) so it parses on its own.
fn import_statements(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let is_import = trimmed.starts_with("import ")
            || (trimmed.starts_with("from ") && trimmed.contains(" import"));
        if !is_import {
            continue;
        }
        // Strip a trailing `; other_statement` only when it is simple; the
        // parser handles `import a; import b` itself.
        let mut statement = trimmed.to_string();
        let mut depth = paren_depth(trimmed);
        while depth > 0 || statement.trim_end().ends_with('\\') {
            let Some(next) = lines.next() else { break };
            statement.push('\n');
            statement.push_str(next.trim_start());
            depth += paren_depth(next);
        }
        out.push(statement);
    }
    out
}

/// Net open parentheses on a line, ignoring a trailing comment.
fn paren_depth(line: &str) -> i32 {
    let code = line.split('#').next().unwrap_or("");
    code.chars().fold(0, |d, c| match c {
        '(' => d + 1,
        ')' => d - 1,
        _ => d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_every_form_of_import() {
        let src = "\
\"\"\"Doc.\"\"\"
import os, json as j
from dynamo.planner import scaling
from . import sibling
from ..common.tokens import (
    encode,  # comment (with parens)
    decode,
)
def f():
    import dynamo.router.indexer
try:
    from dynamo.vllm.engine import \\
        Engine
except ImportError:
    pass
from x import *
";
        let imports = extract_imports(src);
        let shown: Vec<String> = imports
            .iter()
            .map(|i| format!("{}|{}|{}", i.level, i.module, i.names.join(",")))
            .collect();
        assert_eq!(
            shown,
            [
                "0|os|",
                "0|json|",
                "0|dynamo.planner|scaling",
                "1||sibling",
                "2|common.tokens|encode,decode",
                "0|dynamo.router.indexer|",
                "0|dynamo.vllm.engine|Engine",
                "0|x|",
            ]
        );
    }

    fn graph() -> ImportGraph {
        ImportGraph::from_sources([
            ("src/dynamo/__init__.py", ""),
            ("src/dynamo/planner/__init__.py", ""),
            (
                "src/dynamo/planner/scaling.py",
                "from dynamo.common import tokens\n",
            ),
            (
                "src/dynamo/planner/metrics.py",
                "from .scaling import Scaler\n",
            ),
            ("src/dynamo/common/__init__.py", ""),
            ("src/dynamo/common/tokens.py", "import os\n"),
            ("src/dynamo/router/indexer.py", "import json\n"),
            (
                "src/dynamo/planner/tests/test_planner_metrics.py",
                "from dynamo.planner.metrics import M\n",
            ),
            ("tests/test_router.py", "import dynamo.router.indexer\n"),
            (
                "tests/test_tokens.py",
                "from dynamo.common.tokens import encode\n",
            ),
        ])
    }

    #[test]
    fn changes_reach_importers_transitively() {
        let reached = graph().importers_of(&["src/dynamo/common/tokens.py"]);
        let files: Vec<&str> = reached.keys().map(String::as_str).collect();
        assert_eq!(
            files,
            [
                "src/dynamo/common/tokens.py",
                "src/dynamo/planner/metrics.py",
                "src/dynamo/planner/scaling.py",
                "src/dynamo/planner/tests/test_planner_metrics.py",
                "tests/test_tokens.py",
            ]
        );
        assert_eq!(
            reached["src/dynamo/planner/tests/test_planner_metrics.py"],
            "src/dynamo/common/tokens.py"
        );
    }

    #[test]
    fn a_package_init_reaches_everything_importing_below_it() {
        let reached = graph().importers_of(&["src/dynamo/planner/__init__.py"]);
        assert!(reached.contains_key("src/dynamo/planner/tests/test_planner_metrics.py"));
        assert!(!reached.contains_key("tests/test_router.py"));
        assert!(!reached.contains_key("tests/test_tokens.py"));
    }

    #[test]
    fn a_leaf_module_reaches_only_its_importers() {
        let reached = graph().importers_of(&["src/dynamo/router/indexer.py"]);
        let files: Vec<&str> = reached.keys().map(String::as_str).collect();
        assert_eq!(
            files,
            ["src/dynamo/router/indexer.py", "tests/test_router.py"]
        );
    }

    #[test]
    fn a_deleted_module_still_reaches_its_importers() {
        let g = ImportGraph::from_sources([("tests/test_gone.py", "from pkg.gone import x\n")]);
        let reached = g.importers_of(&["src/pkg/gone.py"]);
        assert!(reached.contains_key("tests/test_gone.py"));
    }

    /// Dynamo's layout: `dynamo` is a namespace package under
    /// `components/src`, its back-ends regular packages with a `main.py`
    /// each; a benchmark test puts a script directory on `sys.path` and
    /// imports that directory's `main`.
    fn dynamo_shaped() -> ImportGraph {
        ImportGraph::from_sources([
            ("components/src/dynamo/vllm/__init__.py", ""),
            (
                "components/src/dynamo/vllm/main.py",
                "from dynamo.vllm.handlers import Handler\n",
            ),
            ("components/src/dynamo/vllm/handlers.py", "import asyncio\n"),
            (
                "components/src/dynamo/vllm/tests/test_vllm_handlers.py",
                "from dynamo.vllm.handlers import Handler\n",
            ),
            ("components/src/dynamo/sglang/__init__.py", ""),
            ("components/src/dynamo/sglang/main.py", "import argparse\n"),
            (
                "components/src/dynamo/sglang/tests/test_sglang_main.py",
                "from dynamo.sglang.main import run\n",
            ),
            ("benchmarks/multimodal/jsonl/main.py", "import json\n"),
            (
                "tests/benchmarks/multimodal/jsonl/test_main.py",
                "import sys\nfrom main import main\n",
            ),
            ("tests/local/main.py", ""),
            ("tests/local/test_local.py", "import main\n"),
        ])
    }

    #[test]
    fn two_modules_named_main_are_not_the_same_module() {
        let g = dynamo_shaped();
        let reached = g.importers_of(&["components/src/dynamo/vllm/handlers.py"]);
        let files: Vec<&str> = reached.keys().map(String::as_str).collect();
        assert_eq!(
            files,
            [
                "components/src/dynamo/vllm/handlers.py",
                "components/src/dynamo/vllm/main.py",
                "components/src/dynamo/vllm/tests/test_vllm_handlers.py",
            ]
        );
        // `dynamo.sglang.main` reaches the sglang test, not the benchmark's `main`.
        let reached = g.importers_of(&["components/src/dynamo/sglang/main.py"]);
        assert!(reached.contains_key("components/src/dynamo/sglang/tests/test_sglang_main.py"));
        assert!(!reached.contains_key("tests/benchmarks/multimodal/jsonl/test_main.py"));
        // The top-level `main` the benchmark test puts on `sys.path` still reaches it.
        let reached = g.importers_of(&["benchmarks/multimodal/jsonl/main.py"]);
        assert!(reached.contains_key("tests/benchmarks/multimodal/jsonl/test_main.py"));
        assert!(!reached.contains_key("components/src/dynamo/vllm/tests/test_vllm_handlers.py"));
        // A sibling `main.py` shadows every other top-level `main`.
        let reached = g.importers_of(&["tests/local/main.py"]);
        assert!(reached.contains_key("tests/local/test_local.py"));
        let reached = g.importers_of(&["benchmarks/multimodal/jsonl/main.py"]);
        assert!(!reached.contains_key("tests/local/test_local.py"));
    }
}
