//! Shared by `tollgate triage`, `tollgate notify` and `tollgate gate`: a
//! stored run's failures, triaged (component, class, clusters, owners) and
//! set against the run history (first seen, pre-existing on the base
//! branch, consecutive failing runs), every text redacted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::Context as _;
use serde::Serialize;
use tollgate_inventory::TestItem;
use tollgate_owners::{CodeOwners, Flavor, Resolver};
use tollgate_run::redact::Redactor;
use tollgate_store::{RunInfo, Store};
use tollgate_triage::{Cluster, Failure, Triager};

use crate::exit::usage;
use crate::project::Project;

/// How far back the history is searched for first sightings and streaks.
const HISTORY_RUNS: u32 = 50;

/// A cluster with its history.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    #[serde(flatten)]
    pub cluster: Cluster,
    /// The oldest run (within the searched history, this one included) in
    /// which the signature failed, and its commit.
    pub first_seen_run: String,
    pub first_seen_commit: String,
    /// Consecutive failing runs of the pipeline on the branch, this one included.
    pub streak: u32,
    /// The same signature failed in the base branch's latest complete run.
    pub pre_existing: bool,
}

/// A triaged run.
#[derive(Debug, Clone, Serialize)]
pub struct RunTriage {
    pub run_key: String,
    pub pipeline: String,
    pub branch: String,
    pub commit: String,
    pub base_branch: String,
    pub failures: usize,
    pub clusters: Vec<ClusterReport>,
}

/// Secret redaction as `tollgate run` does it (`[run.redact]` plus the
/// default secret variables).
pub fn redactor(project: &Project) -> anyhow::Result<Redactor> {
    let redact = &project.config.run.redact;
    Redactor::from_process_env(&redact.env, &redact.patterns).map_err(|e| usage(e.to_string()))
}

/// `[owners]` as a resolver, reading the CODEOWNERS file if one is configured and present.
pub fn resolver(project: &Project) -> anyhow::Result<Resolver> {
    let owners = &project.config.owners;
    let codeowners = match &owners.codeowners {
        Some(file) => {
            let path = project.root.join(file);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let flavor = match owners.codeowners_flavor {
                        Some(tollgate_config::CodeownersFlavor::Gitlab) => Flavor::Gitlab,
                        Some(tollgate_config::CodeownersFlavor::Github) => Flavor::Github,
                        None if file.contains(".gitlab/") => Flavor::Gitlab,
                        None => Flavor::Github,
                    };
                    Some(CodeOwners::parse(file, &text, flavor).map_err(|e| usage(e.to_string()))?)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot read {}", path.display()))
                    )
                }
            }
        }
        None => None,
    };
    Resolver::new(&project.config, codeowners).map_err(|e| usage(format!("tollgate.toml: {e}")))
}

/// The run `key`, else the latest run (of `pipeline`, if given).
pub fn find_run(
    store: &mut Store,
    key: Option<&str>,
    pipeline: Option<&str>,
) -> anyhow::Result<RunInfo> {
    match key {
        Some(key) => store
            .run(key)?
            .ok_or_else(|| usage(format!("no run `{key}` in the store"))),
        None => store
            .recent_runs(pipeline, 1)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                usage(match pipeline {
                    Some(p) => format!("no run of pipeline `{p}` in the store"),
                    None => "the store has no runs yet".to_string(),
                })
            }),
    }
}

/// Failures of a run as triage takes them; `tests` (the collected
/// inventory, when available) supplies files and markers. Messages are
/// redacted here, before anything is derived from them: a normalised
/// signature would no longer contain a secret verbatim.
fn failures_of(
    store: &mut Store,
    run_key: &str,
    tests: &HashMap<&str, &TestItem>,
    redactor: &Redactor,
) -> anyhow::Result<Vec<Failure>> {
    let attempts = store
        .failed_attempts(run_key)
        .with_context(|| format!("reading the failures of run {run_key}"))?;
    Ok(attempts
        .into_iter()
        .map(|a| {
            let item = tests.get(a.test_id.as_str());
            let file = item.map(|t| t.file.clone()).or_else(|| {
                a.test_id
                    .split("::")
                    .next()
                    .filter(|f| f.ends_with(".py"))
                    .map(str::to_string)
            });
            Failure {
                timed_out: a.message.starts_with("timeout:"),
                test_id: a.test_id,
                job: a.job,
                file,
                markers: item
                    .map(|t| t.markers.iter().map(|m| m.name.clone()).collect())
                    .unwrap_or_default(),
                message: redactor.redact(&a.message).into_owned(),
                output: String::new(),
                passed_on_retry: a.passed_later,
            }
        })
        .collect())
}

