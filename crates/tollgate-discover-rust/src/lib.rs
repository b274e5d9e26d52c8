//! Static Rust test discovery: what `cargo nextest list` would list, without
//! compiling anything.
//!
//! The pipeline, one module each:
//! 1. [`workspace`] finds workspaces and members from `Cargo.toml` files;
//! 2. [`features`] resolves each member's features (with Cargo's unification);
//! 3. [`targets`] lists each member's targets (Cargo's auto-discovery);
//! 4. [`modtree`] walks each test target's module tree ([`source`] reads and
//!    [`scan`] parses files with syn, [`cfg`] evaluates `cfg`s, [`rstest`]
//!    names generated cases, [`macros`] expands local `macro_rules!`,
//!    [`annotation`] reads marker comments);
//! 5. [`nextest`] orders the result and renders ids and filtersets.
//!
//! Test targets are walked in parallel with rayon. Problems in the input
//! (unparsable files, missing modules, bad manifests) become diagnostics; the
//! rest is still collected.
//!
//! `TestItem::file` and diagnostic paths are relative to the common ancestor
//! directory of the searched paths (a searched file counts as its directory).

pub mod annotation;
pub mod cfg;
pub mod features;
pub mod macros;
pub mod manifest;
pub mod models;
pub mod modtree;
pub mod nextest;
pub mod rstest;
pub mod scan;
pub mod source;
pub mod targets;
pub mod test_case;
pub mod workspace;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tollgate_inventory::{Diagnostic, Inventory, Severity};

pub use nextest::{nextest_filterset, nextest_list_ids, RunIgnored};

/// Stack of each discovery thread: enough for syn to parse files nested up
/// to [`scan::MAX_GROUP_DEPTH`] levels (it is reserved, not committed).
pub const STACK_BYTES: usize = 512 * 1024 * 1024;

/// The feature flags of the `cargo nextest list` being mirrored.
#[derive(Debug, Default, Clone)]
pub struct FeatureSelection {
    /// `--features` (plain names apply to every member that has them;
    /// `pkg/feat` to that member only).
    pub features: Vec<String>,
    pub all_features: bool,
    pub no_default_features: bool,
}

#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// Directories to search (absolute). Each is either inside a Cargo workspace/package (then
    /// that workspace is used) or contains workspaces below it (every workspace root and
    /// standalone package below is found, skipping `target/`, hidden dirs, and packages that
    /// are members of a workspace already found; nested separate workspaces are their own
    /// workspace). Both apply when a path is a workspace root with other workspaces below.
    /// A file (e.g. a `Cargo.toml`, like cargo's `--manifest-path`) selects only the
    /// workspace enclosing it, nothing below.
    pub paths: Vec<PathBuf>,
    pub features: FeatureSelection,
}

#[derive(Debug, Clone)]
pub struct Collection {
    /// Workspace roots found, sorted.
    pub workspaces: Vec<PathBuf>,
    /// Every test (ignored ones included) in nextest's list order, workspace
    /// by workspace; `id` = `"<binary-id> <test name>"` as
    /// `cargo nextest list --message-format oneline` prints it.
    pub inventory: Inventory,
}

/// Which members to list, as `cargo nextest list`'s package flags.
#[derive(Debug, Default, Clone)]
pub struct PackageSelection {
    /// `-p/--package NAME`: only these members.
    pub packages: Vec<String>,
    /// `--workspace`: every member, even when a member's `Cargo.toml` was
    /// given as the path.
    pub workspace: bool,
    /// `--exclude NAME`: members left out.
    pub exclude: Vec<String>,
}

/// Usage errors. Problems in the searched tree are diagnostics instead.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("no path to search")]
    NoPaths,
    #[error("path must be absolute: {0}")]
    RelativePath(PathBuf),
    #[error("path does not exist: {0}")]
    NotFound(PathBuf),
    #[error("package `{0}` is not a member of the workspace(s) searched")]
    UnknownPackage(String),
}

/// Collects every test `cargo nextest list --workspace` would list in each
/// workspace found under `opts.paths`, with the given feature flags. A path
/// that is a member's `Cargo.toml` (not the workspace root's) lists that
/// member only, as `cargo nextest list --manifest-path` does.
pub fn collect(opts: &CollectOptions) -> Result<Collection, CollectError> {
    collect_packages(opts, &PackageSelection::default())
}

