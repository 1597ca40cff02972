//! Zig, the C/C++ cross compiler of the CGO cells (`zig cc -target aarch64-windows-gnu` is the
//! one compiler that reaches windows/arm64 from any host), provisioned the way Go is: PyPI's
//! `ziglang` wheel, its version and SHA-256 pinned per host platform ([`ZIG_PINS`]), fetched with
//! `python3 -m pip download`, checked, and unpacked through a staging directory into
//! `<cache>/zig/<version>` (`zig-windows-amd64/<version>` and the like on Windows, as for Go).
//! Offline, [`install_zig_archive`] takes a local wheel with its SHA-256; `PEGATE_ZIG` names a
//! `zig` executable to use instead of a pinned one.
//!
//! ```no_run
//! # fn main() -> Result<(), pegate_go::Error> {
//! let zig = pegate_go::toolchain::provision_zig(std::path::Path::new("target/pegate-go"), std::path::Path::new("python3"))?;
//! println!("zig {} at {}", zig.version, zig.zig.display());
//! # Ok(()) }
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::install::{create_dir_all, exe, is_executable};
use super::lock::lock;
use super::pip::{Wheel, download_wheel};
use super::process::run_captured;
use super::{Provision, host_platform};
use crate::error::{Error, Result};

/// The Zig version pegate provisions for CGO cells.
pub const DEFAULT_ZIG_VERSION: &str = "0.17.1";

/// The environment variable naming a `zig` executable to use instead of the pinned one.
pub const PEGATE_ZIG_ENV: &str = "PEGATE_ZIG";

/// One pinned `ziglang` wheel: a Zig version for one host platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZigPin {
    /// Zig version (`0.17.1`).
    pub version: &'static str,
    /// Host platform as GOOS/GOARCH (`linux/amd64`).
    pub platform: &'static str,
    /// The platform tag passed to `pip download --platform`.
    pub platform_tag: &'static str,
    /// The wheel's file name as PyPI serves it (its compressed tag set included).
    pub file: &'static str,
    /// SHA-256 of the wheel, lowercase hex.
    pub sha256: &'static str,
}

/// The Zig pin table. The hashes are those PyPI lists for `ziglang==0.17.1` (read with
/// `pip install --dry-run --report`, and for linux/amd64 checked on the downloaded file).
pub const ZIG_PINS: &[ZigPin] = &[
    ZigPin {
        version: "0.17.1",
        platform: "linux/amd64",
        platform_tag: "manylinux_2_12_x86_64",
        file: "ziglang-0.17.1-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
        sha256: "ea6cc5d87b033cf0aedfbc8f9549a908cae6c50ac31f1698188fa48a74524b54",
    },
    ZigPin {
        version: "0.17.1",
        platform: "linux/arm64",
        platform_tag: "manylinux_2_17_aarch64",
        file: "ziglang-0.17.1-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64.musllinux_1_1_aarch64.whl",
        sha256: "b7c5f02fccd40f89b999ee16a1f5ddced56e6182370f8affe494bcf8a28cf07e",
    },
    ZigPin {
        version: "0.17.1",
        platform: "windows/amd64",
        platform_tag: "win_amd64",
        file: "ziglang-0.17.1-py3-none-win_amd64.whl",
        sha256: "69c3dfc3aff6a297ec4017aa904782c0e450eb988982d7f675d83edce27526fb",
    },
    ZigPin {
        version: "0.17.1",
        platform: "windows/arm64",
        platform_tag: "win_arm64",
        file: "ziglang-0.17.1-py3-none-win_arm64.whl",
        sha256: "27a8da5f8eaa0e76ebbc7c2594130ed4646c1101ada2ce0aa86fe580c74154b9",
    },
];

/// A `zig` pegate can run, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zig {
    /// The `zig` executable.
    pub zig: PathBuf,
    /// Its version as `zig version` prints it (`0.17.1`).
    pub version: String,
    /// Where it came from: `pinned ziglang wheel (sha256 …)`, `PEGATE_ZIG`.
    pub origin: String,
}

