//! pegate-fs: every file pegate produces (an artifact, `checksums.txt`, a report, an SBOM, a
//! SARIF or JUnit file, a signed file) is written whole or not at all.
//!
//! [`write`] and [`write_with`] write into a temporary file in the destination's own directory
//! (so the final step is a rename within one file system), flush it to the disk (`fsync`), and
//! rename it over the destination; on Unix the directory is then synced too, so the new name
//! survives a power cut. A reader (an upload step, a second `pegate` run) sees the old file or
//! the new one, never a partial one. [`publish`] does the last two steps for a file something
//! else wrote (the artifact `go build` left in a staging directory).
//!
//! The rename is `rename(2)` on Unix and `MoveFileExW(MOVEFILE_REPLACE_EXISTING)` on Windows
//! (through `tempfile`'s `persist`), both atomic replacements of the destination name. Windows
//! has no directory fsync; the file's own data is flushed before the rename there too.
//!
//! Temporary files and directories carry the process id of the run that made them:
//! [`TEMP_PREFIX`]`<pid>-<name>.<random>` for [`write`]'s files, [`work_prefix`]`(".cell")` =
//! `.cell-<pid>-` for a builder's staging directories. A run that is killed before it cleans up
//! (SIGKILL, a power cut) leaves entries that [`remove_stale`] recognises as a dead run's and
//! removes. While a write is in flight its temporary file is listed, so that a signal handler can
//! remove it ([`remove_in_flight`]) before the process exits.
//!
//! pegate-fs depends on `tempfile` and `thiserror` only, so any crate that writes products can
//! use it; the pure crates (pegate-pe, pegate-gobin, pegate-policy, pegate-facts) write nothing.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let report = dir.path().join("report.sarif");
//! pegate_fs::write(&report, b"{}\n")?;
//! pegate_fs::write_with(&report, |file| {
//!     use std::io::Write as _;
//!     file.write_all(b"{\"version\": \"2.1.0\"}\n")
//! })?;
//! assert_eq!(std::fs::read(&report)?, b"{\"version\": \"2.1.0\"}\n");
//! // Nothing else is left in the directory.
//! assert_eq!(std::fs::read_dir(dir.path())?.count(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The start of every temporary file name pegate-fs creates.
pub const TEMP_PREFIX: &str = ".pegate-tmp-";

/// The temporary files of the writes in flight, and whether the process is ending.
static IN_FLIGHT: Mutex<InFlightList> = Mutex::new(InFlightList {
    paths: Vec::new(),
    ending: false,
});

/// What [`IN_FLIGHT`] guards. A temporary file is created and listed under the lock, and
/// [`remove_in_flight`] removes the listed ones and sets `ending` under it too, so no file can
/// be created after the removal and left behind by the exit that follows.
struct InFlightList {
    paths: Vec<PathBuf>,
    ending: bool,
}

fn in_flight() -> std::sync::MutexGuard<'static, InFlightList> {
    IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The name prefix of this run's temporary entries of one kind: `<kind>-<pid>-` (`.cell` gives
/// `.cell-4242-`), which [`remove_stale`] knows to belong to process 4242.
pub fn work_prefix(kind: &str) -> String {
    format!("{kind}-{}-", std::process::id())
}

/// The kinds of temporary entry pegate makes in an output directory; [`remove_stale`] looks at
/// these only.
pub const WORK_KINDS: &[&str] = &[".cell", ".repro", ".pegate-tmp"];

/// How old an entry without a process id (made by pegate before 0.1.1) must be to count as
/// debris: older than any build.
pub const LEGACY_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Writing a product failed; nothing was replaced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system call failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done (`"create a temporary file beside"`, `"write"`, ...).
        action: &'static str,
        /// The destination (or the directory) concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

impl Error {
    fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
        move |source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The operating system's error, for callers that decide by its kind (a full disk, no
    /// permission).
    pub fn io_error(&self) -> &io::Error {
        match self {
            Error::Io { source, .. } => source,
        }
    }
}

/// Replaces `path` with `bytes`, atomically: see the [crate] documentation.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_with(path, |file| file.write_all(bytes))
}

/// Replaces `path` with what `fill` writes into the file it is given, atomically. When `fill`
/// or any later step fails the temporary file is removed and `path` is unchanged.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> io::Result<()>,
) -> Result<(), Error> {
    let dir = parent(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut builder = tempfile::Builder::new();
    let prefix = format!("{}{name}.", work_prefix(".pegate-tmp"));
    builder.prefix(&prefix).suffix("");
    // tempfile creates 0600 files; a product gets the mode `fs::write` would give it (0666 less
    // the umask), or keeps the mode of the file it replaces.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o666);
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    let (mut tmp, listed) = {
        let mut list = in_flight();
        if list.ending {
            let stopped = io::Error::new(io::ErrorKind::Interrupted, "the run is being stopped");
            return Err(Error::io("create a temporary file beside", path)(stopped));
        }
        let tmp = builder
            .tempfile_in(dir)
            .map_err(|e| Error::io("create a temporary file beside", path)(os_error(e)))?;
        list.paths.push(tmp.path().to_path_buf());
        let listed = InFlight(tmp.path().to_path_buf());
        (tmp, listed)
    };
    fill(tmp.as_file_mut()).map_err(Error::io("write", path))?;
    tmp.as_file()
        .sync_all()
        .map_err(Error::io("flush to disk", path))?;
    tmp.persist(path)
        .map_err(|e| Error::io("rename into place", path)(e.error))?;
    drop(listed);
    sync_dir(dir, path)
}

/// The operating system's error inside one of `tempfile`'s, without the ` at path "…"` its text
/// adds: that is the temporary file's name, which never came to exist, and the message names the
/// destination instead. (`tempfile` keeps the OS error private: its text and kind are what is
/// left to rebuild it from.)
fn os_error(e: io::Error) -> io::Error {
    let Some(wrapped) = e.get_ref() else {
        return e;
    };
    match wrapped.to_string().rsplit_once(" at path \"") {
        Some((cause, _)) => io::Error::new(e.kind(), cause.to_owned()),
        None => e,
    }
}

/// A temporary file listed in [`IN_FLIGHT`] while it lives.
struct InFlight(PathBuf);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut list = in_flight();
        if let Some(at) = list.paths.iter().position(|p| *p == self.0) {
            list.paths.swap_remove(at);
        }
    }
}

