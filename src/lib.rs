//! pegate: build Go programs for Windows, inspect the PE files, snapshot them and gate CI artifacts.
//!
//! This facade re-exports the library crates so that other tooling needs one dependency.
//!
//! Build the Windows matrix of a Go program with a pinned, SHA-256-verified Go and inspect every
//! artifact:
//!
//! ```
//! use pegate::go::matrix::{self, MatrixSpec};
//! use pegate::go::toolchain;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // Wine 8's `go build` exits 1 after writing the binary (see README, Windows).
//! # if cfg!(windows) && std::path::Path::new(r"C:\windows\system32\winecfg.exe").exists() {
//! #     eprintln!("skipped under Wine: its go build exits 1 after writing the binary");
//! #     return Ok(());
//! # }
//! let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
//! let cache = repo.join("target/pegate-go"); // outside this repo: toolchain::user_cache_dir()
//! let go = toolchain::provision(toolchain::DEFAULT_GO_VERSION, &cache)?;
//!
//! let out = tempfile::tempdir()?;
//! let spec = MatrixSpec::reference(repo.join("fixtures/hello"), out.path(), &cache);
//! let report = matrix::build(&go, &spec, &|_progress| {})?; // windows/{amd64,arm64,386} x 3 variants
//! assert!(report.all_ok());
//!
//! for artifact in report.artifacts() {
//!     let summary = pegate::pe::inspect_path(&artifact.path, &Default::default())?;
//!     assert_eq!(artifact.cell.goarch.machine(), Some(summary.headers.machine));
//!     println!("{} {} {}", artifact.cell, &artifact.sha256[..12], pegate::pe::describe(&summary));
//! }
//! # Ok(()) }
//! ```

pub use pegate_authenticode as authenticode;
pub use pegate_facts as facts;
pub use pegate_fs as fs;
pub use pegate_go as go;
pub use pegate_gobin as gobin;
pub use pegate_pe as pe;
pub use pegate_policy as policy;
pub use pegate_sign as sign;

pub mod artifact;
pub mod gate;
pub mod interrupt;
pub mod progress;
pub mod release;
pub mod sbom;