/// [`collect`] narrowed like `cargo nextest list -p/--workspace/--exclude`.
pub fn collect_packages(
    opts: &CollectOptions,
    packages: &PackageSelection,
) -> Result<Collection, CollectError> {
    if opts.paths.is_empty() {
        return Err(CollectError::NoPaths);
    }
    for path in &opts.paths {
        if !path.is_absolute() {
            return Err(CollectError::RelativePath(path.clone()));
        }
        if !path.exists() {
            return Err(CollectError::NotFound(path.clone()));
        }
    }
    let discovery = workspace::discover(&opts.paths);
    let selected = select_members(&discovery.workspaces, &opts.paths, packages)?;
    // Paths in the output are relative to the searched directory, or to the
    // workspace root when a manifest inside one workspace was given.
    let mut display_root = common_root(&opts.paths);
    if let [ws] = discovery.workspaces.as_slice() {
        if opts.paths.iter().all(|p| p.is_file()) && display_root.starts_with(&ws.root) {
            display_root = ws.root.clone();
        }
    }
    let mut inventory = Inventory::default();
    for problem in &discovery.problems {
        inventory.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            code: problem.code.to_string(),
            file: relative(&problem.path, &display_root),
            line: problem.line,
            column: problem.column,
            message: problem.message.clone(),
        });
    }

    let plans: Vec<WorkspacePlan> = discovery
        .workspaces
        .iter()
        .zip(&selected)
        .map(|(ws, selected)| plan_workspace(ws, &opts.features, selected))
        .collect();
    let cache = source::SourceCache::default();
    // syn parses, and drops, nested syntax recursively: files are parsed on
    // threads with a large stack (nesting beyond `scan::MAX_GROUP_DEPTH` is
    // refused before parsing).
    let pool = rayon::ThreadPoolBuilder::new()
        .stack_size(STACK_BYTES)
        .thread_name(|i| format!("tollgate-discover-rust-{i}"))
        .build();
    let pool = match pool {
        Ok(pool) => pool,
        Err(e) => {
            inventory.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                code: "no-threads".to_string(),
                file: String::new(),
                line: 0,
                column: 0,
                message: format!("cannot start discovery threads: {e}"),
            });
            return Ok(Collection {
                workspaces: Vec::new(),
                inventory,
            });
        }
    };
    for (plan, ws) in plans.iter().zip(&discovery.workspaces) {
        let workspace = relative(&ws.root, &display_root);
        inventory
            .diagnostics
            .extend(plan.diagnostics(ws, &display_root));
        let outputs: Vec<modtree::TargetOutput> = pool.install(|| {
            plan.jobs
                .par_iter()
                .map(|job| {
                    let member = &ws.members[job.member];
                    modtree::collect_target(
                        &modtree::TargetJob {
                            package: &member.package.name,
                            binary_id: job.target.binary_id(&member.package.name),
                            target_kind: job.target.kind.as_str(),
                            target_name: &job.target.name,
                            root: &job.target.root,
                            features: &plan.features[job.member],
                            default_features: &plan.default_features[job.member],
                            workspace: &workspace,
                            required_features: &job.target.required_features,
                            proc_macro: job.target.kind == targets::TargetKind::ProcMacro,
                            display_root: &display_root,
                            test_case_numbered: plan.test_case_numbered,
                        },
                        &cache,
                    )
                })
                .collect()
        });
        let mut tests = Vec::new();
        for output in outputs {
            tests.extend(output.tests);
            inventory.diagnostics.extend(output.diagnostics);
        }
        nextest::sort_tests(&mut tests);
        inventory.tests.extend(tests);
    }
    dedup_diagnostics(&mut inventory.diagnostics);
    Ok(Collection {
        workspaces: discovery
            .workspaces
            .iter()
            .map(|w| w.root.clone())
            .collect(),
        inventory,
    })
}

/// A file reached from several targets (or a `cfg` evaluated more than once)
/// reports the same problem each time; keep the first report.
fn dedup_diagnostics(diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    diagnostics.retain(|d| {
        seen.insert((
            d.file.clone(),
            d.line,
            d.column,
            d.code.clone(),
            d.message.clone(),
        ))
    });
}

struct TargetPlan {
    member: usize,
    target: targets::Target,
}

/// The test binaries of one workspace and the features they are built with.
struct WorkspacePlan {
    features: Vec<BTreeSet<String>>,
    /// Each member's features with no feature flags given (defaults only).
    default_features: Vec<BTreeSet<String>>,
    jobs: Vec<TargetPlan>,
    /// Whether the locked test-case numbers its tests (3.4 and later).
    test_case_numbered: bool,
    /// `harness = false` targets: their tests are whatever their `main`
    /// prints for `--list`, unknowable statically.
    custom_harness: Vec<TargetPlan>,
}

impl WorkspacePlan {
    fn diagnostics(&self, ws: &workspace::Workspace, display_root: &Path) -> Vec<Diagnostic> {
        self.custom_harness
            .iter()
            .map(|job| Diagnostic {
                severity: Severity::Warning,
                code: "custom-harness".to_string(),
                file: relative(&job.target.root, display_root),
                line: 0,
                column: 0,
                message: format!(
                    "`{}` has `harness = false`; its tests are listed by running it and are not collected",
                    job.target.binary_id(&ws.members[job.member].package.name)
                ),
            })
            .collect()
    }
}

