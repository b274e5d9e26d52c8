//! `cfg(...)` predicates: parsed once from syn attributes, evaluated per
//! feature set.
//!
//! Parsing is separate from evaluation because a file is parsed once but its
//! predicates are evaluated against each package's resolved features.
//!
//! Everything except `feature` and `test` is evaluated for the host tollgate
//! assumes nextest builds for: `x86_64-unknown-linux-gnu`, test profile (so
//! `debug_assertions` is on). A name rustc does not set by itself (a custom
//! `--cfg` such as `loom` or `tokio_unstable`) is *false*, exactly as it is for
//! a plain `cargo nextest list` without `RUSTFLAGS`; the evaluator reports it so
//! the caller can emit a diagnostic rather than silently guess.

use std::collections::BTreeSet;

use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, Meta, Token};

/// A parsed `cfg` predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cfg {
    /// A bare name: `test`, `unix`, `windows`, `loom`.
    Name(String),
    /// `key = "value"`: `feature = "x"`, `target_os = "linux"`.
    KeyValue(String, String),
    All(Vec<Cfg>),
    Any(Vec<Cfg>),
    Not(Box<Cfg>),
    /// Something that is not valid cfg syntax; kept so it can be reported.
    Invalid(String),
}

/// The result of evaluating a predicate: its value and the names it depended
/// on that tollgate had to assume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CfgOutcome {
    pub value: bool,
    /// Predicates that are not known for the assumed host (reported, then
    /// evaluated as false).
    pub unknown: Vec<String>,
}

/// What a predicate is evaluated against.
pub struct CfgContext<'a> {
    /// Features enabled for the package being compiled.
    pub features: &'a BTreeSet<String>,
    /// `cfg(test)`: true for every target nextest lists.
    pub test: bool,
    /// `cfg(proc_macro)`: true when compiling a proc-macro crate.
    pub proc_macro: bool,
}

impl Cfg {
    /// Parses the meta inside `cfg( ... )`.
    pub fn from_meta(meta: &Meta) -> Cfg {
        match meta {
            Meta::Path(path) => match path.get_ident() {
                Some(ident) => Cfg::Name(ident.to_string()),
                None => Cfg::Invalid(path_text(path)),
            },
            Meta::NameValue(nv) => {
                let key = match nv.path.get_ident() {
                    Some(ident) => ident.to_string(),
                    None => return Cfg::Invalid(path_text(&nv.path)),
                };
                match &nv.value {
                    Expr::Lit(ExprLit {
                        lit: Lit::Str(s), ..
                    }) => Cfg::KeyValue(key, s.value()),
                    _ => Cfg::Invalid(key),
                }
            }
            Meta::List(list) => {
                let name = path_text(&list.path);
                let parsed = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated);
                let Ok(inner) = parsed else {
                    return Cfg::Invalid(name);
                };
                let inner: Vec<Cfg> = inner.iter().map(Cfg::from_meta).collect();
                match name.as_str() {
                    "all" => Cfg::All(inner),
                    "any" => Cfg::Any(inner),
                    "not" if inner.len() == 1 => Cfg::Not(Box::new(
                        inner.into_iter().next().unwrap_or(Cfg::All(vec![])),
                    )),
                    _ => Cfg::Invalid(name),
                }
            }
        }
    }

    /// Parses a predicate from source text, e.g. a `[target.'cfg(unix)'.dependencies]` key
    /// without the `cfg(...)` wrapper.
    pub fn parse_str(text: &str) -> Cfg {
        match syn::parse_str::<Meta>(text) {
            Ok(meta) => Cfg::from_meta(&meta),
            Err(_) => Cfg::Invalid(text.to_string()),
        }
    }

    pub fn evaluate(&self, ctx: &CfgContext<'_>) -> CfgOutcome {
        let mut unknown = Vec::new();
        let value = self.eval_into(ctx, &mut unknown);
        CfgOutcome { value, unknown }
    }

    fn eval_into(&self, ctx: &CfgContext<'_>, unknown: &mut Vec<String>) -> bool {
        match self {
            // Short-circuiting: an unknown name after a deciding operand
            // does not change the result, so it is not reported either.
            Cfg::All(items) => items.iter().all(|c| c.eval_into(ctx, unknown)),
            Cfg::Any(items) => items.iter().any(|c| c.eval_into(ctx, unknown)),
            Cfg::Not(inner) => !inner.eval_into(ctx, unknown),
            Cfg::Name(name) => match name.as_str() {
                "test" => ctx.test,
                "proc_macro" => ctx.proc_macro,
                _ => match host_name(name) {
                    Some(v) => v,
                    None => {
                        unknown.push(name.clone());
                        false
                    }
                },
            },
            Cfg::KeyValue(key, value) => {
                if key == "feature" {
                    return ctx.features.contains(value);
                }
                match host_key_value(key, value) {
                    Some(v) => v,
                    None => {
                        unknown.push(format!("{key} = \"{value}\""));
                        false
                    }
                }
            }
            Cfg::Invalid(text) => {
                unknown.push(text.clone());
                false
            }
        }
    }

    /// Features that this predicate requires to be on, read conservatively:
    /// `feature = "x"` at the top or inside `all(...)`. Used for the
    /// `required_features` fact.
    pub fn required_features(&self, out: &mut Vec<String>) {
        match self {
            Cfg::KeyValue(key, value) if key == "feature" && !out.contains(value) => {
                out.push(value.clone());
            }
            Cfg::All(items) => items.iter().for_each(|c| c.required_features(out)),
            _ => {}
        }
    }
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// Bare cfg names rustc sets (or never sets) on x86_64-unknown-linux-gnu in
/// the test profile. `None`: not a name rustc knows.
fn host_name(name: &str) -> Option<bool> {
    match name {
        "unix" | "debug_assertions" | "target_thread_local" | "panic_unwind" => Some(true),
        "windows" | "miri" | "doc" | "doctest" | "rustfmt" | "clippy" => Some(false),
        // Set only by external tools (docs.rs, coverage and fuzzing
        // harnesses, model checkers): known to be off for a plain nextest
        // run, so not worth a warning on every use.
        "docsrs" | "tarpaulin" | "tarpaulin_include" | "coverage" | "coverage_nightly"
        | "fuzzing" | "kani" | "loom" | "shuttle" => Some(false),
        _ => None,
    }
}