/// Removes the temporary files of the writes in flight, for a signal handler that is about to
/// end the process: their destinations keep their old content (or stay absent). From then on
/// no write starts (it fails as interrupted). Returns how many were removed.
pub fn remove_in_flight() -> usize {
    let mut list = in_flight();
    list.ending = true;
    list.paths
        .iter()
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// Removes the temporary entries ([`WORK_KINDS`]) that runs no longer alive left in `dir`:
/// those whose name carries the id of a process that has exited (Unix; on Windows, where
/// pegate cannot ask, those older than [`LEGACY_AGE`]), and those with no process id older
/// than [`LEGACY_AGE`]. Returns the entries removed; a live run's entries are never touched.
pub fn remove_stale(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        // No directory (yet): nothing to clean; the caller's own create reports a file there.
        // Windows says ERROR_INVALID_NAME (123) for a file listed as a directory: ask the
        // metadata rather than trusting the error's kind.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) || std::fs::metadata(dir).is_ok_and(|m| !m.is_dir()) =>
        {
            return Ok(Vec::new());
        }
        Err(e) => return Err(Error::io("list", dir)(e)),
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = owner(&name) else { continue };
        let old = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > LEGACY_AGE)
        };
        let dead = match owner {
            Owner::Process(pid) => !process_alive(pid).unwrap_or_else(|| !old()),
            Owner::Unknown => old(),
        };
        if !dead {
            continue;
        }
        let path = entry.path();
        let gone = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match gone {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove the stale", &path)(e)),
        }
    }
    Ok(removed)
}

#[derive(Debug, PartialEq)]
enum Owner {
    Process(u32),
    Unknown,
}

/// Whose temporary entry `name` is, if it is one: `.cell-4242-x` is process 4242's,
/// `.cell-x7Ab3Q` an older pegate's.
fn owner(name: &str) -> Option<Owner> {
    let rest = WORK_KINDS
        .iter()
        .find_map(|k| name.strip_prefix(k)?.strip_prefix('-'))?;
    let pid = rest.split_once('-').and_then(|(pid, _)| pid.parse().ok());
    Some(pid.map_or(Owner::Unknown, Owner::Process))
}

/// Whether process `pid` exists (`None`: cannot tell on this OS).
fn process_alive(pid: u32) -> Option<bool> {
    #[cfg(unix)]
    {
        let pid = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)?;
        match rustix::process::test_kill_process(pid) {
            Ok(()) => Some(true),
            Err(e) if e == rustix::io::Errno::SRCH => Some(false),
            // EPERM: it exists, as another user's process.
            Err(_) => Some(true),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        None
    }
}

/// Moves `staged`, a finished file on the same file system (usually in a staging directory
/// beside `path`), to `path`: flushed to disk, then renamed over `path` atomically.
pub fn publish(staged: &Path, path: &Path) -> Result<(), Error> {
    // FlushFileBuffers needs a handle with write access on Windows; Unix syncs a read-only one.
    std::fs::OpenOptions::new()
        .read(true)
        .write(cfg!(windows))
        .open(staged)
        .and_then(|f| f.sync_all())
        .map_err(Error::io("flush to disk", staged))?;
    std::fs::rename(staged, path).map_err(Error::io("rename into place", path))?;
    sync_dir(parent(path), path)
}

/// The directory a file lives in (`.` for a bare name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename in `dir` durable (Unix); Windows cannot open a directory for syncing.
fn sync_dir(dir: &Path, path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("flush the directory of", path))?;
    #[cfg(not(unix))]
    let _ = (dir, path);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_of_temporary_names() {
        assert_eq!(owner(".cell-4242-aB3x9Q"), Some(Owner::Process(4242)));
        assert_eq!(owner(".pegate-tmp-17-a.exe.x1"), Some(Owner::Process(17)));
        assert_eq!(owner(".cell-aB3x9Q"), Some(Owner::Unknown));
        assert_eq!(owner(".repro-x-y"), Some(Owner::Unknown));
        assert_eq!(owner("hello.exe"), None);
        assert_eq!(owner(".cellar"), None);
        assert!(work_prefix(".cell").starts_with(".cell-"));
    }
}
