//! The test-case crate's (v3) test naming, reproduced without expanding the
//! macro.
//!
//! `#[test_case(args => expected ; "comment")] fn f` turns `f` into a module
//! `f` holding one test per case (every `#[test_case]`, `#[test_case::case]`
//! and `#[test_matrix]` on the function, in attribute order). A case's name
//! is the comment, or `"{arg}_{arg}_expects"` plus `" {expected}"` from the
//! argument tokens, run through the crate's `escape_test_name` (lowercase;
//! every run of non-alphanumeric characters one `_`; `_` before a leading
//! digit). Since test-case 3.4 the test is `test_case_{n}_{name}` (`n` from 1
//! in attribute order; no second `_` when the name starts with one): see
//! [`numbered_name`]; 3.0–3.3 use the bare name. The parsing below follows
//! `test-case-core` 3.4 (`TestCase`, `TestCaseExpression` and `TestMatrix`'s
//! `Parse`/`Display`) with syn, as the crate itself does;
//! it is hand-written because the crate's parser lives in a proc-macro
//! support crate that is not meant to be used as a library (its types do not
//! expose the name without rendering the whole test). `is`/`it` assertions
//! (the crate's "complex" expressions) are named only through a comment;
//! without one the case is reported, not guessed.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ExprRange, Lit, LitStr, Pat, RangeLimits, Token};

/// One generated test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSpec {
    /// The test's name inside the function's module.
    pub name: String,
    /// `=> ignore`/`=> inconclusive` (`Some("")` without a reason).
    pub ignore: Option<String>,
    /// `=> panics`.
    pub should_panic: bool,
}

/// The crate's `escape_test_name`.
pub fn escape_test_name(input: &str) -> String {
    if input.is_empty() {
        return "_empty".to_string();
    }
    let mut last_under = false;
    let mut ident: String = input
        .to_ascii_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() {
                last_under = false;
                Some(c.to_ascii_lowercase())
            } else if !last_under {
                last_under = true;
                Some('_')
            } else {
                None
            }
        })
        .collect();
    if !ident.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic()) {
        ident = format!("_{ident}");
    }
    ident
}

/// A case's test name from test-case 3.4 on: `test_case_{number}_{name}`.
pub fn numbered_name(number: usize, name: &str) -> String {
    let sep = if name.starts_with('_') { "" } else { "_" };
    format!("test_case_{number}{sep}{name}")
}

/// Whether a workspace's `Cargo.lock` (its text) locks test-case 3.4 or
/// later, which numbers its tests; without test-case in the lock file (or
/// without a lock file) the newest naming is assumed.
pub fn lock_numbers_cases(lock: Option<&str>) -> bool {
    let Some(lock) = lock else { return true };
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() != "name = \"test-case-macros\"" {
            continue;
        }
        let Some(version) = lines
            .next()
            .and_then(|l| l.trim().strip_prefix("version = \""))
            .and_then(|v| v.strip_suffix('"'))
        else {
            continue;
        };
        let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        return (major, minor) >= (3, 4);
    }
    true
}

fn fmt_syn(tokens: &impl ToTokens) -> String {
    tokens.to_token_stream().to_string()
}

/// What follows `=>`: the modifiers and how the result is described.
struct Expression {
    /// Distinct `ignore`/`inconclusive` modifiers (their reasons).
    modifiers: Vec<Option<String>>,
    result: ResultKind,
}

enum ResultKind {
    /// Its `Display` text.
    Described(String),
    /// `panics` (its `Display` text).
    Panics(String),
    /// `is ..`/`it ..`: not modelled.
    Complex,
}

impl Expression {
    /// The crate's `Display for TestCaseExpression`, if modelled.
    fn describe(&self) -> Option<String> {
        let mut out = "inconclusive".repeat(self.modifiers.len());
        match &self.result {
            ResultKind::Described(text) | ResultKind::Panics(text) => out.push_str(text),
            ResultKind::Complex => return None,
        }
        Some(out)
    }