/// The pin for Zig `version` on the host `platform` (GOOS/GOARCH).
pub fn zig_pin_for_platform(version: &str, platform: &str) -> Option<&'static ZigPin> {
    ZIG_PINS
        .iter()
        .find(|p| p.version == version && p.platform == platform)
}

/// `<cache>/zig` (`zig-windows-amd64` on Windows: a cache shared with Wine holds both).
pub fn zig_dir(cache: &Path) -> PathBuf {
    if cfg!(windows) {
        cache.join(format!("zig-{}", host_platform().replace('/', "-")))
    } else {
        cache.join("zig")
    }
}

/// Zig's own cache (`ZIG_GLOBAL_CACHE_DIR`, `ZIG_LOCAL_CACHE_DIR`) for the CGO cells: under
/// pegate's cache, so that a second build reuses the compiled C runtime (the first cell of a
/// target compiles MinGW's CRT and libc++, about a minute on two cores).
pub fn zig_cache_dir(cache: &Path) -> PathBuf {
    cache.join("zig-cache")
}

/// The pinned Zig installed in `cache`, without provisioning (nothing is run but `zig version`).
pub fn installed_zig(cache: &Path) -> Option<Zig> {
    let pin = zig_pin_for_platform(DEFAULT_ZIG_VERSION, &host_platform())?;
    installed_pin(pin, cache)
}

fn installed_pin(pin: &ZigPin, cache: &Path) -> Option<Zig> {
    let root = zig_dir(cache).join(pin.version);
    let zig = root.join("ziglang").join(exe("zig"));
    let recorded = fs::read_to_string(root.join("WHEEL-SHA256")).ok()?;
    (is_executable(&zig) && recorded.trim() == pin.sha256).then(|| Zig {
        zig,
        version: pin.version.to_owned(),
        origin: format!("pinned ziglang {} wheel from PyPI", pin.version),
    })
}

/// The `zig` named by `PEGATE_ZIG`, if set (asked for its version).
pub fn zig_from_env() -> Option<Result<Zig>> {
    let value = std::env::var_os(PEGATE_ZIG_ENV).filter(|v| !v.is_empty())?;
    Some(zig_at(Path::new(&value), PEGATE_ZIG_ENV))
}

/// Asks the `zig` at `path` for its version; `origin` says where the path came from.
pub fn zig_at(path: &Path, origin: &str) -> Result<Zig> {
    let version = zig_version(path)?;
    Ok(Zig {
        zig: path.to_path_buf(),
        version,
        origin: origin.to_owned(),
    })
}

fn zig_version(zig: &Path) -> Result<String> {
    let out = run_captured(Command::new(zig).arg("version"))?;
    let version = out.trim();
    if version.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(Error::BadOutput {
            command: format!("{} version", zig.display()),
            reason: format!("printed {out:?}"),
        });
    }
    Ok(version.to_owned())
}

/// `PEGATE_ZIG`, else the pinned Zig installed in `cache`, else provisions it with `python`
/// (`pip download` of the pinned wheel, checked and unpacked).
pub fn provision_zig(cache: &Path, python: &Path) -> Result<Zig> {
    provision_zig_reporting(cache, python, &|_| {})
}

