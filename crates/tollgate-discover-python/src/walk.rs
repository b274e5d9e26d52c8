//! The file-system half of collection: which files pytest would turn into
//! `Module`s, in its order (`Dir`/`Package.collect`: entries sorted by name,
//! `__init__.py` first in packages), after `pytest_ignore_collect`
//! (`__pycache__`, conftest `collect_ignore[_glob]`, `--ignore[-glob]`,
//! virtualenvs, `norecursedirs`). Only conftest files are read here.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tollgate_inventory::{Diagnostic, Severity};

use crate::conftest::{self, ConftestInfo};
use crate::fnmatch::fnmatch;
use crate::resolve::ProjectModules;

/// Files bigger than this are not parsed (a diagnostic is emitted).
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

pub struct WalkOptions {
    pub rootdir: PathBuf,
    /// Conftests above this directory are not loaded.
    pub confcutdir: PathBuf,
    pub python_files: Vec<String>,
    pub norecursedirs: Vec<String>,
    /// `--ignore` (absolute).
    pub ignore: Vec<PathBuf>,
    /// `--ignore-glob` (absolute patterns).
    pub ignore_glob: Vec<String>,
}

/// A test module to parse.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleTarget {
    pub path: PathBuf,
    /// The path part of its node ids.
    pub node_path: String,
    /// The path relative to rootdir for `file` fields and diagnostics.
    pub rel: String,
    /// Set when a conftest hook in scope makes collection unknowable.
    pub conftest_dynamic: Option<String>,
    /// The conftests in scope (path relative to rootdir, what they hold),
    /// closest first: their fixtures can parametrize this module's tests.
    pub conftest_fixtures: Vec<(String, Arc<ConftestInfo>)>,
}

pub struct Walker<'a> {
    opts: &'a WalkOptions,
    initial: HashSet<PathBuf>,
    initial_with_parents: HashSet<PathBuf>,
    conftests: HashMap<PathBuf, Option<Arc<ConftestInfo>>>,
    pub targets: Vec<ModuleTarget>,
    pub diagnostics: Vec<Diagnostic>,
    seen_files: HashSet<PathBuf>,
    /// Finds the project modules conftest hooks import helpers from.
    modules: ProjectModules,
}

/// `_pytest.pathlib.fnmatch_ex`: patterns without `/` match the basename,
/// relative patterns with `/` match anywhere at the end of the full path.
pub fn fnmatch_ex(pattern: &str, path: &Path) -> bool {
    if !pattern.contains('/') {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        fnmatch(&name, pattern)
    } else {
        let full = path.to_string_lossy();
        if path.is_absolute() && !pattern.starts_with('/') {
            fnmatch(&full, &format!("*/{pattern}"))
        } else {
            fnmatch(&full, pattern)
        }
    }
}

