//! A small `macro_rules!` expander for the way tests are generated: a macro
//! invoked at item level (`rgtest!(name, |dir, cmd| { .. });`). Scoping
//! (which definition a call means) is the module walk's job
//! ([`crate::modtree`]); this module matches and transcribes one call.
//!
//! It supports literal tokens, delimited groups, `$x:frag` fragments and
//! `$( .. ) sep? *|+|?` repetitions. Fragments that are one token (`ident`,
//! `tt`, `literal`, `lifetime`, `block`) are matched exactly; `expr`, `ty`,
//! `path`, `pat`, `meta`, `item`, `stmt` and `vis` take the longest prefix
//! syn parses as that fragment. Repetitions match greedily without
//! backtracking. Whatever it cannot match is an error, and the caller
//! reports the invocation instead of guessing.

use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

/// One `macro_rules!` definition: its `(matcher) => { transcriber }` rules.
#[derive(Debug, Clone)]
pub struct MacroDef {
    rules: Vec<(Vec<Matcher>, Vec<TokenTree>)>,
}

#[derive(Debug, Clone)]
enum Matcher {
    Token(TokenTree),
    Group(Delimiter, Vec<Matcher>),
    Fragment {
        name: String,
        kind: String,
    },
    Repeat {
        body: Vec<Matcher>,
        separator: Option<TokenTree>,
        at_most_one: bool,
    },
}

#[derive(Debug, Clone)]
enum Binding {
    One(Vec<TokenTree>, bool),
    Many(Vec<Bindings>),
}

/// Variable → binding; few variables per rule, so a list beats a hash map.
#[derive(Debug, Clone, Default)]
struct Bindings(Vec<(String, Binding)>);

impl Bindings {
    fn new() -> Self {
        Bindings(Vec::new())
    }

    fn get(&self, name: &str) -> Option<&Binding> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, b)| b)
    }

    fn insert(&mut self, name: String, binding: Binding) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = binding,
            None => self.0.push((name, binding)),
        }
    }

    fn extend(&mut self, other: Bindings) {
        for (name, binding) in other.0 {
            self.insert(name, binding);
        }
    }
}

/// Parses the body of `macro_rules! name { .. }`.
pub fn parse_macro_rules(body: &TokenStream) -> Option<MacroDef> {
    let tokens: Vec<TokenTree> = body.clone().into_iter().collect();
    let mut rules = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let TokenTree::Group(matcher) = &tokens[i] else {
            return None;
        };
        let arrow = (tokens.get(i + 1), tokens.get(i + 2));
        let (Some(TokenTree::Punct(eq)), Some(TokenTree::Punct(gt))) = arrow else {
            return None;
        };
        if eq.as_char() != '=' || gt.as_char() != '>' {
            return None;
        }
        let Some(TokenTree::Group(transcriber)) = tokens.get(i + 3) else {
            return None;
        };
        let matcher = parse_matcher(&matcher.stream().into_iter().collect::<Vec<_>>())?;
        rules.push((matcher, transcriber.stream().into_iter().collect()));
        i += 4;
        if matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == ';') {
            i += 1;
        }
    }
    Some(MacroDef { rules })
}

fn is_punct(tt: Option<&TokenTree>, c: char) -> bool {
    matches!(tt, Some(TokenTree::Punct(p)) if p.as_char() == c)
}

fn parse_matcher(tokens: &[TokenTree]) -> Option<Vec<Matcher>> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(tt) = tokens.get(i) {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '$' => match tokens.get(i + 1) {
                Some(TokenTree::Ident(name)) => {
                    if !is_punct(tokens.get(i + 2), ':') {
                        return None;
                    }
                    let Some(TokenTree::Ident(kind)) = tokens.get(i + 3) else {
                        return None;
                    };
                    out.push(Matcher::Fragment {
                        name: name.to_string(),
                        kind: kind.to_string(),
                    });
                    i += 4;
                }
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
                    let body = parse_matcher(&g.stream().into_iter().collect::<Vec<_>>())?;
                    let (separator, op_index) = match tokens.get(i + 2) {
                        Some(TokenTree::Punct(p)) if matches!(p.as_char(), '*' | '+' | '?') => {
                            (None, i + 2)
                        }
                        Some(sep) => (Some(sep.clone()), i + 3),
                        None => return None,
                    };
                    let Some(TokenTree::Punct(op)) = tokens.get(op_index) else {
                        return None;
                    };
                    if !matches!(op.as_char(), '*' | '+' | '?') {
                        return None;
                    }
                    out.push(Matcher::Repeat {
                        body,
                        separator,
                        at_most_one: op.as_char() == '?',
                    });
                    i = op_index + 1;
                }
                _ => return None,
            },
            TokenTree::Group(g) => {
                let inner = parse_matcher(&g.stream().into_iter().collect::<Vec<_>>())?;
                out.push(Matcher::Group(g.delimiter(), inner));
                i += 1;
            }
            other => {
                out.push(Matcher::Token(other.clone()));
                i += 1;
            }
        }
    }
    Some(out)
}