/// For each workspace, which members are listed.
fn select_members(
    workspaces: &[workspace::Workspace],
    paths: &[PathBuf],
    sel: &PackageSelection,
) -> Result<Vec<Vec<bool>>, CollectError> {
    for name in &sel.packages {
        let known = workspaces
            .iter()
            .any(|ws| ws.members.iter().any(|m| &m.package.name == name));
        if !known {
            return Err(CollectError::UnknownPackage(name.clone()));
        }
    }
    // Member manifests given as paths (not a workspace root's manifest).
    let manifest_dirs: Vec<PathBuf> = paths
        .iter()
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n == "Cargo.toml"))
        .filter_map(|p| p.parent().map(workspace::normalize))
        .collect();
    let whole = |ws: &workspace::Workspace| {
        paths.iter().any(|p| {
            let p = workspace::normalize(p);
            let is_member_manifest = p.file_name().is_some_and(|n| n == "Cargo.toml")
                && p.is_file()
                && p.parent().is_some_and(|d| d != ws.root);
            !is_member_manifest && (p.starts_with(&ws.root) || ws.root.starts_with(&p))
        })
    };
    Ok(workspaces
        .iter()
        .map(|ws| {
            let everything = sel.workspace || whole(ws);
            ws.members
                .iter()
                .map(|m| {
                    let chosen = if !sel.packages.is_empty() {
                        sel.packages.contains(&m.package.name)
                    } else {
                        everything || manifest_dirs.contains(&m.dir)
                    };
                    chosen && !sel.exclude.contains(&m.package.name)
                })
                .collect()
        })
        .collect())
}

fn plan_workspace(
    ws: &workspace::Workspace,
    selection: &FeatureSelection,
    selected: &[bool],
) -> WorkspacePlan {
    let dependencies: Vec<Vec<(manifest::Dependency, Option<usize>)>> = ws
        .members
        .iter()
        .map(|member| {
            ws.dependencies_of(member)
                .into_iter()
                // Resolver 1 unifies the features of platform-specific
                // dependencies whatever the platform.
                .filter(|(dep, _)| {
                    ws.resolver == 1 || features::target_applies(dep.target.as_deref())
                })
                .map(|(dep, dir)| {
                    let index = dir.and_then(|d| ws.members.iter().position(|m| m.dir == d));
                    (dep, index)
                })
                .collect()
        })
        .collect();
    let member_deps: Vec<features::MemberDeps<'_>> = ws
        .members
        .iter()
        .zip(dependencies)
        .map(|(member, dependencies)| features::MemberDeps {
            package: &member.package,
            dependencies,
        })
        .collect();
    let cli_member = if ws.resolver == 1 {
        ws.root_package
    } else {
        None
    };
    let features = features::resolve_selected(&member_deps, selection, cli_member, selected);
    let default_features = features::resolve_selected(
        &member_deps,
        &FeatureSelection::default(),
        cli_member,
        selected,
    );
    let mut jobs = Vec::new();
    let mut custom_harness = Vec::new();
    for (index, member) in ws.members.iter().enumerate() {
        if !selected.get(index).copied().unwrap_or(false) {
            continue;
        }
        let layout = targets::Layout::read(&member.dir);
        for target in targets::package_targets(&member.dir, &member.package, &layout) {
            let enabled = &features[index];
            let buildable = target
                .required_features
                .iter()
                .all(|f| required_feature_enabled(f, enabled));
            if !target.test || !buildable {
                continue;
            }
            let plan = TargetPlan {
                member: index,
                target,
            };
            if plan.target.harness {
                jobs.push(plan);
            } else {
                custom_harness.push(plan);
            }
        }
    }
    let lock = std::fs::read_to_string(ws.root.join("Cargo.lock")).ok();
    WorkspacePlan {
        features,
        default_features,
        jobs,
        test_case_numbered: test_case::lock_numbers_cases(lock.as_deref()),
        custom_harness,
    }
}

/// `required-features` entries are feature names, or `dep/feature` (which
/// needs the dependency's feature; a member's own features are what we know,
/// so those count as met).
fn required_feature_enabled(feature: &str, enabled: &BTreeSet<String>) -> bool {
    feature.contains('/') || enabled.contains(feature)
}

fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The deepest directory containing every path (files count as their
/// directory).
fn common_root(paths: &[PathBuf]) -> PathBuf {
    let dirs: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            let dir = if p.is_file() {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                p.clone()
            };
            workspace::normalize(&dir)
        })
        .collect();
    let Some(first) = dirs.first() else {
        return PathBuf::new();
    };
    let mut root = first.clone();
    for dir in &dirs[1..] {
        while !dir.starts_with(&root) {
            if !root.pop() {
                break;
            }
        }
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_root_of_several_paths() {
        let root = common_root(&[PathBuf::from("/a/b/c"), PathBuf::from("/a/b/d/e")]);
        assert_eq!(root, PathBuf::from("/a/b"));
    }

    #[test]
    fn usage_errors() {
        let opts = |p: &str| CollectOptions {
            paths: vec![PathBuf::from(p)],
            features: FeatureSelection::default(),
        };
        assert!(matches!(
            collect(&CollectOptions {
                paths: vec![],
                features: FeatureSelection::default()
            }),
            Err(CollectError::NoPaths)
        ));
        assert!(matches!(
            collect(&opts("rel")),
            Err(CollectError::RelativePath(_))
        ));
        assert!(matches!(
            collect(&opts("/definitely/not/here")),
            Err(CollectError::NotFound(_))
        ));
    }
}