/// `path` relative to `base`, `/`-separated, if it is inside.
pub fn rel_to(path: &Path, base: &Path) -> Option<String> {
    let rel = path.strip_prefix(base).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

impl<'a> Walker<'a> {
    pub fn new(opts: &'a WalkOptions, initial_paths: &[PathBuf]) -> Self {
        let initial: HashSet<PathBuf> = initial_paths.iter().cloned().collect();
        let mut initial_with_parents = HashSet::new();
        for p in initial_paths {
            for a in p.ancestors() {
                initial_with_parents.insert(a.to_path_buf());
            }
        }
        Walker {
            opts,
            initial,
            initial_with_parents,
            conftests: HashMap::new(),
            targets: Vec::new(),
            diagnostics: Vec::new(),
            seen_files: HashSet::new(),
            modules: ProjectModules::new(opts.rootdir.clone()),
        }
    }

    fn rel(&self, path: &Path) -> String {
        rel_to(path, &self.opts.rootdir).unwrap_or_else(|| path.to_string_lossy().into_owned())
    }

    /// `FSCollector`'s node id path: rootdir-relative, else relative to the
    /// closest initial path containing it.
    fn node_path(&self, path: &Path) -> String {
        if let Some(r) = rel_to(path, &self.opts.rootdir) {
            return r;
        }
        if self.initial.contains(path) {
            return String::new();
        }
        path.ancestors()
            .skip(1)
            .find(|a| self.initial.contains(*a))
            .and_then(|a| rel_to(path, a))
            .unwrap_or_else(|| path.to_string_lossy().into_owned())
    }

    fn diag(&mut self, path: &Path, code: &str, message: String) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            code: code.into(),
            file: self.rel(path),
            line: 0,
            column: 0,
            message,
        });
    }

    /// Loads (once) the conftest of `dir`, if any.
    fn conftest(&mut self, dir: &Path) -> Option<Arc<ConftestInfo>> {
        if let Some(c) = self.conftests.get(dir) {
            return c.clone();
        }
        let path = dir.join("conftest.py");
        let info = if path.is_file() {
            match read_source(&path) {
                Ok(src) => {
                    match conftest::analyze_with(&src, &path, &|importer, module, level| {
                        self.modules.find_module(importer, module, level)
                    }) {
                        Ok(info) => {
                            let rel = self.rel(&path);
                            for d in &info.diagnostics {
                                self.diagnostics.push(Diagnostic {
                                    severity: d.severity,
                                    code: d.code.into(),
                                    file: rel.clone(),
                                    line: d.line,
                                    column: d.column,
                                    message: d.message.clone(),
                                });
                            }
                            if let Some((hook, line, why)) = info.dynamic_hooks.first() {
                                self.diagnostics.push(Diagnostic {
                                severity: Severity::Warning,
                                code: "dynamic-collection".into(),
                                file: rel.clone(),
                                line: *line,
                                column: 0,
                                message: format!("{hook} {why}; tests under this directory are flagged dynamic"),
                            });
                            }
                            Some(Arc::new(info))
                        }
                        Err((line, column, message)) => {
                            self.diagnostics.push(Diagnostic {
                                severity: Severity::Error,
                                code: "parse-error".into(),
                                file: self.rel(&path),
                                line,
                                column,
                                message,
                            });
                            None
                        }
                    }
                }
                Err(e) => {
                    self.diagnostics.push(Diagnostic {
                        severity: Severity::Warning,
                        code: e.code.into(),
                        file: self.rel(&path),
                        line: e.line,
                        column: e.column,
                        message: e.message,
                    });
                    None
                }
            }
        } else {
            None
        };
        self.conftests.insert(dir.to_path_buf(), info.clone());
        info
    }

    /// Conftests that apply to `dir`, closest first.
    fn conftest_chain(&mut self, dir: &Path) -> Vec<(PathBuf, Arc<ConftestInfo>)> {
        let cut = self.opts.confcutdir.clone();
        let dirs: Vec<PathBuf> = dir
            .ancestors()
            .filter(|a| !(cut.starts_with(a) && *a != cut.as_path()))
            .map(Path::to_path_buf)
            .collect();
        dirs.into_iter()
            .filter_map(|d| self.conftest(&d).map(|c| (d, c)))
            .collect()
    }

    /// `pytest_ignore_collect` for `path` (a directory entry).
    fn ignored(&mut self, path: &Path, is_dir: bool) -> bool {
        if path.file_name().is_some_and(|n| n == "__pycache__") {
            return true;
        }
        let parent = path.parent().unwrap_or(path).to_path_buf();
        let chain = self.conftest_chain(&parent);
        let mut ignore_paths: Vec<PathBuf> = chain
            .iter()
            .find_map(|(d, c)| {
                c.collect_ignore.as_ref().map(|l| {
                    l.iter()
                        .map(|r| crate::config::absolute(d, Path::new(r)))
                        .collect()
                })
            })
            .unwrap_or_default();
        ignore_paths.extend(self.opts.ignore.iter().cloned());
        if ignore_paths.iter().any(|p| p == path) {
            return true;
        }
        let mut globs: Vec<String> = chain
            .iter()
            .find_map(|(d, c)| {
                c.collect_ignore_glob.as_ref().map(|l| {
                    l.iter()
                        .map(|g| d.join(g).to_string_lossy().into_owned())
                        .collect()
                })
            })
            .unwrap_or_default();
        globs.extend(self.opts.ignore_glob.iter().cloned());
        let full = path.to_string_lossy();
        if globs.iter().any(|g| fnmatch(&full, g)) {
            return true;
        }
        if path.join("pyvenv.cfg").is_file() || path.join("conda-meta").join("history").is_file() {
            return true;
        }
        is_dir && self.opts.norecursedirs.iter().any(|p| fnmatch_ex(p, path))
    }

    fn add_target(&mut self, path: &Path) {
        if !self.seen_files.insert(path.to_path_buf()) {
            return;
        }
        let dir = path.parent().unwrap_or(path).to_path_buf();
        let chain = self.conftest_chain(&dir);
        let conftest_dynamic = chain
            .iter()
            .find_map(|(d, c)| c.dynamic_reason(&self.rel(&d.join("conftest.py"))));
        let conftest_fixtures = chain
            .into_iter()
            .filter(|(_, c)| !c.fixtures.is_empty())
            .map(|(d, c)| (self.rel(&d.join("conftest.py")), c))
            .collect();
        self.targets.push(ModuleTarget {
            path: path.to_path_buf(),
            node_path: self.node_path(path),
            rel: self.rel(path),
            conftest_dynamic,
            conftest_fixtures,
        });
    }

    /// Collects one command-line path.
    pub fn walk_arg(&mut self, path: &Path) {
        if path.is_dir() {
            // Load the conftests of the argument's ancestors up front, as pytest does.
            let _ = self.conftest_chain(path);
            let mut stack = Vec::new();
            self.walk_dir(path, &mut stack);
        } else if path.is_file() && path.extension().is_some_and(|e| e == "py") {
            let _ = self.conftest_chain(path.parent().unwrap_or(path));
            self.add_target(path);
        }
    }

    /// The target of symlink `path` when it resolves outside the rootdir
    /// (`/proc`, `/`, another checkout): never walked, so a hostile link
    /// cannot make collection read the whole machine.
    fn link_out_of_root(&self, path: &Path) -> Option<PathBuf> {
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            return None;
        }
        let target = path.canonicalize().ok()?;
        let root = self
            .opts
            .rootdir
            .canonicalize()
            .unwrap_or_else(|_| self.opts.rootdir.clone());
        (!target.starts_with(&root)).then_some(target)
    }

    fn walk_dir(&mut self, dir: &Path, stack: &mut Vec<PathBuf>) {
        let canonical = match dir.canonicalize() {
            Ok(c) => c,
            Err(e) => {
                self.diag(dir, "unreadable", format!("cannot resolve directory: {e}"));
                return;
            }
        };
        if stack.contains(&canonical) {
            self.diag(
                dir,
                "symlink-loop",
                format!(
                    "symlink loop: {} is already being collected",
                    canonical.display()
                ),
            );
            return;
        }
        let is_package = dir.join("__init__.py").is_file();
        let read = match std::fs::read_dir(dir) {
            Ok(r) => r,
            Err(e) => {
                self.diag(dir, "unreadable", format!("cannot read directory: {e}"));
                return;
            }
        };
        let mut entries: Vec<(String, PathBuf)> = read
            .filter_map(Result::ok)
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
            .collect();
        entries.sort_by(|a, b| {
            if is_package {
                (a.0 != "__init__.py", &a.0).cmp(&(b.0 != "__init__.py", &b.0))
            } else {
                a.0.cmp(&b.0)
            }
        });
        stack.push(canonical);
        for (name, path) in entries {
            // `DirEntry.is_dir()`/`is_file()` follow symlinks; broken links are neither.
            let meta = match std::fs::metadata(&path) {
                Ok(meta) => meta,
                Err(e) => {
                    self.unstatable_entry(&name, &path, &e);
                    continue;
                }
            };
            if meta.is_dir() {
                if !self.initial_with_parents.contains(&path) && self.ignored(&path, true) {
                    continue;
                }
                if let Some(target) = self.link_out_of_root(&path) {
                    self.diag(
                        &path,
                        "symlink-outside",
                        format!(
                            "not collected: a symlink to {}, outside the repository",
                            target.display()
                        ),
                    );
                    continue;
                }
                self.walk_dir(&path, stack);
            } else if meta.is_file() {
                if !self.initial.contains(&path) && self.ignored(&path, false) {
                    continue;
                }
                let is_py = name.ends_with(".py");
                if is_py
                    && (self.initial.contains(&path)
                        || self.opts.python_files.iter().any(|p| fnmatch_ex(p, &path)))
                {
                    self.add_target(&path);
                }
            }
        }
        stack.pop();
    }

    /// An entry whose target cannot be reached: a symlink loop, a dangling
    /// link, or no permission. pytest skips such an entry silently; a test
    /// file lost that way is an error worth seeing, anything else is not.
    fn unstatable_entry(&mut self, name: &str, path: &Path, err: &std::io::Error) {
        let looks_like_test_file =
            name.ends_with(".py") && self.opts.python_files.iter().any(|p| fnmatch_ex(p, path));
        let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if !looks_like_test_file && is_link {
            return;
        }
        // ELOOP: "Too many levels of symbolic links".
        const ELOOP: i32 = 40;
        let code = if err.raw_os_error() == Some(ELOOP) {
            "symlink-loop"
        } else {
            "unreadable"
        };
        let severity = if looks_like_test_file {
            Severity::Error
        } else {
            Severity::Warning
        };
        self.diagnostics.push(Diagnostic {
            severity,
            code: code.into(),
            file: self.rel(path),
            line: 0,
            column: 0,
            message: format!(
                "cannot read {}: {err}",
                if is_link { "symlink target" } else { "entry" }
            ),
        });
    }
}

