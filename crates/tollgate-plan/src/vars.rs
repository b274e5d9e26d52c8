//! Trigger variables (seed 000: "all CI variables must be defined in one
//! place"): declared once in `tollgate.toml` with a type and a default, and
//! resolved for one pipeline run from, in order of precedence,
//! `--var NAME=VALUE` flags, the environment, the pipeline's `set` table and
//! the declared default.
//!
//! Pure: the environment is passed in as a lookup function so tests (and
//! callers that want a clean slate) decide what it contains.

use std::collections::BTreeMap;

use serde::Serialize;
use tollgate_config::{Config, Pipeline, VarValue, Variable, VariableType};
use tollgate_markexpr::{Expression, NameSet};

use crate::error::{closest, PlanError};

/// Where a resolved value came from (shown in the plan so a surprising job
/// can be traced to the flag or environment variable that enabled it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VarSource {
    Flag,
    Environment,
    Pipeline,
    Default,
    /// Set by the planner itself (the framework chosen from the changes).
    Changes,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedVar {
    pub value: VarValue,
    pub source: VarSource,
}

/// The values of every declared variable that has one, by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Variables {
    values: BTreeMap<String, ResolvedVar>,
    /// Every declared name, set or not (unset ones render empty in commands).
    #[serde(skip)]
    declared: Vec<String>,
}

impl Variables {
    /// Resolves every declared variable. `flags` are the raw `--var` values
    /// (`NAME=VALUE`, the last one for a name wins); `env` looks up an
    /// environment variable (an empty value counts as unset, as CI systems
    /// often export empty variables).
    pub fn resolve(
        config: &Config,
        pipeline: Option<&Pipeline>,
        flags: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Variables, PlanError> {
        let mut from_flags: BTreeMap<&str, &str> = BTreeMap::new();
        for arg in flags {
            let Some((name, value)) = arg.split_once('=') else {
                return Err(PlanError::MalformedVarFlag { arg: arg.clone() });
            };
            let name = name.trim();
            if !config.variables.contains_key(name) {
                return Err(PlanError::UnknownVariable {
                    name: name.to_string(),
                    suggestion: closest(name, config.variables.keys()),
                    known: config.variables.keys().map(str::to_string).collect(),
                });
            }
            from_flags.insert(name, value);
        }

        let mut values = BTreeMap::new();
        for (name, decl) in config.variables.iter() {
            let resolved = if let Some(text) = from_flags.get(name) {
                Some(ResolvedVar {
                    value: parse_value(name, decl, text, "--var")?,
                    source: VarSource::Flag,
                })
            } else if let Some(text) = env(decl.env_name(name)).filter(|v| !v.is_empty()) {
                let origin = format!("environment variable {}", decl.env_name(name));
                Some(ResolvedVar {
                    value: parse_value(name, decl, &text, &origin)?,
                    source: VarSource::Environment,
                })
            } else if let Some(value) = pipeline.and_then(|p| p.set.get(name)) {
                Some(ResolvedVar {
                    value: value.clone(),
                    source: VarSource::Pipeline,
                })
            } else {
                decl.default.clone().map(|value| ResolvedVar {
                    value,
                    source: VarSource::Default,
                })
            };
            if let Some(resolved) = resolved {
                values.insert(name.to_string(), resolved);
            }
        }
        Ok(Variables {
            values,
            declared: config.variables.keys().map(str::to_string).collect(),
        })
    }

    pub fn get(&self, name: &str) -> Option<&VarValue> {
        self.values.get(name).map(|r| &r.value)
    }

    pub fn resolved(&self, name: &str) -> Option<&ResolvedVar> {
        self.values.get(name)
    }

    /// The value as a string (`{NAME}` placeholders); `None` when unset.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(ToString::to_string)
    }

    /// Whether `name` is a declared variable (set or not). Only variables
    /// resolved through [`Variables::resolve`] are known to be declared.
    pub fn is_declared(&self, name: &str) -> bool {
        self.values.contains_key(name) || self.declared.iter().any(|d| d == name)
    }

    pub fn set(&mut self, name: &str, value: VarValue, source: VarSource) {
        self.values
            .insert(name.to_string(), ResolvedVar { value, source });
    }

