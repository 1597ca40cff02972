//! Go toolchains, Windows matrix builds, the Go build-info reader and the doctor checks.
//!
//! This is the only pegate crate that spawns processes (`go`, and the artifacts it runs), always
//! with argument vectors.

pub mod buildinfo;
pub mod crosscheck;
pub mod doctor;
pub mod error;
pub mod matrix;
pub mod run;
pub mod toolchain;

pub use error::Error;