/// Why a source file could not be read; `line`/`column` (1-based) point at
/// the offending byte where there is one, else they are 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub code: &'static str,
    pub message: String,
    pub line: u32,
    pub column: u32,
}

impl SourceError {
    fn whole_file(code: &'static str, message: String) -> Self {
        SourceError {
            code,
            message,
            line: 0,
            column: 0,
        }
    }
}

/// Reads a Python source file: size limit enforced, decoded as Python
/// would (UTF-8 with an optional BOM, or the latin-1 family when a PEP 263
/// coding cookie says so).
pub fn read_source(path: &Path) -> Result<String, SourceError> {
    let unreadable = |e: std::io::Error| SourceError::whole_file("unreadable", e.to_string());
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(SourceError::whole_file(
            "too-large",
            format!(
                "file is {} bytes, over the {} byte limit; not parsed",
                meta.len(),
                MAX_FILE_BYTES
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(unreadable)?;
    decode_source(bytes)
}

/// The encoding named by a coding cookie on one of the first two lines.
fn coding_cookie(bytes: &[u8]) -> Option<String> {
    for line in bytes.split(|&b| b == b'\n').take(2) {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') {
            continue;
        }
        if let Some(pos) = trimmed.find("coding") {
            let rest = &trimmed[pos + "coding".len()..];
            if let Some(rest) = rest.strip_prefix(':').or_else(|| rest.strip_prefix('=')) {
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                if !name.is_empty() {
                    return Some(name.to_ascii_lowercase().replace('_', "-"));
                }
            }
        }
    }
    None
}

fn decode_source(bytes: Vec<u8>) -> Result<String, SourceError> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8(rest.to_vec()).map_err(|e| not_utf8(&e));
    }
    match coding_cookie(&bytes).as_deref() {
        None | Some("utf-8" | "utf8" | "utf-8-sig") => {
            String::from_utf8(bytes).map_err(|e| not_utf8(&e))
        }
        Some("latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1") => {
            Ok(bytes.iter().map(|&b| b as char).collect())
        }
        Some(other) => match String::from_utf8(bytes) {
            // ASCII-compatible content reads the same in most encodings.
            Ok(s) if s.is_ascii() => Ok(s),
            _ => Err(SourceError::whole_file(
                "unsupported-encoding",
                format!("source encoding `{other}` is not supported"),
            )),
        },
    }
}