/// Why an invocation could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// No rule's matcher accepts the input (as tollgate matches fragments).
    NoRuleMatches,
    /// The matching rule's transcriber uses a variable tollgate cannot bind.
    Transcription,
}

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExpandError::NoRuleMatches => "no rule of the macro matches this input",
            ExpandError::Transcription => "the matching rule could not be transcribed",
        })
    }
}

impl MacroDef {
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

/// Expands one invocation with the first rule that matches.
pub fn expand(def: &MacroDef, input: &TokenStream) -> Result<TokenStream, ExpandError> {
    let input: Vec<TokenTree> = input.clone().into_iter().collect();
    for (matcher, transcriber) in &def.rules {
        let Some((used, bindings)) = match_seq(matcher, &input, None) else {
            continue;
        };
        if used != input.len() {
            continue;
        }
        let mut out = Vec::new();
        return match transcribe(transcriber, &bindings, &mut out) {
            Some(()) => Ok(out.into_iter().collect()),
            None => Err(ExpandError::Transcription),
        };
    }
    Err(ExpandError::NoRuleMatches)
}

fn same_token(a: &TokenTree, b: &TokenTree) -> bool {
    match (a, b) {
        (TokenTree::Ident(x), TokenTree::Ident(y)) => x == y,
        (TokenTree::Punct(x), TokenTree::Punct(y)) => x.as_char() == y.as_char(),
        (TokenTree::Literal(x), TokenTree::Literal(y)) => x.to_string() == y.to_string(),
        _ => false,
    }
}

/// Matches `matchers` against a prefix of `input`; returns how many tokens
/// were used. `stop` is a token a variable-length fragment must not consume
/// (the separator of the enclosing repetition).
fn match_seq(
    matchers: &[Matcher],
    input: &[TokenTree],
    stop: Option<&TokenTree>,
) -> Option<(usize, Bindings)> {
    let mut pos = 0;
    let mut bindings = Bindings::new();
    for (index, matcher) in matchers.iter().enumerate() {
        match matcher {
            Matcher::Token(t) => {
                if !same_token(t, input.get(pos)?) {
                    return None;
                }
                pos += 1;
            }
            Matcher::Group(delimiter, inner) => {
                let TokenTree::Group(g) = input.get(pos)? else {
                    return None;
                };
                if g.delimiter() != *delimiter {
                    return None;
                }
                let inner_input: Vec<TokenTree> = g.stream().into_iter().collect();
                let (used, inner_bindings) = match_seq(inner, &inner_input, None)?;
                if used != inner_input.len() {
                    return None;
                }
                bindings.extend(inner_bindings);
                pos += 1;
            }
            Matcher::Fragment { name, kind } => {
                let rest = input.get(pos..)?;
                let follow = match matchers.get(index + 1) {
                    Some(Matcher::Token(t)) => Some(t),
                    _ => stop,
                };
                let (taken, wrap) = match_fragment(kind, rest, follow)?;
                bindings.insert(name.clone(), Binding::One(rest[..taken].to_vec(), wrap));
                pos += taken;
            }
            Matcher::Repeat {
                body,
                separator,
                at_most_one,
            } => {
                let mut items = Vec::new();
                loop {
                    let rest = input.get(pos..).unwrap_or(&[]);
                    let Some((used, item)) = match_seq(body, rest, separator.as_ref()) else {
                        break;
                    };
                    if used == 0 {
                        break;
                    }
                    items.push(item);
                    pos += used;
                    if *at_most_one {
                        break;
                    }
                    if let Some(sep) = separator {
                        if input.get(pos).is_some_and(|t| same_token(sep, t)) {
                            pos += 1;
                        } else {
                            break;
                        }
                    }
                }
                for name in fragment_names(body) {
                    let per_item = items
                        .iter()
                        .map(|b| {
                            let mut one = Bindings::new();
                            if let Some(v) = b.get(&name) {
                                one.insert(name.clone(), v.clone());
                            }
                            one
                        })
                        .collect();
                    bindings.insert(name, Binding::Many(per_item));
                }
            }
        }
    }
    Some((pos, bindings))
}

/// How many tokens a fragment takes, and whether its tokens must stay
/// grouped when transcribed (an `expr` keeps its precedence).
fn match_fragment(
    kind: &str,
    rest: &[TokenTree],
    follow: Option<&TokenTree>,
) -> Option<(usize, bool)> {
    let first = rest.first();
    match kind {
        "ident" => matches!(first?, TokenTree::Ident(_)).then_some((1, false)),
        "tt" => first.map(|_| (1, false)),
        "block" => matches!(first?, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace)
            .then_some((1, false)),
        "literal" => match first? {
            TokenTree::Literal(_) => Some((1, false)),
            TokenTree::Ident(i) if i == "true" || i == "false" => Some((1, false)),
            TokenTree::Punct(p) if p.as_char() == '-' => {
                matches!(rest.get(1)?, TokenTree::Literal(_)).then_some((2, false))
            }
            _ => None,
        },
        "lifetime" => match (first?, rest.get(1)?) {
            (TokenTree::Punct(p), TokenTree::Ident(_)) if p.as_char() == '\'' => Some((2, false)),
            _ => None,
        },
        "vis" => Some((syn_prefix::<syn::Visibility>(rest).unwrap_or(0), false)),
        "expr" => syn_prefix::<syn::Expr>(rest).map(|n| (n, true)),
        "ty" => syn_prefix::<syn::Type>(rest).map(|n| (n, true)),
        "path" => syn_prefix::<syn::Path>(rest).map(|n| (n, true)),
        "meta" => syn_prefix::<syn::Meta>(rest).map(|n| (n, false)),
        "item" => syn_prefix::<syn::Item>(rest).map(|n| (n, false)),
        "stmt" => syn_prefix::<syn::Stmt>(rest).map(|n| (n, false)),
        "pat" => syn_prefix_with(rest, syn::Pat::parse_multi).map(|n| (n, true)),
        "pat_param" => syn_prefix_with(rest, syn::Pat::parse_single).map(|n| (n, true)),
        _ => {
            // Unknown fragment kinds: up to the next literal token.
            let taken = match follow {
                Some(f) => rest
                    .iter()
                    .position(|t| same_token(f, t))
                    .unwrap_or(rest.len()),
                None => rest.len(),
            };
            (taken > 0).then_some((taken, true))
        }
    }
}

/// How many tokens of `rest` a syn parser for `T` takes (as rustc's
/// fragment parser does: the longest prefix that parses).
fn syn_prefix<T: syn::parse::Parse>(rest: &[TokenTree]) -> Option<usize> {
    syn_prefix_with(rest, T::parse)
}

fn syn_prefix_with<T>(
    rest: &[TokenTree],
    parser: fn(syn::parse::ParseStream<'_>) -> syn::Result<T>,
) -> Option<usize> {
    if rest.is_empty() {
        return None;
    }
    let stream: TokenStream = rest.iter().cloned().collect();
    let remaining = syn::parse::Parser::parse2(
        |input: syn::parse::ParseStream<'_>| {
            parser(input)?;
            input.parse::<TokenStream>()
        },
        stream,
    )
    .ok()?;
    let left = remaining.into_iter().count();
    let taken = rest.len().checked_sub(left)?;
    (taken > 0).then_some(taken)
}

fn fragment_names(matchers: &[Matcher]) -> Vec<String> {
    let mut out = Vec::new();
    for m in matchers {
        match m {
            Matcher::Fragment { name, .. } => out.push(name.clone()),
            Matcher::Group(_, inner) => out.extend(fragment_names(inner)),
            Matcher::Repeat { body, .. } => out.extend(fragment_names(body)),
            Matcher::Token(_) => {}
        }
    }
    out
}

/// The variables visible while transcribing: a repetition's current item
/// over its enclosing scope (no copying of the bindings per item).
struct Scope<'a> {
    local: Vec<(&'a str, &'a Binding)>,
    parent: Option<&'a Scope<'a>>,
    root: &'a Bindings,
}

