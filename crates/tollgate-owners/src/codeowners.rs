//! CODEOWNERS files, with GitHub's and GitLab's semantics.
//!
//! - GitHub: one list of rules; the **last** matching rule wins; a rule with
//!   no owners makes the path unowned.
//! - GitLab: rules before any section behave like GitHub's; after that,
//!   `[Section]` (or `^[Optional Section]`, `[Section][2]`) headers may name
//!   default owners (`[Docs] @docs-team`) used by rules of the section that
//!   name none. Within a section the last match wins; **every** section
//!   that matches contributes its owners. `!pattern` (GitLab exclusions)
//!   removes matching paths from the section's ownership.
//!
//! Patterns follow gitignore: a leading `/` or a `/` inside anchors the
//! pattern at the repository root, otherwise it matches at any depth; a
//! trailing `/` matches a directory's contents; `*` stops at `/`, `**` does not.

use globset::{GlobBuilder, GlobMatcher};
use serde::Serialize;

/// Which product's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Github,
    Gitlab,
}

/// A parsed CODEOWNERS file.
#[derive(Debug, Clone)]
pub struct CodeOwners {
    /// The file as the project names it (for "why" texts).
    pub file: String,
    pub flavor: Flavor,
    rules: Vec<CodeRule>,
}

#[derive(Debug, Clone)]
struct CodeRule {
    pattern: String,
    matchers: Vec<GlobMatcher>,
    owners: Vec<String>,
    line: u32,
    /// Index of the GitLab section (0: before any section / GitHub).
    section: usize,
    section_name: String,
    exclusion: bool,
}

/// A problem in a CODEOWNERS line (reported with file:line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct CodeOwnersError {
    pub file: String,
    pub line: u32,
    pub message: String,
}

/// Who owns a path according to CODEOWNERS, and which lines said so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeMatch {
    pub owners: Vec<String>,
    /// `file:line pattern` of every deciding rule.
    pub rules: Vec<String>,
}

impl CodeOwners {
    /// Parses `text`. Lines that cannot be understood are errors with their
    /// line, so a typo does not silently drop an owner.
    pub fn parse(file: &str, text: &str, flavor: Flavor) -> Result<CodeOwners, CodeOwnersError> {
        let mut rules = Vec::new();
        let mut section = 0usize;
        let mut section_name = String::new();
        let mut section_defaults: Vec<String> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index as u32 + 1;
            let err = |message: String| CodeOwnersError {
                file: file.to_string(),
                line,
                message,
            };
            let content = strip_comment(raw).trim();
            if content.is_empty() {
                continue;
            }
            if flavor == Flavor::Gitlab && (content.starts_with('[') || content.starts_with("^[")) {
                let body = content.trim_start_matches('^');
                let close = body
                    .find(']')
                    .ok_or_else(|| err(format!("section header `{content}` has no `]`")))?;
                section += 1;
                section_name = body[1..close].trim().to_string();
                let mut rest = body[close + 1..].trim();
                // `[Section][2]`: approvals needed; irrelevant for routing.
                if rest.starts_with('[') {
                    let end = rest
                        .find(']')
                        .ok_or_else(|| err(format!("section header `{content}` has no `]`")))?;
                    rest = rest[end + 1..].trim();
                }
                section_defaults = rest.split_whitespace().map(str::to_string).collect();
                continue;
            }
            let mut parts = split_pattern(content);
            let pattern = parts.remove(0);
            let (exclusion, pattern) = match pattern.strip_prefix('!') {
                Some(p) if flavor == Flavor::Gitlab => (true, p.to_string()),
                _ => (false, pattern),
            };
            let mut owners = parts;
            if owners.is_empty() && !exclusion {
                owners = section_defaults.clone();
            }
            let matchers = compile(&pattern).map_err(err)?;
            rules.push(CodeRule {
                pattern,
                matchers,
                owners,
                line,
                section,
                section_name: section_name.clone(),
                exclusion,
            });
        }
        Ok(CodeOwners {
            file: file.to_string(),
            flavor,
            rules,
        })
    }

    /// Owners of `path` (relative to the repository root, `/`-separated).
    /// `None` when no rule matches or the deciding rules name no owner.
    pub fn owners_of(&self, path: &str) -> Option<CodeMatch> {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        // Per section: the last matching rule, unless an exclusion matches.
        let mut deciding: Vec<(usize, &CodeRule)> = Vec::new();
        let mut excluded: Vec<usize> = Vec::new();
        for rule in &self.rules {
            if !rule.matchers.iter().any(|m| m.is_match(path)) {
                continue;
            }
            if rule.exclusion {
                excluded.push(rule.section);
                continue;
            }
            // GitHub has one section: the last match replaces earlier ones.
            // GitLab: the same, within each section.
            deciding.retain(|(s, _)| *s != rule.section);
            deciding.push((rule.section, rule));
        }
        deciding.retain(|(s, _)| !excluded.contains(s));
        let mut owners: Vec<String> = Vec::new();
        let mut rules = Vec::new();
        for (_, rule) in &deciding {
            for o in &rule.owners {
                if !owners.contains(o) {
                    owners.push(o.clone());
                }
            }
            let section = if rule.section_name.is_empty() {
                String::new()
            } else {
                format!(" [{}]", rule.section_name)
            };
            rules.push(format!(
                "{}:{} `{}`{section}",
                self.file, rule.line, rule.pattern
            ));
        }
        if owners.is_empty() {
            return None;
        }
        Some(CodeMatch { owners, rules })
    }
}

