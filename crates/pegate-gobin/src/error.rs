//! The one error type of pegate-gobin: the file could not be read, is not a PE file, or holds a
//! Go build-info blob that is present but malformed. A file without build info is not an error
//! (`Ok(None)`), and neither is a cross-check that fails (a [`Finding`](crate::crosscheck::Finding)).

use std::fmt;
use std::path::PathBuf;

/// Everything that can go wrong reading Go build info, with the file or offset it concerns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the file failed.
    #[error("read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Reading part of an open file failed (the data section, a string the blob points at, or
    /// the start of `.text`): an I/O error, not a file without build info.
    #[error("read at file offset {offset:#x}: {source}")]
    Read {
        /// Where the read started.
        offset: u64,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A Go build-info blob that is present but malformed.
    #[error("malformed go build info at file offset {offset:#x}: {problem}")]
    BuildInfo {
        /// Where the blob is.
        offset: u64,
        /// What is wrong with it.
        problem: Malformation,
    },
    /// The file is not a PE file pegate can read build info from.
    #[error("{}: {source}", path.display())]
    Pe {
        /// The file.
        path: PathBuf,
        /// Why pegate-pe rejected it.
        #[source]
        source: pegate_pe::Error,
    },
}

/// What is wrong with a build-info blob that starts with the magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformation {
    /// Fewer than the 32 header bytes follow the magic.
    HeaderCutShort,
    /// The inline (Go ≥ 1.18) version string runs past the bytes there are.
    BadVersionString,
    /// The inline module-info string runs past the bytes there are.
    BadModuleInfoString,
    /// The pointer format records a pointer size other than 4 or 8.
    PointerSize(u8),
    /// The pointer format's version string header points outside the file.
    VersionOutsideFile,
    /// The pointer format's module-info string header points outside the file.
    ModuleInfoOutsideFile,
    /// The Go version is not UTF-8.
    VersionNotUtf8,
}

impl fmt::Display for Malformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformation::HeaderCutShort => f.write_str("header cut short"),
            Malformation::BadVersionString => f.write_str("bad go version string"),
            Malformation::BadModuleInfoString => f.write_str("bad module info string"),
            Malformation::PointerSize(size) => {
                write!(f, "pointer size {size} is neither 4 nor 8")
            }
            Malformation::VersionOutsideFile => {
                f.write_str("go version string header points outside the file")
            }
            Malformation::ModuleInfoOutsideFile => {
                f.write_str("module info string header points outside the file")
            }
            Malformation::VersionNotUtf8 => f.write_str("go version is not UTF-8"),
        }
    }
}

/// Result with pegate-gobin's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