fn not_utf8(e: &std::string::FromUtf8Error) -> SourceError {
    let offset = e.utf8_error().valid_up_to();
    let before = &e.as_bytes()[..offset];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    // Columns count characters, and everything before `offset` is valid UTF-8.
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    SourceError {
        code: "not-utf8",
        message: format!("file is not valid UTF-8 (byte {offset}) and declares no latin-1 coding"),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_ex_basename_and_paths() {
        assert!(fnmatch_ex("test_*.py", Path::new("/a/b/test_x.py")));
        assert!(fnmatch_ex("b/test_*.py", Path::new("/a/b/test_x.py")));
        assert!(!fnmatch_ex("c/test_*.py", Path::new("/a/b/test_x.py")));
        assert!(fnmatch_ex(".*", Path::new("/a/.git")));
    }

    #[test]
    fn source_decoding() {
        assert_eq!(
            decode_source(b"\xef\xbb\xbfx = 1\n".to_vec()).unwrap(),
            "x = 1\n"
        );
        assert_eq!(
            decode_source(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n".to_vec()).unwrap(),
            "# -*- coding: latin-1 -*-\ns = '\u{e9}'\n"
        );
        let err = decode_source(b"x = 1\ns = '\xe9'\n".to_vec()).unwrap_err();
        assert_eq!((err.code, err.line, err.column), ("not-utf8", 2, 6));
    }
}
