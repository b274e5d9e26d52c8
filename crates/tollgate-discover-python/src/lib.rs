//! Static pytest collection (placeholder, being written).
