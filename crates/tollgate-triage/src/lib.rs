//! Failure triage (SPEC §9, issue 16): which component a failure belongs to,
//! what class of failure it is, and which failures share a root cause.
//!
//! Pure: plain [`Failure`]s in, [`Triaged`] failures and [`Cluster`]s out.
//! The store, the inventory and the owners are read by the caller.
//!
//! - **Component**: from the test's markers, else its path, else the first
//!   structured log line in its output matching the configured pattern
//!   (default seed 004's `<component> - <uuid> - <state> <error>`) that
//!   names a known component or framework.
//! - **Class**: [`Class`], from the runner's verdict and the text.
//! - **Signature**: the error line (and innermost frame) normalised; failures
//!   with the same class and signature are one [`Cluster`], across tests.

mod classify;
mod signature;

use std::collections::BTreeMap;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::{Deserialize, Serialize};
use tollgate_config::Config;
use tollgate_owners::{Ownership, Resolver};

pub use classify::{
    Class, Classifier, PatternError, BUILD_PATTERNS, CRASH_PATTERNS, INFRA_PATTERNS,
};
pub use signature::{error_line, excerpt, fingerprint, normalise, signature};

/// Seed 004's structured log line: `<component> - <uuid> - <state> <error>`.
pub const DEFAULT_LOG_PATTERN: &str = r"(?P<component>[A-Za-z][\w.-]*) - (?P<uuid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}) - (?P<rest>.+)";

/// One failed test attempt (the first failing attempt of a test in a run).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub test_id: String,
    #[serde(default)]
    pub job: String,
    /// The test's file, relative to the project root, when known.
    #[serde(default)]
    pub file: Option<String>,
    /// The test's marker names, when known.
    #[serde(default)]
    pub markers: Vec<String>,
    /// The runner said the test ran out of time.
    #[serde(default)]
    pub timed_out: bool,
    /// The failure message (traceback, panic).
    #[serde(default)]
    pub message: String,
    /// Captured output, when kept.
    #[serde(default)]
    pub output: String,
    /// A later attempt of the same test in the same run passed.
    #[serde(default)]
    pub passed_on_retry: bool,
}

impl Failure {
    /// Message and output, as one text.
    pub fn text(&self) -> String {
        match (self.message.is_empty(), self.output.is_empty()) {
            (false, false) => format!("{}\n{}", self.message, self.output),
            (false, true) => self.message.clone(),
            _ => self.output.clone(),
        }
    }
}

/// How a component was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    Marker,
    Path,
    LogLine,
}

/// A failure with its attribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Triaged {
    pub test_id: String,
    pub component: Option<String>,
    pub via: Option<Via>,
    pub class: Class,
    pub signature: String,
    pub fingerprint: String,
}

/// Failures sharing a class and a signature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub fingerprint: String,
    pub signature: String,
    pub class: Class,
    /// The most frequent component of its failures.
    pub component: Option<String>,
    /// Who owns it, and why.
    pub owner: Option<Ownership>,
    /// Distinct failing tests, sorted.
    pub tests: Vec<String>,
    pub failures: usize,
    /// Every failure of the cluster passed on a retry.
    pub flaky: bool,
    /// Lines around the error of the first failure (not yet redacted).
    pub excerpt: String,
}

/// A problem with the triage settings.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("[triage] log_pattern: {0}")]
    LogPattern(String),
    #[error("[triage] log_pattern must have a `component` group")]
    NoComponentGroup,
    #[error(transparent)]
    Pattern(#[from] PatternError),
    #[error("invalid path glob `{glob}` of `{name}`: {message}")]
    Glob {
        name: String,
        glob: String,
        message: String,
    },
}

struct Unit {
    name: String,
    marker: String,
    paths: GlobSet,
}

/// Attribution and classification for one project.
pub struct Triager {
    units: Vec<Unit>,
    log: Regex,
    classifier: Classifier,
}

impl Triager {
    pub fn new(config: &Config) -> Result<Triager, TriageError> {
        let mut units = Vec::new();
        let all = config
            .components
            .iter()
            .map(|(n, c)| (n, c.marker_or(n), &c.paths))
            .chain(
                config
                    .frameworks
                    .iter()
                    .map(|(n, f)| (n, f.marker_or(n), &f.paths)),
            );
        for (name, marker, paths) in all {
            let mut b = GlobSetBuilder::new();
            for p in paths {
                b.add(Glob::new(p).map_err(|e| TriageError::Glob {
                    name: name.to_string(),
                    glob: p.clone(),
                    message: e.kind().to_string(),
                })?);
            }
            units.push(Unit {
                name: name.to_string(),
                marker: marker.to_string(),
                paths: b.build().map_err(|e| TriageError::Glob {
                    name: name.to_string(),
                    glob: paths.join(", "),
                    message: e.to_string(),
                })?,
            });
        }
        let pattern = config
            .triage
            .log_pattern
            .as_deref()
            .unwrap_or(DEFAULT_LOG_PATTERN);
        let log = Regex::new(pattern).map_err(|e| TriageError::LogPattern(e.to_string()))?;
        if !log.capture_names().any(|n| n == Some("component")) {
            return Err(TriageError::NoComponentGroup);
        }
        Ok(Triager {
            units,
            log,
            classifier: Classifier::new(
                &config.triage.infra_patterns,
                &config.triage.build_patterns,
            )?,
        })
    }

