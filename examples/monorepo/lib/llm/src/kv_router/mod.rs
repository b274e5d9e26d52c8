//! KV-cache-aware routing: an index of which worker caches which block, and a
//! scheduler that weighs prefix overlap against load.

pub mod indexer;
pub mod scheduler;

/// A worker (engine instance) id.
pub type WorkerId = u64;
