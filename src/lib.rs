//! pegate: build Go programs for Windows, inspect the PE files, snapshot them and gate CI artifacts.
//!
//! This facade re-exports the library crates so that other tooling needs one dependency.

pub use pegate_authenticode as authenticode;
pub use pegate_go as go;
pub use pegate_pe as pe;
pub use pegate_policy as policy;
