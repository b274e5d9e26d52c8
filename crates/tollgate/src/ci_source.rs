//! Reading a repository's CI definitions from disk (the I/O edge of
//! [`tollgate_plan::ci`]), shared by `tollgate init --from-ci` and
//! `tollgate ci diff`.

use std::path::Path;

use anyhow::Context;
use clap::ValueEnum;
use tollgate_plan::ci::{self, CiImport};

use crate::exit::usage;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CiKind {
    /// GitHub Actions: `.github/workflows/*.yml`.
    Github,
    /// GitLab CI: `.gitlab-ci.yml`.
    Gitlab,
}

impl CiKind {
    /// The CI a repository uses: GitHub when it has workflows, else GitLab.
    pub fn detect(root: &Path) -> Option<CiKind> {
        if root.join(".github/workflows").is_dir() {
            Some(CiKind::Github)
        } else if root.join(".gitlab-ci.yml").is_file() {
            Some(CiKind::Gitlab)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CiKind::Github => "github",
            CiKind::Gitlab => "gitlab",
        }
    }
}

/// Reads the CI definitions below `root` (`kind`, or detected).
pub fn read(root: &Path, kind: Option<CiKind>) -> anyhow::Result<(CiKind, CiImport)> {
    let kind = match kind.or_else(|| CiKind::detect(root)) {
        Some(kind) => kind,
        None => {
            return Err(usage(format!(
                "no CI definitions in {} (neither .github/workflows nor .gitlab-ci.yml); \
                 pass --ci github|gitlab",
                root.display()
            )))
        }
    };
    let reader = |rel: &str| -> Option<String> {
        let path = root.join(rel);
        // Only files inside the repository.
        let canonical = std::fs::canonicalize(&path).ok()?;
        let root = std::fs::canonicalize(root).ok()?;
        canonical
            .starts_with(&root)
            .then(|| std::fs::read_to_string(canonical).ok())
            .flatten()
    };
    let import = match kind {
        CiKind::Github => {
            let dir = root.join(".github/workflows");
            let mut files = Vec::new();
            let entries = std::fs::read_dir(&dir)
                .map_err(|e| usage(format!("cannot read {}: {e}", dir.display())))?;
            for entry in entries.flatten() {
                let path = entry.path();
                let is_yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
                if !is_yaml || !path.is_file() {
                    continue;
                }
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                files.push((name, text));
            }
            files.sort();
            ci::read_github(&files, &reader)
        }
        CiKind::Gitlab => {
            let path = root.join(".gitlab-ci.yml");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))?;
            ci::read_gitlab(".gitlab-ci.yml", &text, &reader)
        }
    };
    Ok((kind, import))
}
