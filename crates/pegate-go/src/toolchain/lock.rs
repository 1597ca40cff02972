//! The install lock: one install into a cache at a time, across threads and processes.

use std::fs::File;
use std::path::Path;

use super::install::{create_dir_all, toolchains_dir};
use crate::error::{Error, Result};

/// An exclusive lock on `<cache>/toolchains/.lock`, held while installing (threads and processes).
pub(super) fn lock(cache: &Path) -> Result<File> {
    let dir = toolchains_dir(cache);
    create_dir_all(&dir)?;
    let path = dir.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    file.lock().map_err(|e| Error::io("lock", &path, e))?;
    Ok(file)
}