/// `key = "value"` cfgs for x86_64-unknown-linux-gnu.
fn host_key_value(key: &str, value: &str) -> Option<bool> {
    let known: &[&str] = match key {
        "target_os" => &["linux"],
        "target_family" => &["unix"],
        "target_arch" => &["x86_64"],
        "target_pointer_width" => &["64"],
        "target_endian" => &["little"],
        "target_env" => &["gnu"],
        "target_vendor" => &["unknown"],
        "target_abi" => &[""],
        "panic" => &["unwind"],
        "target_has_atomic" => &["8", "16", "32", "64", "ptr"],
        "target_feature" => &["fxsr", "sse", "sse2", "x87"],
        "relocation_model" => &["pic"],
        _ => return None,
    };
    Some(known.contains(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, features: &[&str]) -> CfgOutcome {
        let features: BTreeSet<String> = features.iter().map(|s| s.to_string()).collect();
        let ctx = CfgContext {
            features: &features,
            test: true,
            proc_macro: false,
        };
        Cfg::parse_str(text).evaluate(&ctx)
    }

    #[test]
    fn features_and_test() {
        assert!(eval("feature = \"x\"", &["x"]).value);
        assert!(!eval("feature = \"x\"", &[]).value);
        assert!(eval("test", &[]).value);
        assert!(eval("not(feature = \"x\")", &[]).value);
    }

    #[test]
    fn combinators() {
        assert!(eval("all(feature = \"a\", feature = \"b\")", &["a", "b"]).value);
        assert!(!eval("all(feature = \"a\", feature = \"b\")", &["a"]).value);
        assert!(eval("any(feature = \"a\", feature = \"b\")", &["b"]).value);
        assert!(!eval("any()", &[]).value);
        assert!(eval("all()", &[]).value);
    }

    #[test]
    fn host_is_linux_x86_64() {
        assert!(eval("unix", &[]).value);
        assert!(!eval("windows", &[]).value);
        assert!(eval("target_os = \"linux\"", &[]).value);
        assert!(!eval("target_os = \"macos\"", &[]).value);
        assert!(eval("all(unix, target_arch = \"x86_64\")", &[]).value);
        assert!(eval("debug_assertions", &[]).value);
    }

    #[test]
    fn custom_names_are_false_and_reported() {
        let out = eval("my_custom_cfg", &[]);
        assert!(!out.value);
        assert_eq!(out.unknown, vec!["my_custom_cfg".to_string()]);
        let out = eval("loom", &[]);
        assert!(!out.value);
        assert!(out.unknown.is_empty());
        let out = eval("not(tokio_unstable)", &[]);
        assert!(out.value);
        assert_eq!(out.unknown, vec!["tokio_unstable".to_string()]);
    }

    #[test]
    fn required_features_reads_conjunctions_only() {
        let mut out = Vec::new();
        Cfg::parse_str("all(feature = \"a\", unix, feature = \"b\")").required_features(&mut out);
        assert_eq!(out, vec!["a", "b"]);
        let mut out = Vec::new();
        Cfg::parse_str("any(feature = \"a\", feature = \"b\")").required_features(&mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn invalid_syntax_is_reported() {
        let out = eval("feature = 3", &[]);
        assert!(!out.value);
        assert_eq!(out.unknown.len(), 1);
    }
}
