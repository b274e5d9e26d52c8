//! Ready-made configurations that `tollgate init --preset NAME` writes as-is.

/// The seeds' strategy for Dynamo (seeds 003 and 004, trigger variables from 000).
pub const DYNAMO: &str = include_str!("../presets/dynamo.toml");

/// A small generic taxonomy for any project.
pub const MINIMAL: &str = include_str!("../presets/minimal.toml");

/// Preset names with their text, in the order `tollgate init --help` lists them.
pub const PRESETS: &[(&str, &str)] = &[("dynamo", DYNAMO), ("minimal", MINIMAL)];

/// The text of the preset called `name`.
pub fn preset(name: &str) -> Option<&'static str> {
    PRESETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// What `tollgate init` found in the project, for the preset's jobs that
/// call the project's own tools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectFacts {
    /// `.pre-commit-config.yaml` exists: `pre-commit run` has hooks to run.
    pub pre_commit_config: bool,
    /// `container/build.sh` exists: Dynamo's container build.
    pub container_build: bool,
}

/// A preset as `init` writes it into one project, and what was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForProject {
    pub text: String,
    /// One sentence per change, for `init` to print.
    pub notes: Vec<String>,
}

/// The seeds' lint command (dynamo preset), and what replaces it when the
/// project has no pre-commit configuration.
const PRE_COMMIT_LINT: &str = "commands = [\"pre-commit run --all-files\"]\n";
const TOLLGATE_LINT: &str = "\
# `tollgate init` found no .pre-commit-config.yaml, so this job runs tollgate's
# own checks. Once the project has one (and every runner has pre-commit):
#   commands = [\"pre-commit run --all-files\", \"tollgate lint\"]
commands = [\"tollgate lint\"]
";
/// The dynamo preset's container-build jobs.
const BUILD_JOBS: [&str; 2] = ["build", "build_all"];

/// The preset `name` adapted to `facts`: a job that calls a tool or script
/// the project does not have is changed or left out, and said so, instead of
/// failing every run (or, worse, being skipped as passed). `None` for an
/// unknown preset.
///
/// dynamo: without `.pre-commit-config.yaml` the lint job runs `tollgate
/// lint` instead of `pre-commit run --all-files`; without
/// `container/build.sh` the `build` and `build_all` jobs are left out of the
/// file and of every pipeline. minimal calls no project tool.
///
/// Hand-written line edits rather than a TOML editor: the preset is our own
/// text, every edit is checked to have happened (a changed preset fails the
/// tests below), and the result is validated like any tollgate.toml.
pub fn for_project(name: &str, facts: &ProjectFacts) -> Option<ForProject> {
    let text = preset(name)?;
    let mut out = ForProject {
        text: text.to_string(),
        notes: Vec::new(),
    };
    if name != "dynamo" {
        return Some(out);
    }
    if !facts.pre_commit_config {
        debug_assert_eq!(out.text.matches(PRE_COMMIT_LINT).count(), 1);
        out.text = out.text.replacen(PRE_COMMIT_LINT, TOLLGATE_LINT, 1);
        out.notes.push(
            "no .pre-commit-config.yaml here: the lint job runs `tollgate lint` \
             (Dynamo's CI runs `pre-commit run --all-files`; see the comment in [jobs.lint])"
                .into(),
        );
    }
    if !facts.container_build {
        out.text = without_jobs(&out.text, &BUILD_JOBS);
        out.notes.push(
            "no container/build.sh here: the container build jobs (build, build_all) are left out; \
             run `tollgate init --preset dynamo --force` again once the project has one"
                .into(),
        );
    }
    Some(out)
}

/// `text` without the `[jobs.NAME]` tables of `names` (each up to its blank
/// line) and without `names` in any `jobs = [...]` list; a comment says
/// where they were.
fn without_jobs(text: &str, names: &[&str]) -> String {
    let headers: Vec<String> = names.iter().map(|n| format!("[jobs.{n}]")).collect();
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    let mut noted = false;
    for line in text.split_inclusive('\n') {
        if headers.iter().any(|h| line.trim_end() == h) {
            skipping = true;
            if !noted {
                noted = true;
                out.push_str(&format!(
                    "# Jobs {} (Dynamo's ./container/build.sh --framework {{framework}}) are left\n\
                     # out: `tollgate init` found no container/build.sh in this project.\n\n",
                    names.join(", ")
                ));
            }
            continue;
        }
        if skipping {
            if line.trim().is_empty() {
                skipping = false;
            }
            continue;
        }
        match line.strip_prefix("jobs = [") {
            Some(rest) => {
                let list = rest.trim_end().trim_end_matches(']');
                let kept: Vec<&str> = list
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !names.iter().any(|n| *item == format!("\"{n}\"")))
                    .collect();
                out.push_str(&format!("jobs = [{}]\n", kept.join(", ")));
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    fn config(text: &str) -> Config {
        Config::from_str(text, "tollgate.toml")
            .unwrap_or_else(|err| panic!("adapted preset is invalid:\n{}", err.render()))
    }

    #[test]
    fn dynamo_keeps_its_tools_when_the_project_has_them() {
        let all = ProjectFacts {
            pre_commit_config: true,
            container_build: true,
        };
        let out = for_project("dynamo", &all).unwrap();
        assert_eq!(out.text, DYNAMO);
        assert!(out.notes.is_empty());
    }

    #[test]
    fn dynamo_without_pre_commit_config_or_container_build_calls_neither() {
        let out = for_project("dynamo", &ProjectFacts::default()).unwrap();
        assert_eq!(out.notes.len(), 2, "{:?}", out.notes);
        let config = config(&out.text);
        let lint = config.jobs.get("lint").unwrap();
        assert_eq!(lint.commands, vec!["tollgate lint".to_string()]);
        for gone in BUILD_JOBS {
            assert!(!config.jobs.contains_key(gone), "{gone} is still a job");
            for (name, pipeline) in config.pipelines.iter() {
                assert!(
                    !pipeline.jobs.iter().any(|j| j == gone),
                    "pipeline {name} still runs {gone}"
                );
            }
        }
        assert!(!out
            .text
            .contains("container/build.sh --framework {framework}\"]"));
        // Everything else is as the preset has it.
        let full = Config::from_str(DYNAMO, "tollgate.toml").unwrap();
        assert_eq!(config.jobs.len(), full.jobs.len() - BUILD_JOBS.len());
        assert_eq!(
            config.pipelines.get("pr").unwrap().jobs,
            [
                "lint",
                "unit",
                "unit_1",
                "integration_0",
                "integration_1",
                "e2e_0",
                "e2e_1"
            ]
        );
        assert_eq!(config.taxonomy, full.taxonomy);
    }

    #[test]
    fn minimal_is_written_as_is() {
        let out = for_project("minimal", &ProjectFacts::default()).unwrap();
        assert_eq!(out.text, MINIMAL);
        assert!(out.notes.is_empty());
        assert_eq!(for_project("nope", &ProjectFacts::default()), None);
    }

    #[test]
    fn every_preset_parses_and_validates() {
        for (name, text) in PRESETS {
            if let Err(err) = Config::from_str(text, "tollgate.toml") {
                panic!("preset {name} is invalid:\n{}", err.render());
            }
        }
        assert_eq!(preset("dynamo"), Some(DYNAMO));
        assert_eq!(preset("nope"), None);
    }
}
