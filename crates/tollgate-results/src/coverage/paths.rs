//! Making coverage paths repository-relative.
//!
//! Reports name files absolutely (`cargo llvm-cov`: `/home/ci/repo/src/a.rs`),
//! relative to the directory the tool ran in (coverage.py), or relative to a
//! `<source>` root (Cobertura). Stored paths are repository-relative with `/`
//! separators so that runs from different machines and checkouts compare.
//! Everything here is lexical (no file system access): `..` is resolved by
//! dropping the previous component, and a path that leaves the repository is
//! either an error or, when asked, skipped with a diagnostic.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, ErrorKind};
use crate::model::FileCoverage;

/// What to do with a coverage path outside the repository (a dependency in
/// `~/.cargo/registry`, the Rust standard library, a site-packages file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutsidePolicy {
    /// Refuse the whole report.
    #[default]
    Error,
    /// Drop the file and report it in [`Relativized::skipped`].
    Skip,
}

/// The outcome of [`relativize`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Relativized {
    pub files: Vec<FileCoverage>,
    /// Paths dropped under [`OutsidePolicy::Skip`], as written in the report.
    pub skipped: Vec<String>,
}

/// Rewrites every path relative to `repo_root` (which should be absolute and
/// already canonical). Relative paths are taken relative to the first
/// `source_roots` entry that lies inside the repository, else to the
/// repository root itself. Files that end up with the same path are merged.
pub fn relativize(
    files: Vec<FileCoverage>,
    repo_root: &Path,
    source_roots: &[String],
    policy: OutsidePolicy,
) -> Result<Relativized, Error> {
    let root = lexical_normalize(repo_root).unwrap_or_else(|| repo_root.to_path_buf());
    let base = source_roots
        .iter()
        .filter_map(|s| {
            let source = Path::new(s);
            let absolute = if source.is_absolute() {
                source.to_path_buf()
            } else {
                root.join(source)
            };
            let normalized = lexical_normalize(&absolute)?;
            normalized.starts_with(&root).then_some(normalized)
        })
        .next()
        .unwrap_or_else(|| root.clone());
    let mut merged = std::collections::BTreeMap::<String, Vec<(u32, u64)>>::new();
    let mut skipped = Vec::new();
    for file in files {
        let raw = file.path.replace('\\', "/");
        let path = Path::new(&raw);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        };
        let relative = lexical_normalize(&absolute)
            .and_then(|p| p.strip_prefix(&root).ok().map(Path::to_path_buf))
            .filter(|p| !p.as_os_str().is_empty());
        let Some(relative) = relative else {
            match policy {
                OutsidePolicy::Error => {
                    return Err(Error::new(
                        ErrorKind::OutsideRepo {
                            path: file.path,
                            root: root.clone(),
                        },
                        None,
                    ))
                }
                OutsidePolicy::Skip => {
                    skipped.push(file.path);
                    continue;
                }
            }
        };
        let key = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let lines = merged.entry(key).or_default();
        lines.extend(file.covered_lines.iter().map(|&l| (l, 1)));
        lines.extend(file.uncovered_lines.iter().map(|&l| (l, 0)));
    }
    Ok(Relativized {
        files: merged
            .into_iter()
            .map(|(path, hits)| FileCoverage::from_line_hits(path, hits))
            .collect(),
        skipped,
    })
}

/// Resolves `.` and `..` without touching the file system; `None` if `..`
/// climbs above the root.
fn lexical_normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() || out.as_os_str().is_empty() {
                    return None;
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, covered: &[u32]) -> FileCoverage {
        FileCoverage::from_line_hits(
            path.into(),
            covered.iter().map(|&l| (l, 1)).chain([(100, 0)]),
        )
    }

    #[test]
    fn absolute_relative_and_source_rooted_paths() {
        let root = Path::new("/work/repo");
        let out = relativize(
            vec![
                file("/work/repo/src/a.rs", &[1]),
                file("./lib/b.py", &[2]),
                file("x/../c.py", &[3]),
            ],
            root,
            &[],
            OutsidePolicy::Error,
        )
        .unwrap();
        let paths: Vec<_> = out.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["c.py", "lib/b.py", "src/a.rs"]);

        let out = relativize(
            vec![file("pkg/a.py", &[1])],
            root,
            &["/elsewhere".into(), "/work/repo/python".into()],
            OutsidePolicy::Error,
        )
        .unwrap();
        assert_eq!(out.files[0].path, "python/pkg/a.py");
    }

    #[test]
    fn outside_paths_error_or_skip() {
        let root = Path::new("/work/repo");
        for outside in [
            "/home/me/.cargo/registry/x.rs",
            "../other/a.py",
            "/work/repository/a.rs",
            "/work/repo",
        ] {
            let err =
                relativize(vec![file(outside, &[1])], root, &[], OutsidePolicy::Error).unwrap_err();
            assert!(
                matches!(err.kind, ErrorKind::OutsideRepo { .. }),
                "{outside}: {err}"
            );
            let out = relativize(
                vec![file(outside, &[1]), file("in.rs", &[1])],
                root,
                &[],
                OutsidePolicy::Skip,
            )
            .unwrap();
            assert_eq!(out.skipped, vec![outside.to_string()]);
            assert_eq!(out.files.len(), 1);
        }
    }

    #[test]
    fn same_file_from_two_spellings_is_merged() {
        let root = Path::new("/r");
        let out = relativize(
            vec![file("/r/a.py", &[1]), file("a.py", &[2])],
            root,
            &[],
            OutsidePolicy::Error,
        )
        .unwrap();
        assert_eq!(out.files.len(), 1);
        assert_eq!(out.files[0].covered_lines, vec![1, 2]);
        assert_eq!(out.files[0].uncovered_lines, vec![100]);
    }
}
