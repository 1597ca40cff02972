//! Go toolchains, Windows matrix builds, the Go build-info reader and the doctor checks.
//!
//! This is the only pegate crate that spawns processes (`go`), always with argument vectors.

pub mod buildinfo;
pub mod crosscheck;
pub mod doctor;
pub mod error;
pub mod matrix;
pub mod toolchain;

pub use error::Error;
