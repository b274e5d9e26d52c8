//! Where fixtures live, and private copies of them to run both tools in.
//!
//! Each check runs on a fresh copy in a temporary directory: neither tool can
//! leave files behind in the repository, and no configuration file above the
//! repository's fixture folder (a `tollgate.toml`, a `pyproject.toml`) can leak
//! into what either tool sees.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn python_fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/python")
}

pub fn bad_fixture() -> PathBuf {
    repo_root().join("tests/fixtures/python-bad")
}

pub fn oracle_script() -> PathBuf {
    repo_root().join("tests/oracle/collect_oracle.py")
}

/// Names of the fixture projects: directories holding a `cases.toml`.
pub fn fixture_names() -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(python_fixtures())? {
        let entry = entry?;
        if entry.path().join("cases.toml").is_file() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// A copy of a fixture project, removed on drop.
pub struct ProjectCopy {
    // Kept for its `Drop`.
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl ProjectCopy {
    /// Copies `source` to `<tmp>/<name of source>`.
    pub fn of(source: &Path) -> io::Result<ProjectCopy> {
        let dir = tempfile::Builder::new()
            .prefix("tollgate-agree-")
            .tempdir()?;
        let name = source.file_name().unwrap_or(source.as_os_str());
        let root = dir.path().join(name);
        copy_tree(source, &root)?;
        Ok(ProjectCopy { _dir: dir, root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        // Left behind by someone running pytest in the repository by hand.
        if matches!(
            entry.file_name().to_str(),
            Some("__pycache__" | ".pytest_cache")
        ) {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