    /// Whether a job's `when` condition holds: the marker-expression grammar
    /// over bool variables, a variable being true when its value is `true`.
    /// An unset variable is false. A condition that does not parse (only
    /// possible in a config that skipped validation) is false.
    pub fn condition_holds(&self, when: &str) -> bool {
        let Ok(expr) = Expression::parse(when) else {
            return false;
        };
        let truthy: Vec<&str> = self
            .values
            .iter()
            .filter(|(_, r)| r.value == VarValue::Bool(true))
            .map(|(name, _)| name.as_str())
            .collect();
        expr.evaluate(&NameSet(&truthy))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &ResolvedVar)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Parses `text` as a value of the declared type.
fn parse_value(
    name: &str,
    decl: &Variable,
    text: &str,
    origin: &str,
) -> Result<VarValue, PlanError> {
    let bad = |expected: String| PlanError::BadVariableValue {
        name: name.to_string(),
        value: text.to_string(),
        source_name: origin.to_string(),
        expected,
    };
    let trimmed = text.trim();
    match decl.kind {
        VariableType::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(VarValue::Bool(true)),
            "false" | "0" | "no" | "off" => Ok(VarValue::Bool(false)),
            _ => Err(bad(
                "expected a bool (true/false, 1/0, yes/no, on/off)".into()
            )),
        },
        VariableType::Int => trimmed
            .parse::<i64>()
            .map(VarValue::Int)
            .map_err(|_| bad("expected an integer".into())),
        VariableType::Float => trimmed
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(VarValue::Float)
            .ok_or_else(|| bad("expected a number".into())),
        VariableType::Enum => {
            if decl.values.iter().any(|v| v == trimmed) {
                Ok(VarValue::Str(trimmed.to_string()))
            } else {
                Err(bad(format!("expected one of {}", decl.values.join(", "))))
            }
        }
        VariableType::String => Ok(VarValue::Str(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"
[variables.RUN_VLLM]
type = "bool"
default = false
[variables.NIGHTLY_BUILD]
type = "bool"
[variables.FRAMEWORK]
type = "enum"
values = ["vllm", "trtllm"]
default = "vllm"
env = "DYNAMO_FRAMEWORK"
[variables.THRESHOLD]
type = "float"
default = 80.0
[variables.GPUS]
type = "int"
"#;

    fn config() -> Config {
        Config::from_str(SRC, "tollgate.toml").expect("valid config")
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn flags_beat_environment_beat_pipeline_beat_default() {
        let config = config();
        let pipeline: Pipeline = toml::from_str(
            "stage = \"x\"\non = \"push\"\njobs = []\nset = { NIGHTLY_BUILD = true }",
        )
        .unwrap();
        let env = |name: &str| match name {
            "DYNAMO_FRAMEWORK" => Some("trtllm".to_string()),
            "GPUS" => Some("4".to_string()),
            "RUN_VLLM" => Some(String::new()),
            _ => None,
        };
        let flags = vec!["GPUS=2".to_string()];
        let vars = Variables::resolve(&config, Some(&pipeline), &flags, &env).unwrap();
        assert_eq!(vars.resolved("GPUS").unwrap().value, VarValue::Int(2));
        assert_eq!(vars.resolved("GPUS").unwrap().source, VarSource::Flag);
        assert_eq!(vars.get("FRAMEWORK"), Some(&VarValue::Str("trtllm".into())));
        assert_eq!(
            vars.resolved("FRAMEWORK").unwrap().source,
            VarSource::Environment
        );
        assert_eq!(
            vars.resolved("NIGHTLY_BUILD").unwrap().source,
            VarSource::Pipeline
        );
        // An empty environment value counts as unset: the default applies.
        assert_eq!(
            vars.resolved("RUN_VLLM").unwrap().source,
            VarSource::Default
        );
        assert_eq!(vars.get("THRESHOLD"), Some(&VarValue::Float(80.0)));
    }

    #[test]
    fn unset_variables_without_default_stay_unset() {
        let vars = Variables::resolve(&config(), None, &[], &no_env).unwrap();
        assert_eq!(vars.get("GPUS"), None);
        assert_eq!(vars.get("NIGHTLY_BUILD"), None);
        assert!(!vars.condition_holds("NIGHTLY_BUILD"));
        assert!(vars.condition_holds("not NIGHTLY_BUILD"));
    }

    #[test]
    fn conditions_use_bool_values() {
        let flags = vec!["RUN_VLLM=yes".to_string()];
        let vars = Variables::resolve(&config(), None, &flags, &no_env).unwrap();
        assert!(vars.condition_holds("RUN_VLLM"));
        assert!(vars.condition_holds("RUN_VLLM or NIGHTLY_BUILD"));
        assert!(!vars.condition_holds("RUN_VLLM and NIGHTLY_BUILD"));
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let config = config();
        let err = Variables::resolve(&config, None, &["RUN_VLM=true".into()], &no_env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variable `RUN_VLM` in --var (did you mean `RUN_VLLM`?)"
        );
        let err = Variables::resolve(&config, None, &["RUN_VLLM".into()], &no_env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--var \"RUN_VLLM\" is not of the form NAME=VALUE"
        );
        let err =
            Variables::resolve(&config, None, &["RUN_VLLM=maybe".into()], &no_env).unwrap_err();
        assert!(err.to_string().contains("expected a bool"), "{err}");
        let err =
            Variables::resolve(&config, None, &["FRAMEWORK=sglang".into()], &no_env).unwrap_err();
        assert!(
            err.to_string().contains("expected one of vllm, trtllm"),
            "{err}"
        );
        let env = |name: &str| (name == "GPUS").then(|| "two".to_string());
        let err = Variables::resolve(&config, None, &[], &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "variable `GPUS` = \"two\" (from environment variable GPUS): expected an integer"
        );
    }
}
