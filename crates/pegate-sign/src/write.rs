//! Writing the signed file: all or nothing, through [`pegate_fs::write_with`] (a temporary file
//! beside the target, flushed to disk and renamed over it; removed on any error, and by a
//! signal handler's `pegate_fs::remove_in_flight`), so a reader sees the old file or the new
//! one, never a part.

use std::io::Write;
use std::path::Path;

/// Writes `parts`, in order, to `target` atomically; the new file gets `permissions` when
/// given (those of the input, so a signed copy of an executable stays one).
pub(crate) fn atomic(
    target: &Path,
    parts: &[&[u8]],
    permissions: Option<std::fs::Permissions>,
) -> std::io::Result<()> {
    pegate_fs::write_with(target, |file| {
        for part in parts {
            file.write_all(part)?;
        }
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        Ok(())
    })
    // The caller names the file; keep the cause alone, as an io::Error.
    .map_err(|e| std::io::Error::new(e.io_error().kind(), e.io_error().to_string()))
}
