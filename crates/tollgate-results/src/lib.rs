//! Parsers for what test runners, coverage tools and benchmarks write:
//! bytes in, plain data ([`TestResult`], [`FileCoverage`], [`BenchSample`]) out.
//!
//! - [`junit`]: JUnit XML from pytest, cargo-nextest or anything else,
//!   streamed one test case at a time, with ids mapped back to pytest node
//!   ids and nextest's `<binary-id> <test name>`.
//! - [`coverage`]: LCOV, Cobertura XML, coverage.py JSON, llvm-cov JSON, and
//!   [`coverage::relativize`] to make paths repository-relative.
//! - [`bench`]: pytest-benchmark JSON, criterion, plain `metric,value,unit`.
//! - [`files`]: the I/O edge — open with a size limit, sniff the format, and
//!   name the file in errors.
//!
//! Hostile input is expected: reports come from CI runners and pull
//! requests. No parser panics on any input; every failure is an [`Error`]
//! naming the file and position. XML `DOCTYPE`s are refused (no entity is
//! ever expanded), truncated documents are errors rather than short reports,
//! inputs over [`Limits::max_input_bytes`] are refused before being read, and
//! captured output is truncated to [`Limits::max_output_bytes`]. Numbers that
//! are measurements (durations, hit counts, benchmark values) must be finite
//! and non-negative.

pub mod bench;
pub mod coverage;
mod error;
pub mod files;
mod input;
mod json;
pub mod junit;
mod model;
mod xml;

pub use error::{Error, ErrorKind, Location};
pub use input::{open, LimitedReader, Limits};
pub use model::{BenchSample, FileCoverage, Outcome, TestResult};
