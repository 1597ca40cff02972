//! The Windows matrix built with the pinned Go (and the older pinned Go): behaviour and snapshots.
//!
//! Each reference matrix is built once per test binary (a `OnceLock`) and shared by the tests;
//! Go comes from pegate's own provisioning into `<workspace>/target/pegate-go`, never skipped.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs,
    unreachable_pub
)]

mod behaviour;
mod plan;
mod snapshots;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pegate_go::matrix::{self, MatrixReport, MatrixSpec};
use pegate_go::toolchain::{self, Toolchain};

pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
}

pub fn cache() -> PathBuf {
    workspace().join("target").join("pegate-go")
}

pub fn hello_dir() -> PathBuf {
    workspace().join("fixtures").join("hello")
}

pub fn go(version: &str) -> Toolchain {
    toolchain::provision(version, &cache()).unwrap()
}

/// Under Wine 8 `go build` writes the binary and then exits 1 removing its temp dir (`unlinkat
/// ... a.out.exe: Invalid function`), so tests of Go builds stop, saying so; real Windows runs them.
pub fn go_build_fails_here() -> bool {
    let wine = cfg!(windows) && std::path::Path::new(r"C:\windows\system32\winecfg.exe").exists();
    if wine {
        eprintln!(
            "skipped under Wine: Wine 8's go build writes the binary, then exits 1 (unlinkat ... a.out.exe: Invalid function)"
        );
    }
    wine
}

/// A built reference matrix and the directory holding its artifacts.
pub struct Built {
    pub tc: Toolchain,
    pub report: MatrixReport,
    pub out: tempfile::TempDir,
}

fn build_reference(version: &str) -> Built {
    let tc = go(version);
    let out = tempfile::tempdir().unwrap();
    let spec = MatrixSpec::reference(hello_dir(), out.path(), cache());
    let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
    Built { tc, report, out }
}

/// The reference matrix built with the pinned default Go.
pub fn pinned() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| build_reference(toolchain::DEFAULT_GO_VERSION))
}

/// The reference matrix built with the older pinned Go.
pub fn older() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| build_reference("1.23.9"))
}
