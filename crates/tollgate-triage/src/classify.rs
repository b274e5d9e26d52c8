//! A failure's class: what kind of thing went wrong, which decides the CI
//! area whose point of contact owns it when no component does.

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};
use tollgate_owners::CiArea;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// An assertion or an exception in the test: the code under test (or the test) is wrong.
    TestFailure,
    /// The test ran past its time limit.
    Timeout,
    /// The process died of a signal (segfault, abort).
    Crash,
    /// The code did not build (compiler error, image build).
    Build,
    /// The machine, not the code: runner lost, OOM-kill, disk full,
    /// network or registry errors, configured patterns.
    Infrastructure,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::TestFailure => "test failure",
            Class::Timeout => "timeout",
            Class::Crash => "crash",
            Class::Build => "build failure",
            Class::Infrastructure => "infrastructure",
        }
    }

    /// The CI area (seed 004) whose point of contact owns a failure of this
    /// class that no component claims; infrastructure and build failures
    /// always go there.
    pub fn ci_area(self) -> CiArea {
        match self {
            Class::Infrastructure => CiArea::InfraFail,
            Class::Build => CiArea::DockerBuild,
            Class::TestFailure | Class::Timeout | Class::Crash => CiArea::TestFail,
        }
    }

    /// Whether the failure is the code's rather than the machine's.
    pub fn is_code(self) -> bool {
        !matches!(self, Class::Infrastructure | Class::Build)
    }
}

/// Built-in infrastructure signs. Case-insensitive.
pub const INFRA_PATTERNS: &[&str] = &[
    r"out of memory|oom-?kill|OOMKilled|Cannot allocate memory|MemoryError: .*allocat",
    r"No space left on device|disk quota exceeded",
    r"Connection refused|Connection reset by peer|Connection timed out|network is unreachable|No route to host",
    r"Temporary failure in name resolution|Name or service not known|Could not resolve host|getaddrinfo failed",
    r"TLS handshake|certificate verify failed|SSL: CERTIFICATE_VERIFY_FAILED",
    r"toomanyrequests|429 Too Many Requests|rate limit exceeded|502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out",
    r"manifest unknown|pull access denied|failed to pull image|ImagePullBackOff|ErrImagePull|registry.*(unavailable|error)",
    r"runner (has )?(lost communication|received a shutdown signal|is offline|not found|missing)|no (such )?runner|no runner (available|matching)",
    r"CUDA error: (out of memory|no CUDA-capable device)|NVIDIA-SMI has failed|no GPUs? (available|found)",
    r"Killed\s*$|killed by signal 9|signal: 9, SIGKILL",
];

/// Built-in build-failure signs.
pub const BUILD_PATTERNS: &[&str] = &[
    r"error\[E\d{4}\]|error: could not compile|could not compile `",
    r"error: failed to (build|compile|run custom build command)|linking with `.*` failed",
    r"ERROR: failed to solve|failed to build image|docker build .* failed|executor failed running",
    r"Failed building wheel|error: subprocess-exited-with-error|Could not build wheels",
    r"^build failure|^build failed",
];

/// Built-in crash signs.
pub const CRASH_PATTERNS: &[&str] = &[
    r"SIGSEGV|Segmentation fault|SIGABRT|SIGBUS|SIGILL|core dumped",
    r"aborted with signal|terminated by signal|killed by signal|signal: \d+",
    r"Fatal Python error|fatal runtime error|stack overflow",
];

const TIMEOUT_PATTERNS: &[&str] = &[
    r"^timeout:|Timeout >\s*\d|timed out after|TIMEOUT \[|deadline exceeded|test exceeded .*time limit",
];

/// The compiled classifier.
#[derive(Debug, Clone)]
pub struct Classifier {
    infra: RegexSet,
    build: RegexSet,
    crash: RegexSet,
    timeout: RegexSet,
}

/// A configured pattern that does not compile.
#[derive(Debug, thiserror::Error)]
#[error("invalid {what} pattern `{pattern}`: {message}")]
pub struct PatternError {
    pub what: &'static str,
    pub pattern: String,
    pub message: String,
}

fn set(what: &'static str, builtin: &[&str], extra: &[String]) -> Result<RegexSet, PatternError> {
    let all: Vec<String> = builtin
        .iter()
        .map(|p| format!("(?im){p}"))
        .chain(extra.iter().map(|p| format!("(?m){p}")))
        .collect();
    for p in extra {
        Regex::new(p).map_err(|e| PatternError {
            what,
            pattern: p.clone(),
            message: e.to_string().lines().last().unwrap_or("").to_string(),
        })?;
    }
    RegexSet::new(&all).map_err(|e| PatternError {
        what,
        pattern: all.join(" | "),
        message: e.to_string(),
    })
}

impl Classifier {
    pub fn new(infra: &[String], build: &[String]) -> Result<Classifier, PatternError> {
        Ok(Classifier {
            infra: set("infrastructure", INFRA_PATTERNS, infra)?,
            build: set("build", BUILD_PATTERNS, build)?,
            crash: set("crash", CRASH_PATTERNS, &[])?,
            timeout: set("timeout", TIMEOUT_PATTERNS, &[])?,
        })
    }

    /// Classifies a failure from what the runner said (`timed_out`) and its text.
    pub fn classify(&self, timed_out: bool, text: &str) -> Class {
        if timed_out {
            return Class::Timeout;
        }
        if self.infra.is_match(text) {
            Class::Infrastructure
        } else if self.build.is_match(text) {
            Class::Build
        } else if self.crash.is_match(text) {
            Class::Crash
        } else if self.timeout.is_match(text) {
            Class::Timeout
        } else {
            Class::TestFailure
        }
    }
}
