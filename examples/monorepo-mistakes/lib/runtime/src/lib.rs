//! A miniature of Dynamo's distributed runtime: components talk over NATS
//! subjects. Only the standard library is used so the example builds in
//! seconds; the NATS client speaks the plain text protocol over a TCP stream.
//!
//! Unit tests live beside the code (`#[cfg(test)] mod tests`); tests that need
//! a real NATS server live in `tests/` behind the `integration` feature.

pub mod nats;
pub mod subject;

pub use nats::{Client, ConnectOptions, Message, NatsError};
pub use subject::{Subject, SubjectError};
