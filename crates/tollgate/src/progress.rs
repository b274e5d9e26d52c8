//! Progress on a terminal for the slow steps outside `tollgate run`'s own
//! bars: discovery over a large tree and ingest of large files.
//!
//! Drawn (with `indicatif`, as `run` does) on stderr only where `run` would
//! draw bars: stderr is a terminal, `CI` is unset and `TERM` is not `dumb`
//! (`tollgate_run::progress_mode`). Anywhere else — a CI log, a pipe, a
//! test — it is not even created: nothing extra is written. The bar is
//! cleared when the step ends, so the command's own output is unchanged.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tollgate_run::ProgressMode;

/// A spinner or a byte count on stderr, or nothing (see the module doc).
/// Clears itself when dropped.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// Whether this process may draw progress (the environment's answer).
    fn enabled() -> bool {
        tollgate_run::progress_mode(
            std::io::stderr().is_terminal(),
            std::env::var("CI").ok().as_deref(),
            std::env::var("TERM").ok().as_deref(),
        ) == ProgressMode::Bars
    }

    fn start(bar: impl FnOnce() -> ProgressBar, template: &str, prefix: &str) -> Progress {
        if !Self::enabled() {
            return Progress(None);
        }
        let bar = bar();
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(prefix.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    /// A spinner with the time spent: `⠋ collecting tests 3s python: 1234 tests, rust: …`.
    pub fn spinner(prefix: &str) -> Progress {
        Self::start(
            ProgressBar::new_spinner,
            "{spinner} {prefix:.bold} {elapsed} {wide_msg}",
            prefix,
        )
    }

    /// A bar over `total` bytes: `ingest [=====>    ] 120 MiB/300 MiB 4s parsing run.xml`.
    pub fn bytes(prefix: &str, total: u64) -> Progress {
        Self::start(
            || ProgressBar::new(total),
            "{spinner} {prefix:.bold} [{bar:20}] {binary_bytes}/{binary_total_bytes} {elapsed} {wide_msg}",
            prefix,
        )
    }

    /// What is happening now.
    pub fn message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.into());
        }
    }

    /// `n` more bytes (or items) done.
    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    /// A handle another thread can update (e.g. one half of a
    /// `rayon::join`); only the owner clears the line.
    pub fn handle(&self) -> ProgressHandle {
        ProgressHandle(self.0.clone())
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// [`Progress::handle`]: updates the owner's line.
pub struct ProgressHandle(Option<ProgressBar>);

impl ProgressHandle {
    pub fn message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.into());
        }
    }
}
