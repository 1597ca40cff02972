//! Go toolchains, Windows matrix builds, runs of the artifacts and the doctor checks (the Go
//! build-info reader is `pegate-gobin`'s, re-exported).
//!
//! This is the only pegate crate that spawns processes (`go`, and the artifacts it runs), always
//! with argument vectors.

pub mod cgo;
pub mod children;
pub mod doctor;
pub mod error;
pub mod gotest;
pub mod matrix;
pub mod run;
pub mod toolchain;
pub mod wine;

pub use error::Error;
/// The build-info reader and the cross-checks of the pure `pegate-gobin` crate, beside the
/// builds whose artifacts they read (`pegate::go::buildinfo`, used by xtask and the README).
pub use pegate_gobin::{buildinfo, crosscheck};