/// [`provision_zig`], telling `report` the steps of a download (as Go's provisioning does).
pub fn provision_zig_reporting(
    cache: &Path,
    python: &Path,
    report: &dyn Fn(Provision<'_>),
) -> Result<Zig> {
    if let Some(zig) = zig_from_env() {
        return zig;
    }
    let platform = host_platform();
    let pin =
        zig_pin_for_platform(DEFAULT_ZIG_VERSION, &platform).ok_or_else(|| Error::NotPinned {
            version: format!("zig {DEFAULT_ZIG_VERSION}"),
            platform: platform.clone(),
            pinned: ZIG_PINS
                .iter()
                .map(|p| p.platform)
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    if let Some(zig) = installed_pin(pin, cache) {
        return Ok(zig);
    }
    let _lock = lock(cache)?;
    if let Some(zig) = installed_pin(pin, cache) {
        return Ok(zig);
    }
    let downloads = cache.join("downloads");
    create_dir_all(&downloads)?;
    let wheel = Wheel {
        version: pin.version,
        requirement: format!("ziglang=={}", pin.version),
        platform_tag: pin.platform_tag,
        file: pin.file.to_owned(),
        sha256: pin.sha256,
    };
    let archive = download_wheel(&wheel, &downloads, python, report)?;
    report(Provision::Unpacking { archive: &archive });
    install_locked(&archive, pin.sha256, pin.version, cache)
}

/// Installs a local `ziglang` wheel of the pinned version after checking its SHA-256 (offline).
pub fn install_zig_archive(archive: &Path, sha256: &str, cache: &Path) -> Result<Zig> {
    let _lock = lock(cache)?;
    install_locked(archive, sha256, DEFAULT_ZIG_VERSION, cache)
}

fn install_locked(archive: &Path, sha256: &str, version: &str, cache: &Path) -> Result<Zig> {
    let dir = zig_dir(cache);
    let staging = super::install::verified_staging(archive, sha256, &dir)?;
    let broken = |reason: String| Error::BrokenArchive {
        path: archive.to_path_buf(),
        reason,
    };
    let staged_zig = staging.path().join("ziglang").join(exe("zig"));
    if !is_executable(&staged_zig) {
        return Err(broken(
            "no executable ziglang/zig: not a ziglang wheel".to_owned(),
        ));
    }
    let found = zig_version(&staged_zig).map_err(|e| broken(e.to_string()))?;
    if found != version {
        return Err(broken(format!(
            "its zig says version {found}, pegate pins {version}"
        )));
    }
    let record = staging.path().join("WHEEL-SHA256");
    let expected = sha256.trim().to_ascii_lowercase();
    fs::write(&record, format!("{expected}\n")).map_err(|e| Error::io("write", &record, e))?;
    let root = dir.join(version);
    if root.exists() {
        fs::remove_dir_all(&root).map_err(|e| Error::io("remove stale", &root, e))?;
    }
    let staged = staging.keep();
    fs::rename(&staged, &root).map_err(|e| Error::io("move into place", &root, e))?;
    let zig = root.join("ziglang").join(exe("zig"));
    Ok(Zig {
        zig,
        version: version.to_owned(),
        origin: format!("pinned ziglang {version} wheel from PyPI"),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_zig_pin_table_is_well_formed_and_covers_the_go_hosts() {
        for pin in ZIG_PINS {
            assert_eq!(pin.sha256.len(), 64, "{pin:?}");
            assert!(
                pin.sha256
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            assert!(
                pin.file
                    .starts_with(&format!("ziglang-{}-py3-none-", pin.version))
            );
            assert!(pin.file.contains(pin.platform_tag), "{pin:?}");
            assert!(pin.file.ends_with(".whl"));
        }
        // Every host Go is pinned for has a Zig too.
        for go in super::super::PINS {
            assert!(
                zig_pin_for_platform(DEFAULT_ZIG_VERSION, go.platform).is_some(),
                "{}",
                go.platform
            );
        }
        assert_eq!(
            zig_pin_for_platform(DEFAULT_ZIG_VERSION, "darwin/arm64"),
            None
        );
    }

    #[test]
    fn a_wheel_with_the_wrong_hash_is_refused_before_unpacking() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("ziglang.whl");
        fs::write(&archive, b"PK\x03\x04 not really").unwrap();
        let err = install_zig_archive(&archive, &"0".repeat(64), dir.path()).unwrap_err();
        assert!(matches!(err, Error::HashMismatch { .. }), "{err}");
        assert!(!zig_dir(dir.path()).join(DEFAULT_ZIG_VERSION).exists());
    }

    #[test]
    fn a_zip_without_zig_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("other.whl");
        {
            let file = fs::File::create(&archive).unwrap();
            let mut zip = zip::ZipWriter::new(file);
            zip.start_file("other/readme.txt", zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut zip, b"hi").unwrap();
            zip.finish().unwrap();
        }
        let sha = super::super::hash::sha256_file(&archive).unwrap();
        let err = install_zig_archive(&archive, &sha, dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("no executable ziglang/zig"),
            "{err}"
        );
        assert!(!zig_dir(dir.path()).join(DEFAULT_ZIG_VERSION).exists());
    }
}
