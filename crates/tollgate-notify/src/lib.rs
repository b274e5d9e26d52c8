//! Alerts (SPEC §9, issue 16): every failure reaches its owner once.
//!
//! The core is pure ([`plan_all`]): triage clusters of a run and the gate
//! checks it failed ([`CheckFailure`]: coverage drop, flaky rate,
//! performance regression, budgets…), what the store remembers about
//! earlier alerts ([`AlertState`]), how many consecutive runs each signature
//! or check has failed, and the clock go in; the messages to send come out —
//! one per owner per run, each listing that owner's clusters and checks that
//! are new, confirmed or due for a repeat, and one resolve notice per owner
//! for those that stopped failing.
//!
//! Rules (Alertmanager-style):
//! - **fingerprint**: a cluster's alert is identified by the branch and the
//!   cluster's fingerprint (class + normalised signature), a gate check's by
//!   the pipeline, the branch and the check's name ([`check_alert`]), the
//!   same on every machine and in every run;
//! - **confirmation**: a cluster is alerted once it failed in `confirm_runs`
//!   consecutive runs of the pipeline on the branch; a critical failure (a
//!   code failure that did not pass on retry, or a gate check whose action
//!   is `block`) on a gated branch at once;
//! - **repeat**: an alert already sent is not sent again within
//!   `repeat_interval`;
//! - **resolve**: an alert that was sent and whose cluster no longer fails
//!   in a run of the same pipeline and branch gets one resolve notice (a
//!   check's alert only when that run's gate verdicts are known).
//!
//! Delivery ([`send`]) is at the edge: a Slack-compatible webhook, SMTP
//! (lettre, rustls) and GitHub issues (REST, found again by an exact
//! fingerprint line through the issues list API).

pub mod render;
pub mod send;

use std::collections::{BTreeMap, BTreeSet};

use globset::Glob;
use serde::Serialize;
use tollgate_owners::Ownership;
use tollgate_triage::{fingerprint, Cluster};

/// The line that identifies an alert in a GitHub issue body or an e-mail.
pub const FINGERPRINT_PREFIX: &str = "tollgate-fingerprint: ";

/// How a gate check's alert fingerprint starts (a cluster's is bare hex),
/// so the alert states in the store say which kind of source they came from.
pub const CHECK_ALERT_PREFIX: &str = "check-";

/// A gate check (SPEC §8) that did not pass in the run: an alert source
/// beside the failure clusters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckFailure {
    /// The check's name as the gate reports it (`coverage_drop.rust`,
    /// `flaky_rate`, `perf.decode.ttft_ms`, `budget.unit`…).
    pub name: String,
    /// `block` or `alert`: a blocking check is critical.
    pub blocking: bool,
    /// What was measured against what (the gate's detail).
    pub detail: String,
    /// The component the check is about, when it is per component.
    pub component: Option<String>,
    /// Who owns it, and why.
    pub owner: Option<Ownership>,
    /// Consecutive gate runs of the pipeline on the branch in which the
    /// check failed, this one included.
    pub streak: u32,
}

impl CheckFailure {
    /// The one-line summary an alert and its resolve notice show.
    pub fn summary(&self) -> String {
        if self.detail.is_empty() {
            format!("{} failed", self.name)
        } else {
            format!("{}: {}", self.name, self.detail)
        }
    }
}

/// How alerts are timed.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Milliseconds within which an alert is not repeated.
    pub repeat_ms: i64,
    pub confirm_runs: u32,
    /// Globs of gated branches (critical failures there skip confirmation).
    pub gated_branches: Vec<String>,
    pub resolve: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            repeat_ms: 24 * 3600 * 1000,
            confirm_runs: 1,
            gated_branches: vec!["main".into()],
            resolve: true,
        }
    }
}

/// The run being reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRef {
    pub run_key: String,
    pub pipeline: String,
    pub branch: String,
    pub commit: String,
}

/// What the store remembers about one alert on one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertState {
    pub alert: String,
    pub owner: String,
    pub pipeline: String,
    pub branch: String,
    /// `firing` or `resolved`.
    pub status: String,
    pub last_sent_ms: i64,
    pub last_run_key: String,
    pub summary: String,
}