    fn ignore(&self) -> Option<String> {
        self.modifiers
            .first()
            .map(|reason| reason.clone().unwrap_or_default())
    }

    fn should_panic(&self) -> bool {
        matches!(self.result, ResultKind::Panics(_))
    }
}

fn peek_ident(input: ParseStream<'_>, word: &str) -> bool {
    input.cursor().ident().is_some_and(|(i, _)| i == word)
}

fn take_ident(input: ParseStream<'_>, word: &str) -> bool {
    peek_ident(input, word) && input.parse::<proc_macro2::Ident>().is_ok()
}

fn parse_expression(input: ParseStream<'_>) -> syn::Result<Expression> {
    input.parse::<Token![=>]>()?;
    let mut modifiers: Vec<Option<String>> = Vec::new();
    while peek_ident(input, "inconclusive") || peek_ident(input, "ignore") {
        let fork = input.fork();
        let _: proc_macro2::Ident = fork.parse()?;
        let reason = if fork.peek(syn::token::Bracket) {
            let content;
            syn::bracketed!(content in fork);
            match content.parse::<LitStr>() {
                Ok(lit) => Some(lit.value()),
                // The crate's `parse_kws` stops at a modifier that fails.
                Err(_) => break,
            }
        } else {
            None
        };
        syn::parse::discouraged::Speculative::advance_to(input, &fork);
        if !modifiers.contains(&reason) {
            modifiers.push(reason);
        }
    }
    let result = if take_ident(input, "matches") {
        let pat = Pat::parse_single(input)?;
        let guard = if input.peek(Token![if]) {
            input.parse::<Token![if]>()?;
            fmt_syn(&input.parse::<Expr>()?)
        } else {
            String::new()
        };
        ResultKind::Described(format!("matching {} {guard}", fmt_syn(&pat)))
    } else if take_ident(input, "it") || take_ident(input, "is") {
        // Consumed up to a comment, as the crate's own parser would.
        while !input.is_empty() && !input.peek(Token![;]) {
            input.parse::<TokenTree>()?;
        }
        ResultKind::Complex
    } else if take_ident(input, "using") {
        ResultKind::Described(format!("use {}", fmt_syn(&input.parse::<Expr>()?)))
    } else if take_ident(input, "with") {
        ResultKind::Described(format!("with {}", fmt_syn(&input.parse::<Expr>()?)))
    } else if take_ident(input, "panics") {
        let expected = if input.is_empty() || input.peek(Token![;]) {
            None
        } else {
            Some(fmt_syn(&input.parse::<Expr>()?))
        };
        ResultKind::Panics(format!("panicking {expected:?}"))
    } else {
        match input.parse::<Expr>() {
            Ok(expr) => ResultKind::Described(fmt_syn(&expr)),
            Err(_) if !modifiers.is_empty() => ResultKind::Described("empty".to_string()),
            Err(e) => return Err(e),
        }
    };
    Ok(Expression { modifiers, result })
}

/// `args (=> expression)? (; "comment")?`, as the crate parses it.
fn parse_case_parts(
    input: ParseStream<'_>,
) -> syn::Result<(Vec<Expr>, Option<Expression>, Option<String>)> {
    let args = Punctuated::<Expr, Token![,]>::parse_separated_nonempty(input)?;
    let expression = if input.is_empty() {
        Ok(None)
    } else {
        let fork = input.fork();
        match parse_expression(&fork) {
            Ok(e) => {
                syn::parse::discouraged::Speculative::advance_to(input, &fork);
                Ok(Some(e))
            }
            Err(e) => Err(e),
        }
    };
    let comment = if input.is_empty() {
        Ok(None)
    } else {
        (|| {
            input.parse::<Token![;]>()?;
            Ok::<_, syn::Error>(Some(input.parse::<LitStr>()?.value()))
        })()
    };
    let (expression, comment) = match (expression, comment) {
        (Err(e), Err(_)) => return Err(e),
        (e, c) => (e.ok().flatten(), c.ok().flatten()),
    };
    // Anything left over is a syntax error for the attribute.
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the test case"));
    }
    Ok((args.into_iter().collect(), expression, comment))
}

