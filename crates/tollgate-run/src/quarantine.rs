//! The quarantine file's model lives in `tollgate-config` (lint reads it
//! too, and must not depend on the runner); the runner applies it.

pub use tollgate_config::quarantine::*;