/// Triages `run` with its history. `inventory`: the project's tests, when collected.
pub fn triage_run(
    project: &Project,
    store: &mut Store,
    run: &RunInfo,
    base_branch: &str,
    inventory: Option<&[TestItem]>,
) -> anyhow::Result<RunTriage> {
    let config = &project.config;
    let triager = Triager::new(config).map_err(|e| usage(format!("tollgate.toml: {e}")))?;
    let resolver = resolver(project)?;
    let redactor = redactor(project)?;
    let tests = tests_by_id(inventory);
    let failures = failures_of(store, &run.run_key, &tests, &redactor)?;
    // A test's own owner marker wins over its component's owner.
    let test_owner: HashMap<&str, tollgate_owners::Ownership> = failures
        .iter()
        .filter_map(|f| {
            let item = tests.get(f.test_id.as_str())?;
            let o = resolver.for_test(item)?;
            o.why
                .starts_with("marker")
                .then_some((f.test_id.as_str(), o))
        })
        .collect();
    let mut clusters = triager.clusters(&failures, &|component, class| {
        tollgate_triage::route(&resolver, component, class)
    });
    for c in &mut clusters {
        if c.class.is_code() {
            if let Some(o) = c.tests.iter().find_map(|t| test_owner.get(t.as_str())) {
                c.owner = Some(o.clone());
            }
        }
        c.excerpt = redactor.redact(&c.excerpt).into_owned();
        c.signature = redactor.redact(&c.signature).into_owned();
        c.tests = c
            .tests
            .iter()
            .map(|t| redactor.redact(t).into_owned())
            .collect();
    }

    // History: fingerprints of earlier runs of the pipeline on the branch.
    let earlier = store.runs_before(run, HISTORY_RUNS)?;
    let mut seen: Vec<(RunInfo, BTreeSet<String>)> = Vec::new();
    for r in earlier {
        let f = failures_of(store, &r.run_key, &HashMap::new(), &redactor)?;
        let prints = f.iter().map(|f| triager.triage(f).fingerprint).collect();
        seen.push((r, prints));
    }
    let baseline: BTreeSet<String> = match store.baseline_for(run, base_branch)? {
        Some(b) => failures_of(store, &b.run_key, &HashMap::new(), &redactor)?
            .iter()
            .map(|f| triager.triage(f).fingerprint)
            .collect(),
        _ => BTreeSet::new(),
    };
    let clusters = clusters
        .into_iter()
        .map(|cluster| {
            let fp = &cluster.fingerprint;
            let streak = 1 + seen.iter().take_while(|(_, p)| p.contains(fp)).count() as u32;
            let (first_run, first_commit) = seen
                .iter()
                .rev()
                .find(|(_, p)| p.contains(fp))
                .map_or((run.run_key.clone(), run.commit.clone()), |(r, _)| {
                    (r.run_key.clone(), r.commit.clone())
                });
            ClusterReport {
                pre_existing: baseline.contains(fp),
                cluster,
                first_seen_run: first_run,
                first_seen_commit: first_commit,
                streak,
            }
        })
        .collect();
    Ok(RunTriage {
        run_key: run.run_key.clone(),
        pipeline: run.pipeline.clone(),
        branch: run.branch.clone(),
        commit: run.commit.clone(),
        base_branch: base_branch.to_string(),
        failures: failures.len(),
        clusters,
    })
}

/// Streaks by cluster fingerprint, for the confirmation rule.
pub fn streaks(t: &RunTriage) -> BTreeMap<String, u32> {
    t.clusters
        .iter()
        .map(|c| (c.cluster.fingerprint.clone(), c.streak))
        .collect()
}

