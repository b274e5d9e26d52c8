//! Changed files from git, through the `git` CLI (SPEC §11: the user's own
//! git, no libgit2 build). The only I/O module of change awareness: it
//! turns `--base REF` into a list of paths relative to the project root.

use std::path::Path;
use std::process::{Command, Output};

/// Why the changed files could not be read from git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run `git`: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("{} is not inside a git repository", path)]
    NotARepository { path: String },
    #[error("base ref `{base}` does not exist (fetch it first, e.g. `git fetch origin {base}`)")]
    UnknownRef { base: String },
    #[error(
        "no merge base between `{base}` and HEAD: this is a shallow clone whose history does not reach the base \
         (fetch more history: `git fetch --unshallow`, or `--depth`/`fetch-depth: 0` in CI)"
    )]
    ShallowWithoutBase { base: String },
    #[error("`{base}` and HEAD have no common history (no merge base)")]
    NoMergeBase { base: String },
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
}

/// The files changed between the merge base of `base` and HEAD, and the
/// working tree (so uncommitted edits count locally; in CI the two agree).
/// Paths are relative to `project_root` and `/`-separated; files outside it
/// are left out. Renames count as a deletion plus an addition: both paths
/// matter (importers of the old module, tests of the new one).
pub fn changed_files(project_root: &Path, base: &str) -> Result<Vec<String>, GitError> {
    let inside = git(project_root, &["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() {
        return Err(GitError::NotARepository {
            path: project_root.display().to_string(),
        });
    }
    let commit = format!("{base}^{{commit}}");
    let verify = git(project_root, &["rev-parse", "--verify", "--quiet", &commit])?;
    if !verify.status.success() {
        return Err(GitError::UnknownRef {
            base: base.to_string(),
        });
    }
    let merge_base = git(project_root, &["merge-base", base, "HEAD"])?;
    if !merge_base.status.success() {
        let shallow = git(project_root, &["rev-parse", "--is-shallow-repository"])?;
        return Err(
            if String::from_utf8_lossy(&shallow.stdout).trim() == "true" {
                GitError::ShallowWithoutBase {
                    base: base.to_string(),
                }
            } else {
                GitError::NoMergeBase {
                    base: base.to_string(),
                }
            },
        );
    }
    let merge_base = String::from_utf8_lossy(&merge_base.stdout)
        .trim()
        .to_string();
    let args = [
        "diff",
        "--name-only",
        "-z",
        "--no-renames",
        "--relative",
        merge_base.as_str(),
    ];
    let diff = checked(project_root, &args)?;
    Ok(diff
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

fn git(dir: &Path, args: &[&str]) -> Result<Output, GitError> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(GitError::Spawn)
}

fn checked(dir: &Path, args: &[&str]) -> Result<Output, GitError> {
    let out = git(dir, args)?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(GitError::Failed {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}