fn generated_name(args: &[Expr], expression: Option<&Expression>) -> Option<String> {
    let mut acc = String::new();
    for arg in args {
        acc.push_str(&fmt_syn(arg));
        acc.push('_');
    }
    acc.push_str("expects");
    if let Some(expression) = expression {
        acc.push(' ');
        acc.push_str(&expression.describe()?);
    }
    Some(acc)
}

fn spec(name: String, expression: Option<&Expression>) -> CaseSpec {
    CaseSpec {
        name: escape_test_name(&name),
        ignore: expression.and_then(Expression::ignore),
        should_panic: expression.is_some_and(Expression::should_panic),
    }
}

const COMPLEX: &str =
    "`is`/`it` assertions are not modelled; give the case a name with `; \"comment\"`";

fn error_text(e: &syn::Error) -> String {
    e.to_string()
}

/// The test one `#[test_case(..)]` makes, from the attribute's arguments.
pub fn parse_test_case(tokens: TokenStream) -> Result<CaseSpec, String> {
    let (args, expression, comment) = parse_case_parts
        .parse2(tokens)
        .map_err(|e| error_text(&e))?;
    let name = match comment {
        Some(comment) => comment,
        None => generated_name(&args, expression.as_ref()).ok_or(COMPLEX)?,
    };
    Ok(spec(name, expression.as_ref()))
}