fn strip_comment(line: &str) -> &str {
    // `#` starts a comment unless escaped (`\#`).
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1] != b'\\') {
            return &line[..i];
        }
    }
    line
}

/// Splits a rule into its pattern (with `\ ` kept as a space) and owners.
fn split_pattern(content: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = content.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|n| *n == ' ' || *n == '#') => {
                current.push(chars.next().unwrap_or(' '));
            }
            c if c.is_whitespace() => {
                if !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// gitignore-style pattern → globs matching a path (and everything below it).
fn compile(pattern: &str) -> Result<Vec<GlobMatcher>, String> {
    let dir_only = pattern.ends_with('/');
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.starts_with('/') || trimmed.contains('/');
    let body = trimmed.trim_start_matches('/');
    if body.is_empty() {
        // `/` or `*`-less root: everything.
        return glob("**");
    }
    let base = if anchored || body.starts_with("**") {
        body.to_string()
    } else {
        format!("**/{body}")
    };
    let mut globs = Vec::new();
    if !dir_only {
        globs.extend(glob(&base)?);
    }
    // A pattern naming a directory owns everything below it.
    if !base.ends_with("/**") {
        globs.extend(glob(&format!("{base}/**"))?);
    }
    Ok(globs)
}

fn glob(text: &str) -> Result<Vec<GlobMatcher>, String> {
    let g = GlobBuilder::new(text)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("invalid pattern `{text}`: {e}"))?;
    Ok(vec![g.compile_matcher()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gh(text: &str) -> CodeOwners {
        CodeOwners::parse("CODEOWNERS", text, Flavor::Github).unwrap()
    }

    fn owners(c: &CodeOwners, path: &str) -> Vec<String> {
        c.owners_of(path).map(|m| m.owners).unwrap_or_default()
    }

    #[test]
    fn github_last_match_wins() {
        let c =
            gh("* @everyone\n*.py @py-team\n/lib/llm/ @llm\nlib/llm/kv_router/ @router # wins\n");
        assert_eq!(owners(&c, "README.md"), ["@everyone"]);
        assert_eq!(owners(&c, "tools/x.py"), ["@py-team"]);
        assert_eq!(owners(&c, "lib/llm/src/a.rs"), ["@llm"]);
        assert_eq!(owners(&c, "lib/llm/kv_router/a.py"), ["@router"]);
        let m = c.owners_of("lib/llm/kv_router/a.py").unwrap();
        assert_eq!(m.rules, ["CODEOWNERS:4 `lib/llm/kv_router/`"]);
    }

    #[test]
    fn github_unanchored_names_match_at_any_depth_and_empty_owners_unown() {
        let c = gh("docs @docs\napps/ @apps\n/build/logs/ \n*.md @md\n");
        assert_eq!(owners(&c, "a/b/docs/x.txt"), ["@docs"]);
        assert_eq!(owners(&c, "x/apps/y/z.rs"), ["@apps"]);
        assert!(owners(&c, "build/logs/a.txt").is_empty());
        assert_eq!(owners(&c, "build/logs/a.md"), ["@md"]);
        // `*` does not cross a slash for anchored patterns.
        let c = gh("/docs/* @docs\n");
        assert_eq!(owners(&c, "docs/a.md"), ["@docs"]);
        assert!(owners(&c, "docs/sub/a.md").len() <= 1);
    }

    #[test]
    fn gitlab_sections_defaults_and_exclusions() {
        let text = "* @admins\n\
                    [Docs] @docs-team\n\
                    docs/\n\
                    *.md @writers\n\
                    ^[Backend][2] @backend\n\
                    lib/\n\
                    !lib/generated/\n";
        let c = CodeOwners::parse(".gitlab/CODEOWNERS", text, Flavor::Gitlab).unwrap();
        assert_eq!(owners(&c, "docs/a.txt"), ["@admins", "@docs-team"]);
        assert_eq!(owners(&c, "docs/a.md"), ["@admins", "@writers"]);
        assert_eq!(owners(&c, "lib/a.rs"), ["@admins", "@backend"]);
        assert_eq!(owners(&c, "lib/generated/a.rs"), ["@admins"]);
    }

    #[test]
    fn bad_section_reports_its_line() {
        let e = CodeOwners::parse("CODEOWNERS", "* @a\n[Broken @b\n", Flavor::Gitlab).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().starts_with("CODEOWNERS:2:"));
    }
}