impl<'a> Scope<'a> {
    fn get(&self, name: &str) -> Option<&'a Binding> {
        if let Some((_, b)) = self.local.iter().find(|(n, _)| *n == name) {
            return Some(b);
        }
        match self.parent {
            Some(parent) => parent.get(name),
            None => self.root.get(name),
        }
    }
}

fn transcribe(tokens: &[TokenTree], bindings: &Bindings, out: &mut Vec<TokenTree>) -> Option<()> {
    let scope = Scope {
        local: Vec::new(),
        parent: None,
        root: bindings,
    };
    transcribe_in(tokens, &scope, out)
}

fn transcribe_in(
    tokens: &[TokenTree],
    bindings: &Scope<'_>,
    out: &mut Vec<TokenTree>,
) -> Option<()> {
    let mut i = 0;
    while let Some(tt) = tokens.get(i) {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '$' => match tokens.get(i + 1) {
                Some(TokenTree::Ident(name)) => {
                    let key = name.to_string();
                    match bindings.get(&key) {
                        Some(Binding::One(value, wrap)) => {
                            if *wrap {
                                let stream: TokenStream = value.iter().cloned().collect();
                                out.push(TokenTree::Group(Group::new(Delimiter::None, stream)));
                            } else {
                                out.extend(value.iter().cloned());
                            }
                        }
                        Some(Binding::Many(_)) => return None,
                        None if key == "crate" => {
                            out.push(TokenTree::Ident(Ident::new("crate", Span::call_site())))
                        }
                        None => return None,
                    }
                    i += 2;
                }
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => {
                    let body: Vec<TokenTree> = g.stream().into_iter().collect();
                    let (separator, op_index) = match tokens.get(i + 2) {
                        Some(TokenTree::Punct(p)) if matches!(p.as_char(), '*' | '+' | '?') => {
                            (None, i + 2)
                        }
                        Some(sep) => (Some(sep.clone()), i + 3),
                        None => return None,
                    };
                    let names = used_names(&body);
                    let repeated: Vec<(&str, &Vec<Bindings>)> = names
                        .iter()
                        .filter_map(|n| match bindings.get(n) {
                            Some(Binding::Many(items)) => Some((n.as_str(), items)),
                            _ => None,
                        })
                        .collect();
                    let count = repeated.first()?.1.len();
                    if repeated.iter().any(|(_, items)| items.len() != count) {
                        return None;
                    }
                    for index in 0..count {
                        if index > 0 {
                            if let Some(sep) = &separator {
                                out.push(sep.clone());
                            }
                        }
                        let scope = Scope {
                            local: repeated
                                .iter()
                                .filter_map(|(name, items)| {
                                    items[index].get(name).map(|b| (*name, b))
                                })
                                .collect(),
                            parent: Some(bindings),
                            root: bindings.root,
                        };
                        transcribe_in(&body, &scope, out)?;
                    }
                    i = op_index + 1;
                }
                _ => {
                    out.push(tt.clone());
                    i += 1;
                }
            },
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                let mut inner_out = Vec::new();
                transcribe_in(&inner, bindings, &mut inner_out)?;
                let mut group = Group::new(g.delimiter(), inner_out.into_iter().collect());
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
                i += 1;
            }
            other => {
                out.push(other.clone());
                i += 1;
            }
        }
    }
    Some(())
}

