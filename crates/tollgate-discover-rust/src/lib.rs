//! Static Rust test discovery (placeholder, being written).