/// The tests one `#[test_matrix(..)]` makes: the cartesian product of its
/// arguments (arrays, tuples, integer ranges or single values).
pub fn parse_test_matrix(tokens: TokenStream) -> Result<Vec<CaseSpec>, String> {
    let (args, expression, comment) = parse_case_parts
        .parse2(tokens)
        .map_err(|e| error_text(&e))?;
    let mut variables: Vec<Vec<Expr>> = Vec::new();
    for arg in args {
        let values: Vec<Expr> = match arg {
            Expr::Array(v) => v.elems.into_iter().collect(),
            Expr::Tuple(v) => v.elems.into_iter().collect(),
            Expr::Range(ExprRange {
                start, limits, end, ..
            }) => {
                let bound = |e: Option<Box<Expr>>| -> Result<isize, String> {
                    match e.as_deref() {
                        Some(Expr::Lit(ExprLit {
                            lit: Lit::Int(n), ..
                        })) => n.base10_parse().map_err(|e| error_text(&e)),
                        _ => Err("test_matrix range bounds must be integer literals".to_string()),
                    }
                };
                let (start, end) = (bound(start)?, bound(end)?);
                let range: Vec<isize> = match limits {
                    RangeLimits::HalfOpen(_) => (start..end).collect(),
                    RangeLimits::Closed(_) => (start..=end).collect(),
                };
                if range.len() > 100_000 {
                    return Err("test_matrix range too large".to_string());
                }
                range
                    .into_iter()
                    .map(|n| {
                        Expr::Lit(ExprLit {
                            attrs: Vec::new(),
                            lit: Lit::new(proc_macro2::Literal::isize_unsuffixed(n)),
                        })
                    })
                    .collect()
            }
            other => vec![other],
        };
        variables.push(values);
    }
    let total = variables
        .iter()
        .try_fold(1usize, |acc, v| acc.checked_mul(v.len()))
        .filter(|n| *n <= 100_000)
        .ok_or("test_matrix makes more than 100,000 cases")?;
    let mut out = Vec::with_capacity(total);
    // Odometer order, last argument fastest (as the crate's product).
    let mut index = vec![0usize; variables.len()];
    if variables.iter().any(Vec::is_empty) {
        return Ok(out);
    }
    for _ in 0..total {
        let combo: Vec<Expr> = index
            .iter()
            .zip(&variables)
            .map(|(i, v)| v[*i].clone())
            .collect();
        let generated = generated_name(&combo, expression.as_ref()).ok_or(COMPLEX)?;
        let name = match &comment {
            Some(prefix) => format!("{prefix}_{generated}"),
            None => generated,
        };
        out.push(spec(name, expression.as_ref()));
        for (slot, values) in index.iter_mut().zip(&variables).rev() {
            *slot += 1;
            if *slot < values.len() {
                break;
            }
            *slot = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(args: &str) -> String {
        parse_test_case(args.parse().unwrap()).unwrap().name
    }

    #[test]
    fn escaping_follows_the_crate() {
        assert_eq!(escape_test_name("a simple sentence"), "a_simple_sentence");
        assert_eq!(
            escape_test_name(" extra end and start spaces "),
            "_extra_end_and_start_spaces_"
        );
        assert_eq!(escape_test_name("MiXeD CaSe"), "mixed_case");
        assert_eq!(escape_test_name("1test"), "_1test");
        assert_eq!(escape_test_name("from⟶to"), "from_to");
        assert_eq!(escape_test_name(""), "_empty");
    }

    #[test]
    fn names_from_arguments_and_expectations() {
        assert_eq!(name("2, 3"), "_2_3_expects");
        assert_eq!(name("-2, 4 => 2"), "_2_4_expects_2");
        assert_eq!(name("\"Hello\" => 5 ; \"Counts a word\""), "counts_a_word");
        assert_eq!(name("1 => matches Ok(_)"), "_1_expects_matching_ok_");
        assert_eq!(
            name("0 => panics \"zero\""),
            "_0_expects_panicking_some_zero_"
        );
        assert_eq!(name("0 => panics"), "_0_expects_panicking_none");
        assert_eq!(name("3 => ignore 4"), "_3_expects_inconclusive4");
        assert_eq!(name("3 => ignore"), "_3_expects_inconclusiveempty");
    }

    #[test]
    fn modifiers_and_panics_become_attributes() {
        let case = parse_test_case("1 => inconclusive[\"slow\"] 2".parse().unwrap()).unwrap();
        assert_eq!(case.ignore.as_deref(), Some("slow"));
        let case = parse_test_case("1 => panics".parse().unwrap()).unwrap();
        assert!(case.should_panic);
        assert!(case.ignore.is_none());
    }

    #[test]
    fn complex_assertions_need_a_comment() {
        assert!(parse_test_case("1.0 => is close to 1.0 precision 0.1".parse().unwrap()).is_err());
        assert_eq!(
            name("1.0 => is close to 1.0 precision 0.1 ; \"close\""),
            "close"
        );
    }

    #[test]
    fn numbering_since_3_4() {
        assert_eq!(numbered_name(1, "_2_3_expects"), "test_case_1_2_3_expects");
        assert_eq!(numbered_name(12, "named"), "test_case_12_named");
        let lock =
            |v: &str| format!("[[package]]\nname = \"test-case-macros\"\nversion = \"{v}\"\n");
        assert!(!lock_numbers_cases(Some(&lock("3.3.1"))));
        assert!(lock_numbers_cases(Some(&lock("3.4.1"))));
        assert!(lock_numbers_cases(Some("[[package]]\nname = \"x\"\n")));
        assert!(lock_numbers_cases(None));
    }

    #[test]
    fn panics_before_a_comment() {
        let case = parse_test_case("1 => panics ; \"named\"".parse().unwrap()).unwrap();
        assert_eq!(case.name, "named");
        assert!(case.should_panic);
    }

    #[test]
    fn matrices_are_cartesian_products() {
        let names: Vec<String> = parse_test_matrix("[1, 2], 0..=1".parse().unwrap())
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            vec![
                "_1_0_expects",
                "_1_1_expects",
                "_2_0_expects",
                "_2_1_expects"
            ]
        );
        let named = parse_test_matrix("(true, false) ; \"flag\"".parse().unwrap()).unwrap();
        assert_eq!(named[0].name, "flag_true_expects");
    }
}
