//! What a Go binary says about itself, read from its PE bytes without running Go: the build info
//! ([`buildinfo`]) and the cross-checks between it and the PE headers ([`crosscheck`]).
//!
//! Pure byte readers over [`pegate_pe`]: this crate spawns no process and unpacks no archive, so
//! `pegate inspect` and the fuzz targets link none of the toolchain code of `pegate-go` (which
//! re-exports both modules under their old paths).
//!
//! ```
//! let data = std::fs::read(concat!(
//!     env!("CARGO_MANIFEST_DIR"),
//!     "/../../fixtures/pe/ok/tiny-amd64-console.exe"
//! ))
//! .unwrap();
//! let view = pegate_pe::PeView::parse(&data).unwrap();
//! // Not a Go binary: no build info, and no error.
//! assert_eq!(pegate_gobin::buildinfo::read(&view).unwrap(), None);
//! ```

pub mod buildinfo;
pub mod crosscheck;
pub mod error;

pub use error::Error;
