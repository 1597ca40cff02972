//! Unpacking a verified archive (zip: wheel or official `.zip`; gzip'd tar) without letting an
//! entry escape the destination.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path};

use super::install::create_dir_all;
use crate::error::{Error, Result};

/// Unpacks a zip (wheel or official `.zip`) or gzip'd tar into `dest`, refusing entries that
/// would land outside it and links of any kind; executable bits come from the stored mode.
pub(super) fn unpack(archive: &Path, dest: &Path) -> Result<()> {
    let mut magic = [0u8; 4];
    let mut file = File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    file.read_exact(&mut magic)
        .map_err(|_| Error::BrokenArchive {
            path: archive.to_path_buf(),
            reason: "shorter than 4 bytes".to_owned(),
        })?;
    drop(file);
    match magic {
        [b'P', b'K', 3, 4] => unpack_zip(archive, dest),
        [0x1f, 0x8b, _, _] => unpack_tar_gz(archive, dest),
        _ => Err(Error::BrokenArchive {
            path: archive.to_path_buf(),
            reason: "neither a zip (wheel, .zip) nor a gzip'd tar (.tar.gz)".to_owned(),
        }),
    }
}

fn unpack_zip(archive: &Path, dest: &Path) -> Result<()> {
    let broken = |reason: String| Error::BrokenArchive {
        path: archive.to_path_buf(),
        reason,
    };
    let file = File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    let mut zip =
        zip::ZipArchive::new(io::BufReader::new(file)).map_err(|e| broken(e.to_string()))?;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| broken(e.to_string()))?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("<entry {index} with an undecodable name>"));
        let unsafe_entry = || Error::UnsafeArchiveEntry {
            path: archive.to_path_buf(),
            entry: name.clone(),
        };
        let relative = entry.enclosed_name().ok_or_else(unsafe_entry)?;
        if entry.is_symlink() {
            return Err(unsafe_entry());
        }
        let target = dest.join(&relative);
        if entry.is_dir() {
            create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            create_dir_all(parent)?;
        }
        let mut out = File::create(&target).map_err(|e| Error::io("create", &target, e))?;
        io::copy(&mut entry, &mut out).map_err(|e| broken(format!("entry {name}: {e}")))?;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("set permissions of", &target, e))?;
        }
    }
    Ok(())
}

fn unpack_tar_gz(archive: &Path, dest: &Path) -> Result<()> {
    let broken = |reason: String| Error::BrokenArchive {
        path: archive.to_path_buf(),
        reason,
    };
    let file = File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    tar.set_preserve_permissions(false);
    tar.set_preserve_mtime(true);
    let entries = tar.entries().map_err(|e| broken(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| broken(e.to_string()))?;
        let relative = entry
            .path()
            .map_err(|e| broken(e.to_string()))?
            .into_owned();
        let name = relative.display().to_string();
        let escapes = relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        let kind = entry.header().entry_type();
        if escapes || !(kind.is_file() || kind.is_dir()) {
            return Err(Error::UnsafeArchiveEntry {
                path: archive.to_path_buf(),
                entry: name,
            });
        }
        let target = dest.join(&relative);
        if kind.is_dir() {
            create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            create_dir_all(parent)?;
        }
        entry
            .unpack(&target)
            .map_err(|e| broken(format!("entry {name}: {e}")))?;
        // Windows has no executable bit: `.exe` is what makes a file runnable there.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.header().mode().unwrap_or(0o644);
            let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("set permissions of", &target, e))?;
        }
    }
    Ok(())
}
