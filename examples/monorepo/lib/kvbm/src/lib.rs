//! KV block manager: fixed-capacity tiers of KV blocks (device → host → disk).
//! When a tier is full its least recently used block is offloaded to the next
//! tier instead of being dropped, and a lookup onboards it back to the device.

pub mod pool;

pub use pool::{Lookup, Tier, TieredPool};