/// The gate check `critical_failures` is left out of check alerts: every
/// failing test it counts is already in a failure cluster's alert.
const CLUSTERED_CHECK: &str = "critical_failures";

/// The gate checks `run` failed, from the verdicts `tollgate gate` stored
/// for it, each with its owner and its streak (consecutive earlier runs of
/// the pipeline on the branch whose stored verdicts failed it too). `None`
/// when no verdict is stored for the run: then nothing is known about its
/// checks, and their alerts are neither sent nor resolved.
///
/// Owners: a check about one component (`coverage.LANG.NAME` of a critical
/// path or `budget.NAME` named like a component, `perf.SERIES.METRIC` of a
/// benchmark test that belongs to a component) goes to the component's
/// owner; every other check, and a component without an owner, to the
/// `reporting` CI area (seed 004: coverage trends and regression detection
/// are Reporting's).
pub fn check_failures(
    project: &Project,
    store: &mut Store,
    run: &RunInfo,
    inventory: Option<&[TestItem]>,
) -> anyhow::Result<Option<Vec<tollgate_notify::CheckFailure>>> {
    let verdicts = store
        .run_verdicts(&run.run_key)
        .with_context(|| format!("reading the gate verdicts of run {}", run.run_key))?;
    if verdicts.is_empty() {
        return Ok(None);
    }
    let failed = |v: &tollgate_store::Verdict| v.status != "pass" && v.check != CLUSTERED_CHECK;
    let resolver = resolver(project)?;
    let redactor = redactor(project)?;
    let tests = tests_by_id(inventory);
    let mut earlier: Vec<BTreeSet<String>> = Vec::new();
    for r in store.runs_before(run, HISTORY_RUNS)? {
        let v = store.run_verdicts(&r.run_key)?;
        if v.is_empty() {
            break;
        }
        earlier.push(
            v.iter()
                .filter(|v| failed(v))
                .map(|v| v.check.clone())
                .collect(),
        );
    }
    Ok(Some(
        verdicts
            .iter()
            .filter(|v| failed(v))
            .map(|v| {
                let component = check_component(&v.check, project, &resolver, &tests);
                let owner = component
                    .as_deref()
                    .and_then(|c| resolver.for_component(c))
                    .or_else(|| {
                        resolver
                            .for_area(tollgate_owners::CiArea::Reporting)
                            .map(|mut o| {
                                o.component.clone_from(&component);
                                o
                            })
                    });
                tollgate_notify::CheckFailure {
                    streak: 1 + earlier
                        .iter()
                        .take_while(|checks| checks.contains(&v.check))
                        .count() as u32,
                    name: v.check.clone(),
                    blocking: v.status == "block",
                    detail: redactor.redact(&v.detail).into_owned(),
                    component,
                    owner,
                }
            })
            .collect(),
    ))
}

/// The component a gate check is about, when it is about one.
fn check_component(
    check: &str,
    project: &Project,
    resolver: &Resolver,
    tests: &HashMap<&str, &TestItem>,
) -> Option<String> {
    let config = &project.config;
    let known = |name: &str| {
        (config.components.contains_key(name) || config.frameworks.contains_key(name))
            .then(|| name.to_string())
    };
    if let Some(rest) = check.strip_prefix("perf.") {
        let (series, _metric) = rest.rsplit_once('.')?;
        if let Some(test) = tests.get(series) {
            return resolver.component_of_test(test).map(|(c, _)| c);
        }
        let file = series.split("::").next().unwrap_or(series);
        return resolver.component_of_path(file).map(|(c, _)| c);
    }
    if let Some(rest) = check.strip_prefix("coverage.") {
        return rest.split_once('.').and_then(|(_, name)| known(name));
    }
    check.strip_prefix("budget.").and_then(known)
}

/// The collected tests by id (none when the run's inventory is unknown).
fn tests_by_id(inventory: Option<&[TestItem]>) -> HashMap<&str, &TestItem> {
    inventory
        .unwrap_or_default()
        .iter()
        .map(|t| (t.id.as_str(), t))
        .collect()
}
