//! LLM serving pieces: token blocks with chained hashes, and a KV-cache-aware
//! router that sends a request to the worker holding most of its prefix.

pub mod kv_router;
pub mod tokens;