    /// The component of a failure and how it was found.
    pub fn component(
        &self,
        f: &Failure,
        text: &str,
    ) -> (Option<String>, Option<Via>, Option<String>) {
        let structured = self.structured_line(text);
        for u in &self.units {
            if f.markers.iter().any(|m| *m == u.marker) {
                return (
                    Some(u.name.clone()),
                    Some(Via::Marker),
                    structured.map(|s| s.1),
                );
            }
        }
        if let Some(file) = &f.file {
            if let Some(u) = self.units.iter().find(|u| u.paths.is_match(file)) {
                return (
                    Some(u.name.clone()),
                    Some(Via::Path),
                    structured.map(|s| s.1),
                );
            }
        }
        match structured {
            Some((c, rest)) => (Some(c), Some(Via::LogLine), Some(rest)),
            None => (None, None, None),
        }
    }

    /// The first structured log line naming a known component: (component, rest).
    fn structured_line(&self, text: &str) -> Option<(String, String)> {
        for line in text.lines() {
            for caps in self.log.captures_iter(line) {
                let Some(name) = caps.name("component") else {
                    continue;
                };
                let name = name.as_str();
                let known = self.units.iter().find(|u| {
                    u.name.eq_ignore_ascii_case(name) || u.marker.eq_ignore_ascii_case(name)
                });
                if let Some(u) = known {
                    let rest = caps
                        .name("rest")
                        .map_or_else(|| line.to_string(), |m| m.as_str().to_string());
                    return Some((u.name.clone(), rest));
                }
            }
        }
        None
    }

    /// Attributes, classifies and signs one failure.
    pub fn triage(&self, f: &Failure) -> Triaged {
        let text = f.text();
        let (component, via, structured) = self.component(f, &text);
        let class = self.classifier.classify(f.timed_out, &text);
        let signature = signature(&text, structured.as_deref());
        let fingerprint = fingerprint(&[class.as_str(), &signature]);
        Triaged {
            test_id: f.test_id.clone(),
            component,
            via,
            class,
            signature,
            fingerprint,
        }
    }

    /// Triages every failure and groups them by class and signature.
    /// `owner_of` routes a cluster (its component and class) to its owner.
    pub fn clusters(
        &self,
        failures: &[Failure],
        owner_of: &dyn Fn(Option<&str>, Class) -> Option<Ownership>,
    ) -> Vec<Cluster> {
        let triaged: Vec<Triaged> = failures.iter().map(|f| self.triage(f)).collect();
        cluster(failures, &triaged, owner_of)
    }
}

/// Groups triaged failures (same order as `failures`) into clusters, the
/// largest first, then by fingerprint.
pub fn cluster(
    failures: &[Failure],
    triaged: &[Triaged],
    owner_of: &dyn Fn(Option<&str>, Class) -> Option<Ownership>,
) -> Vec<Cluster> {
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in triaged.iter().enumerate() {
        groups.entry(t.fingerprint.as_str()).or_default().push(i);
    }
    let mut clusters: Vec<Cluster> = groups
        .into_values()
        .map(|members| {
            let first = &triaged[members[0]];
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for &i in &members {
                if let Some(c) = &triaged[i].component {
                    *counts.entry(c.as_str()).or_default() += 1;
                }
            }
            let component = counts
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map(|(c, _)| (*c).to_string());
            let mut tests: Vec<String> = members
                .iter()
                .map(|&i| triaged[i].test_id.clone())
                .collect();
            tests.sort();
            tests.dedup();
            Cluster {
                fingerprint: first.fingerprint.clone(),
                signature: first.signature.clone(),
                class: first.class,
                owner: owner_of(component.as_deref(), first.class),
                component,
                tests,
                failures: members.len(),
                flaky: members.iter().all(|&i| failures[i].passed_on_retry),
                excerpt: excerpt(&failures[members[0]].text(), 3, 2000),
            }
        })
        .collect();
    clusters.sort_by(|a, b| {
        b.failures
            .cmp(&a.failures)
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    clusters
}

/// The usual routing: a code failure goes to its component's owner, else
/// to the CI area of its class (seed 004: "Test Fail"); infrastructure and
/// build failures go to their CI area's point of contact.
pub fn route(resolver: &Resolver, component: Option<&str>, class: Class) -> Option<Ownership> {
    if class.is_code() {
        if let Some(o) = component.and_then(|c| resolver.for_component(c)) {
            return Some(o);
        }
    }
    resolver.for_area(class.ci_area()).map(|mut o| {
        o.component = component.map(str::to_string);
        o
    })
}

#[cfg(test)]
mod tests;
