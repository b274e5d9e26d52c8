//! `tollgate owners [TEST|PATH]...`: who owns a test, a path, a component
//! or a CI area, and why — or, without arguments, every component and
//! framework with its owner and what has none.

use std::fmt::Write as _;

use serde::Serialize;
use tollgate_owners::{CiArea, Ownership};

use crate::exit::{usage, Status};
use crate::failures::resolver;
use crate::project::ConfigLocation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OwnersFormat {
    Human,
    Json,
}

pub const OWNERS_EXAMPLES: &str = "Examples:
  tollgate owners                                   every component, framework and CI area with its owner
  tollgate owners tests/router/test_route.py::test_ok   who owns a test, and why
  tollgate owners lib/llm/src/kv_router/mod.rs      who owns a path (component, CODEOWNERS, fallback)
  tollgate owners infra_fail --format json          a CI area's point of contact

Exit status: 0 when every subject has an owner, 1 when one has none, 2 on a bad tollgate.toml or CODEOWNERS.";

#[derive(Debug, clap::Args)]
pub struct OwnersArgs {
    #[command(flatten)]
    pub location: ConfigLocation,

    /// Test ids (as `tollgate collect` prints them), paths relative to the
    /// project root, component or framework names, or CI areas (`test_fail`, `infra_fail`, ...).
    #[arg(value_name = "TEST|PATH")]
    pub subjects: Vec<String>,

    #[arg(long, value_enum, default_value_t = OwnersFormat::Human)]
    pub format: OwnersFormat,
}

#[derive(Debug, Serialize)]
struct Answer {
    subject: String,
    kind: &'static str,
    #[serde(flatten)]
    owner: Option<Ownership>,
}

const AREAS: &[CiArea] = &[
    CiArea::TestFail,
    CiArea::InfraFail,
    CiArea::DockerBuild,
    CiArea::K8s,
    CiArea::Cloud,
    CiArea::Reporting,
    CiArea::SecurityOsrb,
];

pub fn run(args: &OwnersArgs) -> anyhow::Result<Status> {
    let project = args.location.load()?;
    let resolver = resolver(&project)?;
    let config = &project.config;
    let mut answers = Vec::new();
    if args.subjects.is_empty() {
        for name in config.components.keys() {
            answers.push(Answer {
                subject: name.to_string(),
                kind: "component",
                owner: resolver.for_component(name),
            });
        }
        for name in config.frameworks.keys() {
            answers.push(Answer {
                subject: name.to_string(),
                kind: "framework",
                owner: resolver.for_component(name),
            });
        }
        for area in AREAS {
            answers.push(Answer {
                subject: area.key().to_string(),
                kind: "ci area",
                owner: resolver.for_area(*area),
            });
        }
    } else {
        let needs_tests = args.subjects.iter().any(|s| {
            s.contains("::") || (!project.root.join(s).exists() && !is_unit_or_area(config, s))
        });
        let inventory = if needs_tests {
            Some(project.collect()?.inventory)
        } else {
            None
        };
        for subject in &args.subjects {
            if let Some(area) = AREAS.iter().find(|a| a.key() == subject) {
                answers.push(Answer {
                    subject: subject.clone(),
                    kind: "ci area",
                    owner: resolver.for_area(*area),
                });
                continue;
            }
            if config.components.contains_key(subject) || config.frameworks.contains_key(subject) {
                let kind = if config.components.contains_key(subject) {
                    "component"
                } else {
                    "framework"
                };
                answers.push(Answer {
                    subject: subject.clone(),
                    kind,
                    owner: resolver.for_component(subject),
                });
                continue;
            }
            let test = inventory
                .as_ref()
                .and_then(|inv| inv.tests.iter().find(|t| t.id == *subject));
            match test {
                Some(t) => answers.push(Answer {
                    subject: subject.clone(),
                    kind: "test",
                    owner: resolver.for_test(t),
                }),
                None if subject.contains("::") => {
                    return Err(usage(format!(
                        "no test `{subject}` in the project (see `tollgate collect`)"
                    )))
                }
                None => {
                    let path = subject.trim_start_matches("./").replace('\\', "/");
                    answers.push(Answer {
                        subject: subject.clone(),
                        kind: "path",
                        owner: resolver.for_path(&path),
                    });
                }
            }
        }
    }
    let text = match args.format {
        OwnersFormat::Json => serde_json::to_string_pretty(&answers)? + "\n",
        OwnersFormat::Human => {
            let mut out = String::new();
            for a in &answers {
                match &a.owner {
                    Some(o) => {
                        let _ = writeln!(
                            out,
                            "{} ({}): {}\n    why: {}",
                            a.subject,
                            a.kind,
                            o.owners.join(", "),
                            o.why
                        );
                    }
                    None => {
                        let _ = writeln!(out, "{} ({}): NO OWNER", a.subject, a.kind);
                    }
                }
            }
            out
        }
    };
    print!("{text}");
    Ok(if answers.iter().any(|a| a.owner.is_none()) {
        Status::Findings
    } else {
        Status::Success
    })
}

fn is_unit_or_area(config: &tollgate_config::Config, s: &str) -> bool {
    config.components.contains_key(s)
        || config.frameworks.contains_key(s)
        || AREAS.iter().any(|a| a.key() == s)
}