/// One cluster as an alert item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Stable alert fingerprint (branch + cluster fingerprint).
    pub alert: String,
    /// The cluster's fingerprint, or the gate check's name.
    pub cluster: String,
    /// What failed: the cluster's class (`test failure`, `infrastructure`…)
    /// or `gate check`.
    pub what: String,
    pub component: Option<String>,
    pub signature: String,
    pub tests: Vec<String>,
    pub failures: usize,
    pub flaky: bool,
    pub excerpt: String,
    /// Why the owner owns it.
    pub why: String,
    /// `new`, `repeat` or `resolved`.
    pub reason: &'static str,
    /// Consecutive failing runs on the branch, this one included.
    pub streak: u32,
}

impl Item {
    /// Whether the item is a gate check's (else a failure cluster's).
    pub fn is_check(&self) -> bool {
        is_check_alert(&self.alert)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Firing,
    Resolved,
}

/// One message: one owner, one run, one kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    pub owner: String,
    pub kind: Kind,
    pub run: RunRef,
    pub items: Vec<Item>,
}

impl Message {
    /// The claim key that makes concurrent shards of one run send this once.
    pub fn claim_key(&self) -> String {
        let kind = match self.kind {
            Kind::Firing => "firing",
            Kind::Resolved => "resolved",
        };
        format!("{kind}:{}", self.owner)
    }
}

/// Why a cluster was not alerted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    pub alert: String,
    pub owner: String,
    pub signature: String,
    pub why: String,
}

/// The decision for one run on one channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub messages: Vec<Message>,
    pub held: Vec<Held>,
}

/// The alert fingerprint of a cluster on a branch.
pub fn alert_fingerprint(branch: &str, cluster: &str) -> String {
    fingerprint(&["tollgate-alert", branch, cluster])
}

/// The alert fingerprint of a gate check of a pipeline on a branch.
pub fn check_alert(pipeline: &str, branch: &str, check: &str) -> String {
    format!(
        "{CHECK_ALERT_PREFIX}{}",
        fingerprint(&["tollgate-check", pipeline, branch, check])
    )
}

/// Whether an alert fingerprint is a gate check's.
pub fn is_check_alert(alert: &str) -> bool {
    alert.starts_with(CHECK_ALERT_PREFIX)
}

/// One alert source, cluster or check, as [`plan_all`] weighs it.
struct Source {
    alert: String,
    key: String,
    what: String,
    component: Option<String>,
    owner: Option<Ownership>,
    signature: String,
    tests: Vec<String>,
    failures: usize,
    flaky: bool,
    excerpt: String,
    critical_kind: bool,
    streak: u32,
}

/// Whether `branch` matches one of the gated-branch globs.
pub fn is_gated(policy: &Policy, branch: &str) -> bool {
    policy.gated_branches.iter().any(|g| {
        Glob::new(g)
            .map(|g| g.compile_matcher().is_match(branch))
            .unwrap_or(false)
    })
}

/// Decides what to send for one run on one channel, from its clusters only
/// (gate checks not evaluated: their alerts are left as they are).
pub fn plan(
    run: &RunRef,
    clusters: &[Cluster],
    streaks: &BTreeMap<String, u32>,
    states: &[AlertState],
    now_ms: i64,
    policy: &Policy,
) -> Plan {
    plan_all(run, clusters, None, streaks, states, now_ms, policy)
}

