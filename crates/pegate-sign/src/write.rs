//! Writing the signed file: all or nothing.
//!
//! The bytes go to a temporary file in the target's directory, which is flushed to disk
//! (`fsync`) and renamed over the target, so a reader sees the old file or the new one, never
//! a part; on any error the temporary file is removed and the target is as it was. Keep this
//! the one place that writes an output, so a shared helper can replace it.

use std::io::Write;
use std::path::Path;

/// Writes `parts`, in order, to `target` atomically; the new file gets `permissions` when
/// given (those of the file it replaces, so an executable stays one).
pub(crate) fn atomic(
    target: &Path,
    parts: &[&[u8]],
    permissions: Option<std::fs::Permissions>,
) -> std::io::Result<()> {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".pegate-sign")
        .tempfile_in(dir)?;
    for part in parts {
        tmp.write_all(part)?;
    }
    tmp.flush()?;
    if let Some(p) = permissions {
        tmp.as_file().set_permissions(p)?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    // The rename itself is durable once the directory is synced (Unix; Windows has no
    // directory handles to sync this way and journals the rename itself).
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}