/// `$name`s used in a transcriber fragment.
fn used_names(tokens: &[TokenTree]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, tt) in tokens.iter().enumerate() {
        match tt {
            TokenTree::Punct(p) if p.as_char() == '$' => {
                if let Some(TokenTree::Ident(name)) = tokens.get(i + 1) {
                    out.push(name.to_string());
                }
            }
            TokenTree::Group(g) => {
                out.extend(used_names(&g.stream().into_iter().collect::<Vec<_>>()))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(def: &str, input: &str) -> Option<String> {
        let def = parse_macro_rules(&def.parse().unwrap())?;
        expand(&def, &input.parse().unwrap())
            .ok()
            .map(|t| t.to_string())
    }

    #[test]
    fn idents_and_exprs_are_substituted() {
        let out = expand_str(
            "($name:ident, $value:expr) => { #[test] fn $name() { assert!($value); } };",
            "my_test, 1 + 1 == 2",
        )
        .unwrap();
        assert!(out.contains("fn my_test"), "{out}");
        assert!(out.contains("1 + 1 == 2"), "{out}");
    }

    #[test]
    fn first_matching_rule_wins_and_repetitions_expand() {
        let def = "($one:ident) => { fn $one() {} }; ($($name:ident),* $(,)?) => { $( #[test] fn $name() {} )* };";
        assert_eq!(expand_str(def, "a").unwrap(), "fn a () { }");
        let out = expand_str(def, "a, b, c,").unwrap();
        assert_eq!(out.matches("# [test]").count(), 3, "{out}");
        assert!(out.contains("fn c"), "{out}");
    }

    #[test]
    fn literal_tokens_must_match() {
        let def = "(kind = fast) => { fn fast() {} };";
        assert!(expand_str(def, "kind = fast").is_some());
        assert!(expand_str(def, "kind = slow").is_none());
    }

    #[test]
    fn unknown_variables_fail_instead_of_guessing() {
        assert!(expand_str("($a:ident) => { fn $b() {} };", "x").is_none());
        assert!(parse_macro_rules(&"not a macro".parse().unwrap()).is_none());
    }
}
