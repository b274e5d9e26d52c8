//! Marker expressions (placeholder, being written).
