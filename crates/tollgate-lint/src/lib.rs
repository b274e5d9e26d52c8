//! `tollgate lint`: checks a test inventory against the taxonomy of
//! `tollgate.toml`, statically, across Python and Rust.
//!
//! The core is pure: [`lint`] takes a [`LintInput`] (the config, the
//! inventory after [`tollgate_config::Config::apply_rules`], pytest's marker
//! registrations) and returns [`Finding`]s. Renderers ([`render`]) turn them
//! into text; [`fix()`] is the only part that writes files.
//!
//! # Rules
//!
//! Codes are stable and grouped by family. Severity is the default; the
//! notes say when a finding differs.
//!
//! | code  | name                            | severity | fix | reports |
//! |-------|---------------------------------|----------|-----|---------|
//! | TG101 | `missing-required-category`     | error    |     | a test has no marker of a required category (lifecycle, type, hardware) |
//! | TG102 | `exclusive-category-conflict`   | error    |     | two markers of an exclusive category (`gpu_0` + `gpu_1`) |
//! | TG103 | `unknown-marker`                | error    |     | a marker not in the taxonomy, with a did-you-mean (warning when `taxonomy.strict` is off) |
//! | TG104 | `alias-in-use`                  | warning  | yes | an alias (`premerge`) instead of the canonical marker (`pre_merge`) |
//! | TG201 | `unregistered-marker`           | error    |     | a marker applied but not registered with pytest (warning without `--strict-markers`) |
//! | TG202 | `registered-unused`             | warning  |     | a marker registered with pytest that no test uses |
//! | TG301 | `wrong-location`                | error    |     | a test outside the `locations` of its type marker |
//! | TG302 | `file-name`                     | warning  |     | a test file not named per `[lint.file_name]` (`test_{component}_{flow}.py`) |
//! | TG401 | `integration-not-feature-gated` | error    |     | a Rust `tests/*.rs` target not behind the integration feature |
//! | TG402 | `ignore-without-reason`         | warning  |     | `#[ignore]` without a reason (with `[lint] require_ignore_reason`) |
//! | TG501 | `dynamic-markers`               | warning  |     | a test whose markers cannot be verified statically, with the reason |
//! | TG502 | `broken-test-file`              | error    |     | a test file discovery cannot parse, read, or that is over its size limit: its tests are unknown |
//! | TG601 | `never-run`                     | error    |     | a test that no job of any pipeline selects |
//! | TG701 | `quarantine-expired`            | error    |     | a quarantine entry past its `expires` date (or with an unreadable date) |
//! | TG702 | `quarantine-unmatched`          | warning  |     | a quarantine entry that matches no collected test |
//!
//! Families: 1xx taxonomy, 2xx pytest registration, 3xx placement, 4xx Rust
//! conventions, 5xx discovery limits, 6xx pipelines, 7xx quarantine. `[lint] disable` turns
//! rules off by code or name.
//!
//! # Granularity
//!
//! A finding whose cause is the test function is reported once per function,
//! not once per parametrized case; only when some cases differ (marks given
//! through `pytest.param(..., marks=...)`) is each failing case reported. A
//! finding whose cause is a mark (unknown, alias, unregistered) is reported
//! once per place the mark is written, however many tests it applies to.
//!
//! # Cost
//!
//! Every rule is linear in tests × markers: the taxonomy is hashed once and
//! each test's markers are resolved once (the private `context` module), job
//! selection is memoized per distinct marker set (TG601), and no source file
//! is read or parsed again. `examples/lint_bench.rs` measures it against
//! collection.

mod context;
pub mod finding;
mod fix;
pub mod registrations;
pub mod render;
mod rules;

use std::path::Path;

use tollgate_config::quarantine::{Date, Quarantine};
use tollgate_config::Config;
use tollgate_inventory::Inventory;

pub use crate::finding::{sort_findings, Finding, Fix, Severity};
pub use crate::fix::{fix, FixReport};
pub use crate::registrations::{PytestMarkers, RegisteredMarker};
pub use crate::rules::{all_rules, rule, RuleInfo};

/// Everything one lint run looks at.
#[derive(Debug, Clone, Copy)]
pub struct LintInput<'a> {
    pub config: &'a Config,
    /// The collected tests with `config.apply_rules` already applied; paths
    /// relative to `root`.
    pub inventory: &'a Inventory,
    /// pytest's registered markers; `None` when the project has no pytest
    /// ini file (the registration rules are then skipped).
    pub pytest: Option<&'a PytestMarkers>,
    /// The project root (where `tollgate.toml` is): every path in the
    /// inventory and in the findings is relative to it.
    pub root: &'a Path,
    /// The quarantine file (`[quarantine] file`), when the project has one.
    pub quarantine: Option<&'a QuarantineInput>,
}

/// The quarantine file as lint sees it: its entries, where each starts,
/// and the day it is judged on (a parameter, so the core stays pure).
#[derive(Debug, Clone)]
pub struct QuarantineInput {
    /// Relative to the project root, as findings report it.
    pub file: String,
    pub quarantine: Quarantine,
    /// 1-based line of each entry ([`Quarantine::entry_lines`]); missing
    /// lines are reported as line 1.
    pub lines: Vec<u32>,
    pub today: Date,
}

impl QuarantineInput {
    /// Parses the file's text; `file` is the path findings will name.
    pub fn parse(
        text: &str,
        file: &str,
        today: Date,
    ) -> Result<QuarantineInput, tollgate_config::quarantine::QuarantineError> {
        Ok(QuarantineInput {
            file: file.to_string(),
            quarantine: Quarantine::parse(text, Path::new(file))?,
            lines: Quarantine::entry_lines(text),
            today,
        })
    }

    /// Where entry `index` starts.
    pub fn line(&self, index: usize) -> u32 {
        self.lines.get(index).copied().unwrap_or(1)
    }
}

/// Runs every enabled rule and returns the findings sorted by file, line
/// and code.
pub fn lint(input: &LintInput<'_>) -> Vec<Finding> {
    let mut ctx = context::Context::new(
        input.config,
        &input.inventory.tests,
        input.pytest,
        input.quarantine,
    );
    ctx.diagnostics = &input.inventory.diagnostics;
    let mut findings = rules::run(&ctx);
    sort_findings(&mut findings);
    findings
}

/// Whether any finding is an error: `tollgate lint` exits 1 when so.
pub fn has_errors(findings: &[Finding]) -> bool {
    findings.iter().any(|f| f.severity == Severity::Error)
}