/// Decides what to send for one run on one channel.
///
/// `streaks`: per cluster fingerprint, consecutive failing runs of the
/// pipeline on the branch including this one. `checks`: the gate checks the
/// run failed, `None` when no gate verdict is known for it (then no check
/// alert is resolved). `states`: the channel's alert states (any
/// pipeline/branch; only this run's pipeline and branch are considered for
/// resolving).
pub fn plan_all(
    run: &RunRef,
    clusters: &[Cluster],
    checks: Option<&[CheckFailure]>,
    streaks: &BTreeMap<String, u32>,
    states: &[AlertState],
    now_ms: i64,
    policy: &Policy,
) -> Plan {
    let gated = is_gated(policy, &run.branch);
    let by_alert: BTreeMap<&str, &AlertState> =
        states.iter().map(|s| (s.alert.as_str(), s)).collect();
    let mut firing: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    let mut held = Vec::new();
    let mut failing: BTreeSet<String> = BTreeSet::new();
    let sources = clusters
        .iter()
        .map(|c| Source {
            alert: alert_fingerprint(&run.branch, &c.fingerprint),
            key: c.fingerprint.clone(),
            what: c.class.as_str().to_string(),
            component: c.component.clone(),
            owner: c.owner.clone(),
            signature: c.signature.clone(),
            tests: c.tests.clone(),
            failures: c.failures,
            flaky: c.flaky,
            excerpt: c.excerpt.clone(),
            critical_kind: c.class.is_code() && !c.flaky,
            streak: streaks.get(&c.fingerprint).copied().unwrap_or(1),
        })
        .chain(checks.unwrap_or_default().iter().map(|c| Source {
            alert: check_alert(&run.pipeline, &run.branch, &c.name),
            key: c.name.clone(),
            what: "gate check".to_string(),
            component: c.component.clone(),
            owner: c.owner.clone(),
            signature: c.summary(),
            tests: Vec::new(),
            failures: 1,
            flaky: false,
            excerpt: String::new(),
            critical_kind: c.blocking,
            streak: c.streak,
        }));
    for c in sources {
        let alert = c.alert.clone();
        failing.insert(alert.clone());
        let owner = c
            .owner
            .as_ref()
            .and_then(|o| o.owners.first().cloned())
            .unwrap_or_else(|| "unowned".to_string());
        let why = c
            .owner
            .as_ref()
            .map_or_else(|| "no owner configured".to_string(), |o| o.why.clone());
        let streak = c.streak.max(1);
        let critical = gated && c.critical_kind;
        let hold = |why: String| Held {
            alert: alert.clone(),
            owner: owner.clone(),
            signature: c.signature.clone(),
            why,
        };
        if !critical && streak < policy.confirm_runs {
            held.push(hold(format!(
                "failed in {streak} of {} consecutive runs needed",
                policy.confirm_runs
            )));
            continue;
        }
        let reason = match by_alert.get(alert.as_str()) {
            Some(s) if s.status == "firing" => {
                if s.last_run_key == run.run_key {
                    held.push(hold(format!("already sent for run {}", run.run_key)));
                    continue;
                }
                if now_ms - s.last_sent_ms < policy.repeat_ms {
                    held.push(hold(format!(
                        "sent {} ago, repeat interval not reached",
                        human_ms(now_ms - s.last_sent_ms)
                    )));
                    continue;
                }
                "repeat"
            }
            _ => "new",
        };
        firing.entry(owner.clone()).or_default().push(Item {
            alert,
            cluster: c.key,
            what: c.what,
            component: c.component,
            signature: c.signature,
            tests: c.tests,
            failures: c.failures,
            flaky: c.flaky,
            excerpt: c.excerpt,
            why,
            reason,
            streak,
        });
    }
    let mut messages: Vec<Message> = firing
        .into_iter()
        .map(|(owner, items)| Message {
            owner,
            kind: Kind::Firing,
            run: run.clone(),
            items,
        })
        .collect();
    if policy.resolve {
        let mut resolved: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        for s in states {
            if s.status != "firing"
                || s.pipeline != run.pipeline
                || s.branch != run.branch
                || failing.contains(&s.alert)
                || s.last_run_key == run.run_key
                || (checks.is_none() && is_check_alert(&s.alert))
            {
                continue;
            }
            resolved.entry(s.owner.clone()).or_default().push(Item {
                alert: s.alert.clone(),
                cluster: String::new(),
                what: if is_check_alert(&s.alert) {
                    "gate check".to_string()
                } else {
                    String::new()
                },
                component: None,
                signature: s.summary.clone(),
                tests: Vec::new(),
                failures: 0,
                flaky: false,
                excerpt: String::new(),
                why: String::new(),
                reason: "resolved",
                streak: 0,
            });
        }
        messages.extend(resolved.into_iter().map(|(owner, items)| Message {
            owner,
            kind: Kind::Resolved,
            run: run.clone(),
            items,
        }));
    }
    Plan { messages, held }
}

fn human_ms(ms: i64) -> String {
    let s = ms / 1000;
    if s < 120 {
        format!("{s}s")
    } else if s < 7200 {
        format!("{}m", s / 60)
    } else {
        format!("{}h", s / 3600)
    }
}

#[cfg(test)]
mod tests;
